"""Uploaded files' names as the client sent them.

Django cuts an uploaded file's name longer than 255 characters to 255 (keeping its extension)
while it builds the ``UploadedFile``, silently. The statement import stores the name and must
refuse one over its bound (``common.limits.FILE_NAME``) rather than store an altered one, so it
needs the name as sent: ``UploadNameRecorder``, first in ``FILE_UPLOAD_HANDLERS``, records it
and hands every byte on to Django's own handlers.
"""

from __future__ import annotations

from typing import Any

from django.core.files.uploadhandler import FileUploadHandler


class UploadNameRecorder(FileUploadHandler):
    """Records each file field's name as sent (``request.upload_names``); stores nothing."""

    def new_file(self, field_name: str, file_name: str, *args: Any, **kwargs: Any) -> None:
        super().new_file(field_name, file_name, *args, **kwargs)
        if self.request is not None:
            names = getattr(self.request, "upload_names", None)
            if names is None:
                names = {}
                self.request.upload_names = names  # type: ignore[attr-defined]
            names[field_name] = file_name

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        return raw_data  # to the next handler, unchanged

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler builds the file


def upload_name(request: Any, field_name: str, upload: Any) -> str:
    """The name the client gave the file in ``field_name`` (``upload.name`` may be cut)."""
    names = getattr(request, "upload_names", None) or {}
    return names.get(field_name) or upload.name or ""
