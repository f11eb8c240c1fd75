# Array square-root Kalman filter step (Kailath, Sayed & Hassibi 2000, section 12.3;
# Verhaegen & Van Dooren 1986; Durbin & Koopman 2012, section 6.3). Included by
# _kalman_filter.pyx; the step interface is described there.
#
# The predicted covariance is propagated as a lower-triangular factor L (P = L L'). With
# G a factor of the joint noise covariance cov([w; v]) = G G' (rows 0..n-1 for w, n.. for
# v; the rows of the observed channels W give a factor of cov([w; v_W])), one QR
# factorization (LAPACK dgeqrf) triangularizes the pre-array:
#
#     [ C_W L   G_{v_W} ]          [ F^{1/2}     0       0 ]
#     [ A L     G_w     ]  Theta = [ K F^{1/2}  L_{t+1}  0 ]
#
# giving the innovation covariance factor, the predictor gain (with S) and the next
# factor, without ever forming C P C' + R or subtracting covariances. P itself is formed
# (L L') only when it is stored or tested for the steady state.
#
# QR of a row-major pre-array: its buffer is the column-major transpose, so dgeqrf
# factors pre' = Q R in place and post = R' (lower triangular) is read row by row from
# the same buffer: post[i][j] = buf[i * w + j] for j <= i.

from libc.math cimport log
from libc.string cimport memcpy, memset
from scipy.linalg.cython_lapack cimport dgeqrf


cdef struct SquareRootWork:
    int w                      # pre-array row length: n (the L part) + n + p (G)
    int lwork                  # dgeqrf workspace
    double* pre                # ((k + n), w) pre-array, QR'd in place
    double* qwork
    double* tau
    double* L                  # factor of P[t]
    double* Ln                 # factor of P[t+1]
    bint P_valid               # s.P holds L L'
    double* T1                 # C P (p, n)
    double* Y                  # C_W L, then F^{-1/2} C_W L (k, n)
    double* LY                 # L Y' (n, k)
    double* Kb                 # K F^{1/2} (n, k)
    double* Fh                 # F^{1/2} (k, k), lower
    double* Fi                 # F^{-1/2} (k, k)
    double* e                  # (k,)
    double* tmp                # (p,)


cdef void square_root_layout(SquareRootWork* w, Arena* a, int n, int p) noexcept nogil:
    w.w = 2 * n + p
    w.lwork = 64 * (n + p + 1)
    w.pre = take(a, (n + p) * w.w)
    w.qwork = take(a, w.lwork)
    w.tau = take(a, n + p)
    w.L = take(a, n * n)
    w.Ln = take(a, n * n)
    w.T1 = take(a, n * p)
    w.Y = take(a, n * p)
    w.LY = take(a, n * p)
    w.Kb = take(a, n * p)
    w.Fh = take(a, p * p)
    w.Fi = take(a, p * p)
    w.e = take(a, p)
    w.tmp = take(a, p)


cdef inline void lower_solve(int k, const double* L, int ldl, double* b) noexcept nogil:
    """b <- L^-1 b for a row-major lower-triangular L."""
    cdef int r, c
    cdef double acc
    for r in range(k):
        acc = b[r]
        for c in range(r):
            acc = acc - L[r * ldl + c] * b[c]
        b[r] = acc / L[r * ldl + r]


cdef inline void square_root_form_P(Step* s, SquareRootWork* w) noexcept nogil:
    """s.P = L L' (once per factor)."""
    if not w.P_valid:
        mm(b'N', b'T', s.n, s.n, s.n, 1.0, w.L, s.n, w.L, s.n, 0.0, s.P, s.n)
        w.P_valid = 1


cdef void square_root_side_outputs(Step* s, SquareRootWork* w) noexcept nogil:
    """From the post-array: Y <- F^{-1/2} C_W L, LY = L Y' (the filtered state's gain),
    P[t|t] = P - LY LY', F_W^-1 = F^{-T/2} F^{-1/2} and K = K F^{1/2} F^{-1/2} (zero at
    missing channels), as far as they are wanted."""
    cdef int n = s.n, p = s.p, k = s.k, i, j, l
    cdef const int* idx = s.idx
    cdef double acc
    if s.want_Pf or s.want_xf:
        for j in range(n):
            for i in range(k):
                w.tmp[i] = w.Y[i * n + j]
            lower_solve(k, w.Fh, k, w.tmp)
            for i in range(k):
                w.Y[i * n + j] = w.tmp[i]
        mm(b'N', b'T', n, k, n, 1.0, w.L, n, w.Y, n, 0.0, w.LY, k)
    if s.want_Pf:
        memcpy(s.Pf, s.P, sizeof(double) * n * n)
        mm(b'N', b'T', n, n, k, -1.0, w.LY, k, w.LY, k, 1.0, s.Pf, n)
        symmetrize(s.Pf, n)
    if not (s.want_Finv or s.want_K):
        return
    memset(s.Finv, 0, sizeof(double) * p * p)
    memset(s.K, 0, sizeof(double) * n * p)
    for j in range(k):
        for i in range(k):
            w.tmp[i] = 1.0 if i == j else 0.0
        lower_solve(k, w.Fh, k, w.tmp)
        for i in range(k):
            w.Fi[i * k + j] = w.tmp[i]          # column j of F^{-1/2}
    for i in range(k):
        for j in range(k):
            acc = 0.0
            for l in range(k):
                acc = acc + w.Fi[l * k + i] * w.Fi[l * k + j]
            s.Finv[idx[i] * p + idx[j]] = acc
        for j in range(n):
            acc = 0.0
            for l in range(k):
                acc = acc + w.Kb[j * k + l] * w.Fi[l * k + i]
            s.K[j * p + idx[i]] = acc


