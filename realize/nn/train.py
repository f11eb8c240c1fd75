"""Train a :class:`~realize.nn.BMOJOLM` from a configuration file.

Usage::

    python -m realize.nn.train --config configs/shakespeare_bmojo.toml
    torchrun --nproc_per_node 2 -m realize.nn.train --config configs/shakespeare_bmojo.toml

The configuration (TOML or JSON) has three tables:

``[model]``
    fields of :class:`~realize.nn.BMOJOConfig` (``vocab_size`` is filled in for
    Shakespeare).
``[data]``
    ``kind = "shakespeare"`` with ``path`` (optional, see
    :func:`realize.nn.data.load_shakespeare`) and ``val_plays``; or ``kind = "mqar"`` with
    ``vocab_size``, ``n_pairs``, ``min_gap``, ``power_a``. Both take ``seq_len`` and
    ``batch_size`` (the *global* batch, split evenly across processes).
``[train]``
    ``steps``, ``lr``, ``min_lr``, ``warmup``, ``weight_decay``, ``grad_clip``, ``seed``,
    ``out_dir``, ``checkpoint_every``, ``eval_every``, ``eval_batches``, ``log_every``,
    ``resume`` (continue from ``out_dir/checkpoint.safetensors`` when present),
    ``threads``, ``dtype`` (``"float32"`` or ``"float64"``), ``progress``, ``device``
    (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...), ``max_seconds`` (stop early after this many
    seconds of training, 0 for no limit; the learning-rate schedule still spans ``steps``).
    ``checkpoint_every``, ``eval_every`` and ``log_every`` of 0 switch those off (the last
    step is always logged).

Determinism: the batch of step ``s`` is drawn from a generator seeded with ``(seed, s)``, so
a resumed run continues exactly where it stopped and a run on ``W`` processes sees the same
global batches as one process. The loss of a batch is normalised by the *global* number of
scored tokens, so the averaged DDP gradient equals the one-process gradient.

Checkpoints are safetensors files: the model (:meth:`BMOJOLM.save`) and
``optimizer.safetensors`` (AdamW moments, step counts, the training step). Metrics are
appended to ``out_dir/metrics.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
import tomllib

import torch
import torch.nn.functional as F

from realize._progress import progress_bar
from realize.errors import FormatError, InvalidValueError
from realize.nn import _checkpoint
from realize.nn.bmojo import BMOJOLM, BMOJOConfig
from realize.nn.data import (
    DEFAULT_VAL_PLAYS,
    load_shakespeare,
    mqar,
    random_batch,
    shakespeare_splits,
)

__all__ = ["load_config", "train", "main"]

TRAIN_DEFAULTS = dict(
    steps=200,
    lr=3e-3,
    min_lr=3e-4,
    warmup=20,
    weight_decay=0.1,
    grad_clip=1.0,
    seed=0,
    out_dir="runs/bmojo",
    checkpoint_every=100,
    eval_every=0,
    eval_batches=4,
    log_every=10,
    resume=True,
    threads=0,
    dtype="float32",
    progress=True,
    device="cpu",
    max_seconds=0.0,
)
DATA_DEFAULTS = dict(
    kind="shakespeare",
    path=None,
    seq_len=128,
    batch_size=16,
    val_plays=None,
    vocab_size=64,
    n_pairs=8,
    min_gap=0,
    power_a=0.01,
)


def load_config(path) -> dict:
    """Read a TOML or JSON configuration into ``{"model": ..., "data": ..., "train": ...}``.

    Parameters
    ----------
    path : str or path-like
        A ``.json`` file, else TOML.

    Returns
    -------
    dict
        The three tables, ``data`` and ``train`` with their defaults filled in.

    Raises
    ------
    FormatError
        A file that cannot be parsed, or with unknown tables or keys.

    Examples
    --------
    >>> import json, os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "run.json")
    >>> with open(path, "w") as f:
    ...     json.dump({"data": {"kind": "mqar"}, "train": {"steps": 2}}, f)
    >>> cfg = load_config(path)
    >>> sorted(cfg), cfg["train"]["steps"], cfg["train"]["lr"]
    (['data', 'model', 'train'], 2, 0.003)
    """
    path = str(path)
    try:
        if path.endswith(".json"):
            with open(path, encoding="utf-8") as f:
                cfg = json.load(f)
        else:
            with open(path, "rb") as f:
                cfg = tomllib.load(f)
    except (OSError, ValueError) as err:
        raise FormatError(
            f"config: expected a readable TOML or JSON file, got {path} ({err})"
        ) from err
    return normalize_config(cfg)


def normalize_config(cfg: dict) -> dict:
    """Fill defaults and reject unknown keys."""
    extra = set(cfg) - {"model", "data", "train"}
    if extra:
        raise FormatError(
            f"config: expected tables model, data, train, got unknown {sorted(extra)}"
        )
    out = {
        "model": dict(cfg.get("model", {})),
        "data": {**DATA_DEFAULTS, **cfg.get("data", {})},
        "train": {**TRAIN_DEFAULTS, **cfg.get("train", {})},
    }
    for table, defaults in (("data", DATA_DEFAULTS), ("train", TRAIN_DEFAULTS)):
        bad = set(out[table]) - set(defaults)
        if bad:
            raise FormatError(f"config: unknown keys in [{table}]: {sorted(bad)}")
    fields = {f.name for f in BMOJOConfig.__dataclass_fields__.values()}
    bad = set(out["model"]) - fields
    if bad:
        raise FormatError(f"config: unknown keys in [model]: {sorted(bad)}")
    if out["data"]["kind"] not in ("shakespeare", "mqar"):
        raise FormatError(
            f"config: data.kind expected 'shakespeare' or 'mqar', got {out['data']['kind']!r}"
        )
    return out


# ---------------------------------------------------------------------- data
class _Data:
    """Deterministic global batches: the batch of step s depends only on (seed, s)."""

    def __init__(self, data: dict, seed: int):
        self.cfg, self.seed = data, seed
        if data["kind"] == "shakespeare":
            text = load_shakespeare(data["path"])
            self.train_ids, self.val_ids, self.tokenizer = shakespeare_splits(
                text, tuple(data["val_plays"] or DEFAULT_VAL_PLAYS)
            )
            self.vocab_size = self.tokenizer.vocab_size
        else:
            self.vocab_size = data["vocab_size"]

    def batch(self, step: int, split: str = "train", seq_len: int | None = None):
        d = self.cfg
        g = torch.Generator().manual_seed(
            self.seed * 1_000_003 + step + (1 << 40 if split == "val" else 0)
        )
        L = seq_len or d["seq_len"]
        if d["kind"] == "shakespeare":
            ids = self.train_ids if split == "train" else self.val_ids
            return random_batch(ids, d["batch_size"], L, g)
        return mqar(
            d["batch_size"],
            d["vocab_size"],
            L,
            d["n_pairs"],
            min_gap=d["min_gap"],
            power_a=d["power_a"],
            generator=g,
        )


# ---------------------------------------------------------------------- optimizer files
def _save_optimizer(opt, step: int, path: str) -> None:
    from safetensors.torch import save_file

    tensors, groups = {}, []
    params = [p for g in opt.param_groups for p in g["params"]]
    for i, p in enumerate(params):
        for key, val in opt.state.get(p, {}).items():
            tensors[f"{i}.{key}"] = (
                (val if torch.is_tensor(val) else torch.tensor(val)).detach().cpu().contiguous()
            )
    for g in opt.param_groups:
        groups.append(
            {
                k: v
                for k, v in g.items()
                if k != "params" and isinstance(v, (int, float, bool, type(None)))
            }
        )
    save_file(
        tensors,
        path,
        metadata={"step": str(step), "groups": json.dumps(groups), "n_params": str(len(params))},
    )


_ADAM_STATE = ("step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq")


def _is_setting(group: dict, key: str, value) -> bool:
    """A stored group setting that the optimizer has, with a JSON scalar value."""
    if key not in group or key == "params":
        return False
    return (
        value is None
        or isinstance(value, (bool, int))
        or (isinstance(value, float) and math.isfinite(value))
    )


def _load_optimizer(opt, path: str) -> int:
    """Restore the AdamW state written by :func:`_save_optimizer`; returns the step.

    The whole file is checked (header, metadata, tensor names, shapes and finite values,
    see :mod:`realize.nn._checkpoint`) before the optimizer is changed.
    """
    params = [p for g in opt.param_groups for p in g["params"]]
    header = _checkpoint.read_header(path)
    meta = header.metadata
    try:
        n_params, step = int(meta["n_params"]), int(meta["step"])
        groups = json.loads(meta["groups"])
    except (KeyError, ValueError, RecursionError) as err:
        raise FormatError(
            f"resume: expected an optimizer file with n_params, step and groups, got {path} "
            f"({type(err).__name__}: {err})"
        ) from None
    if n_params != len(params):
        raise InvalidValueError(
            f"resume: expected an optimizer state for {len(params)} tensors, got {n_params}"
        )
    ok = step >= 0 and isinstance(groups, list) and len(groups) == len(opt.param_groups)
    ok = ok and all(
        isinstance(stored, dict) and all(_is_setting(g, k, v) for k, v in stored.items())
        for g, stored in zip(opt.param_groups, groups)
    )
    if not ok:
        raise FormatError(
            f"resume: expected a step >= 0 and {len(opt.param_groups)} groups of the optimizer's "
            f"own settings, got step {step} and groups {meta['groups'][:100]!r} in {path}"
        )
    expected = {
        f"{i}.{key}": () if key == "step" else tuple(p.shape)
        for i, p in enumerate(params)
        for key in _ADAM_STATE
    }
    for key, val in _checkpoint.load_tensors(header, expected, complete=False).items():
        i, name = key.split(".", 1)
        p = params[int(i)]
        opt.state[p][name] = val if name == "step" else val.to(p.device)
    for g, stored in zip(opt.param_groups, groups):
        g.update(stored)
    return step


# ---------------------------------------------------------------------- training
def _lr(step: int, t: dict) -> float:
    if step < t["warmup"]:
        return t["lr"] * (step + 1) / t["warmup"]
    frac = (step - t["warmup"]) / max(1, t["steps"] - t["warmup"])
    return t["min_lr"] + 0.5 * (t["lr"] - t["min_lr"]) * (1 + math.cos(math.pi * min(frac, 1.0)))


@torch.no_grad()
def evaluate(
    model, data: _Data, n_batches: int, seq_len: int | None = None, dtype=torch.float32
) -> dict:
    """Validation metrics: cross-entropy (nats), bits per token, and for MQAR the recall
    accuracy on the scored positions."""
    model.eval()
    ce_sum, n_tok, correct = 0.0, 0, 0
    for b in range(n_batches):
        x, y = data.batch(b, "val", seq_len)
        dev = next(model.parameters()).device
        x, y = x.to(dev), y.to(dev)
        logits = model(x).to(torch.float64)
        mask = y != -100
        ce_sum += float(F.cross_entropy(logits[mask], y[mask], reduction="sum"))
        n_tok += int(mask.sum())
        correct += int((logits[mask].argmax(-1) == y[mask]).sum())
    model.train()
    ce = ce_sum / max(n_tok, 1)
    return {"val_ce": ce, "val_bits": ce / math.log(2), "val_acc": correct / max(n_tok, 1)}


def train(cfg: dict, *, log=None) -> dict:
    """Run training as configured; returns the final metrics (and writes them to out_dir).

    Works in one process or under ``torchrun`` (``torch.distributed`` with the gloo backend
    on CPU, NCCL on GPU), wrapping the model in DistributedDataParallel.

    Parameters
    ----------
    cfg : dict
        The tables of the module notes (as :func:`load_config` reads them; defaults filled).
    log : callable, optional
        Called with each logged record (step, loss, lr) on the first process.

    Returns
    -------
    dict
        The last record, ``train_seconds``, ``steps_done``, the validation metrics
        (``val_ce``, ``val_bits``, ``val_acc``) and the trained ``model``.

    Examples
    --------
    >>> import os, tempfile
    >>> cfg = {
    ...     "model": {"d_model": 16, "n_layers": 1, "d_state": 4, "window": 4,
    ...               "n_eidetic": 0, "n_heads": 2, "scan_backend": "naive"},
    ...     "data": {"kind": "mqar", "vocab_size": 16, "n_pairs": 2, "seq_len": 16,
    ...              "batch_size": 4},
    ...     "train": {"steps": 2, "out_dir": tempfile.mkdtemp(), "progress": False},
    ... }
    >>> metrics = train(cfg)
    >>> metrics["steps_done"], sorted(os.listdir(cfg["train"]["out_dir"]))
    (2, ['checkpoint.safetensors', 'config.json', 'final.json', 'metrics.jsonl',
         'optimizer.safetensors'])
    """
    cfg = normalize_config(cfg)
    t, d = cfg["train"], cfg["data"]
    world, rank = _process_group()
    if t["threads"]:
        torch.set_num_threads(int(t["threads"]))
    if d["batch_size"] % world:
        raise InvalidValueError(
            f"batch_size: expected a multiple of the {world} processes, got {d['batch_size']}"
        )
    dtype = {"float32": torch.float32, "float64": torch.float64}[t["dtype"]]
    torch.manual_seed(t["seed"])
    data = _Data(d, t["seed"])
    config = _model_config(cfg["model"], data.vocab_size, d["seq_len"])
    device = _device(t["device"], world)
    model = BMOJOLM(config=config).to(device=device, dtype=dtype)
    opt = _adamw(model, t)
    run = _RunFolder(t["out_dir"], rank, world)
    start = run.resume(model, opt, device) if t["resume"] else 0
    run.write_json("config.json", {**cfg, "model": config.to_dict()})
    net = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model)
    bar = progress_bar(
        bool(t["progress"]) and rank == 0,
        desc="train",
        total=t["steps"],
        unit="step",
        initial=start,
    )
    log = log or (lambda rec: None)
    metrics = {}
    t_start = time.perf_counter()
    for step in range(start, t["steps"]):
        for g in opt.param_groups:
            g["lr"] = _lr(step, t)
        ce = _train_step(net, model, opt, data.batch(step), rank, world, t["grad_clip"], device)
        metrics = {"step": step + 1, "loss": ce, "lr": opt.param_groups[0]["lr"]}
        if (t["log_every"] and (step + 1) % t["log_every"] == 0) or step + 1 == t["steps"]:
            if bar is not None:
                bar.set_postfix(loss=f"{ce:.4f}", refresh=False)
                bar.update(step + 1 - bar.n)
            if rank == 0:
                log(metrics)
                run.append_metrics(metrics)
        if t["eval_every"] and (step + 1) % t["eval_every"] == 0 and rank == 0:
            metrics.update(evaluate(model, data, t["eval_batches"], dtype=dtype))
        if t["checkpoint_every"] and (step + 1) % t["checkpoint_every"] == 0:
            run.save(model, opt, step + 1)
        if t["max_seconds"] and time.perf_counter() - t_start > t["max_seconds"]:
            break
    if bar is not None:
        bar.close()
    return _finish(model, opt, run, data, metrics, start, t_start, t, dtype)


def _process_group() -> tuple[int, int]:
    """(world size, rank), initializing ``torch.distributed`` under ``torchrun``."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 1, 0
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return world, dist.get_rank()


