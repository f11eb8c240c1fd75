"""Hardening against bad values: a property-based fuzz of the public API (issue 17, "Values").

Every bad argument must give a named :mod:`realize.errors` exception whose message reads
``"<name>: expected ..., got ..."``; every valid one a finite, correct result. The
categories: complex input, NaN/Inf, wrong shapes and zero columns, non-integer, negative,
NaN and string counts and tolerances, tiny and huge scales, and non-finite results
(overflowing simulations, undefined fits, singular solves).
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import realize
from realize import StateSpace
from realize.errors import (
    DataError,
    InvalidValueError,
    NonFiniteError,
    NotPositiveSemidefiniteError,
    RealizeError,
    ShapeError,
)
from realize.testing import random_statespace

seeds = st.integers(0, 2**32 - 1)
#: scales 1e-12 .. 1e12 as exact powers of ten
scales = st.integers(-12, 12).map(lambda k: 10.0**k)


def _system():
    return StateSpace(
        [[0.9, 0.2], [0.0, 0.5]], [[0.0], [1.0]], [[1.0, 0.0]], Q=0.1 * np.eye(2), R=[[0.01]]
    )


@pytest.fixture(scope="module")
def data():
    """(sys, y, u, n4sid model) shared by the tests (one identification, module scope)."""
    sys = _system()
    u = np.random.default_rng(0).standard_normal((300, 1))
    y = sys.simulate(u, rng=1)
    return sys, y, u, realize.n4sid(y, u, order=2).model


def _named(exc: BaseException, name: str | None = None):
    """A realize error whose message names the argument and says what was expected."""
    assert isinstance(exc, RealizeError), f"{type(exc).__name__}: {exc}"
    msg = str(exc)
    assert ": expected" in msg or "expected" in msg, msg
    if name is not None:
        assert msg.startswith(name), msg


def _raises_named(fn, name=None, exc=RealizeError):
    with pytest.raises(RealizeError) as info:
        fn()
    assert isinstance(info.value, exc), f"{type(info.value).__name__}: {info.value}"
    _named(info.value, name)
    return info.value


# --------------------------------------------------------------------- complex input
def _complex_calls(d):
    sys, y, u, model = d
    yc, uc = y + 1e-3j, u + 1e-3j
    return {
        "StateSpace A": lambda: StateSpace(np.array([[0.5 + 0.1j]])),
        "StateSpace B": lambda: StateSpace([[0.5]], np.array([[1.0 + 1j]])),
        "simulate u": lambda: sys.simulate(uc, noise=False),
        "simulate x0": lambda: sys.simulate(u, x0=np.array([1j, 0.0]), noise=False),
        "freqresp w": lambda: sys.freqresp(np.array([0.1 + 0.1j])),
        "n4sid y": lambda: realize.n4sid(yc, u, order=2),
        "n4sid u": lambda: realize.n4sid(y, uc, order=2),
        "kalman_filter y": lambda: realize.kalman_filter(sys, yc, u),
        "kalman_filter u": lambda: realize.kalman_filter(sys, y, uc),
        "loglik y": lambda: realize.loglik(sys, yc, u),
        "kalman_smoother y": lambda: realize.kalman_smoother(sys, yc, u),
        "era markov": lambda: realize.era(sys.markov(20) + 1e-3j, 2),
        "markov_from_data u": lambda: realize.markov_from_data(y, uc, 5),
        "dlyap A": lambda: realize.dlyap(np.array([[0.5j]]), [[1.0]]),
        "fit_percent y": lambda: realize.compare.fit_percent(yc, y),
        "fit_percent yhat": lambda: realize.compare.fit_percent(y, yc),
        "pem y": lambda: realize.pem(yc, u, model, maxiter=2),
    }


_COMPLEX = list(_complex_calls((None, np.zeros((1, 1)), np.zeros((1, 1)), None)))


@pytest.mark.parametrize("case", _COMPLEX)
def test_complex_input_is_refused_not_truncated(data, case):
    """Complex arrays used to lose their imaginary part silently (cast before the check)."""
    err = _raises_named(_complex_calls(data)[case], exc=ShapeError)
    assert "complex" in str(err)


@given(seed=seeds, imag=st.floats(1e-300, 1e300))
def test_complex_timeseries_any_imaginary_part(seed, imag):
    from realize._checks import as_matrix, as_timeseries

    x = np.random.default_rng(seed).standard_normal((5, 2)) + 1j * imag
    _raises_named(lambda: as_timeseries(x, "y"), "y", ShapeError)
    _raises_named(lambda: as_matrix(x, "B"), "B", ShapeError)


@pytest.mark.parametrize("text", ["1.5", ["1", "2"], b"3"])
def test_strings_are_not_numbers(text):
    from realize._checks import as_matrix

    _raises_named(lambda: as_matrix(text, "B"), "B", ShapeError)


# ------------------------------------------------------------- the caller's arrays
@given(seed=seeds, n=st.integers(1, 4))
def test_statespace_copies_the_callers_arrays(seed, n):
    """StateSpace(A) used to make the caller's A read-only and share its memory."""
    rng = np.random.default_rng(seed)
    A, B, C = rng.standard_normal((n, n)), rng.standard_normal((n, 1)), rng.standard_normal((1, n))
    Q, R = np.eye(n), np.eye(1)
    sys = StateSpace(A, B, C, Q=Q, R=R)
    for mine, theirs in ((A, sys.A), (B, sys.B), (C, sys.C), (Q, sys.Q), (R, sys.R)):
        assert mine.flags.writeable
        assert not np.shares_memory(mine, theirs)
        assert not theirs.flags.writeable
    A[0, 0] += 1.0
    assert sys.A[0, 0] != A[0, 0]


