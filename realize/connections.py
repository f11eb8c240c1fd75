"""Interconnections of state-space models: series, parallel, feedback, and their operators.

Every connection is one linear fractional transformation of the two models stacked side
by side. With the stacked model

    x[t+1] = A x + B us + G e,    ys = C x + D us + H e,

(``x = [x_a; x_b]``, ``us = [u_a; u_b]``, ``ys = [y_a; y_b]``, block-diagonal matrices)
and the static wiring ``us = M ys + N u``, ``y = P ys + R u``, the loop is solved once,
``ys = F (C x + D N u + H e)`` with ``F = (I - D M)^-1``, and

    A_c = A + B M F C,          B_c = B N + B M F D N,      C_c = P F C,
    D_c = P F D N + R,          G_c = G + B M F H,          H_c = P F H.

``(M, N, P, R)`` is ``([[0, 0], [I, 0]], [I; 0], [0, I], 0)`` for :func:`series`,
``(0, [I; I], [I, I], 0)`` for :func:`parallel` and ``([[0, sign I], [I, 0]], [I; 0],
[I, 0], 0)`` for :func:`feedback`. The states are ordered ``[x_a; x_b]``, as in
python-control, so the matrices equal python-control's ``series``, ``parallel`` and
``feedback`` (to rounding).

The noise model
---------------
Each model's noise enters as it does in that model, and the two noises are independent.
The noise vector of the connection is ``e = [w_a; v_a; w_b; v_b]`` with the block-diagonal
covariance ``Sigma = diag([[Q_a, S_a], [S_a', R_a]], [[Q_b, S_b], [S_b', R_b]])``; a model
with only an innovation form contributes its noise model ``Q = K Lambda K'``, ``R =
Lambda``, ``S = K Lambda`` (the same output process), and a model without either is
noise-free (zero covariance). The connection's noise model is then exact:

    Q = G_c Sigma G_c',    R = H_c Sigma H_c',    S = G_c Sigma H_c'.

So in ``series(a, b)`` a's measurement noise v_a is part of the signal that drives b
(``w = [w_a; B_b v_a + w_b]``, ``v = D_b v_a + v_b``); in ``parallel`` the state noises are
stacked and the measurement noises add (``R = R_a + R_b``); in ``feedback`` both noises
circulate through the loop. The result carries ``Q, R, S`` (no innovation form: that is a
Riccati equation away, ``result.innovation_form()``), and no noise model when neither
model has one. Negation (``-a``) flips the sign of the output and of its noise: ``S -> -S``,
``K -> -K``; ``Q``, ``R`` and ``Lambda`` are unchanged.

Operators follow python-control: ``b * a`` is ``series(a, b)`` (a first, then b, as the
product of transfer matrices ``G_b G_a``), ``a + b`` is ``parallel(a, b)``, ``a - b`` is
``parallel(a, -b)``. A number or an array stands for a static gain (a model with no
states and the same dt): in a product a number k is ``k I``, in a sum it is added to every
entry of the transfer matrix.
"""

from __future__ import annotations

import numbers

import numpy as np
import scipy.linalg as sla

from realize._checks import as_float_array, as_int, describe
from realize._linalg import symmetrize
from realize.errors import InvalidValueError, ShapeError
from realize.model import StateSpace, build_unchecked

__all__ = ["feedback", "negate", "parallel", "series"]

_EPS = np.finfo(float).eps


def _as_model(sys, name: str) -> StateSpace:
    if isinstance(sys, StateSpace):
        return sys
    if type(sys).__module__.startswith("control"):
        return StateSpace.from_control(sys)
    raise InvalidValueError(f"{name}: expected a realize.StateSpace, got {describe(sys)}")


def _static_gain(k, name: str, dt: float, rows: int, cols: int, fill: str) -> StateSpace:
    """A number or array as a model without states: k I (fill='identity') or k 1 1'
    (fill='ones') for a number, the array itself otherwise."""
    K = as_float_array(k, name)
    if K.ndim == 0:
        if fill == "identity":
            if rows != cols:
                raise ShapeError(
                    f"{name}: a number stands for k I, which needs a square connection; got a "
                    f"({rows}, {cols}) gain; pass a ({rows}, {cols}) array"
                )
            K = float(K) * np.eye(rows)
        else:
            K = np.full((rows, cols), float(K))
    elif K.ndim == 1 and K.size == 1:
        K = K.reshape(1, 1)
    if K.ndim != 2:
        raise ShapeError(f"{name}: expected a number or a 2-D gain matrix, got shape {K.shape}")
    p, m = K.shape
    return StateSpace(np.zeros((0, 0)), np.zeros((0, m)), np.zeros((p, 0)), K, dt=dt)


