# cython: language_level=3
"""Compiled Kalman filters: one driver loop and per-method step functions (after
statsmodels' ``tsa/statespace/_kalman_filter`` and ``_filters/``).

Model (predictor timing, correlated noise allowed)::

    x[t+1] = A[t] x[t] + c[t] + w[t],    y[t] = C[t] x[t] + d[t] + v[t],
    cov([w; v]) = [[Q, S], [S', R]],

with ``c[t] = B u[t]`` and ``d[t] = D u[t]`` folded in by the Python layer. NaN entries
of y are missing; the observed channels W of each step enter (DK 4.10).

Layout
------
``_kalman.h``                C helpers (small products, the modal covariance step)
``_kalman_linalg.pxi``       ``mm`` / ``mm_sym`` (BLAS or loops), symmetrize, the
                             steady-state test, the observed channels
``_kalman_model.pxi``        the structs of a run: ``Model`` (the matrices, with the
                             time-varying selection ``model_at``), ``Outputs`` (what is
                             stored), ``Step`` (what the driver and the steps share)
``_kalman_conventional.pxi`` covariance-form step (DK 4.3, 4.10)
``_kalman_univariate.pxi``   sequential step for diagonal R (DK 6.4)
``_kalman_square_root.pxi``  array (QR) square-root step (DK 6.3)
``_kalman_diffuse.pxi``      exact diffuse step (Koopman 1997; DK 5.2, 6.4), which
                             every method runs first under a diffuse start
this module                  the driver :func:`filter_run`, and the likelihood-only
                             kernel in the modal basis :func:`conventional_loglik`

The step interface
------------------
A method provides a work struct with a ``*_layout`` (its scratch arrays, carved from one
block), and two functions the driver calls at each step t:

``*_covariance(Step*, Work*, Model*, update, ...) -> code``
    Everything that depends on the missing pattern but not on the data: the factor of
    F_W (or the sequential variances), the gains, log det F_W, and, when stored, F, F^-1,
    K and P[t|t] into the ``Step`` buffers; with ``update``, P[t+1] (0 on success).
``*_state(Step*, Work*, Model*, i, t, x, xn, xf, v) -> log-density``
    Series i: x[t+1] into xn, x[t|t] into xf and the innovations into v (each unless
    NULL), from the quantities the covariance part left in the work struct.

Several series (N, T, p) sharing one missing pattern share the covariance part: it runs
once per step, the state part once per series. The exact diffuse step (Koopman 1997;
DK 5.2) fits the same interface: its covariance part also carries P_inf, and once P_inf
is zero the driver hands P_* to the method's own step (the square-root filter takes a
factor of it) for the rest of the run.

Steady state (written once, in the driver): for time-invariant matrices, once
``max|P[t+1] - P[t]| <= tol max|P[t]|`` at a fully observed step, the covariance part is
no longer called: its results (gains, factors, F, P) are kept and only the state part
runs, until the next missing entry (statsmodels' trick). ``steady_start`` (P0 the Riccati
solution) freezes from the first fully observed step on.

Conventions
-----------
Every array is C-contiguous (row-major); a matrix is a pointer with a row stride (its
"leading dimension" ``ld``, the row length as stored: p for the (k, k) blocks kept in
(p, p) buffers). A row-major (r, c) matrix is the column-major (c, r) matrix of its
transpose, so the row-major product C = op(A) op(B) is the column-major
C' = op(B)' op(A)': ``mm`` swaps the operands once, and every call in the kernels reads
in row-major terms (``mm(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc)`` is
C (m, n) = alpha op(A) op(B) + beta C). Products larger than 5 x 5 x 5 go to dgemm (whose
small-matrix kernels, in OpenBLAS, beat compiled loops from n = 6 on:
benchmarks/bench_gemm_crossover.py); the smaller ones run as plain loops
(``sd_gemm`` in ``_kalman.h``). Symmetric results are formed from one triangle and
mirrored. LAPACK's column-major routines see the transpose of a row-major buffer (the
notes at each call). The N series of an (N, T, n) array are the rows of an (N, n) block
whose row stride is T n.
"""

