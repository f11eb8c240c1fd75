# The model, the outputs and the per-step quantities of one Kalman filter run, as C
# structs (included by the kernels, not compiled alone; see _kalman_filter.pyx).
#
# The Python layer hands over its validated problem and its outputs object; they are read
# once into these structs (shapes checked there), and the recursions see plain pointers.

from libc.stdlib cimport malloc, free


cdef struct Stack:
    # a time stack (Tn, rows, cols) of row-major matrices: Tn = 1 for a constant one,
    # Tn = T for one per step, Tn = 0 when absent
    const double* base
    int Tn, size


cdef struct Panel:
    # a (Nn, Tn, size) array of per-series, per-step vectors (intercepts, data); Nn and
    # Tn are 1 where the vector is shared by the series or constant in time
    const double* base
    int Nn, Tn, size


cdef inline const double* at(Stack s, int t) noexcept nogil:
    """The matrix of step t: the one matrix of a constant stack, else the t-th. (This is
    the only place where a time-varying matrix is selected.)"""
    return s.base + (t if s.Tn > 1 else 0) * s.size


cdef inline const double* panel_at(Panel a, int i, int t) noexcept nogil:
    """The vector of series i at step t."""
    return a.base + ((i if a.Nn > 1 else 0) * a.Tn + (t if a.Tn > 1 else 0)) * a.size


cdef struct Model:
    # x[t+1] = A x + c + w, y = C x + d + v, cov([w; v]) = [[Q, S], [S', R]] = G G'
    int n, p, N, T
    bint time_invariant
    Stack A, C, Q, R, S
    Stack G                    # (TG, n+p, n+p) a factor of the joint noise covariance
    #                            (the square-root filter only)
    Panel c, d, y, x0          # (Nc, Tc, n), (Nd, Td, p), (N, T, p), (N0, 1, n)
    const double* P0           # (n, n): P0, or (square-root filter) a factor of it;
    #                            the finite part P_* under a diffuse start
    const double* Pinf         # (n, n) the diffuse part P_inf, NULL without one
    # the matrices of the current step, set by model_at
    const double* At
    const double* Ct
    const double* Qt
    const double* Rt
    const double* St
    const double* Gt


cdef inline void model_at(Model* m, int t) noexcept nogil:
    m.At = at(m.A, t)
    m.Ct = at(m.C, t)
    m.Qt = at(m.Q, t)
    m.Rt = at(m.R, t)
    m.St = at(m.S, t)
    m.Gt = at(m.G, t) if m.G.Tn > 0 else NULL


cdef Stack stack_of(const double[:, :, ::1] M, int rows, int cols, int T, str name) except *:
    cdef Stack s
    if M.shape[1] != rows or M.shape[2] != cols or M.shape[0] not in (1, T):
        raise ValueError(f"{name}: expected a (1 or {T}, {rows}, {cols}) stack, got "
                         f"({M.shape[0]}, {M.shape[1]}, {M.shape[2]})")
    s.base = &M[0, 0, 0]
    s.Tn = M.shape[0]
    s.size = rows * cols
    return s


cdef Panel panel_of(const double[:, :, ::1] a, int N, int T, int size, str name) except *:
    cdef Panel s
    if a.shape[2] != size or a.shape[0] not in (1, N) or a.shape[1] not in (1, T):
        raise ValueError(f"{name}: expected a (1 or {N}, 1 or {T}, {size}) array, got "
                         f"({a.shape[0]}, {a.shape[1]}, {a.shape[2]})")
    s.base = &a[0, 0, 0]
    s.Nn = a.shape[0]
    s.Tn = a.shape[1]
    s.size = size
    return s


cdef int model_from(Model* m, problem, const double[:, :, ::1] G,
                    const double[:, ::1] P0, const double[:, ::1] Pinf=None) except -1:
    """Read the arrays of a validated problem (``realize.filtering._model.Prepared``:
    attributes A, C, Q, R, S, c, d, y, x0) into m; G, P0 and Pinf (None: no diffuse
    part) as given. The arrays must outlive the run (the caller holds them)."""
    cdef const double[:, :, ::1] y = problem.y
    cdef const double[:, ::1] x0 = problem.x0
    cdef int n = problem.A.shape[1], T = y.shape[1]
    m.N, m.T, m.p, m.n = y.shape[0], T, y.shape[2], n
    m.A = stack_of(problem.A, n, n, T, "A")
    m.C = stack_of(problem.C, m.p, n, T, "C")
    m.Q = stack_of(problem.Q, n, n, T, "Q")
    m.R = stack_of(problem.R, m.p, m.p, T, "R")
    m.S = stack_of(problem.S, n, m.p, T, "S")
    m.time_invariant = (m.A.Tn == 1 and m.C.Tn == 1 and m.Q.Tn == 1 and m.R.Tn == 1
                        and m.S.Tn == 1)
    m.G.Tn = 0
    m.G.base = NULL
    if G is not None:
        m.G = stack_of(G, n + m.p, n + m.p, T, "G")
        m.time_invariant = m.time_invariant and m.G.Tn == 1
    m.c = panel_of(problem.c, m.N, T, n, "c")
    m.d = panel_of(problem.d, m.N, T, m.p, "d")
    m.y = panel_of(y, m.N, T, m.p, "y")
    if x0.shape[1] != n or x0.shape[0] not in (1, m.N):
        raise ValueError(f"x0: expected a (1 or {m.N}, {n}) array")
    m.x0.base = &x0[0, 0]
    m.x0.Nn, m.x0.Tn, m.x0.size = x0.shape[0], 1, n
    if P0.shape[0] != n or P0.shape[1] != n:
        raise ValueError(f"P0: expected an ({n}, {n}) array")
    m.P0 = &P0[0, 0]
    m.Pinf = NULL
    if Pinf is not None:
        if Pinf.shape[0] != n or Pinf.shape[1] != n:
            raise ValueError(f"Pinf: expected an ({n}, {n}) array")
        m.Pinf = &Pinf[0, 0]
    return 0


