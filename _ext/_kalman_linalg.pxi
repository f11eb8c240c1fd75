# Small dense kernels shared by the _kalman_*.pyx modules (included, not compiled alone).
#
# BLAS convention: every array is C-contiguous (row-major). A row-major (r, c) matrix is
# the column-major (c, r) matrix of its transpose, so the row-major product
# C = op(A) op(B) is the column-major C' = op(B)' op(A)': ``mm`` swaps the operands once
# and every call in the kernels reads in row-major terms, with ``lda`` the row length of A
# as stored. Products small enough that a BLAS call's fixed cost dominates (state
# dimensions up to ~20) run as plain loops; larger ones go to dgemm.

from scipy.linalg.cython_blas cimport dgemm

cdef int SMALL_GEMM = 32768  # m * n * k below which loops beat the dgemm call


cdef inline void mm(char ta, char tb, int m, int n, int k, double alpha,
                    const double* A, int lda, const double* B, int ldb, double beta,
                    double* C, int ldc) noexcept nogil:
    """Row-major C (m, n) = alpha op(A) op(B) + beta C."""
    cdef int i, j, l
    cdef double a, acc
    if m == 0 or n == 0:
        return
    if not (k == 0 or m <= 4 or (m * n * k <= SMALL_GEMM and (tb == b'N' or k <= 8))):
        dgemm(&tb, &ta, &n, &m, &k, &alpha, <double*>B, &ldb, <double*>A, &lda, &beta, C, &ldc)
        return
    for i in range(m):
        if beta == 0.0:
            for j in range(n):
                C[i * ldc + j] = 0.0
        elif beta != 1.0:
            for j in range(n):
                C[i * ldc + j] = beta * C[i * ldc + j]
        if tb == b'N':
            # rank-one updates along contiguous rows of B
            for l in range(k):
                a = alpha * (A[i * lda + l] if ta == b'N' else A[l * lda + i])
                for j in range(n):
                    C[i * ldc + j] = C[i * ldc + j] + a * B[l * ldb + j]
        else:
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


cdef inline void symmetrize(double* P, int n) noexcept nogil:
    cdef int i, j
    cdef double s
    for i in range(n):
        for j in range(i + 1, n):
            s = 0.5 * (P[i * n + j] + P[j * n + i])
            P[i * n + j] = s
            P[j * n + i] = s
