"""Selective scan, forward + backward: chunked (torch) and Numba kernels against the naive loop.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_scan.py [--batch 8 --length 4096 --d 256 --N 16 --threads 1]

All backends run in one process on the same data (float32, CPU), and the ratio to the
naive loop is printed; each timing is the best of --repeat runs after a warm-up (which also
compiles the Numba kernels). With a GPU, the Triton kernel is timed against its
memory-bandwidth floor by benchmarks/gpu_check.sh (see BENCHMARKS.md).
"""

import argparse
import time

import torch

from realize.nn.ops import selective_scan


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--length", type=int, default=4096)
    ap.add_argument("--d", type=int, default=256)
    ap.add_argument("--N", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--backends", default="naive,chunk,cpu")
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch and Numba threads (1: a fair single-core comparison; on a shared "
        "machine torch's OpenMP threads can slow small ops a hundredfold)",
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    try:
        import numba

        numba.set_num_threads(args.threads)
    except ImportError:
        pass
    b, L, d, N = args.batch, args.length, args.d, args.N
    g = torch.Generator().manual_seed(0)
    u, delta, z = (torch.randn(b, L, d, generator=g) for _ in range(3))
    A = -torch.exp(torch.randn(d, N, generator=g) * 0.5)
    B, C = torch.randn(b, L, N, generator=g), torch.randn(b, L, N, generator=g)
    D, bias = torch.randn(d, generator=g), torch.randn(d, generator=g) * 0.1
    gy = torch.randn(b, L, d, generator=g)
    print(
        f"selective scan fwd+bwd, batch={b} length={L} d={d} N={N}, float32, "
        f"threads={args.threads}",
        flush=True,
    )
    results, ref = {}, None
    for name in args.backends.split(","):
        leaves = [x.clone().requires_grad_() for x in (u, delta, A, B, C, D, z, bias)]

        def once(leaves=leaves, name=name):
            for x in leaves:
                x.grad = None
            y = selective_scan(*leaves[:7], delta_bias=leaves[7], delta_softplus=True, backend=name)
            y.backward(gy)
            return y

        y = once()  # warm-up (Numba compiles here)
        best_f = best_fb = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            with torch.no_grad():
                selective_scan(*leaves[:7], delta_bias=leaves[7], delta_softplus=True, backend=name)
            t1 = time.perf_counter()
            y = once()
            t2 = time.perf_counter()
            best_f, best_fb = min(best_f, t1 - t0), min(best_fb, t2 - t1)
        grads = [x.grad.clone() for x in leaves]
        if ref is None:
            ref = (y.detach(), grads)
            err = 0.0
        else:
            err = max(
                float((p - q).abs().max() / q.abs().max())
                for p, q in zip([y.detach(), *grads], [ref[0], *ref[1]])
            )
        results[name] = (best_f, best_fb, err)
        print(f"  {name}: fwd {best_f:.3f} s, fwd+bwd {best_fb:.3f} s", flush=True)
    base = results.get("naive")
    print(
        f"{'backend':8s} {'fwd s':>8s} {'fwd+bwd s':>10s} {'speed-up vs naive (fwd+bwd)':>28s} {'max rel diff':>13s}"
    )
    for name, (tf, tfb, err) in results.items():
        sp = f"{base[1] / tfb:.1f}x" if base else "-"
        print(f"{name:8s} {tf:8.3f} {tfb:10.3f} {sp:>28s} {err:13.1e}")


if __name__ == "__main__":
    main()
