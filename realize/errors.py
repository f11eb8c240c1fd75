"""Exceptions and warnings raised by realize.

Every error names the argument at fault, what was expected and what was received.
Value and shape errors also subclass :class:`ValueError`, so callers that already
catch ``ValueError`` keep working.

Hierarchy::

    RealizeError (Exception)
    ├── ShapeError (ValueError)              wrong number of dimensions or sizes
    ├── InvalidValueError (ValueError)       a value outside its domain
    │   ├── NonFiniteError                   NaN or Inf where not allowed
    │   ├── NotPositiveSemidefiniteError     a covariance that is not symmetric PSD
    │   ├── NotStableError                   an unstable model where a stable one is needed
    │   ├── NotControllableError             rank deficiency of the controllability matrix
    │   ├── NotObservableError               rank deficiency of the observability matrix
    │   ├── NotPositiveRealError             covariances without a spectral factor
    │   ├── NotStabilizableError             a Riccati equation without a stabilizing solution
    │   ├── DataError                        too little data, or data that cannot support a request
    │   └── OrderError                       an order the data or the horizon cannot support
    └── FormatError (ValueError)             a file that is not a valid realize file

    RealizeWarning (UserWarning)
    └── IllConditionedWarning                a badly conditioned transform or problem

Example
-------
>>> import numpy as np, realize
>>> try:
...     realize.StateSpace(np.ones((2, 3)))
... except realize.errors.ShapeError as err:
...     print(err)
A: expected a square (n, n) matrix, got shape (2, 3)
"""

from __future__ import annotations

__all__ = [
    "RealizeError",
    "ShapeError",
    "InvalidValueError",
    "NonFiniteError",
    "NotPositiveSemidefiniteError",
    "NotStableError",
    "NotControllableError",
    "NotObservableError",
    "NotPositiveRealError",
    "NotStabilizableError",
    "DataError",
    "OrderError",
    "FormatError",
    "RealizeWarning",
    "IllConditionedWarning",
]


class RealizeError(Exception):
    """Base class of every exception raised by realize."""


class ShapeError(RealizeError, ValueError):
    """An array has the wrong number of dimensions or the wrong sizes."""


class InvalidValueError(RealizeError, ValueError):
    """An argument's value lies outside its domain."""


class NonFiniteError(InvalidValueError):
    """NaN or Inf where only finite numbers are allowed."""


class NotPositiveSemidefiniteError(InvalidValueError):
    """A covariance matrix that is not symmetric positive semidefinite."""


class NotStableError(InvalidValueError):
    """An unstable model where a stable one is required."""


class NotControllableError(InvalidValueError):
    """A model that is not controllable where controllability is required."""


class NotObservableError(InvalidValueError):
    """A model that is not observable where observability is required."""


class NotPositiveRealError(InvalidValueError):
    """Covariance data (or a model) that is not positive real: no spectral factor exists."""


class NotStabilizableError(InvalidValueError):
    """A Riccati equation that has no stabilizing solution."""


class DataError(InvalidValueError):
    """Data that cannot support the request: too few samples, constant signals, ..."""


class OrderError(InvalidValueError):
    """A model order that the data, the horizon or the model cannot support."""


class FormatError(RealizeError, ValueError):
    """A file that is not a valid realize file, is corrupt, or has an unknown version."""


class RealizeWarning(UserWarning):
    """Base class of the warnings issued by realize."""


class IllConditionedWarning(RealizeWarning):
    """A similarity transform or a linear system is badly conditioned; results may be inaccurate."""
