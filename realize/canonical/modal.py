"""Eigenstructure forms: the real modal form (complex too) and the real Jordan form.

The numerics of the modal form live here once, for :func:`realize.canonical_form`
(``'modal'``, ``'jordan'``, and the fading part of ``'memory'``) and for the diagonal
and memory layers of :mod:`realize.nn.lift`:

* :func:`eigenvalue_clusters` groups computed eigenvalues that stand for one (possibly
  defective) eigenvalue: rounding splits a Jordan block of size k into k eigenvalues on a
  circle of radius about ``(eps ||A||)^(1/k)``, so equality cannot decide. Each computed
  eigenvalue is known to within its first-order perturbation radius
  ``10 n eps ||A|| kappa_i`` (``kappa_i`` its condition number from the left and right
  eigenvectors), capped at ``||A|| (10 n eps)^(1/n)`` (the largest split of a defective
  eigenvalue); overlapping discs form a cluster (single linkage), whose mean is well
  conditioned even when its members are not (Golub and Wilkinson 1976; Demmel 1986).
* :func:`defective_eigenvalue` finds a cluster whose eigenspace is smaller than the
  cluster;
* :func:`real_modal` is the modal decomposition ``A V = V J`` of a diagonalizable A:
  1x1 blocks for real eigenvalues, ``[[a, b], [-b, a]]`` for pairs ``a +- ib`` (b > 0),
  by decreasing modulus then increasing angle, unit eigenvectors (the largest entry of a
  real one positive, ``vr`` orthogonal to ``vi`` for a pair), an orthonormal basis of the
  eigenspace of a repeated eigenvalue;
* :func:`nilpotent_staircase` and :func:`jordan_chains` put a nilpotent matrix in Jordan
  (shift) form by rank decisions (Kagstrom and Ruhe 1980), for the Jordan form here and
  the shift chains of :mod:`realize.canonical.memory`.

References
----------
G. H. Golub, J. H. Wilkinson, "Ill-conditioned eigensystems and the computation of the
Jordan canonical form", SIAM Review 18 (1976) 578-619. J. W. Demmel, "Computing stable
eigendecompositions of matrices", Linear Algebra Appl. 79 (1986) 163-193. B. Kagstrom
and A. Ruhe, "An algorithm for numerical computation of the Jordan normal form of a
complex matrix", ACM TOMS 6(3), 1980.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
from scipy.sparse.csgraph import connected_components

from realize._checks import as_float
from realize.canonical._similarity import EPS, check_cond, finish
from realize.errors import InvalidValueError

__all__ = [
    "ComplexModalForm",
    "defective_eigenvalue",
    "eigenvalue_clusters",
    "jordan_chains",
    "nilpotent_staircase",
    "real_modal",
]


# ------------------------------------------------------------------ clusters
def _perturbation_radii(A: np.ndarray, lam: np.ndarray, V: np.ndarray, s: float) -> np.ndarray:
    """First-order perturbation radius of each computed eigenvalue (module notes);
    ``s = ||A||_2``."""
    n = A.shape[0]
    with np.errstate(all="ignore"):
        try:  # eig's eigenvectors have unit norm (LAPACK xGEEV)
            kappa = np.linalg.norm(np.linalg.inv(V), axis=1)
        except np.linalg.LinAlgError:
            kappa = np.full(n, np.inf)
    kappa = np.where(np.isfinite(kappa), kappa, np.inf)
    return np.minimum(10 * n * EPS * s * kappa, s * (10 * n * EPS) ** (1.0 / n))


def _cluster_labels(lam: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """Single-linkage clusters: connected components of the graph of overlapping discs."""
    overlap = np.abs(lam[:, None] - lam[None, :]) <= radius[:, None] + radius[None, :]
    if np.count_nonzero(overlap) == len(lam):  # the usual case: every disc on its own
        return np.arange(len(lam))
    return connected_components(overlap, directed=False)[1]


def eigenvalue_clusters(A: np.ndarray, lam: np.ndarray, V: np.ndarray, imag_tol: float = 1e-12):
    """Clusters of computed eigenvalues: ``[(members, mu, geometric, basis), ...]``.

    One entry per real cluster and per conjugate pair of complex clusters (the one with
    ``Im mu > 0``); see the module notes for the discs. ``members`` indexes ``lam``,
    ``mu`` is the cluster's mean (a float for a real cluster), ``geometric`` the
    dimension of the eigenspace ``null(A - mu I)`` (the singular values below
    ``sqrt(eps) ||A||``) and ``basis`` (n, geometric) an orthonormal basis of it (real for
    a real ``mu``) for clusters of two or more, None for single eigenvalues. A conjugate
    pair within ``imag_tol`` of the real axis is one real cluster.

    Parameters
    ----------
    A : (n, n) array
    lam, V : (n,) and (n, n) arrays
        ``np.linalg.eig(A)``.
    imag_tol : float
        Relative distance to the real axis below which a pair counts as real.

    Returns
    -------
    list of tuple

    Examples
    --------
    >>> import numpy as np
    >>> from realize.canonical.modal import eigenvalue_clusters
    >>> A = np.diag([0.5, 0.5, -0.2])
    >>> [(len(m), float(mu), g) for m, mu, g, _ in eigenvalue_clusters(A, *np.linalg.eig(A))]
    [(2, 0.5, 2), (1, -0.2, 1)]
    """
    n = A.shape[0]
    s = float(np.linalg.svd(A, compute_uv=False)[0]) if n else 0.0  # ||A||_2
    if s == 0.0:  # A = 0: one eigenvalue, every vector an eigenvector
        return [(np.arange(n), 0.0, n, np.eye(n))] if n else []
    radius = _perturbation_radii(A, lam, V, s)
    near_real = np.abs(lam.imag) <= imag_tol * max(1.0, float(np.max(np.abs(lam))))
    radius = np.where(near_real, np.maximum(radius, np.abs(lam.imag)), radius)
    label = _cluster_labels(lam, radius)
    if label[-1] == n - 1:  # labels are 0, 1, ... in order of first member: all single
        return [
            (np.array([i]), lam[i].real if near_real[i] else lam[i], 1, None)
            for i in range(n)
            if near_real[i] or lam[i].imag >= 0
        ]
    tol = np.sqrt(EPS) * s
    out = []
    for c in np.unique(label):
        members = np.flatnonzero(label == c)
        if len(members) == 1:
            i = members[0]
            if lam[i].imag >= 0 or near_real[i]:
                out.append((members, lam[i].real if near_real[i] else lam[i], 1, None))
            continue
        mu = complex(np.mean(lam[members]))
        if abs(mu.imag) <= max(tol, imag_tol * max(1.0, abs(mu))):
            mu = mu.real
        elif mu.imag < 0:
            continue  # the conjugate cluster stands for both
        _, sv, Vh = np.linalg.svd(A - mu * np.eye(n))
        geometric = int(np.sum(sv <= tol))
        basis = Vh[n - geometric :].conj().T if geometric else np.zeros((n, 0))
        out.append((members, mu, geometric, basis))
    return out


def defective_eigenvalue(A: np.ndarray, lam=None, V=None):
    """The first numerically defective eigenvalue of A (a Jordan block of size > 1), if any.

    Parameters
    ----------
    A : (n, n) array
    lam, V : arrays, optional
        ``np.linalg.eig(A)``, if already computed.

    Returns
    -------
    None or (mu, algebraic, geometric)
        ``mu`` the centre of a cluster of ``algebraic`` computed eigenvalues whose
        eigenspace has only ``geometric < algebraic`` dimensions.

    Notes
    -----
    Rounding splits a defective eigenvalue: a Jordan block of size k perturbed by
    ``eps ||A||`` has k eigenvalues on a circle of radius about ``(eps ||A||)^(1/k)``
    (``6e-6`` for a 3-step delay chain) with nearly parallel eigenvectors, so neither
    equality of the eigenvalues nor a bound on the eigenvector condition number alone
    tells it from a diagonalizable matrix with close eigenvalues. Two tests are combined
    (Golub & Wilkinson 1976; Demmel 1986):

    1. *Clusters.* Each computed eigenvalue is known to within its first-order
       perturbation radius ``r_i = 10 n eps ||A|| kappa_i`` (``kappa_i = ||y_i|| ||x_i||
       / |y_i' x_i|`` its condition number, left eigenvectors the rows of ``V^-1``),
       capped at ``||A|| (10 n eps)^(1/n)``, the largest split of a defective
       eigenvalue; eigenvalues whose discs overlap form a cluster. Well-conditioned
       close eigenvalues (orthogonal eigenvectors) have tiny discs and stay apart.
    2. *Rank.* For a cluster of k eigenvalues with mean ``mu`` (the mean of a cluster is
       well conditioned even when its members are not), the geometric multiplicity is
       the number of singular values of ``A - mu I`` below ``sqrt(eps) ||A||``; the
       cluster is defective when it is smaller than k. A repeated eigenvalue with a full
       eigenspace (``0.5 I``) passes.

    References
    ----------
    G. H. Golub, J. H. Wilkinson, "Ill-conditioned eigensystems and the computation of
    the Jordan canonical form", SIAM Review 18 (1976) 578-619.
    J. W. Demmel, "Computing stable eigendecompositions of matrices", Linear Algebra
    Appl. 79 (1986) 163-193.

    Examples
    --------
    >>> import numpy as np
    >>> from realize.canonical.modal import defective_eigenvalue
    >>> T = np.array([[2.0, 1.0, 0.0], [0.5, 1.0, 1.0], [0.0, 1.0, 3.0]])
    >>> shift = T @ np.eye(3, k=-1) @ np.linalg.inv(T)  # a 3-step delay line
    >>> mu, alg, geo = defective_eigenvalue(shift)
    >>> bool(abs(mu) < 1e-12), alg, geo
    (True, 3, 1)
    >>> defective_eigenvalue(0.5 * np.eye(2)) is None
    True
    """
    if A.shape[0] < 2:
        return None
    if lam is None or V is None:
        lam, V = np.linalg.eig(A)
    return _first_defect(eigenvalue_clusters(A, lam, V))


def _first_defect(clusters):
    """``(mu, algebraic, geometric)`` of the first defective cluster, or None."""
    for members, mu, geometric, _ in clusters:
        if geometric < len(members):
            return mu, len(members), geometric
    return None


# ------------------------------------------------------------------ modal form
def real_modal(A: np.ndarray, lam=None, W=None, imag_tol: float = 1e-12, *, clusters=None):
    """Real modal decomposition ``A V = V J`` of a diagonalizable A (module notes).

    Parameters
    ----------
    A : (n, n) array
        Diagonalizable (see :func:`defective_eigenvalue`).
    lam, W : arrays, optional
        ``np.linalg.eig(A)``, if already computed.
    imag_tol : float
        As in :func:`eigenvalue_clusters`.
    clusters : list, optional
        ``eigenvalue_clusters(A, lam, W, imag_tol)``, if already computed.

    Returns
    -------
    V : (n, n) array
        Real basis: a unit eigenvector per real eigenvalue, ``[vr, vi]`` per pair.
    J : (n, n) array
        Block diagonal: ``lambda`` or ``[[a, b], [-b, a]]``.
    sizes : list of int
        The block sizes (1 or 2), in order.
    Vc : (n, n) complex array
        The complex eigenvectors in the same order (``v, conj(v)`` for a pair).
    lam : (n,) complex array
        Their eigenvalues (``a + ib, a - ib`` for a pair).

    Raises
    ------
    InvalidValueError
        Conjugate pairs that do not match (a defective A).

    Examples
    --------
    >>> import numpy as np
    >>> from realize.canonical.modal import real_modal
    >>> A = np.array([[0.5, 0.4], [-0.4, 0.5]])
    >>> V, J, sizes, Vc, lam = real_modal(A)
    >>> np.round(J, 12).tolist(), sizes
    ([[0.5, 0.4], [-0.4, 0.5]], [2])
    """
    n = A.shape[0]
    if n == 0:
        return (
            np.zeros((0, 0)),
            np.zeros((0, 0)),
            [],
            np.zeros((0, 0), complex),
            np.zeros(0, complex),
        )
    if lam is None or W is None:
        lam, W = np.linalg.eig(A)
    if clusters is None:
        clusters = eigenvalue_clusters(A, lam, W, imag_tol)
    # one mode per real eigenvalue and per pair: a cluster of (nearly) repeated eigenvalues
    # gives an orthonormal basis of its eigenspace (the computed eigenvectors of a repeated
    # eigenvalue can be nearly parallel, and a real one split by rounding into a conjugate
    # pair has conjugate eigenvectors)
    if all(basis is None for *_, basis in clusters):
        z = np.array([mu for _, mu, _, _ in clusters], dtype=complex)
        v = W[:, [members[0] for members, *_ in clusters]].astype(complex)
    else:
        z = np.array([mu for _, mu, geo, _ in clusters for _ in range(geo)], dtype=complex)
        cols = [W[:, m[:1]] if b is None else b for m, _, _, b in clusters]
        v = np.hstack(cols).astype(complex)
    real = z.imag == 0  # a pair's mean is never within rounding of the real axis
    sizes = np.where(real, 1, 2)
    if int(sizes.sum()) != n:
        raise InvalidValueError("A: expected a diagonalizable matrix with conjugate pairs")
    order = np.lexsort((np.abs(np.angle(z)), -np.abs(z)))
    z, real, sizes, v = z[order], real[order], sizes[order], v[:, order]
    v = np.where(real, v.real, v)
    # unit vectors; a real one's largest entry positive, a pair's vr orthogonal to vi
    phase = np.exp(-0.5j * np.angle(np.einsum("ij,ij->j", v, v)))
    phase[real] = np.sign(v[np.abs(v).argmax(axis=0), np.arange(len(z))].real[real])
    v = v * (phase / np.linalg.norm(v, axis=0))
    # columns [v] per real mode, [v, conj(v)] per pair; V takes [vr, vi] of a pair
    col = np.repeat(np.arange(len(z)), sizes)
    second = np.zeros(n, dtype=bool)
    second[1:] = col[1:] == col[:-1]
    Vc, lc = v[:, col], z[col]
    Vc[:, second], lc[second] = Vc[:, second].conj(), lc[second].conj()
    V = np.where(second, -Vc.imag, Vc.real)
    J = np.diag(lc.real) + np.diag(np.where(second, -lc.imag, 0.0)[1:], 1)
    J -= J.T * np.eye(n, k=-1)  # [[a, b], [-b, a]]
    return V, J, sizes.tolist(), Vc, lc


def modal_transform(A: np.ndarray, what: str = "A"):
    """:func:`real_modal` of A, refusing a defective or numerically defective A; returns
    ``(V, J, sizes, Vc, lam, cond(V))``."""
    lam, W = np.linalg.eig(A)
    clusters = eigenvalue_clusters(A, lam, W)
    defect = _first_defect(clusters)
    if defect is None:
        V, J, sizes, Vc, lc = real_modal(A, lam, W, clusters=clusters)
        sv = np.linalg.svd(V, compute_uv=False) if V.size else np.ones(1)
        c = sv[0] / sv[-1] if sv[-1] > 0 else np.inf  # cond(V), as np.linalg.cond
    if defect is not None or not c < 1.0 / (EPS * max(A.shape[0], 1)):
        detail = (
            f"{defect[1]} eigenvalues but {defect[2]} eigenvector(s) at {defect[0]:.3g}"
            if defect is not None
            else f"eigenvector cond {c:.3g}"
        )
        raise InvalidValueError(
            f"{what}: expected a diagonalizable matrix for the modal form, got a defective "
            f"(repeated, non-diagonalizable) eigenvalue ({detail}); use the 'schur' or "
            "'jordan' form"
        )
    return V, J, sizes, Vc, lc, c


def to_modal(sys, complex: bool = False):
    """``(new_sys, T)`` of the 'modal' form (a :class:`ComplexModalForm` with ``complex``)."""
    V, J, _, Vc, lam, c = modal_transform(np.asarray(sys.A))
    if complex:
        T = np.linalg.inv(Vc)
        check_cond(T, "modal")
        cm = ComplexModalForm(
            lam,
            T @ sys.B,
            sys.C @ Vc,
            np.array(sys.D),
            sys.dt,
            None if sys.Q is None else T @ sys.Q @ T.conj().T,
            None if sys.R is None else np.array(sys.R),
            None if sys.S is None else T @ sys.S,
            None if sys.K is None else T @ sys.K,
            None if sys.Lambda is None else np.array(sys.Lambda),
        )
        return cm, T
    T = np.linalg.inv(V)
    check_cond(T, "modal", cond=c)  # cond(T) = cond(V)
    return finish(sys, T, J, T @ sys.B, sys.C @ V), T


@dataclass(frozen=True)
class ComplexModalForm:
    """A model in complex diagonal coordinates ``z = T x`` (``modal`` with ``complex=True``).

    ``z[t+1] = diag(poles) z[t] + B u[t]``, ``y[t] = Re(C z[t]) + D u[t]`` (the imaginary
    part vanishes: conjugate poles come in conjugate pairs, pole with positive imaginary
    part first). Q, S, K are transformed as ``T Q T^H``, ``T S``, ``T K``.

    Attributes
    ----------
    poles : (n,) complex array
    B : (n, m) complex array
    C : (p, n) complex array
    D : (p, m) array
    dt : float
    Q, S, K : complex arrays or None; R, Lambda : arrays or None

    Examples
    --------
    >>> import numpy as np, realize
    >>> sys = realize.StateSpace([[0.5, 0.4], [-0.4, 0.5]], [[1.0], [0.0]], [[1.0, 0.0]])
    >>> cm, T = realize.canonical_form(sys, "modal", complex=True)
    >>> np.round(cm.poles, 12).tolist()
    [(0.5+0.4j), (0.5-0.4j)]
    >>> bool(np.allclose(cm.markov(6), sys.markov(6)))
    True
    """

    poles: np.ndarray
    B: np.ndarray
    C: np.ndarray
    D: np.ndarray
    dt: float = 1.0
    Q: np.ndarray | None = None
    R: np.ndarray | None = None
    S: np.ndarray | None = None
    K: np.ndarray | None = None
    Lambda: np.ndarray | None = None

    @property
    def A(self) -> np.ndarray:
        """The diagonal state matrix, (n, n) complex."""
        return np.diag(self.poles)

    def markov(self, k: int) -> np.ndarray:
        """``(k, p, m)`` real Markov parameters (``[D, CB, C diag(poles) B, ...]``)."""
        h = np.empty((k, self.C.shape[0], self.B.shape[1]))
        if k:
            h[0] = self.D
        X = self.B.copy()
        for j in range(1, k):
            h[j] = (self.C @ X).real
            X = self.poles[:, None] * X
        return h

    def freqresp(self, w) -> np.ndarray:
        """``(N, p, m)`` complex frequency response, w in rad/sample."""
        z = np.exp(1j * np.atleast_1d(np.asarray(w, dtype=float)))
        X = self.B[None] / (z[:, None, None] - self.poles[None, :, None])
        return self.C @ X + self.D


# ------------------------------------------------------------------ Jordan form
def nilpotent_staircase(A: np.ndarray, tol: float):
    """Orthogonal U with U' A U = [[N, X], [0, M]], N strictly block upper triangular
    (nilpotent) with diagonal block sizes r_1 >= r_2 >= ..., M without zero singular
    value at tol. Returns (U' A U, U, [r_1, r_2, ...]); U is unitary for a complex A.

    Examples
    --------
    >>> import numpy as np
    >>> Q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((3, 3)))
    >>> A = Q @ np.diag([1.0, 1.0], k=-1) @ Q.T  # one Jordan chain of length 3, rotated
    >>> Ah, U, sizes = nilpotent_staircase(A, tol=1e-10)
    >>> sizes, bool(np.allclose(U.T @ A @ U, Ah)), bool(np.allclose(np.tril(Ah), 0))
    ([1, 1, 1], True, True)
    """
    A = A.copy()
    n = A.shape[0]
    U = np.eye(n, dtype=A.dtype)
    sizes: list[int] = []
    k0 = 0
    while k0 < n:
        _, s, Vt = np.linalg.svd(A[k0:, k0:])
        r = int(np.count_nonzero(s <= tol))
        if r == 0:
            break
        Z = np.vstack([Vt[len(s) - r :], Vt[: len(s) - r]]).conj().T
        A[k0:, :] = Z.conj().T @ A[k0:, :]
        A[:, k0:] = A[:, k0:] @ Z
        U[:, k0:] = U[:, k0:] @ Z
        # the new leading columns are A's (near) null vectors: the decision makes them exact
        A[k0:, k0 : k0 + r] = 0.0
        sizes.append(r)
        k0 += r
    return A, U, sizes


def jordan_chains(N: np.ndarray, sizes: list[int]):
    """Basis V of Jordan chains of the staircase-form nilpotent N: V^-1 N V is the direct
    sum of lower shifts (ones on the subdiagonal), longest chain first. Returns V and the
    chains' lengths.

    Examples
    --------
    >>> import numpy as np
    >>> Q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((3, 3)))
    >>> N = np.zeros((3, 3)); N[1, 0] = 1.0  # chains of lengths 2 and 1
    >>> Nh, U, sizes = nilpotent_staircase(Q @ N @ Q.T, tol=1e-10)
    >>> V, lengths = jordan_chains(Nh, sizes)
    >>> lengths
    [2, 1]
    >>> np.linalg.solve(V, Nh @ V).round(6) + 0.0
    array([[0., 0., 0.],
           [1., 0., 0.],
           [0., 0., 0.]])
    """
    nu = N.shape[0]
    off = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    K = len(sizes)
    level_vecs: list[np.ndarray] = []  # vectors of the chains at the current level
    heads: list[tuple[int, np.ndarray]] = []  # (length, head vector)
    for j in range(K - 1, -1, -1):
        blk = slice(off[j], off[j + 1])
        existing = [N @ w for w in level_vecs]
        P = np.column_stack([w[blk] for w in existing]) if existing else np.zeros((sizes[j], 0))
        Wl, s, _ = np.linalg.svd(P, full_matrices=True)
        if P.shape[1] > sizes[j] or (P.shape[1] and s[-1] <= EPS * max(1.0, s[0])):
            raise InvalidValueError(
                "tol: the nilpotent staircase is inconsistent at this rank tolerance "
                f"(level sizes {sizes}); try a different tol"
            )
        new = []
        for col in Wl[:, P.shape[1] :].T:
            v = np.zeros(nu, dtype=N.dtype)
            v[blk] = col
            new.append(v)
            heads.append((j + 1, v))
        level_vecs = existing + new
    heads.sort(key=lambda h: -h[0])
    cols, lengths = [], []
    for L, v in heads:
        for _ in range(L):
            cols.append(v)
            v = N @ v
        lengths.append(L)
    return np.column_stack(cols) if cols else np.zeros((nu, 0)), lengths


def _jordan_clusters(A: np.ndarray):
    """Clusters of the Jordan form: ``(lam, label, clusters)``.

    ``lam`` the eigenvalues, ``label`` their cluster labels and, per real cluster and per
    conjugate pair of clusters (the one with ``Im mu > 0``), the tuple ``(label, mu, k)``
    with the mean ``mu`` (zero parts at rounding level set to zero) and the number of
    members k.
    """
    n = A.shape[0]
    lam, V = sla.eig(A)
    s = float(np.linalg.norm(A, 2))
    if s == 0.0:
        return lam, np.zeros(n, dtype=int), [(0, 0.0, n)]
    radius = _perturbation_radii(A, lam, V, s)
    label = _cluster_labels(lam, radius)
    clusters = []
    for c in np.unique(label):
        members = lam[label == c]
        mu = complex(np.mean(members))
        # a mean at rounding level of zero is zero (a delay line's eigenvalue, exactly)
        zero = 1e3 * n * EPS * s
        mu = complex(
            0.0 if abs(mu.real) <= zero else mu.real, 0.0 if abs(mu.imag) <= zero else mu.imag
        )
        if np.all(np.abs(members.imag) <= radius[label == c]) or abs(mu.imag) <= 1e-14 * s:
            clusters.append((int(c), mu.real, len(members)))
        elif mu.imag > 0:
            clusters.append((int(c), mu, len(members)))
    return lam, label, clusters


def _real_jordan(A: np.ndarray, tol: float):
    """``(X, J)`` with ``A X = X J``, J the real Jordan form (see ``canonical_form``)."""
    n = A.shape[0]
    lam, label, clusters = _jordan_clusters(A)
    # order as the modal form: decreasing |mu|, then increasing |arg mu|
    clusters.sort(key=lambda c: (-abs(c[1]), abs(np.angle(c[1]))))
    cols, blocks = [], []
    Ac = A.astype(complex)
    for c, mu, k in clusters:
        real = isinstance(mu, float)

        def in_cluster(re, im=None, c=c):
            x = re if im is None else complex(re, im)
            return bool(label[np.argmin(np.abs(lam - x))] == c)

        # an orthonormal basis of the invariant subspace of the cluster (Schur reordering)
        if real:
            _, Z, sdim = sla.schur(A, output="real", sort=in_cluster)
        else:
            _, Z, sdim = sla.schur(Ac, output="complex", sort=in_cluster)
        if sdim != k:
            raise InvalidValueError(
                f"sys: the eigenvalue cluster at {mu:.6g} could not be separated (Schur "
                f"reordering selected {sdim} of {k}); the Jordan form is ill-determined"
            )
        Z1 = Z[:, :k]
        N = Z1.conj().T @ A @ Z1 - mu * np.eye(k)
        Nh, U, sizes = nilpotent_staircase(N, tol)
        if sum(sizes) != k:
            raise InvalidValueError(
                f"tol: expected the eigenvalue cluster at {mu:.6g} ({k} eigenvalues) to be one "
                f"eigenvalue at rank tolerance {tol:.3g}, got a nilpotent part of size "
                f"{sum(sizes)}; pass a larger tol"
            )
        Vn, lengths = jordan_chains(Nh, sizes)
        W = Z1 @ U @ Vn
        start = 0
        for L in lengths:
            # reversed chain: (A - mu) u_1 = 0, (A - mu) u_j = u_(j-1): ones above the diagonal
            chain = W[:, start : start + L][:, ::-1]
            start += L
            if real:
                cols.append(chain.real)
                blocks.append(mu * np.eye(L) + np.eye(L, k=1))
            else:
                # u = x + iy, A [x y] = [x y] [[a, b], [-b, a]] + [x_prev y_prev]
                cols.append(np.stack([chain.real, chain.imag], axis=2).reshape(n, 2 * L))
                a, b = mu.real, mu.imag
                rot = np.array([[a, b], [-b, a]])
                blocks.append(np.kron(np.eye(L), rot) + np.kron(np.eye(L, k=1), np.eye(2)))
    X = np.hstack(cols) if cols else np.zeros((n, 0))
    J = sla.block_diag(*blocks) if blocks else np.zeros((0, 0))
    return X, J


def to_jordan(sys, tol=None):
    """``(new_sys, T)`` of the 'jordan' form (see :func:`realize.canonical_form`)."""
    A = np.asarray(sys.A)
    tol = np.sqrt(EPS) * (np.linalg.norm(A, 2) if sys.n else 0.0) if tol is None else tol
    tol = as_float(tol, "tol", low=0.0)
    X, J = _real_jordan(A, tol) if sys.n else (np.zeros((0, 0)), np.zeros((0, 0)))
    T = np.linalg.solve(X, np.eye(sys.n)) if sys.n else np.zeros((0, 0))
    check_cond(T, "jordan")
    return finish(sys, T, J, T @ sys.B, sys.C @ X), T
