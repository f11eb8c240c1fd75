"""Lift a classical realization into the coordinates of a trainable layer, and back.

Each parametrization of :class:`realize.nn.SSMLayer` covers the realizations that are
similar to one of a structured family; lifting finds the similarity ``x_new = T x`` that
brings ``sys`` into that family and reads off the parameters, exactly (up to rounding):

``dense``
    ``A`` as it is; with ``stable=True`` the layer keeps ``||A||_2 < 1`` (a contraction),
    so ``sys`` is first brought to contractive coordinates ``T = P^(1/2)`` with ``P`` the
    solution of ``A' P A - P + I = 0`` (then ``T A T^-1`` has norm ``< 1``;
    Kailath, *Linear Systems*, 1980, Section 2.6).
``diagonal``
    modal form: real eigenvalues as 1x1 blocks, each complex-conjugate pair
    ``sigma +- i omega`` as one complex mode (``modes="complex"``, output ``2 Re(c x)``) or
    as the real 2x2 block ``[[sigma, -omega], [omega, sigma]]`` (``modes="blocks"``).
    Needs a diagonalizable ``A``: a defective one (a Jordan block, e.g. the nilpotent
    shift of a delay chain) is refused, since its computed eigenvalues are spurious, and
    the eigenvector matrix's condition number is checked.
``companion``
    ``T^-1 = [v, A v, ..., A^(n-1) v]`` (a Krylov basis of a cyclic vector ``v``) gives the
    companion matrix of the characteristic polynomial ``z^n + a_1 z^(n-1) + ... + a_n``
    (ones on the subdiagonal, ``-a_n ... -a_1`` in the last column). With ``stable=True`` the
    polynomial is parametrized by its reflection (Schur-Cohn, PARCOR) coefficients
    ``k_i = tanh(kappa_i)``: the monic polynomials with all roots in the open unit disk
    are exactly those with all ``|k_i| < 1`` (Levinson step-up recursion).
``memory``
    ``A = diag(S, Lambda)``: a nilpotent shift block ``S`` (the zero eigenvalues: a finite
    window of past inputs, like a Transformer's context) beside a diagonal block
    (the decaying modes, like a Mamba layer): ``canonical_form(sys, "memory")``.

All functions here work on float64 NumPy arrays; :mod:`realize.nn.ssm` turns the results
into torch parameters.
"""

from __future__ import annotations

import warnings

import numpy as np

from realize.errors import IllConditionedWarning, InvalidValueError, NotStableError

__all__ = [
    "contractive_transform",
    "defective_eigenvalue",
    "modal_form",
    "companion_form",
    "poly_to_reflection",
    "reflection_to_poly",
    "memory_form",
]

_COND_WARN = 1e8
_COND_FAIL = 1e13


def _check_cond(T: np.ndarray, what: str) -> None:
    cond = np.linalg.cond(T)
    if not np.isfinite(cond) or cond > _COND_FAIL:
        raise InvalidValueError(
            f"sys: expected {what}, got a similarity transform with condition number {cond:.2e}"
        )
    if cond > _COND_WARN:
        warnings.warn(
            f"sys: the similarity transform to {what} has condition number {cond:.2e}; "
            "the lifted layer may lose accuracy",
            IllConditionedWarning,
            stacklevel=3,
        )


def _require_stable(A: np.ndarray) -> None:
    rho = max(np.abs(np.linalg.eigvals(A))) if A.size else 0.0
    if rho >= 1.0:
        raise NotStableError(
            f"sys: expected a stable realization (spectral radius < 1) for stable=True, got {rho:.6g}"
        )


