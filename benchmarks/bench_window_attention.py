"""Window attention backends on one device: forward and forward + backward times.

At the attention sizes of a B'MOJO layer (default: issue 14's CPU setting, batch 32, length
160, 4 heads of 16, window 16, 16 eidetic tokens per chunk, one fading token), times each
backend of :func:`realize.nn.ops.window_attention` with the eidetic memory (B'MOJO) and
without it (B'MOJO-F), and prints one JSON line per measurement. FlexAttention on the CPU is
timed forward only (torch has no CPU backward for it), eagerly and, with ``--compile``,
compiled.

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/bench_window_attention.py
"""

import argparse
import functools
import json
import os
import statistics
import time

import torch

from realize.nn.ops.window_attention import available_backends, window_attention


def timed(fn, warmup: int, reps: int, device) -> float:
    ts = []
    for i in range(warmup + reps):
        t0 = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= warmup:
            ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def call(x, fixed, slopes, window: int, backend: str, grad: bool) -> None:
    """One forward (and backward) pass of ``backend``."""
    with torch.set_grad_enabled(grad):
        memory = {n: t for n, t in x.items() if n not in ("q", "k", "v")}
        y = window_attention(
            x["q"], x["k"], x["v"], slopes, window, **memory, **fixed, backend=backend
        )
        if grad:
            y.sum().backward()


def inputs(a, device, dtype, eidetic: bool):
    g = torch.Generator().manual_seed(0)
    B, L, H, hd = a.batch, a.seq_len, a.heads, a.head_dim
    r = lambda *s: torch.randn(*s, generator=g).to(device, dtype)
    nc = -(-L // a.window)
    idx = torch.zeros(B, nc, a.n_eidetic, dtype=torch.long)
    for c in range(1, nc):
        idx[:, c] = torch.randint(0, c * a.window, (B, a.n_eidetic), generator=g)
    valid = (torch.arange(nc)[:, None] > 0).expand(B, nc, a.n_eidetic)
    x = dict(q=r(B, L, H, hd), k=r(B, L, H, hd), v=r(B, L, H, hd),
             fading_k=r(B, L, H, hd), fading_v=r(B, L, H, hd),
             fading_bias=-r(H).abs())  # fmt: skip
    fixed = dict(n_fading=1, chunk=a.window)
    if eidetic:
        x["eidetic_bias"] = -r(H).abs()
        fixed.update(eidetic_index=idx.to(device), eidetic_valid=valid.to(device))
    return x, fixed, r(H).abs()


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seq-len", type=int, default=160)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--head-dim", type=int, default=16)
    p.add_argument("--window", type=int, default=16)
    p.add_argument("--n-eidetic", type=int, default=16)
    p.add_argument("--reps", type=int, default=10)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default="float32")
    p.add_argument("--compile", action="store_true", help="also time compiled FlexAttention")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    device, dtype = torch.device(a.device), getattr(torch, a.dtype)
    backends = [b for b in available_backends(device, dtype) if b != "naive"]
    if device.type != "cuda" and os.environ.get("TRITON_INTERPRET") == "1":
        backends = [b for b in backends if b != "triton"]  # the interpreter is not a timing
    for eidetic in (True, False):
        x, fixed, slopes = inputs(a, device, dtype, eidetic)
        for backend in backends:
            for grad in (False, True):
                if backend == "flex" and grad and device.type != "cuda":
                    continue
                leaves = {n: t.requires_grad_(grad) for n, t in x.items()}
                fn = functools.partial(call, leaves, fixed, slopes, a.window, backend, grad)
                t = timed(fn, 2, a.reps, device)
                row = dict(backend=backend, eidetic=eidetic, pass_="fwd+bwd" if grad else "fwd")
                print(json.dumps({**row, "ms": round(1e3 * t, 3)}), flush=True)
        if a.compile and device.type != "cuda":
            from torch.nn.attention.flex_attention import flex_attention

            from realize.nn.ops.window_attention import flex

            flex._COMPILED["cpu"] = torch.compile(flex_attention, dynamic=False)
            orig = flex._compiled
            flex._compiled = lambda f, d: flex._COMPILED["cpu"]
            leaves = {n: t.detach() for n, t in x.items()}
            fn = functools.partial(call, leaves, fixed, slopes, a.window, "flex", False)
            t = timed(fn, 2, a.reps, device)
            flex._compiled = orig
            row = dict(backend="flex-compiled", eidetic=eidetic, pass_="fwd")
            print(json.dumps({**row, "ms": round(1e3 * t, 3)}), flush=True)


if __name__ == "__main__":
    main()
