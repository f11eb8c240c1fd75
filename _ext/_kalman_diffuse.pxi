# Exact diffuse step (Koopman 1997; Koopman & Durbin 2000; Durbin & Koopman 2012, sections
# 5.2 and 6.4), the univariate treatment: every method runs it first under a diffuse
# start, until P_inf is zero. Included by _kalman_filter.pyx; the step interface is
# described there, the equations (and their NumPy definition) in
# realize/filtering/diffuse.py.
#
# The predicted covariance is P_* + kappa P_inf (kappa -> infinity). The observed block of
# R is made diagonal, R_W = L diag(D) L' (LDL' without pivoting, zero pivots allowed), so
# the channels of Li y_W (Li = L^-1) are independent, with rows Ct = Li C_W. Each channel
# c with variance D_j: F_inf = c P_inf c', F_* = c P_* c' + D_j, M_inf = P_inf c',
# M_* = P_* c';
#
#     F_inf > 0:  a += (M_inf / F_inf) e,  log-density -1/2 (log 2 pi + log F_inf)
#                 P_* += M_inf M_inf' F_* / F_inf^2 - (M_* M_inf' + M_inf M_*') / F_inf
#                 P_inf -= M_inf M_inf' / F_inf
#     else:       the ordinary scalar update with F_*, M_* (skipped when F_* = 0)
#
# then x[t+1] = A a + c + G e_W, P_*[t+1] = A~ P_* A~' + Q~, P_inf[t+1] = A~ P_inf A~'
# with the decorrelation G = S_W Li' D^-1, A~ = A - G Ct, Q~ = Q - G D G'. As in the
# univariate step, the covariance part (gains, log F, the updated covariances) runs once
# per step for all series, the state part replays the channels for each series.

from libc.math cimport log, sqrt, fabs
from libc.string cimport memcpy, memset
from scipy.linalg.cython_lapack cimport dsyev

cdef double DIFFUSE_TOL = 1e-10  # as realize.filtering.diffuse.DIFFUSE_TOL


cdef struct DiffuseWork:
    double* Pinf               # P_inf[t] (n, n)
    double* Pinfn              # P_inf[t+1]
    double* Pinff              # P_inf[t|t]
    double* Lm                 # L of R_W = L D L' (k, k), row stride p
    double* Li                 # L^-1 (k, k), row stride p
    double* D                  # pivots (p,)
    double* Ct                 # Li C_W (k, n)
    double* kv                 # gain vector of each channel (k, n)
    double* lf                 # log F_inf or log F_* of each channel (k,)
    double* fi                 # 1 / F_* of an ordinary channel, else 0 (k,)
    double* kind               # 0 skipped, 1 ordinary, 2 diffuse (k,)
    double* G                  # S_W Li' D^-1 (n, k)
    double* At2                # A - G Ct (n, n)
    double* Q2                 # Q - G D G' (n, n)
    double* Km                 # a[t|t] - x = Km Li v (n, k)
    double* T1                 # (n + p, n + p) scratch
    double* T2                 # (n + p, n + p) scratch
    double* mi                 # P_inf c' (n,)
    double* ms                 # P_* c' (n,)
    double* row                # (p,)
    double* yw                 # Li (y_W - d_W) of one series (p,)
    double* a                  # (n,)
    double* ework              # dsyev workspace (hand-off of the square-root filter)
    int lwork
    double scale               # max |P_inf[0]|
    bint corr
    bint active                # P_inf[t+1] is nonzero


cdef void diffuse_layout(DiffuseWork* w, Arena* a, int n, int p) noexcept nogil:
    w.Pinf = take(a, n * n)
    w.Pinfn = take(a, n * n)
    w.Pinff = take(a, n * n)
    w.Lm = take(a, p * p)
    w.Li = take(a, p * p)
    w.D = take(a, p)
    w.Ct = take(a, n * p)
    w.kv = take(a, n * p)
    w.lf = take(a, p)
    w.fi = take(a, p)
    w.kind = take(a, p)
    w.G = take(a, n * p)
    w.At2 = take(a, n * n)
    w.Q2 = take(a, n * n)
    w.Km = take(a, n * p)
    w.T1 = take(a, (n + p) * (n + p))
    w.T2 = take(a, (n + p) * (n + p))
    w.mi = take(a, n)
    w.ms = take(a, n)
    w.row = take(a, p)
    w.yw = take(a, p)
    w.a = take(a, n)
    w.lwork = 3 * n + 64
    w.ework = take(a, w.lwork + n)


