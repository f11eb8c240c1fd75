# ruff: noqa: UP031
"""GPU check of window attention (issue 14): every Triton/Flex path against its torch
reference, kernel times, and the B'MOJO / B'MOJO-F training-step ratio.

For a session lent a CUDA device, in one call (about 5 minutes; results in $OUT):

    OUT=$OUT timeout 570 python3 benchmarks/gpu_check_attention.py

Results are saved after every section, so a run cut short still reports what it did.

``GPU_CHECK_DRY=1 TRITON_INTERPRET=1`` runs the same script on the CPU at tiny sizes (a smoke
test of the script itself, not a measurement). Sections:

1. correctness: ``triton`` (forward and backward kernels) and ``flex`` outputs and gradients
   against ``naive`` (float64 for triton, float32 for both) and against ``chunk`` at a larger float32 size, bfloat16 forward
   against ``chunk`` in float32; the eidetic schedule against the sequential store;
2. kernel times: forward and forward + backward of ``chunk``, ``flex`` and ``triton``, with
   and without eidetic memory, at the MQAR GPU setting and at a long sequence;
3. training step of ``BMOJOLM`` with and without eidetic memory (the 1.5x target) for each
   attention backend (B'MOJO's blocks use the batched eidetic schedule).
"""

import functools
import json
import os
import subprocess
import sys
import time

import torch

sys.path.insert(0, os.getcwd())
from realize.nn.ops.window_attention import (  # noqa: E402
    chunk,
    eidetic_schedule,
    naive,
    window_attention,
)

OUT = os.environ.get("OUT", ".")
DRY = os.environ.get("GPU_CHECK_DRY") == "1"
DEV = "cpu" if DRY else "cuda"
res = {
    "device": "cpu (dry run)" if DRY else torch.cuda.get_device_name(0),
    "torch": torch.__version__,
}
try:
    import triton

    res["triton"] = triton.__version__
except ImportError:
    res["triton"] = None
print(res, flush=True)
NAMES = ["q", "k", "v", "fading_k", "fading_v", "eidetic_bias", "fading_bias"]


def save():
    with open(os.path.join(OUT, "gpu_check_attention.json"), "w") as f:
        json.dump(res, f, indent=1)


