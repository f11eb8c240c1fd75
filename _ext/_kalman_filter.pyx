# cython: language_level=3
"""Conventional Kalman filter recursion (Durbin & Koopman 2012, sections 4.3, 4.10, 6.4).

Model (predictor timing, correlated noise allowed)::

    x[t+1] = A[t] x[t] + c[t] + w[t],    y[t] = C[t] x[t] + d[t] + v[t],
    cov([w; v]) = [[Q, S], [S', R]],

with ``c[t] = B u[t]`` and ``d[t] = D u[t]`` folded in by the Python layer. At time t,
with ``W`` the observed channels of ``y[t]`` (the partially observed update, DK 4.10):

    v = y_W - C_W x - d_W                     innovation
    F = C_W P C_W' + R_W                      innovation covariance
    K = (A P C_W' + S_W) F^-1                 predictor gain (DK 3.2.5 with S)
    x <- A x + c + K v,   P <- A P A' + Q - K F K'
    filtered:  x + P C_W' F^-1 v,  P - P C_W' F^-1 C_W P.

Several series (N, T, p) sharing one observed pattern share the covariance recursion:
the state update is one matrix product over the N series.

Steady state: for time-invariant matrices, once ``max|P[t+1] - P[t]| <= tol max|P[t]|``
with all channels observed, the gain, F and P are frozen (statsmodels' trick) until the
next missing entry.

BLAS convention: every array is C-contiguous (row-major). A row-major (r, c) matrix is
the column-major (c, r) matrix of its transpose, so the row-major product
``C = op(A) op(B)`` is the column-major ``C' = op(B)' op(A)'``: :func:`mm` swaps the
operands once and every call below reads in row-major terms. Symmetric matrices (F) are
the same in both orders, so LAPACK's Cholesky routines apply directly; a row-major (r, k)
right-hand side is the column-major (k, r) matrix of its transpose, so ``dpotrs`` with
``nrhs = r`` returns ``X F^-1`` for a row-major ``X``.
"""

from libc.math cimport log, fabs, sqrt
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memset
include "_kalman_linalg.pxi"
from scipy.linalg.cython_lapack cimport dpotrf, dpotri

cdef double LOG2PI = 1.8378770664093453


cdef inline void chol_solve_rows(int m, int k, const double* L, const double* V,
                                 double* Z, double* Wv, double* quad) noexcept nogil:
    """For each row v of V (m, k): z = L^-1 v, quad = z'z, w = L^-T z = F^-1 v, with L the
    column-major lower Cholesky factor of F from dpotrf (L(r, c) at L[c * k + r])."""
    cdef int i, r, c
    cdef double acc
    for i in range(m):
        for r in range(k):
            acc = V[i * k + r]
            for c in range(r):
                acc = acc - L[c * k + r] * Z[i * k + c]
            Z[i * k + r] = acc / L[r * k + r]
        acc = 0.0
        for r in range(k):
            acc = acc + Z[i * k + r] * Z[i * k + r]
        quad[i] = acc
        for r in range(k - 1, -1, -1):
            acc = Z[i * k + r]
            for c in range(r + 1, k):
                acc = acc - L[r * k + c] * Wv[i * k + c]
            Wv[i * k + r] = acc / L[r * k + r]


