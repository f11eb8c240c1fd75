"""The likelihood-only kernel (modal state basis, nothing stored) against the full filter
and statsmodels."""

import numpy as np
import pytest
from test_filtering import random_problem, reference_loglik
from test_filtering_oracles import statsmodels_smoother

import realize
from realize.filtering._basis import modal_basis
from realize.testing import random_statespace

pytest.importorskip("statsmodels")


def _jordan(rng, n):
    """A defective A (one Jordan block, similarity-transformed): no modal basis, so the
    likelihood runs on the dense kernel."""
    J = 0.7 * np.eye(n) + np.diag(np.ones(n - 1), 1)
    M = rng.standard_normal((n, n)) + n * np.eye(n)
    return M @ J @ np.linalg.inv(M)


def _planted(rng, n):
    """A with planted real eigenvalues and complex pairs, in a well-conditioned basis."""
    blocks, i = [], 0
    while i < n:
        if i + 1 < n and rng.uniform() < 0.5:
            a, b = rng.uniform(-0.9, 0.9, size=2)
            blocks.append(np.array([[a, b], [-b, a]]))
            i += 2
        else:
            blocks.append(np.array([[rng.uniform(-0.9, 0.9)]]))
            i += 1
    D = np.zeros((n, n))
    i = 0
    for blk in blocks:
        D[i : i + len(blk), i : i + len(blk)] = blk
        i += len(blk)
    Qm, _ = np.linalg.qr(rng.standard_normal((n, n)))
    M = Qm * rng.uniform(0.5, 2.0, size=n)
    return M @ D @ np.linalg.inv(M)


@pytest.mark.parametrize("seed", range(6))
def test_modal_basis_reconstructs(seed):
    rng = np.random.default_rng([seed, 3])
    n = int(rng.integers(1, 9))
    A = _planted(rng, n)
    V, Vi, Ab, lo, hi = modal_basis(A)
    np.testing.assert_allclose(V @ Vi, np.eye(n), atol=1e-10)
    np.testing.assert_allclose(V @ Ab @ Vi, A, atol=1e-10 * (1 + np.abs(A).max()))
    assert np.all((hi - lo >= 1) & (hi - lo <= 2))
    for i in range(n):
        assert np.all(Ab[i, : lo[i]] == 0) and np.all(Ab[i, hi[i] :] == 0)
    np.testing.assert_allclose(
        np.sort_complex(np.linalg.eigvals(Ab)), np.sort_complex(np.linalg.eigvals(A)), atol=1e-9
    )


def test_no_modal_basis_for_a_defective_matrix(rng):
    assert modal_basis(_jordan(rng, 4)) is None
    assert modal_basis(np.array([[0.5, 1.0], [0.0, 0.5]])) is None


def test_loglik_kernel_refuses_a_dense_a(rng):
    from realize._ext._kalman_filter import conventional_loglik

    n, p = 3, 1
    A = rng.standard_normal((n, n))
    args = (
        A,
        np.ones((p, n)),
        np.eye(n),
        np.eye(p),
        np.zeros((n, p)),
        np.zeros((1, 1, n)),
        np.zeros((1, 1, p)),
        np.zeros((1, 5, p)),
        np.zeros((1, n)),
        np.eye(n),
        -1.0,
        False,
    )
    lo, hi = np.zeros(n, np.intc), np.full(n, n, np.intc)  # rows of length 3
    with pytest.raises(ValueError, match="block diagonal"):
        conventional_loglik(*args, lo, hi, np.zeros(1))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("correlated", [False, True])
@pytest.mark.parametrize("steady_state", [False, True])
def test_loglik_kernel_matches_full_filter(seed, correlated, steady_state):
    rng = np.random.default_rng([seed, correlated, steady_state, 7])
    n, m, p = int(rng.integers(1, 7)), int(rng.integers(1, 3)), int(rng.integers(1, 4))
    model, u, y = random_problem(rng, n, m, p, 300, correlated=correlated, missing=0.15)
    if seed % 2 and n > 1:
        model["A"] = _jordan(rng, n) * 0.9  # no modal basis: the dense kernel
    y[200:] = realize.StateSpace(**{k: model[k] for k in "ABCD"}).simulate(u[200:]) + 0.1
    full = realize.kalman_filter(model, y, u, steady_state=steady_state)
    ll = realize.loglik(model, y, u, steady_state=steady_state)
    assert ll == pytest.approx(full.loglik, rel=1e-11)
    if not steady_state:
        ref_np = reference_loglik(model, y, u)
        assert ll == pytest.approx(ref_np, rel=1e-11)
    ref = statsmodels_smoother(model, y, u, x0=full.predicted_state[0], P0=full.predicted_cov[0])
    assert abs(ll - ref["loglik"]) <= 1e-9 * abs(ref["loglik"])


@pytest.mark.parametrize("seed", range(3))
def test_loglik_kernel_batched_and_inits(seed):
    rng = np.random.default_rng([seed, 11])
    sys = random_statespace(rng, 4, 1, 2, noise=True, radius=0.9)
    u = rng.standard_normal((3, 150, 1))
    y = np.stack([sys.simulate(u[i], rng=rng) for i in range(3)])
    for init in ("auto", "diffuse", "steady_state"):
        ll = realize.loglik(sys, y, u, init=init)
        each = [realize.kalman_filter(sys, y[i], u[i], init=init).loglik for i in range(3)]
        np.testing.assert_allclose(ll, each, rtol=1e-11)
    y[1, rng.uniform(size=(150, 2)) < 0.2] = np.nan  # different missing patterns: per series
    ll = realize.loglik(sys, y, u)
    each = [realize.kalman_filter(sys, y[i], u[i]).loglik for i in range(3)]
    np.testing.assert_allclose(ll, each, rtol=1e-11)
