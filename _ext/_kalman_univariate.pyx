# cython: language_level=3
"""Univariate (sequential) Kalman filter for diagonal R (Durbin & Koopman 2012, section 6.4;
Koopman & Durbin 2000), with correlated noise removed before the prediction step
(Anderson & Moore 1979, section 5.5).

At time t the observed channels i in W are absorbed one at a time as scalar observations::

    f = c_i P c_i' + R_ii,   k = P c_i' / f,   e = y_i - c_i a - d_i
    a <- a + k e,   P <- P - k k' f,   log L += -1/2 (log 2 pi + log f + e^2 / f)

leaving a = x_{t|t}, P = P_{t|t}; then, with G = S_W R_W^-1,
``x_{t+1|t} = A x_{t|t} + c + G (y_W - C_W x_{t|t} - d_W)`` and
``P_{t+1} = (A - G C_W) P_{t|t} (A - G C_W)' + Q - G R_W G'``. No p x p matrix is
factored by the recursion; when the multivariate outputs are requested (innovations,
F^-1 and the predictor gain, which the smoother needs) they are formed on the side.

Steady state (as in ``_kalman_filter``): for time-invariant matrices, once
``max|P[t+1] - P[t]| <= tol max|P[t]|`` with all channels observed, P is constant, and
so are the quantities of the sequential update: the vectors ``P c_i'`` and the variances
``f`` of each channel, P_{t|t}, and ``A - G C``, ``Q - G R G'``. They are kept from the
step that converged and replayed (only the state and the likelihood are updated) until
the next missing entry, where the recursion resumes.

Array conventions as in ``_kalman_filter`` (row-major, see ``_kalman_linalg.pxi``).
"""

from libc.math cimport log, fabs
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memset
from scipy.linalg.cython_lapack cimport dpotrf, dpotri

include "_kalman_linalg.pxi"

cdef double LOG2PI = 1.8378770664093453


