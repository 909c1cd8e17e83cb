"""Helpers shared by management commands that work on one tenant's data."""

from __future__ import annotations

import sys
import time
import uuid
from typing import TextIO

from django.core.management.base import CommandError

from .models import Tenant


def resolve_tenant(value: str) -> Tenant:
    """A tenant by id or by exact (case-insensitive) name; CommandError when none or ambiguous."""
    try:
        tenant = Tenant.objects.filter(pk=uuid.UUID(value)).first()
    except ValueError:
        matches = list(Tenant.objects.filter(name__iexact=value.strip())[:2])
        if len(matches) > 1:
            raise CommandError(f"Several tenants are named {value!r}; pass the tenant id instead.") from None
        tenant = matches[0] if matches else None
    if tenant is None:
        raise CommandError(f"No tenant {value!r}.")
    return tenant


class ProgressBar:
    """A one-line progress display on a terminal; silent when the stream is not a TTY."""

    def __init__(self, label: str, total_bytes: int | None, stream: TextIO | None = None) -> None:
        self.label = label
        self.total_bytes = total_bytes
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.started = time.monotonic()

    def update(self, rows: int, position: int | None = None) -> None:
        if not self.enabled:
            return
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = f"{rows / elapsed:,.0f} rows/s"
        if self.total_bytes and position is not None:
            fraction = min(position / self.total_bytes, 1.0)
            filled = int(fraction * 30)
            bar = "#" * filled + "-" * (30 - filled)
            self.stream.write(f"\r{self.label} [{bar}] {fraction:4.0%} {rows:,} rows {rate}")
        else:
            self.stream.write(f"\r{self.label} {rows:,} rows {rate}")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
