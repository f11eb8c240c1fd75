"""`import realize` stays light: heavy optional libraries load only on use."""

import json
import subprocess
import sys

HEAVY = ["torch", "numba", "matplotlib", "dask", "control", "scipy.signal", "triton", "pyarrow"]


def _loaded_after(code: str) -> dict:
    probe = (
        "import sys, json\n" + code + "\n"
        f"print(json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_is_light():
    loaded = _loaded_after("import realize")
    assert not any(loaded.values()), {k for k, v in loaded.items() if v}


def test_core_use_stays_light():
    code = (
        "import numpy as np, realize\n"
        "s = realize.StateSpace([[0.5]], [[1.0]], [[1.0]], Q=[[1.0]], R=[[1.0]])\n"
        "s.simulate(np.ones(10), rng=0); s.innovation_form(); s.markov(3)\n"
        "realize.datasets.buck_converter()"
    )
    loaded = _loaded_after(code)
    assert not any(loaded.values()), {k for k, v in loaded.items() if v}