def contractive_transform(A: np.ndarray) -> np.ndarray:
    """A similarity T with ``||T A T^-1||_2 < 1`` for a stable A (identity if already so).

    Parameters
    ----------
    A : (n, n) array, spectral radius < 1

    Returns
    -------
    T : (n, n) array, ``x_new = T x``

    Raises
    ------
    NotStableError
        If A is not stable.
    """
    n = A.shape[0]
    _require_stable(A)
    if n == 0 or np.linalg.norm(A, 2) < 1.0 - 1e-12:
        return np.eye(n)
    from scipy.linalg import solve_discrete_lyapunov

    P = solve_discrete_lyapunov(A.T, np.eye(n))  # A' P A - P + I = 0
    P = (P + P.T) / 2
    lam, V = np.linalg.eigh(P)
    T = (V * np.sqrt(lam)) @ V.T  # P^(1/2)
    _check_cond(T, "contractive coordinates")
    return T


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
    >>> from realize.nn.lift import defective_eigenvalue
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
    for members, mu, geometric, _ in _eigen_clusters(A, lam, V):
        if geometric < len(members):
            return mu, len(members), geometric
    return None


def _eigen_clusters(A: np.ndarray, lam: np.ndarray, V: np.ndarray, imag_tol: float = 1e-12):
    """Clusters of computed eigenvalues: ``[(members, mu, geometric, basis), ...]``.

    One entry per real cluster and per conjugate pair of complex clusters (the one with
    ``Im mu > 0``); see :func:`defective_eigenvalue` for the tests. ``basis`` (n,
    geometric) is an orthonormal basis of the eigenspace ``null(A - mu I)`` (real for a
    real ``mu``) for clusters of two or more, None for single eigenvalues. A conjugate
    pair within ``imag_tol`` of the real axis is one real cluster.
    """
    n = A.shape[0]
    s = float(np.linalg.norm(A, 2)) if n else 0.0
    eps = np.finfo(float).eps
    if s == 0.0:  # A = 0: one eigenvalue, every vector an eigenvector
        return [(np.arange(n), 0.0, n, np.eye(n))] if n else []
    Vn = V / np.linalg.norm(V, axis=0)
    cap = s * (10 * n * eps) ** (1.0 / n)
    with np.errstate(all="ignore"):
        try:
            kappa = np.linalg.norm(np.linalg.inv(Vn), axis=1)
        except np.linalg.LinAlgError:
            kappa = np.full(n, np.inf)
    kappa = np.where(np.isfinite(kappa), kappa, np.inf)
    radius = np.minimum(10 * n * eps * s * kappa, cap)
    near_real = np.abs(lam.imag) <= imag_tol * max(1.0, float(np.max(np.abs(lam))))
    radius = np.where(near_real, np.maximum(radius, np.abs(lam.imag)), radius)
    # single-linkage clusters: connected components of the graph of overlapping discs
    from scipy.sparse.csgraph import connected_components

    overlap = np.abs(lam[:, None] - lam[None, :]) <= radius[:, None] + radius[None, :]
    _, label = connected_components(overlap, directed=False)
    tol = np.sqrt(eps) * s
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