def _model_config(model: dict, vocab_size: int, seq_len: int):
    """The BMOJOConfig of the [model] table, checked against the sequence length."""
    config = BMOJOConfig(**{**model, "vocab_size": vocab_size})
    if config.attention and seq_len < config.window:
        raise InvalidValueError(
            f"window: expected at most data.seq_len={seq_len}, got {config.window}"
        )
    if config.n_eidetic > max(seq_len - config.window, 0):
        # only tokens that have left the window are stored: a larger store never fills
        raise InvalidValueError(
            f"n_eidetic: expected at most data.seq_len - window = "
            f"{max(seq_len - config.window, 0)}, got {config.n_eidetic}"
        )
    return config


def _device(name: str, world: int) -> torch.device:
    """The configured device; under torchrun a bare "cuda" is the process's local GPU."""
    device = torch.device(name)
    if world > 1 and device.type == "cuda" and device.index is None:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return device


def _adamw(model, t: dict):
    """AdamW with weight decay on the matrices only (not on biases, norms, scales)."""
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    return torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": t["weight_decay"]},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=t["lr"],
        betas=(0.9, 0.95),
    )


def _train_step(net, model, opt, batch, rank: int, world: int, grad_clip, device) -> float:
    """One optimizer step on this process's share of the global batch; the global loss."""
    x, y = batch
    n_scored = int((y != -100).sum())
    per = x.shape[0] // world
    x, y = x[rank * per : (rank + 1) * per], y[rank * per : (rank + 1) * per]
    x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
    logits = net(x)
    ce_sum = F.cross_entropy(
        logits.flatten(0, 1).to(torch.promote_types(logits.dtype, torch.float32)),
        y.flatten(),
        ignore_index=-100,
        reduction="sum",
    )
    # global normalisation: DDP averages gradients over processes, hence the factor world
    ce_part = ce_sum / max(n_scored, 1)
    loss = world * ce_part + model.config.innovation_weight * model.innovation_nll()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    opt.step()
    ce = ce_part.detach().clone()
    if world > 1:
        import torch.distributed as dist

        dist.all_reduce(ce)
    return float(ce)