def conventional_filter(
    const double[:, :, ::1] A, const double[:, :, ::1] C, const double[:, :, ::1] Q,
    const double[:, :, ::1] R, const double[:, :, ::1] S,
    const double[:, :, ::1] c, const double[:, :, ::1] d, const double[:, :, ::1] y,
    const double[:, ::1] x0, const double[:, ::1] P0, double tol, bint steady_start,
    double[::1] loglik, double[:, :, ::1] xp, double[:, :, ::1] Pp,
    double[:, :, ::1] xf, double[:, :, ::1] Pf, double[:, :, ::1] v,
    double[:, :, ::1] F, double[:, :, ::1] Finv, double[:, :, ::1] Kout,
    double[:, ::1] llobs, signed char[::1] steady):
    """Run the filter; optional outputs are skipped when passed with a zero leading size.

    Shapes: A (TA, n, n), C (TC, p, n), Q (TQ, n, n), R (TR, p, p), S (TS, n, p) with
    T* in {1, T}; c (Nc, Tc, n), d (Nd, Td, p) with N* in {1, N}, T* in {1, T};
    y (N, T, p) with the NaN pattern of y[0] shared by all series; x0 (N0, n), N0 in
    {1, N}; P0 (n, n). Outputs: loglik (N,), xp (N, T+1, n), Pp (T+1, n, n),
    xf (N, T, n), Pf (T, n, n), v (N, T, p), F (T, p, p), Finv (T, p, p),
    Kout (T, n, p), llobs (N, T), steady (T,).

    Returns the first time index at which F was not positive definite, or -1.
    """
    cdef int N = y.shape[0], T = y.shape[1], p = y.shape[2], n = A.shape[1]
    cdef int TA = A.shape[0], TC = C.shape[0], TQ = Q.shape[0], TR = R.shape[0]
    cdef int TS = S.shape[0], Nc = c.shape[0], Tc = c.shape[1], Nd = d.shape[0]
    cdef int Td = d.shape[1], N0 = x0.shape[0]
    if (A.shape[2] != n or C.shape[1] != p or C.shape[2] != n or Q.shape[1] != n
            or R.shape[1] != p or S.shape[1] != n or S.shape[2] != p or c.shape[2] != n
            or d.shape[2] != p or x0.shape[1] != n or P0.shape[0] != n or loglik.shape[0] != N):
        raise ValueError("conventional_filter: inconsistent dimensions")
    cdef bint ti = TA == 1 and TC == 1 and TQ == 1 and TR == 1 and TS == 1
    cdef bint s_xp = xp.shape[0] > 0, s_Pp = Pp.shape[0] > 0, s_xf = xf.shape[0] > 0
    cdef bint s_Pf = Pf.shape[0] > 0, s_v = v.shape[0] > 0, s_F = F.shape[0] > 0
    cdef bint s_Fi = Finv.shape[0] > 0, s_K = Kout.shape[0] > 0, s_ll = llobs.shape[0] > 0
    cdef bint s_st = steady.shape[0] > 0
    if ((s_xp and (xp.shape[0] != N or xp.shape[1] != T + 1 or xp.shape[2] != n))
            or (s_Pp and (Pp.shape[0] != T + 1 or Pp.shape[1] != n))
            or (s_xf and (xf.shape[0] != N or xf.shape[1] != T or xf.shape[2] != n))
            or (s_Pf and (Pf.shape[0] != T or Pf.shape[1] != n))
            or (s_v and (v.shape[0] != N or v.shape[1] != T or v.shape[2] != p))
            or (s_F and (F.shape[0] != T or F.shape[1] != p))
            or (s_Fi and (Finv.shape[0] != T or Finv.shape[1] != p))
            or (s_K and (Kout.shape[0] != T or Kout.shape[1] != n or Kout.shape[2] != p))
            or (s_ll and (llobs.shape[0] != N or llobs.shape[1] != T))
            or (s_st and steady.shape[0] != T)):
        raise ValueError("conventional_filter: output arrays of the wrong shape")

    cdef int nn = n * n, np_ = n * p, pp = p * p
    cdef double* work = <double*>malloc(sizeof(double) * (
        5 * nn + 8 * np_ + 3 * pp + 6 * N * n + 6 * N * p + N + n + 8))
    cdef int* idx = <int*>malloc(sizeof(int) * (p + 1))
    if work == NULL or idx == NULL:
        free(work)
        free(idx)
        raise MemoryError()
    cdef double* P = work                 # predicted covariance P[t]
    cdef double* Pn = P + nn              # P[t+1]
    cdef double* AP = Pn + nn             # A P
    cdef double* Pfw = AP + nn            # filtered covariance
    cdef double* tmpn = Pfw + nn          # (n, n) scratch
    cdef double* M = tmpn + nn            # P C' (n, p)
    cdef double* Mw = M + np_             # P C_W' (n, k)
    cdef double* G = Mw + np_             # A P C_W' + S_W (n, k)
    cdef double* Kw = G + np_             # G F^-1 (n, k)
    cdef double* MF = Kw + np_            # P C_W' F^-1 (n, k)
    cdef double* Kpad = MF + np_          # predictor gain padded to (n, p)
    cdef double* CPb = Kpad + np_         # C P (p, n)
    cdef double* Zn = CPb + np_           # (n, k) scratch
    cdef double* Qn = Zn + np_            # (n,) scratch
    cdef double* Ff = Qn + n              # C P C' + R (p, p)
    cdef double* Fw = Ff + pp             # Cholesky factor of F_W (k, k)
    cdef double* Fi = Fw + pp             # F_W^-1 (k, k)
    cdef double* X = Fi + pp              # states (N, n)
    cdef double* Xn = X + N * n
    cdef double* XfB = Xn + N * n
    cdef double* XC = XfB + N * n         # X C' (N, p)
    cdef double* V = XC + N * p           # innovations (N, k)
    cdef double* Wv = V + N * p           # F^-1 v (N, k)
    cdef double* Zb = Wv + N * p          # L^-1 v (N, k)
    cdef double* Qd = Zb + N * p          # v' F^-1 v (N,)
    cdef double* swap
    cdef int t, i, j, l, k = 0, info = 0, bad = -1, tA, tC, tQ, tR, tS, one_i = 1
    cdef int have_buf = 0, converged = 0, frozen
    cdef double logdet = 0.0, q, diff, big, yi
    cdef char lo = b'L'
    cdef const double* At
    cdef const double* Ct
    cdef const double* ct
    cdef const double* dt

    with nogil:
        memcpy(P, &P0[0, 0], sizeof(double) * nn)
        for i in range(N):
            memcpy(X + i * n, &x0[i if N0 > 1 else 0, 0], sizeof(double) * n)
            loglik[i] = 0.0
        converged = 1 if steady_start and ti else 0
        for t in range(T):
            tA = t if TA > 1 else 0
            tC = t if TC > 1 else 0
            tQ = t if TQ > 1 else 0
            tR = t if TR > 1 else 0
            tS = t if TS > 1 else 0
            At = &A[tA, 0, 0]
            Ct = &C[tC, 0, 0]
            k = 0
            for j in range(p):
                if y[0, t, j] == y[0, t, j]:
                    idx[k] = j
                    k = k + 1
            if k < p:
                converged = 0
            frozen = converged and have_buf
            if not frozen:
                # M = P C', F = C M + R on all channels, then the observed block
                # (P symmetric: M = (C P)', A P A' = A (A P)'; products in NN form)
                mm(b'N', b'N', p, n, n, 1.0, Ct, n, P, n, 0.0, CPb, n)
                for i in range(n):
                    for j in range(p):
                        M[i * p + j] = CPb[j * n + i]
                memcpy(Ff, &R[tR, 0, 0], sizeof(double) * pp)
                mm(b'N', b'T', p, p, n, 1.0, CPb, n, Ct, n, 1.0, Ff, p)
                symmetrize(Ff, p)
                for i in range(n):
                    for j in range(k):
                        Mw[i * k + j] = M[i * p + idx[j]]
                        G[i * k + j] = S[tS, i, idx[j]]
                mm(b'N', b'N', n, n, n, 1.0, At, n, P, n, 0.0, AP, n)
                for i in range(n):
                    for j in range(n):
                        tmpn[i * n + j] = AP[j * n + i]
                memcpy(Pn, &Q[tQ, 0, 0], sizeof(double) * nn)
                mm(b'N', b'N', n, n, n, 1.0, At, n, tmpn, n, 1.0, Pn, n)
                logdet = 0.0
                if k > 0:
                    for i in range(k):
                        for j in range(k):
                            Fw[i * k + j] = Ff[idx[i] * p + idx[j]]
                    dpotrf(&lo, &k, Fw, &k, &info)
                    if info != 0:
                        bad = t
                        break
                    for i in range(k):
                        logdet = logdet + 2.0 * log(Fw[i * k + i])
                    # G = A P C_W' + S_W; K = G F^-1; P[t+1] = A P A' + Q - K G'
                    mm(b'N', b'N', n, k, n, 1.0, At, n, Mw, k, 1.0, G, k)
                    chol_solve_rows(n, k, Fw, G, Zn, Kw, Qn)
                    if s_Pf:
                        chol_solve_rows(n, k, Fw, Mw, Zn, MF, Qn)
                    mm(b'N', b'T', n, n, k, -1.0, Kw, k, G, k, 1.0, Pn, n)
                    if s_Fi:
                        memcpy(Fi, Fw, sizeof(double) * k * k)
                        dpotri(&lo, &k, Fi, &k, &info)
                        for i in range(k):
                            for j in range(i):
                                # dpotri filled the column-major lower = row-major upper half
                                Fi[i * k + j] = Fi[j * k + i]
                    if s_Pf:
                        memcpy(Pfw, P, sizeof(double) * nn)
                        mm(b'N', b'T', n, n, k, -1.0, MF, k, Mw, k, 1.0, Pfw, n)
                        symmetrize(Pfw, n)
                elif s_Pf:
                    memcpy(Pfw, P, sizeof(double) * nn)
                symmetrize(Pn, n)
                memset(Kpad, 0, sizeof(double) * np_)
                for i in range(n):
                    for j in range(k):
                        Kpad[i * p + idx[j]] = Kw[i * k + j]
                have_buf = 1 if k == p else 0
                if converged:
                    # steady start: P stays at the Riccati solution
                    memcpy(Pn, P, sizeof(double) * nn)
                elif ti and k == p and tol >= 0.0:
                    diff = 0.0
                    big = 0.0
                    for i in range(nn):
                        q = fabs(Pn[i] - P[i])
                        if q > diff:
                            diff = q
                        q = fabs(P[i])
                        if q > big:
                            big = q
                    if diff <= tol * big:
                        converged = 1
            else:
                memcpy(Pn, P, sizeof(double) * nn)

            # ---- states of the N series
            if s_xp:
                for i in range(N):
                    memcpy(&xp[i, t, 0], X + i * n, sizeof(double) * n)
            mm(b'N', b'T', N, n, n, 1.0, X, n, At, n, 0.0, Xn, n)
            for i in range(N):
                ct = &c[i if Nc > 1 else 0, t if Tc > 1 else 0, 0]
                for j in range(n):
                    Xn[i * n + j] += ct[j]
            if k > 0:
                mm(b'N', b'T', N, p, n, 1.0, X, n, Ct, n, 0.0, XC, p)
                for i in range(N):
                    dt = &d[i if Nd > 1 else 0, t if Td > 1 else 0, 0]
                    for j in range(k):
                        l = idx[j]
                        V[i * k + j] = y[i, t, l] - dt[l] - XC[i * p + l]
                chol_solve_rows(N, k, Fw, V, Zb, Wv, Qd)
                for i in range(N):
                    q = -0.5 * (k * LOG2PI + logdet + Qd[i])
                    loglik[i] += q
                    if s_ll:
                        llobs[i, t] = q
                mm(b'N', b'T', N, n, k, 1.0, V, k, Kw, k, 1.0, Xn, n)
                if s_xf:
                    memcpy(XfB, X, sizeof(double) * N * n)
                    mm(b'N', b'T', N, n, k, 1.0, Wv, k, Mw, k, 1.0, XfB, n)
            else:
                if s_ll:
                    for i in range(N):
                        llobs[i, t] = 0.0
                if s_xf:
                    memcpy(XfB, X, sizeof(double) * N * n)
            if s_xf:
                for i in range(N):
                    memcpy(&xf[i, t, 0], XfB + i * n, sizeof(double) * n)
            if s_v:
                for i in range(N):
                    memset(&v[i, t, 0], 0, sizeof(double) * p)
                    for j in range(k):
                        v[i, t, idx[j]] = V[i * k + j]
            if s_Pp:
                memcpy(&Pp[t, 0, 0], P, sizeof(double) * nn)
            if s_Pf:
                memcpy(&Pf[t, 0, 0], Pfw, sizeof(double) * nn)
            if s_F:
                memcpy(&F[t, 0, 0], Ff, sizeof(double) * pp)
            if s_Fi:
                memset(&Finv[t, 0, 0], 0, sizeof(double) * pp)
                for i in range(k):
                    for j in range(k):
                        Finv[t, idx[i], idx[j]] = Fi[i * k + j]
            if s_K:
                memcpy(&Kout[t, 0, 0], Kpad, sizeof(double) * np_)
            if s_st:
                steady[t] = 1 if frozen else 0
            swap = X
            X = Xn
            Xn = swap
            memcpy(P, Pn, sizeof(double) * nn)
        if bad < 0:
            if s_xp:
                for i in range(N):
                    memcpy(&xp[i, T, 0], X + i * n, sizeof(double) * n)
            if s_Pp:
                memcpy(&Pp[T, 0, 0], P, sizeof(double) * nn)
    # X may point at the second half after the swaps; free the block from its base
    free(work)
    free(idx)
    return bad