def modal_form(A: np.ndarray, imag_tol: float = 1e-12):
    """Real modal form of a diagonalizable A.

    Parameters
    ----------
    A : (n, n) array

    Returns
    -------
    lam_real : (n_r,) array
        Real eigenvalues.
    lam_cplx : (n_c,) complex array
        One eigenvalue ``sigma + i omega`` (omega > 0) of each conjugate pair.
    T : (n, n) array
        ``x_new = T x``: the first n_r coordinates are the real modes, then for each pair
        two coordinates ``(a, b)`` with the mode ``a + i b`` obeying
        ``(a + i b)' = lambda (a + i b) + ...``, i.e. the block
        ``[[sigma, -omega], [omega, sigma]]``.

    Raises
    ------
    InvalidValueError
        A defective A (a Jordan block, found by :func:`defective_eigenvalue`), or one not
        diagonalizable to working accuracy. A nilpotent block (a shift register, a
        delay chain, an FIR filter) is the common case: its eigenvalues split at
        rounding level into spurious poles around zero (``~1e-5`` for three delays,
        lifted output errors of ``1e-5`` instead of ``1e-15``), so it is refused and
        ``parametrization="memory"`` (a shift block beside a diagonal block) named.
    """
    n = A.shape[0]
    if n == 0:
        return np.zeros(0), np.zeros(0, complex), np.eye(0)
    lam, V = np.linalg.eig(A)
    defect = defective_eigenvalue(A, lam, V)
    if defect is not None:
        mu, alg, geo = defect
        if abs(mu) <= np.sqrt(np.finfo(float).eps) * max(float(np.linalg.norm(A, 2)), 1e-300):
            hint = (
                "a nilpotent (shift, delay-chain) block at eigenvalue 0; shift dynamics are "
                'not diagonalizable: use parametrization="memory" (a shift block beside a '
                "diagonal block)"
            )
        else:
            hint = (
                f'a Jordan block at eigenvalue {mu:.6g}; use parametrization="dense" or "companion"'
            )
        raise InvalidValueError(
            "sys: expected a diagonalizable A for the diagonal (modal) form, got a defective "
            f"A with {alg} eigenvalues but {geo} eigenvector(s) at {mu:.3g}: {hint}"
        )
    real_modes, cplx_modes = [], []  # (eigenvalue, unit vector)
    for members, mu, _, basis in _eigen_clusters(A, lam, V, imag_tol):
        # a cluster of (nearly) repeated eigenvalues: an orthonormal basis of its eigenspace
        # (the computed eigenvectors of a repeated eigenvalue can be nearly parallel, and a
        # real one split by rounding into a conjugate pair has conjugate eigenvectors)
        vecs = [V[:, members[0]]] if basis is None else list(basis.T)
        for v in vecs:
            if np.isrealobj(mu):
                real_modes.append((float(np.real(mu)), v.real / np.linalg.norm(v.real)))
            else:
                cplx_modes.append((complex(mu), v / np.linalg.norm(v)))
    real_modes.sort(key=lambda e: -e[0])
    cplx_modes.sort(key=lambda e: -abs(e[0]))
    if len(real_modes) + 2 * len(cplx_modes) != n:
        raise InvalidValueError("sys: expected a diagonalizable A with conjugate eigenvalue pairs")
    cols = [v for _, v in real_modes]
    for _, v in cplx_modes:
        # A (vr + i vi) = lambda (vr + i vi): in the basis [vr, -vi] the block is
        # [[sigma, -omega], [omega, sigma]], the real form of x' = lambda x for x = a + i b
        cols += [v.real, -v.imag]
    Tinv = np.column_stack(cols)
    _check_cond(Tinv, "a diagonalizable A (modal form)")
    T = np.linalg.inv(Tinv)
    lr = np.array([e for e, _ in real_modes], dtype=float)
    lc = np.array([e for e, _ in cplx_modes], dtype=complex)
    return lr, lc, T


def companion_form(A: np.ndarray, B: np.ndarray | None = None, tries: int = 16):
    """Companion form of a cyclic (non-derogatory) A through a Krylov basis.

    Parameters
    ----------
    A : (n, n) array
    B : (n, m) array, optional
        Its columns are tried first as the cyclic vector.

    Returns
    -------
    a : (n,) array
        Characteristic polynomial ``z^n + a[0] z^(n-1) + ... + a[n-1]``.
    T : (n, n) array
        ``x_new = T x`` with ``T A T^-1`` the companion matrix
        (ones on the subdiagonal, last column ``-a[::-1]``).

    Raises
    ------
    InvalidValueError
        A derogatory A (no cyclic vector; e.g. a repeated eigenvalue with several blocks).
    """
    n = A.shape[0]
    if n == 0:
        return np.zeros(0), np.eye(0)
    rng = np.random.default_rng(0)
    cands = [] if B is None else [B[:, j] for j in range(B.shape[1])]
    cands += [rng.standard_normal(n) for _ in range(tries)]
    best = None
    for v in cands:
        if not np.any(v):
            continue
        K = np.empty((n, n))
        K[:, 0] = v / np.linalg.norm(v)
        for j in range(1, n):
            K[:, j] = A @ K[:, j - 1]
        cond = np.linalg.cond(K)
        if best is None or cond < best[0]:
            best = (cond, K)
    cond, K = best
    _check_cond(K, "a cyclic A (companion form)")
    last = np.linalg.solve(K, A @ K[:, -1])  # A^n v in the Krylov basis
    a = -last[::-1]
    return a, np.linalg.inv(K)


