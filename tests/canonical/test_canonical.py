"""Canonical forms: Markov parameters kept, exact structure, python-control agreement."""

import warnings

import numpy as np
import pytest
import scipy.linalg as sla
from hypothesis import given
from hypothesis import strategies as st

import realize
from realize.canonical import (
    COND_WARN,
    ComplexModalForm,
    canonical_form,
    controllability_indices,
    memory_blocks,
    observability_indices,
)
from realize.errors import (
    IllConditionedWarning,
    InvalidValueError,
    NotControllableError,
    NotObservableError,
    NotStableError,
)
from realize.riccati import kalman_gain
from realize.testing import random_statespace

FORMS = [
    "controllable",
    "observable",
    "observability-index",
    "controllability-index",
    "modal",
    "balanced",
    "schur",
    "memory",
]


def rel_markov(a, b, k):
    ha, hb = a.markov(k), b.markov(k)
    return np.linalg.norm(ha - hb) / np.linalg.norm(ha)


def draw(seed, noise=False):
    rng = np.random.default_rng(seed)
    n, m, p = int(rng.integers(1, 13)), int(rng.integers(1, 4)), int(rng.integers(1, 4))
    return random_statespace(rng, n, m, p, noise=noise, innovation=noise)


def quiet(sys, form, **opts):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IllConditionedWarning)
        return canonical_form(sys, form, **opts)


# ------------------------------------------------------------ Markov parameters
@pytest.mark.parametrize("form", FORMS)
def test_markov_parameters_kept(form):
    checked = 0
    for seed in range(40):
        sys = draw(1000 + seed)
        new, T = quiet(sys, form)
        assert np.allclose(T @ sys.A, new.A @ T, atol=1e-6 * np.linalg.norm(new.A) + 1e-12)
        if np.linalg.cond(T) < 1e6:
            checked += 1
            assert rel_markov(sys, new, 3 * sys.n + 2) < 1e-9, (seed, np.linalg.cond(T))
        np.testing.assert_allclose(
            np.sort(np.abs(new.poles())), np.sort(np.abs(sys.poles())), atol=1e-6
        )
    assert checked >= 30