# ------------------------------------------------------------------ non-finite results
@given(rho=st.floats(1.5, 50.0), T=st.integers(2000, 4000))
def test_simulating_an_unstable_model_raises_instead_of_inf(rho, T):
    """An unstable model used to return 251 inf values (and the CLI wrote inf rows)."""
    from realize.simulation import simulate_reference

    sys = StateSpace([[rho]], [[1.0]], [[1.0]])
    u = np.ones((T, 1))
    err = _raises_named(lambda: sys.simulate(u), "sys", NonFiniteError)
    msg = str(err)
    assert "unstable" in msg, msg
    with np.errstate(all="ignore"):
        yref, _ = simulate_reference(sys.A, sys.B, sys.C, sys.D, u, None, None, np.zeros(1))
    first = int(np.argmin(np.all(np.isfinite(yref), axis=1)))
    assert f"sample {first}" in msg, msg


def test_simulating_an_unstable_model_over_a_short_horizon_is_fine():
    y = StateSpace([[1.5]], [[1.0]], [[1.0]]).simulate(np.ones((50, 1)))
    assert np.all(np.isfinite(y))


@pytest.mark.parametrize("detrend", [False, True])
@pytest.mark.parametrize("inputs", [False, True])
@given(level=scales)
def test_n4sid_constant_output_is_a_data_error(detrend, inputs, level):
    """A constant output used to give fit = -inf."""
    u = np.random.default_rng(0).standard_normal((300, 1)) if inputs else None
    y = np.full((300, 1), level)
    _raises_named(lambda: realize.n4sid(y, u, order=1, detrend=detrend), "y", DataError)


@given(level=scales)
def test_n4sid_input_constant_after_detrending_is_a_data_error(level):
    rng = np.random.default_rng(3)
    u = np.full((300, 1), level)
    y = rng.standard_normal((300, 1))
    _raises_named(lambda: realize.n4sid(y, u, order=1, detrend=True), "u", DataError)


@given(level=scales)
def test_fit_of_a_constant_output_is_a_data_error(level):
    y = np.full((20, 2), level)
    y[:, 1] = np.arange(20.0)
    _raises_named(lambda: realize.compare.fit_percent(y, y + 1.0), "y", DataError)


@pytest.mark.parametrize("method", ["reference", "conventional", "univariate", "square_root"])
@pytest.mark.parametrize("what", ["kalman_filter", "kalman_smoother", "loglik"])
def test_singular_innovation_covariance_is_named(method, what):
    """method='reference' used to raise numpy's LinAlgError."""
    sys = StateSpace([[0.5]], C=[[0.0]], Q=[[1.0]], R=[[0.0]])
    fn = getattr(realize, what)
    if method == "reference":  # deprecated (the tests' oracle), still runs for one release
        with pytest.warns(DeprecationWarning, match="method='reference'"):
            _raises_named(lambda: fn(sys, np.ones(10), method=method), "sys", InvalidValueError)
        return
    _raises_named(lambda: fn(sys, np.ones(10), method=method), "sys", InvalidValueError)


