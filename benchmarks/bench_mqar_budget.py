"""MQAR recall against the memory budget, for B'MOJO and its three variants (CPU).

The budget is B'MOJO's floats stored per sequence when decoding
(:meth:`realize.nn.BMOJOLM.memory_floats`), set by its eidetic store size ``n_eidetic``
(one budget per value of ``--stores``); at each budget the other variants get the same floats
as a larger SSM state (B'MOJO-F, Mamba-like) or a larger window (sliding-window
Transformer), and an MLP width that matches B'MOJO's parameter count (as in
``bench_mqar.py``, whose sizing this script reuses). B'MOJO runs with the default selection
rule of :class:`realize.nn.BMOJOConfig`. Every query comes at least ``--min-gap`` positions
after the pairs; a sliding-window Transformer whose window would reach that far at some
budget is left out there ("-"). Prints one table: recall per variant and budget.

Length generalization (``--lengths 1,4,16``): every trained model, with the same weights,
is also scored at ``k`` times the training length, with ``k`` times the gaps and
``sqrt(k)`` times the pairs (at most ``vocab / 2 - 1``): a second table, recall per
variant and length at each budget. ``--figure PATH`` draws recall against the budget.

Usage::

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_mqar_budget.py --steps 250 --stores 4,8,16,32 \
        --lengths 1,4,16 --figure docs/_static/mqar_budget.png
"""

from __future__ import annotations

import argparse
import json
import math
import time

import torch
from bench_mqar import model_sizes, mqar_run, sized

from realize.nn import BMOJOLM, BMOJOConfig
from realize.nn.data import mqar
from realize.nn.train import train

VARIANTS = ("bmojo", "bmojo-f", "swa", "mamba")


def longer(a, k: int) -> dict:
    """The MQAR task at ``k`` times the training length: gaps ``k`` times, pairs ``sqrt(k)``
    times (at most ``vocab / 2 - 1``), the sequence long enough for both."""
    pairs = min(int(round(a.pairs * math.sqrt(k))), a.vocab // 2 - 1)
    gap = a.min_gap * k
    return dict(n_pairs=pairs, min_gap=gap, seq_len=max(a.seq_len * k, 2 * pairs + gap + 2 * pairs))


@torch.no_grad()
def recall(model, a, k: int, batches: int = 8) -> float:
    """Recall accuracy of ``model`` on held-out MQAR batches at ``k`` times the length."""
    task = longer(a, k)
    g = torch.Generator().manual_seed(1_000_000 + k)
    model.eval()
    hit = total = 0
    for _ in range(batches):
        x, y = mqar(a.batch, a.vocab, task["seq_len"], task["n_pairs"], min_gap=task["min_gap"],
                    generator=g)  # fmt: skip
        mask = y != -100
        hit += int((model(x).argmax(-1)[mask] == y[mask]).sum())
        total += int(mask.sum())
    return hit / total


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=250)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--vocab", type=int, default=32)
    p.add_argument("--pairs", type=int, default=4)
    p.add_argument("--seq-len", type=int, default=96)
    p.add_argument("--min-gap", type=int, default=56)
    p.add_argument("--d-model", type=int, default=32)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--window", type=int, default=8)
    p.add_argument("--d-state", type=int, default=8)
    p.add_argument("--stores", default="4,8,16,32", help="B'MOJO's n_eidetic, one per budget")
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lengths", default="1", help="evaluation lengths, multiples of --seq-len")
    p.add_argument("--figure", default="", help="write recall against budget to this image")
    p.add_argument("--out", default="bench_mqar_budget.json")
    a = p.parse_args(argv)
    lengths = [int(k) for k in a.lengths.split(",")]
    torch.set_num_threads(1)
    rows = []
    for store in (int(s) for s in a.stores.split(",")):
        base = dict(
            vocab_size=a.vocab,
            d_model=a.d_model,
            n_layers=a.layers,
            d_state=a.d_state,
            window=a.window,
            n_eidetic=store,
        )
        ref = BMOJOLM(config=BMOJOConfig(**base))
        budget, params = ref.memory_floats(), ref.num_parameters()
        for name in a.variants.split(","):
            cfg = sized(name, base, budget, params)
            if cfg.attention and cfg.window >= a.min_gap:
                print(f"{name} at budget {budget}: window {cfg.window} >= min_gap, skipped")
                continue
            run = mqar_run(cfg, a, a.steps, f"runs/mqar_budget_{name}_{store}", eval_batches=8)
            t0 = time.perf_counter()
            m = train(run)
            model = m.pop("model")
            row = dict(
                variant=name,
                budget=budget,
                **model_sizes(model),
                steps=m["steps_done"],
                val_acc=m["val_acc"],
                seconds=time.perf_counter() - t0,
                recall={k: recall(model, a, k) for k in lengths},
            )
            rows.append(row)
            print(json.dumps(row), flush=True)
    with open(a.out, "w") as f:
        json.dump({"args": vars(a), "rows": rows}, f, indent=1)
    budgets = sorted({r["budget"] for r in rows})
    print("\n| variant | " + " | ".join(f"{b} floats" for b in budgets) + " |")
    print("|---|" + "---|" * len(budgets))
    for name in a.variants.split(","):
        acc = {r["budget"]: r["val_acc"] for r in rows if r["variant"] == name}
        cells = [f"{acc[b]:.3f}" if b in acc else "-" for b in budgets]
        print(f"| {name} | " + " | ".join(cells) + " |")
    if lengths != [1]:
        tasks = [longer(a, k) for k in lengths]
        print("\n| variant | floats | " + " | ".join(
            f"{k}x: length {t['seq_len']}, {t['n_pairs']} pairs, gap >= {t['min_gap']}"
            for k, t in zip(lengths, tasks)) + " |")  # fmt: skip
        print("|---|---|" + "---|" * len(lengths))
        for r in rows:
            cells = [f"{r['recall'][k]:.3f}" for k in lengths]
            print(f"| {r['variant']} | {r['budget']} | " + " | ".join(cells) + " |")
    if a.figure:
        figure(rows, a)


def figure(rows, a) -> None:
    """Recall against stored floats per sequence, one line per variant."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for name in a.variants.split(","):
        pts = sorted((r["budget"], r["val_acc"]) for r in rows if r["variant"] == name)
        if pts:
            ax.plot(*zip(*pts), marker="o", label=name)
    ax.axhline(2 / a.vocab, color="gray", lw=0.8, ls=":", label="chance")
    ax.set_xscale("log", base=2)
    budgets = sorted({r["budget"] for r in rows})
    ax.set_xticks(budgets, [str(b) for b in budgets])
    ax.minorticks_off()
    ax.set_xlabel("memory budget (floats stored per sequence)")
    ax.set_ylabel("MQAR recall")
    ax.set_ylim(0, 1)
    ax.legend(frameon=False, fontsize=8)
    ax.set_title(f"MQAR: {a.pairs} pairs, gap >= {a.min_gap}, {a.steps} steps", fontsize=9)
    fig.tight_layout()
    fig.savefig(a.figure, dpi=120)


if __name__ == "__main__":
    main()