def _operand(x, name: str, other: StateSpace, rows: int, cols: int, fill: str):
    """A StateSpace from a StateSpace, a python-control model, a number or an array."""
    if isinstance(x, StateSpace) or type(x).__module__.startswith("control"):
        return _as_model(x, name)
    if _is_gain(x):
        return _static_gain(x, name, other.dt, rows, cols, fill)
    raise InvalidValueError(
        f"{name}: expected a realize.StateSpace, a number or a gain array, got {describe(x)}"
    )


def _is_model(x) -> bool:
    return isinstance(x, StateSpace) or type(x).__module__.startswith("control")


def _is_gain(x) -> bool:
    return isinstance(x, (numbers.Number, np.ndarray, list, tuple, np.generic))


def supported_operand(x) -> bool:
    """Whether an operator (``*``, ``+``, ``-``) accepts x as the other operand."""
    return _is_model(x) or (_is_gain(x) and not isinstance(x, bool))


def _pair(a, b, fill: str, shape_a, shape_b):
    """(a, b) as models; a number or array on one side takes its size from the other side
    (``shape_a(b)`` gives (rows, cols) for a static a, ``shape_b(a)`` for a static b)."""
    if not _is_model(a) and _is_model(b):
        b = _as_model(b, "b")
        return _operand(a, "a", b, *shape_a(b), fill), b
    if not _is_model(a) and _is_gain(a):  # two gains: a static connection with dt = 1
        a = _static_gain(a, "a", 1.0, 1, 1, fill)
    a = _as_model(a, "a")
    return a, _operand(b, "b", a, *shape_b(a), fill)


def _noise_cov(sys: StateSpace) -> np.ndarray:
    """``[[Q, S], [S', R]]`` of the model (from its innovation form if needed; zero if none)."""
    if sys.Q is None and sys.K is None:
        return np.zeros((sys.n + sys.p, sys.n + sys.p))
    Q, R, S = sys._process_noise()
    return np.block([[Q, S], [S.T, R]])


def _same_dt(a: StateSpace, b: StateSpace, what: str):
    if a.dt != b.dt:
        raise InvalidValueError(
            f"b: expected the sampling period of a (dt = {a.dt:g}) for {what}, got dt = {b.dt:g}"
        )


def _connect(a: StateSpace, b: StateSpace, M, N, P, R, what: str, **labels) -> StateSpace:
    """The LFT of the stacked model (see the module notes)."""
    na, nb = a.n, b.n
    A = sla.block_diag(a.A, b.A)
    B = sla.block_diag(a.B, b.B)
    C = sla.block_diag(a.C, b.C)
    D = sla.block_diag(a.D, b.D)
    # e = [w_a; v_a; w_b; v_b]: G puts w into the states, H puts v into the outputs
    G = sla.block_diag(np.hstack([np.eye(na), np.zeros((na, a.p))]), np.eye(nb, nb + b.p))
    H = sla.block_diag(np.eye(a.p, na + a.p, na), np.eye(b.p, nb + b.p, nb))
    L = np.eye(D.shape[0]) - D @ M
    cond = float(np.linalg.cond(L)) if L.size else 1.0
    if not cond < 1.0 / (L.shape[0] * _EPS):
        raise InvalidValueError(
            f"{what}: expected a well-posed connection (I - D M nonsingular: no algebraic "
            f"loop through the feedthroughs), got condition number {cond:.3g}"
        )
    FC, FD, FH = (np.linalg.solve(L, X) for X in (C, D @ N, H))
    BM = B @ M
    fields = dict(
        B=B @ N + BM @ FD,
        C=P @ FC,
        D=P @ FD + R,
        dt=a.dt,
        state_names=a.state_names + b.state_names if a.state_names and b.state_names else None,
        state_units=a.state_units + b.state_units if a.state_units and b.state_units else None,
        **labels,
    )
    if a.Q is not None or a.K is not None or b.Q is not None or b.K is not None:
        Sigma = sla.block_diag(_noise_cov(a), _noise_cov(b))
        Gc, Hc = G + BM @ FH, P @ FH
        Q, Rv, S = Gc @ Sigma @ Gc.T, Hc @ Sigma @ Hc.T, Gc @ Sigma @ Hc.T
        fields.update(Q=symmetrize(Q), R=symmetrize(Rv), S=S)
    return StateSpace(A + BM @ FC, **fields)


def _first(x, y):
    return x if x is not None else y


