"""Square-root and univariate filters: same answers as the conventional one, and the
square-root filter's accuracy on an ill-conditioned problem."""

import numpy as np
import pytest
from test_filtering import _close, random_problem

import realize
from realize.errors import InvalidValueError
from realize.testing import random_statespace

KEYS = (
    "predicted_state",
    "predicted_cov",
    "filtered_state",
    "filtered_cov",
    "innovation_cov",
    "gain",
    "loglik_obs",
)


@pytest.mark.parametrize("seed", range(3))
def test_square_root_matches_conventional(seed):
    rng = np.random.default_rng(300 + seed)
    model, u, y = random_problem(rng, 4, 2, 3, 80, time_varying=seed == 2)
    ref = realize.kalman_filter(model, y, u)
    res = realize.kalman_filter(model, y, u, method="square_root")
    for key in KEYS:
        _close(getattr(res, key), getattr(ref, key), 1e-9)
    assert res.loglik == pytest.approx(ref.loglik, rel=1e-11)


@pytest.mark.parametrize("seed", range(3))
def test_univariate_matches_conventional(seed):
    rng = np.random.default_rng(400 + seed)
    model, u, y = random_problem(rng, 3, 1, 3, 80, time_varying=seed == 2)
    # a diagonal R keeping [[Q, S], [S', R]] PSD: R >= S' Q^-1 S (S stays correlated)
    Q, R, S = model["Q"], model["R"], model["S"]
    lam = np.linalg.eigvalsh(np.swapaxes(S, -1, -2) @ np.linalg.solve(Q, S))[..., -1]
    model["R"] = R * np.eye(R.shape[-1]) + np.asarray(lam)[..., None, None] * np.eye(R.shape[-1])
    ref = realize.kalman_filter(model, y, u)
    res = realize.kalman_filter(model, y, u, method="univariate")
    for key in KEYS:
        _close(getattr(res, key), getattr(ref, key), 1e-9)
    assert res.loglik == pytest.approx(ref.loglik, rel=1e-11)
    assert realize.loglik(model, y, u, method="univariate") == pytest.approx(ref.loglik, rel=1e-11)
    sm = realize.kalman_smoother(model, y, u, method="univariate")
    _close(sm.smoothed_cov, realize.kalman_smoother(model, y, u).smoothed_cov, 1e-9)


def test_univariate_needs_diagonal_r(rng):
    model, u, y = random_problem(rng, 2, 1, 2, 20)
    with pytest.raises(InvalidValueError, match="diagonal"):
        realize.kalman_filter(model, y, u, method="univariate")


def _mp_filter(A, C, Q, R, y, P0):
    """The conventional recursion in 60-digit arithmetic (mpmath): the exact answer for the
    float64 model."""
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 60
    A, C, Q, R, P = (mpmath.matrix(M.tolist()) for M in (A, C, Q, R, P0))
    x = mpmath.matrix([0] * A.rows)
    ll, covs = 0, []
    for t in range(len(y)):
        covs.append(np.array(P.tolist(), dtype=float))
        F = C * P * C.T + R
        v = mpmath.matrix(y[t].tolist()) - C * x
        Fi = F**-1
        K = A * P * C.T * Fi
        ll += -0.5 * (
            len(y[t]) * mpmath.log(2 * mpmath.pi) + mpmath.log(mpmath.det(F)) + (v.T * Fi * v)[0]
        )
        x = A * x + K * v
        P = A * P * A.T + Q - K * F * K.T
    return float(ll), np.array(covs)