from libc.math cimport log
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memset

include "_kalman_linalg.pxi"
include "_kalman_model.pxi"

cdef double LOG2PI = 1.8378770664093453

include "_kalman_conventional.pxi"
include "_kalman_univariate.pxi"
include "_kalman_square_root.pxi"
include "_kalman_diffuse.pxi"

cdef enum Method:
    CONVENTIONAL = 0
    UNIVARIATE = 1
    SQUARE_ROOT = 2

METHODS = ("conventional", "univariate", "square_root")


cdef struct Work:
    # the scratch of the method that runs (the others stay empty)
    ConventionalWork conventional
    UnivariateWork univariate
    SquareRootWork square_root
    DiffuseWork diffuse        # the diffuse period (any method)


cdef size_t layout(Method method, Step* s, Work* w, Arena* a) noexcept nogil:
    """Carve the scratch of a run from a.base (count only when a.base is NULL)."""
    cdef int n = s.n, p = s.p
    s.idx = <int*>take(a, p + 1)
    s.P = take(a, n * n)
    s.Pn = take(a, n * n)
    s.F = take(a, p * p)
    s.Finv = take(a, p * p)
    s.K = take(a, n * p)
    s.Pf = take(a, n * n)
    if method == CONVENTIONAL:
        conventional_layout(&w.conventional, a, n, p)
    elif method == UNIVARIATE:
        univariate_layout(&w.univariate, a, n, p)
    else:
        square_root_layout(&w.square_root, a, n, p)
    diffuse_layout(&w.diffuse, a, n, p)
    return a.used


# ---- dispatch: the step functions of the method that runs

cdef inline int covariance_step(Method method, Step* s, Work* w, const Model* m,
                                bint update, bint test) noexcept nogil:
    if method == CONVENTIONAL:
        return conventional_covariance(s, &w.conventional, m, update)
    if method == UNIVARIATE:
        return univariate_covariance(s, &w.univariate, m, update)
    return square_root_covariance(s, &w.square_root, m, update, test)


cdef inline double state_step(Method method, Step* s, Work* w, const Model* m, int i,
                              int t, const double* x, double* xn, double* xf,
                              double* v) noexcept nogil:
    if method == CONVENTIONAL:
        return conventional_state(s, &w.conventional, m, i, t, x, xn, xf, v)
    if method == UNIVARIATE:
        return univariate_state(s, &w.univariate, m, i, t, x, xn, xf, v)
    return square_root_state(s, &w.square_root, m, i, t, x, xn, xf, v)


cdef inline double* predicted_cov(Method method, Step* s, Work* w) noexcept nogil:
    """P[t], formed first where the method carries a factor."""
    if method == SQUARE_ROOT:
        square_root_form_P(s, &w.square_root)
    return s.P


cdef inline void advance(Method method, Step* s, Work* w, bint test) noexcept nogil:
    """P <- P[t+1] (or its factor)."""
    cdef double* swap
    if method == SQUARE_ROOT:
        square_root_advance(s, &w.square_root, test)
    else:
        swap = s.P
        s.P = s.Pn
        s.Pn = swap


cdef void start(Method method, Step* s, Work* w, const Model* m) noexcept nogil:
    if m.Pinf != NULL:
        # the diffuse period carries P_* itself, whatever the method
        memcpy(s.P, m.P0, sizeof(double) * s.n * s.n)
        diffuse_start(&w.diffuse, m.Pinf, s.n)
    elif method == SQUARE_ROOT:
        memcpy(w.square_root.L, m.P0, sizeof(double) * s.n * s.n)
        w.square_root.P_valid = 0
    else:
        memcpy(s.P, m.P0, sizeof(double) * s.n * s.n)


cdef int hand_off(Method method, Step* s, Work* w) noexcept nogil:
    """The end of the diffuse period: the method's own step continues from P_* (in s.P);
    the square-root filter takes a factor of it. Returns 0, or dsyev's info."""
    cdef int info = 0
    if method == SQUARE_ROOT:
        info = psd_factor_into(s.n, s.P, w.square_root.L, &w.diffuse)
        w.square_root.P_valid = 1
    return info