def series(a, b) -> StateSpace:
    """The series connection: the outputs of ``a`` drive the inputs of ``b``.

    ``u -> a -> b -> y``, the transfer matrix ``G_b(z) G_a(z)``; python-control's
    ``series(a, b)`` and ``b * a``.

    Parameters
    ----------
    a : StateSpace
        The first model, m inputs and k outputs.
    b : StateSpace
        The second model, k inputs and p outputs, the same dt. Either may be a number
        (``k I``) or a gain array (a static model).

    Returns
    -------
    StateSpace
        States ``[x_a; x_b]`` (n_a + n_b), m inputs (a's names), p outputs (b's names)::

            A = [[A_a, 0], [B_b C_a, A_b]],   B = [[B_a], [B_b D_a]],
            C = [D_b C_a, C_b],               D = D_b D_a,

        and the noise model ``Q = [[Q_a, S_a B_b'], [B_b S_a', B_b R_a B_b' + Q_b]]``,
        ``R = D_b R_a D_b' + R_b``, ``S = [[S_a D_b'], [B_b R_a D_b' + S_b]]`` (a's
        measurement noise travels into b; see :mod:`realize.connections`).

    Raises
    ------
    ShapeError
        If b's inputs do not match a's outputs.
    InvalidValueError
        Different sampling periods, or an argument that is not a model.

    See Also
    --------
    parallel, feedback

    Examples
    --------
    >>> import realize
    >>> a = realize.StateSpace([[0.5]], [[1.0]], [[1.0]])
    >>> b = realize.StateSpace([[0.2]], [[1.0]], [[2.0]])
    >>> ab = realize.series(a, b)
    >>> ab.n, ab.A.tolist(), float(ab.dcgain()[0, 0])  # 2.0 * 2.5
    (2, [[0.5, 0.0], [1.0, 0.2]], 5.0)
    >>> (b * a) == ab
    True
    """
    a, b = _pair(a, b, "identity", lambda b: (b.m, b.m), lambda a: (a.p, a.p))
    _same_dt(a, b, "a series connection")
    if b.m != a.p:
        raise ShapeError(f"b: expected {a.p} input(s) (the outputs of a), got m = {b.m}")
    Z = np.zeros
    M = np.block([[Z((a.m, a.p)), Z((a.m, b.p))], [np.eye(b.m, a.p), Z((b.m, b.p))]])
    N = np.vstack([np.eye(a.m), Z((b.m, a.m))])
    P = np.hstack([Z((b.p, a.p)), np.eye(b.p)])
    R = Z((b.p, a.m))
    return _connect(
        a,
        b,
        M,
        N,
        P,
        R,
        "series",
        input_names=a.input_names,
        input_units=a.input_units,
        output_names=b.output_names,
        output_units=b.output_units,
    )


def parallel(a, b) -> StateSpace:
    """The parallel connection: the same input into both, the outputs added.

    The transfer matrix ``G_a(z) + G_b(z)``; python-control's ``parallel(a, b)`` and
    ``a + b``.

    Parameters
    ----------
    a, b : StateSpace
        Models with the same numbers of inputs and outputs and the same dt. Either may be
        a gain array, or a number added to every entry.

    Returns
    -------
    StateSpace
        States ``[x_a; x_b]``, ``A = diag(A_a, A_b)``, ``B = [[B_a], [B_b]]``,
        ``C = [C_a, C_b]``, ``D = D_a + D_b``; noise ``Q = diag(Q_a, Q_b)``,
        ``R = R_a + R_b``, ``S = [[S_a], [S_b]]`` (independent noises, the measurement
        noises added).

    Raises
    ------
    ShapeError
        If the input or output counts differ.
    InvalidValueError
        Different sampling periods, or an argument that is not a model.

    See Also
    --------
    series, feedback

    Examples
    --------
    >>> import realize
    >>> a = realize.StateSpace([[0.5]], [[1.0]], [[1.0]])
    >>> b = realize.StateSpace([[0.2]], [[1.0]], [[2.0]])
    >>> float(realize.parallel(a, b).dcgain()[0, 0])  # 2.0 + 2.5
    4.5
    """
    a, b = _pair(a, b, "ones", lambda b: (b.p, b.m), lambda a: (a.p, a.m))
    _same_dt(a, b, "a parallel connection")
    if (b.m, b.p) != (a.m, a.p):
        raise ShapeError(
            f"b: expected {a.m} input(s) and {a.p} output(s) (those of a), got m = {b.m}, p = {b.p}"
        )
    M = np.zeros((a.m + b.m, a.p + b.p))
    N = np.vstack([np.eye(a.m), np.eye(b.m)])
    P = np.hstack([np.eye(a.p), np.eye(b.p)])
    R = np.zeros((a.p, a.m))
    return _connect(
        a,
        b,
        M,
        N,
        P,
        R,
        "parallel",
        input_names=_first(a.input_names, b.input_names),
        input_units=_first(a.input_units, b.input_units),
        output_names=_first(a.output_names, b.output_names),
        output_units=_first(a.output_units, b.output_units),
    )