@given(seed=seeds, k=st.integers(0, 7))
def test_freqresp_at_a_pole_is_named(seed, k):
    w0 = 2 * np.pi * k / 8
    pole = np.exp(1j * w0)
    A = np.array([[pole.real, -pole.imag], [pole.imag, pole.real]])
    sys = StateSpace(A, [[1.0], [0.0]], [[1.0, 0.0]])
    w = np.random.default_rng(seed).uniform(0, 1, 3)
    w[1] = w0
    err = _raises_named(lambda: sys.freqresp(w), "w", InvalidValueError)
    assert "pole" in str(err)


# ----------------------------------------------------------------- tolerances at scale
@given(seed=seeds, n=st.integers(1, 4), scale=scales)
def test_check_psd_is_relative_to_the_matrix(seed, n, scale):
    """A negative variance of -9e-9 used to pass (absolute floor 1e-8)."""
    from realize._checks import check_psd

    rng = np.random.default_rng(seed)
    F = rng.standard_normal((n, n))
    M = F @ F.T + 0.1 * np.eye(n)
    np.testing.assert_allclose(check_psd(scale * M, "Q"), scale * M, rtol=1e-15)
    lam, V = np.linalg.eigh(M)
    lam[0] = -0.9 * lam[-1] / n  # clearly indefinite at any scale
    bad = scale * (V * lam) @ V.T
    bad = 0.5 * (bad + bad.T)
    _raises_named(lambda: check_psd(bad, "Q"), "Q", NotPositiveSemidefiniteError)
    _raises_named(lambda: StateSpace(np.zeros((n, n)), Q=bad), "Q", NotPositiveSemidefiniteError)


@given(scale=st.integers(-12, 0).map(lambda k: 10.0**k))
def test_negative_variance_refused_at_any_scale(scale):
    _raises_named(
        lambda: StateSpace([[0.5]], Q=[[-0.9 * scale]], R=[[scale]]),
        "Q",
        NotPositiveSemidefiniteError,
    )
    f = lambda: realize.kalman_filter(  # noqa: E731
        {"A": [[0.5]], "C": [[1.0]], "Q": [[-0.9 * scale]], "R": [[scale]]}, np.ones(5)
    )
    _raises_named(f, "Q", NotPositiveSemidefiniteError)


@given(seed=seeds, scale=scales)
def test_innovation_form_consistency_is_relative(seed, scale):
    """An inconsistent Lambda used to pass at 1e-16 scale (absolute tolerance 1e-8)."""
    base = random_statespace(seed % 1000, 2, 1, 1, noise=True)
    noisy = base.replace(Q=scale * base.Q, R=scale * base.R, S=scale * base.S)
    inno = noisy.innovation_form()  # consistent: accepted at every scale
    assert inno.Lambda[0, 0] > 0
    for K, Lam in ((inno.K, 2.0 * inno.Lambda), (2.0 * inno.K + 1e-3, inno.Lambda)):
        _raises_named(
            lambda K=K, Lam=Lam: noisy.replace(K=K, Lambda=Lam), "K, Lambda", InvalidValueError
        )


def test_inconsistent_innovation_covariance_at_1e16():
    s = 1e-16
    sys = StateSpace([[0.5]], C=[[1.0]], Q=[[s]], R=[[s]]).innovation_form()
    _raises_named(lambda: sys.replace(Lambda=3 * sys.Lambda), "K, Lambda", InvalidValueError)


# ----------------------------------------------------------------- n4sid and scaling
@pytest.fixture(scope="module")
def scaling_data():
    true = random_statespace(0, 2, 1, 1, noise=True)
    u = np.random.default_rng(1).standard_normal((400, 1))
    y = true.simulate(u, rng=2)
    fits = {method: realize.n4sid(y, u, order=2, method=method).fit for method in ("n4sid", "cva")}
    return y, u, fits