cdef bint all_finite(const double* P, int n) noexcept nogil:
    cdef int i
    for i in range(n * n):
        if not (P[i] - P[i] == 0.0):
            return False
    return True


cdef inline void store_covariances(Method method, Step* s, Work* w, Outputs* o, int t,
                                   bint frozen, bint diffuse) noexcept nogil:
    """The outputs of step t shared by the series (kept values while frozen)."""
    cdef int n = s.n, p = s.p
    if diffuse and o.Pinf != NULL and t < o.Td:
        memcpy(o.Pinf + <size_t>t * n * n, w.diffuse.Pinf, sizeof(double) * n * n)
    if o.Pp != NULL:
        memcpy(o.Pp + <size_t>t * n * n, s.P if diffuse else predicted_cov(method, s, w),
               sizeof(double) * n * n)
    if o.Pf != NULL:
        memcpy(o.Pf + <size_t>t * n * n, s.Pf, sizeof(double) * n * n)
    if o.F != NULL:
        memcpy(o.F + <size_t>t * p * p, s.F, sizeof(double) * p * p)
    if o.Finv != NULL:
        memcpy(o.Finv + <size_t>t * p * p, s.Finv, sizeof(double) * p * p)
    if o.K != NULL:
        memcpy(o.K + <size_t>t * n * p, s.K, sizeof(double) * n * p)
    if o.steady != NULL:
        o.steady[t] = 1 if frozen else 0


cdef int run(Method method, Model* m, Outputs* o, Step* s, Work* w, double* X,
             double* Xn, double* Xf, double tol, bint steady_start,
             int* bad_t, int* n_diffuse, double* x_end, double* P_end) noexcept nogil:
    """The driver loop. Returns 0, or the failing step's code with its time in bad_t
    (code 3: the predicted covariance overflowed; 4: the diffuse period never ended);
    the length of the diffuse period in n_diffuse. With x_end and P_end (not NULL) the
    run stops where the diffuse period ends, leaving the states (N, n) and P_* there."""
    cdef int n = m.n, p = m.p, N = m.N, T = m.T, t, i, code
    cdef bint diffuse = 0
    cdef bint converged = steady_start and m.time_invariant, have_buf = 0
    cdef bint frozen, update, test = 0
    cdef double ll
    cdef double* x
    cdef double* v
    cdef double* swap
    # the per-series outputs, in locals for the state loop
    cdef double* loglik = o.loglik
    cdef double* xp = o.xp
    cdef double* xf = o.xf
    cdef double* vs = o.v
    cdef double* llobs = o.llobs
    start(method, s, w, m)
    diffuse = m.Pinf != NULL and w.diffuse.active
    n_diffuse[0] = 0
    if m.Pinf != NULL and not diffuse:
        code = hand_off(method, s, w)
    for i in range(N):
        memcpy(X + i * n, panel_at(m.x0, i, 0), sizeof(double) * n)
        loglik[i] = 0.0
    for t in range(T):
        model_at(m, t)
        s.k = observed_channels(panel_at(m.y, 0, t), p, s.idx)
        if s.k < p:
            converged = 0
        # frozen: every covariance quantity is that of the previous (fully observed,
        # time-invariant) step
        frozen = converged and have_buf
        update = not converged  # else (steady start) P stays at the Riccati solution
        if diffuse:
            code = diffuse_covariance(s, &w.diffuse, m)
            if code:
                bad_t[0] = t
                return code
        elif not frozen:
            test = update and m.time_invariant and s.k == p and tol >= 0.0
            code = covariance_step(method, s, w, m, update, test)
            if code:
                bad_t[0] = t
                if not all_finite(predicted_cov(method, s, w), n):
                    return 3
                return code
            if test and has_converged(s.Pn, s.P, n, tol):
                converged = 1
        store_covariances(method, s, w, o, t, frozen, diffuse)
        for i in range(N):
            x = X + i * n
            if xp != NULL:
                memcpy(xp + (<size_t>i * (T + 1) + t) * n, x, sizeof(double) * n)
            v = NULL
            if vs != NULL:
                v = vs + (<size_t>i * T + t) * p
                memset(v, 0, sizeof(double) * p)
            if diffuse:
                ll = diffuse_state(s, &w.diffuse, m, i, t, x, Xn + i * n,
                                   Xf if xf != NULL else NULL, v)
            else:
                ll = state_step(method, s, w, m, i, t, x, Xn + i * n,
                                Xf if xf != NULL else NULL, v)
            loglik[i] += ll
            if llobs != NULL:
                llobs[<size_t>i * T + t] = ll
            if xf != NULL:
                memcpy(xf + (<size_t>i * T + t) * n, Xf, sizeof(double) * n)
        swap = X
        X = Xn
        Xn = swap
        if diffuse:
            diffuse_advance(s, &w.diffuse)
            if not w.diffuse.active:
                diffuse = 0
                n_diffuse[0] = t + 1
                if x_end != NULL:
                    if not all_finite(s.P, n):
                        bad_t[0] = t
                        return 3
                    memcpy(x_end, X, sizeof(double) * N * n)
                    memcpy(P_end, s.P, sizeof(double) * n * n)
                    return 0
                if hand_off(method, s, w):
                    bad_t[0] = t
                    return 3
        elif not frozen:
            if update:
                advance(method, s, w, test)
            have_buf = s.k == p
    if diffuse:
        bad_t[0] = T
        return 4
    if not all_finite(predicted_cov(method, s, w), n):
        bad_t[0] = T
        return 3
    if xp != NULL:
        for i in range(N):
            memcpy(xp + (<size_t>i * (T + 1) + T) * n, X + i * n, sizeof(double) * n)
    if o.Pp != NULL:
        memcpy(o.Pp + <size_t>T * n * n, predicted_cov(method, s, w), sizeof(double) * n * n)
    return 0


