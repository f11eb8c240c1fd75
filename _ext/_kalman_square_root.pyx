# cython: language_level=3
"""Array square-root Kalman filter (Kailath, Sayed & Hassibi 2000, section 12.3;
Verhaegen & Van Dooren 1986; Durbin & Koopman 2012, section 6.3).

The predicted covariance is propagated as a lower-triangular factor L (P = L L'). With
Gamma a factor of the joint noise covariance ``cov([w; v]) = Gamma Gamma'`` (rows 0..n-1
for w, n.. for v; any factor, the rows of the observed channels W give one of
``cov([w; v_W])``), one QR factorization (LAPACK dgeqrf) triangularizes the pre-array::

    [ C_W L   Gamma_{v_W} ]          [ F^{1/2}     0       0 ]
    [ A L     Gamma_w     ]  Theta = [ K F^{1/2}  L_{t+1}  0 ]

giving the innovation covariance factor, the predictor gain (with S) and the next factor,
without ever forming C P C' + R or subtracting covariances.

QR of a row-major pre-array: its buffer is the column-major transpose, so dgeqrf
factors ``pre' = Q R`` in place and ``post = R'`` (lower triangular) is read row by row
from the same buffer: ``post[i][j] = buf[i * w + j]`` for ``j <= i``.

Steady state (as in ``_kalman_filter``): for time-invariant matrices, once
``max|P[t+1] - P[t]| <= tol max|P[t]|`` (P = L L') with all channels observed, the factor
L, F^{1/2} and K F^{1/2} are frozen and no pre-array is formed or factored (only the
state and the likelihood are updated) until the next missing entry.
"""

from libc.math cimport log, fabs
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memset
from scipy.linalg.cython_lapack cimport dgeqrf

include "_kalman_linalg.pxi"

cdef double LOG2PI = 1.8378770664093453


cdef inline void lower_solve(int k, const double* L, int ldl, double* b) noexcept nogil:
    """b <- L^-1 b for a row-major lower-triangular L."""
    cdef int r, c
    cdef double acc
    for r in range(k):
        acc = b[r]
        for c in range(r):
            acc = acc - L[r * ldl + c] * b[c]
        b[r] = acc / L[r * ldl + r]


