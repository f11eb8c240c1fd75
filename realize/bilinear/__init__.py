"""Bilinear (input-dependent) state-space models.

A discrete-time bilinear state-space model is

    x[t+1] = A x[t] + sum_i u_i[t] N_i x[t] + B u[t] + w[t]
    y[t]   = C x[t] + D u[t] + v[t]

so the input modulates the dynamics: the transition matrix at time t is
``A + sum_i u_i[t] N_i``. It is the simplest input-dependent ("selective") state-space
model, and the linear model is the case N = 0.

One module per job:

* :mod:`realize.bilinear.model` -- :class:`BilinearStateSpace` (simulation with a
  compiled recursion beside a plain NumPy loop, mean-square stability for white inputs,
  a state bound for bounded inputs, discretization);
* :mod:`realize.bilinear.identify` -- :func:`identify_bilinear` from input-output data
  (a white-input subspace step with past products of inputs and states, then
  prediction-error refinement);
* :mod:`realize.bilinear.carleman` -- :func:`carleman`, the bilinearization of
  polynomial input-affine systems.

Every name is importable from ``realize.bilinear`` as before the split.
"""

from realize.bilinear.carleman import carleman, carleman_lift
from realize.bilinear.identify import BilinearIdentificationResult, identify_bilinear
from realize.bilinear.model import (
    BilinearStateSpace,
    BoundedInputBound,
    bilinear_recursion,
    bilinear_recursion_reference,
)

__all__ = [
    "BilinearStateSpace",
    "BoundedInputBound",
    "BilinearIdentificationResult",
    "identify_bilinear",
    "carleman",
    "carleman_lift",
    "bilinear_recursion",
    "bilinear_recursion_reference",
]