cdef int square_root_covariance(Step* s, SquareRootWork* w, const Model* m, bint update,
                                bint test) noexcept nogil:
    """The covariance part of step t: the pre-array and its QR, F^{1/2}, K F^{1/2} and
    log det F_W (and F, P[t|t], F^-1, K when stored); the factor of P[t+1] into w.Ln when
    update, with P[t] and P[t+1] formed into s.P, s.Pn when test. Returns 1 for a
    singular innovation covariance."""
    cdef int n = s.n, p = s.p, k = s.k, q = n + p, ww = w.w, rows = s.k + s.n
    cdef int i, j, l, info = 0
    cdef const int* idx = s.idx
    cdef const double* Ct = m.Ct
    cdef const double* Gt = m.Gt
    cdef double acc
    # pre-array rows: [C_W L, G_{v_W}] then [A L, G_w]
    for i in range(k):
        for j in range(n):
            acc = 0.0
            for l in range(n):
                acc = acc + Ct[idx[i] * n + l] * w.L[l * n + j]
            w.pre[i * ww + j] = acc
        memcpy(&w.pre[i * ww + n], &Gt[(n + idx[i]) * q], sizeof(double) * q)
    mm(b'N', b'N', n, n, n, 1.0, m.At, n, w.L, n, 0.0, &w.pre[k * ww], ww)
    for i in range(n):
        memcpy(&w.pre[(k + i) * ww + n], &Gt[i * q], sizeof(double) * q)
    if s.want_F or s.want_Pf:
        square_root_form_P(s, w)
    if s.want_F:
        # F = C P C' + R (reported on all channels)
        mm(b'N', b'N', p, n, n, 1.0, Ct, n, s.P, n, 0.0, w.T1, n)
        memcpy(s.F, m.Rt, sizeof(double) * p * p)
        mm(b'N', b'T', p, p, n, 1.0, w.T1, n, Ct, n, 1.0, s.F, p)
    if s.want_Pf or s.want_xf:
        # C_W L (rows of the pre-array), kept before the QR overwrites them
        for i in range(k):
            memcpy(&w.Y[i * n], &w.pre[i * ww], sizeof(double) * n)
    dgeqrf(&ww, &rows, w.pre, &ww, w.tau, w.qwork, &w.lwork, &info)
    for i in range(k):
        if w.pre[i * ww + i] == 0.0:
            return 1
        if w.pre[i * ww + i] < 0.0:
            # flip column i of post (rows i..): a sign change of Theta's column
            for l in range(i, rows):
                w.pre[l * ww + i] = -w.pre[l * ww + i]
    s.logdet = 0.0
    for i in range(k):
        for j in range(k):
            w.Fh[i * k + j] = w.pre[i * ww + j] if j <= i else 0.0
        for j in range(n):
            w.Kb[j * k + i] = w.pre[(k + j) * ww + i]
        s.logdet = s.logdet + 2.0 * log(w.Fh[i * k + i])
    square_root_side_outputs(s, w)
    if update:
        if test:
            square_root_form_P(s, w)
        for i in range(n):
            for j in range(n):
                w.Ln[i * n + j] = w.pre[(k + i) * ww + k + j] if j <= i else 0.0
        if test:
            mm(b'N', b'T', n, n, n, 1.0, w.Ln, n, w.Ln, n, 0.0, s.Pn, n)
    return 0


cdef inline void square_root_advance(Step* s, SquareRootWork* w, bint test) noexcept nogil:
    """L <- L[t+1]; P[t+1], when it was formed for the test, becomes P."""
    cdef double* swap = w.L
    w.L = w.Ln
    w.Ln = swap
    w.P_valid = test
    if test:
        swap = s.P
        s.P = s.Pn
        s.Pn = swap


cdef inline double square_root_state(Step* s, SquareRootWork* w, const Model* m, int i,
                                     int t, const double* x, double* xn, double* xf,
                                     double* v) noexcept nogil:
    """Series i: e = F^{-1/2} v, x[t+1] = A x + c + K F^{1/2} e and (xf not NULL)
    x[t|t] = x + L Y' e; the innovations into v (not NULL). Returns the log-density."""
    cdef int n = s.n, k = s.k, r, l
    cdef const int* idx = s.idx
    cdef const double* Ct = m.Ct
    cdef const double* At = m.At
    cdef const double* yt = panel_at(m.y, i, t)
    cdef const double* dt = panel_at(m.d, i, t)
    cdef const double* ct = panel_at(m.c, i, t)
    cdef double* e = w.e
    cdef double acc, ll = 0.0
    for r in range(k):
        acc = yt[idx[r]] - dt[idx[r]]
        for l in range(n):
            acc = acc - Ct[idx[r] * n + l] * x[l]
        e[r] = acc
        if v != NULL:
            v[idx[r]] = acc
    lower_solve(k, w.Fh, k, e)
    for r in range(k):
        ll = ll + e[r] * e[r]
    ll = -0.5 * (k * LOG2PI + s.logdet + ll)
    for r in range(n):
        acc = ct[r]
        for l in range(n):
            acc = acc + At[r * n + l] * x[l]
        for l in range(k):
            acc = acc + w.Kb[r * k + l] * e[l]
        xn[r] = acc
    if xf != NULL:
        for r in range(n):
            acc = x[r]
            for l in range(k):
                acc = acc + w.LY[r * k + l] * e[l]
            xf[r] = acc
    return ll
