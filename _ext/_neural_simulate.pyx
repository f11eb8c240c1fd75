# cython: language_level=3
"""State recursion of a neural state-space model, x[t+1] = A x[t] + B u[t] + f(x[t], u[t]).

``f`` is a multilayer perceptron whose last layer is linear. The Python layer
(realize/nn/neural_ssm.py) folds every term that depends on the inputs only into one
precomputed array, so that only the sequential part runs here, with the GIL released:

    z[t]     = Wz x[t] + pre[t]                 (n + H,)  first n: A x + B u + biases,
                                                          last H: first layer of f
    a        = act(z[t][n:])
    a        = act(W[l] a + b[l]),  l = 0 .. L-1   (the further hidden layers)
    x[t+1]   = z[t][:n] + Wout a

BLAS convention: arrays are C-contiguous (row-major). A row-major (r, c) matrix is the
column-major matrix of its transpose, so ``dgemv('T', c, r, ...)`` on its buffer applies it.
"""

from libc.math cimport tanh, exp, erf, sqrt
from scipy.linalg.cython_blas cimport dgemv, dcopy

# activation codes, the order of realize.nn.neural_ssm.ACTIVATIONS
cdef enum:
    TANH = 0
    RELU = 1
    SILU = 2
    GELU = 3


cdef inline void activate(double* a, int H, int act) noexcept nogil:
    cdef int i
    cdef double v
    if act == TANH:
        for i in range(H):
            a[i] = tanh(a[i])
    elif act == RELU:
        for i in range(H):
            if a[i] < 0.0:
                a[i] = 0.0
    elif act == SILU:
        for i in range(H):
            v = a[i]
            a[i] = v / (1.0 + exp(-v))
    else:  # GELU, the exact (erf) form that torch uses by default
        for i in range(H):
            v = a[i]
            a[i] = 0.5 * v * (1.0 + erf(v / sqrt(2.0)))


def mlp_state_recursion(const double[:, ::1] Wz, const double[:, ::1] pre,
                        const double[:, :, ::1] W, const double[:, ::1] b,
                        const double[:, ::1] Wout, int act,
                        const double[::1] x0, double[:, ::1] X):
    """Fill X (T+1, n) with X[0] = x0 and the recursion of the module docstring.

    Wz (n+H, n), pre (T, n+H), W (L, H, H), b (L, H), Wout (n, H).
    """
    cdef int n = Wout.shape[0]
    cdef int H = Wout.shape[1]
    cdef int nz = n + H
    cdef int L = W.shape[0]
    cdef Py_ssize_t T = pre.shape[0]
    cdef Py_ssize_t t
    cdef int l, inc = 1
    cdef double one = 1.0
    cdef char trans = b'T'
    if Wz.shape[0] != nz or Wz.shape[1] != n or pre.shape[1] != nz or x0.shape[0] != n:
        raise ValueError("mlp_state_recursion: inconsistent dimensions")
    if (L and (W.shape[1] != H or W.shape[2] != H)) or b.shape[0] != L or (L and b.shape[1] != H):
        raise ValueError("mlp_state_recursion: inconsistent hidden layers")
    if X.shape[0] != T + 1 or X.shape[1] != n:
        raise ValueError("mlp_state_recursion: X must have shape (T + 1, n)")
    if n == 0:
        return
    z = bytearray(nz * sizeof(double))
    a2 = bytearray(max(H, 1) * sizeof(double))
    cdef double[::1] zv = memoryview(z).cast('d')
    cdef double[::1] av = memoryview(a2).cast('d')
    cdef double* zp = &zv[0]
    cdef double* ap = &av[0]
    cdef double* hp = zp + n
    cdef double* cur
    cdef double* nxt
    cdef double* tmp
    with nogil:
        dcopy(&n, &x0[0], &inc, &X[0, 0], &inc)
        for t in range(T):
            dcopy(&nz, &pre[t, 0], &inc, zp, &inc)
            dgemv(&trans, &n, &nz, &one, &Wz[0, 0], &n, &X[t, 0], &inc, &one, zp, &inc)
            activate(hp, H, act)
            cur, nxt = hp, ap
            for l in range(L):
                dcopy(&H, &b[l, 0], &inc, nxt, &inc)
                dgemv(&trans, &H, &H, &one, &W[l, 0, 0], &H, cur, &inc, &one, nxt, &inc)
                activate(nxt, H, act)
                tmp = cur
                cur = nxt
                nxt = tmp
            dcopy(&n, zp, &inc, &X[t + 1, 0], &inc)
            dgemv(&trans, &H, &n, &one, &Wout[0, 0], &H, cur, &inc, &one, &X[t + 1, 0], &inc)