@pytest.mark.parametrize("form", ["controllable", "observability-index", "modal", "memory"])
def test_noise_model_and_innovation_form_follow(form):
    for seed in range(6):
        sys = draw(2000 + seed, noise=True)
        new, T = quiet(sys, form)
        np.testing.assert_allclose(new.Q, T @ sys.Q @ T.T, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(new.S, T @ sys.S, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(new.K, T @ sys.K, rtol=1e-9, atol=1e-9)
        np.testing.assert_array_equal(new.R, sys.R)
        np.testing.assert_array_equal(new.Lambda, sys.Lambda)
        if np.linalg.cond(T) < 1e4:
            _, K, Lam = kalman_gain(new.A, new.C, new.Q, new.R, new.S)
            np.testing.assert_allclose(K, new.K, atol=1e-6 * max(1, np.abs(K).max()))
            np.testing.assert_allclose(Lam, new.Lambda, rtol=1e-7)


# -------------------------------------------------------------------- structure
def blocks_of(mu):
    off = np.concatenate([[0], np.cumsum(mu)]).astype(int)
    return off


@pytest.mark.parametrize("seed", range(12))
def test_controller_form_structure(seed):
    sys = draw(3000 + seed)
    new, T = quiet(sys, "controllable")
    mu = controllability_indices(sys)
    off = blocks_of(mu)
    A, B = new.A, new.B
    for i, mi in enumerate(mu):
        for k in range(1, mi):
            r = off[i] + k
            expect = np.zeros(sys.n)
            expect[r - 1] = 1.0
            assert np.array_equal(A[r], expect)
            assert np.all(B[r] == 0.0)
        if mi:
            assert B[off[i], i] == 1.0
            for j, mj in enumerate(mu):
                if j != i and (mj >= mi or j < i):
                    assert B[off[i], j] == 0.0


@pytest.mark.parametrize("seed", range(12))
def test_observer_form_structure(seed):
    sys = draw(3100 + seed)
    new, T = quiet(sys, "observable")
    nu = observability_indices(sys)
    off = blocks_of(nu)
    A, C = new.A, new.C
    for i, ni in enumerate(nu):
        for k in range(1, ni):
            c = off[i] + k
            expect = np.zeros(sys.n)
            expect[c - 1] = 1.0
            assert np.array_equal(A[:, c], expect)
            assert np.all(C[:, c] == 0.0)
        if ni:
            assert C[i, off[i]] == 1.0


@pytest.mark.parametrize("seed", range(12))
def test_observability_index_form_structure(seed):
    sys = draw(3200 + seed)
    new, T = quiet(sys, "observability-index")
    nu = observability_indices(sys)
    off = blocks_of(nu)
    A, C = new.A, new.C
    lv = [(s, k) for s in range(sys.p) for k in range(nu[s])]
    for i, ni in enumerate(nu):
        if ni:  # c_i is a state: row i of C selects it
            expect = np.zeros(sys.n)
            expect[off[i]] = 1.0
            assert np.array_equal(C[i], expect)
        for k in range(ni - 1):
            r = off[i] + k
            expect = np.zeros(sys.n)
            expect[r + 1] = 1.0
            assert np.array_equal(A[r], expect)
        if ni:  # dense last row: zeros beyond the crate-order dependencies
            r = off[i] + ni - 1
            for col, (s, l) in enumerate(lv):
                if l > ni or (l == ni and s > i):
                    assert A[r, col] == 0.0


@pytest.mark.parametrize("seed", range(12))
def test_controllability_index_form_structure(seed):
    sys = draw(3300 + seed)
    new, T = quiet(sys, "controllability-index")
    mu = controllability_indices(sys)
    off = blocks_of(mu)
    A, B = new.A, new.B
    lv = [(s, k) for s in range(sys.m) for k in range(mu[s])]
    for j, mj in enumerate(mu):
        if mj:  # b_j is a state: column j of B selects it
            assert np.array_equal(B[:, j], np.eye(sys.n)[off[j]])
        else:  # b_j depends on the b_s (s < j) kept before it
            assert all(B[r, j] == 0.0 for r, (s, l) in enumerate(lv) if l > 0 or s > j)
    for i, mi in enumerate(mu):
        for k in range(mi - 1):
            c = off[i] + k
            assert np.array_equal(A[:, c], np.eye(sys.n)[c + 1])
        if mi:
            c = off[i] + mi - 1
            assert all(
                A[r, c] == 0.0 for r, (s, l) in enumerate(lv) if l > mi or (l == mi and s > i)
            )


def test_siso_forms_match_python_control():
    control = pytest.importorskip("control")
    for seed in range(15):
        rng = np.random.default_rng(4000 + seed)
        sys = random_statespace(rng, int(rng.integers(1, 9)))
        cs = sys.to_control()
        for ours, theirs in (("controllable", "reachable"), ("observable", "observable")):
            new, T = canonical_form(sys, ours)
            ref, Tref = control.canonical_form(cs, theirs)
            scale = np.linalg.cond(T)
            tol = 1e-13 * scale * 10 + 1e-12
            np.testing.assert_allclose(new.A, ref.A, atol=tol * np.abs(ref.A).max())
            np.testing.assert_allclose(new.B, ref.B, atol=tol * np.abs(ref.B).max())
            np.testing.assert_allclose(new.C, ref.C, atol=tol * np.abs(ref.C).max())
            np.testing.assert_allclose(T, Tref, atol=tol * np.abs(Tref).max())


def test_modal_form_against_python_control():
    """python-control's modal form: same poles and transfer function; its T maps x = T z."""
    control = pytest.importorskip("control")
    for seed in range(10):
        sys = draw(4100 + seed)
        new, T = canonical_form(sys, "modal")
        ref, Tref = control.canonical_form(sys.to_control(), "modal")
        # convention difference: python-control's returned T satisfies A_z = T^-1 A T
        np.testing.assert_allclose(ref.A, np.linalg.solve(Tref, sys.A @ Tref), atol=1e-9)
        w = np.linspace(0, np.pi, 7)
        ref_sys = realize.StateSpace(ref.A, ref.B, ref.C, ref.D)
        np.testing.assert_allclose(new.freqresp(w), ref_sys.freqresp(w), rtol=1e-9, atol=1e-11)
        assert np.allclose(
            np.sort_complex(np.linalg.eigvals(new.A)),
            np.sort_complex(np.linalg.eigvals(ref.A)),
            atol=1e-10,
        )


@pytest.mark.parametrize("seed", range(10))
def test_modal_structure_and_order(seed):
    sys = draw(4200 + seed)
    new, T = canonical_form(sys, "modal")
    A = new.A
    k, mods = 0, []
    while k < sys.n:
        if k + 1 < sys.n and A[k + 1, k] != 0.0:
            a, b = A[k, k], A[k, k + 1]
            assert A[k + 1, k + 1] == a and A[k + 1, k] == -b and b > 0
            mask = np.ones_like(A, bool)
            mask[k : k + 2, k : k + 2] = False
            assert np.all(A[k : k + 2][mask[k : k + 2]] == 0.0)
            mods.append(np.hypot(a, b))
            k += 2
        else:
            row = A[k].copy()
            row[k] = 0.0
            assert np.all(row == 0.0) and np.all(np.delete(A[:, k], k) == 0.0)
            mods.append(abs(A[k, k]))
            k += 1
    assert np.all(np.diff(mods) <= 1e-12)


def test_complex_modal_form():
    for seed in range(6):
        sys = draw(4300 + seed)
        cm, T = canonical_form(sys, "modal", complex=True)
        assert isinstance(cm, ComplexModalForm)
        k = 2 * sys.n + 3
        np.testing.assert_allclose(
            cm.markov(k), sys.markov(k), atol=1e-10 * np.abs(sys.markov(k)).max()
        )
        np.testing.assert_allclose(cm.A, T @ sys.A @ np.linalg.inv(T), atol=1e-10)
        w = np.linspace(0.1, 3, 5)
        np.testing.assert_allclose(cm.freqresp(w), sys.freqresp(w), rtol=1e-9)


@pytest.mark.parametrize("seed", range(8))
def test_balanced_form_has_equal_diagonal_gramians(seed):
    sys = draw(4400 + seed)
    new, T = canonical_form(sys, "balanced")
    P, Q = realize.gramians(new)
    hsv = realize.hankel_singular_values(sys)
    np.testing.assert_allclose(P, np.diag(hsv), atol=1e-9 * hsv[0])
    np.testing.assert_allclose(Q, np.diag(hsv), atol=1e-9 * hsv[0])


@pytest.mark.parametrize("seed", range(8))
def test_schur_form(seed):
    sys = draw(4500 + seed)
    new, T = canonical_form(sys, "schur")
    np.testing.assert_allclose(T @ T.T, np.eye(sys.n), atol=1e-13)
    assert np.all(np.tril(new.A, -2) == 0.0)
    sub = np.diag(new.A, -1)
    # a nonzero subdiagonal entry starts a standardized 2x2 block: never two in a row
    assert not np.any((sub[:-1] != 0) & (sub[1:] != 0))
    assert rel_markov(sys, new, 2 * sys.n + 2) < 1e-12


# ------------------------------------------------------------------ memory form
def planted_memory(rng, chains, n_fading, m=2, p=2, cond=10.0):
    """A model whose A is similar to diag(lower shifts of the given lengths, fading part)."""
    nu = sum(chains)
    S = np.zeros((nu, nu))
    k = 0
    for L in chains:
        for t in range(L - 1):
            S[k + t + 1, k + t] = 1.0
        k += L
    F = random_statespace(rng, n_fading, radius=0.9).A if n_fading else np.zeros((0, 0))
    J = sla.block_diag(S, F)
    n = nu + n_fading
    U, _ = np.linalg.qr(rng.standard_normal((n, n)))
    V, _ = np.linalg.qr(rng.standard_normal((n, n)))
    T0 = U @ np.diag(np.geomspace(1.0, cond, n)) @ V
    A = T0 @ J @ np.linalg.inv(T0)
    return realize.StateSpace(A, rng.standard_normal((n, m)), rng.standard_normal((p, n)))


@pytest.mark.parametrize(
    "chains, n_fading", [((4, 2, 1), 3), ((6,), 4), ((3, 3), 0), ((), 5), ((2, 2, 2, 1), 2)]
)
def test_memory_form_finds_planted_shift_chains(rng, chains, n_fading):
    sys = planted_memory(rng, chains, n_fading)
    new, T, info = memory_blocks(sys)
    assert info.shift_sizes == tuple(chains)
    assert info.n_eidetic == sum(chains) and info.n_fading == n_fading
    nu = info.n_eidetic
    # exact block structure: lower shifts, then modal blocks, zeros in between
    S = np.zeros((nu, nu))
    k = 0
    for L in chains:
        for t in range(L - 1):
            S[k + t + 1, k + t] = 1.0
        k += L
    assert np.array_equal(new.A[:nu, :nu], S)
    assert np.all(new.A[:nu, nu:] == 0.0) and np.all(new.A[nu:, :nu] == 0.0)
    assert sum(info.fading_blocks) == n_fading
    assert rel_markov(sys, new, 3 * sys.n + 2) < 1e-9
    # the verbatim memory is finite: the shift part is zero after the longest chain
    if chains:
        assert not np.any(np.linalg.matrix_power(new.A[:nu, :nu], max(chains)))


def test_memory_staircase_beats_eigenvalue_tolerance(rng):
    """A 10-tap shift under a similarity: its computed eigenvalues are far from zero."""
    sys = planted_memory(rng, (10,), 2, cond=30.0)
    lam = np.sort(np.abs(np.linalg.eigvals(sys.A)))[:10]
    assert lam.max() > 1e-3  # an eigenvalue threshold would need to be huge
    new, T, info = memory_blocks(sys)
    assert info.shift_sizes == (10,) and info.n_fading == 2
    assert rel_markov(sys, new, 30) < 1e-9


def test_memory_form_via_canonical_form_and_schur_fading(rng):
    sys = planted_memory(rng, (3, 1), 3)
    new, T = canonical_form(sys, "memory")
    new2, T2 = canonical_form(sys, "memory", fading="schur")
    assert np.all(np.tril(new2.A[4:, 4:], -2) == 0.0)
    for s in (new, new2):
        assert rel_markov(sys, s, 20) < 1e-9


# ------------------------------------------------------------ property tests
sizes = st.tuples(
    st.integers(1, 8), st.integers(1, 3), st.integers(1, 3), st.integers(0, 2**31 - 1)
)


@given(
    sizes,
    st.sampled_from(
        ["controllable", "observable", "observability-index", "controllability-index", "balanced"]
    ),
)
def test_canonical_forms_are_similarity_invariant(dims, form):
    """A canonical form does not depend on the realization it starts from."""
    n, m, p, seed = dims
    rng = np.random.default_rng(seed)
    sys = random_statespace(rng, n, m, p)
    T0 = np.linalg.qr(rng.standard_normal((n, n)))[0] @ np.diag(rng.uniform(0.5, 2, n))
    other = sys.similarity(T0)
    a, Ta = quiet(sys, form)
    b, Tb = quiet(other, form)
    if np.linalg.cond(Ta) > 1e5:
        return
    tol = 1e-12 * np.linalg.cond(Ta) * 1e3
    for X, Y in ((a.A, b.A), (a.B, b.B), (a.C, b.C)):
        np.testing.assert_allclose(X, Y, atol=tol * max(1.0, np.abs(X).max()))
    np.testing.assert_allclose(Tb @ T0, Ta, atol=tol * max(1.0, np.abs(Ta).max()))


@given(sizes, st.sampled_from(FORMS))
def test_form_invariants(dims, form):
    """Poles, D, dt and the transfer function survive; T maps A as stated."""
    n, m, p, seed = dims
    sys = random_statespace(seed, n, m, p)
    new, T = quiet(sys, form)
    assert (new.n, new.m, new.p, new.dt) == (n, m, p, sys.dt)
    np.testing.assert_array_equal(new.D, sys.D)
    if np.linalg.cond(T) < 1e6:
        w = np.linspace(0, np.pi, 5)
        np.testing.assert_allclose(
            new.freqresp(w), sys.freqresp(w), rtol=1e-8, atol=1e-9 * np.abs(sys.freqresp(w)).max()
        )


# ----------------------------------------------------------------- bad inputs
def test_uncontrollable_model_raises_with_rank():
    sys = realize.StateSpace(np.diag([0.5, 0.3, 0.2]), [[1.0], [1.0], [0.0]], [[1.0, 1.0, 1.0]])
    with pytest.raises(NotControllableError, match="rank 2 < n = 3"):
        canonical_form(sys, "controllable")
    with pytest.raises(NotControllableError, match="rank 2"):
        canonical_form(sys, "balanced")
    new, _ = canonical_form(sys, "observable")  # observable, so this one exists
    assert new.n == 3


def test_unobservable_model_raises_with_rank():
    sys = realize.StateSpace(np.diag([0.5, 0.3]), [[1.0], [1.0]], [[1.0, 0.0]])
    for form in ("observable", "observability-index"):
        with pytest.raises(NotObservableError, match="rank 1 < n = 2"):
            canonical_form(sys, form)


def test_one_name_per_form_and_deprecated_aliases():
    from realize.canonical import FORM_ALIASES, FORMS

    assert len(FORMS) == len(set(FORMS)) == 9 and not set(FORMS) & set(FORM_ALIASES)
    sys = random_statespace(0, 3, 1, 1)
    for alias, name in FORM_ALIASES.items():
        with pytest.warns(DeprecationWarning, match=f"form='{alias}' is deprecated"):
            old, T_old = canonical_form(sys, alias.upper())
        new, T_new = canonical_form(sys, name)
        np.testing.assert_array_equal(old.A, new.A)
        np.testing.assert_array_equal(T_old, T_new)


def test_other_bad_inputs():
    stable = random_statespace(0, 3)
    with pytest.raises(InvalidValueError, match="form: expected one of"):
        canonical_form(stable, "frobenius")
    with pytest.raises(InvalidValueError, match="unexpected"):
        canonical_form(stable, "schur", complex=True)
    with pytest.raises(InvalidValueError, match="realize.StateSpace"):
        canonical_form(np.eye(2), "modal")
    unstable = realize.StateSpace([[1.5, 0.0], [0.0, 0.5]], [[1.0], [1.0]], [[1.0, 1.0]])
    with pytest.raises(NotStableError, match="spectral radius 1.5"):
        canonical_form(unstable, "balanced")
    jordan = realize.StateSpace([[0.5, 1.0], [0.0, 0.5]], [[0.0], [1.0]], [[1.0, 0.0]])
    with pytest.raises(InvalidValueError, match="defective"):
        canonical_form(jordan, "modal")
    with pytest.raises(InvalidValueError, match="indices"):
        canonical_form(stable, "controllable", indices=[2])


def test_high_order_companion_form_warns():
    sys = random_statespace(1, 30)
    with pytest.warns(IllConditionedWarning, match="cond"):
        new, T = canonical_form(sys, "controllable")
    assert np.linalg.cond(T) > COND_WARN


def test_given_indices_pseudo_canonical():
    sys = random_statespace(5, 6, 2, 2)
    new, T = canonical_form(sys, "observability-index", indices=[4, 2])
    assert np.array_equal(new.C[0], np.eye(6)[0]) and np.array_equal(new.C[1], np.eye(6)[4])
    assert rel_markov(sys, new, 20) < 1e-9


# ------------------------------------------------------------------ real Jordan form
def _jordan_block(lam, k):
    return lam * np.eye(k) + np.eye(k, k=1)


def _pair_block(a, b, k):
    return np.kron(np.eye(k), [[a, b], [-b, a]]) + np.kron(np.eye(k, k=1), np.eye(2))


_PLANTED = {
    "mixed": [("pair", 0.2, 0.6, 2), ("real", 0.5, 3), ("real", 0.5, 1), ("real", -0.3, 2)],
    "delay line and integrator": [("real", 1.0, 2), ("real", 0.0, 4)],
    "repeated blocks": [("real", 0.7, 2), ("real", 0.7, 2), ("real", 0.7, 1)],
    "pair of size 3": [("pair", -0.4, 0.5, 3), ("real", 0.1, 1)],
    "two pairs": [("pair", 0.6, 0.3, 2), ("pair", 0.6, 0.3, 1), ("real", -0.8, 1)],
}


def _planted(blocks):
    mats = [_pair_block(*b[1:]) if b[0] == "pair" else _jordan_block(*b[1:]) for b in blocks]
    return sla.block_diag(*mats)


def _expected_order(blocks):
    """The documented order: decreasing |mu|, increasing |arg mu|, longest block first."""

    def key(b):
        mu = complex(b[1], b[2]) if b[0] == "pair" else complex(b[1])
        return (-round(abs(mu), 12), round(abs(np.angle(mu)), 12), -b[-1])

    return sorted(blocks, key=key)


@pytest.mark.parametrize("case", sorted(_PLANTED))
@pytest.mark.parametrize("seed", range(3))
def test_jordan_form_recovers_planted_blocks(case, seed):
    rng = np.random.default_rng(seed)
    J0 = _planted(_expected_order(_PLANTED[case]))
    n = J0.shape[0]
    U, _ = np.linalg.qr(rng.standard_normal((n, n)))
    V, _ = np.linalg.qr(rng.standard_normal((n, n)))
    T0 = U @ np.diag(rng.uniform(0.5, 2.0, n)) @ V
    sys = realize.StateSpace(
        np.linalg.solve(T0, J0 @ T0),
        rng.standard_normal((n, 2)),
        rng.standard_normal((2, n)),
        Q=np.eye(n),
        R=np.eye(2),
    )
    new, T = canonical_form(sys, "jordan")
    # the structure is exact: off the diagonal every 0 or 1 of J0 is exactly 0 or 1, and a
    # zero eigenvalue (a delay line) is exactly 0
    structural = ((J0 == 0.0) | (J0 == 1.0)) & ~np.eye(n, dtype=bool)
    structural |= np.diag(np.diag(J0) == 0.0)
    assert np.array_equal(new.A[structural], J0[structural])
    np.testing.assert_allclose(new.A, J0, atol=1e-9)
    # repeated eigenvalues are the same number in every block of a cluster
    diag = np.diag(new.A)
    for lam in np.unique(np.round(np.diag(J0), 6)):
        assert len(set(diag[np.isclose(np.diag(J0), lam)])) == 1
    # a similarity: T A T^-1, Markov parameters, the noise model carried
    np.testing.assert_allclose(T @ sys.A @ np.linalg.inv(T), new.A, atol=1e-9)
    assert rel_markov(sys, new, 20) < 1e-10
    np.testing.assert_allclose(new.Q, T @ sys.Q @ T.T, rtol=1e-10, atol=1e-12)


def test_jordan_form_against_sympy():
    """sympy's exact Jordan form of rational matrices (block sizes per eigenvalue)."""
    sympy = pytest.importorskip("sympy")
    rng = np.random.default_rng(7)
    # a companion matrix of (z - 1/2)^3 (z + 1/4) and an integer similarity of a Jordan
    # matrix with two blocks at 2 and one at -1
    c = np.poly([0.5, 0.5, 0.5, -0.25])
    comp = np.zeros((4, 4))
    comp[0] = -c[1:]
    comp[1:, :-1] = np.eye(3)
    Tint = sympy.Matrix([[1, 2, 0, 1], [0, 1, 1, 0], [1, 0, 1, 1], [0, 1, 0, 2]])
    J = sympy.Matrix(sla.block_diag(_jordan_block(2, 2), _jordan_block(2, 1), [[-1]]).astype(int))
    exacts = (sympy.Matrix(comp).applyfunc(sympy.nsimplify), Tint * J * Tint.inv())
    for exact in exacts:
        A = np.array(exact.evalf(), dtype=float)
        _, Js = exact.jordan_form()
        expected = _block_structure(np.array(Js.evalf(), dtype=float))
        new, _ = canonical_form(realize.StateSpace(A, rng.standard_normal((4, 1))), "jordan")
        assert _block_structure(new.A) == expected


def _block_structure(J):
    """Sorted (eigenvalue, size) of the Jordan blocks of an upper Jordan matrix."""
    n, out, k = J.shape[0], [], 0
    while k < n:
        size = 1
        while k + size < n and J[k + size - 1, k + size] == 1.0:
            size += 1
        out.append((round(float(J[k, k]), 8), size))
        k += size
    return sorted(out)


def test_jordan_form_of_a_diagonalizable_model_is_the_modal_form(rng):
    for _ in range(4):
        sys = random_statespace(rng, 6, 1, 1)
        jordan, _ = canonical_form(sys, "jordan")
        modal, _ = canonical_form(sys, "modal")
        np.testing.assert_allclose(jordan.A, modal.A, atol=1e-10)
        w = np.linspace(0.0, np.pi, 50)
        np.testing.assert_allclose(jordan.freqresp(w), modal.freqresp(w), rtol=1e-9)


def test_jordan_form_small_cases():
    jordan = realize.StateSpace([[0.5, 1.0], [0.0, 0.5]], [[0.0], [1.0]], [[1.0, 0.0]])
    new, T = canonical_form(jordan, "jordan")
    assert new.A.tolist() == [[0.5, 1.0], [0.0, 0.5]]
    scaled = realize.StateSpace([[0.5, 1e-3], [0.0, 0.5]], [[0.0], [1.0]], [[1.0, 0.0]])
    assert canonical_form(scaled, "jordan")[0].A.tolist() == [[0.5, 1.0], [0.0, 0.5]]
    ident = realize.StateSpace(0.5 * np.eye(3), np.ones((3, 1)), np.ones((1, 3)))
    assert canonical_form(ident, "jordan")[0].A.tolist() == (0.5 * np.eye(3)).tolist()
    empty = realize.StateSpace(np.zeros((0, 0)), np.zeros((0, 1)), np.zeros((1, 0)), [[1.0]])
    assert canonical_form(empty, "jordan")[0].n == 0
    with pytest.raises(InvalidValueError, match="tol"):
        canonical_form(jordan, "jordan", tol=-1.0)
    with pytest.raises(InvalidValueError, match="unexpected"):
        canonical_form(jordan, "jordan", complex=True)


@pytest.mark.parametrize("seed", range(6))
def test_real_modal_conventions_with_repeated_eigenvalues(seed):
    """real_modal on A = S J S^-1 with a repeated real eigenvalue and a repeated complex
    pair (full eigenspaces) and distinct ones: A V = V J, A Vc = Vc diag(lam), unit
    eigenvectors (a real one's largest entry positive, a pair's vr orthogonal to vi),
    modes by decreasing modulus then increasing angle."""
    from realize.canonical.modal import real_modal

    rng = np.random.default_rng(5100 + seed)
    a, b = rng.uniform(0.2, 0.6), rng.uniform(0.1, 0.5)
    rot = np.array([[a, b], [-b, a]])
    blocks = [np.diag([0.9, 0.9]), rot, rot, np.diag([-0.3]), np.diag([rng.uniform(-0.8, 0.8)])]
    J0 = np.zeros((8, 8))
    k = 0
    for blk in blocks:
        J0[k : k + len(blk), k : k + len(blk)] = blk
        k += len(blk)
    S = rng.standard_normal((8, 8)) + 3 * np.eye(8)
    A = S @ J0 @ np.linalg.inv(S)
    V, J, sizes, Vc, lam = real_modal(A)
    scale = np.linalg.cond(V)
    np.testing.assert_allclose(A @ V, V @ J, atol=1e-12 * scale)
    np.testing.assert_allclose(A @ Vc, Vc * lam, atol=1e-12 * scale)
    assert sum(sizes) == 8 and sorted(sizes) == [1, 1, 1, 1, 2, 2]
    np.testing.assert_allclose(
        np.sort_complex(lam), np.sort_complex(np.linalg.eigvals(J0)), atol=1e-6
    )
    k, moduli = 0, []
    for size in sizes:
        if size == 1:
            v = V[:, k]
            assert abs(np.linalg.norm(v) - 1) < 1e-12 and v[np.argmax(np.abs(v))] > 0
            assert J[k, k] == lam[k].real
        else:
            vr, vi = V[:, k], V[:, k + 1]
            assert abs(np.linalg.norm(vr + 1j * vi) - 1) < 1e-12 and abs(vr @ vi) < 1e-12
            assert J[k, k + 1] == lam[k].imag > 0 and J[k + 1, k] == -lam[k].imag
            np.testing.assert_array_equal(Vc[:, k + 1], Vc[:, k].conj())
        moduli.append(abs(lam[k]))
        k += size
    assert np.all(np.diff(moduli) <= 1e-12)
