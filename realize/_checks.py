"""Argument validation shared by the public functions.

Each helper takes the argument's public name, so that every error message reads
``"<name>: expected <what>, got <what>"``.
"""

from __future__ import annotations

import numpy as np

from realize.errors import NonFiniteError, NotPositiveSemidefiniteError, ShapeError

__all__ = [
    "as_matrix",
    "as_square",
    "as_timeseries",
    "check_finite",
    "check_psd",
    "describe",
]


def describe(x) -> str:
    """A short description of what was received, for error messages."""
    if isinstance(x, np.ndarray):
        return f"shape {x.shape}"
    return type(x).__name__


def _as_float_array(x, name: str) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ShapeError(
            f"{name}: expected a real numeric array, got {describe(x)} ({exc})"
        ) from None
    if np.iscomplexobj(arr):
        raise ShapeError(f"{name}: expected a real array, got complex values")
    return arr


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
    arr = _as_float_array(x, name)
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
    arr = _as_float_array(x, name)
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
    """Check that M is symmetric positive semidefinite, up to a relative tolerance.

    Returns the exactly symmetrized matrix (M + M') / 2.
    """
    scale = max(1.0, float(np.max(np.abs(M)))) if M.size else 1.0
    asym = float(np.max(np.abs(M - M.T))) if M.size else 0.0
    if asym > rtol * scale * 1e2:
        raise NotPositiveSemidefiniteError(
            f"{name}: expected a symmetric positive semidefinite matrix, "
            f"got an asymmetric one (max |{name} - {name}'| = {asym:.3g})"
        )
    Ms = 0.5 * (M + M.T)
    if Ms.size:
        lam_min = float(np.linalg.eigvalsh(Ms)[0])
        if lam_min < -1e-8 * scale:
            raise NotPositiveSemidefiniteError(
                f"{name}: expected a symmetric positive semidefinite matrix, "
                f"got smallest eigenvalue {lam_min:.3g}"
            )
    return Ms


def as_timeseries(
    x, name: str, channels: int | None = None, allow_nan: bool = False, min_length: int = 1
) -> np.ndarray:
    """A (T, channels) float64 array; 1-D input means one channel.

    ``allow_nan`` permits NaN (missing samples) but never Inf.
    """
    arr = _as_float_array(x, name)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        raise ShapeError(f"{name}: expected a (T, channels) array, got shape {arr.shape}")
    if channels is not None and arr.shape[1] != channels:
        raise ShapeError(
            f"{name}: expected {channels} channel(s) (shape (T, {channels})), got shape {arr.shape}"
        )
    if arr.shape[0] < min_length:
        from realize.errors import DataError

        raise DataError(f"{name}: expected at least {min_length} samples, got {arr.shape[0]}")
    if allow_nan:
        if np.any(np.isinf(arr)):
            raise NonFiniteError(f"{name}: expected finite values or NaN (missing), got Inf")
    else:
        check_finite(arr, name)
    return np.ascontiguousarray(arr)
