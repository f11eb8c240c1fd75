# Small dense kernels shared by the Kalman kernels (included, not compiled alone).
# Conventions (row-major arrays, row strides, when a product goes to dgemm): the module
# docstring of _kalman_filter.pyx.

from libc.math cimport fabs
from scipy.linalg.cython_blas cimport dgemm

cdef extern from "_kalman.h":
    void sd_gemm(int m, int n, int k, double alpha, int ta, const double* A, int lda,
                 const double* B, int ldb, double beta, double* C, int ldc,
                 int upper) noexcept nogil
    void sd_mirror(int n, double* C, int ldc) noexcept nogil


cdef int SMALL_GEMM = 125  # m * n * k up to which loops beat the dgemm call


cdef inline void mm(char ta, char tb, int m, int n, int k, double alpha,
                    const double* A, int lda, const double* B, int ldb, double beta,
                    double* C, int ldc) noexcept nogil:
    """Row-major C (m, n) = alpha op(A) op(B) + beta C."""
    cdef int i, j, l
    cdef double acc
    if m == 0 or n == 0:
        return
    if k > 0 and m * n * k > SMALL_GEMM:
        dgemm(&tb, &ta, &n, &m, &k, &alpha, <double*>B, &ldb, <double*>A, &lda, &beta, C, &ldc)
        return
    if tb == b'N':
        sd_gemm(m, n, k, alpha, ta == b'T', A, lda, B, ldb, beta, C, ldc, 0)
        return
    for i in range(m):
        if beta == 0.0:
            for j in range(n):
                C[i * ldc + j] = 0.0
        elif beta != 1.0:
            for j in range(n):
                C[i * ldc + j] = beta * C[i * ldc + j]
        # dot products along contiguous rows of B
        for j in range(n):
            acc = 0.0
            if ta == b'N':
                for l in range(k):
                    acc = acc + A[i * lda + l] * B[j * ldb + l]
            else:
                for l in range(k):
                    acc = acc + A[l * lda + i] * B[j * ldb + l]
            C[i * ldc + j] = C[i * ldc + j] + alpha * acc


cdef inline void mm_sym(char ta, int n, int k, double alpha, const double* A, int lda,
                        const double* B, int ldb, double beta, double* C,
                        int ldc) noexcept nogil:
    """Row-major C (n, n) = alpha op(A) B + beta C for a product known to be symmetric:
    only the upper triangle is formed (mirrored into the lower one) when small."""
    if n * n * k <= SMALL_GEMM:
        sd_gemm(n, n, k, alpha, ta == b'T', A, lda, B, ldb, beta, C, ldc, 1)
    else:
        mm(ta, b'N', n, n, k, alpha, A, lda, B, ldb, beta, C, ldc)
    sd_mirror(n, C, ldc)


cdef inline void symmetrize(double* P, int n) noexcept nogil:
    cdef int i, j
    cdef double s
    for i in range(n):
        for j in range(i + 1, n):
            s = 0.5 * (P[i * n + j] + P[j * n + i])
            P[i * n + j] = s
            P[j * n + i] = s


cdef inline bint has_converged(const double* new, const double* old, int n,
                               double tol) noexcept nogil:
    """The steady-state test of the kernels: ``max|new - old| <= tol max_i |old_ii|`` for
    (n, n) matrices, old positive semidefinite (its largest entry is on the diagonal)."""
    cdef int i
    cdef double big = 0.0, q
    for i in range(n):
        q = fabs(old[i * n + i])
        if q > big:
            big = q
    big = tol * big
    for i in range(n * n):
        if fabs(new[i] - old[i]) > big:
            return False
    return True


cdef inline int observed_channels(const double* yt, int p, int* idx) noexcept nogil:
    """Store the indices of the non-NaN entries of yt (p,) in idx; return their number."""
    cdef int j, k = 0
    for j in range(p):
        if yt[j] == yt[j]:
            idx[k] = j
            k = k + 1
    return k
