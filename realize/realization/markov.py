"""Realization from Markov parameters: the Ho-Kalman / eigensystem realization algorithm.

:func:`era` factors the block Hankel matrix of the Markov parameters by an SVD (Ho and
Kalman; Juang and Pappa); :func:`markov_from_data` estimates the parameters from
input-output data by least squares.

The references are those of :mod:`realize.realization`.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla

from realize._checks import as_float, as_float_array, as_int, as_timeseries
from realize.errors import DataError, NonFiniteError, OrderError, ShapeError
from realize.model import StateSpace

__all__ = ["era", "markov_from_data"]

_EPS = np.finfo(float).eps


def _as_markov(markov) -> np.ndarray:
    h = as_float_array(markov, "markov")
    if h.ndim == 1:
        h = h[:, None, None]
    if h.ndim != 3:
        raise ShapeError(f"markov: expected a (k, p, m) array, got shape {h.shape}")
    if not np.all(np.isfinite(h)):
        raise NonFiniteError("markov: expected finite values, got NaN or Inf")
    return h


def era(
    markov,
    order: int | None = None,
    *,
    rows: int | None = None,
    cols: int | None = None,
    tol: float | None = None,
    dt: float = 1.0,
):
    """Ho-Kalman / eigensystem realization algorithm from MIMO Markov parameters.

    Parameters
    ----------
    markov : (k, p, m) array
        ``markov[0] = D``, ``markov[j] = C A^(j-1) B`` (as returned by
        ``StateSpace.markov(k)`` or :func:`markov_from_data`). A 1-D array means SISO.
    order : int, optional
        Model order. Default: the numerical rank of the Hankel matrix (singular
        values above ``tol * sigma_1``) when there is a clear rank drop, otherwise the
        order at the largest gap ``sigma_i / sigma_{i+1}`` (noisy data).
    rows, cols : int, optional
        Block rows and columns of the Hankel matrix, ``rows + cols <= k - 1``;
        default an as-square-as-possible split of the k - 1 available parameters.
    tol : float, optional
        Relative rank tolerance for ``order=None``; default ``max(p rows, m cols) * 1e3 * eps``.
    dt : float
        Sampling period of the returned model.

    Returns
    -------
    model : StateSpace
        ``(A, B, C, D)`` in the (finite-horizon) balanced coordinates of the Hankel SVD.
    singular_values : (min(p rows, m cols),) array
        Singular values of the Hankel matrix, used to choose the order.

    Raises
    ------
    ShapeError
        If ``markov`` is not (k, p, m).
    OrderError
        If there are too few Markov parameters for the Hankel sizes or the order.

    Notes
    -----
    With ``H0[i, j] = markov[i + j + 1]`` and ``H1[i, j] = markov[i + j + 2]``
    (block entries) and ``H0 = U S V'`` truncated to the order n::

        A = S^-1/2 U' H1 V S^-1/2,   B = (S^1/2 V')[:, :m],   C = (U S^1/2)[:p, :].

    Examples
    --------
    >>> import numpy as np, realize
    >>> sys = realize.StateSpace([[0.8, 0.1], [0.0, 0.5]], [[1.0], [1.0]], [[1.0, 0.0]])
    >>> model, sv = realize.era(sys.markov(20))
    >>> model.n, np.allclose(np.sort(model.poles().real), [0.5, 0.8])
    (2, True)
    """
    h = _as_markov(markov)
    k, p, m = h.shape
    if p == 0 or m == 0:
        raise ShapeError(f"markov: expected a (k, p, m) array with p, m >= 1, got shape {h.shape}")
    dt = as_float(dt, "dt", low=0.0, open_low=True)
    avail = k - 1
    if avail < 2:
        raise OrderError(f"markov: expected at least 3 Markov parameters for ERA, got {k}")
    if rows is None and cols is None:
        rows = (avail + 1) // 2
        cols = avail - rows
    elif rows is None:
        rows = avail - as_int(cols, "cols", error=OrderError)
    elif cols is None:
        cols = avail - as_int(rows, "rows", error=OrderError)
    rows, cols = as_int(rows, "rows", error=OrderError), as_int(cols, "cols", error=OrderError)
    if rows < 1 or cols < 1 or rows + cols > avail:
        raise OrderError(
            f"rows, cols: expected positive block sizes with rows + cols <= {avail} "
            f"(k - 1 for k = {k} Markov parameters), got rows={rows}, cols={cols}"
        )
    idx = np.arange(rows)[:, None] + np.arange(cols)[None, :]
    H0 = h[1 + idx].transpose(0, 2, 1, 3).reshape(rows * p, cols * m)
    H1 = h[2 + idx].transpose(0, 2, 1, 3).reshape(rows * p, cols * m)
    U, s, Vt = np.linalg.svd(H0, full_matrices=False)
    if order is None:
        tol = max(H0.shape) * 1e3 * _EPS if tol is None else as_float(tol, "tol", low=0.0)
        if s[0] == 0:
            order = 0
        else:
            r = int(np.count_nonzero(s > tol * s[0]))
            if r < len(s):
                order = r
            else:
                with np.errstate(divide="ignore"):
                    order = int(np.argmax(np.log(s[:-1]) - np.log(s[1:]))) + 1
    n = as_int(order, "order", error=OrderError)
    if n < 0 or n > len(s):
        raise OrderError(
            f"order: expected an integer in [0, {len(s)}] (the Hankel matrix is "
            f"{H0.shape[0]} x {H0.shape[1]}), got {order!r}"
        )
    if n and s[n - 1] <= s[0] * _EPS * max(H0.shape):
        raise OrderError(
            f"order: the Hankel matrix has numerical rank below {n} "
            f"(sigma_{n} / sigma_1 = {s[n - 1] / s[0]:.3g}); choose a smaller order"
        )
    sq = np.sqrt(s[:n])
    Ob = U[:, :n] * sq
    Cb = sq[:, None] * Vt[:n]
    A = (U[:, :n].T @ H1 @ Vt[:n].T) / np.outer(sq, sq)
    model = StateSpace(A, Cb[:, :m], Ob[:p, :], h[0], dt=dt)
    return model, s


def markov_from_data(y, u, k: int) -> np.ndarray:
    """Least-squares estimate of the first k Markov parameters from input-output data.

    Fits the finite impulse response ``y[t] = sum_{j<k} g_j u[t-j] + e[t]`` for
    ``t >= k - 1``; the truncation biases ``g`` by the tail ``sum_{j>=k} g_j u[t-j]``,
    so k should exceed the settling time.

    Parameters
    ----------
    y : (T, p) array
    u : (T, m) array
        1-D means one channel.
    k : int
        Number of Markov parameters (``g_0 = D`` included).

    Returns
    -------
    markov : (k, p, m) array
        ``markov[j] ~ C A^(j-1) B`` (``markov[0] ~ D``), ready for :func:`era`.

    Raises
    ------
    ShapeError
        If y and u have different lengths.
    DataError
        Too few samples (``T - k + 1 < k m``) or an input that is not persistently
        exciting of order k (rank-deficient regressor).

    Examples
    --------
    >>> import numpy as np, realize
    >>> sys = realize.StateSpace([[0.5]], [[1.0]], [[1.0]])
    >>> u = np.random.default_rng(0).standard_normal((400, 1))
    >>> g = realize.markov_from_data(sys.simulate(u), u, 60)
    >>> bool(np.allclose(g[:5, 0, 0], [0.0, 1.0, 0.5, 0.25, 0.125], atol=1e-9))
    True
    """
    y = as_timeseries(y, "y")
    u = as_timeseries(u, "u", length_of=("y", y.shape[0]))
    k = as_int(k, "k", low=1)
    T, m = u.shape
    p = y.shape[1]
    rows = T - k + 1
    if rows < k * m:
        raise DataError(
            f"y, u: expected at least {k * m + k - 1} samples to estimate {k} Markov "
            f"parameters of {m} input(s), got {T}"
        )
    # regressor row t: [u[t], u[t-1], ..., u[t-k+1]]
    Phi = np.lib.stride_tricks.sliding_window_view(u, k, axis=0)[:, :, ::-1]
    Phi = Phi.transpose(0, 2, 1).reshape(rows, k * m)
    G, _, rank, sv = sla.lstsq(Phi, y[k - 1 :], lapack_driver="gelsd")
    if rank < k * m:
        raise DataError(
            f"u: expected an input persistently exciting of order {k} (full-rank regressor "
            f"of {k * m} columns), got rank {rank}"
        )
    return G.reshape(k, m, p).transpose(0, 2, 1)
