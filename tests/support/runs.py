"""A reconciliation run for a tenant, entered the way the entry points enter it.

``reconciliation.services.reconcile`` works in the ambient tenant context like every service;
tests name the tenant, so this enters its context around the call (as the job runner and the
``reconcile`` command do).
"""

from __future__ import annotations

import uuid
from typing import Any

from reconciliation import services
from reconciliation.services import ReconcileResult
from tenants.context import tenant_context


def reconcile(tenant_id: uuid.UUID | str, **options: Any) -> ReconcileResult:
    with tenant_context(tenant_id):
        return services.reconcile(**options)