@given(
    ky=st.integers(-6, 6),
    ku=st.integers(-6, 6),
    method=st.sampled_from(["n4sid", "cva"]),
)
def test_n4sid_fit_is_invariant_to_the_scale_of_u_and_y(scaling_data, ky, ku, method):
    """With u and y 1e10 apart the fit used to collapse (1.5 %)."""
    y, u, fits = scaling_data
    a, b = 10.0**ky, 10.0**ku
    res = realize.n4sid(a * y, b * u, order=2, method=method)
    np.testing.assert_allclose(res.fit, fits[method], atol=1e-4)
    assert np.all(np.isfinite(res.model.B)) and np.all(np.isfinite(res.model.K))
    # the model is in the units of the data
    ref = realize.n4sid(y, u, order=2, method=method).model
    np.testing.assert_allclose(
        res.model.markov(6) * b / a, ref.markov(6), rtol=1e-5, atol=1e-7 * np.abs(ref.B).max()
    )


# ------------------------------------------------------------- counts and orders
_BAD_INTS = [None, [], 1.7, float("nan"), float("inf"), "two", "2", True, 1 + 1j, -1, b"x"]


def _int_calls(d):
    sys, y, u, model = d
    return {
        "n4sid order": ("order", lambda v: realize.n4sid(y, u, order=v)),
        "n4sid order list": ("order", lambda v: realize.n4sid(y, u, order=[1, v])),
        "n4sid horizon": ("horizon", lambda v: realize.n4sid(y, u, order=2, horizon=v)),
        "markov k": ("k", lambda v: sys.markov(v)),
        "simulate T": ("T", lambda v: StateSpace([[0.5]]).simulate(T=v)),
        "balanced_truncation order": (
            "order",
            lambda v: realize.balanced_truncation(sys, v),
        ),
        "era order": ("order", lambda v: realize.era(sys.markov(20), v)),
        "era rows": ("rows", lambda v: realize.era(sys.markov(20), 2, rows=v)),
        "markov_from_data k": ("k", lambda v: realize.markov_from_data(y, u, v)),
        "pem maxiter": ("maxiter", lambda v: realize.pem(y, u, model, maxiter=v)),
        "pem recentre": ("recentre", lambda v: realize.pem(y, u, model, recentre=v, maxiter=2)),
        "em n_iter": ("n_iter", lambda v: realize.em(sys, y, u, n_iter=v)),
        "autocorrelation max_lag": (
            "max_lag",
            lambda v: realize.compare.autocorrelation(y, max_lag=v),
        ),
        "estimate_initial_state window": (
            "window",
            lambda v: realize.compare.estimate_initial_state(sys, y, u, window=v),
        ),
        "accumulator keep": ("keep", lambda v: realize.SubspaceAccumulator(5, keep=v)),
    }


_INT_CASES = list(_int_calls((None, None, None, None)))
_NONE_IS_DEFAULT = ("n4sid horizon", "era order", "era rows", "estimate_initial_state window")


@pytest.mark.parametrize("case", _INT_CASES)
@given(bad=st.sampled_from(_BAD_INTS))
def test_counts_and_orders_are_validated(data, case, bad):
    """order=1.7 used to be truncated, nan/inf/None/[] gave TypeError/ValueError/OverflowError."""
    name, call = _int_calls(data)[case]
    if bad is None and case in _NONE_IS_DEFAULT:
        return  # None is the documented default
    if case == "n4sid order list" and bad == []:
        return  # [1, []] is covered by the nested check below
    _raises_named(lambda: call(bad), name, InvalidValueError)


@pytest.mark.parametrize("case", _INT_CASES)
def test_integral_floats_are_still_accepted(data, case):
    """2.0 means 2 (numbers that round-trip exactly are integers)."""
    name, call = _int_calls(data)[case]
    value = {"n4sid horizon": 5.0, "era rows": 5.0, "markov_from_data k": 5.0}.get(case, 2.0)
    if case == "accumulator keep":
        value = 10.0
    call(value)
    call(np.int64(value))


@given(order=st.sampled_from([[], (), np.array([]), [2, None], [2, 1.5], [float("nan")]]))
def test_n4sid_order_sequences(data, order):
    _, y, u, _ = data
    _raises_named(lambda: realize.n4sid(y, u, order=order), "order", InvalidValueError)


# ------------------------------------------------------------ tolerances and floats
_BAD_FLOATS = ["abc", "1e-3", float("nan"), -1.0, 1j, [1.0, 2.0], True, b"x"]


