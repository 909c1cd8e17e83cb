"""Helpers shared by management commands that work on one tenant's data."""

from __future__ import annotations

import sys
import time
import uuid
from typing import TextIO

from django.core.management.base import CommandError, CommandParser

from .models import Membership, Role, Tenant

MAX_LISTED_CANDIDATES = 20


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
