"""What every canonical form shares: the similarity, its conditioning, option checks.

Every form is a similarity ``x_new = T x`` applied with :meth:`StateSpace.similarity`
(which carries the noise model and the innovation form) and then given the exactly
structured ``A, B, C`` of the form (:func:`finish`); :func:`check_cond` warns when
``cond(T)`` exceeds :data:`COND_WARN`.
"""

from __future__ import annotations

import warnings

import numpy as np

from realize._checks import as_float
from realize.errors import IllConditionedWarning, InvalidValueError
from realize.model import StateSpace

__all__ = ["COND_WARN", "EPS", "apply", "check_cond", "finish", "options"]

#: cond(T) above which canonical_form warns with IllConditionedWarning.
COND_WARN = 1e8

#: Machine epsilon of float64.
EPS = np.finfo(float).eps


def check_cond(T: np.ndarray, form: str, stacklevel: int = 4, *, cond=None) -> float:
    """``cond(T)``, with an IllConditionedWarning above :data:`COND_WARN`; ``cond``, when the
    caller already has it (``cond(T) = cond(T^-1)``), saves computing it again."""
    c = (float(np.linalg.cond(T)) if T.size else 1.0) if cond is None else float(cond)
    if not c < COND_WARN:
        warnings.warn(
            f"canonical_form({form!r}): the transformation is ill-conditioned "
            f"(cond(T) = {c:.3g} > {COND_WARN:.0e}); expect relative errors near eps * cond(T)",
            IllConditionedWarning,
            stacklevel=stacklevel,
        )
    return c


def finish(sys: StateSpace, T, A, B, C) -> StateSpace:
    """sys.similarity(T) (which carries the noise model), with the structured matrices
    A, B, C of the form in place of ``T A T^-1, T B, C T^-1``."""
    return sys._in_coordinates(T, A, B, C)


def apply(sys: StateSpace, T: np.ndarray, Ti: np.ndarray):
    """``(T A Ti, T B, C Ti)``."""
    A = T @ sys.A @ Ti
    return A, T @ sys.B, sys.C @ Ti


def options(form: str, given: dict, allowed: tuple[str, ...]) -> dict:
    """The options of a form, checked against the ones it accepts."""
    extra = set(given) - set(allowed)
    if extra:
        raise InvalidValueError(
            f"options: form {form!r} accepts {list(allowed) or 'no options'}, "
            f"got unexpected {sorted(extra)}"
        )
    if "index_tol" in given:
        given = {**given, "index_tol": as_float(given["index_tol"], "index_tol", low=0.0)}
    return given
