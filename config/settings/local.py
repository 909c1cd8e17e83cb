"""Development settings: safe defaults; the embedded PostgreSQL when DATABASE_URL is unset."""

from __future__ import annotations

import os
import secrets

if not os.environ.get("DATABASE_URL"):
    from devtools.embedded_postgres import ensure_cluster

    os.environ["DATABASE_URL"] = ensure_cluster().owner_url
# A development-only key, regenerated per process unless SECRET_KEY is set: nothing to leak.
os.environ.setdefault("SECRET_KEY", "dev-" + secrets.token_urlsafe(40))
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
# Webhook receivers on this machine (a developer's test receiver) are allowed here.
os.environ.setdefault("WEBHOOKS_ALLOW_PRIVATE_NETWORKS", "true")

from .base import *  # noqa: E402, F403
