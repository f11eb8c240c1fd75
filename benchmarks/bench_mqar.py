"""MQAR (Zoology's multi-query associative recall) for B'MOJO and its variants (CPU or GPU).

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

With ``--time-budget S`` each model first times a few training steps and then trains for
``min(--steps, S x measured steps/s)`` steps, so that a run fits a fixed wall-clock budget with
a complete learning-rate schedule; ``train.max_seconds`` stops it at ``1.2 S`` in any case.
The steps actually done are reported.

Usage::

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_mqar.py --steps 600
    python benchmarks/bench_mqar.py --device cuda --steps 20000 --time-budget 240 --variants bmojo
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from realize.nn import BMOJOLM, BMOJOConfig
from realize.nn.data import mqar
from realize.nn.train import train


def steps_per_second(cfg: BMOJOConfig, a, n_warm: int = 5, n_timed: int = 20) -> float:
    """Training steps per second of this configuration (data drawing included)."""
    dev = torch.device(a.device)
    model = BMOJOLM(config=cfg).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    g = torch.Generator().manual_seed(12345)

    def step():
        x, y = mqar(a.batch, a.vocab, a.seq_len, a.pairs, min_gap=a.min_gap, generator=g)
        loss, _ = model.loss(x.to(dev), y.to(dev))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(n_warm):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    t0 = time.perf_counter()
    for _ in range(n_timed):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    return n_timed / (time.perf_counter() - t0)


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


def mqar_run(cfg: BMOJOConfig, a, steps: int, out_dir: str, **train_fields) -> dict:
    """The :func:`realize.nn.train.train` configuration of one MQAR run (data from the
    arguments ``a``: vocab, pairs, min_gap, seq_len, batch, seed)."""
    return {
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
            steps=steps,
            seed=a.seed,
            out_dir=out_dir,
            checkpoint_every=0,
            resume=False,
            threads=1,
            progress=False,
            **train_fields,
        ),
    }


def model_sizes(model: BMOJOLM) -> dict:
    """Parameters, memory floats, window, SSM state and store size of a trained model."""
    cfg = model.config
    return dict(
        params=model.num_parameters(),
        memory_floats=model.memory_floats(),
        window=cfg.window if cfg.attention else 0,
        d_state=cfg.d_state if cfg.ssm else 0,
        n_eidetic=cfg.n_eidetic,
    )


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
    # the selection rule: BMOJOConfig's defaults unless given
    p.add_argument("--alpha", type=float, default=None, help="threshold_alpha")
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--window", type=int, default=8, help="B'MOJO's attention window")
    p.add_argument("--n-eidetic", type=int, default=12, help="B'MOJO's eidetic store size")
    p.add_argument("--d-state", type=int, default=8, help="B'MOJO's SSM state size")
    p.add_argument("--chunk", type=int, default=None, help="B'MOJO's chunk (store update period)")
    p.add_argument("--selection", default=None, choices=["threshold", "topk"])
    p.add_argument("--select-k", type=int, default=None, help="tokens per chunk for topk")
    p.add_argument("--eviction", default=None, choices=["fifo", "score"])
    p.add_argument("--scale-momentum", type=float, default=None)
    p.add_argument("--innovation-weight", type=float, default=None)
    p.add_argument("--eval-batches", type=int, default=8)
    p.add_argument("--device", default="cpu", help="torch device: cpu, cuda, cuda:1, ...")
    p.add_argument(
        "--time-budget",
        type=float,
        default=0.0,
        help="seconds of training per model; steps = min(--steps, budget x measured rate)",
    )
    p.add_argument("--tag", default="", help="suffix of the variant name in the results")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--variants", default="bmojo,bmojo-f,swa,mamba")
    p.add_argument("--out", default="bench_mqar.json")
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    base = dict(
        vocab_size=a.vocab,
        d_model=a.d_model,
        n_layers=a.layers,
        d_state=a.d_state,
        window=a.window,
        n_eidetic=a.n_eidetic,
        n_heads=4,
    )
    rule = dict(
        chunk=a.chunk,
        selection=a.selection,
        select_k=a.select_k,
        threshold_alpha=a.alpha,
        eviction=a.eviction,
        scale_momentum=a.scale_momentum,
        innovation_weight=a.innovation_weight,
    )
    base.update({k: v for k, v in rule.items() if v is not None})
    ref = BMOJOLM(config=BMOJOConfig(**base))
    device = torch.device(a.device)
    budget, params = ref.memory_floats(), ref.num_parameters()
    rows = []
    for name in a.variants.split(","):
        cfg = sized(name, base, budget, params)
        if cfg.attention and cfg.window >= a.min_gap:
            raise SystemExit(
                f"{name}: window {cfg.window} >= min_gap {a.min_gap}: pairs would sit in the window"
            )
        steps, rate = a.steps, None
        if a.time_budget:
            rate = steps_per_second(cfg, a)
            steps = max(1, min(a.steps, int(rate * a.time_budget)))
            print(f"{name}: {rate:.1f} steps/s on {device}: {steps} steps", flush=True)
        run = mqar_run(
            cfg,
            a,
            steps,
            f"runs/mqar_{name}{a.tag}",
            lr=a.lr,
            warmup=a.warmup,
            eval_batches=a.eval_batches,
            log_every=25,
            device=a.device,
            max_seconds=1.2 * a.time_budget,
        )
        t0 = time.perf_counter()
        m = train(run, log=lambda r, n=name + a.tag: print(n, r, flush=True))
        model = m.pop("model")
        row = dict(
            variant=name + a.tag,
            device=str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
            steps=m["steps_done"],
            steps_per_s_measured=rate,
            train_seconds=m["train_seconds"],
            **model_sizes(model),
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
