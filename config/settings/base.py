"""Settings shared by every environment. Values come from the environment (django-environ)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

SECRET_KEY = env("SECRET_KEY")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "strawberry_django",
    "axes",
    # The job queue (PostgreSQL tables, worker: `manage.py procrastinate worker`); before the
    # apps whose tasks.py register tasks on it (jobs/queue.py).
    "procrastinate.contrib.django",
    "tenants",
    "api",
    "jobs",
    "events",
    "invoices",
    "banking",
    "remittances",
    "reconciliation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "api.observability.RequestIdMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "tenants.middleware.RequestBodyLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "api.ratelimit.WriteRateLimitMiddleware",
    "tenants.middleware.TenantContextMiddleware",
    "tenants.admin_middleware.AdminTenantMiddleware",
    # Last: turns a refused back-office login into the lockout page (AXES_LOCKOUT_CALLABLE).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# DATABASE_URL logs in as the *owner* role (owns the tables, runs migrations). Every tenant
# request drops to TENANT_DB_ROLE (NOLOGIN, NOSUPERUSER, NOBYPASSRLS) inside its transaction.
DATABASES = {"default": env.db("DATABASE_URL")}
# PostgreSQL's backend, told that a tenant table's primary key is (tenant_id, id) (tenants/db).
DATABASES["default"]["ENGINE"] = "tenants.db"
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("OPTIONS", {})
DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=5))

# A second connection to the same database for job bookkeeping others must see at once: a job's
# work is one long transaction (all or nothing), so its progress is written beside it in short
# transactions, and a request that waits for its job commits the job there first (jobs/). Same
# login, same tenant_context.
DATABASES["jobs"] = {**DATABASES["default"], "OPTIONS": dict(DATABASES["default"]["OPTIONS"])}

TENANT_DB_ROLE = env("TENANT_DB_ROLE", default="recon_tenant")
if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", TENANT_DB_ROLE):
    raise ValueError("TENANT_DB_ROLE must be a plain lower-case PostgreSQL identifier")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Back-office login: brute-force protection (django-axes) ----------------------------------
# The admin login is the only password login (the API takes bearer tokens: 256 random bits,
# rate limited per token). Failed logins are counted per (username, client address) pair:
# after ADMIN_LOGIN_FAILURE_LIMIT failures that pair is refused, the right password included,
# until ADMIN_LOGIN_LOCKOUT_MINUTES have passed without another failure (each failure while
# locked restarts the wait). Per pair, not per username alone: someone guessing from elsewhere
# cannot lock a colleague out of their own desk. Not per address alone: a shared office NAT is
# not locked for everyone by one mistyping user. Behind a reverse proxy the address is the
# proxy's (REMOTE_ADDR; X-Forwarded-For is spoofable and not trusted), so the lock then acts
# per username. Operators unlock with `manage.py axes_reset_username USERNAME` (or
# `axes_reset` for everyone) or by deleting its row under "Access attempts" in the admin.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a locked pair before any password check
    "django.contrib.auth.backends.ModelBackend",
]
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = env.int("ADMIN_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("ADMIN_LOGIN_LOCKOUT_MINUTES", default=15))
AXES_RESET_ON_SUCCESS = True  # a successful login forgets earlier failures of the pair
AXES_ONLY_ADMIN_SITE = True
AXES_LOCKOUT_CALLABLE = "tenants.admin_site.login_lockout_response"
# Successful logins are not logged by axes: that table would grow without bound and nothing
# reads it. Failed attempts (axes_accessattempt) expire with the cool-off.
AXES_DISABLE_ACCESS_LOG = True
AXES_ENABLE_ADMIN = False  # its pages are registered on the back office (tenants/admin.py)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
FORMAT_MODULE_PATH = ["config.formats"]  # ISO dates in the back office (config/formats/en)

# Static files are served by WhiteNoise, with DEBUG on or off. Development and tests serve them
# from the apps' folders (finders): a fresh clone needs no collectstatic, and DEBUG=false pages
# do not fail on a missing manifest entry. Production serves the hashed, compressed copies that
# collectstatic writes to STATIC_ROOT (config/settings/production.py; the Dockerfile runs it).
STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# --- Request limits ---------------------------------------------------------------------------
# Bodies above this answer 413 problem+json before anything is parsed.
REQUEST_BODY_MAX_BYTES = env.int("REQUEST_BODY_MAX_BYTES", default=10 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = REQUEST_BODY_MAX_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# The first records each upload's name as sent (Django cuts names over 255 characters).
FILE_UPLOAD_HANDLERS = [
    "api.uploads.UploadNameRecorder",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=24)
# Per API token, counted in PostgreSQL across workers; 0 switches the limit off.
WRITE_RATE_LIMIT_PER_MINUTE = env.int("WRITE_RATE_LIMIT_PER_MINUTE", default=600)

# --- Reconciliation ---------------------------------------------------------------------------
# Processes that score a large run (>= 5,000 open transactions) in parallel, forked from the
# process serving the run; same result whatever the number. Each worker adds close to the
# run's own memory (docs/benchmarks.md, "Scoring in forked workers": a little faster with 2, a
# quarter more memory), so a run stays in one process unless this is raised.
RECONCILE_WORKERS = env.int("RECONCILE_WORKERS", default=1)
# Candidates a reconcile response (REST and GraphQL) carries at most, highest confidence first:
# a run proposes as many as the tenant's open items allow, so the response is cut here and
# points to the paginated list of the run's matches (GET matches?run_id=) for the rest.
RECONCILE_RESPONSE_CANDIDATES = env.int("RECONCILE_RESPONSE_CANDIDATES", default=500)
# A backtest (reconciliation.backtest) replays at most this many of the tenant's newest decisions:
# its engine run covers the open books plus the decided items, so this bounds what it adds.
BACKTEST_MAX_DECISIONS = env.int("BACKTEST_MAX_DECISIONS", default=5000)
# The least number of auto-confirmations that must agree with a person's confirmation before a
# backtest recommends a threshold (rule of three: none wrong in 30 means below 10 % at 95 %).
BACKTEST_MIN_SUPPORT = env.int("BACKTEST_MIN_SUPPORT", default=30)

# --- Jobs (jobs/) ------------------------------------------------------------------------------
# The queue is Procrastinate's tables in the same PostgreSQL (platform tables). A job deferred
# in a request's transaction commits or vanishes with it; workers run
# `manage.py procrastinate worker` on any machine that reaches the database.
PROCRASTINATE_DATABASE_ALIAS = "default"
PROCRASTINATE_AUTODISCOVER_MODULE_NAME = "tasks"  # every app's tasks.py registers its tasks
PROCRASTINATE_IMPORT_PATHS: list[str] = []
PROCRASTINATE_WORKER_DEFAULTS = {
    # Heartbeats every 5 s; a worker silent for 30 s is stalled and its jobs are retried by
    # another worker (jobs.tasks.retry_stalled_jobs).
    "update_heartbeat_interval": env.float("JOBS_HEARTBEAT_SECONDS", default=5.0),
    "stalled_worker_timeout": env.float("JOBS_STALLED_WORKER_SECONDS", default=30.0),
    # A worker reads the queue on NOTIFY; this is the fallback poll when a notification is lost
    # (e.g. across a database restart).
    "fetch_job_polling_interval": env.float("JOBS_POLL_SECONDS", default=2.0),
}
# Seconds a worker may stay silent before its running jobs count as stalled and are retried.
JOBS_STALLED_WORKER_SECONDS = PROCRASTINATE_WORKER_DEFAULTS["stalled_worker_timeout"]
# Test-only: run a deferred job in the requesting process, right after the request's tenant
# transaction, instead of waiting for a worker (jobs/inprocess.py). For the tests that are not
# about the queue and run inside one rolled-back transaction, where no worker could see the
# job. Production settings refuse it.
JOBS_RUN_IN_PROCESS = env.bool("JOBS_RUN_IN_PROCESS", default=False)
# How long a request that can answer from its job (POST reconcile, the GraphQL mutation, the
# admin's run button) waits for it before answering 202 with the job; RFC 7240 `Prefer: wait=N`
# asks for another budget, up to the maximum (jobs/waiting.py).
JOBS_DEFAULT_WAIT_SECONDS = env.int("JOBS_DEFAULT_WAIT_SECONDS", default=5)
JOBS_MAX_WAIT_SECONDS = env.int("JOBS_MAX_WAIT_SECONDS", default=60)
# Imports whose upload (statement file, or JSON body) reaches this size are stored and run by a
# worker: the API answers 202 with the job (banking/tasks.py). The most a queued import holds in
# the database is the request limit (management commands with --async are held to it too).
IMPORT_ASYNC_MIN_BYTES = env.int("IMPORT_ASYNC_MIN_BYTES", default=2 * 1024 * 1024)
IMPORT_ASYNC_MAX_BYTES = REQUEST_BODY_MAX_BYTES
# Finished jobs (the tenants' job rows and the queue's) are kept this long.
JOBS_RETENTION_DAYS = env.int("JOBS_RETENTION_DAYS", default=30)

# --- Events and webhooks (events/) --------------------------------------------------------------
# Delivery refuses endpoints whose host resolves to a loopback, private, link-local, multicast or
# reserved address (a tenant must not make the server call into its own network) unless this is
# on: tests and development (local receivers), or an operator whose receivers are internal.
WEBHOOKS_ALLOW_PRIVATE_NETWORKS = env.bool("WEBHOOKS_ALLOW_PRIVATE_NETWORKS", default=False)
# Endpoints must be https (at registration and at delivery); production settings force it on.
WEBHOOKS_REQUIRE_HTTPS = env.bool("WEBHOOKS_REQUIRE_HTTPS", default=False)
# One attempt's whole budget (connect, TLS, send, answer), and how much of the answer is read.
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# Retries: exponential backoff from the base (30 s, 1 min, 2 min, ...), each wait at most the
# maximum (3 h), for the window (24 h) after the delivery was created; then it has failed.
WEBHOOK_RETRY_BASE_SECONDS = env.float("WEBHOOK_RETRY_BASE_SECONDS", default=30.0)
WEBHOOK_RETRY_MAX_DELAY_SECONDS = env.float("WEBHOOK_RETRY_MAX_DELAY_SECONDS", default=3 * 3600.0)
WEBHOOK_RETRY_WINDOW_HOURS = env.float("WEBHOOK_RETRY_WINDOW_HOURS", default=24.0)
# Events whose deliveries are all finished are purged after this many days (periodic task).
EVENTS_RETENTION_DAYS = env.int("EVENTS_RETENTION_DAYS", default=30)

# --- API -----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["tenants.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only (415 for anything else); the statement upload adds multipart for itself.
    "DEFAULT_PARSER_CLASSES": ["api.parsers.DecimalJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "api.problems.problem_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "api.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Reconcile API",
    "DESCRIPTION": (
        "Multi-tenant reconciliation of bank transactions with invoices. Every call needs "
        "`Authorization: Bearer <token>`; errors are RFC 9457 `application/problem+json`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.add_problem_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "InvoiceStatusEnum": "invoices.models.InvoiceStatus",
        "InvoiceKindEnum": "invoices.models.InvoiceKind",
        "TransactionStatusEnum": "banking.models.TransactionStatus",
        "MatchStatusEnum": "reconciliation.models.MatchStatus",
        "MatchShapeEnum": "reconciliation.models.MatchShape",
        "RoleEnum": "tenants.models.Role",
        "InvitationStatusEnum": "tenants.models.InvitationStatus",
        "InternalTransferStatusEnum": "banking.models.InternalTransferStatus",
        "StatementCheckNameEnum": "banking.selectors.CheckName",
        "StatementCheckStatusEnum": "banking.selectors.CheckStatus",
        "JobKindEnum": "jobs.models.JobKind",
        "JobStatusEnum": "jobs.models.JobStatus",
        "WriteOffReasonEnum": "tenants.models.WriteOffReason",
        "LearnedEvidenceKindEnum": "invoices.models.EvidenceKind",
        "EventTypeEnum": "events.models.EventType",
        "DeliveryStatusEnum": "events.models.DeliveryStatus",
    },
}

LOG_FORMAT = env("LOG_FORMAT", default="text")  # "json" in production
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "api.observability.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # The access log line comes from RequestIdMiddleware; silence Django's duplicate.
        "django.server": {"level": "WARNING"},
        "reconcile.access": {"level": env("ACCESS_LOG_LEVEL", default="INFO")},
        # The queue: which job started and how it ended (workers), periodic registrations.
        "procrastinate": {"level": env("QUEUE_LOG_LEVEL", default="INFO")},
    },
}