def univariate_filter(
    const double[:, :, ::1] A, const double[:, :, ::1] C, const double[:, :, ::1] Q,
    const double[:, :, ::1] R, const double[:, :, ::1] S,
    const double[:, ::1] c, const double[:, ::1] d, const double[:, ::1] y,
    const double[::1] x0, const double[:, ::1] P0, double tol, bint steady_start,
    double[::1] loglik, double[:, ::1] xp, double[:, :, ::1] Pp,
    double[:, ::1] xf, double[:, :, ::1] Pf, double[:, ::1] v,
    double[:, :, ::1] F, double[:, :, ::1] Finv, double[:, :, ::1] Kout,
    double[::1] llobs, signed char[::1] steady):
    """One series. Shapes: A (TA, n, n), C (TC, p, n), Q (TQ, n, n), R (TR, p, p) diagonal,
    S (TS, n, p); c (Tc, n), d (Td, p); y (T, p); x0 (n,); P0 (n, n). Outputs (all or
    none, zero leading size = not stored): xp (T+1, n), Pp (T+1, n, n), xf (T, n),
    Pf (T, n, n), v (T, p), F, Finv (T, p, p), Kout (T, n, p), steady (T,); llobs (T,)
    always.

    ``tol < 0`` disables the steady-state switch; ``steady_start`` (time-invariant
    matrices only) means P0 is the Riccati solution: P is never updated and the step
    quantities are frozen from t = 1 on, until a missing entry.

    Returns ``(code, t, i)``: code 0 success, 1 a non-positive innovation variance at time
    t, channel i, 2 a zero R_ii on a channel correlated with the state noise.
    """
    cdef int T = y.shape[0], p = y.shape[1], n = A.shape[1]
    cdef int TA = A.shape[0], TC = C.shape[0], TQ = Q.shape[0], TR = R.shape[0]
    cdef int TS = S.shape[0], Tc = c.shape[0], Td = d.shape[0]
    if (A.shape[2] != n or C.shape[1] != p or C.shape[2] != n or Q.shape[1] != n
            or R.shape[1] != p or S.shape[1] != n or S.shape[2] != p or c.shape[1] != n
            or d.shape[1] != p or x0.shape[0] != n or P0.shape[0] != n
            or llobs.shape[0] != T or (steady.shape[0] > 0 and steady.shape[0] != T)):
        raise ValueError("univariate_filter: inconsistent dimensions")
    cdef bint store = xp.shape[0] > 0
    if store and (xp.shape[0] != T + 1 or Pp.shape[0] != T + 1 or xf.shape[0] != T
                  or Pf.shape[0] != T or v.shape[0] != T or F.shape[0] != T
                  or Finv.shape[0] != T or Kout.shape[0] != T):
        raise ValueError("univariate_filter: output arrays of the wrong shape")
    cdef bint ti = TA == 1 and TC == 1 and TQ == 1 and TR == 1 and TS == 1
    cdef int nn = n * n, np_ = n * p, pp = p * p
    cdef double* work = <double*>malloc(sizeof(double) * (7 * nn + 5 * np_ + 3 * pp + 3 * n
                                                          + 4 * p + 8))
    cdef int* idx = <int*>malloc(sizeof(int) * (p + 1))
    if work == NULL or idx == NULL:
        free(work)
        free(idx)
        raise MemoryError()
    cdef double* P = work             # predicted covariance P[t]
    cdef double* Pn = P + nn          # P[t+1]
    cdef double* Pt = Pn + nn         # P_{t|t} being built
    cdef double* At2 = Pt + nn        # A - G C_W
    cdef double* Q2 = At2 + nn        # Q - G R_W G'
    cdef double* T1 = Q2 + nn
    cdef double* T2 = T1 + nn
    cdef double* M = T2 + nn          # P C' (n, p)
    cdef double* Gm = M + np_         # A P C_W' + S_W (n, k)
    cdef double* Gd = Gm + np_        # S_W R_W^-1 (n, k)
    cdef double* Kw = Gd + np_
    cdef double* Pcs = Kw + np_       # P c_i' of each channel of the sequential update (k, n)
    cdef double* Ff = Pcs + np_
    cdef double* Fw = Ff + pp
    cdef double* Fi = Fw + pp
    cdef double* x = Fi + pp
    cdef double* a = x + n
    cdef double* xn = a + n
    cdef double* vw = xn + n          # (k,)
    cdef double* ew = vw + p          # y_W - C_W a - d_W (k,)
    cdef double* fs = ew + p          # f of each channel of the sequential update (k,)
    cdef double* lfs = fs + p         # log f (k,)
    cdef double* Pc
    cdef double* swap
    cdef int t, i, j, l, jj, k, info = 0, code = 0, bad_t = -1, bad_i = -1, corr
    cdef int have_buf = 0, converged = 0, frozen
    cdef bint s_st = steady.shape[0] > 0
    cdef double f, e, ll, q, total = 0.0
    cdef char lo = b'L'
    cdef const double* At
    cdef const double* Ct
    cdef const double* Rt
    cdef const double* St
    cdef const double* ct
    cdef const double* dt
    with nogil:
        memcpy(P, &P0[0, 0], sizeof(double) * nn)
        memcpy(x, &x0[0], sizeof(double) * n)
        converged = 1 if steady_start and ti else 0
        for t in range(T):
            At = &A[t if TA > 1 else 0, 0, 0]
            Ct = &C[t if TC > 1 else 0, 0, 0]
            Rt = &R[t if TR > 1 else 0, 0, 0]
            St = &S[t if TS > 1 else 0, 0, 0]
            ct = &c[t if Tc > 1 else 0, 0]
            dt = &d[t if Td > 1 else 0, 0]
            k = observed_channels(&y[t, 0], p, idx)
            if k < p:
                converged = 0
            # frozen: P, and with it every covariance quantity below, is that of the
            # previous step (fully observed, time-invariant)
            frozen = converged and have_buf
            if store:
                # multivariate quantities, for the outputs and the smoother only
                memcpy(&xp[t, 0], x, sizeof(double) * n)
                memcpy(&Pp[t, 0, 0], P, sizeof(double) * nn)
                memset(&v[t, 0], 0, sizeof(double) * p)
                for i in range(k):
                    q = y[t, idx[i]] - dt[idx[i]]
                    for l in range(n):
                        q = q - Ct[idx[i] * n + l] * x[l]
                    v[t, idx[i]] = q
            if store and frozen:
                memcpy(&F[t, 0, 0], &F[t - 1, 0, 0], sizeof(double) * pp)
                memcpy(&Finv[t, 0, 0], &Finv[t - 1, 0, 0], sizeof(double) * pp)
                memcpy(&Kout[t, 0, 0], &Kout[t - 1, 0, 0], sizeof(double) * np_)
            elif store:
                mm(b'N', b'T', n, p, n, 1.0, P, n, Ct, n, 0.0, M, p)
                memcpy(Ff, Rt, sizeof(double) * pp)
                mm(b'N', b'N', p, p, n, 1.0, Ct, n, M, p, 1.0, Ff, p)
                symmetrize(Ff, p)
                memcpy(&F[t, 0, 0], Ff, sizeof(double) * pp)
                memset(&Finv[t, 0, 0], 0, sizeof(double) * pp)
                memset(&Kout[t, 0, 0], 0, sizeof(double) * np_)
                if k > 0:
                    for i in range(k):
                        for j in range(k):
                            Fw[i * k + j] = Ff[idx[i] * p + idx[j]]
                    memcpy(Fi, Fw, sizeof(double) * k * k)
                    dpotrf(&lo, &k, Fi, &k, &info)
                    if info == 0:
                        dpotri(&lo, &k, Fi, &k, &info)
                    if info == 0:
                        for i in range(k):
                            for j in range(i):
                                Fi[i * k + j] = Fi[j * k + i]
                        for i in range(k):
                            for j in range(k):
                                Finv[t, idx[i], idx[j]] = Fi[i * k + j]
                        # K = (A P C_W' + S_W) F_W^-1
                        for i in range(n):
                            for j in range(k):
                                Gm[i * k + j] = St[i * p + idx[j]]
                                T1[i * k + j] = M[i * p + idx[j]]
                        mm(b'N', b'N', n, k, n, 1.0, At, n, T1, k, 1.0, Gm, k)
                        mm(b'N', b'N', n, k, k, 1.0, Gm, k, Fi, k, 0.0, Kw, k)
                        for i in range(n):
                            for j in range(k):
                                Kout[t, i, idx[j]] = Kw[i * k + j]
            # sequential update
            memcpy(a, x, sizeof(double) * n)
            ll = 0.0
            if frozen:
                # replay the stored P c_i' and f of each channel
                for jj in range(k):
                    j = idx[jj]
                    Pc = Pcs + jj * n
                    e = y[t, j] - dt[j]
                    for l in range(n):
                        e = e - Ct[j * n + l] * a[l]
                    f = fs[jj]
                    for i in range(n):
                        a[i] = a[i] + Pc[i] * (e / f)
                    ll = ll - 0.5 * (LOG2PI + lfs[jj] + e * e / f)
            else:
                memcpy(Pt, P, sizeof(double) * nn)
                for jj in range(k):
                    j = idx[jj]
                    Pc = Pcs + jj * n
                    for i in range(n):
                        q = 0.0
                        for l in range(n):
                            q = q + Pt[i * n + l] * Ct[j * n + l]
                        Pc[i] = q
                    f = Rt[j * p + j]
                    e = y[t, j] - dt[j]
                    for l in range(n):
                        f = f + Ct[j * n + l] * Pc[l]
                        e = e - Ct[j * n + l] * a[l]
                    if not f > 1e-300:
                        code = 1
                        bad_t = t
                        bad_i = j
                        break
                    fs[jj] = f
                    lfs[jj] = log(f)
                    for i in range(n):
                        a[i] = a[i] + Pc[i] * (e / f)
                    for i in range(n):
                        q = Pc[i] / f
                        for l in range(n):
                            Pt[i * n + l] = Pt[i * n + l] - q * Pc[l]
                    ll = ll - 0.5 * (LOG2PI + lfs[jj] + e * e / f)
                if code:
                    break
                symmetrize(Pt, n)
            llobs[t] = ll
            total = total + ll
            if store:
                memcpy(&xf[t, 0], a, sizeof(double) * n)
                memcpy(&Pf[t, 0, 0], Pt, sizeof(double) * nn)
            # prediction, decorrelated: G = S_W R_W^-1
            corr = 0
            for jj in range(k):
                for i in range(n):
                    if St[i * p + idx[jj]] != 0.0:
                        corr = 1
            if not frozen:
                memcpy(At2, At, sizeof(double) * nn)
                memcpy(Q2, &Q[t if TQ > 1 else 0, 0, 0], sizeof(double) * nn)
            for i in range(n):
                q = ct[i]
                for l in range(n):
                    q = q + At[i * n + l] * a[l]
                xn[i] = q
            if corr:
                for jj in range(k):
                    j = idx[jj]
                    f = Rt[j * p + j]
                    if not f > 0.0:
                        code = 2
                        bad_t = t
                        bad_i = j
                        break
                    e = y[t, j] - dt[j]
                    for l in range(n):
                        e = e - Ct[j * n + l] * a[l]
                    for i in range(n):
                        q = St[i * p + j] / f
                        xn[i] = xn[i] + q * e
                        if not frozen:
                            for l in range(n):
                                At2[i * n + l] = At2[i * n + l] - q * Ct[j * n + l]
                                Q2[i * n + l] = Q2[i * n + l] - q * St[l * p + j]
                if code:
                    break
            memcpy(x, xn, sizeof(double) * n)
            if not frozen:
                # else (steady start) P stays at the Riccati solution
                if not converged:
                    # P[t+1] = At2 Pt At2' + Q2, as At2 (At2 Pt)' (Pt symmetric)
                    mm(b'N', b'N', n, n, n, 1.0, At2, n, Pt, n, 0.0, T1, n)
                    for i in range(n):
                        for l in range(n):
                            T2[i * n + l] = T1[l * n + i]
                    memcpy(Pn, Q2, sizeof(double) * nn)
                    mm(b'N', b'N', n, n, n, 1.0, At2, n, T2, n, 1.0, Pn, n)
                    symmetrize(Pn, n)
                    if ti and k == p and tol >= 0.0:
                        if has_converged(Pn, P, n, tol):
                            converged = 1
                    swap = P
                    P = Pn
                    Pn = swap
                have_buf = 1 if k == p else 0
            if s_st:
                steady[t] = 1 if frozen else 0
        if code == 0 and store:
            memcpy(&xp[T, 0], x, sizeof(double) * n)
            memcpy(&Pp[T, 0, 0], P, sizeof(double) * nn)
    loglik[0] = total
    # P may point into the other half after the swaps; free the block by its base
    free(work)
    free(idx)
    return code, bad_t, bad_i