def feedback(a, b=1, sign: int = -1) -> StateSpace:
    """The feedback connection: ``b`` in the return path of ``a``.

    ``u_a = u + sign * y_b``, ``u_b = y_a``, output ``y = y_a``: with ``sign = -1``
    (negative feedback, the default) the closed loop ``(I + G_a G_b)^-1 G_a``. As
    python-control's ``feedback(a, b, sign)``.

    Parameters
    ----------
    a : StateSpace
        The forward path, m inputs and p outputs (a number or a gain array for a static
        forward path).
    b : StateSpace, number or (m, p) array, default 1
        The return path, p inputs and m outputs; a number k means ``k I`` (unity feedback
        by default, for a square a).
    sign : {-1, 1}, default -1
        -1 for negative, +1 for positive feedback.

    Returns
    -------
    StateSpace
        States ``[x_a; x_b]``, a's inputs and outputs. With ``F = (I - sign D_a D_b)^-1``:
        ``y = F (C_a x_a + sign D_a C_b x_b + D_a u + v_a + sign D_a v_b)``; both noises
        circulate through the loop (see :mod:`realize.connections`).

    Raises
    ------
    ShapeError
        If b's inputs do not match a's outputs or b's outputs a's inputs.
    InvalidValueError
        A sign other than -1 or +1, different sampling periods, or an ill-posed loop
        (``I - sign D_a D_b`` singular: an algebraic loop without solution).

    See Also
    --------
    series, parallel

    Examples
    --------
    >>> import realize
    >>> plant = realize.StateSpace([[1.0]], [[1.0]], [[1.0]])  # an integrator
    >>> loop = realize.feedback(plant, 0.5)  # proportional control, gain 0.5
    >>> loop.A.tolist(), loop.is_stable(), float(loop.dcgain()[0, 0])
    ([[0.5]], True, 2.0)
    """
    sign = as_int(sign, "sign", low=-1, high=1)
    if sign == 0:
        raise InvalidValueError("sign: expected -1 (negative) or +1 (positive feedback), got 0")
    a, b = _pair(a, b, "identity", lambda b: (b.m, b.p), lambda a: (a.m, a.p))
    _same_dt(a, b, "a feedback connection")
    if (b.m, b.p) != (a.p, a.m):
        raise ShapeError(
            f"b: expected {a.p} input(s) and {a.m} output(s) (the outputs and inputs of a), "
            f"got m = {b.m}, p = {b.p}"
        )
    Z = np.zeros
    M = np.block([[Z((a.m, a.p)), sign * np.eye(a.m, b.p)], [np.eye(b.m, a.p), Z((b.m, b.p))]])
    N = np.vstack([np.eye(a.m), Z((b.m, a.m))])
    P = np.hstack([np.eye(a.p), Z((a.p, b.p))])
    R = Z((a.p, a.m))
    return _connect(
        a,
        b,
        M,
        N,
        P,
        R,
        "feedback",
        input_names=a.input_names,
        input_units=a.input_units,
        output_names=a.output_names,
        output_units=a.output_units,
    )


def minus_operand(x, name: str):
    """-x for a model (:func:`negate`), a number or a gain array (for ``a - b``)."""
    if _is_model(x):
        return negate(x)
    if _is_gain(x):
        return -as_float_array(x, name)
    raise InvalidValueError(
        f"{name}: expected a realize.StateSpace, a number or a gain array, got {describe(x)}"
    )


def negate(a) -> StateSpace:
    """The model with its output negated, ``-G(z)`` (the operator ``-a``).

    ``C -> -C``, ``D -> -D``; the output noise changes sign with the output, so
    ``S -> -S`` and ``K -> -K`` while ``Q``, ``R`` and ``Lambda`` are unchanged (the same
    noise process, seen through -1).

    Parameters
    ----------
    a : StateSpace

    Returns
    -------
    StateSpace

    See Also
    --------
    parallel : ``a - b`` is ``parallel(a, -b)``.

    Examples
    --------
    >>> import realize
    >>> a = realize.StateSpace([[0.5]], [[1.0]], [[1.0]], K=[[0.3]], Lambda=[[1.0]])
    >>> (-a).C.tolist(), (-a).K.tolist(), (-a).Lambda.tolist()
    ([[-1.0]], [[-0.3]], [[1.0]])
    """
    a = _as_model(a, "a")
    fields = a._fields()
    fields.update(C=-a.C, D=-a.D)
    if a.S is not None:
        fields.update(S=-a.S)
    if a.K is not None:
        fields.update(K=-a.K)
    A = fields.pop("A")
    # the sign flip keeps the pair consistent (the Riccati equation of (Q, R, -S) has -K)
    return build_unchecked(A, fields)
