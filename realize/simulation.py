"""Simulation of linear state-space models: the compiled kernel and its reference.

Both functions compute, for t = 0 .. T-1,

    x[t+1] = A x[t] + B u[t] + w[t]
    y[t]   = C x[t] + D u[t] + v[t]

:func:`simulate_states` folds inputs and process noise into one forcing term with a
single matrix product and runs only the sequential state recursion in Cython
(``realize/_ext/_simulate.pyx``, BLAS ``dgemv`` with the GIL released); the outputs are
one more matrix product. :func:`simulate_reference` is the plain NumPy loop that
defines the result; the tests compare the two. :func:`simulate` is
:meth:`StateSpace.simulate <realize.StateSpace.simulate>` (``simulate(sys, u)`` is
``sys.simulate(u)``): it validates the arguments, draws the noise and the initial state
from the noise model or innovation form, and calls :func:`simulate_states`.
"""

from __future__ import annotations

import numpy as np

from realize._checks import as_bool, as_int, as_matrix, as_timeseries
from realize._ext._simulate import state_recursion
from realize._linalg import psd_factor
from realize.errors import InvalidValueError, NonFiniteError, NotStableError, ShapeError

__all__ = ["simulate", "simulate_states", "simulate_reference"]


def simulate_states(A, B, C, D, u, w, v, x0):
    """Outputs and states of a linear model (compiled recursion).

    Parameters
    ----------
    A : (n, n) array
    B : (n, m) array
    C : (p, n) array
    D : (p, m) array
    u : (T, m) array
    w : (T, n) array or None
        Process noise (None: zero).
    v : (T, p) array or None
        Measurement noise (None: zero).
    x0 : (n,) array

    Returns
    -------
    y : (T, p) array
    x : (T + 1, n) array
        States x[0] .. x[T].

    Examples
    --------
    The step response of x[t+1] = 0.5 x[t] + u[t], y = x:

    >>> import numpy as np
    >>> A, B, C, D = np.array([[0.5]]), np.array([[1.0]]), np.array([[1.0]]), np.zeros((1, 1))
    >>> y, x = simulate_states(A, B, C, D, np.ones((3, 1)), None, None, np.zeros(1))
    >>> y.ravel().tolist(), x.ravel().tolist()
    ([0.0, 1.0, 1.5], [0.0, 1.0, 1.5, 1.75])
    """
    T = u.shape[0]
    forcing = u @ B.T if B.shape[1] else np.zeros((T, A.shape[0]))
    if w is not None:
        forcing += w
    forcing = np.ascontiguousarray(forcing, dtype=float)
    X = np.empty((T + 1, A.shape[0]))
    state_recursion(
        np.ascontiguousarray(A, dtype=float), forcing, np.ascontiguousarray(x0, dtype=float), X
    )
    y = X[:T] @ C.T
    if D.shape[1]:
        y += u @ D.T
    if v is not None:
        y += v
    return y, X


def simulate_reference(A, B, C, D, u, w, v, x0):
    """Plain NumPy loop with the same signature and result as :func:`simulate_states`.

    Examples
    --------
    >>> import numpy as np
    >>> A, B, C, D = np.array([[0.5]]), np.array([[1.0]]), np.array([[1.0]]), np.zeros((1, 1))
    >>> rng = np.random.default_rng(0)
    >>> u, w, v = rng.standard_normal((3, 20, 1))
    >>> fast = simulate_states(A, B, C, D, u, w, v, np.ones(1))
    >>> plain = simulate_reference(A, B, C, D, u, w, v, np.ones(1))
    >>> all(np.allclose(a, b) for a, b in zip(fast, plain))
    True
    """
    T = u.shape[0]
    n = A.shape[0]
    X = np.empty((T + 1, n))
    y = np.empty((T, C.shape[0]))
    X[0] = x0
    for t in range(T):
        y[t] = C @ X[t] + D @ u[t]
        X[t + 1] = A @ X[t] + B @ u[t]
        if w is not None:
            X[t + 1] += w[t]
        if v is not None:
            y[t] += v[t]
    return y, X


