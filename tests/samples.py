"""Where the shared statement samples are, and what a test run does without them.

The samples (real bank files, see ``SOURCES.md`` there) live outside the repository, in
``shared/samples/statements`` beside the checkout, or wherever ``STATEMENT_SAMPLES_DIR`` points:

* ``STATEMENT_SAMPLES_DIR`` set: the samples must be there; the sample tests FAIL otherwise
  (``.ci/run`` always sets it, so CI never passes without them);
* unset, and the folder beside the checkout exists: it is used;
* unset, and no folder beside the checkout: the sample tests are skipped, and the run says so
  in its header and summary (``tests/conftest.py``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SAMPLES_ENV = "STATEMENT_SAMPLES_DIR"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SAMPLES = PROJECT_ROOT.parent / "shared" / "samples" / "statements"
FORMAT_FOLDERS = ("csv", "ofx", "camt053", "mt940")
SKIP_REASON = "statement samples not found"


def statement_samples_dir() -> Path:
    """``$STATEMENT_SAMPLES_DIR``, else ``shared/samples/statements`` beside the checkout."""
    configured = os.environ.get(SAMPLES_ENV)
    return Path(configured).resolve() if configured else DEFAULT_SAMPLES.resolve()


def sample_count(path: Path) -> int:
    """Sample files in the format folders under ``path`` (0 when it is missing)."""
    return sum(
        1
        for folder in FORMAT_FOLDERS
        if (path / folder).is_dir()
        for entry in (path / folder).iterdir()
        if entry.is_file()
    )


def require_statement_samples() -> Path:
    """The samples folder; fails the test when it was named but is missing, else skips."""
    path = statement_samples_dir()
    if sample_count(path):
        return path
    if os.environ.get(SAMPLES_ENV):
        pytest.fail(
            f"{SAMPLES_ENV}={os.environ[SAMPLES_ENV]} holds no statement samples "
            f"(expected files in {', '.join(FORMAT_FOLDERS)} folders under it)",
            pytrace=False,
        )
    pytest.skip(f"{SKIP_REASON} at {path}: set {SAMPLES_ENV} to the samples folder to run these tests")
