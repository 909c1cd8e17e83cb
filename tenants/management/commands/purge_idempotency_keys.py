"""``manage.py purge_idempotency_keys``: delete expired Idempotency-Key records of every tenant."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from api.idempotency import purge_expired_keys
from tenants.context import tenant_context
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Delete expired idempotency keys (each tenant inside its own tenant context)."

    def handle(self, *args: Any, **options: Any) -> None:
        total = 0
        for tenant_id in Tenant.objects.values_list("id", flat=True).order_by("id"):
            with tenant_context(tenant_id):
                total += purge_expired_keys()
        self.stdout.write(f"Purged {total} expired idempotency key(s).")
