"""realize: stochastic realization and system identification.

State-space models with noise models and innovation forms, canonical forms,
Kalman filters and likelihoods, subspace identification and output-only
stochastic realization, reverse-time and bilinear models, dynamic textures, and
a thin PyTorch layer (``realize.nn``) that lifts realizations into trainable
sequence models.

Everything is imported on first use, so ``import realize`` stays fast and loads
neither torch, numba, matplotlib, dask, python-control nor scipy.signal.

>>> import numpy as np, realize
>>> sys = realize.StateSpace([[0.9]], [[1.0]], [[1.0]])
>>> float(sys.markov(3)[2, 0, 0])
0.9
"""

from __future__ import annotations

import importlib

from realize import errors  # noqa: F401  (light, always available)

__version__ = "0.1.0"

# public name -> module that defines it (imported lazily on first attribute access)
_LAZY = {
    # model and files
    "StateSpace": "realize.model",
    "series": "realize.connections",
    "parallel": "realize.connections",
    "feedback": "realize.connections",
    "save": "realize.io",
    "load": "realize.io",
    "c2d": "realize.discretize",
    "d2c": "realize.discretize",
    # Riccati and Lyapunov equations
    "dare": "realize.riccati",
    "care": "realize.riccati",
    "dlyap": "realize.riccati",
    "kalman_gain": "realize.riccati",
    # canonical forms and realizations
    "canonical_form": "realize.canonical",
    "kalman_decomposition": "realize.realization",
    "minimal": "realize.realization",
    "gramians": "realize.realization",
    "hankel_singular_values": "realize.realization",
    "balanced_truncation": "realize.realization",
    "modred": "realize.realization",
    "era": "realize.realization",
    "markov_from_data": "realize.realization",
    # filtering
    "kalman_filter": "realize.filtering",
    "kalman_smoother": "realize.filtering",
    "forecast": "realize.filtering",
    "simulation_smoother": "realize.filtering",
    "loglik": "realize.filtering",
    "em": "realize.filtering",
    # identification
    "n4sid": "realize.identify",
    "stochastic_realization": "realize.identify",
    "pem": "realize.identify",
    "SubspaceAccumulator": "realize.identify",
    # reverse time, bilinear
    "backward_model": "realize.reverse",
    "reverse_time_sde": "realize.reverse",
    "BilinearStateSpace": "realize.bilinear",
    "carleman": "realize.bilinear",
    "identify_bilinear": "realize.bilinear",
}
_SUBMODULES = {
    "datasets",
    "texture",
    "plot",
    "nn",
    "identify",
    "cli",
    "compare",
    "report",
    "tabular",
}

__all__ = sorted([*_LAZY, *_SUBMODULES, "errors"])


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"realize.{name}")
    raise AttributeError(f"module 'realize' has no attribute {name!r}")


def __dir__():
    return __all__
