"""gunicorn settings for production (``gunicorn -c config/gunicorn.py config.wsgi``)."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")  # noqa: S104 - inside the container
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))  # large statement imports
graceful_timeout = 30
keepalive = 5
max_requests = 2000
max_requests_jitter = 200
# The app writes one JSON access line per request itself (with request and tenant ids).
accesslog = None
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
