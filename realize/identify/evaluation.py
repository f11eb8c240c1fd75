"""Former home of the fit of an identified model; see :mod:`realize.identify.validation`.

Kept for one release: the names below are those of :mod:`realize.identify.validation`
(``estimate_initial_state`` here is its matrix-level
:func:`~realize.identify.validation.least_squares_initial_state`). Importing this module
warns with a DeprecationWarning.
"""

import warnings

from realize.identify.validation import blockwise_fit, simulate_output, simulation_fit
from realize.identify.validation import least_squares_initial_state as estimate_initial_state

__all__ = ["estimate_initial_state", "simulate_output", "simulation_fit", "blockwise_fit"]

warnings.warn(
    "realize.identify.evaluation is deprecated: import from realize.identify.validation "
    "(estimate_initial_state(A, B, C, D, ...) is least_squares_initial_state there)",
    DeprecationWarning,
    stacklevel=2,
)
