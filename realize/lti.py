"""The LTI basics of a :class:`~realize.StateSpace`: invariant zeros, gains and responses.

Each model-level function here is the method of the same name on the model, which calls
it: ``lti.step(sys, T)`` is ``sys.step(T)``. Their docstrings are written for the method
call (``StateSpace`` shows them as its own). :func:`invariant_zeros` and :func:`gain_at`
are the array-level cores, on ``(A, B, C, D)`` of any shape.

The responses are arrays with time along axis 0: ``freqresp`` ``(N, p, m)``, ``step`` and
``impulse`` ``(T, p, m)``, ``initial`` ``(T, p)``; an unstable model whose response
overflows raises :class:`~realize.errors.NonFiniteError` naming the first bad sample.
"""

from __future__ import annotations

import numpy as np

from realize._checks import as_bool, as_float_array, as_int, as_matrix, check_finite
from realize.errors import InvalidValueError, NonFiniteError, ShapeError

__all__ = ["zeros", "dcgain", "freqresp", "step", "impulse", "initial"]

_EPS = np.finfo(float).eps


# ------------------------------------------------------------------ zeros
def zeros(sys) -> np.ndarray:
    """Invariant zeros: where the Rosenbrock system matrix loses rank.

    The finite complex numbers z at which ``P(z) = [[A - z I, B], [C, D]]`` has rank
    below its normal rank (its rank at almost every z). For a square model with a
    nonsingular transfer matrix these are the transmission zeros (where ``det G(z)``
    vanishes) together with the decoupling zeros; for a non-square model (m != p) the
    normal rank is ``n + rank G``, so a generic non-square model has no zeros, and one
    with dependent outputs or inputs has the zeros of its square part.

    Returns
    -------
    z : (k,) complex array
        The finite invariant zeros, in no particular order (k <= n).

    See Also
    --------
    poles : the eigenvalues of A.
    dcgain : the gain at z = 1, zero in the directions of a zero at 1.

    Notes
    -----
    The Emami-Naeini and Van Dooren reduction ([1]_): orthogonal row compressions of
    D and column compressions of C deflate the infinite zeros and the left null space
    until D has full row rank, the same on the dual system removes the right null
    space, and the finite zeros are the generalized eigenvalues
    (``scipy.linalg.eigvals``) of the square, regular pencil that remains. Rank
    decisions use ``(n + p)(n + m) eps ||P||_F``, as SLICOT's AB08ND. The result equals
    python-control's ``zeros()`` (AB08ND through slycot) for any shape, and
    ``scipy.linalg.eigvals`` of the full pencil for a square model; for an output-only
    model (m = 0) the zeros are the unobservable modes.

    References
    ----------
    .. [1] A. Emami-Naeini and P. Van Dooren, "Computation of zeros of linear
       multivariable systems", Automatica 18(4), 1982.

    Examples
    --------
    >>> import numpy as np, realize
    >>> sys = realize.StateSpace([[0.5, 0.0], [0.0, 0.2]], [[1.0], [1.0]], [[1.0, 1.0]])
    >>> np.round(sys.zeros().real, 6)
    array([0.35])
    >>> tall = realize.StateSpace(sys.A, sys.B, [[1.0, 1.0], [2.0, 2.0]])  # m = 1, p = 2
    >>> np.round(tall.zeros().real, 6)
    array([0.35])
    """
    return invariant_zeros(sys.A, sys.B, sys.C, sys.D)