def filter_run(str method, problem, out, double tol,
               const double[:, :, ::1] noise_factor=None, const double[:, ::1] P0_factor=None,
               const double[:, ::1] Pinf=None, double[:, ::1] x_end=None,
               double[:, ::1] P_end=None):
    """Run one filter over the series of ``problem`` that share the missing pattern of
    the first one.

    Parameters: ``method`` one of :data:`METHODS`; ``problem`` a validated problem
    (``realize.filtering._model.Prepared``: A (TA, n, n), C (TC, p, n), Q, R, S stacks
    with T* in {1, T}, c (Nc, Tc, n), d (Nd, Td, p), y (N, T, p), x0 (N0, n), P0 (n, n));
    ``out`` the outputs (``realize.filtering._outputs.FilterOutputs``; a zero-size array
    is not stored, ``loglik`` always is); ``tol`` the steady-state tolerance (< 0: never
    freeze); ``problem.steady_start``: P0 is the Riccati solution. The square-root filter
    also takes ``noise_factor`` (TG, n+p, n+p), a factor of [[Q, S], [S', R]], and
    ``P0_factor`` (n, n), a factor of P0. Q, R and P0 must be symmetric. ``Pinf`` (n, n)
    is the diffuse part of an exact diffuse start (``problem.P0`` its finite part, for
    every method); ``out.Pinf`` (Td, n, n), when not empty, receives P_inf[t], t < Td.
    With ``x_end`` (N, n) and ``P_end`` (n, n) the run stops where the diffuse period
    ends (after d steps), leaving x[d] and P_*[d] there (the log-likelihood so far in
    ``out.loglik``), so that another kernel can go on.

    Returns ``(code, t, channel, d)``: code 0 on success; 1 a singular innovation
    covariance (a non-positive variance for the univariate filter) at time t; 2
    (univariate, or the diffuse period) a zero R_ii (pivot of R_W) on a channel
    correlated with the state noise; 3 the predicted covariance overflowed (an explosive
    mode); 4 the diffuse part never vanished; channel -1 when not one channel; d the
    length of the diffuse period.
    """
    if method not in METHODS:
        raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
    cdef int which = METHODS.index(method)
    cdef Method mth = <Method>which
    if mth == SQUARE_ROOT and (noise_factor is None or P0_factor is None):
        raise ValueError("square_root: noise_factor and P0_factor are required")
    cdef Model m
    cdef Outputs o
    cdef Step s
    cdef Work w
    cdef Arena a
    cdef bint diffuse = Pinf is not None
    model_from(&m, problem, noise_factor if mth == SQUARE_ROOT else None,
               P0_factor if mth == SQUARE_ROOT and not diffuse else problem.P0, Pinf)
    outputs_from(&o, out, m.N, m.T, m.n, m.p)
    cdef bint steady_start = problem.steady_start
    s.n, s.p, s.bad_channel = m.n, m.p, -1
    s.want_F, s.want_Finv, s.want_K = o.F != NULL, o.Finv != NULL, o.K != NULL
    s.want_Pf, s.want_xf = o.Pf != NULL, o.xf != NULL
    a.base, a.used = NULL, 0
    cdef size_t size = layout(mth, &s, &w, &a) + 3 * <size_t>m.N * m.n + m.n
    cdef double* block = <double*>malloc(sizeof(double) * (size + 8))
    if block == NULL:
        raise MemoryError()
    a.base, a.used = block, 0
    layout(mth, &s, &w, &a)
    cdef double* X = take(&a, <size_t>m.N * m.n)
    cdef double* Xn = take(&a, <size_t>m.N * m.n)
    cdef double* Xf = take(&a, m.n)
    cdef int code = 0, bad_t = -1, d = 0
    cdef double* xe = NULL
    cdef double* Pe = NULL
    if x_end is not None:
        if (P_end is None or x_end.shape[0] != m.N or x_end.shape[1] != m.n
                or P_end.shape[0] != m.n or P_end.shape[1] != m.n or not diffuse):
            free(block)
            raise ValueError("x_end, P_end: expected (N, n) and (n, n) with a diffuse start")
        xe = &x_end[0, 0]
        Pe = &P_end[0, 0]
    with nogil:
        code = run(mth, &m, &o, &s, &w, X, Xn, Xf, tol, steady_start, &bad_t, &d, xe, Pe)
    free(block)
    return code, bad_t, s.bad_channel if code in (1, 2) else -1, d


