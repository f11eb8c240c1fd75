"""realize.nn.train: configuration files, checkpoints and resume, DDP with gloo."""

import json
import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

from realize.errors import FormatError, InvalidValueError  # noqa: E402
from realize.nn import BMOJOLM  # noqa: E402
from realize.nn.train import load_config, train  # noqa: E402

TOML = """
[model]
d_model = 16
n_layers = 1
d_state = 4
window = 8
n_eidetic = 4
n_heads = 2
chunk = 4
scan_backend = "naive"

[data]
kind = "mqar"
vocab_size = 32
n_pairs = 4
min_gap = 8
seq_len = 32
batch_size = 8

[train]
steps = 6
lr = 1e-2
warmup = 2
checkpoint_every = 3
eval_batches = 1
log_every = 1
dtype = "float64"
threads = 1
progress = false
"""


def _cfg(tmp_path, name="run", **train_kw):
    path = tmp_path / "cfg.toml"
    path.write_text(TOML)
    cfg = load_config(path)
    cfg["train"]["out_dir"] = str(tmp_path / name)
    cfg["train"].update(train_kw)
    return cfg


def test_toml_and_json_configs_agree(tmp_path):
    cfg = _cfg(tmp_path)
    jpath = tmp_path / "cfg.json"
    jpath.write_text(json.dumps({k: v for k, v in cfg.items()}))
    assert load_config(jpath) == cfg


def test_bad_configs(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(TOML.replace("steps = 6", "stpes = 6"))
    with pytest.raises(FormatError, match="stpes"):
        load_config(bad)
    bad.write_text("[model\n")
    with pytest.raises(FormatError, match="config"):
        load_config(bad)
    cfg = _cfg(tmp_path)
    cfg["model"]["window"] = 64
    with pytest.raises(InvalidValueError, match="window"):
        train(cfg)
    cfg = _cfg(tmp_path)
    cfg["model"]["n_eidetic"] = 25  # seq_len 32 - window 8 = 24 tokens can leave the window
    with pytest.raises(InvalidValueError, match="n_eidetic"):
        train(cfg)


def test_training_reduces_loss_and_writes_checkpoints(tmp_path):
    cfg = _cfg(tmp_path, steps=12)
    m = train(cfg)
    out = tmp_path / "run"
    assert (out / "checkpoint.safetensors").exists() and (out / "optimizer.safetensors").exists()
    hist = [json.loads(line)["loss"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert len(hist) == 12 and hist[-1] < hist[0]
    back = BMOJOLM.load(out / "checkpoint.safetensors").double()
    x = torch.randint(0, 32, (2, 32))
    torch.testing.assert_close(back(x), m["model"](x), atol=1e-12, rtol=0)


def test_zero_log_interval_logs_the_last_step_only(tmp_path):
    """log_every = 0 switches periodic logging off, as 0 does for eval_every and
    checkpoint_every (it divided by zero)."""
    m = train(_cfg(tmp_path, steps=3, log_every=0, checkpoint_every=0))
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [3] and m["step"] == 3


def test_resume_continues_exactly(tmp_path):
    whole = train(_cfg(tmp_path, "whole", steps=6))
    part = train(_cfg(tmp_path, "part", steps=3))
    assert part["step"] == 3
    resumed = train(_cfg(tmp_path, "part", steps=6))
    assert resumed["step"] == 6
    for (n, a), (_, b) in zip(
        whole["model"].state_dict().items(), resumed["model"].state_dict().items()
    ):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0, msg=n)
    assert abs(whole["loss"] - resumed["loss"]) < 1e-12


def test_progress_is_a_tqdm_bar_on_a_terminal_only(tmp_path, capsys, monkeypatch):
    train(_cfg(tmp_path, "quiet", progress=True))
    assert capsys.readouterr().err == ""  # stderr is not a terminal here
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    train(_cfg(tmp_path, "shown", progress=True))
    err = capsys.readouterr().err
    assert "train:" in err and "/6 [" in err and "loss=" in err


def test_ddp_two_processes_match_one(tmp_path):
    """torchrun, 2 processes, gloo, CPU: same losses as 1 process on the same global batch."""
    cfg = _cfg(tmp_path, "one")
    one = train(cfg)
    cfg2 = _cfg(tmp_path, "two")
    path = tmp_path / "two.json"
    path.write_text(json.dumps(cfg2))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_port",
        str(29500 + os.getpid() % 1000),
        "-m",
        "realize.nn.train",
        "--config",
        str(path),
    ]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert res.returncode == 0, res.stderr[-3000:]
    h1 = [
        json.loads(x)["loss"] for x in (tmp_path / "one" / "metrics.jsonl").read_text().splitlines()
    ]
    h2 = [
        json.loads(x)["loss"] for x in (tmp_path / "two" / "metrics.jsonl").read_text().splitlines()
    ]
    assert len(h1) == len(h2) == 6
    for a, b in zip(h1, h2):
        assert abs(a - b) < 1e-9
    final = BMOJOLM.load(tmp_path / "two" / "checkpoint.safetensors").double()
    for (n, a), (_, b) in zip(one["model"].state_dict().items(), final.state_dict().items()):
        torch.testing.assert_close(a, b, atol=1e-9, rtol=0, msg=n)