def _float_calls(d):
    sys, y, u, model = d
    return {
        "pem tol": ("tol", lambda v: realize.pem(y, u, model, tol=v, maxiter=2)),
        "em tol": ("tol", lambda v: realize.em(sys, y, u, tol=v, n_iter=2)),
        "kalman_filter tol": ("tol", lambda v: realize.kalman_filter(sys, y, u, tol=v)),
        "loglik tol": ("tol", lambda v: realize.loglik(sys, y, u, tol=v)),
        "minimal tol": ("tol", lambda v: realize.minimal(sys, tol=v)),
        "era tol": ("tol", lambda v: realize.era(sys.markov(20), tol=v)),
        "canonical tol": ("tol", lambda v: realize.canonical_form(sys, "controllable", tol=v)),
        "whiteness confidence": (
            "confidence",
            lambda v: realize.compare.whiteness(y, confidence=v),
        ),
        "StateSpace dt": ("dt", lambda v: StateSpace([[0.5]], dt=v)),
        "n4sid dt": ("dt", lambda v: realize.n4sid(y, u, order=2, dt=v)),
    }


_FLOAT_CASES = list(_float_calls((None, None, None, None)))


@pytest.mark.parametrize("case", _FLOAT_CASES)
@given(bad=st.sampled_from(_BAD_FLOATS))
def test_tolerances_are_validated(data, case, bad):
    """A string tol, tol=nan or tol=-1 used to pass or give a raw TypeError."""
    name, call = _float_calls(data)[case]
    _raises_named(lambda: call(bad), name, InvalidValueError)


@pytest.mark.parametrize("bad", ["abc", "0.0", [np.nan, 0.0], [1j, 0.0], [1.0], np.ones((3, 3))])
def test_initial_states_are_validated(data, bad):
    sys, y, u, model = data
    _raises_named(lambda: sys.simulate(u, x0=bad, noise=False), "x0")
    _raises_named(lambda: realize.kalman_filter(sys, y, u, x0=bad), "x0")
    _raises_named(lambda: realize.pem(y, u, model, x0=bad, maxiter=2), "x0")


@given(T=st.floats(0.1, 1e3).filter(lambda t: t != int(t)))
def test_simulate_fractional_T(T):
    _raises_named(lambda: StateSpace([[0.5]]).simulate(T=T), "T", InvalidValueError)


@pytest.mark.parametrize("bad", [-1, -0.5, float("nan"), "x"])
def test_negative_margins_and_counts(data, bad):
    sys, y, u, _ = data
    _raises_named(lambda: sys.markov(bad), "k", InvalidValueError)
    _raises_named(lambda: StateSpace([[0.5]]).simulate(T=bad), "T", InvalidValueError)
    _raises_named(lambda: realize.compare.whiteness(y, max_lag=bad), "max_lag")
    _raises_named(lambda: realize.minimal(sys, tol=bad), "tol", InvalidValueError)


# ---------------------------------------------------------------- shapes, zero columns
@given(T=st.integers(0, 400))
def test_zero_output_channels(data, T):
    """A (T, 0) output used to raise ZeroDivisionError inside n4sid."""
    _, _, u, _ = data
    y0 = np.zeros((T, 0))
    uu = np.zeros((T, 1)) if T != 300 else u
    _raises_named(lambda: realize.n4sid(y0, uu, order=1), "y")
    _raises_named(lambda: realize.n4sid(y0), "y")


def test_zero_input_columns_mean_no_input(data):
    _, y, _, _ = data
    a = realize.n4sid(y, np.zeros((300, 0)), order=2)
    b = realize.n4sid(y, None, order=2)
    np.testing.assert_allclose(a.model.A, b.model.A)


@pytest.mark.parametrize("shape", [(0,), (5, 0), (0, 0), (2, 3, 4)])
def test_empty_and_wrong_shapes(data, shape):
    sys, y, u, _ = data
    bad = np.zeros(shape)
    _raises_named(lambda: realize.kalman_filter(sys, bad, u))
    _raises_named(lambda: realize.compare.fit_percent(bad, bad))
    _raises_named(lambda: realize.n4sid(bad, order=1))