def invariant_zeros(A, B, C, D) -> np.ndarray:
    """Finite invariant zeros of (A, B, C, D), any shape (see :meth:`StateSpace.zeros`)."""
    import scipy.linalg as sla

    A, B, C, D = (np.asarray(X, dtype=float) for X in (A, B, C, D))
    n, m, p = A.shape[0], B.shape[1], C.shape[0]
    none = np.zeros(0, dtype=complex)
    if n == 0:
        return none
    # SLICOT AB08ND's rank tolerance, on the scale of the whole system matrix
    tol = (n + p) * (n + m) * _EPS * float(np.linalg.norm(np.block([[A, B], [C, D]])))
    A, B, C, D = _zeros_reduce(A, B, C, D, tol)
    if A.shape[0] == 0:
        return none
    # the dual system removes the right null space; D is then square and nonsingular
    At, Ct, Bt, Dt = _zeros_reduce(A.T, C.T, B.T, D.T, tol)
    A, B, C, D = At.T, Bt.T, Ct.T, Dt.T
    nf, pf = A.shape[0], C.shape[0]
    if nf == 0:
        return none
    # compress the columns of [C, D]: [C, D] V = [0, D_hat]; the first nf columns of V
    # (its null space) turn [A - z I, B] into the regular pencil A_z - z E_z
    if pf:
        _, _, Vt = np.linalg.svd(np.hstack([C, D]))
        V1 = Vt[pf:].T
    else:
        V1 = np.eye(nf + B.shape[1])[:, :nf]
    if V1.shape[1] != nf:  # inconsistent rank decisions: a borderline model
        raise InvalidValueError(
            "sys: the zeros are numerically ill-defined (the rank decisions of the reduced "
            f"pencil disagree at tolerance {tol:.3g})"
        )
    alpha, beta = sla.eigvals(np.hstack([A, B]) @ V1, V1[:nf], homogeneous_eigvals=True)
    finite = beta != 0
    return (alpha[finite] / beta[finite]).astype(complex)


def _zeros_reduce(A, B, C, D, tol: float):
    """Emami-Naeini and Van Dooren's procedure REDUCE: a system with the same finite zeros
    whose D has full row rank.

    One step: rotate the outputs so that ``U'[C, D] = [[C1, D1], [C2, 0]]`` with D1 of full
    row rank, rotate the states so that ``C2 W = [0, C22]`` with C22 of full column rank
    rho. In the pencil ``[[A11 - z, A12, B1], [A21, A22 - z, B2], [C11, C12, D1], [0, C22,
    0]]`` the constant, full-column-rank C22 eliminates the columns of x2 (row operations
    that may involve z but are unimodular), leaving the system ``(A11, B1, [A21; C11],
    [B2; D1])`` with rho fewer states and the same finite zeros. Zero rows of ``[C2, 0]``
    are dropped (left null vectors of the pencil).
    """
    while True:
        n, p = A.shape[0], C.shape[0]
        if p == 0:
            return A, B, C, D
        if D.size:
            U, s, _ = np.linalg.svd(D)
            sigma = int(np.count_nonzero(s > tol))
        else:
            U, sigma = np.eye(p), 0
        if sigma == p:
            return A, B, C, D
        CD = U.T @ np.hstack([C, D])
        C1, D1, C2 = CD[:sigma, :n], CD[:sigma, n:], CD[sigma:, :n]
        if n == 0:
            return A, B, C1, D1
        _, sc, Vt = np.linalg.svd(C2)
        rho = int(np.count_nonzero(sc > tol))
        if rho == 0:
            return A, B, C1, D1
        W = np.vstack([Vt[rho:], Vt[:rho]]).T  # null space of C2 first, its row space last
        nu = n - rho
        At, Bt, C1w = W.T @ A @ W, W.T @ B, C1 @ W
        A, B = At[:nu, :nu], Bt[:nu]
        C, D = np.vstack([At[nu:, :nu], C1w[:, :nu]]), np.vstack([Bt[nu:], D1])
        if nu == 0:
            return A, B, C, D


# ------------------------------------------------------------------ gains and frequency response
def dcgain(sys) -> np.ndarray:
    """Steady-state (zero-frequency) gain ``G(1) = C (I - A)^{-1} B + D``.

    Returns
    -------
    G : (p, m) array
        The gain from each input to each output. An entry is ``inf`` where that
        input-output pair sees a pole at ``z = 1`` (an integrator: the step response
        grows without bound), and finite where the pole is uncontrollable from that
        input or unobservable from that output.

    See Also
    --------
    freqresp : the response at any frequency.
    step : ``step(T)[-1]`` tends to ``dcgain()`` for a stable model.

    Notes
    -----
    Where ``I - A`` is nonsingular (smallest singular value above
    ``1000 n eps ||I - A||``) this is one linear solve. Otherwise the generalized
    eigenspace of ``z = 1`` is split off by an orthogonal staircase of rank decisions
    on ``I - A`` (the nilpotent part N), a Sylvester equation decouples it, and an
    entry is infinite when one of ``C_1 N^k B_1`` (k < n_1) is nonzero in it; the rest
    of the model gives the finite value.

    python-control's ``dcgain`` gives the same finite values; at an integrator it
    returns ``inf`` in every entry (``nan`` where the pole cancels). A model sampled
    with zero-order hold (:func:`realize.c2d`) has the DC gain ``G_c(0) = -C A_c^-1 B
    + D`` of the continuous-time model it came from.

    Examples
    --------
    >>> import realize
    >>> realize.StateSpace([[0.5]], [[1.0]], [[1.0]]).dcgain()
    array([[2.]])
    >>> import numpy as np
    >>> integrator_and_lag = realize.StateSpace(np.diag([1.0, 0.5]), np.eye(2), np.eye(2))
    >>> integrator_and_lag.dcgain()
    array([[inf,  0.],
           [ 0.,  2.]])
    """
    return gain_at(sys.A, sys.B, sys.C, sys.D, 1.0)


