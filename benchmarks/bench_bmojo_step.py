"""Training-step time of B'MOJO against B'MOJO-F (issue 14's speed target: at most 1.5x).

One AdamW step (forward, backward, update) of ``BMOJOLM`` on random tokens, timed as the
median of ``--steps`` steps after ``--warmup``, the two variants alternating step by step; B'MOJO-F is the same model with
``n_eidetic=0``. Prints one JSON line per variant and the ratio.

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/bench_bmojo_step.py \\
        --threads 1 --attention-backend chunk
"""

import argparse
import json
import statistics
import time

import torch

from realize.nn import BMOJOLM, SlidingWindowAttention


def make_step(model, tokens, device):
    """One AdamW step of ``model`` on ``tokens``, returning its seconds: wall clock on a GPU,
    the process's CPU time on the CPU (robust to other jobs sharing the cores)."""
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)

    clock = time.perf_counter if device.type == "cuda" else time.process_time

    def step() -> float:
        t0 = clock()
        logits = model(tokens)
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), tokens.flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return clock() - t0

    return step


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--vocab", type=int, default=256)
    p.add_argument("--seq-len", type=int, default=160)
    p.add_argument("--d-model", type=int, default=64)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--d-state", type=int, default=8)
    p.add_argument("--window", type=int, default=16)
    p.add_argument("--n-eidetic", type=int, default=16)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument(
        "--attention-backend",
        default=None,
        help="set every layer's SlidingWindowAttention.backend (default: its own)",
    )
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    g = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, a.vocab, (a.batch, a.seq_len), generator=g).to(device)
    steps = {}
    for name, n_eidetic in (("bmojo", a.n_eidetic), ("bmojo-f", 0)):
        torch.manual_seed(0)
        model = BMOJOLM(a.vocab, a.d_model, a.layers, a.d_state, a.window, n_eidetic).to(device)
        if a.attention_backend is not None:
            for m in model.modules():
                if isinstance(m, SlidingWindowAttention):
                    m.backend = a.attention_backend
        steps[name] = make_step(model, tokens, device)
    # the variants alternate step by step, so a load on the machine hits both alike
    times = {name: [] for name in steps}
    for i in range(a.warmup + a.steps):
        for name, step in steps.items():
            dt = step()
            if i >= a.warmup:
                times[name].append(dt)
    res = {name: statistics.median(ts) for name, ts in times.items()}
    for name, t in res.items():
        print(json.dumps({"variant": name, "step_s": round(t, 4)}), flush=True)
    ratio = res["bmojo"] / res["bmojo-f"]
    print(json.dumps({"ratio_bmojo_over_f": round(ratio, 3), **vars(a)}), flush=True)


if __name__ == "__main__":
    main()
