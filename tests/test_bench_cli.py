"""Every benchmark answers ``--help`` (the README tells readers to start there) and refuses a
bad argument with a usage message, not a traceback. ``bench/engine_speed.py --help`` crashed
(``int('--help')``), and so did ``reconcile_accuracy.py`` and ``datagen.py``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(
    path for path in (ROOT / "bench").glob("*.py") if 'if __name__ == "__main__"' in path.read_text()
)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own scripts, fixed arguments
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_benchmarks_are_found():
    names = {path.name for path in SCRIPTS}
    assert {"engine_speed.py", "reconcile_accuracy.py", "datagen.py", "parser_bench.py"} <= names


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_every_benchmark_answers_help(script):
    done = run(str(script), "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage:"), done.stdout[:200]
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("script", ["engine_speed.py", "reconcile_accuracy.py", "datagen.py"])
def test_a_bad_size_is_a_usage_error(script):
    done = run(f"bench/{script}", "abc")
    assert done.returncode == 2
    assert "is not a whole number" in done.stderr and "Traceback" not in done.stderr


def test_engine_speed_measures_the_sizes_given():
    done = run("bench/engine_speed.py", "100", "200")
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.splitlines()[2:]]
    assert [int(row[0]) for row in rows] == [100, 200]
