# cython: language_level=3
"""State recursion of a bilinear state-space model.

    x[t+1] = A x[t] + sum_i u[t, i] N[i] x[t] + f[t]

The Python layer (realize/bilinear.py) folds the linear input term and the process
noise into the forcing f[t] = B u[t] + w[t] with one matrix product and computes the
outputs afterwards; only the sequential recursion runs here, with the GIL released.
The reference is ``realize.bilinear.bilinear_recursion_reference`` (a NumPy loop).

BLAS convention: arrays are C-contiguous (row-major). A row-major (n, n) matrix is
the column-major matrix A', so ``dgemv('T', ...)`` on its buffer applies A; N[i] is
the i-th row-major (n, n) slice of the (m, n, n) array.
"""

from scipy.linalg.cython_blas cimport dgemv, dcopy


def bilinear_recursion(const double[:, ::1] A, const double[:, :, ::1] N,
                       const double[:, ::1] u, const double[:, ::1] forcing,
                       const double[::1] x0, double[:, ::1] X):
    """Fill X (T+1, n): X[0] = x0, X[t+1] = (A + sum_i u[t,i] N[i]) X[t] + forcing[t]."""
    cdef int n = A.shape[0]
    cdef int m = N.shape[0]
    cdef Py_ssize_t T = forcing.shape[0]
    cdef Py_ssize_t t
    cdef int i
    cdef int inc = 1
    cdef double one = 1.0
    cdef double ui
    cdef char trans = b'T'
    if A.shape[1] != n or forcing.shape[1] != n or x0.shape[0] != n:
        raise ValueError("bilinear_recursion: inconsistent dimensions")
    if m and (N.shape[1] != n or N.shape[2] != n):
        raise ValueError("bilinear_recursion: N must have shape (m, n, n)")
    if u.shape[0] != T or u.shape[1] != m:
        raise ValueError("bilinear_recursion: u must have shape (T, m)")
    if X.shape[0] != T + 1 or X.shape[1] != n:
        raise ValueError("bilinear_recursion: X must have shape (T + 1, n)")
    if n == 0:
        return
    with nogil:
        dcopy(&n, &x0[0], &inc, &X[0, 0], &inc)
        for t in range(T):
            dcopy(&n, &forcing[t, 0], &inc, &X[t + 1, 0], &inc)
            dgemv(&trans, &n, &n, &one, &A[0, 0], &n, &X[t, 0], &inc, &one,
                  &X[t + 1, 0], &inc)
            for i in range(m):
                ui = u[t, i]
                if ui != 0.0:
                    dgemv(&trans, &n, &n, &ui, &N[i, 0, 0], &n, &X[t, 0], &inc, &one,
                          &X[t + 1, 0], &inc)