def companion_matrix(a: np.ndarray) -> np.ndarray:
    """Companion matrix of ``z^n + a[0] z^(n-1) + ... + a[n-1]`` (subdiagonal ones)."""
    n = len(a)
    M = np.zeros((n, n))
    if n:
        M[1:, :-1] = np.eye(n - 1)
        M[:, -1] = -np.asarray(a)[::-1]
    return M


def poly_to_reflection(a: np.ndarray) -> np.ndarray:
    """Reflection coefficients of a monic polynomial (Levinson step-down / Schur-Cohn).

    Parameters
    ----------
    a : (n,) array
        ``z^n + a[0] z^(n-1) + ... + a[n-1]``.

    Returns
    -------
    k : (n,) array
        ``k[i]`` of the order-(i+1) polynomial; all ``|k| < 1`` iff the roots lie in the
        open unit disk.

    Raises
    ------
    NotStableError
        If some ``|k| >= 1`` (a root on or outside the unit circle).
    """
    poly = np.asarray(a, dtype=float).copy()
    n = len(poly)
    k = np.zeros(n)
    for i in range(n, 0, -1):
        ki = poly[i - 1]
        if abs(ki) >= 1.0:
            raise NotStableError(
                f"sys: expected a stable characteristic polynomial for stable=True, got reflection coefficient {ki:.6g}"
            )
        k[i - 1] = ki
        poly = (poly[: i - 1] - ki * poly[: i - 1][::-1]) / (1.0 - ki * ki)
    return k


def reflection_to_poly(k):
    """Monic polynomial coefficients from reflection coefficients (Levinson step-up).

    Works on NumPy arrays and on torch tensors (differentiably).

    Parameters
    ----------
    k : (n,) array or tensor

    Returns
    -------
    a : (n,) array or tensor, ``z^n + a[0] z^(n-1) + ... + a[n-1]``

    Examples
    --------
    >>> import numpy as np
    >>> from realize.nn.lift import poly_to_reflection, reflection_to_poly
    >>> a = np.poly([0.5, -0.3, 0.2])[1:]
    >>> bool(np.allclose(reflection_to_poly(poly_to_reflection(a)), a))
    True
    """
    poly = k[:0]
    for i in range(len(k)):
        ki = k[i : i + 1]
        if len(poly):
            head = poly + ki * poly.flip(0) if hasattr(poly, "flip") else poly + ki * poly[::-1]
        else:
            head = poly
        if hasattr(k, "flip"):
            import torch

            poly = torch.cat([head, ki])
        else:
            poly = np.concatenate([head, ki])
    return poly


def memory_form(sys, zero_tol: float = 1e-9):
    """``canonical_form(sys, "memory")``: a nilpotent shift block beside a diagonal block.

    Parameters
    ----------
    sys : StateSpace

    Returns
    -------
    n_shift : int
        Size of the nilpotent block (eigenvalues at zero).
    shift : (n_shift, n_shift) array
        The nilpotent block in Jordan form (ones on the subdiagonal where two coordinates
        are chained, zero where a new chain starts).
    lam_real, lam_cplx, T : as :func:`modal_form` for the remaining block, with T acting on
        the whole state: ``x_new = T x``, the first n_shift coordinates the shift register.
    """
    import realize

    try:
        new, T = realize.canonical_form(sys, "memory")
    except (ImportError, AttributeError, NotImplementedError):
        new, T = None, None
    except InvalidValueError:
        raise
    A = sys.A
    n = A.shape[0]
    if new is not None:
        ns = _nilpotent_size(new.A, zero_tol)
        Ad = new.A[ns:, ns:]
        if (
            np.allclose(new.A[:ns, ns:], 0, atol=1e-12)
            and np.allclose(new.A[ns:, :ns], 0, atol=1e-12)
            and _is_shift(new.A[:ns, :ns])
        ):
            lr, lc, Td = modal_form(Ad)
            Tfull = np.eye(n)
            Tfull[ns:, ns:] = Td
            return ns, new.A[:ns, :ns].copy(), lr, lc, Tfull @ T
    return _memory_form_direct(A, zero_tol)