@pytest.mark.parametrize("delta", [1e-7, 1e-8])
def test_square_root_on_ill_conditioned_problem(delta):
    """Two nearly collinear, nearly noise-free sensors (R = delta^2 I, rows of C differing by
    delta; Grewal & Andrews' ill-conditioned measurement example): C P C' + R has condition
    number ~ 1/delta^2, so the conventional update loses digits (delta = 1e-7) or finds F
    numerically singular (1e-8). The square-root filter never forms C P C' + R."""
    C = np.array([[1.0, 1.0, 1.0], [1.0, 1.0, 1.0 + delta]])
    A, Q, R = 0.9 * np.eye(3), 1e-4 * np.eye(3), delta**2 * np.eye(2)
    sys = realize.StateSpace(A, C=C, Q=Q, R=R)
    y = sys.simulate(T=5, rng=3, x0=np.zeros(3))
    P0 = np.eye(3)
    ll, covs = _mp_filter(A, C, Q, R, y, P0)
    sq = realize.kalman_filter(sys, y, x0=np.zeros(3), P0=P0, method="square_root")
    assert abs(sq.loglik - ll) < 1e-9 * abs(ll)
    np.testing.assert_allclose(sq.predicted_cov, covs, atol=1e-8)
    try:
        conv = realize.kalman_filter(sys, y, x0=np.zeros(3), P0=P0)
    except InvalidValueError:
        return  # F numerically singular: the conventional filter cannot proceed
    assert abs(conv.loglik - ll) > 1e-5 * abs(ll)


@pytest.mark.parametrize("seed", range(2))
def test_compiled_variants_match_numpy_references(seed):
    from realize.filtering._model import prepare
    from realize.filtering.square_root import square_root_filter, square_root_filter_reference
    from realize.filtering.univariate import univariate_filter, univariate_filter_reference

    rng = np.random.default_rng(500 + seed)
    model, u, y = random_problem(rng, 3, 2, 2, 50, time_varying=seed == 1, missing=0.2)
    Q, R, S = model["Q"], model["R"], model["S"]
    lam = np.linalg.eigvalsh(np.swapaxes(S, -1, -2) @ np.linalg.solve(Q, S))[..., -1]
    model["R"] = R * np.eye(2) + np.asarray(lam)[..., None, None] * np.eye(2)
    prep = prepare(model, y, u)
    for fast, slow in [
        (univariate_filter, univariate_filter_reference),
        (square_root_filter, square_root_filter_reference),
    ]:
        # the references are the exact recursion: compare with the switch off
        ((_, a),) = fast(prep, tol=None)
        ((_, b),) = slow(prep)
        for key in ("loglik", "llobs", "xp", "Pp", "xf", "Pf", "v", "F", "Finv", "K"):
            _close(getattr(a, key), getattr(b, key), 1e-10)
        ((_, c),) = fast(prep, store=False, tol=None)
        assert c.loglik[0] == pytest.approx(a.loglik[0], rel=1e-13)


def _steady_problem(rng, method, n, m, p, T, missing_at=()):
    """A random time-invariant model (R diagonal for the univariate filter, correlated
    S kept) with data, NaN at the (t, channel) entries of missing_at."""
    sys = random_statespace(rng, n, m, p, noise=True)
    if method == "univariate":
        # a diagonal R keeping [[Q, S], [S', R]] PSD: R >= S' Q^-1 S
        lam = np.linalg.eigvalsh(sys.S.T @ np.linalg.solve(sys.Q, sys.S))[-1]
        sys = sys.replace(R=np.diag(np.diag(sys.R)) + lam * np.eye(p))
    u = rng.standard_normal((T, m))
    y = sys.simulate(u, rng=rng)
    for t, j in missing_at:
        y[t, j] = np.nan
    return sys, u, y


VARIANTS = ("univariate", "square_root")
STEADY_KEYS = KEYS + ("next_state", "next_cov")


@pytest.mark.parametrize("method", VARIANTS)
@pytest.mark.parametrize("missing", [False, True])
@pytest.mark.parametrize("seed", range(3))
def test_variant_steady_state_switch_changes_results_at_tolerance_level(method, missing, seed):
    rng = np.random.default_rng([600, seed, int(missing), VARIANTS.index(method)])
    n, m, p, T = 3 + seed, 1, 2 + seed % 2, 300
    holes = [(120, 0), (121, p - 1), (200, 1), (201, 0), (202, 1)] if missing else []
    if missing and seed == 2:
        holes.append((40, slice(None)))  # a whole row missing
    sys, u, y = _steady_problem(rng, method, n, m, p, T, holes)
    fast = realize.kalman_filter(sys, y, u, method=method)
    exact = realize.kalman_filter(sys, y, u, method=method, steady_state=False)
    conv = realize.kalman_filter(sys, y, u)
    # the switch must actually engage, and never on a step with a missing entry
    assert fast.steady.sum() > T // 3 and not exact.steady.any()
    assert not fast.steady[np.isnan(y).any(axis=1)].any()
    for key in STEADY_KEYS:
        _close(getattr(fast, key), getattr(exact, key), 1e-9)
        _close(getattr(fast, key), getattr(conv, key), 1e-9)
    assert fast.loglik == pytest.approx(exact.loglik, rel=1e-9)
    assert fast.loglik == pytest.approx(conv.loglik, rel=1e-9)
    # the likelihood-only run (nothing stored) takes the same frozen steps
    ll = realize.loglik(sys, y, u, method=method)
    assert ll == pytest.approx(fast.loglik, rel=1e-13)
    ll_exact = realize.loglik(sys, y, u, method=method, steady_state=False)
    assert ll_exact == pytest.approx(exact.loglik, rel=1e-13)


