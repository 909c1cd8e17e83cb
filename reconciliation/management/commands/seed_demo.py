"""``manage.py seed_demo``: an idempotent demo tenant, user and API token for local use."""

from __future__ import annotations

import os
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from tenants.context import tenant_context
from tenants.models import ApiToken, Membership, Role, Tenant
from tenants.services import api_token_create, tenant_create

DEMO_TENANT = "Demo Company"
DEMO_TOKEN_NAME = "demo"  # noqa: S105 - a label, not a secret


class Command(BaseCommand):
    help = "Create (or refresh) the demo tenant and user; prints the admin login and a new API token."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="demo")
        parser.add_argument("--password", required=True, help="Password for the demo admin user.")

    def handle(self, *args: Any, username: str, password: str, **options: Any) -> None:
        # Every step is its own transaction, and each is idempotent: the platform rows as the
        # owner login, the tenant's rows inside its tenant_context. On Citus one transaction
        # cannot write as the owner and then as the runtime role (tenants.services.tenant_create).
        user_model = get_user_model()
        with transaction.atomic():
            user, created = user_model.objects.get_or_create(
                username=username, defaults={"is_staff": True, "email": f"{username}@example.com"}
            )
            user.is_staff = True
            user.set_password(password)
            user.save()
        tenant = Tenant.objects.filter(name=DEMO_TENANT, memberships__user=user).first()
        if tenant is None:
            tenant = tenant_create(name=DEMO_TENANT, owner=user)
        with tenant_context(tenant.id):
            Membership.objects.filter(tenant=tenant, user=user).update(role=Role.OWNER)
        self._seed_ledgers(tenant)
        # Tokens are stored hashed, so the demo token is replaced on every run to be printable.
        with transaction.atomic():
            ApiToken.objects.filter(user=user, name=DEMO_TOKEN_NAME).delete()
            _token, raw = api_token_create(user=user, name=DEMO_TOKEN_NAME)
        # Where `./dev run` serves (it passes HOST and PORT to runserver).
        base = f"http://{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
        self.stdout.write(
            f"Demo tenant: {tenant.name} ({tenant.id})\n"
            f"Admin: {base}/admin/  user {username!r}  password {password!r}\n"
            f"API:   curl -H 'Authorization: Bearer {raw}' {base}/v1/tenants\n"
            f"Docs:  {base}/v1/docs\n"
            f"API token: {raw}"
        )

    def _seed_ledgers(self, tenant: Tenant) -> None:
        """Demo invoices and a bank statement (only the first time)."""
        from reconciliation.demo import seed_demo_ledgers

        if seed_demo_ledgers(tenant_id=tenant.id):
            self.stdout.write("Loaded demo vendors, invoices and bank transactions.")