def gain_at(A, B, C, D, point: float) -> np.ndarray:
    """``G(point) = C (point I - A)^-1 B + D``, inf in the entries that see a pole at point.

    Used with point = 1 (discrete-time DC gain) and point = 0 (continuous time).
    """
    import scipy.linalg as sla

    A, B, C, D = (np.asarray(X, dtype=float) for X in (A, B, C, D))
    n = A.shape[0]
    if n == 0:
        return D.copy()
    M = point * np.eye(n) - A
    norm = float(np.linalg.norm(M, 2))
    tol = 1e3 * n * _EPS * norm
    s = np.linalg.svd(M, compute_uv=False)
    if norm > 0 and s[-1] > tol:
        return C @ np.linalg.solve(M, B) + D
    # A pole at `point`: split off its generalized eigenspace by a staircase of rank
    # decisions on M (null space, then the null space of the remaining block, ...), so
    # that U' M U = [[N, X], [0, M2]] with N nilpotent and M2 nonsingular.
    Mh, U, k0 = M.copy(), np.eye(n), 0
    while k0 < n:
        _, s, Vt = np.linalg.svd(Mh[k0:, k0:])
        r = int(np.count_nonzero(s <= tol))
        if r == 0:
            break
        Z = np.vstack([Vt[len(s) - r :], Vt[: len(s) - r]]).T
        Mh[k0:, :] = Z.T @ Mh[k0:, :]
        Mh[:, k0:] = Mh[:, k0:] @ Z
        U[:, k0:] = U[:, k0:] @ Z
        Mh[k0:, k0 : k0 + r] = 0.0
        k0 += r
    N, X, M2 = Mh[:k0, :k0], Mh[:k0, k0:], Mh[k0:, k0:]
    Bh, Ch = U.T @ B, C @ U
    # decouple: with Y solving N Y - Y M2 = -X, the pole part is (N, B1 - Y B2, C1) and
    # the rest (M2, B2, C1 Y + C2)
    Y = sla.solve_sylvester(N, -M2, -X) if 0 < k0 < n else np.zeros((k0, n - k0))
    B1, B2 = Bh[:k0] - Y @ Bh[k0:], Bh[k0:]
    C1, C2 = Ch[:, :k0], Ch[:, :k0] @ Y + Ch[:, k0:]
    G = D + (C2 @ np.linalg.solve(M2, B2) if k0 < n else 0.0)
    # the pole part is sum_k (-1)^k C1 N^k B1 / (point - z)^(k+1): infinite in an entry
    # unless every C1 N^k B1 vanishes there
    infinite = np.zeros(G.shape, dtype=bool)
    NkB = B1
    # rounding of a vanishing C1 N^k B1 is relative to the terms it was computed from
    size = lambda X: float(np.linalg.norm(X, 2)) if X.size else 0.0  # noqa: E731
    scale = size(C1) * (size(Bh[:k0]) + size(Y) * size(B2))
    for _ in range(k0):
        infinite |= np.abs(C1 @ NkB) > 1e-8 * scale
        NkB = N @ NkB
        scale *= max(float(np.linalg.norm(N, 2)), 1.0)
    G = np.array(G, dtype=float)
    G[infinite] = np.inf
    return G