def conventional_loglik(
    const double[:, ::1] A, const double[:, ::1] C, const double[:, ::1] Q,
    const double[:, ::1] R, const double[:, ::1] S,
    const double[:, :, ::1] c, const double[:, :, ::1] d, const double[:, :, ::1] y,
    const double[:, ::1] x0, const double[:, ::1] P0, double tol, bint steady_start,
    const int[::1] lo, const int[::1] hi, double[::1] loglik):
    """Log-likelihood only, time-invariant matrices: the conventional recursion (same
    steady-state switch, same result) with nothing stored, A block diagonal (the modal
    basis of ``realize/filtering/_basis.py``), the covariance step in C (``kf_modal_cov``
    in ``_kalman.h``: loops of fixed length two over the rows of A, which a BLAS call
    cannot exploit) and C_W P through :func:`mm`.

    This kernel stays apart from the driver on purpose: it is the fastest path
    (benchmarks/bench_loglik_basis.py), and its per-step work in steady state is a few
    hundred flops, where the driver's generality (time selection, output checks, the
    dispatch) would cost a measurable share. It implements the same recursion as the
    conventional step and is tested against it.

    Row i of A is nonzero only in its block, the columns ``lo[i] <= l < hi[i]`` with
    ``hi[i] - lo[i]`` 1 or 2 (ValueError otherwise). Q must be symmetric. Shapes as
    :func:`filter_run` with the time axis of A, C, Q, R, S dropped.
    Returns ``(code, t)``: code 0 on success, 1 if F was not positive definite at time
    t, 3 if the predicted covariance overflowed (the codes of :func:`filter_run`).
    """
    cdef int N = y.shape[0], T = y.shape[1], p = y.shape[2], n = A.shape[0], i, j
    cdef int Nc = c.shape[0], Tc = c.shape[1], Nd = d.shape[0], Td = d.shape[1]
    cdef int N0 = x0.shape[0]
    if (A.shape[1] != n or C.shape[0] != p or C.shape[1] != n or Q.shape[0] != n
            or Q.shape[1] != n or R.shape[0] != p or R.shape[1] != p or S.shape[0] != n
            or S.shape[1] != p or c.shape[2] != n or d.shape[2] != p or x0.shape[1] != n
            or P0.shape[0] != n or P0.shape[1] != n or loglik.shape[0] != N
            or lo.shape[0] != n or hi.shape[0] != n):
        raise ValueError("conventional_loglik: inconsistent dimensions")
    for i in range(n):
        if not (1 <= hi[i] - lo[i] <= 2 and 0 <= lo[i] and hi[i] <= n):
            raise ValueError("conventional_loglik: A must be block diagonal, blocks 1 or 2")
    cdef Panel cc, dd, yy
    cc.base, cc.Nn, cc.Tn, cc.size = &c[0, 0, 0], Nc, Tc, n
    dd.base, dd.Nn, dd.Tn, dd.size = &d[0, 0, 0], Nd, Td, p
    yy.base, yy.Nn, yy.Tn, yy.size = &y[0, 0, 0], N, T, p
    cdef Arena a
    a.base, a.used = NULL, 0
    cdef size_t size = modal_layout(&a, NULL, n, p, N)
    cdef double* block = <double*>malloc(sizeof(double) * (size + 8))
    if block == NULL:
        raise MemoryError()
    a.base, a.used = block, 0
    cdef ModalWork w
    modal_layout(&a, &w, n, p, N)
    cdef int bad = -1, code = 0
    for i in range(n):
        w.J0[i] = lo[i]
        w.J1[i] = hi[i] - 1
        w.A0[i] = A[i, w.J0[i]]
        w.A1[i] = A[i, w.J1[i]] if w.J1[i] != w.J0[i] else 0.0
    with nogil:
        memcpy(w.P, &P0[0, 0], sizeof(double) * n * n)
        for i in range(n):
            for j in range(p):
                w.ST[j * n + i] = S[i, j]
        for i in range(N):
            memcpy(w.X + i * n, &x0[i if N0 > 1 else 0, 0], sizeof(double) * n)
            loglik[i] = 0.0
        bad = modal_run(&w, n, p, N, T, &C[0, 0], &Q[0, 0], &R[0, 0], cc, dd, yy, tol,
                        steady_start, &loglik[0])
        if bad >= 0:
            code = 1
        if not all_finite(w.P, n):
            code = 3
            if bad < 0:
                bad = T
    free(block)
    return code, bad


