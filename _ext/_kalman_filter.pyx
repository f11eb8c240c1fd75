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

Products go through ``mm`` (``_kalman_linalg.pxi``): dgemm, whose small-matrix kernels
are the fastest from n = 6 on, and plain loops below; symmetric results (P[t+1], P[t|t])
are mirrored from one triangle. The likelihood-only kernel runs its covariance step in C
over a basis where A is sparse (``realize/filtering/_basis.py``).
"""

from libc.math cimport log, fabs, sqrt
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memset
include "_kalman_linalg.pxi"

cdef double LOG2PI = 1.8378770664093453


cdef inline int cholesky_observed(int k, int p, const int* idx, const double* F, double* L,
                                  double* logdet) noexcept nogil:
    """Lower Cholesky factor of the observed block F[W, W] of the row-major (p, p) F into
    the row-major (k, k) block of L (row stride p), with the reciprocals of its diagonal
    on the diagonal (divisions become products). Adds log det F_W to logdet.
    Returns 0, or 1 if F_W is not positive definite."""
    cdef int i, j, m
    cdef double acc
    for i in range(k):
        for j in range(i + 1):
            acc = F[idx[i] * p + idx[j]]
            for m in range(j):
                acc = acc - L[i * p + m] * L[j * p + m]
            if i == j:
                if not acc > 0.0:
                    return 1
                L[i * p + i] = 1.0 / sqrt(acc)
                logdet[0] = logdet[0] + log(acc)
            else:
                L[i * p + j] = acc * L[j * p + j]
    return 0


cdef inline void forward_rows(int k, int n, int p, const double* L,
                              double* X) noexcept nogil:
    """X <- L^-1 X in place for the (k, n) row-major X, with L the factor of
    :func:`cholesky_observed` (reciprocal diagonal, row stride p)."""
    cdef int m, j, i
    cdef double a
    for m in range(k):
        for j in range(m):
            a = L[m * p + j]
            for i in range(n):
                X[m * n + i] = X[m * n + i] - a * X[j * n + i]
        a = L[m * p + m]
        for i in range(n):
            X[m * n + i] = X[m * n + i] * a


cdef inline double whitened_innovation(
        int k, int n, int p, const int* idx, const double* yt, const double* dt,
        const double* Cm, const double* x, const double* L, double* Z,
        double* v) noexcept nogil:
    """z = L^-1 (y_W - d_W - C_W x) into Z (k,), with L the factor of
    :func:`cholesky_observed` (reciprocal diagonal, row stride p); the innovations
    themselves into v[idx] unless v is NULL. Returns z'z = v' F_W^-1 v."""
    cdef int m, j, l
    cdef double acc, q = 0.0
    for m in range(k):
        l = idx[m]
        acc = yt[l] - dt[l]
        for j in range(n):
            acc = acc - Cm[l * n + j] * x[j]
        if v != NULL:
            v[l] = acc
        for j in range(m):
            acc = acc - L[m * p + j] * Z[j]
        Z[m] = acc * L[m * p + m]
        q = q + Z[m] * Z[m]
    return q


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
    Kout (T, n, p), llobs (N, T), steady (T,). Q, R and P0 must be symmetric.

    The matrix products go through :func:`mm` / :func:`mm_sym` (dgemm, or plain loops
    for the tiniest), symmetric results are mirrored from one triangle, and only the
    observed rows W enter the update (DK 4.10): with L the Cholesky factor of
    F_W = C_W P C_W' + R_W,

        H = (A P C_W' + S_W) L^-T,  M = P C_W' L^-T,  z = L^-1 v,
        x[t+1] = A x + c + H z,     P[t+1] = A P A' + Q - H H',
        x[t|t] = x + M z,           P[t|t] = P - M M',
        K = H L^-1 (zero columns at missing channels),  F_W^-1 = L^-T L^-1.

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
        5 * nn + 6 * np_ + 4 * pp + 3 * N * n + 2 * N * p + n + 8))
    cdef int* idx = <int*>malloc(sizeof(int) * (p + 1))
    if work == NULL or idx == NULL:
        free(work)
        free(idx)
        raise MemoryError()
    cdef double* P = work                 # predicted covariance P[t]
    cdef double* Pn = P + nn              # P[t+1]
    cdef double* APt = Pn + nn            # (A P)' = P A'
    cdef double* B = APt + nn             # A P
    cdef double* Pfw = B + nn             # filtered covariance P[t|t]
    cdef double* CP = Pfw + nn            # C P (p, n), all channels
    cdef double* CW = CP + np_            # C_W (k, n)
    cdef double* HT = CW + np_            # H' (k, n)
    cdef double* MT = HT + np_            # M' (k, n)
    cdef double* KT = MT + np_            # K_W' (k, n)
    cdef double* Kpad = KT + np_          # predictor gain (n, p), zero at missing channels
    cdef double* Ff = Kpad + np_          # C P C' + R (p, p), all channels
    cdef double* L = Ff + pp              # Cholesky factor of F_W, reciprocal diagonal
    cdef double* Li = L + pp              # L^-1 (k, k)
    cdef double* Fi = Li + pp             # F_W^-1 (p, p), zero at missing channels
    cdef double* X = Fi + pp              # states (N, n)
    cdef double* Xn = X + N * n
    cdef double* Xf = Xn + N * n
    cdef double* V = Xf + N * n           # innovations (N, k)
    cdef double* Z = V + N * p            # L^-1 v (N, k)
    cdef double* Xc = Z + N * p           # (n,) scratch
    cdef double* swap
    cdef int t, i, j, l, m, k = 0, bad = -1
    cdef int have_buf = 0, converged = 0, frozen
    cdef bint need_m = s_xf or s_Pf
    cdef double logdet = 0.0, q, acc, a
    cdef const double* At
    cdef const double* Ct
    cdef const double* Qt
    cdef const double* Rt
    cdef const double* St
    cdef const double* ct
    cdef double* x

    with nogil:
        memcpy(P, &P0[0, 0], sizeof(double) * nn)
        for i in range(N):
            memcpy(X + i * n, &x0[i if N0 > 1 else 0, 0], sizeof(double) * n)
            loglik[i] = 0.0
        converged = 1 if steady_start and ti else 0
        for t in range(T):
            At = &A[t if TA > 1 else 0, 0, 0]
            Ct = &C[t if TC > 1 else 0, 0, 0]
            Qt = &Q[t if TQ > 1 else 0, 0, 0]
            Rt = &R[t if TR > 1 else 0, 0, 0]
            St = &S[t if TS > 1 else 0, 0, 0]
            k = observed_channels(&y[0, t, 0], p, idx)
            if k < p:
                converged = 0
            frozen = converged and have_buf
            if not frozen:
                # C P on all channels, and B' = (A P)' = P A' (P symmetric)
                mm(b'N', b'N', p, n, n, 1.0, Ct, n, P, n, 0.0, CP, n)
                mm(b'N', b'N', n, n, n, 1.0, At, n, P, n, 0.0, B, n)
                for i in range(n):
                    for j in range(n):
                        APt[j * n + i] = B[i * n + j]
                # F = C P C' + R (symmetric), then the Cholesky factor of F_W
                for i in range(p):
                    for j in range(i + 1):
                        acc = Rt[i * p + j]
                        for l in range(n):
                            acc = acc + CP[i * n + l] * Ct[j * n + l]
                        Ff[i * p + j] = acc
                        Ff[j * p + i] = acc
                logdet = 0.0
                if cholesky_observed(k, p, idx, Ff, L, &logdet):
                    bad = t
                    break
                # H' = L^-1 (C_W P A' + S_W'), M' = L^-1 C_W P (rows by forward substitution),
                # with C_W P A' = C_W (P A')
                for m in range(k):
                    l = idx[m]
                    memcpy(CW + m * n, Ct + l * n, sizeof(double) * n)
                    for i in range(n):
                        HT[m * n + i] = St[i * p + l]
                mm(b'N', b'N', k, n, n, 1.0, CW, n, APt, n, 1.0, HT, n)
                forward_rows(k, n, p, L, HT)
                if need_m:
                    for m in range(k):
                        memcpy(MT + m * n, CP + idx[m] * n, sizeof(double) * n)
                    forward_rows(k, n, p, L, MT)
                if s_K:
                    # K_W' = L^-T H' (back substitution), padded into (n, p)
                    for m in range(k - 1, -1, -1):
                        for i in range(n):
                            Xc[i] = HT[m * n + i]
                        for j in range(m + 1, k):
                            a = L[j * p + m]
                            for i in range(n):
                                Xc[i] = Xc[i] - a * KT[j * n + i]
                        a = L[m * p + m]
                        for i in range(n):
                            KT[m * n + i] = Xc[i] * a
                    memset(Kpad, 0, sizeof(double) * np_)
                    for m in range(k):
                        for i in range(n):
                            Kpad[i * p + idx[m]] = KT[m * n + i]
                if s_Fi:
                    # L^-1 (lower), then F_W^-1 = L^-T L^-1, padded into (p, p)
                    for i in range(k):
                        Li[i * p + i] = L[i * p + i]
                        for j in range(i):
                            acc = 0.0
                            for m in range(j, i):
                                acc = acc + L[i * p + m] * Li[m * p + j]
                            Li[i * p + j] = -acc * L[i * p + i]
                    memset(Fi, 0, sizeof(double) * pp)
                    for i in range(k):
                        for j in range(i + 1):
                            acc = 0.0
                            for m in range(i, k):
                                acc = acc + Li[m * p + i] * Li[m * p + j]
                            Fi[idx[i] * p + idx[j]] = acc
                            Fi[idx[j] * p + idx[i]] = acc
                if s_Pf:
                    # P[t|t] = P - M M'
                    memcpy(Pfw, P, sizeof(double) * nn)
                    if k > 0:
                        mm_sym(b'T', n, k, -1.0, MT, n, MT, n, 1.0, Pfw, n)
                if converged:
                    # steady start: P stays at the Riccati solution
                    memcpy(Pn, P, sizeof(double) * nn)
                else:
                    # P[t+1] = A (P A') + Q - H H'
                    # (mirrored once, after the last term)
                    memcpy(Pn, Qt, sizeof(double) * nn)
                    mm(b'N', b'N', n, n, n, 1.0, At, n, APt, n, 1.0, Pn, n)
                    if k > 0:
                        mm_sym(b'T', n, k, -1.0, HT, n, HT, n, 1.0, Pn, n)
                    else:
                        sd_mirror(n, Pn, n)
                    if ti and k == p and tol >= 0.0:
                        if has_converged(Pn, P, n, tol):
                            converged = 1
                have_buf = 1 if k == p else 0

            # ---- outputs of this step that do not depend on the series
            if s_Pp:
                memcpy(&Pp[t, 0, 0], P, sizeof(double) * nn)
            if s_Pf:
                memcpy(&Pf[t, 0, 0], Pfw, sizeof(double) * nn)
            if s_F:
                memcpy(&F[t, 0, 0], Ff, sizeof(double) * pp)
            if s_Fi:
                memcpy(&Finv[t, 0, 0], Fi, sizeof(double) * pp)
            if s_K:
                memcpy(&Kout[t, 0, 0], Kpad, sizeof(double) * np_)
            if s_st:
                steady[t] = 1 if frozen else 0

            # ---- states: x[t+1] = A x + c + H z, x[t|t] = x + M z, z = L^-1 v
            for i in range(N):
                x = X + i * n
                if s_xp:
                    memcpy(&xp[i, t, 0], x, sizeof(double) * n)
                ct = &c[i if Nc > 1 else 0, t if Tc > 1 else 0, 0]
                for j in range(n):
                    acc = ct[j]
                    for l in range(n):
                        acc = acc + At[j * n + l] * x[l]
                    Xn[i * n + j] = acc
                if s_xf:
                    memcpy(Xf, x, sizeof(double) * n)
                if s_v:
                    memset(&v[i, t, 0], 0, sizeof(double) * p)
                if k > 0:
                    q = whitened_innovation(
                        k, n, p, idx, &y[i, t, 0], &d[i if Nd > 1 else 0, t if Td > 1 else 0, 0],
                        Ct, x, L, Z, &v[i, t, 0] if s_v else NULL)
                    q = -0.5 * (k * LOG2PI + logdet + q)
                    loglik[i] += q
                    if s_ll:
                        llobs[i, t] = q
                    for m in range(k):
                        a = Z[m]
                        for j in range(n):
                            Xn[i * n + j] = Xn[i * n + j] + a * HT[m * n + j]
                        if s_xf:
                            for j in range(n):
                                Xf[j] = Xf[j] + a * MT[m * n + j]
                elif s_ll:
                    llobs[i, t] = 0.0
                if s_xf:
                    memcpy(&xf[i, t, 0], Xf, sizeof(double) * n)
            swap = X
            X = Xn
            Xn = swap
            if not frozen:
                swap = P
                P = Pn
                Pn = swap
        if bad < 0:
            if s_xp:
                for i in range(N):
                    memcpy(&xp[i, T, 0], X + i * n, sizeof(double) * n)
            if s_Pp:
                memcpy(&Pp[T, 0, 0], P, sizeof(double) * nn)
    # X and P may point into the other halves after the swaps; free the block by its base
    free(work)
    free(idx)
    return bad


cdef extern from *:
    """
    /* One covariance step of the likelihood-only recursion (see conventional_loglik).
       A is block diagonal with blocks of size 1 or 2: row i is a0[i] e_j0[i]' +
       a1[i] e_j1[i]' (a1[i] = 0 for a 1 x 1 block). In: P (n x n, symmetric, full), the
       k observed channels idx. Out: L (row stride p) the lower
       Cholesky factor of F_W = C_W P C_W' + R_W with the reciprocals of its diagonal,
       *logdet = log det F_W, HT (k x n) = L^-1 (C_W P A' + S_W'), and, when Pn is not
       NULL, Pn = A P A' + Q - H H' (full). ST is S' (p x n), CP = C_W P (k x n, computed
       by the caller with dgemm). Scratch: B (n x n).
       Returns 0, or 1 if F_W is not positive definite. Plain loops over restrict
       pointers: the axpy loops along rows vectorize. */
    static int kf_loglik_cov(int n, int p, int k, const int *restrict idx,
        const int *restrict j0, const int *restrict j1, const double *restrict a0,
        const double *restrict a1,
        const double *restrict Cm, const double *restrict Q, const double *restrict R,
        const double *restrict ST, const double *restrict P, double *restrict Pn,
        double *restrict CP, double *restrict B, double *restrict HT,
        double *restrict L, double *logdet)
    {
        int i, j, l, m;
        double acc, a, prod = 1.0, logacc = 0.0;
        /* F_W and its Cholesky factor; log det from a running product of the pivots
           (one log per step), taken out of the product before it can over/underflow */
        for (i = 0; i < k; i++) {
            const double *restrict cpi = CP + (size_t)i * n;
            for (j = 0; j <= i; j++) {
                const double *restrict cj = Cm + (size_t)idx[j] * n;
                acc = R[idx[i] * p + idx[j]];
                for (l = 0; l < n; l++) acc += cpi[l] * cj[l];
                for (m = 0; m < j; m++) acc -= L[i * p + m] * L[j * p + m];
                if (i == j) {
                    if (!(acc > 0.0)) return 1;
                    L[i * p + i] = 1.0 / sqrt(acc);
                    if (acc > 1e-100 && acc < 1e100) {
                        prod *= acc;
                        if (prod > 1e100 || prod < 1e-100) { logacc += log(prod); prod = 1.0; }
                    } else {
                        logacc += log(acc);
                    }
                } else {
                    L[i * p + j] = acc * L[j * p + j];
                }
            }
        }
        *logdet = logacc + log(prod);
        /* H' = L^-1 (C_W P A' + S_W'): (C_W P A')[m, i] = sum_l A[i, l] (C_W P)[m, l] */
        for (m = 0; m < k; m++) {
            double *restrict h = HT + (size_t)m * n;
            const double *restrict cp = CP + (size_t)m * n;
            const double *restrict st = ST + (size_t)idx[m] * n;
            for (i = 0; i < n; i++) h[i] = st[i] + a0[i] * cp[j0[i]] + a1[i] * cp[j1[i]];
            for (j = 0; j < m; j++) {
                const double *restrict hj = HT + (size_t)j * n;
                a = L[m * p + j];
                for (i = 0; i < n; i++) h[i] -= a * hj[i];
            }
            a = L[m * p + m];
            for (i = 0; i < n; i++) h[i] *= a;
        }
        if (Pn == NULL) return 0;
        /* B = A P by rows */
        for (i = 0; i < n; i++) {
            double *restrict b = B + (size_t)i * n;
            const double *restrict p0 = P + (size_t)j0[i] * n;
            const double *restrict p1 = P + (size_t)j1[i] * n;
            double x0 = a0[i], x1 = a1[i];
            for (j = 0; j < n; j++) b[j] = x0 * p0[j] + x1 * p1[j];
        }
        /* P[t+1] = B A' + Q - H H', upper triangle by rows, then mirrored */
        for (i = 0; i < n; i++) {
            double *restrict pn = Pn + (size_t)i * n;
            const double *restrict b = B + (size_t)i * n;
            const double *restrict q = Q + (size_t)i * n;
            for (j = i; j < n; j++) pn[j] = q[j] + a0[j] * b[j0[j]] + a1[j] * b[j1[j]];
            for (m = 0; m < k; m++) {
                const double *restrict h = HT + (size_t)m * n;
                a = h[i];
                for (j = i; j < n; j++) pn[j] -= a * h[j];
            }
        }
        for (i = 1; i < n; i++)
            for (j = 0; j < i; j++) Pn[(size_t)i * n + j] = Pn[(size_t)j * n + i];
        return 0;
    }
    """
    int kf_loglik_cov(int n, int p, int k, const int* idx, const int* j0, const int* j1,
                      const double* a0, const double* a1, const double* Cm, const double* Q, const double* R,
                      const double* ST, const double* P, double* Pn, double* CP, double* B,
                      double* HT, double* L, double* logdet) noexcept nogil


def conventional_loglik(
    const double[:, ::1] A, const double[:, ::1] C, const double[:, ::1] Q,
    const double[:, ::1] R, const double[:, ::1] S,
    const double[:, :, ::1] c, const double[:, :, ::1] d, const double[:, :, ::1] y,
    const double[:, ::1] x0, const double[:, ::1] P0, double tol, bint steady_start,
    const int[::1] lo, const int[::1] hi, double[::1] loglik):
    """Log-likelihood only, time-invariant matrices: the recursion of
    :func:`conventional_filter` (same steady-state switch, same result) with nothing
    stored, A block diagonal (the modal basis of ``realize/filtering/_basis.py``), the
    covariance step in C (``kf_loglik_cov``: loops of fixed length two over the rows of
    A, which a BLAS call cannot exploit) and C_W P through :func:`mm`.

    Per step only the observed rows W enter (DK 4.10): with L the Cholesky factor of
    F = C_W P C_W' + R_W and G = A P C_W' + S_W,

        z = L^-1 v,  log-density -1/2 (k log 2 pi + log det F + z'z),
        x <- A x + c + (G L^-T) z,   P <- A P A' + Q - (G L^-T)(G L^-T)',

    with only the upper triangle of the symmetric P[t+1] formed, then mirrored.
    Row i of A is nonzero only in its block, the columns ``lo[i] <= l < hi[i]`` with
    ``hi[i] - lo[i]`` 1 or 2 (ValueError otherwise). Q must be symmetric.
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
        3 * nn + 5 * np_ + 2 * pp + 2 * N * n + N * p + 8))
    cdef int* idx = <int*>malloc(sizeof(int) * (p + 1 + 2 * n))
    cdef double* two = <double*>malloc(sizeof(double) * (2 * n + 1))
    if work == NULL or idx == NULL or two == NULL:
        free(work)
        free(idx)
        free(two)
        raise MemoryError()
    cdef int* J0 = idx + p + 1
    cdef int* J1 = J0 + n
    cdef double* A0 = two
    cdef double* A1 = two + n
    cdef double* P = work                 # predicted covariance P[t]
    cdef double* Pn = P + nn              # P[t+1]
    cdef double* B = Pn + nn              # A P
    cdef double* CP = B + nn              # C_W P (k, n)
    cdef double* CW = CP + np_            # C_W (k, n)
    cdef double* ST = CW + np_            # S' (p, n)
    cdef double* HT = ST + np_            # H' = L^-1 (C_W P A' + S_W') (k, n)
    cdef double* HTss = HT + np_          # frozen H' (p, n)
    cdef double* L = HTss + np_           # lower Cholesky factor of F_W, row stride p,
    #                                     with the reciprocals of its diagonal
    cdef double* Lss = L + pp             # frozen L (p, p)
    cdef double* X = Lss + pp             # states (N, n)
    cdef double* Xn = X + N * n
    cdef double* Z = Xn + N * n           # L^-1 v (k,)
    cdef double* swap
    cdef double* HTc
    cdef double* Lc
    cdef int t, i, j, m, k = 0, bad = -1, have_buf = 0, converged = 0, frozen
    cdef double logdet_ss = 0.0, ld, q, a
    cdef const double* ct
    cdef const double* Cp = &C[0, 0]

    # the rows of the block-diagonal A: A[i] = a0 e_j0' + a1 e_j1'
    for i in range(n):
        if not (1 <= hi[i] - lo[i] <= 2 and 0 <= lo[i] and hi[i] <= n):
            free(work)
            free(idx)
            free(two)
            raise ValueError("conventional_loglik: A must be block diagonal, blocks 1 or 2")
        J0[i] = lo[i]
        J1[i] = hi[i] - 1
        A0[i] = A[i, J0[i]]
        A1[i] = A[i, J1[i]] if J1[i] != J0[i] else 0.0
    with nogil:
        memcpy(P, &P0[0, 0], sizeof(double) * nn)
        for i in range(n):
            for j in range(p):
                ST[j * n + i] = S[i, j]
        for i in range(N):
            memcpy(X + i * n, &x0[i if N0 > 1 else 0, 0], sizeof(double) * n)
            loglik[i] = 0.0
        converged = 1 if steady_start else 0
        for t in range(T):
            k = observed_channels(&y[0, t, 0], p, idx)
            if k < p:
                converged = 0
            frozen = converged and have_buf
            if frozen:
                HTc = HTss
                Lc = Lss
                ld = logdet_ss
            else:
                HTc = HT
                Lc = L
                ld = 0.0
                if k > 0 or not converged:
                    # C_W P (a BLAS product from n = 6 on, see mm)
                    for m in range(k):
                        memcpy(CW + m * n, Cp + idx[m] * n, sizeof(double) * n)
                    mm(b'N', b'N', k, n, n, 1.0, CW, n, P, n, 0.0, CP, n)
                    if kf_loglik_cov(n, p, k, idx, J0, J1, A0, A1, Cp, &Q[0, 0],
                                     &R[0, 0], ST,
                                     P, NULL if converged else Pn, CP, B, HT, L, &ld):
                        bad = t
                        break
                if not converged:
                    if k == p and tol >= 0.0:
                        if has_converged(Pn, P, n, tol):
                            converged = 1
                    swap = P
                    P = Pn
                    Pn = swap
                # else (steady start) P stays at the Riccati solution
                have_buf = 1 if k == p else 0
                if k == p:
                    memcpy(HTss, HT, sizeof(double) * np_)
                    memcpy(Lss, L, sizeof(double) * pp)
                    logdet_ss = ld
            # ---- states: x <- A x + c + H z, z = L^-1 (y_W - C_W x - d_W)
            for i in range(N):
                ct = &c[i if Nc > 1 else 0, t if Tc > 1 else 0, 0]
                for j in range(n):
                    Xn[i * n + j] = ct[j] + A0[j] * X[i * n + J0[j]] + A1[j] * X[i * n + J1[j]]
                if k > 0:
                    q = whitened_innovation(
                        k, n, p, idx, &y[i, t, 0], &d[i if Nd > 1 else 0, t if Td > 1 else 0, 0],
                        Cp, X + i * n, Lc, Z, NULL)
                    loglik[i] += -0.5 * (k * LOG2PI + ld + q)
                    for m in range(k):
                        a = Z[m]
                        for j in range(n):
                            Xn[i * n + j] = Xn[i * n + j] + a * HTc[m * n + j]
            swap = X
            X = Xn
            Xn = swap
    free(work)
    free(idx)
    free(two)
    return bad
