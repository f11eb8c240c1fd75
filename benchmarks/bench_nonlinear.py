"""Nonlinear identification at equal wall-clock budgets: realize vs deepSI's SUBNET vs dynoNet.

All three are trained on the Wiener-Hammerstein benchmark's training part (80,000
samples), early-stopped on the free-run simulation RMSE of the validation part (best
weights restored) and scored by the free-run simulation RMSE on the test part (88,000
samples) from sample 50 on: the benchmark's state-initialization window is samples 0-49.
How each method uses that window:

* realize: ``model.simulate(u, y_init=y[:50])``, its encoder reads samples 0-49;
* SUBNET: deepSI's encoder reads the last ``na = nb = 40`` samples of the window (10-49);
* dynoNet: no state estimator. The record is simulated from sample 0 at zero initial
  conditions; the window only lets the start-up transient decay before scoring.

Because dynoNet cannot use the window, the test RMSE from sample 1000 on (as dynoNet's
``WH2009_test.py`` scores) is printed too.

Configurations (kept at each peer's own WH or default settings):

* realize: ``realize.nn.fit_neural_ssm(y, u, init="auto", validation=(y_val, u_val),
  time_budget=budget, seed=0)``, everything else at its defaults.
* SUBNET (deepSI 0.4.4): ``SUBNET(nu, ny, norm, nx=6, na=40, nb=40)`` with deepSI's
  default networks (residual MLPs, 2 x 64 tanh) and auto normalization on the training
  part; truncation ``T = 80``, ``batch_size = 128``, validation every 100 iterations, as
  in a WH script written for deepSI_lite, the pre-release of deepSI 0.4 (``nx = 6;
  SUBNET(..., nb=40, na=40); fit(..., T=80, batch_size=128, val_freq=100)``; deepSI's
  ``fit`` defaults are batch 256, val_freq 250). Adam at deepSI's default lr (1e-3) on
  deepSI's own ``compute_NMSE`` and ``data_batcher``. The WH cell of deepSI's overview
  notebook (sigmoid f, small h and encoder) illustrates custom networks and is not used.
* dynoNet 0.1.2: ``G1 - F - G2`` as in dynoNet's ``examples/WH2009/WH2009_train.py``:
  G-blocks ``n_a = n_b = 8`` (G1 with one sample of delay), F a 1-10-1 tanh network; Adam
  at lr 2e-4 on the mean squared simulation error of the whole training record (one
  sequence per step, the first 5000 samples skipped, loss scaled by 1000), validation
  every 10 steps. ``--dynonet-linear-path`` adds a parallel linear G-block (n_a = n_b = 8,
  one delay) to the output; dynoNet's WH example has none.

deepSI's ``fit`` and dynoNet's example loop run a fixed number of iterations; both peers are
trained here by the same clock-bounded loop (Adam, validation with best-weight restore,
training stops when the next step plus one validation would pass the budget). Each method
runs in its own subprocess with one thread (``OMP/OPENBLAS/MKL_NUM_THREADS=1``,
``torch.set_num_threads(1)``); the budget covers the whole fit (model construction, data
windows, realize's linear initialization), not imports, data loading or scoring.

Run (one method after the other, on a quiet machine)::

    python benchmarks/bench_nonlinear.py --budget 60 --methods realize,subnet,dynonet
    python benchmarks/bench_nonlinear.py --budget 600
    python benchmarks/bench_nonlinear.py --small --methods subnet,dynonet   # harness smoke test

Peers: ``pip install deepsi==0.4.4 dynonet==0.1.2`` (deepSI pulls ``nonlinear_benchmarks``;
its data loaders are not used, no network access at run time).
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from importlib import metadata

import numpy as np

METHODS = ("realize", "subnet", "dynonet")
WINDOW = 50  # the benchmark's state-initialization window
LATE = 1000  # dynoNet's WH2009_test.py skips this many samples when scoring
SMALL = {"train": 10_000, "valid": 5_000, "test": 10_000}
SMALL_BUDGET = 5.0
THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

# deepSI's author's WH settings; network sizes and lr are deepSI's defaults.
SUBNET_NX, SUBNET_NA, SUBNET_NB, SUBNET_T = 6, 40, 40, 80
SUBNET_BATCH, SUBNET_VAL_EVERY = 128, 100

# dynoNet's examples/WH2009/WH2009_train.py.
DYNONET_NA = DYNONET_NB = 8
DYNONET_HIDDEN, DYNONET_LR, DYNONET_SKIP, DYNONET_LOSS_SCALE = 10, 2e-4, 5000, 1000.0
DYNONET_VAL_EVERY = 10


# --------------------------------------------------------------------------- worker side


def load_wh(small):
    """{part: (u, y)} of the shipped benchmark (truncated with ``small``) and its period."""
    from realize.datasets import wiener_hammerstein

    wh = wiener_hammerstein()
    parts = {}
    for name in ("train", "valid", "test"):
        rec = wh[name]
        n = SMALL[name] if small else len(rec)
        parts[name] = (np.asarray(rec.u[:n], float), np.asarray(rec.y[:n], float))
    return parts, wh.dt


def rmse_from(y, yhat, start):
    """Simulation RMSE of the samples ``start:`` (the ones before are not scored)."""
    return float(np.sqrt(np.mean((np.asarray(y)[start:] - np.asarray(yhat)[start:]) ** 2)))


def train_on_clock(model, step, validate, deadline, val_every):
    """Adam steps until ``deadline``, validating every ``val_every`` steps.

    The weights with the smallest validation RMSE (the start included) are restored. A step
    is taken only while it and one more validation fit before the deadline, so the final
    weights are validated too. Returns (steps, best_step, stop_reason, seconds spent
    validating).
    """
    t0 = time.perf_counter()
    best_val, best_step = validate(), 0
    best_state = copy.deepcopy(model.state_dict())
    t_val, t_step = time.perf_counter() - t0, 0.0
    val_seconds = t_val
    steps, validated, reason = 0, True, "time_budget"
    while time.perf_counter() + t_step + t_val < deadline:
        t0 = time.perf_counter()
        loss = step()
        t_step = time.perf_counter() - t0
        steps += 1
        validated = False
        if not math.isfinite(loss):
            reason = "diverged"
            break
        if steps % val_every == 0:
            t0 = time.perf_counter()
            val = validate()
            t_val, validated = time.perf_counter() - t0, True
            val_seconds += t_val
            if val <= best_val:
                best_val, best_step = val, steps
                best_state = copy.deepcopy(model.state_dict())
    if not validated and reason != "diverged":
        t0 = time.perf_counter()
        val = validate()
        val_seconds += time.perf_counter() - t0
        if val <= best_val:
            best_val, best_step = val, steps
            best_state = copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    return steps, best_step, reason, val_seconds


def run_realize(parts, dt, budget, args):
    import realize.nn

    (u_tr, y_tr), (u_va, y_va), (u_te, y_te) = parts["train"], parts["valid"], parts["test"]
    t0 = time.perf_counter()
    res = realize.nn.fit_neural_ssm(
        y_tr,
        u_tr,
        init="auto",
        validation=(y_va, u_va),
        time_budget=budget,
        seed=0,
        progress=False,
    )
    fit_seconds = time.perf_counter() - t0
    # The encoder reads samples 0..WINDOW-1; outputs from WINDOW on are free-run simulation.
    yv = np.asarray(res.model.simulate(u_va, y_init=y_va[:WINDOW]))[:, 0]
    yt = np.asarray(res.model.simulate(u_te, y_init=y_te[:WINDOW]))[:, 0]
    info = {
        "steps": int(getattr(res, "steps", -1)),
        "best_step": int(getattr(res, "best_step", -1)),
        "stop_reason": str(getattr(res, "stop_reason", "")),
        "config": f"n={res.model.n}, init=auto",
    }
    return fit_seconds, yv, yt, info


def run_subnet(parts, dt, budget, args):
    import deepSI as dsi
    import torch
    from deepSI.fitting import compute_NMSE, data_batcher

    (u_tr, y_tr), (u_va, y_va), (u_te, y_te) = parts["train"], parts["valid"], parts["test"]
    npast = max(SUBNET_NA, SUBNET_NB)

    def record(u, y, start=0):
        return dsi.Input_output_data(u=u[start:], y=y[start:], sampling_time=dt)

    t0 = time.perf_counter()
    deadline = t0 + budget
    torch.manual_seed(0)
    train = record(u_tr, y_tr)
    nu, ny, norm = dsi.get_nu_ny_and_auto_norm(train)
    model = dsi.SUBNET(nu, ny, norm, nx=SUBNET_NX, nb=SUBNET_NB, na=SUBNET_NA)
    arrays, ids = model.create_arrays(train, T=SUBNET_T)
    batches = data_batcher(*arrays, batch_size=SUBNET_BATCH, seed=0, indices=ids)
    optimizer = torch.optim.Adam(model.parameters())

    def simulate(u, y):
        # The encoder reads samples WINDOW-npast..WINDOW-1; free-run simulation from WINDOW.
        arrs, _ = model.create_arrays(record(u, y, WINDOW - npast), T="sim")
        with torch.no_grad():
            yf = model(*arrs)[0].numpy().astype(float)
        return np.concatenate([np.full(WINDOW, np.nan), yf])

    def step():
        loss = compute_NMSE(model, *next(batches))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    model.train()
    steps, best_step, reason, val_seconds = train_on_clock(
        model,
        step,
        lambda: rmse_from(y_va, simulate(u_va, y_va), WINDOW),
        deadline,
        SUBNET_VAL_EVERY,
    )
    fit_seconds = time.perf_counter() - t0
    model.eval()
    info = {
        "steps": steps,
        "best_step": best_step,
        "stop_reason": reason,
        "config": f"nx={SUBNET_NX} na=nb={SUBNET_NA} T={SUBNET_T} batch={SUBNET_BATCH}, "
        f"validation {val_seconds:.1f} s of the fit",
    }
    return fit_seconds, simulate(u_va, y_va), simulate(u_te, y_te), info


def run_dynonet(parts, dt, budget, args):
    import torch
    from dynonet.lti import SisoLinearDynamicalOperator
    from dynonet.static import SisoStaticNonLinearity

    (u_tr, y_tr), (u_va, y_va), (u_te, _) = parts["train"], parts["valid"], parts["test"]

    class WienerHammerstein(torch.nn.Module):
        """G1 - F - G2 (+ G3 in parallel with ``linear_path``), on (batch, T, 1) tensors."""

        def __init__(self, linear_path):
            super().__init__()
            self.G1 = SisoLinearDynamicalOperator(DYNONET_NB, DYNONET_NA, n_k=1)
            self.F = SisoStaticNonLinearity(n_hidden=DYNONET_HIDDEN, activation="tanh")
            self.G2 = SisoLinearDynamicalOperator(DYNONET_NB, DYNONET_NA)
            self.G3 = (
                SisoLinearDynamicalOperator(DYNONET_NB, DYNONET_NA, n_k=1) if linear_path else None
            )

        def forward(self, u):
            y = self.G2(self.F(self.G1(u)))
            return y if self.G3 is None else y + self.G3(u)

    def tensor(x):
        return torch.as_tensor(x, dtype=torch.float32).reshape(1, -1, 1)

    t0 = time.perf_counter()
    deadline = t0 + budget
    torch.manual_seed(0)
    model = WienerHammerstein(args.dynonet_linear_path)
    u_fit, y_fit = tensor(u_tr), tensor(y_tr)
    skip = min(DYNONET_SKIP, len(u_tr) // 4)
    optimizer = torch.optim.Adam(model.parameters(), lr=DYNONET_LR)

    def simulate(u):
        # No state estimator: the whole record from zero initial conditions.
        with torch.no_grad():
            return model(tensor(u))[0, :, 0].numpy().astype(float)

    def step():
        err = y_fit[:, skip:] - model(u_fit)[:, skip:]
        loss = torch.mean(err**2) * DYNONET_LOSS_SCALE
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    steps, best_step, reason, val_seconds = train_on_clock(
        model,
        step,
        lambda: rmse_from(y_va, simulate(u_va), WINDOW),
        deadline,
        DYNONET_VAL_EVERY,
    )
    fit_seconds = time.perf_counter() - t0
    info = {
        "steps": steps,
        "best_step": best_step,
        "stop_reason": reason,
        "config": f"G1-F-G2{'+G3' if args.dynonet_linear_path else ''} na=nb={DYNONET_NA} "
        f"F=1-{DYNONET_HIDDEN}-1 lr={DYNONET_LR:g}, validation {val_seconds:.1f} s of the fit",
    }
    return fit_seconds, simulate(u_va), simulate(u_te), info


RUNNERS = {"realize": run_realize, "subnet": run_subnet, "dynonet": run_dynonet}


def worker(args):
    import torch

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    parts, dt = load_wh(args.small)
    budget = float(args.budget[0])
    fit_seconds, yv, yt, info = RUNNERS[args.worker](parts, dt, budget, args)
    y_va, y_te = parts["valid"][1], parts["test"][1]
    result = {
        "method": args.worker,
        "budget": budget,
        "fit_seconds": fit_seconds,
        "val_rmse": rmse_from(y_va, yv, WINDOW),
        "test_rmse": rmse_from(y_te, yt, WINDOW),
        "test_rmse_late": rmse_from(y_te, yt, LATE),
        "torch_threads": torch.get_num_threads(),
        **info,
    }
    with open(args.out, "w") as fh:
        json.dump(result, fh)


# --------------------------------------------------------------------------- parent side


def cpu_model():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def version(dist):
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def run_one(method, budget, args, logdir):
    out = os.path.join(logdir, f"{method}-{budget:g}.json")
    log = os.path.join(logdir, f"{method}-{budget:g}.log")
    cmd = [
        sys.executable,
        os.path.abspath(__file__),
        "--worker",
        method,
        "--budget",
        f"{budget:g}",
        "--out",
        out,
    ]
    if args.small:
        cmd.append("--small")
    if args.dynonet_linear_path:
        cmd.append("--dynonet-linear-path")
    env = {**os.environ, **THREAD_ENV}
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    with open(log, "w") as fh:
        proc = subprocess.run(
            cmd, env=env, stdout=fh, stderr=subprocess.STDOUT, timeout=3 * budget + 900
        )
    wall = time.perf_counter() - t0
    load_after = os.getloadavg()
    if proc.returncode != 0 or not os.path.exists(out):
        with open(log) as fh:
            tail = fh.read()[-3000:]
        print(
            f"{method} at {budget:g} s failed (exit {proc.returncode}); log {log}:\n{tail}",
            file=sys.stderr,
        )
        return None
    with open(out) as fh:
        res = json.load(fh)
    res.update(wall=wall, load_before=load_before, load_after=load_after)
    return res


def parent(args):
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise SystemExit(
            f"--methods: expected some of {', '.join(METHODS)}, got {', '.join(unknown)}"
        )
    budgets = [SMALL_BUDGET] if args.small and args.budget is None else (args.budget or [60.0])
    logdir = tempfile.mkdtemp(prefix="bench_nonlinear-")

    print(f"date      {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"machine   {cpu_model()}, {os.cpu_count()} logical CPUs, {platform.platform()}")
    print(
        f"versions  python {platform.python_version()}, torch {version('torch')}, "
        f"realize {version('realize')}, deepSI {version('deepSI')}, dynonet {version('dynonet')}"
    )
    sizes = SMALL if args.small else {"train": 80_000, "valid": 20_000, "test": 88_000}
    print(
        f"data      Wiener-Hammerstein benchmark, train/valid/test = "
        f"{sizes['train']}/{sizes['valid']}/{sizes['test']} samples"
        f"{' (--small)' if args.small else ''}; one thread per method; logs in {logdir}"
    )

    results = []
    for budget in budgets:
        for method in methods:
            print(f"... {method} at {budget:g} s", file=sys.stderr, flush=True)
            res = run_one(method, budget, args, logdir)
            if res is not None:
                results.append(res)

    print()
    head = (
        f"{'method':8s} {'budget s':>8s} {'fit s':>7s} {'steps':>7s} {'best':>7s} "
        f"{'val mV':>8s} {'test mV':>8s} {'vs realize':>10s} {'test@1000':>9s} "
        f"{'load before':>17s} {'load after':>17s}"
    )
    print(head)
    print("-" * len(head))
    for res in results:
        ref = next(
            (r for r in results if r["method"] == "realize" and r["budget"] == res["budget"]), None
        )
        ratio = f"{res['test_rmse'] / ref['test_rmse']:10.2f}" if ref else f"{'-':>10s}"
        load = lambda la: " ".join(f"{x:5.2f}" for x in la)
        print(
            f"{res['method']:8s} {res['budget']:8g} {res['fit_seconds']:7.1f} {res['steps']:7d} "
            f"{res['best_step']:7d} {1e3 * res['val_rmse']:8.3f} {1e3 * res['test_rmse']:8.3f} "
            f"{ratio} {1e3 * res['test_rmse_late']:9.3f} {load(res['load_before']):>17s} "
            f"{load(res['load_after']):>17s}"
        )
    print()
    print(
        "steps: optimizer steps (realize: batches of sub-records; SUBNET: batches of "
        f"{SUBNET_BATCH} sub-records of T={SUBNET_T}; dynoNet: the whole training record); "
        "best: step of the restored weights (0 = the start)."
    )
    print(
        f"val/test mV: free-run simulation RMSE from sample {WINDOW}; vs realize: test RMSE over "
        f"realize's at the same budget; test@1000: test RMSE from sample {LATE}."
    )
    print(
        "initial state from the 50-sample window: realize, encoder on samples 0-49; SUBNET, "
        f"encoder on samples {WINDOW - max(SUBNET_NA, SUBNET_NB)}-49; dynoNet, none (simulated "
        "from sample 0 at zero initial conditions)."
    )
    for res in results:
        print(
            f"{res['method']:8s} {res['budget']:g} s: {res['config']}, stop {res['stop_reason']}, "
            f"torch threads {res['torch_threads']}, process wall {res['wall']:.0f} s"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--budget",
        type=float,
        nargs="+",
        default=None,
        help="seconds of wall clock per fit (several: one run each); default 60",
    )
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument(
        "--small",
        action="store_true",
        help=f"smoke test: {SMALL_BUDGET:g} s, {SMALL['train']} training samples",
    )
    parser.add_argument(
        "--dynonet-linear-path",
        action="store_true",
        help="add a parallel linear G-block to dynoNet's G1-F-G2",
    )
    parser.add_argument("--worker", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
    else:
        parent(args)


if __name__ == "__main__":
    main()