cdef extern from "_kalman.h":
    int kf_modal_cov(int n, int p, int k, const int* idx, const int* j0, const int* j1,
                     const double* a0, const double* a1, const double* Cm, const double* Q,
                     const double* R, const double* ST, const double* P, double* Pn,
                     double* CP, double* B, double* HT, double* L,
                     double* logdet) noexcept nogil


cdef struct ModalWork:
    int* idx                   # observed channels (p,)
    int* J0                    # row i of A is A0[i] e_J0[i]' + A1[i] e_J1[i]'
    int* J1
    double* A0
    double* A1
    double* P                  # predicted covariance P[t]
    double* Pn                 # P[t+1]
    double* B                  # A P
    double* CP                 # C_W P (k, n)
    double* CW                 # C_W (k, n)
    double* ST                 # S' (p, n)
    double* HT                 # H' = L^-1 (C_W P A' + S_W') (k, n)
    double* HTss               # frozen H' (p, n)
    double* L                  # factor of F_W, row stride p, reciprocal diagonal
    double* Lss                # frozen L (p, p)
    double* X                  # states (N, n)
    double* Xn
    double* Z                  # L^-1 v (k,)


cdef size_t modal_layout(Arena* a, ModalWork* w, int n, int p, int N) noexcept nogil:
    cdef ModalWork dummy
    if w == NULL:
        w = &dummy
    w.idx = <int*>take(a, p + 1)
    w.J0 = <int*>take(a, n)
    w.J1 = <int*>take(a, n)
    w.A0 = take(a, n)
    w.A1 = take(a, n)
    w.P = take(a, n * n)
    w.Pn = take(a, n * n)
    w.B = take(a, n * n)
    w.CP = take(a, n * p)
    w.CW = take(a, n * p)
    w.ST = take(a, n * p)
    w.HT = take(a, n * p)
    w.HTss = take(a, n * p)
    w.L = take(a, p * p)
    w.Lss = take(a, p * p)
    w.X = take(a, <size_t>N * n)
    w.Xn = take(a, <size_t>N * n)
    w.Z = take(a, p)
    return a.used


