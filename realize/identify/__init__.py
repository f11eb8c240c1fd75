"""System identification: subspace methods, stochastic realization, prediction error.

* :func:`n4sid` -- combined deterministic-stochastic subspace identification (N4SID,
  MOESP and CVA weightings) from a streaming QR of the block-Hankel data
  (:mod:`.subspace`, :mod:`.hankel`, :mod:`.order`).
* :class:`SubspaceAccumulator` -- the one-pass R-factor accumulator behind it, for data
  that arrive in chunks or do not fit in memory.
* :func:`stochastic_realization` -- output-only realization from covariances
  (Ho-Kalman + Faurre) or canonical correlations (Akaike, Desai-Pal) (:mod:`.stochastic`).
* :func:`pem` -- prediction-error (maximum-likelihood) refinement in innovation form
  (:mod:`.pem`).

``METHODS`` names the subspace weightings of :func:`n4sid` (``method=``).
"""

from realize.identify.estimate import METHODS
from realize.identify.hankel import SubspaceAccumulator
from realize.identify.pem import PEMResult, pem
from realize.identify.stochastic import StochasticRealization, stochastic_realization
from realize.identify.subspace import SubspaceResult, n4sid
from realize.identify.validation import fit_percent  # the one definition of the fit

__all__ = [
    "METHODS",
    "n4sid",
    "SubspaceResult",
    "SubspaceAccumulator",
    "stochastic_realization",
    "StochasticRealization",
    "pem",
    "PEMResult",
    "fit_percent",
]