def _is_shift(S: np.ndarray) -> bool:
    ns = S.shape[0]
    if ns == 0:
        return True
    mask = np.zeros_like(S, dtype=bool)
    mask[np.arange(1, ns), np.arange(ns - 1)] = True
    return bool(np.all(S[~mask] == 0) and np.all(np.isin(S[mask], (0.0, 1.0))))


def _nilpotent_size(A, tol):
    lam = np.linalg.eigvals(A)
    return int(np.sum(np.abs(lam) <= tol * max(1.0, np.max(np.abs(lam)) if lam.size else 1.0)))


def _memory_form_direct(A: np.ndarray, zero_tol: float):
    """Separate the zero eigenvalues (Schur reordering + Sylvester equation), put the
    nilpotent part in Jordan (shift) form and the rest in modal form."""
    from scipy.linalg import schur, solve_sylvester

    n = A.shape[0]
    scale = max(1.0, np.max(np.abs(np.linalg.eigvals(A)))) if n else 1.0
    Tsch, Z, ns = schur(A, output="real", sort=lambda x, y: np.hypot(x, y) <= zero_tol * scale)
    # A = Z Tsch Z'; Tsch = [[N0, X], [0, R]]: decouple with [[I, Y], [0, I]], N0 Y - Y R = -X
    N0, X, R = Tsch[:ns, :ns], Tsch[:ns, ns:], Tsch[ns:, ns:]
    Y = solve_sylvester(N0, -R, -X) if ns and ns < n else np.zeros((ns, n - ns))
    W = np.eye(n)
    W[:ns, ns:] = Y  # Tsch W = W diag(N0, R)
    Tinv = Z @ W
    # Jordan chains of the nilpotent block: N0 has tiny entries where it should be exactly
    # nilpotent; build chains from the kernel filtration of N0
    Sj, Pj = _nilpotent_jordan(N0, zero_tol * scale)
    lr, lc, Td = modal_form(R)
    Tinv_full = Tinv @ np.block(
        [[Pj, np.zeros((ns, n - ns))], [np.zeros((n - ns, ns)), np.linalg.inv(Td)]]
    )
    _check_cond(Tinv_full, "a memory (shift + diagonal) form")
    return ns, Sj, lr, lc, np.linalg.inv(Tinv_full)


def _nilpotent_jordan(N0: np.ndarray, tol: float):
    """Jordan form ``P^-1 N0 P = S`` of a nilpotent matrix (shift with subdiagonal ones)."""
    ns = N0.shape[0]
    if ns == 0:
        return np.zeros((0, 0)), np.eye(0)
    # chains: pick vectors of maximal height and follow v, N0 v, N0^2 v, ...
    powers = [np.eye(ns)]
    while np.linalg.norm(powers[-1]) > tol * 10 and len(powers) <= ns:
        powers.append(N0 @ powers[-1])
    chains = []
    basis = np.zeros((ns, 0))
    for h in range(len(powers) - 1, 0, -1):
        # vectors with N0^(h-1) v != 0, N0^h v = 0, independent of the chains so far
        U, s, Vt = np.linalg.svd(powers[h - 1])
        for v in Vt[: int(np.sum(s > tol * 10))]:
            chain = np.column_stack([np.linalg.matrix_power(N0, j) @ v for j in range(h)])
            trial = np.column_stack([basis, chain])
            if np.linalg.matrix_rank(trial, tol=1e-8) == trial.shape[1]:
                basis = trial
                chains.append(h)
            if basis.shape[1] == ns:
                break
        if basis.shape[1] == ns:
            break
    if basis.shape[1] != ns:
        raise InvalidValueError("sys: could not put the nilpotent block in Jordan (shift) form")
    S = np.zeros((ns, ns))
    pos = 0
    for h in chains:
        for j in range(1, h):
            S[pos + j, pos + j - 1] = 1.0
        pos += h
    return S, basis
