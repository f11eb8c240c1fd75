# cython: language_level=3
"""Fixed-interval (Rauch-Tung-Striebel) smoother in the backward form of Durbin & Koopman
(2012, sections 4.4.4 and 4.7; de Jong 1989).

From the filter's predicted states a[t], covariances P[t], innovations v[t], inverse
innovation covariances F^-1[t] and predictor gains K[t] (zero-padded at missing channels,
DK 4.10), with L[t] = A[t] - K[t] C[t] and r[T-1] = 0, N[T-1] = 0::

    r[t-1] = C' F^-1 v[t] + L' r[t]            N[t-1] = C' F^-1 C + L' N[t] L
    xs[t]  = a[t] + P[t] r[t-1]               Ps[t]  = P[t] - P[t] N[t-1] P[t]
    cov(x[t+1], x[t] | y) = (I - P[t+1] N[t]) L[t] P[t]          (DK 4.7, lag one)

This is the RTS smoother without the inverse of P[t+1] (so it holds for singular
predicted covariances), and it holds with correlated noise S because K[t] carries S.
Where the filter was in steady state and N has converged (same tolerance), N, Ps and the
lag-one covariance are frozen and only the vectors r and xs are updated. The N series
that shared the filter's covariance recursion share N, Ps and the lag-one covariances.

Conventions (row-major arrays, ``mm``, the (N, n) blocks of the series): as in
``_kalman_filter.pyx``, whose structs (``_kalman_model.pxi``) read the problem and the
filter's outputs.
"""

from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memset
include "_kalman_linalg.pxi"
include "_kalman_model.pxi"