@given(seed=seeds, where=st.sampled_from(["nan", "inf", "-inf"]))
def test_nan_and_inf_in_data(data, seed, where):
    sys, y, u, model = data
    bad = y.copy()
    bad[np.random.default_rng(seed).integers(0, len(bad))] = float(where)
    _raises_named(lambda: realize.n4sid(bad, u, order=2), "y", NonFiniteError)
    _raises_named(lambda: realize.pem(bad, u, model, maxiter=2), "y", NonFiniteError)
    ubad = u.copy()
    ubad[0] = float(where)
    _raises_named(lambda: sys.simulate(ubad, noise=False), "u", NonFiniteError)
    _raises_named(lambda: realize.kalman_filter(sys, y, ubad), "u", NonFiniteError)


# -------------------------------------------------------------- valid input still works
@given(seed=seeds, scale=scales)
def test_valid_models_at_any_scale_simulate_and_filter(seed, scale):
    sys = random_statespace(seed % 1000, 2, 1, 1, noise=True)
    sys = sys.replace(Q=scale * sys.Q, R=scale * sys.R, S=scale * sys.S)
    u = np.random.default_rng(seed).standard_normal((50, 1))
    y = sys.simulate(u, rng=seed)
    assert np.all(np.isfinite(y))
    ll = realize.loglik(sys, y, u)
    assert math.isfinite(ll)


# ------------------------------------------------------------- options and flags
_BAD_OPTIONS = [None, 1, ["cva"], np.array(["cva"]), np.zeros(3), "CVA ", b"cva", object()]


def _option_calls(d):
    sys, y, u, model = d
    return {
        "n4sid method": ("method", lambda v: realize.n4sid(y, u, order=2, method=v)),
        "n4sid estimator": ("estimator", lambda v: realize.n4sid(y, u, order=2, estimator=v)),
        "n4sid focus": ("focus", lambda v: realize.n4sid(y, u, order=2, focus=v)),
        "n4sid criterion": ("criterion", lambda v: realize.n4sid(y, u, order=[1, 2], criterion=v)),
        "kalman_filter method": ("method", lambda v: realize.kalman_filter(sys, y, u, method=v)),
        "kalman_smoother method": (
            "method",
            lambda v: realize.kalman_smoother(sys, y, u, method=v),
        ),
        "loglik init": ("init", lambda v: realize.loglik(sys, y, u, init=v)),
        "balanced_truncation method": (
            "method",
            lambda v: realize.balanced_truncation(sys, 1, method=v),
        ),
        "memory fading": ("fading", lambda v: realize.canonical_form(sys, "memory", fading=v)),
    }


@pytest.mark.parametrize("case", list(_option_calls((None, None, None, None))))
@given(bad=st.sampled_from(_BAD_OPTIONS))
def test_string_options_are_validated(data, case, bad):
    """An array where a method name belongs used to raise numpy's 'truth value' ValueError."""
    name, call = _option_calls(data)[case]
    _raises_named(lambda: call(bad), name, InvalidValueError)


_BAD_FLAGS = ["yes", None, 2, 0.5, np.zeros(3), [True]]


@given(bad=st.sampled_from(_BAD_FLAGS))
def test_flags_are_validated(data, bad):
    sys, y, u, model = data
    _raises_named(lambda: sys.simulate(u, noise=bad), "noise", InvalidValueError)
    _raises_named(lambda: realize.n4sid(y, u, order=2, detrend=bad), "detrend")
    _raises_named(lambda: realize.n4sid(y, u, order=2, stable=bad), "stable")
    _raises_named(lambda: realize.SubspaceAccumulator(5, detrend=bad), "detrend")
    _raises_named(lambda: realize.minimal(sys, noise=bad), "noise")
    _raises_named(lambda: realize.pem(y, u, model, estimate_x0=bad, maxiter=1), "estimate_x0")


@pytest.mark.parametrize("bad", [None, "sys", np.eye(2), {"A": [[0.5]]}])
def test_compare_needs_a_model(data, bad):
    _, y, u, _ = data
    for fn in (
        realize.compare.estimate_initial_state,
        realize.compare.simulate_from_window,
        realize.compare.innovations,
    ):
        _raises_named(lambda fn=fn: fn(bad, y, u), "model", InvalidValueError)


@given(big=st.sampled_from([1e300, 2.0**60, -1e20]))
def test_huge_float_counts_are_not_integers(data, big):
    sys, _, _, _ = data
    _raises_named(lambda: sys.markov(big), "k", InvalidValueError)
    _raises_named(lambda: realize.SubspaceAccumulator(big), "horizon", InvalidValueError)