def simulate(
    sys,
    u=None,
    T: int | None = None,
    x0=None,
    noise: bool = True,
    rng=None,
    return_states: bool = False,
):
    """Simulate the model.

    Parameters
    ----------
    u : (T, m) array, optional
        Inputs (1-D means one input). Required when m > 0.
    T : int, optional
        Number of samples; required when there is no input, else must equal len(u).
    x0 : (n,) array, optional
        Initial state. None: zero without noise, a draw from the stationary
        distribution with noise.
    noise : bool, default True
        Add process and measurement noise (only where a noise model or innovation
        form exists).
    rng : numpy.random.Generator or int, optional
        Source of the noise draws.
    return_states : bool, default False
        Also return the states x[0] .. x[T-1].

    Returns
    -------
    y : (T, p) array
    x : (T, n) array, only with ``return_states=True``

    Raises
    ------
    ShapeError
        ``u`` or ``x0`` of the wrong shape, or not real.
    InvalidValueError
        ``T`` not a non-negative integer (``2.7`` is refused, not truncated).
    NotStableError
        ``noise=True`` and ``x0=None`` for an unstable model (no stationary state).
    NonFiniteError
        NaN or Inf in ``u`` or ``x0``, or a simulation that overflows (an unstable
        model over a long horizon): the message names the first sample that did.

    Examples
    --------
    >>> import numpy as np, realize
    >>> sys = realize.StateSpace([[0.5]], [[1.0]], [[1.0]])
    >>> sys.simulate(np.ones(3)).ravel().tolist()
    [0.0, 1.0, 1.5]
    """
    if u is None:
        if sys.m:
            raise ShapeError(f"u: expected a (T, {sys.m}) input array, got None")
        if T is None:
            raise InvalidValueError("T: expected the number of samples when u is None, got None")
        T = as_int(T, "T", low=0)
        u = np.zeros((T, 0))
    else:
        if not sys.m:
            raise ShapeError(f"u: the model has no inputs, got an array of shape {np.shape(u)}")
        u = as_timeseries(u, "u", channels=sys.m)
        if T is not None and as_int(T, "T", low=0) != u.shape[0]:
            raise ShapeError(f"u: expected {as_int(T, 'T')} samples (T), got {u.shape[0]}")
        T = u.shape[0]

    add_noise = as_bool(noise, "noise") and (sys.Q is not None or sys.K is not None)
    return_states = as_bool(return_states, "return_states")
    rng = np.random.default_rng(rng)
    w = v = None
    if add_noise:
        if sys.Q is not None:
            cov = np.block([[sys.Q, sys.S], [sys.S.T, sys.R]])
            z = rng.standard_normal((T, sys.n + sys.p)) @ psd_factor(cov).T
            w, v = z[:, : sys.n], z[:, sys.n :]
        else:
            e = rng.standard_normal((T, sys.p)) @ psd_factor(sys.Lambda).T
            w, v = e @ sys.K.T, e
    if x0 is None:
        if add_noise:
            if not sys.is_stable():
                raise NotStableError(
                    "x0: the model is unstable and has no stationary distribution to draw "
                    "the initial state from; pass x0 explicitly"
                )
            x0 = psd_factor(sys.stationary_covariance()) @ rng.standard_normal(sys.n)
        else:
            x0 = np.zeros(sys.n)
    else:
        x0 = as_matrix(x0, "x0", rows=sys.n, cols=1).ravel()

    y, X = simulate_states(sys.A, sys.B, sys.C, sys.D, u, w, v, x0)
    _check_overflow(sys, y, X[:T])
    if return_states:
        return y, X[:T]
    return y


def _check_overflow(sys, y: np.ndarray, X: np.ndarray):
    """Raise NonFiniteError, naming the first sample, if a simulation overflowed."""
    if np.isfinite(y).all() and np.isfinite(X).all():  # the usual case, without row masks
        return
    bad = ~(np.isfinite(y).all(axis=1) & np.isfinite(X).all(axis=1))
    if not bad.any():
        return
    k = int(np.argmax(bad))
    rho = sys.spectral_radius()
    if rho >= 1.0:
        why = (
            f"the model is unstable (spectral radius {rho:.6g} >= 1), so its state grows "
            f"like {rho:.6g}^t past the floating-point range; simulate fewer samples or "
            "use a stable model"
        )
    else:
        why = "the inputs, the initial state or the noise exceed the floating-point range"
    raise NonFiniteError(
        f"sys: expected a simulation that stays finite, got an overflow (Inf or NaN) at "
        f"sample {k} of {y.shape[0]}: {why}"
    )
