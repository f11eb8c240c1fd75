import os
import zlib

# 2 shared cores: one thread per process keeps torch and BLAS from oversubscribing
# (set before numpy and torch are imported by the tests).
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# CI is reproducible: hypothesis draws the same examples every run, with no deadline.
# Subprocesses started by tests (the CLI, examples, torchrun) must import the installed
# package, not the source tree in the working directory (which has no compiled kernels).
os.environ.setdefault("PYTHONSAFEPATH", "1")

settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    max_examples=25,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "dev", deadline=None, max_examples=25, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))


# REALIZE_SEED_SALT=k draws another reproducible problem for every test (default 0: the
# test's own draw), so a check can be confirmed on many draws, not only the one it was run on:
#   for k in $(seq 1 20); do REALIZE_SEED_SALT=$k python -m pytest -q tests/...; done
_SALT = os.environ.get("REALIZE_SEED_SALT", "0")


@pytest.fixture
def rng(request):
    """A numpy Generator seeded from the test's name: fresh problems per test, reproducible."""
    key = request.node.nodeid if _SALT == "0" else f"{request.node.nodeid}#{_SALT}"
    seed = zlib.crc32(key.encode())
    return np.random.default_rng(seed)