class _RunFolder:
    """The files of a run in ``out_dir``; only rank 0 writes, every rank waits for it."""

    def __init__(self, out_dir: str, rank: int, world: int):
        self.out, self.rank, self.world = out_dir, rank, world
        self.ckpt = os.path.join(out_dir, "checkpoint.safetensors")
        self.optf = os.path.join(out_dir, "optimizer.safetensors")

    def resume(self, model, opt, device) -> int:
        """The step to continue from (0 without a checkpoint pair), weights and state loaded."""
        if not (os.path.exists(self.ckpt) and os.path.exists(self.optf)):
            return 0
        model.load_weights(self.ckpt, device=device)
        return _load_optimizer(opt, self.optf)

    def write_json(self, name: str, payload: dict) -> None:
        if self.rank == 0:
            os.makedirs(self.out, exist_ok=True)
            with open(os.path.join(self.out, name), "w") as f:
                json.dump(payload, f, indent=1)

    def append_metrics(self, metrics: dict) -> None:
        with open(os.path.join(self.out, "metrics.jsonl"), "a") as f:
            f.write(json.dumps(metrics) + "\n")

    def save(self, model, opt, step: int) -> None:
        """The checkpoint pair, each written aside and then renamed (never half written)."""
        if self.rank == 0:
            model.save(self.ckpt + ".tmp")
            _save_optimizer(opt, step, self.optf + ".tmp")
            os.replace(self.ckpt + ".tmp", self.ckpt)
            os.replace(self.optf + ".tmp", self.optf)
        self.barrier()

    def barrier(self) -> None:
        if self.world > 1:
            import torch.distributed as dist

            dist.barrier()


