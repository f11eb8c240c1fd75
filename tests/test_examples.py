"""Smoke test: every script in examples/ runs at a small size, in a clean directory.

The scripts are found at collection time, so new examples are picked up automatically.
Each runs as a subprocess with ``REALIZE_EXAMPLE_SMALL=1`` (examples shrink their
problem) and ``MPLBACKEND=Agg``, in a temporary working directory (examples write only
there), under a timeout.
"""

import os
import pathlib
import subprocess
import sys

import pytest

EXAMPLES = sorted((pathlib.Path(__file__).resolve().parents[1] / "examples").glob("*.py"))
TIMEOUT = 600  # seconds, per example; generous because the CI machine may be shared


def test_examples_exist():
    assert EXAMPLES, "examples/ holds no scripts"


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(script, tmp_path):
    env = dict(os.environ, REALIZE_EXAMPLE_SMALL="1", MPLBACKEND="Agg", PYTHONHASHSEED="0")
    before = set(script.parent.iterdir())
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert proc.returncode == 0, (
        f"{script.name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    assert "Traceback" not in proc.stderr
    # it wrote only into its working directory, nothing beside the scripts
    assert set(script.parent.iterdir()) == before
