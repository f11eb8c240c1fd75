# ruff: noqa: B023, UP031  (closures are called inside the loop that defines them)
"""GPU check of the Triton selective scan: correctness against torch, timing against the
memory-bandwidth floor. Run by benchmarks/gpu_check.sh on a machine with a CUDA GPU.

Writes a JSON summary and a log to $OUT (or the current directory).
"""

import json
import os
import sys
import time

import torch

sys.path.insert(0, os.getcwd())
from realize.nn.ops.selective_scan import chunk, naive  # noqa: E402
from realize.nn.ops.selective_scan import triton as tri  # noqa: E402

out = os.environ.get("OUT", ".")
DRY = os.environ.get("GPU_CHECK_DRY") == "1"  # CPU smoke test of this script (TRITON_INTERPRET=1)
res = {
    "device": "cpu (dry run)" if DRY else torch.cuda.get_device_name(0),
    "torch": torch.__version__,
}
import triton  # noqa: E402

res["triton"] = triton.__version__
print(res, flush=True)
dev = "cpu" if DRY else "cuda"


def make(b, L, d, N, dtype, seed=0):
    g = torch.Generator(device=dev).manual_seed(seed)
    r = lambda *s: torch.randn(*s, device=dev, generator=g)
    u, delta, z = r(b, L, d), r(b, L, d) * 0.5 - 1.0, r(b, L, d)
    A = -torch.exp(r(d, N) * 0.5)
    B, C = r(b, L, N), r(b, L, N)
    D, bias = r(d), r(d) * 0.1
    h0 = r(b, d, N)
    return [x.to(dtype) for x in (u, delta, A, B, C, D, z, bias, h0)]


def run(fn, args, grad=True):
    a = [x.detach().clone().requires_grad_(grad) for x in args]
    y, h = fn(
        a[0],
        a[1],
        a[2],
        a[3],
        a[4],
        D=a[5],
        z=a[6],
        delta_bias=a[7],
        delta_softplus=True,
        h0=a[8],
        return_last_state=True,
    )
    if not grad:
        return [y, h]
    torch.manual_seed(1)
    gy = torch.randn_like(y)
    gh = torch.randn_like(h)
    torch.autograd.backward([y, h], [gy, gh])
    return [y, h] + [x.grad for x in a]


names = ["y", "h_last", "du", "ddelta", "dA", "dB", "dC", "dD", "dz", "dbias", "dh0"]
checks = []
# correctness: small float64 against the naive loop, larger float32 against chunk, bf16 forward
SHAPES = [
    (2, 77, 24, 16, torch.float64, naive),
    (3, 1000, 64, 16, torch.float32, chunk),
    (2, 513, 40, 5, torch.float32, chunk),
    (2, 4096, 256, 16, torch.float32, chunk),
]
if DRY:
    SHAPES = [(1, 40, 4, 4, torch.float64, naive), (1, 33, 3, 5, torch.float32, chunk)]
for b, L, d, N, dt, ref in SHAPES:
    args = make(b, L, d, N, dt)
    r1 = run(ref.selective_scan, args)
    r2 = run(tri.selective_scan, args)
    errs = {
        n: float((p - q).abs().max() / (p.abs().max() + 1e-30)) for n, p, q in zip(names, r1, r2)
    }
    worst = max(errs.values())
    checks.append(
        dict(
            shape=[b, L, d, N],
            dtype=str(dt),
            ref=ref.__name__.split(".")[-1],
            max_rel_err=worst,
            errs=errs,
        )
    )
    print("check", b, L, d, N, dt, "worst rel err %.2e" % worst, flush=True)
for dt in (torch.bfloat16, torch.float16):
    args = make(1, 40, 4, 4, dt) if DRY else make(2, 1000, 64, 16, dt)
    r1 = run(chunk.selective_scan, [x.float() for x in args], grad=False)
    r2 = run(tri.selective_scan, args, grad=False)
    e = float((r1[0] - r2[0].float()).abs().max() / r1[0].abs().max())
    checks.append(dict(shape=[2, 1000, 64, 16], dtype=str(dt), ref="chunk(float32)", max_rel_err=e))
    print("check", dt, "fwd rel err %.2e" % e, flush=True)
res["checks"] = checks