def conventional_loglik(
    const double[:, ::1] A, const double[:, ::1] C, const double[:, ::1] Q,
    const double[:, ::1] R, const double[:, ::1] S,
    const double[:, :, ::1] c, const double[:, :, ::1] d, const double[:, :, ::1] y,
    const double[:, ::1] x0, const double[:, ::1] P0, double tol, bint steady_start,
    const int[::1] lo, const int[::1] hi, double[::1] loglik):
    """Log-likelihood only, time-invariant matrices: the recursion of
    :func:`conventional_filter` (same steady-state switch, same result) with nothing
    stored and every product written as a loop sized for small n, p.

    Per step only the observed rows W enter (DK 4.10): with L the Cholesky factor of
    F = C_W P C_W' + R_W and G = A P C_W' + S_W,

        z = L^-1 v,  log-density -1/2 (k log 2 pi + log det F + z'z),
        x <- A x + c + (G L^-T) z,   P <- A P A' + Q - (G L^-T)(G L^-T)',

    with only the upper triangle of the symmetric P[t+1] formed, then mirrored.
    Row i of A is nonzero only in columns ``lo[i] <= l < hi[i]`` (dense: 0 and n; the
    caller may pass A in a block-diagonal or Schur basis, where the loops shrink).
    Q must be symmetric (only its upper triangle is read).
    Shapes as :func:`conventional_filter` with the time axis of A, C, Q, R, S dropped.
    Returns the first time index at which F was not positive definite, or -1.
    """
    cdef int N = y.shape[0], T = y.shape[1], p = y.shape[2], n = A.shape[0]
    cdef int Nc = c.shape[0], Tc = c.shape[1], Nd = d.shape[0], Td = d.shape[1]
    cdef int N0 = x0.shape[0]
    if (A.shape[1] != n or C.shape[0] != p or C.shape[1] != n or Q.shape[0] != n
            or Q.shape[1] != n or R.shape[0] != p or R.shape[1] != p or S.shape[0] != n
            or S.shape[1] != p or c.shape[2] != n or d.shape[2] != p or x0.shape[1] != n
            or P0.shape[0] != n or P0.shape[1] != n or loglik.shape[0] != N
            or lo.shape[0] != n or hi.shape[0] != n):
        raise ValueError("conventional_loglik: inconsistent dimensions")
    cdef int nn = n * n, np_ = n * p, pp = p * p
    cdef double* work = <double*>malloc(sizeof(double) * (
        3 * nn + 4 * np_ + 2 * pp + 3 * N * n + 2 * N * p + 8))
    cdef int* idx = <int*>malloc(sizeof(int) * (p + 1))
    if work == NULL or idx == NULL:
        free(work)
        free(idx)
        raise MemoryError()
    cdef double* P = work                 # predicted covariance P[t]
    cdef double* Pn = P + nn              # P[t+1]
    cdef double* AP = Pn + nn             # A P
    cdef double* CP = AP + nn             # C_W P (k, n)
    cdef double* G = CP + np_             # A P C_W' + S_W (n, k)
    cdef double* H = G + np_              # G L^-T (n, k)
    cdef double* Hss = H + np_            # frozen H (n, p)
    cdef double* L = Hss + np_            # lower Cholesky factor of F_W (k, k), row-major,
    #                                     with the reciprocals of its diagonal
    cdef double* Lss = L + pp             # frozen L (p, p)
    cdef double* X = Lss + pp             # states (N, n)
    cdef double* Xn = X + N * n
    cdef double* Xc = Xn + N * n
    cdef double* V = Xc + N * n           # innovations (N, k)
    cdef double* Z = V + N * p            # L^-1 v (N, k)
    cdef double* swap
    cdef double* Hc
    cdef double* Lc
    cdef int t, i, j, l, m, k = 0, bad = -1, have_buf = 0, converged = 0, frozen
    cdef double logdet = 0.0, logdet_ss = 0.0, ld, q, diff, big, acc, a
    cdef const double* ct
    cdef const double* dt
    cdef const double* Ap = &A[0, 0]
    cdef const double* Cp = &C[0, 0]
    cdef const double* Qp = &Q[0, 0]
    cdef const double* Rp = &R[0, 0]
    cdef const double* Sp = &S[0, 0]
    cdef const int* lop = &lo[0]
    cdef const int* hip = &hi[0]

    with nogil:
        memcpy(P, &P0[0, 0], sizeof(double) * nn)
        for i in range(N):
            memcpy(X + i * n, &x0[i if N0 > 1 else 0, 0], sizeof(double) * n)
            loglik[i] = 0.0
        converged = 1 if steady_start else 0
        for t in range(T):
            k = 0
            for j in range(p):
                if y[0, t, j] == y[0, t, j]:
                    idx[k] = j
                    k = k + 1
            if k < p:
                converged = 0
            frozen = converged and have_buf
            if frozen:
                Hc = Hss
                Lc = Lss
                ld = logdet_ss
            else:
                Hc = H
                Lc = L
                ld = 0.0
                if k > 0:
                    # C_W P (P symmetric: row r of C_W P is P times row idx[r] of C)
                    for m in range(k):
                        for j in range(n):
                            Xc[j] = 0.0
                        for l in range(n):
                            a = Cp[idx[m] * n + l]
                            for j in range(n):
                                Xc[j] = Xc[j] + a * P[l * n + j]
                        memcpy(CP + m * n, Xc, sizeof(double) * n)
                    # F = C_W P C_W' + R_W and its Cholesky factor, lower triangle
                    for i in range(k):
                        for j in range(i + 1):
                            acc = Rp[idx[i] * p + idx[j]]
                            for l in range(n):
                                acc = acc + CP[i * n + l] * Cp[idx[j] * n + l]
                            for m in range(j):
                                acc = acc - L[i * p + m] * L[j * p + m]
                            if i == j:
                                if not acc > 0.0:
                                    bad = t
                                    break
                                L[i * p + i] = 1.0 / sqrt(acc)  # the reciprocal: divisions become products
                                ld = ld + log(acc)
                            else:
                                L[i * p + j] = acc * L[j * p + j]
                        if bad >= 0:
                            break
                    if bad >= 0:
                        break
                    # G = A P C_W' + S_W = A (C_W P)' + S_W, then H = G L^-T
                    for i in range(n):
                        for m in range(k):
                            acc = Sp[i * p + idx[m]]
                            for l in range(lop[i], hip[i]):
                                acc = acc + Ap[i * n + l] * CP[m * n + l]
                            for j in range(m):
                                acc = acc - H[i * p + j] * L[m * p + j]
                            H[i * p + m] = acc * L[m * p + m]
                if not converged:
                    # B = A P (rows of A times the rows of P), stored transposed:
                    # AP[l, :] = (A P)[:, l] = (P A')[l, :] since P is symmetric
                    for i in range(n):
                        for j in range(n):
                            Xc[j] = 0.0
                        for l in range(lop[i], hip[i]):
                            a = Ap[i * n + l]
                            for j in range(n):
                                Xc[j] = Xc[j] + a * P[l * n + j]
                        for j in range(n):
                            AP[j * n + i] = Xc[j]
                    # H' (k, n) for row operations
                    for m in range(k):
                        for j in range(n):
                            CP[m * n + j] = H[j * p + m]
                    # P[t+1] = A (P A') + Q - H H', upper triangle by rows, then mirrored
                    for i in range(n):
                        for j in range(i, n):
                            Pn[i * n + j] = Qp[i * n + j]
                        for l in range(lop[i], hip[i]):
                            a = Ap[i * n + l]
                            for j in range(i, n):
                                Pn[i * n + j] = Pn[i * n + j] + a * AP[l * n + j]
                        for m in range(k):
                            a = H[i * p + m]
                            for j in range(i, n):
                                Pn[i * n + j] = Pn[i * n + j] - a * CP[m * n + j]
                    for i in range(n):
                        for j in range(i + 1, n):
                            Pn[j * n + i] = Pn[i * n + j]
                    if k == p and tol >= 0.0:
                        # P is positive semidefinite: max |P_ij| is on its diagonal
                        big = 0.0
                        for i in range(n):
                            q = fabs(P[i * n + i])
                            if q > big:
                                big = q
                        big = tol * big
                        diff = 0.0
                        for i in range(nn):
                            q = fabs(Pn[i] - P[i])
                            if q > diff:
                                diff = q
                                if diff > big:
                                    break
                        if diff <= big:
                            converged = 1
                    swap = P
                    P = Pn
                    Pn = swap
                # else (steady start) P stays at the Riccati solution
                have_buf = 1 if k == p else 0
                if k == p:
                    memcpy(Hss, H, sizeof(double) * np_)
                    memcpy(Lss, L, sizeof(double) * pp)
                    logdet_ss = ld
            # ---- states: x <- A x + c + H z, z = L^-1 (y_W - C_W x - d_W)
            for i in range(N):
                ct = &c[i if Nc > 1 else 0, t if Tc > 1 else 0, 0]
                for j in range(n):
                    acc = ct[j]
                    for l in range(lop[j], hip[j]):
                        acc = acc + Ap[j * n + l] * X[i * n + l]
                    Xn[i * n + j] = acc
                if k > 0:
                    dt = &d[i if Nd > 1 else 0, t if Td > 1 else 0, 0]
                    q = 0.0
                    for m in range(k):
                        l = idx[m]
                        acc = y[i, t, l] - dt[l]
                        for j in range(n):
                            acc = acc - Cp[l * n + j] * X[i * n + j]
                        for j in range(m):
                            acc = acc - Lc[m * p + j] * Z[j]
                        Z[m] = acc * Lc[m * p + m]
                        q = q + Z[m] * Z[m]
                    loglik[i] += -0.5 * (k * LOG2PI + ld + q)
                    for j in range(n):
                        acc = Xn[i * n + j]
                        for m in range(k):
                            acc = acc + Hc[j * p + m] * Z[m]
                        Xn[i * n + j] = acc
            swap = X
            X = Xn
            Xn = swap
    free(work)
    free(idx)
    return bad
