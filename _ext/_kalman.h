/* C helpers of the Kalman kernels (_kalman_filter.pyx, _kalman_smoother.pyx).

   Plain loops over restrict-qualified pointers, so that the compiler vectorizes the inner
   loops (axpy along contiguous rows) without run-time alias checks. Every matrix is
   row-major with an explicit row stride (ld*), as in the Cython kernels; see the module
   docstring of _kalman_filter.pyx for the conventions. */

#ifndef REALIZE_KALMAN_H
#define REALIZE_KALMAN_H

#include <math.h>
#include <stddef.h>

/* each kernel module uses a subset of these helpers */
#if defined(__GNUC__)
#define KALMAN_HELPER static __attribute__((unused))
#else
#define KALMAN_HELPER static
#endif

/* C = beta C + alpha op(A) B for the small products (m n k up to SMALL_GEMM), where a
   dgemm call's fixed cost dominates. op(A) = A (ta = 0, A is m x k) or A' (ta = 1, A is
   k x m); B is k x n. upper: only the columns j >= i of row i (a symmetric result).
   Blocked over two rows of C, so that each row of B is loaded once per pair. */
KALMAN_HELPER void sd_gemm(int m, int n, int k, double alpha, int ta,
                    const double *restrict A, int lda,
                    const double *restrict B, int ldb, double beta,
                    double *restrict C, int ldc, int upper)
{
    int i = 0, j, l;
    for (; i + 1 < m; i += 2) {
        double *restrict c0 = C + (size_t)i * ldc;
        double *restrict c1 = c0 + ldc;
        int j0 = upper ? i : 0;
        if (beta == 0.0) {
            for (j = j0; j < n; j++) { c0[j] = 0.0; c1[j] = 0.0; }
        } else if (beta != 1.0) {
            for (j = j0; j < n; j++) { c0[j] *= beta; c1[j] *= beta; }
        }
        for (l = 0; l < k; l++) {
            double a0 = alpha * (ta ? A[(size_t)l * lda + i] : A[(size_t)i * lda + l]);
            double a1 = alpha * (ta ? A[(size_t)l * lda + i + 1] : A[(size_t)(i + 1) * lda + l]);
            const double *restrict b = B + (size_t)l * ldb;
            for (j = j0; j < n; j++) {
                c0[j] += a0 * b[j];
                c1[j] += a1 * b[j];
            }
        }
    }
    for (; i < m; i++) {
        double *restrict c0 = C + (size_t)i * ldc;
        int j0 = upper ? i : 0;
        if (beta == 0.0) {
            for (j = j0; j < n; j++) c0[j] = 0.0;
        } else if (beta != 1.0) {
            for (j = j0; j < n; j++) c0[j] *= beta;
        }
        for (l = 0; l < k; l++) {
            double a0 = alpha * (ta ? A[(size_t)l * lda + i] : A[(size_t)i * lda + l]);
            const double *restrict b = B + (size_t)l * ldb;
            for (j = j0; j < n; j++) c0[j] += a0 * b[j];
        }
    }
}

/* Copy the upper triangle of the square C into its lower triangle. */
KALMAN_HELPER void sd_mirror(int n, double *restrict C, int ldc)
{
    for (int i = 1; i < n; i++)
        for (int j = 0; j < i; j++) C[(size_t)i * ldc + j] = C[(size_t)j * ldc + i];
}

/* One covariance step of the likelihood-only recursion in the modal basis
   (conventional_loglik in _kalman_filter.pyx). A is block diagonal with blocks of size 1
   or 2: row i is a0[i] e_j0[i]' + a1[i] e_j1[i]' (a1[i] = 0 for a 1 x 1 block), so a
   product with A is two fixed terms per row, which a BLAS call cannot exploit.

   In: P (n x n, symmetric, full), the k observed channels idx, CP = C_W P (k x n,
   computed by the caller with dgemm), ST = S' (p x n). Out: L (row stride p) the lower
   Cholesky factor of F_W = C_W P C_W' + R_W with the reciprocals of its diagonal,
   *logdet = log det F_W, HT (k x n) = L^-1 (C_W P A' + S_W'), and, when Pn is not NULL,
   Pn = A P A' + Q - H H' (full). Scratch: B (n x n).
   Returns 0, or 1 if F_W is not positive definite. */