def _finish(model, opt, run, data, metrics, start, t_start, t, dtype) -> dict:
    """The last checkpoint, the final evaluation in final.json, the process group closed."""
    done = metrics.get("step", start)
    if start < done:
        run.save(model, opt, done)
    metrics["train_seconds"] = time.perf_counter() - t_start
    metrics["steps_done"] = done
    if run.rank == 0 and t["eval_batches"]:
        metrics.update(evaluate(model, data, t["eval_batches"], dtype=dtype))
        run.write_json("final.json", metrics)
    if run.world > 1:
        import torch.distributed as dist

        run.barrier()
        dist.destroy_process_group()
    metrics["model"] = model
    return metrics


def main(argv=None) -> int:
    """``python -m realize.nn.train --config FILE [--steps N] [--out-dir DIR] [--no-resume]``.

    Parameters
    ----------
    argv : list of str, optional
        The command-line arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status, 0; the final metrics are printed as one JSON line.

    Examples
    --------
    >>> import json, os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> cfg = {
    ...     "model": {"d_model": 16, "n_layers": 1, "d_state": 4, "window": 4,
    ...               "n_eidetic": 0, "n_heads": 2, "scan_backend": "naive"},
    ...     "data": {"kind": "mqar", "vocab_size": 16, "n_pairs": 2, "seq_len": 16,
    ...              "batch_size": 4},
    ...     "train": {"steps": 2, "progress": False},
    ... }
    >>> with open(os.path.join(folder, "run.json"), "w") as f:
    ...     json.dump(cfg, f)
    >>> main(["--config", os.path.join(folder, "run.json"), "--out-dir", folder])
    {"step": 2, "loss": ..., "steps_done": 2, ...}
    0
    """
    parser = argparse.ArgumentParser(
        prog="python -m realize.nn.train", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--config", required=True, help="TOML or JSON configuration file")
    parser.add_argument("--steps", type=int, help="override train.steps")
    parser.add_argument("--out-dir", help="override train.out_dir")
    parser.add_argument("--no-resume", action="store_true", help="start from scratch")
    args = parser.parse_args(argv)
    cfg = load_config(args.config)
    if args.steps is not None:
        cfg["train"]["steps"] = args.steps
    if args.out_dir:
        cfg["train"]["out_dir"] = args.out_dir
    if args.no_resume:
        cfg["train"]["resume"] = False
    m = train(cfg)
    if int(os.environ.get("RANK", "0")) == 0:
        m.pop("model")
        print(json.dumps({k: v for k, v in m.items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
