"""Management commands' shared parts: ``AuditedCommand`` (their changes are audited as source
``command``) and the ``--tenant`` argument (which tenant a command works on).

The terminal progress display of long commands is ``common.progress.ProgressBar``.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from .audit import AuditSource, audit_source
from .models import Membership, Role, Tenant

MAX_LISTED_CANDIDATES = 20


class AuditedCommand(BaseCommand):
    """Base of the commands that change data: everything they record in the audit trail has
    source ``command`` (entered once here, for ``manage.py`` and ``call_command`` alike). A job
    the command runs in-process records its own source, ``job``."""

    def execute(self, *args: Any, **options: Any) -> str | None:
        with audit_source(AuditSource.COMMAND):
            return super().execute(*args, **options)


def add_tenant_argument(parser: CommandParser) -> None:
    """``--tenant``, the same way in every command (read it with ``resolve_tenant``)."""
    parser.add_argument(
        "--tenant",
        required=True,
        help="The tenant's id, or its name when no other tenant has that name (names are not unique).",
    )


def resolve_tenant(value: str) -> Tenant:
    """The tenant ``--tenant`` names: its id, or its name when no other tenant shares it.

    Names are compared whole and case-insensitively, and they are not unique: any user can
    create a tenant named like another ("demo company" beside "Demo Company"). A shared name is
    therefore refused, never guessed, and the error lists the candidates' ids with their owners
    so the operator can pass the right id (commands are run by operators, who may see every
    tenant). An id always means that tenant, whatever names exist.
    """
    text = value.strip()
    try:
        tenant_id = uuid.UUID(text)
    except ValueError:
        return _tenant_by_name(text)
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        raise CommandError(f"No tenant with id {tenant_id}.")
    return tenant


def _tenant_by_name(name: str) -> Tenant:
    named = Tenant.objects.filter(name__iexact=name).order_by("created_at", "id")
    matches = list(named[: MAX_LISTED_CANDIDATES + 1])
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise CommandError(
            f"No tenant named {name!r}. Pass the tenant's id instead: --tenant <id> (`./dev run` prints "
            "the demo tenant's id; GET /v1/tenants and the admin show the others)."
        )
    owners: dict[uuid.UUID, list[str]] = {}
    for tenant_id, username in (
        Membership.objects.filter(tenant__in=matches, role=Role.OWNER)
        .order_by("user__username")
        .values_list("tenant_id", "user__username")
    ):
        owners.setdefault(tenant_id, []).append(username)
    lines = [
        f"  {tenant.id}  {tenant.name!r}, created {tenant.created_at:%Y-%m-%d %H:%M} UTC, "
        f"owners: {', '.join(owners.get(tenant.id, [])) or '-'}"
        for tenant in matches[:MAX_LISTED_CANDIDATES]
    ]
    if len(matches) > MAX_LISTED_CANDIDATES:
        lines.append(f"  ... and more (only the first {MAX_LISTED_CANDIDATES} are listed)")
    raise CommandError(
        f"Several tenants are named {name!r}, so the name cannot say which one you mean. "
        f"Pass the tenant's id instead, e.g. --tenant {matches[0].id}\n" + "\n".join(lines)
    )