def freqresp(sys, w, *, normalized: bool = False) -> np.ndarray:
    """Frequency response ``H(e^{i w dt}) = C (e^{i w dt} I - A)^{-1} B + D``.

    Parameters
    ----------
    w : (N,) array_like
        Angular frequencies in rad per time unit of ``dt`` (rad/s when dt is in
        seconds), as python-control's ``frequency_response``; the Nyquist frequency is
        ``pi / dt``. With ``normalized=True``, in rad/sample instead (``w dt``, as
        ``scipy.signal.dfreqresp``; Nyquist ``pi``). For the default ``dt = 1`` the two
        agree.
    normalized : bool, default False
        Read ``w`` as normalized frequency in rad/sample.

    Returns
    -------
    H : (N, p, m) complex array
        ``H[k]`` is the transfer matrix at frequency ``w[k]``.

    Raises
    ------
    ShapeError
        If ``w`` is not one-dimensional or not real.
    NonFiniteError
        NaN or Inf in ``w``.
    InvalidValueError
        A frequency at a pole on the unit circle (``e^{i w dt} I - A`` singular).

    See Also
    --------
    dcgain : the response at zero frequency, with integrators handled.
    markov : the impulse response, whose Fourier transform this is.

    Notes
    -----
    python-control's ``sys.to_control().frequency_response(w)`` returns the same
    values with shape ``(p, m, N)`` (squeezed for one input and output).

    Examples
    --------
    >>> import numpy as np, realize
    >>> sys = realize.StateSpace([[0.5]], [[1.0]], [[1.0]])
    >>> H = sys.freqresp([0.0, np.pi])
    >>> H.shape, np.round(H[:, 0, 0].real, 6).tolist()
    ((2, 1, 1), [2.0, -0.666667])
    >>> fast = sys.replace(dt=0.01)  # the same model sampled at 100 Hz
    >>> bool(np.allclose(fast.freqresp([100 * np.pi]), sys.freqresp([np.pi])))
    True
    >>> bool(np.allclose(fast.freqresp([np.pi], normalized=True), sys.freqresp([np.pi])))
    True
    """
    w = np.atleast_1d(as_float_array(w, "w"))
    check_finite(w, "w")
    if w.ndim != 1:
        raise ShapeError(f"w: expected a 1-D array of frequencies, got shape {w.shape}")
    theta = w if as_bool(normalized, "normalized") else w * sys.dt
    z = np.exp(1j * theta)
    M = z[:, None, None] * np.eye(sys.n) - sys.A
    if sys.n:
        # at a pole e^{iw} I - A is singular to working precision: the response is
        # infinite there, and a solve returns rounding noise (or fails)
        sv = np.linalg.svd(M, compute_uv=False)
        at_pole = sv[:, -1] <= 8 * sys.n * np.finfo(float).eps * sv[:, 0]
        if np.any(at_pole):
            k = int(np.argmax(at_pole))
            arg = "w" if normalized else "w dt"
            raise InvalidValueError(
                f"w: expected frequencies away from the poles, got w[{k}] = {w[k]:.17g} "
                f"where e^(i {arg}) is a pole of the model (e^(i {arg}) I - A is singular)"
            )
    X = np.linalg.solve(M, np.broadcast_to(sys.B.astype(complex), (len(w), sys.n, sys.m)))
    return sys.C @ X + sys.D


# ------------------------------------------------------------------ time responses
def step(sys, T: int) -> np.ndarray:
    """Step response from a zero state: each input switched to one at time 0.

    Parameters
    ----------
    T : int
        Number of samples.

    Returns
    -------
    y : (T, p, m) array
        ``y[k, :, j]`` is the output at time ``t_k = k dt`` (k = 0, ..., T-1) for
        ``u_j[t] = 1`` at every ``t >= 0``, other inputs zero and ``x[0] = 0``; so
        ``y[0] = D`` and ``y[k] = D + sum_{i<k} C A^i B``.

    Raises
    ------
    InvalidValueError
        ``T`` not a non-negative integer.
    NonFiniteError
        An unstable model whose response overflows.

    See Also
    --------
    impulse, initial, simulate, dcgain

    Notes
    -----
    The times are ``np.arange(T) * dt``. python-control's
    ``step_response(sys.to_control(), np.arange(T) * dt).outputs`` holds the same
    values with shape ``(p, m, T)`` (squeezed to ``(T,)`` for one input and output).

    Examples
    --------
    >>> import realize
    >>> realize.StateSpace([[0.5]], [[1.0]], [[1.0]]).step(4)[:, 0, 0].tolist()
    [0.0, 1.0, 1.5, 1.75]
    """
    T = as_int(T, "T", low=0)
    y = np.empty((T, sys.p, sys.m))
    X = np.zeros((sys.n, sys.m))
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(T):
            y[k] = sys.C @ X + sys.D
            X = sys.A @ X + sys.B
    _check_response(sys, y, "step")
    return y


