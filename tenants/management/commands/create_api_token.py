"""``manage.py create_api_token USERNAME [--create-user] [--name NAME]``: the raw token is the last line."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError, CommandParser

from tenants.commands import AuditedCommand
from tenants.services import api_token_create


class Command(AuditedCommand):
    help = "Create an API token for a user and print it (the last line of output is the token)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--create-user", action="store_true", help="Create the user if missing.")
        parser.add_argument("--name", default="cli", help="A name to recognise the token by.")

    def handle(self, *args: Any, username: str, create_user: bool, name: str, **options: Any) -> None:
        user_model = get_user_model()
        user = user_model.objects.filter(username=username).first()
        if user is None:
            if not create_user:
                raise CommandError(f"No user {username!r}; pass --create-user to create one.")
            user = user_model.objects.create_user(username=username)
            self.stderr.write(f"Created user {username!r} (no password: API access only).")
        token, raw = api_token_create(user=user, name=name)
        self.stderr.write(f"Token {token.name!r} ({token.prefix}…) created for {username}. Shown once:")
        self.stdout.write(raw)