cdef void diffuse_start(DiffuseWork* w, const double* Pinf0, int n) noexcept nogil:
    cdef int i
    memcpy(w.Pinf, Pinf0, sizeof(double) * n * n)
    w.scale = 0.0
    for i in range(n * n):
        if fabs(Pinf0[i]) > w.scale:
            w.scale = fabs(Pinf0[i])
    w.active = w.scale > 0.0


cdef void observation_ldl(DiffuseWork* w, const double* R, int p, int k,
                          const int* idx) noexcept nogil:
    """R_W = L diag(D) L' (unit lower L, zero pivots below 1e-14 max diag R_W), Li = L^-1."""
    cdef int i, j, l
    cdef double acc, big = 0.0
    for j in range(k):
        if R[idx[j] * p + idx[j]] > big:
            big = R[idx[j] * p + idx[j]]
    for j in range(k):
        acc = R[idx[j] * p + idx[j]]
        for l in range(j):
            acc = acc - w.Lm[j * p + l] * w.Lm[j * p + l] * w.D[l]
        w.Lm[j * p + j] = 1.0
        if acc <= 1e-14 * big:
            w.D[j] = 0.0
            for i in range(j + 1, k):
                w.Lm[i * p + j] = 0.0
            continue
        w.D[j] = acc
        for i in range(j + 1, k):
            acc = R[idx[i] * p + idx[j]]
            for l in range(j):
                acc = acc - w.Lm[i * p + l] * w.Lm[j * p + l] * w.D[l]
            w.Lm[i * p + j] = acc / w.D[j]
    for i in range(k):
        w.Li[i * p + i] = 1.0
        for j in range(i):
            acc = 0.0
            for l in range(j, i):
                acc = acc + w.Lm[i * p + l] * (1.0 if l == j else w.Li[l * p + j])
            w.Li[i * p + j] = -acc


