"""Where dgemm beats compiled loops in the Kalman kernels: the smoother's backward pass
built twice from the same source, in one process, on the same filter output.

Run:  OPENBLAS_NUM_THREADS=1 python benchmarks/bench_gemm_crossover.py

The kernels send a product C (m x n) = A (m x k) B (k x n) to plain C loops when
m n k <= SMALL_GEMM (``_ext/_kalman_linalg.pxi``) and to dgemm otherwise. This script
compiles ``_ext/_kalman_smoother.pyx`` with SMALL_GEMM = 32768 ("loops": every product of
a model with up to 32 states runs as loops), with the shipped value 125 (loops only up to
5 x 5 x 5) and with 0 ("all dgemm"), with the compiler flags of the package build (-O3), and times
``dk_smoother`` for several state dimensions n (p = 3 outputs, 10% of the entries
missing). Needs Cython and a C compiler (the development environment).
"""

from __future__ import annotations

import importlib.util
import pathlib
import re
import subprocess
import sys
import sysconfig
import tempfile
import time

import numpy as np

from realize.filtering._model import prepare
from realize.filtering.filter import run_filter
from realize.testing import random_statespace

ROOT = pathlib.Path(__file__).resolve().parents[1]


def build(dst: pathlib.Path, small: int):
    """Compile the smoother kernel with SMALL_GEMM = small into dst; return the module."""
    dst.mkdir(parents=True)
    for src in ("_kalman_smoother.pyx", "_kalman_model.pxi", "_kalman.h"):
        (dst / src).write_text((ROOT / "_ext" / src).read_text())
    pxi = (ROOT / "_ext/_kalman_linalg.pxi").read_text()
    pxi, count = re.subn(r"cdef int SMALL_GEMM = \d+", f"cdef int SMALL_GEMM = {small}", pxi)
    assert count == 1, "SMALL_GEMM not found in _kalman_linalg.pxi"
    (dst / "_kalman_linalg.pxi").write_text(pxi)
    # the Cython directives of meson.build
    directives = [
        "boundscheck=False",
        "wraparound=False",
        "cdivision=True",
        "initializedcheck=False",
    ]
    cmd = [sys.executable, "-m", "cython", "-3", "_kalman_smoother.pyx", "-o", "k.c"]
    for d in directives:
        cmd += ["-X", d]
    subprocess.run(cmd, cwd=dst, check=True)
    so = dst / ("_kalman_smoother" + sysconfig.get_config_var("EXT_SUFFIX"))
    subprocess.run(
        [
            "cc",
            "-shared",
            "-fPIC",
            "-O3",
            "-I.",
            f"-I{sysconfig.get_paths()['include']}",
            "k.c",
            "-o",
            str(so),
        ],
        cwd=dst,
        check=True,
    )
    spec = importlib.util.spec_from_file_location("_kalman_smoother", so)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def timer(mod, prep, out, T, n):
    xs, Ps, Pc = np.empty((1, T, n)), np.empty((T, n, n)), np.empty((T - 1, n, n))

    def run():
        mod.dk_smoother(prep, out, 1e-13, xs, Ps, Pc, np.empty((1, n)), np.empty((n, n)))
        return Ps.copy()

    return run


def main():
    with tempfile.TemporaryDirectory() as tmp:
        variants = [
            build(pathlib.Path(tmp) / "loops", 32768),
            build(pathlib.Path(tmp) / "shipped", 125),
            build(pathlib.Path(tmp) / "dgemm", 0),
        ]
        print("smoother backward pass, p = 3, 10% missing; best of 5, variants run alternately")
        print(
            f"{'n':>4} {'T':>8} {'loops [ms]':>11} {'shipped [ms]':>13} {'all dgemm [ms]':>15}"
            f" {'loops/shipped':>14} {'dgemm/shipped':>14}"
        )
        for n in (3, 5, 6, 8, 10, 16, 20):
            T = 100_000 if n <= 10 else 20_000
            rng = np.random.default_rng(n)
            sys_ = random_statespace(rng, n, 0, 3, noise=True, radius=0.95)
            y = sys_.simulate(T=T, rng=rng)
            y[rng.uniform(size=y.shape) < 0.1] = np.nan
            prep = prepare(sys_, y)
            out = run_filter(prep, "conventional", True, 1e-13)[0].out
            runs = [timer(m, prep, out, T, n) for m in variants]
            best = [np.inf] * 3
            res = [None] * 3
            for _ in range(5):
                for i, f in enumerate(runs):
                    t0 = time.perf_counter()
                    res[i] = f()
                    best[i] = min(best[i], time.perf_counter() - t0)
            assert all(np.allclose(r, res[1], rtol=1e-10, atol=1e-12) for r in res)
            ms = [b * 1e3 for b in best]
            print(
                f"{n:>4} {T:>8} {ms[0]:>11.1f} {ms[1]:>13.1f} {ms[2]:>15.1f}"
                f" {best[0] / best[1]:>13.2f}x {best[2] / best[1]:>13.2f}x"
            )


if __name__ == "__main__":
    main()
