"""MQAR (Zoology's multi-query associative recall) for B'MOJO and its variants, on the CPU.

Four models of one code base, at (nearly) equal parameter counts and equal memory budgets:

* B'MOJO: window W, eidetic store M, SSM state N;
* B'MOJO-F (n_eidetic=0): the floats of the eidetic store go to a larger SSM state;
* the sliding-window Transformer (no SSM): the floats go to a larger window;
* the Mamba-like model (no attention): the floats go to a larger SSM state.

The memory budget is counted in floats stored per sequence when decoding
(:meth:`BMOJOLM.memory_floats`: SSM state, convolution histories, cached keys and values,
the eidetic store, the SSM outputs awaiting reading). Each variant's free knob is set to the
largest value whose budget does not exceed B'MOJO's; then its MLP width is set to match
B'MOJO's parameter count. Every query comes at least ``min_gap`` positions after the
key-value block, with ``min_gap`` larger than every model's window: all pairs lie outside
the window when queried.

Usage::

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_mqar.py --steps 600
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from realize.nn import BMOJOLM, BMOJOConfig
from realize.nn.train import train


def sized(name: str, base: dict, budget: int, params: int) -> BMOJOConfig:
    cfg = BMOJOConfig.variant(name, **base)
    knob = {"swa": "window", "mamba": "d_state", "bmojo-f": "d_state"}.get(name)
    if knob:
        v = getattr(cfg, knob)
        while (
            BMOJOLM(config=BMOJOConfig.variant(name, **{**base, knob: v + 1})).memory_floats()
            <= budget
        ):
            v += 1
        cfg = BMOJOConfig.variant(
            name, **{**base, knob: v, **({"chunk": v} if knob == "window" else {})}
        )
    best = None
    for r in [x / 8 for x in range(0, 129)]:
        c = BMOJOConfig(**{**cfg.to_dict(), "mlp_ratio": r})
        diff = abs(BMOJOLM(config=c).num_parameters() - params)
        if best is None or diff < best[0]:
            best = (diff, c)
    return best[1]


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--vocab", type=int, default=32)
    p.add_argument("--pairs", type=int, default=4)
    p.add_argument("--seq-len", type=int, default=64)
    p.add_argument("--min-gap", type=int, default=32)
    p.add_argument("--d-model", type=int, default=32)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--variants", default="bmojo,bmojo-f,swa,mamba")
    p.add_argument("--out", default="bench_mqar.json")
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    base = dict(
        vocab_size=a.vocab,
        d_model=a.d_model,
        n_layers=a.layers,
        d_state=8,
        window=8,
        n_eidetic=12,
        n_heads=4,
        chunk=8,
        selection="threshold",
        threshold_alpha=a.alpha,
        eviction="fifo",
        innovation_weight=1.0,
    )
    ref = BMOJOLM(config=BMOJOConfig(**base))
    budget, params = ref.memory_floats(), ref.num_parameters()
    rows = []
    for name in a.variants.split(","):
        cfg = sized(name, base, budget, params)
        if cfg.attention and cfg.window >= a.min_gap:
            raise SystemExit(
                f"{name}: window {cfg.window} >= min_gap {a.min_gap}: pairs would sit in the window"
            )
        run = {
            "model": cfg.to_dict(),
            "data": dict(
                kind="mqar",
                vocab_size=a.vocab,
                n_pairs=a.pairs,
                min_gap=a.min_gap,
                seq_len=a.seq_len,
                batch_size=a.batch,
            ),
            "train": dict(
                steps=a.steps,
                lr=a.lr,
                warmup=20,
                seed=a.seed,
                out_dir=f"runs/mqar_{name}",
                checkpoint_every=0,
                eval_batches=8,
                log_every=25,
                resume=False,
                threads=1,
                progress=False,
            ),
        }
        t0 = time.perf_counter()
        m = train(run, log=lambda r, n=name: print(n, r, flush=True))
        model = m.pop("model")
        row = dict(
            variant=name,
            params=model.num_parameters(),
            memory_floats=model.memory_floats(),
            window=cfg.window if cfg.attention else 0,
            d_state=cfg.d_state if cfg.ssm else 0,
            n_eidetic=cfg.n_eidetic,
            mlp_ratio=cfg.mlp_ratio,
            train_loss=m["loss"],
            val_acc=m["val_acc"],
            val_ce=m["val_ce"],
            seconds=time.perf_counter() - t0,
        )
        rows.append(row)
        print(json.dumps(row), flush=True)
    with open(a.out, "w") as f:
        json.dump({"args": vars(a), "rows": rows}, f, indent=1)
    print(
        "\n| variant | params | memory floats | window | d_state | n_eidetic | val recall acc | val CE | seconds |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['variant']} | {r['params']} | {r['memory_floats']} | {r['window']} | {r['d_state']} | "
            f"{r['n_eidetic']} | {r['val_acc']:.3f} | {r['val_ce']:.3f} | {r['seconds']:.0f} |"
        )


if __name__ == "__main__":
    main()