cdef int diffuse_covariance(Step* s, DiffuseWork* w, const Model* m) noexcept nogil:
    """The covariance part of a diffuse step: the channels' gains and log F, P_*[t|t]
    into s.Pf, P_*[t+1] into s.Pn, P_inf[t+1] into w.Pinfn (zeroed, and w.active cleared,
    once negligible); F, K (and a zero F^-1) when stored. Returns 2 for state noise
    correlated with a transformed channel whose pivot of R_W is zero (s.bad_channel the
    channel)."""
    cdef int n = s.n, p = s.p, k = s.k, i, j, l, r
    cdef const int* idx = s.idx
    cdef const double* Ct = m.Ct
    cdef const double* St = m.St
    cdef double* Pf = s.Pf
    cdef double* Pi = w.Pinff
    cdef double* c
    cdef double fi, fs, cc, q, big
    observation_ldl(w, m.Rt, p, k, idx)
    for i in range(k):
        for l in range(n):
            q = 0.0
            for j in range(i + 1):
                q = q + w.Li[i * p + j] * Ct[idx[j] * n + l]
            w.Ct[i * n + l] = q
    if s.want_F:
        mm(b'N', b'T', n, p, n, 1.0, s.P, n, Ct, n, 0.0, w.T1, p)
        memcpy(s.F, m.Rt, sizeof(double) * p * p)
        mm(b'N', b'N', p, p, n, 1.0, Ct, n, w.T1, p, 1.0, s.F, p)
        symmetrize(s.F, p)
    memcpy(Pf, s.P, sizeof(double) * n * n)
    memcpy(Pi, w.Pinf, sizeof(double) * n * n)
    memset(w.Km, 0, sizeof(double) * n * k)
    for j in range(k):
        c = w.Ct + j * n
        fi = 0.0
        fs = w.D[j]
        cc = 0.0
        for i in range(n):
            q = 0.0
            for l in range(n):
                q = q + Pi[i * n + l] * c[l]
            w.mi[i] = q
            q = 0.0
            for l in range(n):
                q = q + Pf[i * n + l] * c[l]
            w.ms[i] = q
        for i in range(n):
            fi = fi + c[i] * w.mi[i]
            fs = fs + c[i] * w.ms[i]
            cc = cc + c[i] * c[i]
        if fi > DIFFUSE_TOL * w.scale * (cc if cc > 1e-300 else 1e-300):
            w.kind[j] = 2.0
            w.lf[j] = log(fi)
            w.fi[j] = 0.0
            for i in range(n):
                w.kv[j * n + i] = w.mi[i] / fi
            for i in range(n):
                for l in range(n):
                    Pf[i * n + l] = (Pf[i * n + l] + w.mi[i] * w.mi[l] * (fs / (fi * fi))
                                     - (w.ms[i] * w.mi[l] + w.mi[i] * w.ms[l]) / fi)
                    Pi[i * n + l] = Pi[i * n + l] - w.mi[i] * w.mi[l] / fi
        elif fs > 0.0:
            w.kind[j] = 1.0
            w.lf[j] = log(fs)
            w.fi[j] = 1.0 / fs
            for i in range(n):
                w.kv[j * n + i] = w.ms[i] / fs
            for i in range(n):
                for l in range(n):
                    Pf[i * n + l] = Pf[i * n + l] - w.ms[i] * w.ms[l] / fs
        else:
            w.kind[j] = 0.0
            w.lf[j] = 0.0
            w.fi[j] = 0.0
            memset(w.kv + j * n, 0, sizeof(double) * n)
            continue
        # the gain map: a - x = Km (Li v), row = e_j - c' Km
        for l in range(k):
            q = 1.0 if l == j else 0.0
            for i in range(n):
                q = q - c[i] * w.Km[i * k + l]
            w.row[l] = q
        for i in range(n):
            for l in range(k):
                w.Km[i * k + l] = w.Km[i * k + l] + w.kv[j * n + i] * w.row[l]
    symmetrize(Pf, n)
    symmetrize(Pi, n)
    # decorrelation in the transformed channels: G = S_W Li' D^-1
    w.corr = 0
    for j in range(k):
        for i in range(n):
            if St[i * p + idx[j]] != 0.0:
                w.corr = 1
    memcpy(w.At2, m.At, sizeof(double) * n * n)
    memcpy(w.Q2, m.Qt, sizeof(double) * n * n)
    if w.corr:
        for j in range(k):
            for i in range(n):
                q = 0.0
                for l in range(j + 1):
                    q = q + St[i * p + idx[l]] * w.Li[j * p + l]
                if q != 0.0 and not w.D[j] > 0.0:
                    s.bad_channel = idx[j]
                    return 2
                w.G[i * k + j] = q / w.D[j] if q != 0.0 else 0.0
        for i in range(n):
            for l in range(n):
                q = 0.0
                for j in range(k):
                    q = q + w.G[i * k + j] * w.Ct[j * n + l]
                w.At2[i * n + l] = w.At2[i * n + l] - q
                q = 0.0
                for j in range(k):
                    q = q + w.G[i * k + j] * w.D[j] * w.G[l * k + j]
                w.Q2[i * n + l] = w.Q2[i * n + l] - q
    # P_*[t+1] = A~ P_*[t|t] A~' + Q~, P_inf[t+1] = A~ P_inf[t|t] A~'
    mm(b'N', b'N', n, n, n, 1.0, w.At2, n, Pf, n, 0.0, w.T1, n)
    memcpy(s.Pn, w.Q2, sizeof(double) * n * n)
    mm(b'N', b'T', n, n, n, 1.0, w.T1, n, w.At2, n, 1.0, s.Pn, n)
    symmetrize(s.Pn, n)
    mm(b'N', b'N', n, n, n, 1.0, w.At2, n, Pi, n, 0.0, w.T1, n)
    mm(b'N', b'T', n, n, n, 1.0, w.T1, n, w.At2, n, 0.0, w.Pinfn, n)
    symmetrize(w.Pinfn, n)
    big = 0.0
    for i in range(n * n):
        if fabs(w.Pinfn[i]) > big:
            big = fabs(w.Pinfn[i])
    w.active = big > DIFFUSE_TOL * w.scale
    if not w.active:
        memset(w.Pinfn, 0, sizeof(double) * n * n)
    if s.want_Finv:
        memset(s.Finv, 0, sizeof(double) * p * p)
    if s.want_K:
        # K = (A Km + G (I - Ct Km)) Li, at the observed columns
        mm(b'N', b'N', n, k, n, 1.0, m.At, n, w.Km, k, 0.0, w.T2, k)
        if w.corr:
            mm(b'N', b'N', k, k, n, -1.0, w.Ct, n, w.Km, k, 0.0, w.T1, k)
            for j in range(k):
                w.T1[j * k + j] = w.T1[j * k + j] + 1.0
            mm(b'N', b'N', n, k, k, 1.0, w.G, k, w.T1, k, 1.0, w.T2, k)
        memset(s.K, 0, sizeof(double) * n * p)
        for i in range(n):
            for j in range(k):
                q = 0.0
                for r in range(j, k):
                    q = q + w.T2[i * k + r] * w.Li[r * p + j]
                s.K[i * p + idx[j]] = q
    return 0


