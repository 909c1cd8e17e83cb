"""A fresh clone's first hour: what works before anyone runs collectstatic or reads the docs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.db import connection

from tests.support.server import database_url, gunicorn_server

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parent.parent


def test_development_settings_serve_pages_and_static_files_with_debug_off(tmp_path):
    """Local settings, DEBUG=false, no collectstatic (an empty STATIC_ROOT): no 500 anywhere.

    Before, the manifest storage answered 500 ("Missing staticfiles manifest entry") for every
    page that links a static file, and nothing served the files themselves.
    """
    empty_static_root = tmp_path / "staticfiles"
    with gunicorn_server(
        database_url(connection.settings_dict),
        settings_module="config.settings.local",
        extra_env={"STATIC_ROOT": str(empty_static_root)},
    ) as (base, _process):
        login = requests.get(f"{base}/admin/login/", timeout=30)
        assert login.status_code == 200, login.text[:500]
        docs = requests.get(f"{base}/v1/docs", timeout=30)
        assert docs.status_code == 200, docs.text[:500]
        linked = re.findall(r'(?:href|src)="(/static/[^"]+)"', login.text + docs.text)
        assert any(path.endswith(".css") for path in linked), linked
        for path in sorted(set(linked)):
            asset = requests.get(f"{base}{path}", timeout=30)
            assert asset.status_code == 200, path
            assert asset.content, path
    assert not empty_static_root.exists() or not any(empty_static_root.iterdir())


def test_production_keeps_the_hashed_manifest_storage():
    """Production serves collectstatic's hashed, compressed files (the Dockerfile runs it)."""
    settings = connection.settings_dict
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY="x" * 50,
        ALLOWED_HOSTS="recon.example.com",
        DATABASE_URL=database_url(settings),
    )
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.STORAGES['staticfiles']['BACKEND'], s.WHITENOISE_USE_FINDERS)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["whitenoise.storage.CompressedManifestStaticFilesStorage", "False"]
    assert "collectstatic" in (ROOT / "Dockerfile").read_text()
