# Conventional Kalman filter step (Durbin & Koopman 2012, sections 4.3 and 4.10; the
# predictor gain with correlated noise S as in DK 3.2.5 / Anderson & Moore 1979, 5.5).
# Included by _kalman_filter.pyx; the step interface is described there.
#
# With W the observed channels of y[t] and L the Cholesky factor of
# F_W = C_W P C_W' + R_W, only the observed rows enter (DK 4.10):
#
#     H = (A P C_W' + S_W) L^-T,  M = P C_W' L^-T,  z = L^-1 v,  v = y_W - C_W x - d_W
#     x[t+1] = A x + c + H z,     P[t+1] = A P A' + Q - H H'
#     x[t|t] = x + M z,           P[t|t] = P - M M'
#     K = H L^-1 (zero columns at missing channels),  F_W^-1 = L^-T L^-1
#     log-density -1/2 (k log 2 pi + log det F_W + z'z)
#
# The factor L is stored with the reciprocals of its diagonal, so that divisions become
# products; symmetric results (P[t+1], P[t|t]) are formed from one triangle.

from libc.math cimport log, sqrt
from libc.string cimport memcpy, memset


cdef struct ConventionalWork:
    double* APt                # (A P)' = P A' (n, n)
    double* B                  # A P (n, n)
    double* CP                 # C P (p, n), all channels
    double* CW                 # C_W (k, n)
    double* HT                 # H' (k, n)
    double* MT                 # M' (k, n)
    double* KT                 # K_W' (k, n)
    double* L                  # factor of F_W (row stride p), reciprocal diagonal
    double* Li                 # L^-1 (k, k), row stride p
    double* Z                  # L^-1 v (k,)
    double* Xc                 # (n,)


cdef void conventional_layout(ConventionalWork* w, Arena* a, int n, int p) noexcept nogil:
    w.APt = take(a, n * n)
    w.B = take(a, n * n)
    w.CP = take(a, n * p)
    w.CW = take(a, n * p)
    w.HT = take(a, n * p)
    w.MT = take(a, n * p)
    w.KT = take(a, n * p)
    w.L = take(a, p * p)
    w.Li = take(a, p * p)
    w.Z = take(a, p)
    w.Xc = take(a, n)


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


cdef inline void gain_from_factor(int k, int n, int p, const int* idx, const double* L,
                                  const double* HT, double* KT, double* Xc,
                                  double* K) noexcept nogil:
    """K_W' = L^-T H' (back substitution) into KT, padded into the (n, p) K."""
    cdef int m, i, j
    cdef double a
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
    memset(K, 0, sizeof(double) * n * p)
    for m in range(k):
        for i in range(n):
            K[i * p + idx[m]] = KT[m * n + i]


cdef inline void inverse_from_factor(int k, int p, const int* idx, const double* L,
                                     double* Li, double* Finv) noexcept nogil:
    """F_W^-1 = L^-T L^-1 (L^-1 lower, into Li), padded into the (p, p) Finv."""
    cdef int i, j, m
    cdef double acc
    for i in range(k):
        Li[i * p + i] = L[i * p + i]
        for j in range(i):
            acc = 0.0
            for m in range(j, i):
                acc = acc + L[i * p + m] * Li[m * p + j]
            Li[i * p + j] = -acc * L[i * p + i]
    memset(Finv, 0, sizeof(double) * p * p)
    for i in range(k):
        for j in range(i + 1):
            acc = 0.0
            for m in range(i, k):
                acc = acc + Li[m * p + i] * Li[m * p + j]
            Finv[idx[i] * p + idx[j]] = acc
            Finv[idx[j] * p + idx[i]] = acc