# bandwidth: a device-to-device copy
x = torch.empty(2 * 1024**3 // 4 if not DRY else 1024, device=dev)
y = torch.empty_like(x)
for _ in range(3):
    y.copy_(x)
if not DRY:
    torch.cuda.synchronize()
t0 = time.perf_counter()
for _ in range(10):
    y.copy_(x)
if not DRY:
    torch.cuda.synchronize()
bw = 2 * x.numel() * 4 * 10 / (time.perf_counter() - t0)
res["copy_bandwidth_GBps"] = bw / 1e9
print("copy bandwidth %.0f GB/s" % (bw / 1e9), flush=True)
del x, y

from triton.testing import do_bench  # noqa: E402

if DRY:

    def do_bench(f, warmup=0, rep=0):
        t0 = time.perf_counter()
        f()
        return (time.perf_counter() - t0) * 1e3


b, L, d, N = (8, 4096, 256, 16) if not DRY else (1, 40, 8, 4)
timings = []
for dt in (torch.float32, torch.bfloat16):
    s = torch.tensor([], dtype=dt).element_size()
    args = make(b, L, d, N, dt)
    u, delta, A, B, C, D, z, bias, h0 = args
    # forward: read u, delta, z, B, C; write y (D, bias, A negligible)
    fwd_bytes = s * (4 * b * L * d + 2 * b * L * N)
    # backward: read u, delta, z, B, C, dy; write du, ddelta, dz, dB, dC
    bwd_bytes = s * (4 * b * L * d + 2 * b * L * N) + s * (3 * b * L * d + 2 * b * L * N)
    a = [x.detach().clone().requires_grad_(True) for x in (u, delta, A, B, C, D, z, bias)]
    gy = torch.randn(b, L, d, device=dev, dtype=dt)

    def fb():
        for x in a:
            x.grad = None
        y = tri.selective_scan(
            a[0], a[1], a[2], a[3], a[4], D=a[5], z=a[6], delta_bias=a[7], delta_softplus=True
        )
        y.backward(gy)

    def fwd():
        return tri.selective_scan(u, delta, A, B, C, D=D, z=z, delta_bias=bias, delta_softplus=True)

    best_f = best_fb = None
    configs = [
        (32, 8, 4),
        (32, 8, 2),
        (32, 16, 4),
        (32, 4, 4),
        (32, 4, 2),
        (64, 8, 4),
        (16, 8, 2),
        (16, 4, 2),
    ]
    for cfg in configs[: 2 if DRY else None]:
        tri.CONFIG_OVERRIDE = cfg
        try:
            ms_f = do_bench(fwd, warmup=10, rep=50)
            ms_fb = do_bench(fb, warmup=5, rep=30)
        except Exception as exc:  # a config that does not compile
            print("config", cfg, "failed", repr(exc)[:200], flush=True)
            continue
        print(dt, "config", cfg, "fwd %.3f ms  fwd+bwd %.3f ms" % (ms_f, ms_fb), flush=True)
        if best_f is None or ms_f < best_f[1]:
            best_f = (cfg, ms_f)
        if best_fb is None or ms_fb < best_fb[1]:
            best_fb = (cfg, ms_fb)
    best = best_f
    ms_fb = best_fb[1]
    tri.CONFIG_OVERRIDE = best_fb[0]
    if not DRY:
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            for _ in range(5):
                fb()
            torch.cuda.synchronize()
        table = prof.key_averages().table(sort_by="cuda_time_total", row_limit=12)
        print(table, flush=True)
        res.setdefault("profiles", {})[str(dt)] = table
    with torch.no_grad():
        ms_chunk = do_bench(
            lambda: chunk.selective_scan(
                u.float(),
                delta.float(),
                A.float(),
                B.float(),
                C.float(),
                D=D.float(),
                z=z.float(),
                delta_bias=bias.float(),
                delta_softplus=True,
            ),
            warmup=2,
            rep=10,
        )
    row = dict(
        dtype=str(dt),
        shape=[b, L, d, N],
        config=best[0],
        fwd_ms=best[1],
        fwd_bwd_config=best_fb[0],
        fwd_bwd_ms=ms_fb,
        fwd_floor_ms=fwd_bytes / bw * 1e3,
        fwd_bwd_floor_ms=(fwd_bytes + bwd_bytes) / bw * 1e3,
        chunk_torch_fwd_ms=ms_chunk,
    )
    row["fwd_fraction_of_floor"] = row["fwd_floor_ms"] / row["fwd_ms"]
    row["fwd_bwd_fraction_of_floor"] = row["fwd_bwd_floor_ms"] / row["fwd_bwd_ms"]
    timings.append(row)
    print(json.dumps(row), flush=True)
    tri.CONFIG_OVERRIDE = None
res["timings"] = timings
with open(os.path.join(out, "gpu_check.json"), "w") as fh:
    json.dump(res, fh, indent=1)
print("done", flush=True)