cdef struct Outputs:
    # what a run stores; NULL where not stored (a zero-size array in the outputs object)
    double* loglik             # (N,)
    double* xp                 # (N, T+1, n) predicted states
    double* Pp                 # (T+1, n, n) predicted covariances
    double* xf                 # (N, T, n) filtered states
    double* Pf                 # (T, n, n) filtered covariances
    double* v                  # (N, T, p) innovations, zero at missing channels
    double* F                  # (T, p, p) innovation covariances C P C' + R
    double* Finv               # (T, p, p) F_W^-1, zero at missing channels
    double* K                  # (T, n, p) predictor gains, zero at missing channels
    double* llobs              # (N, T) log-density of each step
    signed char* steady        # (T,) 1 where the recursion was frozen
    double* Pinf               # (Td, n, n) diffuse parts P_inf[t], t < Td
    int Td


cdef double* optional(object a, tuple shape, str name) except? NULL:
    """The data of an output array of the given shape, or NULL for a zero-size one."""
    cdef double[::1] flat
    if a.shape[0] == 0:
        return NULL
    if a.shape != shape or not a.flags.c_contiguous:
        raise ValueError(f"{name}: expected a C-contiguous output of shape {shape}, got "
                         f"{a.shape}")
    flat = a.reshape(-1)  # a view of the C-contiguous array, checked writeable
    return &flat[0]


cdef int outputs_from(Outputs* o, out, int N, int T, int n, int p) except -1:
    """Read the arrays of an outputs object (``realize.filtering._outputs.FilterOutputs``)
    into o, checking their shapes."""
    cdef signed char[::1] steady = out.steady
    o.loglik = optional(out.loglik, (N,), "loglik")
    if o.loglik == NULL:
        raise ValueError("loglik: expected an output of shape (N,)")
    o.xp = optional(out.xp, (N, T + 1, n), "xp")
    o.Pp = optional(out.Pp, (T + 1, n, n), "Pp")
    o.xf = optional(out.xf, (N, T, n), "xf")
    o.Pf = optional(out.Pf, (T, n, n), "Pf")
    o.v = optional(out.v, (N, T, p), "v")
    o.F = optional(out.F, (T, p, p), "F")
    o.Finv = optional(out.Finv, (T, p, p), "Finv")
    o.K = optional(out.K, (T, n, p), "K")
    o.llobs = optional(out.llobs, (N, T), "llobs")
    o.Pinf = NULL
    o.Td = out.Pinf.shape[0]
    if o.Td > 0:
        o.Pinf = optional(out.Pinf, (o.Td, n, n), "Pinf")
    o.steady = NULL
    if steady.shape[0] > 0:
        if steady.shape[0] != T:
            raise ValueError(f"steady: expected an output of shape ({T},)")
        o.steady = &steady[0]
    return 0


cdef struct Step:
    # what the driver and the per-method step functions share at step t
    int n, p
    int k                      # number of observed channels
    int* idx                   # (p,) their indices
    int bad_channel            # the channel of a failed step (-1: not one channel)
    # the predicted covariance P[t] and P[t+1]: the square-root filter forms them from
    # its factors only when they are needed (stored, or the steady-state test)
    double* P
    double* Pn
    # the step's quantities shared by the series, kept while the recursion is frozen
    double* F                  # (p, p) C P C' + R, all channels
    double* Finv               # (p, p) F_W^-1, zero at missing channels
    double* K                  # (n, p) predictor gain, zero at missing channels
    double* Pf                 # (n, n) filtered covariance P[t|t]
    double logdet              # log det F_W
    # which of them the outputs need
    bint want_F, want_Finv, want_K, want_Pf, want_xf


cdef struct Arena:
    # one malloc block carved into the scratch arrays of a run: laid out once with
    # base = NULL to count, then again on the block
    double* base
    size_t used


cdef inline double* take(Arena* a, size_t count) noexcept nogil:
    cdef double* r = NULL
    if a.base != NULL:
        r = a.base + a.used
    a.used = a.used + count
    return r