def impulse(sys, T: int) -> np.ndarray:
    """Impulse response from a zero state, with python-control's unit-area impulse.

    Parameters
    ----------
    T : int
        Number of samples.

    Returns
    -------
    y : (T, p, m) array
        ``y[k, :, j]`` is the output at time ``t_k = k dt`` for the input
        ``u_j[0] = 1 / dt`` (a pulse of unit area: height ``1/dt`` for one sampling
        period), zero afterwards: ``y[0] = D / dt`` and ``y[k] = C A^(k-1) B / dt``.

    Raises
    ------
    InvalidValueError
        ``T`` not a non-negative integer.
    NonFiniteError
        An unstable model whose response overflows.

    See Also
    --------
    markov : the unit-pulse response, ``markov(T) == dt * impulse(T)``.
    step, initial

    Notes
    -----
    This is python-control's discrete-time convention: its ``impulse_response``
    applies ``1 / dt`` at the first sample so that the pulse approximates a Dirac
    impulse of unit area (the sampled continuous impulse response), and
    ``impulse_response(sys.to_control(), np.arange(T) * dt).outputs`` equals this with
    shape ``(p, m, T)``. For the default ``dt = 1`` it is the sequence of Markov
    parameters.

    Examples
    --------
    >>> import realize
    >>> sys = realize.StateSpace([[0.5]], [[1.0]], [[1.0]], dt=0.5)
    >>> sys.impulse(4)[:, 0, 0].tolist(), sys.markov(4)[:, 0, 0].tolist()
    ([0.0, 2.0, 1.0, 0.5], [0.0, 1.0, 0.5, 0.25])
    """
    y = sys.markov(as_int(T, "T", low=0)) / sys.dt
    _check_response(sys, y, "impulse")
    return y


def initial(sys, x0, T: int) -> np.ndarray:
    """Free response from the initial state ``x0`` (zero input, no noise).

    Parameters
    ----------
    x0 : (n,) array_like
        Initial state ``x[0]``.
    T : int
        Number of samples.

    Returns
    -------
    y : (T, p) array
        ``y[k] = C A^k x0``, the output at time ``t_k = k dt``.

    Raises
    ------
    ShapeError
        ``x0`` not of length n, or not real.
    NonFiniteError
        NaN or Inf in ``x0``, or an unstable model whose response overflows.
    InvalidValueError
        ``T`` not a non-negative integer.

    See Also
    --------
    step, impulse, simulate

    Notes
    -----
    Equals ``initial_response(sys.to_control(), np.arange(T) * dt, X0=x0).outputs``
    of python-control (shape ``(p, T)``, squeezed for one output).

    Examples
    --------
    >>> import realize
    >>> realize.StateSpace([[0.5]], C=[[2.0]]).initial([1.0], 4).ravel().tolist()
    [2.0, 1.0, 0.5, 0.25]
    """
    x = as_matrix(x0, "x0", rows=sys.n, cols=1).ravel()
    T = as_int(T, "T", low=0)
    y = np.empty((T, sys.p))
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(T):
            y[k] = sys.C @ x
            x = sys.A @ x
    _check_response(sys, y, "initial")
    return y


def _check_response(sys, y: np.ndarray, what: str):
    """NonFiniteError, naming the first sample, if a response overflowed."""
    bad = ~np.isfinite(y).all(axis=tuple(range(1, y.ndim)))
    if bad.any():
        k = int(np.argmax(bad))
        raise NonFiniteError(
            f"sys: expected a {what} response that stays finite, got an overflow at "
            f"sample {k} of {y.shape[0]} (spectral radius {sys.spectral_radius():.6g}); "
            "use fewer samples"
        )
