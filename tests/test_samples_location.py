"""The shared statement samples: named but missing fails the run; not beside the checkout skips."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import samples

ROOT = Path(__file__).resolve().parent.parent


def test_a_named_folder_without_samples_fails(monkeypatch, tmp_path):
    for named in (tmp_path / "missing", tmp_path):  # absent, and present but empty
        monkeypatch.setenv(samples.SAMPLES_ENV, str(named))
        with pytest.raises(pytest.fail.Exception, match="holds no statement samples"):
            samples.require_statement_samples()


def test_no_folder_beside_the_checkout_and_none_named_skips_with_the_reason(monkeypatch, tmp_path):
    monkeypatch.delenv(samples.SAMPLES_ENV, raising=False)
    monkeypatch.setattr(samples, "DEFAULT_SAMPLES", tmp_path / "shared" / "samples" / "statements")
    with pytest.raises(pytest.skip.Exception, match="set STATEMENT_SAMPLES_DIR"):
        samples.require_statement_samples()


def test_a_named_folder_with_samples_is_used(monkeypatch, tmp_path):
    (tmp_path / "csv").mkdir()
    (tmp_path / "csv" / "bank.csv").write_text("date,amount\n")
    monkeypatch.setenv(samples.SAMPLES_ENV, str(tmp_path))
    assert samples.require_statement_samples() == tmp_path.resolve()


def test_the_sample_tests_fail_loudly_when_the_named_samples_are_missing(tmp_path):
    """End to end, as `.ci/run` runs them: failures, not skips, and the header says why."""
    env = dict(os.environ, STATEMENT_SAMPLES_DIR=str(tmp_path / "vanished"))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "tests/banking/statements/test_shared_samples.py",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "holds no statement samples" in output
    summary = output.strip().splitlines()[-1]
    assert ("failed" in summary or "error" in summary) and "skipped" not in summary, summary
    assert "passed" not in summary, summary
    assert "statement samples: NONE at" in output and "their tests FAIL" in output