def make(B, L, H, hd, W, M, nf, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g).to(DEV, dtype)
    nc = -(-L // W)
    idx = torch.zeros(B, nc, M, dtype=torch.long)
    for c in range(1, nc):
        idx[:, c] = (
            torch.stack([torch.randperm(c * W, generator=g)[:M] for _ in range(B)])
            if c * W >= M
            else 0
        )
    valid = (torch.arange(nc)[:, None] * W >= M).expand(B, nc, M).clone()
    x = dict(q=r(B, L, H, hd), k=r(B, L, H, hd), v=r(B, L, H, hd),
             fading_k=r(B, L, H, hd), fading_v=r(B, L, H, hd),
             eidetic_bias=-r(H).abs(), fading_bias=-r(H).abs())  # fmt: skip
    fixed = dict(
        window=W, chunk=W, eidetic_index=idx.to(DEV), eidetic_valid=valid.to(DEV), n_fading=nf
    )
    return x, fixed, r(H).abs()


def run(fn, x, fixed, slopes, grad=True):
    leaves = {n: t.detach().clone().requires_grad_(grad) for n, t in x.items()}
    kw = dict(fixed)
    W = kw.pop("window")
    with torch.set_grad_enabled(grad):
        y = fn(leaves["q"], leaves["k"], leaves["v"], slopes, W, **kw,
               **{n: leaves[n] for n in NAMES[3:]})  # fmt: skip
    if not grad:
        return [y]
    w = torch.sin(torch.arange(y.numel(), device=y.device, dtype=torch.float32)).reshape(y.shape)
    (y * w.to(y.dtype)).sum().backward()
    return [y] + [leaves[n].grad for n in NAMES]


def backend(name):
    return lambda *a, **k: window_attention(*a, **k, backend=name)


def rel(p, q):
    p, q = p.detach().double(), q.detach().double()
    return float((p - q).abs().max() / (q.abs().max() + 1e-30))


# ---------------------------------------------------------------- 1. correctness
checks = []
CASES = [  # B, L, H, hd, W, M, nf, dtype, reference
    (2, 77, 2, 16, 8, 5, 2, torch.float64, naive),
    (2, 77, 2, 16, 8, 5, 2, torch.float32, naive),
    (4, 1000, 4, 64, 64, 32, 1, torch.float32, chunk),
    (2, 513, 8, 32, 16, 16, 3, torch.float32, chunk),
]
if DRY:
    CASES = [
        (1, 21, 2, 4, 4, 3, 2, torch.float64, naive),
        (1, 21, 2, 4, 4, 3, 2, torch.float32, naive),
    ]
for B, L, H, hd, W, M, nf, dt, ref in CASES:
    x, fixed, slopes = make(B, L, H, hd, W, M, nf, dt)
    r0 = run(ref.window_attention, x, fixed, slopes)
    for name in ("triton", "flex"):
        if name == "flex" and (dt == torch.float64 or DRY):
            continue  # compiled FlexAttention: float32 or less; no CPU backward
        try:
            r1 = run(backend(name), x, fixed, slopes)
            errs = {n: rel(p, q) for n, p, q in zip(["y"] + NAMES, r1, r0)}
            row = dict(backend=name, shape=[B, L, H, hd, W, M, nf], dtype=str(dt),
                       ref=ref.__name__.split(".")[-1], max_rel_err=max(errs.values()), errs=errs)  # fmt: skip
        except Exception as exc:  # record and go on: one failure must not hide the others
            row = dict(
                backend=name, shape=[B, L, H, hd, W, M, nf], dtype=str(dt), error=repr(exc)[:500]
            )
        checks.append(row)
        print(
            "check",
            row.get("backend"),
            row["shape"],
            row["dtype"],
            row.get("max_rel_err", row.get("error")),
            flush=True,
        )
if not DRY:
    for name in ("triton", "flex"):
        x, fixed, slopes = make(2, 1000, 4, 64, 64, 32, 1, torch.bfloat16)
        y0 = run(
            chunk.window_attention,
            {n: t.float() for n, t in x.items()},
            fixed,
            slopes.float(),
            grad=False,
        )[0]
        try:
            y1 = run(backend(name), x, fixed, slopes, grad=False)[0]
            checks.append(
                dict(backend=name, dtype="bfloat16", ref="chunk(float32)", max_rel_err=rel(y1, y0))
            )
        except Exception as exc:
            checks.append(dict(backend=name, dtype="bfloat16", error=repr(exc)[:500]))
        print("check bf16", checks[-1], flush=True)
# the batched schedule against the sequential merge (bmojo.selection)
from realize.nn.bmojo.selection import select_candidates, update_store  # noqa: E402

score = torch.randint(0, 6, (8, 512 if not DRY else 40), device=DEV).float()
for sel, ev in (("topk", "score"), ("threshold", "score"), ("threshold", "fifo")):
    cs, M, k, tau = 16 if not DRY else 4, 32 if not DRY else 3, 4, 2.5
    nc = -(-score.shape[1] // cs)
    store = {"index": torch.zeros(8, M, dtype=torch.long, device=DEV),
             "score": torch.full((8, M), float("-inf"), device=DEV),
             "valid": torch.zeros(8, M, dtype=torch.bool, device=DEV)}  # fmt: skip
    idx, val = [], []
    for c in range(nc):
        idx.append(torch.where(store["valid"], store["index"], 0))
        val.append(store["valid"])
        if (c + 1) * cs <= score.shape[1] and c < nc - 1:
            i, sc, v = select_candidates(score[:, c * cs : (c + 1) * cs], c * cs, sel, k, tau)
            store = update_store(store, {"index": i, "score": sc, "valid": v}, M, ev)
    got = eidetic_schedule(score, cs, M, sel, k, tau, ev)
    ok = torch.equal(got[0], torch.stack(idx, 1)) and torch.equal(got[1], torch.stack(val, 1))
    checks.append(dict(op="eidetic_schedule", selection=sel, eviction=ev, equal=ok))
    print("check eidetic_schedule", sel, ev, ok, flush=True)
res["checks"] = checks
save()


# ---------------------------------------------------------------- 2. kernel times
def timed(fn, reps=20, warm=3):
    for _ in range(warm):
        fn()
    if not DRY:
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    if not DRY:
        torch.cuda.synchronize()
    return (time.perf_counter() - t0) / reps


times = []
SIZES = [(64, 256, 4, 16, 16, 32, 1), (8, 4096, 8, 64, 128, 64, 1)]  # MQAR GPU setting; long
if DRY:
    SIZES = [(1, 21, 2, 4, 4, 3, 1)]
for size in SIZES:
    for eid in (True, False):
        x, fixed, slopes = make(*size, torch.bfloat16 if not DRY else torch.float32)
        if not eid:
            fixed = {**fixed, "eidetic_index": None, "eidetic_valid": None}
        for name in ("chunk", "flex", "triton"):
            for grad in (False, True):
                if DRY and name != "chunk":
                    continue
                try:
                    fn = functools.partial(run, backend(name), x, fixed, slopes, grad=grad)
                    t = timed(fn, reps=3 if DRY else 20)
                    row = dict(
                        backend=name,
                        size=list(size),
                        eidetic=eid,
                        pass_="fwd+bwd" if grad else "fwd",
                        ms=1e3 * t,
                    )
                except Exception as exc:
                    row = dict(
                        backend=name,
                        size=list(size),
                        eidetic=eid,
                        pass_="fwd+bwd" if grad else "fwd",
                        error=repr(exc)[:300],
                    )
                times.append(row)
                print("time", row, flush=True)
res["kernel_times"] = times
save()

# ---------------------------------------------------------------- 3. training step ratio
steps = []
args = ["--vocab", "128", "--seq-len", "256", "--d-model", "64", "--layers", "2", "--d-state", "16",
        "--window", "16", "--n-eidetic", "32", "--batch", "64", "--device", DEV, "--steps", "10"]  # fmt: skip
if DRY:
    args = ["--vocab", "16", "--seq-len", "24", "--d-model", "8", "--layers", "1", "--window", "4",
            "--n-eidetic", "2", "--batch", "2", "--steps", "1", "--warmup", "1"]  # fmt: skip
for name in ("triton", "chunk", "flex"):  # triton is what auto picks on CUDA
    cmd = [sys.executable, "benchmarks/bench_bmojo_step.py", *args, "--attention-backend", name]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=150)
        last = [json.loads(s) for s in p.stdout.splitlines() if s.startswith("{")]
        row = dict(backend=name, rows=last, stderr=p.stderr[-300:] if p.returncode else "")
    except Exception as exc:
        row = dict(backend=name, error=repr(exc)[:300])
    steps.append(row)
    print("step", row, flush=True)
    save()
res["train_step"] = steps
save()
print("done", flush=True)
