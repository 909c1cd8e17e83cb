"""Test settings: the real PostgreSQL (embedded unless DATABASE_URL is set), fast hashing."""

from __future__ import annotations

import os

if not os.environ.get("DATABASE_URL"):
    from devtools.embedded_postgres import ensure_cluster

    _cluster = ensure_cluster()
    os.environ["DATABASE_URL"] = _cluster.owner_url
    os.environ.setdefault("TEST_SUPERUSER_DATABASE_URL", _cluster.superuser_url)
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
# Webhook receivers of the tests listen on loopback; retries wait fractions of a second (the
# SSRF tests turn the first off for themselves).
os.environ.setdefault("WEBHOOKS_ALLOW_PRIVATE_NETWORKS", "true")
os.environ.setdefault("WEBHOOK_RETRY_BASE_SECONDS", "0.2")
os.environ.setdefault("WEBHOOK_RETRY_MAX_DELAY_SECONDS", "1")

from .base import *  # noqa: E402, F403
from .base import DATABASES, LOGGING  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("TEST_DATABASE_NAME", "test_recon")}

# A second alias for proving isolation when the app logs in as a superuser. It is set up as a
# mirror of the test database; tests re-point its login at TEST_SUPERUSER_DATABASE_URL.
DATABASES["superuser"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}
DATABASES["jobs"]["TEST"] = {"MIRROR": "default"}

# Jobs run in the requesting process unless a test (or the worker it starts) says otherwise:
# most tests run inside one rolled-back transaction that no worker could see. The tests of the
# queue itself start real workers (tests/support/worker.py) with JOBS_RUN_IN_PROCESS=false.
os.environ.setdefault("JOBS_RUN_IN_PROCESS", "true")
from .base import env  # noqa: E402

JOBS_RUN_IN_PROCESS = env.bool("JOBS_RUN_IN_PROCESS")
# Workers started by tests: probe tasks that report what a job sees (tests/jobs/probe_tasks.py).
PROCRASTINATE_IMPORT_PATHS = ["tests.jobs.probe_tasks"]

# Quiet access logs in tests; the rate limit is exercised by its own test with a small value.
LOGGING["loggers"]["reconcile.access"]["level"] = "WARNING"
LOGGING["loggers"]["procrastinate"]["level"] = os.environ.get("QUEUE_LOG_LEVEL", "WARNING")
