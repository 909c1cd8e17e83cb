"""Migration operations of our own (imported by migrations: keep them importable as they are)."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, migrations


class AddTextBound(migrations.AddConstraint):
    """``AddConstraint`` for a CHECK bounding stored text; refuses clearly when older rows break it.

    A deployed database may hold rows written before the bound existed. Adding the constraint
    then fails as PostgreSQL's "violated by some row"; this says which table and bound, and that
    nothing changed (the migration's transaction rolls back). The rows are not truncated: text a
    client stored is not altered behind its back. Find them with, e.g., ``SELECT id FROM
    invoices_invoice WHERE char_length(description) > 2000`` (as a role that bypasses RLS), shorten
    them and migrate again.
    """

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        try:
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        except IntegrityError as error:
            table = to_state.apps.get_model(app_label, self.model_name)._meta.db_table
            raise IntegrityError(
                f"Cannot add the bound {self.constraint.name!r}: rows of {table} already exceed it. "
                "Shorten those rows and migrate again; nothing was changed."
            ) from error
