"""Argument validation shared by the public functions.

Each helper takes the argument's public name, so that every error message reads
``"<name>: expected <what>, got <what>"``.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from realize._linalg import asymmetry, smallest_eigenvalue, symmetrize
from realize.errors import (
    DataError,
    InvalidValueError,
    NonFiniteError,
    NotPositiveSemidefiniteError,
    ShapeError,
)

__all__ = [
    "as_bool",
    "as_choice",
    "as_float",
    "as_float_array",
    "as_int",
    "as_matrix",
    "as_square",
    "as_timeseries",
    "check_same_length",
    "check_finite",
    "check_psd",
    "describe",
]


def describe(x) -> str:
    """A short description of what was received, for error messages."""
    if isinstance(x, np.ndarray):
        return f"shape {x.shape}"
    return type(x).__name__


def _shown(x) -> str:
    """The received value for a message: scalars by their value, containers by their type."""
    if x is None or isinstance(x, (numbers.Number, str, bytes, np.generic)):
        text = repr(x.item() if isinstance(x, np.generic) else x)
        return text if len(text) <= 40 else text[:37] + "..."
    if isinstance(x, np.ndarray) and x.ndim == 0:
        return _shown(x[()])
    return describe(x)


def as_float_array(x, name: str) -> np.ndarray:
    """A real float array from ``x`` (any shape), refusing complex values and text.

    Examples
    --------
    >>> as_float_array([1, 2], "y")
    array([1., 2.])
    """
    # inspect the values before any cast: a cast to float would drop imaginary parts
    # (with only a ComplexWarning) and parse strings such as "1.5"
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as exc:
        raise ShapeError(
            f"{name}: expected a real numeric array, got {describe(x)} ({exc})"
        ) from None
    if np.iscomplexobj(arr) or (
        arr.dtype == object and any(isinstance(v, complex) for v in arr.flat)
    ):
        raise ShapeError(f"{name}: expected a real array, got complex values")
    if arr.dtype.kind in "USV" or (
        arr.dtype == object and any(isinstance(v, (str, bytes)) for v in arr.flat)
    ):
        raise ShapeError(f"{name}: expected a real numeric array, got text ({_shown(x)})")
    if arr.dtype.kind not in "biuf":
        try:
            arr = arr.astype(float)
        except (TypeError, ValueError) as exc:
            raise ShapeError(
                f"{name}: expected a real numeric array, got {describe(x)} ({exc})"
            ) from None
    return arr.astype(float, copy=False)


def _bounds(low, high, open_low: bool, open_high: bool) -> str:
    if low is not None and high is not None:
        return f" in {'(' if open_low else '['}{low}, {high}{')' if open_high else ']'}"
    if low is not None:
        return f" {'>' if open_low else '>='} {low}"
    if high is not None:
        return f" {'<' if open_high else '<='} {high}"
    return ""


def _scalar(x):
    """A Python int or float from a real numeric scalar (0-d arrays included), else None."""
    if isinstance(x, np.ndarray) and x.ndim == 0:
        x = x[()]
    if isinstance(x, (bool, np.bool_)):
        return None
    if isinstance(x, (numbers.Integral, np.integer)):
        return int(x)
    if isinstance(x, (numbers.Real, np.floating)):
        return float(x)
    return None


def as_int(
    x,
    name: str,
    *,
    low: int | None = None,
    high: int | None = None,
    error: type = InvalidValueError,
) -> int:
    """An integer argument in ``[low, high]``.

    Python and NumPy integers are accepted, and floats with an integral value (``2.0``);
    booleans, fractions (``1.7`` is never truncated), NaN, Inf, strings, None and
    containers raise ``error`` (an :class:`InvalidValueError` subclass) with the message
    ``"<name>: expected an integer ..., got ..."``.

    Examples
    --------
    >>> as_int(3.0, "order", low=1)
    3
    >>> as_int(1.7, "order")
    Traceback (most recent call last):
    ...
    realize.errors.InvalidValueError: order: expected an integer, got 1.7
    """
    v = _scalar(x)
    rng = _bounds(low, high, False, False)
    if isinstance(v, float):
        # integral floats stand for integers only where every integer is a float (2^53)
        v = int(v) if math.isfinite(v) and v.is_integer() and abs(v) <= 2.0**53 else None
    if v is None:
        raise error(f"{name}: expected an integer{rng}, got {_shown(x)}")
    if (low is not None and v < low) or (high is not None and v > high):
        raise error(f"{name}: expected an integer{rng}, got {v}")
    return v


def as_float(
    x,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    open_low: bool = False,
    open_high: bool = False,
    allow_inf: bool = False,
    error: type = InvalidValueError,
) -> float:
    """A real number argument in the interval given by ``low``, ``high`` (closed by default).

    Python and NumPy reals (0-d arrays included) are accepted; booleans, complex numbers,
    strings, None, containers and NaN (and Inf unless ``allow_inf``) raise ``error`` with
    the message ``"<name>: expected a number ..., got ..."``.

    Examples
    --------
    >>> as_float(1, "tol", low=0.0)
    1.0
    >>> as_float(-1.0, "tol", low=0.0)
    Traceback (most recent call last):
    ...
    realize.errors.InvalidValueError: tol: expected a finite number >= 0.0, got -1.0
    """
    v = _scalar(x)
    rng = _bounds(low, high, open_low, open_high)
    kind = "a number" if allow_inf else "a finite number"
    if v is None or math.isnan(v) or (not allow_inf and math.isinf(v)):
        raise error(f"{name}: expected {kind}{rng}, got {_shown(x)}")
    v = float(v)
    if (low is not None and (v < low or (open_low and v == low))) or (
        high is not None and (v > high or (open_high and v == high))
    ):
        raise error(f"{name}: expected {kind}{rng}, got {v!r}")
    return v


def as_choice(x, name: str, choices, *, aliases=None, stacklevel: int = 3) -> str:
    """One of a fixed set of strings (an option such as ``method``).

    ``aliases`` maps deprecated names to their choice: they are accepted for one release
    with a DeprecationWarning (at ``stacklevel``, the caller of the public function by
    default) and the choice is returned.

    Examples
    --------
    >>> as_choice("cva", "method", ("n4sid", "moesp", "cva"))
    'cva'
    >>> as_choice(["cva"], "method", ("n4sid", "cva"))
    Traceback (most recent call last):
    ...
    realize.errors.InvalidValueError: method: expected one of ('n4sid', 'cva'), got list
    """
    choices = tuple(choices)
    if aliases and isinstance(x, str) and x in aliases:
        warnings.warn(
            f"{name}={x!r} is deprecated and will be removed; use {name}={aliases[x]!r}",
            DeprecationWarning,
            stacklevel=stacklevel,
        )
        return aliases[x]
    if not isinstance(x, str) or x not in choices:
        raise InvalidValueError(f"{name}: expected one of {choices}, got {_shown(x)}")
    return x


def as_bool(x, name: str) -> bool:
    """A flag: ``True``/``False`` (NumPy booleans and the integers 0 and 1 included).

    Examples
    --------
    >>> as_bool(np.True_, "detrend"), as_bool(0, "detrend")
    (True, False)
    """
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (numbers.Integral, np.integer)) and int(x) in (0, 1):
        return bool(x)
    raise InvalidValueError(f"{name}: expected True or False, got {_shown(x)}")


def check_finite(arr: np.ndarray, name: str) -> np.ndarray:
    """Raise NonFiniteError if ``arr`` holds NaN or Inf."""
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise NonFiniteError(f"{name}: expected finite values, got {bad} NaN or Inf entries")
    return arr


def as_matrix(
    x, name: str, rows: int | None = None, cols: int | None = None, finite: bool = True
) -> np.ndarray:
    """Convert ``x`` to a C-contiguous float64 2-D array of the expected size.

    A scalar becomes a (1, 1) matrix; a 1-D array is accepted only when one of the
    expected sizes is 1 (it becomes a column or a row).
    """
    arr = as_float_array(x, name)
    if arr.ndim == 0:
        arr = arr.reshape(1, 1)
    elif arr.ndim == 1:
        if cols == 1 and (rows is None or rows == arr.shape[0]):
            arr = arr.reshape(-1, 1)
        elif rows == 1 and (cols is None or cols == arr.shape[0]):
            arr = arr.reshape(1, -1)
        elif rows is None and cols is None:
            arr = arr.reshape(1, -1)
    if arr.ndim != 2:
        want = f"({'?' if rows is None else rows}, {'?' if cols is None else cols})"
        raise ShapeError(f"{name}: expected a {want} matrix, got shape {arr.shape}")
    if (rows is not None and arr.shape[0] != rows) or (cols is not None and arr.shape[1] != cols):
        want = f"({'?' if rows is None else rows}, {'?' if cols is None else cols})"
        raise ShapeError(f"{name}: expected a {want} matrix, got shape {arr.shape}")
    if finite:
        check_finite(arr, name)
    return np.ascontiguousarray(arr)


def as_square(x, name: str, n: int | None = None, finite: bool = True) -> np.ndarray:
    """A square (n, n) float64 matrix."""
    arr = as_float_array(x, name)
    if arr.ndim == 0:
        arr = arr.reshape(1, 1)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ShapeError(f"{name}: expected a square (n, n) matrix, got shape {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise ShapeError(f"{name}: expected shape ({n}, {n}), got shape {arr.shape}")
    if finite:
        check_finite(arr, name)
    return np.ascontiguousarray(arr)


def check_psd(M: np.ndarray, name: str, rtol: float = 1e-10) -> np.ndarray:
    """Check that M (or each matrix of a stack M[t]) is symmetric positive semidefinite.

    The tolerances are relative to the matrix's own scale ``max |M|``: asymmetry up to
    ``100 rtol max|M|`` and eigenvalues down to ``-1e-8 max|M|`` (rounding) pass, so a
    covariance of size 1e-12 is judged as one of size 1.

    Parameters
    ----------
    M : (n, n) or (T, n, n) array
    name : str
        The argument's name, for the message (``name[t]`` for the t-th of a stack).
    rtol : float
        Relative asymmetry tolerance (divided by 100).

    Returns
    -------
    array like M
        The exactly symmetrized matrix (M + M') / 2.

    Examples
    --------
    >>> check_psd(np.array([[-9e-9]]), "Q")
    Traceback (most recent call last):
    ...
    realize.errors.NotPositiveSemidefiniteError: Q: expected a symmetric positive \
semidefinite matrix, got smallest eigenvalue -9e-09
    """
    M = np.asarray(M, dtype=float)
    if M.size == 0:
        return M.copy()
    stack = M.reshape(-1, *M.shape[-2:])
    where = (lambda i: f"[{i}]") if M.ndim == 3 and M.shape[0] > 1 else (lambda i: "")
    scale = np.abs(stack).max(axis=(1, 2))
    asym = asymmetry(stack)
    bad = np.nonzero(asym > rtol * 1e2 * scale)[0]
    if bad.size:
        i = int(bad[0])
        raise NotPositiveSemidefiniteError(
            f"{name}{where(i)}: expected a symmetric positive semidefinite matrix, "
            f"got an asymmetric one (max |{name} - {name}'| = {asym[i]:.3g})"
        )
    Ms = symmetrize(stack)
    lam_min = smallest_eigenvalue(Ms)
    bad = np.nonzero(lam_min < -1e-8 * scale)[0]
    if bad.size:
        i = int(bad[0])
        raise NotPositiveSemidefiniteError(
            f"{name}{where(i)}: expected a symmetric positive semidefinite matrix, "
            f"got smallest eigenvalue {lam_min[i]:.3g}"
        )
    return Ms.reshape(M.shape)


def check_same_length(name: str, samples: int, other: str, expected: int) -> None:
    """ShapeError unless the array ``name`` has the ``expected`` samples of ``other``."""
    if samples != expected:
        raise ShapeError(f"{name}: expected as many samples as {other} ({expected}), got {samples}")


def as_timeseries(
    x,
    name: str,
    channels: int | None = None,
    allow_nan: bool = False,
    min_length: int = 1,
    min_channels: int = 1,
    length_of: tuple[str, int] | None = None,
) -> np.ndarray:
    """A (T, channels) float64 array; 1-D input means one channel.

    ``allow_nan`` permits NaN (missing samples) but never Inf. Without ``channels``, at
    least ``min_channels`` channels are required (0 for an input that may be absent).
    ``length_of = (other, T)``: the array must have the T samples of the array ``other``
    (inputs and outputs of one record), or a ShapeError names both.
    """
    arr = as_float_array(x, name)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        raise ShapeError(f"{name}: expected a (T, channels) array, got shape {arr.shape}")
    if channels is not None and arr.shape[1] != channels:
        raise ShapeError(
            f"{name}: expected {channels} channel(s) (shape (T, {channels})), got shape {arr.shape}"
        )
    if channels is None and arr.shape[1] < min_channels:
        raise ShapeError(
            f"{name}: expected a (T, channels) array with at least {min_channels} channel(s), "
            f"got shape {arr.shape}"
        )
    if length_of is not None:
        check_same_length(name, arr.shape[0], *length_of)
    if arr.shape[0] < min_length:
        raise DataError(f"{name}: expected at least {min_length} samples, got {arr.shape[0]}")
    if allow_nan:
        if np.any(np.isinf(arr)):
            raise NonFiniteError(f"{name}: expected finite values or NaN (missing), got Inf")
    else:
        check_finite(arr, name)
    return np.ascontiguousarray(arr)
