"""The one way into a tenant: ``tenant_context(tenant_id)``.

It opens ``transaction.atomic()``, drops to the tenant runtime role with ``SET LOCAL ROLE`` and sets
the tenant GUC with ``SET LOCAL app.tenant_id = '<uuid>'``. Both are transaction-local, so they
vanish at commit or rollback and never leak to the next request on a reused connection. Row Level
Security policies read the GUC; the runtime role is NOSUPERUSER and NOBYPASSRLS, so the policies
hold even when ``DATABASE_URL`` logs in as a superuser.

One code path for plain PostgreSQL and Citus. On Citus the policies run on the workers, so the
setting must reach them: Citus forwards ``SET LOCAL`` statements (not ``set_config()``) to every
worker the transaction uses when ``citus.propagate_set_commands = 'local'``, which is set first,
in the same statement batch. On plain PostgreSQL that line sets an unused placeholder. The
coordinator opens its worker connections as the current user, i.e. the runtime role, which on
Citus therefore needs LOGIN and credentials between the nodes (README, "Scaling out on Citus").

Middleware, admin, management commands and jobs all enter tenants through this function; nothing
else sets the GUC or the role.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import connections, transaction
from psycopg import sql

_current_tenant: ContextVar[uuid.UUID | None] = ContextVar("current_tenant", default=None)
# The database aliases whose connection has entered the current tenant. A job writes its
# progress on a second connection (jobs.progress) while its work holds the first one in a long
# transaction: that second connection must be entered on its own (role and setting are per
# connection), not treated as a nested block of the first.
_entered_aliases: ContextVar[frozenset[str]] = ContextVar("tenant_aliases", default=frozenset())


class TenantContextError(RuntimeError):
    """Raised when code tries to enter a second, different tenant inside a tenant context."""


class TenantContextRequired(RuntimeError):
    """Raised when tenant-scoped data is queried outside ``tenant_context``."""


def current_tenant_id() -> uuid.UUID | None:
    """The tenant of the innermost active ``tenant_context``, or None outside any."""
    return _current_tenant.get()


def require_tenant_id() -> uuid.UUID:
    """The active tenant id; raises ``TenantContextRequired`` outside a tenant context."""
    tenant_id = _current_tenant.get()
    if tenant_id is None:
        raise TenantContextRequired("this operation needs tenant_context(tenant_id)")
    return tenant_id


def runtime_role() -> str:
    """Name of the NOLOGIN, NOSUPERUSER, NOBYPASSRLS role tenant work runs as."""
    return settings.TENANT_DB_ROLE


@contextmanager
def tenant_context(tenant_id: uuid.UUID | str, *, using: str = "default") -> Iterator[uuid.UUID]:
    """Run the block as ``tenant_id``: one transaction, runtime role, tenant GUC set.

    Re-entering the same tenant on the same connection nests as a savepoint; entering another
    tenant inside raises. The same tenant on another database alias (a second connection, e.g.
    a job's progress writes) is entered on that connection in full. When the block is nested in
    an outer, non-tenant transaction, the role and GUC are reset on exit so the outer
    transaction continues with its own privileges.
    """
    tenant_uuid = tenant_id if isinstance(tenant_id, uuid.UUID) else uuid.UUID(str(tenant_id))
    active = _current_tenant.get()
    entered = _entered_aliases.get()
    if active is not None:
        if active != tenant_uuid:
            raise TenantContextError(f"already in tenant {active}, cannot enter {tenant_uuid}")
        if using in entered:
            with transaction.atomic(using=using):
                yield tenant_uuid
            return

    connection = connections[using]
    with transaction.atomic(using=using):
        with connection.cursor() as cursor:
            # One round trip for all three (several statements in one execute). Should the role
            # switch fail, the whole transaction fails: no query ever runs with only one set.
            # The role comes before propagation is switched on (Citus breaks the transaction
            # when it propagates a SET ROLE on its own). Citus forwards the whole text of the
            # statement batch that holds a propagated SET to the workers, so this batch holds
            # SET statements only. The tenant id is a parsed UUID, written as a quoted literal
            # (SET takes no parameters).
            cursor.execute(
                sql.SQL(
                    "SET LOCAL ROLE {}; SET LOCAL citus.propagate_set_commands = 'local'; "
                    "SET LOCAL app.tenant_id = {}"
                ).format(sql.Identifier(runtime_role()), sql.Literal(str(tenant_uuid)))
            )
        token = _current_tenant.set(tenant_uuid)
        aliases_token = _entered_aliases.set(entered | {using})
        try:
            yield tenant_uuid
        finally:
            _entered_aliases.reset(aliases_token)
            _current_tenant.reset(token)
    # Only reached on success. Inside an outer transaction the SET LOCALs would outlive the
    # released savepoint, so undo them here (a rolled-back savepoint already undid them).
    if connection.in_atomic_block and not connection.needs_rollback:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE; SET LOCAL app.tenant_id = ''")
