"""Square-root and univariate filters: same answers as the conventional one, and the
square-root filter's accuracy on an ill-conditioned problem."""

import numpy as np
import pytest
from test_filtering import _close, random_problem

import realize
from realize.errors import InvalidValueError

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
        ((_, a),) = fast(prep)
        ((_, b),) = slow(prep)
        for key in ("loglik", "llobs", "xp", "Pp", "xf", "Pf", "v", "F", "Finv", "K"):
            _close(a[key], b[key], 1e-10)
        ((_, c),) = fast(prep, store=False)
        assert c["loglik"][0] == pytest.approx(a["loglik"][0], rel=1e-13)
