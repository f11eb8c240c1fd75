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
lag-one covariance are frozen and only the vectors r and xs are updated.

BLAS convention: as in ``_kalman_filter``, every array is row-major and :func:`mm`
computes row-major products; the N series are the rows of (N, n) blocks whose leading
dimension is the stride between series in the (N, T, n) arrays.
"""

from libc.math cimport fabs
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memset
include "_kalman_linalg.pxi"


def dk_smoother(const double[:, :, ::1] A, const double[:, :, ::1] C,
                const double[:, :, ::1] xp, const double[:, :, ::1] Pp,
                const double[:, :, ::1] v, const double[:, :, ::1] Finv,
                const double[:, :, ::1] K, const signed char[::1] steady, double tol,
                double[:, :, ::1] xs, double[:, :, ::1] Ps, double[:, :, ::1] Pc,
                double[:, ::1] r_out, double[:, ::1] N_out):
    """Backward pass. Shapes: A (TA, n, n), C (TC, p, n), xp (N, T+1, n), Pp (T+1, n, n),
    v (N, T, p), Finv (T, p, p), K (T, n, p), steady (T,); outputs xs (N, T, n),
    Ps (T, n, n), Pc (T-1, n, n) with Pc[t] = cov(x[t+1], x[t] | y), and r_out (N, n),
    N_out (n, n) holding r[-1] and N[-1] (for the smoothed initial state)."""
    cdef int Ns = xp.shape[0], T = v.shape[1], p = v.shape[2], n = A.shape[1]
    cdef int TA = A.shape[0], TC = C.shape[0]
    if (xp.shape[1] != T + 1 or xp.shape[2] != n or Pp.shape[0] != T + 1 or v.shape[0] != Ns
            or Finv.shape[0] != T or K.shape[0] != T or K.shape[2] != p or steady.shape[0] != T
            or xs.shape[0] != Ns or xs.shape[1] != T or Ps.shape[0] != T
            or Pc.shape[0] != max(T - 1, 0) or C.shape[1] != p or C.shape[2] != n
            or r_out.shape[0] != Ns or N_out.shape[0] != n):
        raise ValueError("dk_smoother: inconsistent dimensions")
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
    cdef int t, i, frozen = 0, nconv = 0, tA, tC
    cdef int ldv = T * p, lds = T * n
    cdef const double* At
    cdef const double* Ct
    cdef const double* Pt
    cdef const double* Kt
    with nogil:
        memset(Nm, 0, sizeof(double) * nn)
        memset(r, 0, sizeof(double) * Ns * n)
        for t in range(T - 1, -1, -1):
            tA = t if TA > 1 else 0
            tC = t if TC > 1 else 0
            At = &A[tA, 0, 0]
            Ct = &C[tC, 0, 0]
            Pt = &Pp[t, 0, 0]
            Kt = &K[t, 0, 0]
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
                mm(b'N', b'N', p, n, p, 1.0, &Finv[t, 0, 0], p, Ct, n, 0.0, CF, n)
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
            mm(b'N', b'N', Ns, p, p, 1.0, &v[0, t, 0], ldv, &Finv[t, 0, 0], p, 0.0, FV, p)
            mm(b'N', b'N', Ns, n, p, 1.0, FV, p, Ct, n, 0.0, rn, n)
            mm(b'N', b'N', Ns, n, n, 1.0, r, n, L, n, 1.0, rn, n)
            for i in range(Ns):
                memcpy(&xs[i, t, 0], &xp[i, t, 0], sizeof(double) * n)
            mm(b'N', b'N', Ns, n, n, 1.0, rn, n, Pt, n, 1.0, &xs[0, t, 0], lds)
            swap = r
            r = rn
            rn = swap
        memcpy(&r_out[0, 0], r, sizeof(double) * Ns * n)
        memcpy(&N_out[0, 0], Nm, sizeof(double) * nn)
    free(work)
    return None