@pytest.mark.parametrize("method", VARIANTS)
def test_variant_steady_flags_follow_missing_entries(method, rng):
    T, hole = 500, 300
    sys, u, y = _steady_problem(rng, method, 4, 1, 3, T, [(hole, 1)])
    res = realize.kalman_filter(sys, y, u, method=method)
    st = res.steady
    assert st.dtype == bool and st.shape == (T,)
    assert st.mean() > 0.8
    assert not st[:5].any()  # P0 (stationary) is not the Riccati solution
    # frozen just before the missing entry, off at it and while P converges again,
    # frozen again at the end
    assert st[hole - 1] and not st[hole : hole + 5].any() and st[-1]
    # in a steady stretch the reported gain and covariances are constant
    stretch = np.flatnonzero(st[: hole - 1] & st[1:hole])
    assert stretch.size > 50
    for key in ("gain", "innovation_cov", "predicted_cov", "filtered_cov"):
        a = getattr(res, key)
        np.testing.assert_array_equal(a[stretch], np.broadcast_to(a[stretch[0]], a[stretch].shape))
    # without the switch nothing is frozen, and a time-varying model never freezes
    assert not realize.kalman_filter(sys, y, u, method=method, steady_state=False).steady.any()
    tv = dict(A=np.stack([sys.A] * T), B=sys.B, C=sys.C, D=sys.D, Q=sys.Q, R=sys.R, S=sys.S)
    assert not realize.kalman_filter(tv, y, u, method=method).steady.any()


@pytest.mark.parametrize("method", VARIANTS)
def test_variant_steady_state_start(method, rng):
    """init="steady_state": frozen from t = 1 on at the innovation form (K, Lambda),
    until a missing entry; as the conventional filter."""
    T, hole = 200, 120
    sys, u, y = _steady_problem(rng, method, 3, 2, 2, T, [(hole, 0)])
    res = realize.kalman_filter(sys, y, u, method=method, init="steady_state")
    conv = realize.kalman_filter(sys, y, u, init="steady_state")
    assert not res.steady[0] and res.steady[1:hole].all() and not res.steady[hole]
    inno = sys.innovation_form()
    np.testing.assert_allclose(res.gain[:hole], np.broadcast_to(inno.K, (hole, 3, 2)), atol=1e-9)
    np.testing.assert_allclose(
        res.innovation_cov[:hole], np.broadcast_to(inno.Lambda, (hole, 2, 2)), atol=1e-9
    )
    for key in STEADY_KEYS:
        _close(getattr(res, key), getattr(conv, key), 1e-9)
    assert res.loglik == pytest.approx(conv.loglik, rel=1e-10)
    ll = realize.loglik(sys, y, u, method=method, init="steady_state")
    assert ll == pytest.approx(res.loglik, rel=1e-13)


@pytest.mark.parametrize("method", VARIANTS)
def test_variant_steady_state_smoother(method, rng):
    """The smoother runs on the frozen filter output of either variant."""
    sys, u, y = _steady_problem(rng, method, 3, 1, 2, 300, [(150, 1)])
    fast = realize.kalman_smoother(sys, y, u, method=method)
    exact = realize.kalman_smoother(sys, y, u, method=method, steady_state=False)
    assert fast.filter.steady.sum() > 150
    for key in ("smoothed_state", "smoothed_cov", "smoothed_lag1_cov"):
        _close(getattr(fast, key), getattr(exact, key), 1e-9)