def square_root_filter(
    const double[:, :, ::1] A, const double[:, :, ::1] C, const double[:, :, ::1] Gam,
    const double[:, :, ::1] R, const double[:, ::1] c, const double[:, ::1] d,
    const double[:, ::1] y, const double[::1] x0, const double[:, ::1] L0,
    double tol, bint steady_start,
    double[::1] loglik, double[:, ::1] xp, double[:, :, ::1] Pp,
    double[:, ::1] xf, double[:, :, ::1] Pf, double[:, ::1] v,
    double[:, :, ::1] F, double[:, :, ::1] Finv, double[:, :, ::1] Kout,
    double[::1] llobs, signed char[::1] steady):
    """One series. Shapes: A (TA, n, n), C (TC, p, n), Gam (TG, n+p, n+p) a factor of
    [[Q, S], [S', R]], R (TR, p, p) (for the reported F only), c (Tc, n), d (Td, p),
    y (T, p), x0 (n,), L0 (n, n) a factor of P0. Outputs as in ``univariate_filter``.

    ``tol < 0`` disables the steady-state switch; ``steady_start`` (time-invariant
    matrices only) means L0 is a factor of the Riccati solution: L is never updated and
    the factors are frozen from t = 1 on, until a missing entry.

    Returns the first t with a singular innovation covariance, or -1."""
    cdef int T = y.shape[0], p = y.shape[1], n = A.shape[1]
    cdef int TA = A.shape[0], TC = C.shape[0], TG = Gam.shape[0], TR = R.shape[0]
    cdef int Tc = c.shape[0], Td = d.shape[0], q = n + p
    if (A.shape[2] != n or C.shape[1] != p or C.shape[2] != n or Gam.shape[1] != q
            or Gam.shape[2] != q or R.shape[1] != p or c.shape[1] != n or d.shape[1] != p
            or x0.shape[0] != n or L0.shape[0] != n or L0.shape[1] != n
            or llobs.shape[0] != T or (steady.shape[0] > 0 and steady.shape[0] != T)):
        raise ValueError("square_root_filter: inconsistent dimensions")
    cdef bint store = xp.shape[0] > 0
    if store and (xp.shape[0] != T + 1 or Pp.shape[0] != T + 1 or xf.shape[0] != T
                  or Pf.shape[0] != T or v.shape[0] != T or F.shape[0] != T
                  or Finv.shape[0] != T or Kout.shape[0] != T):
        raise ValueError("square_root_filter: output arrays of the wrong shape")
    cdef bint ti = TA == 1 and TC == 1 and TG == 1 and TR == 1
    cdef int w = n + q                       # pre-array columns: [L part | Gamma part]
    cdef int rows, lwork = 64 * (n + p + 1), info = 0
    cdef int nn = n * n
    cdef double* work = <double*>malloc(sizeof(double) * ((n + p) * w + lwork + (n + p)
                                                          + 5 * nn + 3 * n * p + 2 * p * p
                                                          + 3 * n + 3 * p + 8))
    cdef int* idx = <int*>malloc(sizeof(int) * (p + 1))
    if work == NULL or idx == NULL:
        free(work)
        free(idx)
        raise MemoryError()
    cdef double* pre = work
    cdef double* qwork = pre + (n + p) * w
    cdef double* tau = qwork + lwork
    cdef double* L = tau + (n + p)
    cdef double* T1 = L + nn
    cdef double* Pcur = T1 + nn             # P[t] = L L' (when pvalid)
    cdef double* Pnx = Pcur + nn            # P[t+1], for the convergence test
    cdef double* T2 = Pnx + nn
    cdef double* Y = T2 + nn                # F^{-1/2} C_W L (k, n)
    cdef double* LY = Y + n * p             # L Y' (n, k)
    cdef double* Kb = LY + n * p            # K F^{1/2} (n, k)
    cdef double* Fh = Kb + n * p            # F^{1/2} (k, k), lower
    cdef double* Fi = Fh + p * p            # (k, k)
    cdef double* x = Fi + p * p
    cdef double* xn = x + n
    cdef double* e = xn + n
    cdef double* tmp = e + p
    cdef double* swap
    cdef int t, i, j, l, k, bad = -1
    cdef int have_buf = 0, converged = 0, frozen, pvalid = 0
    cdef bint s_st = steady.shape[0] > 0
    cdef double acc, ll, ld = 0.0, total = 0.0
    cdef const double* At
    cdef const double* Ct
    cdef const double* Gt
    with nogil:
        memcpy(L, &L0[0, 0], sizeof(double) * nn)
        memcpy(x, &x0[0], sizeof(double) * n)
        converged = 1 if steady_start and ti else 0
        for t in range(T):
            At = &A[t if TA > 1 else 0, 0, 0]
            Ct = &C[t if TC > 1 else 0, 0, 0]
            Gt = &Gam[t if TG > 1 else 0, 0, 0]
            k = observed_channels(&y[t, 0], p, idx)
            if k < p:
                converged = 0
            # frozen: L, F^{1/2} and K F^{1/2} are those of the previous step (fully
            # observed, time-invariant)
            frozen = converged and have_buf
            rows = k + n
            if not frozen:
                # pre-array rows: [C_W L, Gamma_{v_W}] then [A L, Gamma_w]
                for i in range(k):
                    for j in range(n):
                        acc = 0.0
                        for l in range(n):
                            acc = acc + Ct[idx[i] * n + l] * L[l * n + j]
                        pre[i * w + j] = acc
                    memcpy(&pre[i * w + n], &Gt[(n + idx[i]) * q], sizeof(double) * q)
                mm(b'N', b'N', n, n, n, 1.0, At, n, L, n, 0.0, &pre[k * w], w)
                for i in range(n):
                    memcpy(&pre[(k + i) * w + n], &Gt[i * q], sizeof(double) * q)
            if store:
                memcpy(&xp[t, 0], x, sizeof(double) * n)
                if not pvalid:
                    mm(b'N', b'T', n, n, n, 1.0, L, n, L, n, 0.0, Pcur, n)
                    pvalid = 1
                memcpy(&Pp[t, 0, 0], Pcur, sizeof(double) * nn)
            if store and frozen:
                memcpy(&F[t, 0, 0], &F[t - 1, 0, 0], sizeof(double) * p * p)
            elif store:
                # F = C P C' + R (reported on all channels)
                mm(b'N', b'N', p, n, n, 1.0, Ct, n, Pcur, n, 0.0, T1, n)
                memcpy(&F[t, 0, 0], &R[t if TR > 1 else 0, 0, 0], sizeof(double) * p * p)
                mm(b'N', b'T', p, p, n, 1.0, T1, n, Ct, n, 1.0, &F[t, 0, 0], p)
                # Y = C_W L (rows of the pre-array), kept before the QR overwrites them
                for i in range(k):
                    memcpy(&Y[i * n], &pre[i * w], sizeof(double) * n)
            if not frozen:
                dgeqrf(&w, &rows, pre, &w, tau, qwork, &lwork, &info)
                for i in range(k):
                    if pre[i * w + i] == 0.0:
                        bad = t
                        break
                    if pre[i * w + i] < 0.0:
                        # flip column i of post (rows i..): a sign change of Theta's column
                        for l in range(i, rows):
                            pre[l * w + i] = -pre[l * w + i]
                if bad >= 0:
                    break
                ld = 0.0
                for i in range(k):
                    for j in range(k):
                        Fh[i * k + j] = pre[i * w + j] if j <= i else 0.0
                    for j in range(n):
                        Kb[j * k + i] = pre[(k + j) * w + i]
                    ld = ld + 2.0 * log(Fh[i * k + i])
            ll = 0.0
            for i in range(k):
                acc = y[t, idx[i]] - d[t if Td > 1 else 0, idx[i]]
                for l in range(n):
                    acc = acc - Ct[idx[i] * n + l] * x[l]
                e[i] = acc
                if store:
                    tmp[i] = acc
            lower_solve(k, Fh, k, e)
            for i in range(k):
                ll = ll + e[i] * e[i]
            ll = -0.5 * (k * LOG2PI + ld + ll)
            llobs[t] = ll
            total = total + ll
            # x_{t+1} = A x + c + K F^{1/2} e
            for i in range(n):
                acc = c[t if Tc > 1 else 0, i]
                for l in range(n):
                    acc = acc + At[i * n + l] * x[l]
                for l in range(k):
                    acc = acc + Kb[i * k + l] * e[l]
                xn[i] = acc
            if store:
                memset(&v[t, 0], 0, sizeof(double) * p)
                for i in range(k):
                    v[t, idx[i]] = tmp[i]
            if store and frozen:
                memcpy(&Pf[t, 0, 0], &Pf[t - 1, 0, 0], sizeof(double) * nn)
                memcpy(&Finv[t, 0, 0], &Finv[t - 1, 0, 0], sizeof(double) * p * p)
                memcpy(&Kout[t, 0, 0], &Kout[t - 1, 0, 0], sizeof(double) * n * p)
            elif store:
                memset(&Finv[t, 0, 0], 0, sizeof(double) * p * p)
                memset(&Kout[t, 0, 0], 0, sizeof(double) * n * p)
                # Y <- F^{-1/2} C_W L ; filtered: x + L Y' e, P - (L Y')(L Y')'
                for j in range(n):
                    for i in range(k):
                        tmp[i] = Y[i * n + j]
                    lower_solve(k, Fh, k, tmp)
                    for i in range(k):
                        Y[i * n + j] = tmp[i]
                mm(b'N', b'T', n, k, n, 1.0, L, n, Y, n, 0.0, LY, k)
                memcpy(&Pf[t, 0, 0], Pcur, sizeof(double) * nn)
                mm(b'N', b'T', n, n, k, -1.0, LY, k, LY, k, 1.0, &Pf[t, 0, 0], n)
                symmetrize(&Pf[t, 0, 0], n)
                # F^-1 = F^{-T/2} F^{-1/2}; K = K F^{1/2} F^{-1/2}
                for j in range(k):
                    for i in range(k):
                        tmp[i] = 1.0 if i == j else 0.0
                    lower_solve(k, Fh, k, tmp)
                    for i in range(k):
                        Fi[i * k + j] = tmp[i]          # column j of F^{-1/2}
                for i in range(k):
                    for j in range(k):
                        acc = 0.0
                        for l in range(k):
                            acc = acc + Fi[l * k + i] * Fi[l * k + j]
                        Finv[t, idx[i], idx[j]] = acc
                    for j in range(n):
                        acc = 0.0
                        for l in range(k):
                            acc = acc + Kb[j * k + l] * Fi[l * k + i]
                        Kout[t, j, idx[i]] = acc
            if store:
                # filtered state x + L Y' e (LY of the last step that formed it)
                for i in range(n):
                    acc = x[i]
                    for l in range(k):
                        acc = acc + LY[i * k + l] * e[l]
                    xf[t, i] = acc
            memcpy(x, xn, sizeof(double) * n)
            if not frozen:
                # else (steady start) L stays a factor of the Riccati solution
                if not converged:
                    if ti and k == p and tol >= 0.0:
                        if not pvalid:
                            mm(b'N', b'T', n, n, n, 1.0, L, n, L, n, 0.0, Pcur, n)
                    for i in range(n):
                        for j in range(n):
                            L[i * n + j] = pre[(k + i) * w + k + j] if j <= i else 0.0
                    pvalid = 0
                    if ti and k == p and tol >= 0.0:
                        mm(b'N', b'T', n, n, n, 1.0, L, n, L, n, 0.0, Pnx, n)
                        if has_converged(Pnx, Pcur, n, tol):
                            converged = 1
                        swap = Pcur
                        Pcur = Pnx
                        Pnx = swap
                        pvalid = 1
                have_buf = 1 if k == p else 0
            if s_st:
                steady[t] = 1 if frozen else 0
        if bad < 0 and store:
            memcpy(&xp[T, 0], x, sizeof(double) * n)
            if not pvalid:
                mm(b'N', b'T', n, n, n, 1.0, L, n, L, n, 0.0, Pcur, n)
            memcpy(&Pp[T, 0, 0], Pcur, sizeof(double) * nn)
    loglik[0] = total
    # Pcur may point into Pnx after the swaps; free the block by its base
    free(work)
    free(idx)
    return bad
