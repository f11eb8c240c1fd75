# Univariate (sequential) Kalman filter step for diagonal R (Durbin & Koopman 2012,
# section 6.4; Koopman & Durbin 2000), with correlated noise removed before the
# prediction (Anderson & Moore 1979, section 5.5). Included by _kalman_filter.pyx; the
# step interface is described there.
#
# The observed channels i in W are absorbed one at a time as scalar observations:
#
#     f = c_i P c_i' + R_ii,   k = P c_i' / f,   e = y_i - c_i a - d_i
#     a <- a + k e,   P <- P - k k' f,   log-density += -1/2 (log 2 pi + log f + e^2 / f)
#
# leaving a = x[t|t], P = P[t|t]; then, with G = S_W R_W^-1,
# x[t+1] = A x[t|t] + c + G (y_W - C_W x[t|t] - d_W) and
# P[t+1] = (A - G C_W) P[t|t] (A - G C_W)' + Q - G R_W G'.
# The covariance part (the vectors P c_i', the variances f, P[t|t], A - G C_W and
# Q - G R_W G') does not depend on the data: it runs once per step for all series and
# is kept while the recursion is frozen; the state part replays it for each series. No
# p x p matrix is factored by the recursion: F, F^-1 and the gain are formed on the side,
# only when stored (the smoother needs them).

from libc.math cimport log
from libc.string cimport memcpy, memset
from scipy.linalg.cython_lapack cimport dpotrf, dpotri


cdef struct UnivariateWork:
    double* At2                # A - G C_W (n, n)
    double* Q2                 # Q - G R_W G' (n, n)
    double* T1                 # (n, n) scratch
    double* T2                 # (n, n) scratch
    double* M                  # P C' (n, p)
    double* Gm                 # A P C_W' + S_W (n, k)
    double* Kw                 # (A P C_W' + S_W) F_W^-1 (n, k)
    double* Fi                 # F_W, then its inverse (k, k)
    double* Pcs                # P c_i' of each channel of the sequential update (k, n)
    double* fs                 # f of each channel (k,)
    double* lfs                # log f (k,)
    double* G                  # S_W R_W^-1 (n, k), when corr
    double* a                  # (n,) the state of the sequential update
    bint corr                  # S_W != 0


cdef void univariate_layout(UnivariateWork* w, Arena* a, int n, int p) noexcept nogil:
    w.At2 = take(a, n * n)
    w.Q2 = take(a, n * n)
    w.T1 = take(a, n * n)
    w.T2 = take(a, n * n)
    w.M = take(a, n * p)
    w.Gm = take(a, n * p)
    w.Kw = take(a, n * p)
    w.Fi = take(a, p * p)
    w.Pcs = take(a, n * p)
    w.fs = take(a, p)
    w.lfs = take(a, p)
    w.G = take(a, n * p)
    w.a = take(a, n)


cdef void univariate_side_outputs(Step* s, UnivariateWork* w, const Model* m) noexcept nogil:
    """F = C P C' + R on all channels; F_W^-1 and K = (A P C_W' + S_W) F_W^-1 (zero at
    missing channels, and where F_W is not positive definite: they are reported, the
    sequential recursion needs no inverse)."""
    cdef int n = s.n, p = s.p, k = s.k, i, j, info = 0
    cdef const int* idx = s.idx
    cdef char lo = b'L'
    mm(b'N', b'T', n, p, n, 1.0, s.P, n, m.Ct, n, 0.0, w.M, p)
    memcpy(s.F, m.Rt, sizeof(double) * p * p)
    mm(b'N', b'N', p, p, n, 1.0, m.Ct, n, w.M, p, 1.0, s.F, p)
    symmetrize(s.F, p)
    memset(s.Finv, 0, sizeof(double) * p * p)
    memset(s.K, 0, sizeof(double) * n * p)
    if k == 0:
        return
    for i in range(k):
        for j in range(k):
            w.Fi[i * k + j] = s.F[idx[i] * p + idx[j]]
    dpotrf(&lo, &k, w.Fi, &k, &info)
    if info == 0:
        dpotri(&lo, &k, w.Fi, &k, &info)
    if info != 0:
        return
    for i in range(k):
        for j in range(i):
            w.Fi[i * k + j] = w.Fi[j * k + i]
    for i in range(k):
        for j in range(k):
            s.Finv[idx[i] * p + idx[j]] = w.Fi[i * k + j]
    for i in range(n):
        for j in range(k):
            w.Gm[i * k + j] = m.St[i * p + idx[j]]
            w.T1[i * k + j] = w.M[i * p + idx[j]]
    mm(b'N', b'N', n, k, n, 1.0, m.At, n, w.T1, k, 1.0, w.Gm, k)
    mm(b'N', b'N', n, k, k, 1.0, w.Gm, k, w.Fi, k, 0.0, w.Kw, k)
    for i in range(n):
        for j in range(k):
            s.K[i * p + idx[j]] = w.Kw[i * k + j]