cdef int conventional_covariance(Step* s, ConventionalWork* w, const Model* m,
                                 bint update) noexcept nogil:
    """The covariance part of step t: F, its factor L, H', M' (and K, F_W^-1, P[t|t] when
    stored); P[t+1] into s.Pn when update. Returns 1 if F_W is not positive definite."""
    cdef int n = s.n, p = s.p, k = s.k, i, j, l
    cdef const int* idx = s.idx
    cdef const double* At = m.At
    cdef const double* Ct = m.Ct
    cdef const double* Rt = m.Rt
    cdef const double* St = m.St
    cdef double acc
    # C P on all channels, and (A P)' = P A' (P symmetric)
    mm(b'N', b'N', p, n, n, 1.0, Ct, n, s.P, n, 0.0, w.CP, n)
    mm(b'N', b'N', n, n, n, 1.0, At, n, s.P, n, 0.0, w.B, n)
    for i in range(n):
        for j in range(n):
            w.APt[j * n + i] = w.B[i * n + j]
    # F = C P C' + R (symmetric), then the Cholesky factor of F_W
    for i in range(p):
        for j in range(i + 1):
            acc = Rt[i * p + j]
            for l in range(n):
                acc = acc + w.CP[i * n + l] * Ct[j * n + l]
            s.F[i * p + j] = acc
            s.F[j * p + i] = acc
    s.logdet = 0.0
    if cholesky_observed(k, p, idx, s.F, w.L, &s.logdet):
        return 1
    # H' = L^-1 (C_W P A' + S_W'), M' = L^-1 C_W P (rows by forward substitution),
    # with C_W P A' = C_W (P A')
    for j in range(k):
        l = idx[j]
        memcpy(w.CW + j * n, Ct + l * n, sizeof(double) * n)
        for i in range(n):
            w.HT[j * n + i] = St[i * p + l]
    mm(b'N', b'N', k, n, n, 1.0, w.CW, n, w.APt, n, 1.0, w.HT, n)
    forward_rows(k, n, p, w.L, w.HT)
    if s.want_xf or s.want_Pf:
        for j in range(k):
            memcpy(w.MT + j * n, w.CP + idx[j] * n, sizeof(double) * n)
        forward_rows(k, n, p, w.L, w.MT)
    if s.want_K:
        gain_from_factor(k, n, p, idx, w.L, w.HT, w.KT, w.Xc, s.K)
    if s.want_Finv:
        inverse_from_factor(k, p, idx, w.L, w.Li, s.Finv)
    if s.want_Pf:
        # P[t|t] = P - M M'
        memcpy(s.Pf, s.P, sizeof(double) * n * n)
        if k > 0:
            mm_sym(b'T', n, k, -1.0, w.MT, n, w.MT, n, 1.0, s.Pf, n)
    if update:
        # P[t+1] = A (P A') + Q - H H' (mirrored once, after the last term)
        memcpy(s.Pn, m.Qt, sizeof(double) * n * n)
        mm(b'N', b'N', n, n, n, 1.0, At, n, w.APt, n, 1.0, s.Pn, n)
        if k > 0:
            mm_sym(b'T', n, k, -1.0, w.HT, n, w.HT, n, 1.0, s.Pn, n)
        else:
            sd_mirror(n, s.Pn, n)
    return 0


cdef inline double conventional_state(Step* s, ConventionalWork* w, const Model* m, int i,
                                      int t, const double* x, double* xn, double* xf,
                                      double* v) noexcept nogil:
    """Series i: x[t+1] = A x + c + H z and (xf not NULL) x[t|t] = x + M z, with
    z = L^-1 v; the innovations into v (not NULL). Returns the log-density."""
    cdef int n = s.n, k = s.k, j, l, r
    cdef const double* ct = panel_at(m.c, i, t)
    cdef const double* At = m.At
    cdef const double* HT = w.HT
    cdef const double* MT = w.MT
    cdef const double* Z = w.Z
    cdef double acc, a, q
    for j in range(n):
        acc = ct[j]
        for l in range(n):
            acc = acc + At[j * n + l] * x[l]
        xn[j] = acc
    if xf != NULL:
        memcpy(xf, x, sizeof(double) * n)
    if k == 0:
        return 0.0
    q = whitened_innovation(k, n, s.p, s.idx, panel_at(m.y, i, t), panel_at(m.d, i, t),
                            m.Ct, x, w.L, w.Z, v)
    for r in range(k):
        a = Z[r]
        for j in range(n):
            xn[j] = xn[j] + a * HT[r * n + j]
        if xf != NULL:
            for j in range(n):
                xf[j] = xf[j] + a * MT[r * n + j]
    return -0.5 * (k * LOG2PI + s.logdet + q)