KALMAN_HELPER int kf_modal_cov(int n, int p, int k, const int *restrict idx,
    const int *restrict j0, const int *restrict j1, const double *restrict a0,
    const double *restrict a1,
    const double *restrict Cm, const double *restrict Q, const double *restrict R,
    const double *restrict ST, const double *restrict P, double *restrict Pn,
    double *restrict CP, double *restrict B, double *restrict HT,
    double *restrict L, double *logdet)
{
    int i, j, l, m;
    double acc, a, prod = 1.0, logacc = 0.0;
    /* F_W and its Cholesky factor; log det from a running product of the pivots
       (one log per step), taken out of the product before it can over/underflow */
    for (i = 0; i < k; i++) {
        const double *restrict cpi = CP + (size_t)i * n;
        for (j = 0; j <= i; j++) {
            const double *restrict cj = Cm + (size_t)idx[j] * n;
            acc = R[idx[i] * p + idx[j]];
            for (l = 0; l < n; l++) acc += cpi[l] * cj[l];
            for (m = 0; m < j; m++) acc -= L[i * p + m] * L[j * p + m];
            if (i == j) {
                if (!(acc > 0.0)) return 1;
                L[i * p + i] = 1.0 / sqrt(acc);
                if (acc > 1e-100 && acc < 1e100) {
                    prod *= acc;
                    if (prod > 1e100 || prod < 1e-100) { logacc += log(prod); prod = 1.0; }
                } else {
                    logacc += log(acc);
                }
            } else {
                L[i * p + j] = acc * L[j * p + j];
            }
        }
    }
    *logdet = logacc + log(prod);
    /* H' = L^-1 (C_W P A' + S_W'): (C_W P A')[m, i] = sum_l A[i, l] (C_W P)[m, l] */
    for (m = 0; m < k; m++) {
        double *restrict h = HT + (size_t)m * n;
        const double *restrict cp = CP + (size_t)m * n;
        const double *restrict st = ST + (size_t)idx[m] * n;
        for (i = 0; i < n; i++) h[i] = st[i] + a0[i] * cp[j0[i]] + a1[i] * cp[j1[i]];
        for (j = 0; j < m; j++) {
            const double *restrict hj = HT + (size_t)j * n;
            a = L[m * p + j];
            for (i = 0; i < n; i++) h[i] -= a * hj[i];
        }
        a = L[m * p + m];
        for (i = 0; i < n; i++) h[i] *= a;
    }
    if (Pn == NULL) return 0;
    /* B = A P by rows */
    for (i = 0; i < n; i++) {
        double *restrict b = B + (size_t)i * n;
        const double *restrict p0 = P + (size_t)j0[i] * n;
        const double *restrict p1 = P + (size_t)j1[i] * n;
        double x0 = a0[i], x1 = a1[i];
        for (j = 0; j < n; j++) b[j] = x0 * p0[j] + x1 * p1[j];
    }
    /* P[t+1] = B A' + Q - H H', upper triangle by rows, then mirrored */
    for (i = 0; i < n; i++) {
        double *restrict pn = Pn + (size_t)i * n;
        const double *restrict b = B + (size_t)i * n;
        const double *restrict q = Q + (size_t)i * n;
        for (j = i; j < n; j++) pn[j] = q[j] + a0[j] * b[j0[j]] + a1[j] * b[j1[j]];
        for (m = 0; m < k; m++) {
            const double *restrict h = HT + (size_t)m * n;
            a = h[i];
            for (j = i; j < n; j++) pn[j] -= a * h[j];
        }
    }
    sd_mirror(n, Pn, n);
    return 0;
}

#endif
