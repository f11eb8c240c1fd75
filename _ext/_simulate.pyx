# cython: language_level=3
"""State recursion x[t+1] = A x[t] + f[t] of a linear state-space model.

The Python layer (realize/simulation.py) folds the inputs and the process noise into
the forcing term f[t] = B u[t] + w[t] with one matrix product, and computes the
outputs y[t] = C x[t] + D u[t] + v[t] afterwards with another: only the recursion
itself is sequential, and it runs here with the GIL released.

BLAS convention: arrays are C-contiguous (row-major). A row-major (n, n) matrix is
the column-major matrix A', so ``dgemv('T', ...)`` on its buffer applies A.
"""

from scipy.linalg.cython_blas cimport dgemv, dcopy


def state_recursion(const double[:, ::1] A, const double[:, ::1] forcing,
                    const double[::1] x0, double[:, ::1] X):
    """Fill X (T+1, n) with X[0] = x0 and X[t+1] = A X[t] + forcing[t], t < T."""
    cdef int n = A.shape[0]
    cdef Py_ssize_t T = forcing.shape[0]
    cdef Py_ssize_t t
    cdef int inc = 1
    cdef double one = 1.0
    cdef char trans = b'T'
    if A.shape[1] != n or forcing.shape[1] != n or x0.shape[0] != n:
        raise ValueError("state_recursion: inconsistent dimensions")
    if X.shape[0] != T + 1 or X.shape[1] != n:
        raise ValueError("state_recursion: X must have shape (T + 1, n)")
    if n == 0:
        return
    with nogil:
        dcopy(&n, &x0[0], &inc, &X[0, 0], &inc)
        for t in range(T):
            dcopy(&n, &forcing[t, 0], &inc, &X[t + 1, 0], &inc)
            dgemv(&trans, &n, &n, &one, &A[0, 0], &n, &X[t, 0], &inc, &one,
                  &X[t + 1, 0], &inc)
