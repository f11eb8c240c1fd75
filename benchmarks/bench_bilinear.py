"""Bilinear simulation: compiled Cython recursion vs the plain NumPy loop (same process).

No peer library simulates bilinear state-space models, so the comparison is with the
NumPy reference kept beside the kernel (realize.bilinear.bilinear_recursion_reference).

Run:  OPENBLAS_NUM_THREADS=1 python benchmarks/bench_bilinear.py
"""

import time
from functools import partial

import numpy as np

from realize.bilinear import bilinear_recursion, bilinear_recursion_reference


def best_of(f, repeat=3):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t0)
    return min(times), out


rng = np.random.default_rng(0)
print(
    f"{'n':>4} {'m':>3} {'T':>7} {'numpy loop [s]':>15} {'compiled [s]':>13} {'ratio':>7} {'max diff':>9}"
)
for n, m, T in [(4, 1, 20000), (16, 2, 20000), (64, 4, 5000)]:
    A = 0.5 * np.linalg.qr(rng.standard_normal((n, n)))[0]
    N = 0.1 * rng.standard_normal((m, n, n)) / np.sqrt(n)
    u = rng.standard_normal((T, m))
    f = rng.standard_normal((T, n))
    x0 = np.zeros(n)
    t_ref, X_ref = best_of(partial(bilinear_recursion_reference, A, N, u, f, x0), repeat=1)
    t_c, X_c = best_of(partial(bilinear_recursion, A, N, u, f, x0))
    print(
        f"{n:4d} {m:3d} {T:7d} {t_ref:15.4f} {t_c:13.5f} {t_ref / t_c:7.1f} "
        f"{np.max(np.abs(X_c - X_ref)):9.1e}"
    )
