"""Every module's Examples sections run as doctests, and pass.

The modules are found by walking the package (no list to keep up to date): the torch layer
runs where torch imports, the Triton kernels where Triton does. Each module's examples run
in an empty working directory (examples that write files write there), with NumPy's
present print options (no legacy mode), under ``ELLIPSIS`` and ``NORMALIZE_WHITESPACE``.
"""

import doctest
import importlib
import importlib.util
import pkgutil
import re
import sys
import warnings

import numpy as np
import pytest

import realize

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
EXAMPLES_HEADING = re.compile(r"^\s*Examples?\n\s*-{7,}\n", re.M)


def _modules(package: str) -> list[str]:
    """The names of a package and all its modules, found without importing the modules
    (find_spec imports only the parents, so collection stays light without torch)."""
    names = [package]
    try:
        spec = importlib.util.find_spec(package)
    except ImportError:  # a parent needs an optional dependency: the test of the name says so
        return names
    for info in pkgutil.iter_modules(spec.submodule_search_locations or []):
        name = f"{package}.{info.name}"
        names += _modules(name) if info.ispkg else [name]
    return names


MODULES = _modules("realize")


def _import(name: str):
    """The module, or a skip when an optional dependency it needs is absent."""
    if name.startswith("realize.nn"):
        pytest.importorskip("torch")
    if name.rsplit(".", 1)[-1] == "triton":
        pytest.importorskip("triton")
    if name.startswith("realize.plot") or name == "realize.report":
        pytest.importorskip("matplotlib")
    if importlib.util.find_spec("matplotlib") is not None:
        importlib.import_module("matplotlib").use("Agg")
    with warnings.catch_warnings():  # deprecated modules warn on import; their examples run
        warnings.simplefilter("ignore", DeprecationWarning)
        return importlib.import_module(name)


def _needs_torch(test: doctest.DocTest) -> bool:
    return any(re.search(r"\btorch\b|realize\.nn\b", ex.source) for ex in test.examples)


@pytest.mark.parametrize("name", MODULES)
def test_module_examples_pass(name, tmp_path, monkeypatch):
    module = _import(name)
    tests = doctest.DocTestFinder(exclude_empty=False).find(module, name)
    missing = [
        t.name for t in tests if EXAMPLES_HEADING.search(t.docstring or "") and not t.examples
    ]
    assert missing == [], f"Examples sections without a runnable example: {missing}"

    has_torch = importlib.util.find_spec("torch") is not None
    monkeypatch.chdir(tmp_path)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    report = []
    with np.printoptions(legacy=False):
        for test in tests:
            if test.examples and (has_torch or not _needs_torch(test)):
                runner.run(test, out=report.append)
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
    result = runner.summarize(verbose=False)
    assert result.failed == 0, "".join(report)


def test_every_module_is_found():
    """The walk reaches the leaves of every subpackage (a broken walk would pass vacuously)."""
    for name in (
        "realize.model",
        "realize.filtering.smoother",
        "realize.identify.subspace",
        "realize.canonical.modal",
        "realize.plot.systems",
        "realize.cli.fit",
        "realize.nn.bmojo.lm",
    ):
        assert name in MODULES
    if importlib.util.find_spec("torch") is not None:
        assert "realize.nn.ops.selective_scan.naive" in MODULES
    assert realize.__name__ == MODULES[0]