def dk_smoother(problem, filtered, double tol, double[:, :, ::1] xs, double[:, :, ::1] Ps,
                double[:, :, ::1] Pc, double[:, ::1] r_out, double[:, ::1] N_out,
                int t_stop=0):
    """Backward pass over the output of one filter run.

    ``problem`` the validated problem the filter ran on (its A (TA, n, n) and
    C (TC, p, n) are used), ``filtered`` its stored outputs
    (``realize.filtering._outputs.FilterOutputs``: xp, Pp, v, Finv, K and steady are
    used), ``tol`` the filter's steady-state tolerance (< 0: never freeze). Outputs:
    xs (N, T, n), Ps (T, n, n), Pc (T-1, n, n) with Pc[t] = cov(x[t+1], x[t] | y), and
    r_out (N, n), N_out (n, n) holding r[-1] and N[-1] (for the smoothed initial state).
    With ``t_stop`` > 0 (the end of a diffuse period) the pass stops there: the entries
    t < t_stop are left alone, and r_out, N_out hold r[t_stop - 1], N[t_stop - 1].
    """
    cdef Model m
    cdef Outputs f
    model_from(&m, problem, None, problem.P0)
    outputs_from(&f, filtered, m.N, m.T, m.n, m.p)
    cdef int Ns = m.N, T = m.T, p = m.p, n = m.n
    if (f.xp == NULL or f.Pp == NULL or f.v == NULL or f.Finv == NULL or f.K == NULL
            or f.steady == NULL):
        raise ValueError("dk_smoother: the filter's outputs were not stored")
    if (xs.shape[0] != Ns or xs.shape[1] != T or xs.shape[2] != n or Ps.shape[0] != T
            or Ps.shape[1] != n or Pc.shape[0] != max(T - 1, 0) or r_out.shape[0] != Ns
            or N_out.shape[0] != n):
        raise ValueError("dk_smoother: output arrays of the wrong shape")
    cdef int nn = n * n
    cdef double* work = <double*>malloc(sizeof(double) * (6 * nn + 2 * n * p + 4 * Ns * n
                                                          + Ns * p + 8))
    if work == NULL:
        raise MemoryError()
    # [C; L] and [F^-1 C; N L] are stacked so that N[t-1] is one product
    cdef double* CL = work            # [C; L] ((p + n), n)
    cdef double* L = CL + n * p       # L[t] = A - K C
    cdef double* CFNL = L + nn        # [F^-1 C; N[t] L[t]] ((p + n), n)
    cdef double* CF = CFNL
    cdef double* NL = CFNL + n * p
    cdef double* Nm = NL + nn         # N[t]
    cdef double* Nn = Nm + nn         # N[t-1]
    cdef double* LP = Nn + nn         # L[t] P[t]
    cdef double* PN = LP + nn         # P[t] N[t-1] (P[t+1] N[t] one step later)
    cdef double* r = PN + nn          # (Ns, n)
    cdef double* rn = r + Ns * n
    cdef double* FV = rn + Ns * n     # (Ns, p)
    cdef double* swap
    cdef double* Pst
    cdef double* Pct
    cdef int t, i, nconv = 0
    cdef bint frozen
    cdef int ldv = T * p, lds = T * n
    cdef const double* At
    cdef const double* Ct
    cdef const double* Pt
    cdef const double* Kt
    cdef const double* Fit
    # the filter's outputs (their struct was filled outside the loop)
    cdef const double* Pp = f.Pp
    cdef const double* K = f.K
    cdef const double* Finv = f.Finv
    cdef const double* v = f.v
    cdef const double* xp = f.xp
    cdef const signed char* steady = f.steady
    cdef Stack A = m.A, C = m.C
    with nogil:
        memset(Nm, 0, sizeof(double) * nn)
        memset(r, 0, sizeof(double) * Ns * n)
        for t in range(T - 1, t_stop - 1, -1):
            At = at(A, t)
            Ct = at(C, t)
            Pt = Pp + <size_t>t * nn
            Kt = K + <size_t>t * n * p
            Fit = Finv + <size_t>t * p * p
            Pst = &Ps[t, 0, 0]
            # frozen only inside a steady stretch of the filter, once N has converged:
            # then N[t-1] = N[t], and Ps[t], Pc[t] equal the values one step later
            frozen = nconv and steady[t] and t + 1 < T and steady[t + 1]
            if frozen:
                memcpy(Pst, &Ps[t + 1, 0, 0], sizeof(double) * nn)
                if t + 2 < T:
                    memcpy(&Pc[t, 0, 0], &Pc[t + 1, 0, 0], sizeof(double) * nn)
            else:
                nconv = 0
                # L = A - K C (K is zero at missing channels)
                memcpy(CL, Ct, sizeof(double) * n * p)
                memcpy(L, At, sizeof(double) * nn)
                mm(b'N', b'N', n, n, p, -1.0, Kt, p, Ct, n, 1.0, L, n)
                if t + 1 < T:
                    # cov(x[t+1], x[t] | y) = (I - P[t+1] N[t]) L P[t], with P[t+1] N[t]
                    # in PN from the previous (later) step's smoothed covariance
                    Pct = &Pc[t, 0, 0]
                    mm(b'N', b'N', n, n, n, 1.0, L, n, Pt, n, 0.0, LP, n)
                    memcpy(Pct, LP, sizeof(double) * nn)
                    mm(b'N', b'N', n, n, n, -1.0, PN, n, LP, n, 1.0, Pct, n)
                # N[t-1] = C' (F^-1 C) + L' (N[t] L), symmetric
                mm(b'N', b'N', p, n, p, 1.0, Fit, p, Ct, n, 0.0, CF, n)
                mm(b'N', b'N', n, n, n, 1.0, Nm, n, L, n, 0.0, NL, n)
                mm_sym(b'T', n, p + n, 1.0, CL, n, CFNL, n, 0.0, Nn, n)
                # Ps[t] = P - (P N[t-1]) P, symmetric
                mm(b'N', b'N', n, n, n, 1.0, Pt, n, Nn, n, 0.0, PN, n)
                memcpy(Pst, Pt, sizeof(double) * nn)
                mm_sym(b'N', n, n, -1.0, PN, n, Pt, n, 1.0, Pst, n)
                if tol >= 0.0 and steady[t] and t + 1 < T and steady[t + 1]:
                    if has_converged(Nm, Nn, n, tol):
                        nconv = 1
                swap = Nm
                Nm = Nn
                Nn = swap
            # vectors: r[t-1]' = (F^-1 v)' C + r[t]' L ; xs = a + P r[t-1]
            mm(b'N', b'N', Ns, p, p, 1.0, v + <size_t>t * p, ldv, Fit, p, 0.0, FV, p)
            mm(b'N', b'N', Ns, n, p, 1.0, FV, p, Ct, n, 0.0, rn, n)
            mm(b'N', b'N', Ns, n, n, 1.0, r, n, L, n, 1.0, rn, n)
            for i in range(Ns):
                memcpy(&xs[i, t, 0], xp + (<size_t>i * (T + 1) + t) * n, sizeof(double) * n)
            mm(b'N', b'N', Ns, n, n, 1.0, rn, n, Pt, n, 1.0, &xs[0, t, 0], lds)
            swap = r
            r = rn
            rn = swap
        memcpy(&r_out[0, 0], r, sizeof(double) * Ns * n)
        memcpy(&N_out[0, 0], Nm, sizeof(double) * nn)
    free(work)
    return None
