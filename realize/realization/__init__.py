"""Minimal, balanced and Hankel-based realizations of discrete-time MIMO models.

One module per job: :mod:`~realize.realization.staircase` (orthogonal staircases,
:func:`minimal`, :func:`kalman_decomposition`), :mod:`~realize.realization.reduction`
(:func:`gramians`, :func:`hankel_singular_values`, :func:`balanced_truncation`,
:func:`modred`) and :mod:`~realize.realization.markov` (:func:`era`,
:func:`markov_from_data`). Every public name is importable from here.

Conventions stated once
-----------------------
* Rank decisions (controllable and observable dimensions) are made on an
  orthogonal staircase: the blocks that the staircase reduces are compressed by an
  SVD and singular values ``<= tol`` count as zero. The default is
  ``tol = sqrt(eps) * max(||A||_F, ||B||_F, ||C||_F)`` (MATLAB's ``minreal`` uses
  sqrt(eps) too). SLICOT's TB01PD default ``n^2 eps`` (python-control's ``minreal``)
  is too tight for models of a few dozen states: after a dozen staircase steps the
  rounding of a truly zero block reaches ``1e-11`` relative, and planted uncontrollable
  modes are kept (see benchmarks/bench_canonical.py).
* Gramians solve ``P = A P A' + B B'`` and ``Q = A' Q A + C' C``; the Hankel
  singular values are ``sigma_i = sqrt(lambda_i(P Q))``, in decreasing order,
  computed as the singular values of ``Lo' Lc`` with ``P = Lc Lc'``, ``Q = Lo Lo'``.
* Reductions (``minimal``, ``balanced_truncation``) act on the input-output map.
  ``minimal`` carries the noise model or innovation form along (the noise enters as
  extra inputs); ``balanced_truncation`` drops it (the bound concerns ``u -> y``).

References
----------
.. [1] A. Varga, "Numerically stable algorithm for standard controllability form
   determination", Electronics Letters 17(2), 1981.
.. [2] M. S. Tombs and I. Postlethwaite, "Truncated balanced realization of a stable
   non-minimal state-space system", Int. J. Control 46(4), 1987 (square-root method).
.. [3] U. M. Al-Saggaf and G. F. Franklin, "An error bound for a discrete reduced order
   model of a linear multivariable system", IEEE TAC 32(9), 1987.
.. [4] Y. Liu and B. D. O. Anderson, "Singular perturbation approximation of balanced
   systems", Int. J. Control 50(4), 1989.
.. [5] B. L. Ho and R. E. Kalman, "Effective construction of linear state-variable
   models from input/output functions", Regelungstechnik 14, 1966;
   J.-N. Juang and R. S. Pappa, "An eigensystem realization algorithm for modal
   parameter identification and model reduction", J. Guidance 8(5), 1985.
"""

from realize.realization.markov import era, markov_from_data
from realize.realization.reduction import (
    BalancedTruncation,
    balanced_truncation,
    gramians,
    hankel_singular_values,
    modred,
)
from realize.realization.reduction import balanced_realization as balanced_realization
from realize.realization.staircase import KalmanDecomposition, kalman_decomposition, minimal
from realize.realization.staircase import as_statespace as as_statespace
from realize.realization.staircase import controllability_staircase as controllability_staircase

# balanced_realization, as_statespace and controllability_staircase are re-exported for
# realize.canonical, not for users (hence not in __all__)
__all__ = [
    "BalancedTruncation",
    "KalmanDecomposition",
    "balanced_truncation",
    "era",
    "gramians",
    "hankel_singular_values",
    "kalman_decomposition",
    "markov_from_data",
    "minimal",
    "modred",
]