cdef int modal_run(ModalWork* w, int n, int p, int N, int T, const double* Cp,
                   const double* Q, const double* R, Panel c, Panel d, Panel y, double tol,
                   bint steady_start, double* loglik) noexcept nogil:
    """The likelihood-only recursion (see :func:`conventional_loglik`): per step only the
    observed rows W enter (DK 4.10): with L the Cholesky factor of F = C_W P C_W' + R_W and
    G = A P C_W' + S_W,

        z = L^-1 v,  log-density -1/2 (k log 2 pi + log det F + z'z),
        x <- A x + c + (G L^-T) z,   P <- A P A' + Q - (G L^-T)(G L^-T)'.
    """
    cdef int t, i, j, r, k = 0, have_buf = 0, converged = 0, frozen
    cdef double logdet_ss = 0.0, ld, q, a
    cdef const double* ct
    cdef double* swap
    cdef double* HTc
    cdef double* Lc
    cdef double* X = w.X
    cdef double* Xn = w.Xn
    # the rows of A and the per-series scratch, in locals for the state loop
    cdef const int* J0 = w.J0
    cdef const int* J1 = w.J1
    cdef const double* A0 = w.A0
    cdef const double* A1 = w.A1
    cdef const int* idx = w.idx
    cdef double* Z = w.Z
    converged = 1 if steady_start else 0
    for t in range(T):
        k = observed_channels(panel_at(y, 0, t), p, w.idx)
        if k < p:
            converged = 0
        frozen = converged and have_buf
        if frozen:
            HTc = w.HTss
            Lc = w.Lss
            ld = logdet_ss
        else:
            HTc = w.HT
            Lc = w.L
            ld = 0.0
            if k > 0 or not converged:
                # C_W P (a BLAS product from n = 6 on, see mm)
                for r in range(k):
                    memcpy(w.CW + r * n, Cp + w.idx[r] * n, sizeof(double) * n)
                mm(b'N', b'N', k, n, n, 1.0, w.CW, n, w.P, n, 0.0, w.CP, n)
                if kf_modal_cov(n, p, k, w.idx, w.J0, w.J1, w.A0, w.A1, Cp, Q, R, w.ST,
                                w.P, NULL if converged else w.Pn, w.CP, w.B, w.HT, w.L,
                                &ld):
                    return t
            if not converged:
                if k == p and tol >= 0.0:
                    if has_converged(w.Pn, w.P, n, tol):
                        converged = 1
                swap = w.P
                w.P = w.Pn
                w.Pn = swap
            # else (steady start) P stays at the Riccati solution
            have_buf = 1 if k == p else 0
            if k == p:
                memcpy(w.HTss, w.HT, sizeof(double) * n * p)
                memcpy(w.Lss, w.L, sizeof(double) * p * p)
                logdet_ss = ld
        # ---- states: x <- A x + c + H z, z = L^-1 (y_W - C_W x - d_W)
        for i in range(N):
            ct = panel_at(c, i, t)
            for j in range(n):
                Xn[i * n + j] = ct[j] + A0[j] * X[i * n + J0[j]] + A1[j] * X[i * n + J1[j]]
            if k > 0:
                q = whitened_innovation(k, n, p, idx, panel_at(y, i, t), panel_at(d, i, t),
                                        Cp, X + i * n, Lc, Z, NULL)
                loglik[i] += -0.5 * (k * LOG2PI + ld + q)
                for r in range(k):
                    a = Z[r]
                    for j in range(n):
                        Xn[i * n + j] = Xn[i * n + j] + a * HTc[r * n + j]
        swap = X
        X = Xn
        Xn = swap
    return -1
