"""Simulation speed: realize's compiled kernel vs scipy.signal.dlsim and python-control.

A 10-state, 2-input, 2-output model simulated for 10^6 steps (the peers on the same
data, in the same process). Run with one BLAS thread on both sides:

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_simulate.py [--steps 1000000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def best_of(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import control
    import scipy.signal

    from realize.simulation import simulate_reference
    from realize.testing import random_statespace

    rng = np.random.default_rng(0)
    sys = random_statespace(rng, 10, 2, 2)
    u = rng.standard_normal((args.steps, 2))
    x0 = rng.standard_normal(10)

    t_ours, y = best_of(lambda: sys.simulate(u, x0=x0), args.repeat)
    dl = sys.to_dlti()
    t_dlsim, (_, y_sp, _) = best_of(lambda: scipy.signal.dlsim(dl, u, x0=x0), 1)
    cs = sys.to_control()
    t_ctrl, resp = best_of(lambda: control.forced_response(cs, U=u.T, X0=x0), 1)
    short = u[:20_000]
    t_ref, _ = best_of(
        lambda: simulate_reference(sys.A, sys.B, sys.C, sys.D, short, None, None, x0), 1
    )
    t_ref *= args.steps / len(short)

    err_sp = np.max(np.abs(y - y_sp)) / np.max(np.abs(y_sp))
    err_ct = np.max(np.abs(y - np.asarray(resp.outputs).T)) / np.max(np.abs(y))
    print(f"n=10 m=2 p=2 steps={args.steps}")
    print(f"{'implementation':32s} {'seconds':>10s} {'vs realize':>11s}")
    print(f"{'realize (Cython + BLAS dgemv)':32s} {t_ours:10.4f} {1.0:10.1f}x")
    print(f"{'scipy.signal.dlsim':32s} {t_dlsim:10.4f} {t_dlsim / t_ours:10.1f}x")
    print(f"{'control.forced_response':32s} {t_ctrl:10.4f} {t_ctrl / t_ours:10.1f}x")
    print(f"{'NumPy loop (extrapolated)':32s} {t_ref:10.4f} {t_ref / t_ours:10.1f}x")
    print(f"max relative difference: dlsim {err_sp:.2e}, control {err_ct:.2e}")


if __name__ == "__main__":
    main()