cdef inline double diffuse_state(Step* s, DiffuseWork* w, const Model* m, int i, int t,
                                 const double* x, double* xn, double* xf,
                                 double* v) noexcept nogil:
    """Series i: the channels replayed (x[t|t] into xf when not NULL, the innovations
    y_W - C_W x - d_W into v when not NULL), then x[t+1]. Returns the log-density."""
    cdef int n = s.n, p = s.p, k = s.k, j, l, r
    cdef const int* idx = s.idx
    cdef const double* Cm = m.Ct
    cdef const double* yt = panel_at(m.y, i, t)
    cdef const double* dt = panel_at(m.d, i, t)
    cdef const double* ct = panel_at(m.c, i, t)
    cdef double* a = xf if xf != NULL else w.a
    cdef double* yw = w.yw
    cdef double e, q, ll = 0.0
    if v != NULL:
        for j in range(k):
            q = yt[idx[j]] - dt[idx[j]]
            for l in range(n):
                q = q - Cm[idx[j] * n + l] * x[l]
            v[idx[j]] = q
    for j in range(k):
        q = 0.0
        for l in range(j + 1):
            q = q + w.Li[j * p + l] * (yt[idx[l]] - dt[idx[l]])
        yw[j] = q
    memcpy(a, x, sizeof(double) * n)
    for j in range(k):
        if w.kind[j] == 0.0:
            continue
        e = yw[j]
        for l in range(n):
            e = e - w.Ct[j * n + l] * a[l]
        for r in range(n):
            a[r] = a[r] + w.kv[j * n + r] * e
        ll = ll - 0.5 * (LOG2PI + w.lf[j] + e * e * w.fi[j])
    for r in range(n):
        q = ct[r]
        for l in range(n):
            q = q + m.At[r * n + l] * a[l]
        xn[r] = q
    if w.corr:
        for j in range(k):
            e = yw[j]
            for l in range(n):
                e = e - w.Ct[j * n + l] * a[l]
            for r in range(n):
                xn[r] = xn[r] + w.G[r * k + j] * e
    return ll


cdef inline void diffuse_advance(Step* s, DiffuseWork* w) noexcept nogil:
    """P_* <- P_*[t+1], P_inf <- P_inf[t+1]."""
    cdef double* swap = s.P
    s.P = s.Pn
    s.Pn = swap
    swap = w.Pinf
    w.Pinf = w.Pinfn
    w.Pinfn = swap


cdef int psd_factor_into(int n, const double* P, double* L, DiffuseWork* w) noexcept nogil:
    """A factor L (P = L L') of the symmetric PSD P: V diag(sqrt(max(lambda, 0))) from
    LAPACK's dsyev (which sees the symmetric row-major P as itself, and returns the
    eigenvectors as the rows of its buffer). Returns dsyev's info."""
    cdef char jobz = b'V', uplo = b'L'
    cdef int info = 0, i, j, lw = w.lwork
    cdef double* lam = w.ework + w.lwork
    cdef double q
    memcpy(w.T1, P, sizeof(double) * n * n)
    dsyev(&jobz, &uplo, &n, w.T1, &n, lam, w.ework, &lw, &info)
    if info != 0:
        return info
    for j in range(n):
        q = sqrt(lam[j]) if lam[j] > 0.0 else 0.0
        for i in range(n):
            L[i * n + j] = w.T1[j * n + i] * q
    return 0
