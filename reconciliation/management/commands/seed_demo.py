"""``manage.py seed_demo``: an idempotent demo tenant, user and API token for local use.

Tokens are stored hashed, so a token can only be printed when it is created. With
``--token-file`` (``./dev run`` passes ``.local/demo-token``) the raw token is kept in that
git-ignored file and reused while it still authenticates, so a client configured yesterday keeps
working; without it, or when the kept one no longer works (a new database), a new token
replaces the demo user's old ones and the output says so.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandParser
from django.db import transaction

from tenants.authentication import hash_token
from tenants.commands import AuditedCommand
from tenants.context import tenant_context
from tenants.models import ApiToken, Membership, Role, Tenant
from tenants.services import api_token_create, tenant_create

DEMO_TENANT = "Demo Company"
DEMO_TOKEN_NAME = "demo"  # noqa: S105 - a label, not a secret


class Command(AuditedCommand):
    help = "Create (or refresh) the demo tenant and user; prints the admin login and the demo API token."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="demo")
        parser.add_argument("--password", required=True, help="Password for the demo admin user.")
        parser.add_argument(
            "--token-file",
            type=Path,
            help="Keep the demo API token in this file and reuse it while it works (./dev run: "
            ".local/demo-token). Without it every run replaces the token.",
        )

    def handle(
        self, *args: Any, username: str, password: str, token_file: Path | None, **options: Any
    ) -> None:
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
        with transaction.atomic():
            raw, token_note = self._demo_token(user, token_file)
        # Where `./dev run` serves (it passes HOST and PORT to runserver).
        base = f"http://{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
        self.stdout.write(
            f"Demo tenant: {tenant.name} ({tenant.id})\n"
            f"Admin: {base}/admin/  user {username!r}  password {password!r}\n"
            f"API:   curl -H 'Authorization: Bearer {raw}' {base}/v1/tenants\n"
            f"Docs:  {base}/v1/docs\n"
            f"{token_note}\n"
            f"API token: {raw}"
        )

    def _demo_token(self, user: Any, token_file: Path | None) -> tuple[str, str]:
        """The raw demo token and a line saying whether it is the kept one or a new one."""
        if token_file is not None and token_file.is_file():
            kept = token_file.read_text(encoding="utf-8").strip()
            if kept and ApiToken.objects.filter(
                user=user, name=DEMO_TOKEN_NAME, token_hash=hash_token(kept), revoked_at__isnull=True
            ).exists():
                return kept, f"The demo API token is the same as on the last run (kept in {token_file})."
        # Only now can a token be shown: the old ones are known by their hash alone.
        replaced = ApiToken.objects.filter(user=user, name=DEMO_TOKEN_NAME).delete()[0]
        _token, raw = api_token_create(user=user, name=DEMO_TOKEN_NAME)
        if token_file is not None:
            token_file.parent.mkdir(parents=True, exist_ok=True)
            token_file.touch(mode=0o600)
            token_file.chmod(0o600)  # a secret, like .local/demo-password
            token_file.write_text(raw + "\n", encoding="utf-8")
        kept_note = f" It is kept in {token_file} for the next runs." if token_file is not None else ""
        if replaced:
            return raw, f"NEW demo API token (the previous one was replaced and no longer works).{kept_note}"
        return raw, f"New demo API token.{kept_note}"

    def _seed_ledgers(self, tenant: Tenant) -> None:
        """Demo invoices and a bank statement (only the first time)."""
        from reconciliation.demo import seed_demo_ledgers

        if seed_demo_ledgers(tenant_id=tenant.id):
            self.stdout.write("Loaded demo vendors, invoices and bank transactions.")