cdef int univariate_covariance(Step* s, UnivariateWork* w, const Model* m,
                               bint update) noexcept nogil:
    """The covariance part of step t: each channel's P c_i' and f, P[t|t] into s.Pf, the
    decorrelated A - G C_W and Q - G R_W G', and P[t+1] into s.Pn when update. Returns 1
    for a non-positive variance f, 2 for a zero R_ii on a channel correlated with the
    state noise (s.bad_channel the channel)."""
    cdef int n = s.n, p = s.p, k = s.k, i, j, jj, l
    cdef const int* idx = s.idx
    cdef const double* Ct = m.Ct
    cdef const double* Rt = m.Rt
    cdef const double* St = m.St
    cdef double* Pt = s.Pf
    cdef double* Pcs = w.Pcs
    cdef double* fs = w.fs
    cdef double* lfs = w.lfs
    cdef double* Pc
    cdef double f, q
    if s.want_F or s.want_Finv or s.want_K:
        univariate_side_outputs(s, w, m)
    memcpy(Pt, s.P, sizeof(double) * n * n)
    for jj in range(k):
        j = idx[jj]
        Pc = Pcs + jj * n
        for i in range(n):
            q = 0.0
            for l in range(n):
                q = q + Pt[i * n + l] * Ct[j * n + l]
            Pc[i] = q
        f = Rt[j * p + j]
        for l in range(n):
            f = f + Ct[j * n + l] * Pc[l]
        if not f > 1e-300:
            s.bad_channel = j
            return 1
        fs[jj] = f
        lfs[jj] = log(f)
        for i in range(n):
            q = Pc[i] / f
            for l in range(n):
                Pt[i * n + l] = Pt[i * n + l] - q * Pc[l]
    symmetrize(Pt, n)
    # decorrelation: G = S_W R_W^-1
    w.corr = 0
    for jj in range(k):
        for i in range(n):
            if St[i * p + idx[jj]] != 0.0:
                w.corr = 1
    memcpy(w.At2, m.At, sizeof(double) * n * n)
    memcpy(w.Q2, m.Qt, sizeof(double) * n * n)
    if w.corr:
        for jj in range(k):
            j = idx[jj]
            f = Rt[j * p + j]
            if not f > 0.0:
                s.bad_channel = j
                return 2
            for i in range(n):
                q = St[i * p + j] / f
                w.G[i * k + jj] = q
                for l in range(n):
                    w.At2[i * n + l] = w.At2[i * n + l] - q * Ct[j * n + l]
                    w.Q2[i * n + l] = w.Q2[i * n + l] - q * St[l * p + j]
    if update:
        # P[t+1] = At2 Pt At2' + Q2, as At2 (At2 Pt)' (Pt symmetric)
        mm(b'N', b'N', n, n, n, 1.0, w.At2, n, Pt, n, 0.0, w.T1, n)
        for i in range(n):
            for l in range(n):
                w.T2[i * n + l] = w.T1[l * n + i]
        memcpy(s.Pn, w.Q2, sizeof(double) * n * n)
        mm(b'N', b'N', n, n, n, 1.0, w.At2, n, w.T2, n, 1.0, s.Pn, n)
        symmetrize(s.Pn, n)
    return 0


cdef inline double univariate_state(Step* s, UnivariateWork* w, const Model* m, int i,
                                    int t, const double* x, double* xn, double* xf,
                                    double* v) noexcept nogil:
    """Series i: the sequential update replayed from the covariance part, then the
    decorrelated prediction. x[t|t] into xf (not NULL), the innovations into v (not
    NULL). Returns the log-density."""
    cdef int n = s.n, k = s.k, j, jj, l, r
    cdef const int* idx = s.idx
    cdef const double* Ct = m.Ct
    cdef const double* At = m.At
    cdef const double* yt = panel_at(m.y, i, t)
    cdef const double* dt = panel_at(m.d, i, t)
    cdef const double* ct = panel_at(m.c, i, t)
    cdef const double* Pcs = w.Pcs
    cdef const double* fs = w.fs
    cdef const double* lfs = w.lfs
    cdef const double* G = w.G
    cdef double* a = xf if xf != NULL else w.a
    cdef const double* Pc
    cdef double e, f, q, ll = 0.0
    if v != NULL:
        for jj in range(k):
            j = idx[jj]
            q = yt[j] - dt[j]
            for l in range(n):
                q = q - Ct[j * n + l] * x[l]
            v[j] = q
    memcpy(a, x, sizeof(double) * n)
    for jj in range(k):
        j = idx[jj]
        Pc = Pcs + jj * n
        e = yt[j] - dt[j]
        for l in range(n):
            e = e - Ct[j * n + l] * a[l]
        f = fs[jj]
        for r in range(n):
            a[r] = a[r] + Pc[r] * (e / f)
        ll = ll - 0.5 * (LOG2PI + lfs[jj] + e * e / f)
    for r in range(n):
        q = ct[r]
        for l in range(n):
            q = q + At[r * n + l] * a[l]
        xn[r] = q
    if w.corr:
        for jj in range(k):
            j = idx[jj]
            e = yt[j] - dt[j]
            for l in range(n):
                e = e - Ct[j * n + l] * a[l]
            for r in range(n):
                xn[r] = xn[r] + G[r * k + jj] * e
    return ll
