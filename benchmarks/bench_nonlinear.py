"""Nonlinear identification at equal wall-clock budgets: realize vs deepSI's SUBNET vs dynoNet.

Two systems (``--system``):

* ``wh``: the Wiener-Hammerstein benchmark; training part 80,000 samples, validation
  20,000, test 88,000.
* ``duffing``: ``realize.testing.duffing_oscillator`` (a forced, damped mass on a hardening
  cubic spring, like the Silverbox); training record 20,000 samples (seed 1, measurement
  noise 0.01), validation 5,000 (seed 2, noise 0.01), test 10,000 (seed 3, noise-free).
  Each record starts at rest.

Every method is trained on the training part, early-stopped on the free-run simulation RMSE
of the validation part (best weights restored) and scored by the free-run simulation RMSE
on the test part from sample 50 on: samples 0-49 are the state-initialization window.
How each method uses that window:

* linear: the least-squares initial state on samples 0-49 (``simulate_from_window``);
* realize: ``model.simulate(u, y_init=y[:50])``, its encoder reads samples 0-49;
* SUBNET: deepSI's encoder reads the last ``max(na, nb)`` samples of the window;
* dynoNet: no state estimator. The record is simulated from sample 0 at zero initial
  conditions; on WH the window only lets the start-up transient decay before scoring
  (so the test RMSE from sample 1000 on, as dynoNet's ``WH2009_test.py`` scores, is
  printed too); the Duffing records start at rest, so zero is their true initial state.

Configurations (each peer at its own settings for the system, or at its defaults):

* linear: the starting model of realize's ``init="auto"``, ``realize.n4sid(y, u,
  order="auto", feedthrough=True, detrend=True, stable=True)`` on the training part,
  simulated on ``u - u_mean`` plus ``y_mean``. Every method's test RMSE is also printed
  as a ratio to this model's.
* realize: ``realize.nn.fit_neural_ssm(y, u, init="auto", validation=(y_val, u_val),
  time_budget=budget, seed=seed)``, everything else at its defaults.
* SUBNET (deepSI 0.4.4): deepSI's default networks (residual MLPs, 2 x 64 tanh), auto
  normalization on the training part, Adam at deepSI's default lr (1e-3) on deepSI's own
  ``compute_NMSE`` and ``data_batcher``; truncation ``T = 80``, ``batch_size = 128``,
  validation every 100 iterations (deepSI's ``fit`` defaults are T 50, batch 256,
  val_freq 250). On WH ``nx = 6, na = nb = 40``, as in a WH script written for
  deepSI_lite, the pre-release of deepSI 0.4 (``nx = 6; SUBNET(..., nb=40, na=40);
  fit(..., T=80, batch_size=128, val_freq=100)``); the WH cell of deepSI's overview
  notebook (sigmoid f, small h and encoder) illustrates custom networks and is not used.
  On Duffing, a system deepSI has no settings for, the defaults of ``SUBNET.__init__``
  (``nx = 10, nb = na = 20`` in 0.4.4, read from its signature at run time).
* dynoNet 0.1.2 on WH: ``G1 - F - G2`` as in dynoNet's ``examples/WH2009/WH2009_train.py``:
  G-blocks ``n_a = n_b = 8`` (G1 with one sample of delay), F a 1-10-1 tanh network; Adam
  at lr 2e-4 on the mean squared simulation error of the whole training record (one
  sequence per step, the first 5000 samples skipped, loss scaled by 1000), validation
  every 10 steps. ``--dynonet-linear-path`` adds a parallel linear G-block (n_a = n_b = 8,
  one delay) to the output; dynoNet's WH example has none.
* dynoNet on Duffing: a feed-forward G-F-G cannot represent a feedback system; dynoNet's
  repository fits the Silverbox (the same structure) with a feedback loop,
  ``examples/Silverbox/silverbox_train_feedback.py``: ``y = G(u - F(y))``, G with
  ``n_a = n_b = 2`` and one sample of delay, F dynoNet's default 1-20-1 tanh network. That
  example cuts the loop in training: F reads a learned hidden output (initialized with the
  measured one) and the loss is the output error plus the mismatch between G's output and
  the hidden output, Adam at lr 1e-3 on the whole record; validation every 100 steps (the
  example's reporting period). The example never simulates new data; here validation and
  test close the loop sample by sample with G's difference equation (G's delay makes
  that explicit).

deepSI's ``fit`` and dynoNet's example loops run a fixed number of iterations; both peers are
trained here by the same clock-bounded loop (Adam, validation with best-weight restore,
training stops when the next step plus one validation would pass the budget). Each method
runs in its own subprocess with one thread (``OMP/OPENBLAS/MKL_NUM_THREADS=1``,
``torch.set_num_threads(1)``); the budget covers the whole fit (model construction, data
windows, realize's linear initialization), not imports, data loading or scoring.

``--seeds 0,1,2`` runs realize (``seed=``) and SUBNET (``torch.manual_seed`` for the
initial weights and ``data_batcher(seed=)``, deepSI's seed argument) once per seed and
prints the median; dynoNet has no seed argument and runs once (``torch.manual_seed`` of
the first seed, as its examples seed).

Run (one method after the other, on a quiet machine)::

    python benchmarks/bench_nonlinear.py --budget 60 --methods realize,subnet,dynonet
    python benchmarks/bench_nonlinear.py --system duffing --budget 60 --seeds 0,1,2
    python benchmarks/bench_nonlinear.py --small --system duffing   # harness smoke test

Peers: ``pip install deepsi==0.4.4 dynonet==0.1.2`` (deepSI pulls ``nonlinear_benchmarks``;
its data loaders are not used, no network access at run time).
"""

from __future__ import annotations

import argparse
import copy
import datetime
import inspect
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

SYSTEMS = ("wh", "duffing")
METHODS = ("realize", "subnet", "dynonet")
WINDOW = 50  # the benchmark's state-initialization window
LATE = 1000  # dynoNet's WH2009_test.py skips this many samples when scoring
SMALL = {"train": 10_000, "valid": 5_000, "test": 10_000}
SMALL_BUDGET = 5.0
THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

# Duffing records: (seed, samples, measurement noise std); the integration step is 0.1.
DUFFING = {"train": (1, 20_000, 0.01), "valid": (2, 5_000, 0.01), "test": (3, 10_000, 0.0)}
DUFFING_DT = 0.1
WH_SIZES = {"train": 80_000, "valid": 20_000, "test": 88_000}
# RMSE scale and unit in the table: WH outputs are volts; the Duffing output is a position.
UNITS = {"wh": (1e3, "mV"), "duffing": (1e3, "e-3")}

# deepSI's author's WH settings; network sizes and lr are deepSI's defaults. On Duffing nx,
# na and nb are SUBNET.__init__'s defaults.
SUBNET_WH = {"nx": 6, "na": 40, "nb": 40}
SUBNET_T, SUBNET_BATCH, SUBNET_VAL_EVERY = 80, 128, 100

# dynoNet's examples/WH2009/WH2009_train.py.
DYNONET_NA = DYNONET_NB = 8
DYNONET_HIDDEN, DYNONET_LR, DYNONET_SKIP, DYNONET_LOSS_SCALE = 10, 2e-4, 5000, 1000.0
DYNONET_VAL_EVERY = 10

# dynoNet's examples/Silverbox/silverbox_train_feedback.py (F at dynoNet's default width).
FEEDBACK_NA = FEEDBACK_NB = 2
FEEDBACK_NK, FEEDBACK_HIDDEN, FEEDBACK_LR, FEEDBACK_VAL_EVERY = 1, 20, 1e-3, 100


# --------------------------------------------------------------------------- worker side


def load_data(system, small):
    """{part: (u, y)} of the system's records (truncated with ``small``) and the period."""
    if system == "wh":
        from realize.datasets import wiener_hammerstein

        wh = wiener_hammerstein()
        records = {name: (wh[name].u, wh[name].y) for name in WH_SIZES}
        dt = wh.dt
    else:
        from realize.testing import duffing_oscillator

        records = {}
        for name, (seed, n, noise) in DUFFING.items():
            y, u = duffing_oscillator(seed, n, noise)
            records[name] = (u, y)
        dt = DUFFING_DT
    parts = {}
    for name, (u, y) in records.items():
        n = min(SMALL[name], len(u)) if small else len(u)
        parts[name] = (np.asarray(u[:n], float).ravel(), np.asarray(y[:n], float).ravel())
    return parts, dt


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


def run_linear(parts, dt, budget, args):
    import realize
    from realize.compare import simulate_from_window

    (u_tr, y_tr), (u_va, y_va), (u_te, y_te) = parts["train"], parts["valid"], parts["test"]
    t0 = time.perf_counter()
    res = realize.n4sid(y_tr, u_tr, order="auto", feedthrough=True, detrend=True, stable=True)
    fit_seconds = time.perf_counter() - t0
    y0, u0 = float(np.ravel(res.y_mean)[0]), float(np.ravel(res.u_mean)[0])

    def simulate(u, y):
        yhat, _ = simulate_from_window(res.model, y - y0, u - u0, window=WINDOW)
        return np.asarray(yhat)[:, 0] + y0

    info = {"steps": -1, "best_step": -1, "stop_reason": "-", "config": f"n4sid n={res.model.n}"}
    return fit_seconds, simulate(u_va, y_va), simulate(u_te, y_te), info


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
        seed=args.seed,
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


def subnet_orders(system):
    """(nx, na, nb): the WH settings, or SUBNET.__init__'s defaults for any other system."""
    if system == "wh":
        return SUBNET_WH["nx"], SUBNET_WH["na"], SUBNET_WH["nb"]
    import deepSI as dsi

    params = inspect.signature(dsi.SUBNET.__init__).parameters
    return tuple(int(params[name].default) for name in ("nx", "na", "nb"))


def run_subnet(parts, dt, budget, args):
    import deepSI as dsi
    import torch
    from deepSI.fitting import compute_NMSE, data_batcher

    (u_tr, y_tr), (u_va, y_va), (u_te, y_te) = parts["train"], parts["valid"], parts["test"]
    nx, na, nb = subnet_orders(args.system)
    npast = max(na, nb)

    def record(u, y, start=0):
        return dsi.Input_output_data(u=u[start:], y=y[start:], sampling_time=dt)

    t0 = time.perf_counter()
    deadline = t0 + budget
    torch.manual_seed(args.seed)
    train = record(u_tr, y_tr)
    nu, ny, norm = dsi.get_nu_ny_and_auto_norm(train)
    model = dsi.SUBNET(nu, ny, norm, nx=nx, nb=nb, na=na)
    arrays, ids = model.create_arrays(train, T=SUBNET_T)
    batches = data_batcher(*arrays, batch_size=SUBNET_BATCH, seed=args.seed, indices=ids)
    optimizer = torch.optim.Adam(model.parameters())

    def simulate(u, y):
        # The encoder reads samples WINDOW-npast..WINDOW-1; free-run simulation from WINDOW.
        arrs, _ = model.create_arrays(record(u, y, WINDOW - npast), T="sim")
        with torch.no_grad():
            yf = model(*arrs)[0].numpy().astype(float)
        return np.concatenate([np.full(WINDOW, np.nan), yf.ravel()])

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
        "npast": npast,
        "config": f"nx={nx} na={na} nb={nb} T={SUBNET_T} batch={SUBNET_BATCH}, "
        f"validation {val_seconds:.1f} s of the fit",
    }
    return fit_seconds, simulate(u_va, y_va), simulate(u_te, y_te), info


def run_dynonet(parts, dt, budget, args):
    if args.system == "duffing":
        return run_dynonet_feedback(parts, dt, budget, args)
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
    torch.manual_seed(args.seed)
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


def closed_loop_simulation(b, a, w1, b1, w2, b2, u):
    """``y = G(u - F(y))`` from rest, G strictly proper (one sample of delay).

    ``y[t] = sum_j b[j] v[t-1-j] - sum_i a[i] y[t-1-i]``, ``v = u - F(y)`` with
    ``F(y) = w2 . tanh(w1 y + b1) + b2``: dynoNet's filter convention (``get_filtdata``) for
    ``n_k = 1``. A diverging loop gives Inf from there on.
    """
    y, v = np.zeros(len(u)), np.zeros(len(u))
    for t in range(len(u)):
        acc = 0.0
        for j in range(min(len(b), t)):
            acc += b[j] * v[t - 1 - j]
        for i in range(min(len(a), t)):
            acc -= a[i] * y[t - 1 - i]
        if not abs(acc) < 1e6:
            y[t:] = np.inf
            break
        y[t] = acc
        v[t] = u[t] - (w2 @ np.tanh(w1 * acc + b1) + b2)
    return y


def run_dynonet_feedback(parts, dt, budget, args):
    import torch
    from dynonet.lti import SisoLinearDynamicalOperator
    from dynonet.static import SisoStaticNonLinearity

    (u_tr, y_tr), (u_va, y_va), (u_te, _) = parts["train"], parts["valid"], parts["test"]

    def tensor(x):
        return torch.as_tensor(x, dtype=torch.float32).reshape(1, -1, 1)

    class Feedback(torch.nn.Module):
        """``y = G(u - F(y))``, the loop cut at a learned hidden output (the training record's)."""

        def __init__(self, y_measured):
            super().__init__()
            self.G = SisoLinearDynamicalOperator(FEEDBACK_NB, FEEDBACK_NA, n_k=FEEDBACK_NK)
            self.F = SisoStaticNonLinearity(n_hidden=FEEDBACK_HIDDEN, activation="tanh")
            self.y_hidden = torch.nn.Parameter(tensor(y_measured))

        def forward(self, u):
            return self.G(u - self.F(self.y_hidden))

    t0 = time.perf_counter()
    deadline = t0 + budget
    torch.manual_seed(args.seed)
    model = Feedback(y_tr)
    u_fit, y_fit = tensor(u_tr), tensor(y_tr)
    optimizer = torch.optim.Adam(model.parameters(), lr=FEEDBACK_LR)

    def simulate(u):
        lin, out = model.F.net[0], model.F.net[2]
        weights = [
            model.G.b_coeff[0, 0],
            model.G.a_coeff[0, 0],
            lin.weight[:, 0],
            lin.bias,
            out.weight[0],
            out.bias[0],
        ]
        return closed_loop_simulation(*(w.detach().double().numpy() for w in weights), u)

    def step():
        y_lin = model(u_fit)
        # The example's loss: output error plus the cut loop's consistency.
        loss = torch.mean((y_fit - y_lin) ** 2) + torch.mean((y_lin - model.y_hidden) ** 2)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    steps, best_step, reason, val_seconds = train_on_clock(
        model,
        step,
        lambda: rmse_from(y_va, simulate(u_va), WINDOW),
        deadline,
        FEEDBACK_VAL_EVERY,
    )
    fit_seconds = time.perf_counter() - t0
    info = {
        "steps": steps,
        "best_step": best_step,
        "stop_reason": reason,
        "config": f"G-F feedback na=nb={FEEDBACK_NA} nk={FEEDBACK_NK} F=1-{FEEDBACK_HIDDEN}-1 "
        f"lr={FEEDBACK_LR:g}, validation {val_seconds:.1f} s of the fit",
    }
    return fit_seconds, simulate(u_va), simulate(u_te), info


RUNNERS = {
    "linear": run_linear,
    "realize": run_realize,
    "subnet": run_subnet,
    "dynonet": run_dynonet,
}
SEEDED = ("realize", "subnet")  # dynoNet has no seed argument; linear is deterministic


def worker(args):
    import torch

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    parts, dt = load_data(args.system, args.small)
    budget = float(args.budget[0])
    fit_seconds, yv, yt, info = RUNNERS[args.worker](parts, dt, budget, args)
    y_va, y_te = parts["valid"][1], parts["test"][1]
    result = {
        "method": args.worker,
        "seed": args.seed,
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


def run_one(method, budget, seed, args, logdir):
    name = f"{method}-{budget:g}-{seed}"
    out, log = os.path.join(logdir, f"{name}.json"), os.path.join(logdir, f"{name}.log")
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", method, "--out", out]
    cmd += ["--budget", f"{budget:g}", "--system", args.system, "--seeds", str(seed)]
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
        print(f"{name} failed (exit {proc.returncode}); log {log}:\n{tail}", file=sys.stderr)
        return None
    with open(out) as fh:
        res = json.load(fh)
    res.update(wall=wall, load_before=load_before, load_after=load_after)
    return res


def print_table(results, linear, system):
    scale, unit = UNITS[system]
    ref_test = linear["test_rmse"] if linear else math.nan
    realize_median = {
        b: float(
            np.median(
                [r["test_rmse"] for r in results if r["method"] == "realize" and r["budget"] == b]
            )
        )
        for b in {r["budget"] for r in results if r["method"] == "realize"}
    }
    head = (
        f"{'method':8s} {'seed':>4s} {'budget s':>8s} {'fit s':>6s} {'steps':>6s} {'best':>6s} "
        f"{'val ' + unit:>8s} {'test ' + unit:>8s} {'/linear':>7s} {'/realize':>8s} "
        f"{'test@' + str(LATE):>9s} {'load before':>17s} {'load after':>17s}"
    )
    print(head)
    print("-" * len(head))

    def ratio(x, ref, width):
        return f"{x / ref:{width}.3f}" if ref and math.isfinite(ref) else f"{'-':>{width}s}"

    def row(method, seed, budget, fit_s, steps, best, val, test, late, loads=("", "")):
        to_realize = realize_median.get(budget) if budget is not None else None
        print(
            f"{method:8s} {seed:>4s} {'-' if budget is None else f'{budget:g}':>8s} {fit_s:>6s} "
            f"{steps:>6s} {best:>6s} {scale * val:8.3f} {scale * test:8.3f} "
            f"{ratio(test, ref_test, 7)} {ratio(test, to_realize, 8)} {scale * late:9.3f} "
            f"{loads[0]:>17s} {loads[1]:>17s}"
        )

    def loads(res):
        return tuple(" ".join(f"{x:5.2f}" for x in res[k]) for k in ("load_before", "load_after"))

    if linear:
        row(
            "linear",
            "-",
            None,
            f"{linear['fit_seconds']:.1f}",
            "-",
            "-",
            linear["val_rmse"],
            linear["test_rmse"],
            linear["test_rmse_late"],
            loads(linear),
        )
    for budget in dict.fromkeys(r["budget"] for r in results):
        for method in dict.fromkeys(r["method"] for r in results if r["budget"] == budget):
            runs = [r for r in results if r["budget"] == budget and r["method"] == method]
            for r in runs:
                row(
                    method,
                    str(r["seed"]),
                    budget,
                    f"{r['fit_seconds']:.1f}",
                    str(r["steps"]),
                    str(r["best_step"]),
                    r["val_rmse"],
                    r["test_rmse"],
                    r["test_rmse_late"],
                    loads(r),
                )
            if len(runs) > 1:
                med = {
                    k: float(np.median([r[k] for r in runs]))
                    for k in ("val_rmse", "test_rmse", "test_rmse_late")
                }
                row(
                    method,
                    "med",
                    budget,
                    "",
                    "",
                    "",
                    med["val_rmse"],
                    med["test_rmse"],
                    med["test_rmse_late"],
                )


def parent(args):
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise SystemExit(
            f"--methods: expected some of {', '.join(METHODS)}, got {', '.join(unknown)}"
        )
    if args.dynonet_linear_path and args.system != "wh":
        raise SystemExit(f"--dynonet-linear-path: expected --system wh, got {args.system}")
    seeds = parse_seeds(args.seeds)
    budgets = [SMALL_BUDGET] if args.small and args.budget is None else (args.budget or [60.0])
    logdir = tempfile.mkdtemp(prefix="bench_nonlinear-")

    print(f"date      {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"machine   {cpu_model()}, {os.cpu_count()} logical CPUs, {platform.platform()}")
    print(
        f"versions  python {platform.python_version()}, torch {version('torch')}, "
        f"realize {version('realize')}, deepSI {version('deepSI')}, dynonet {version('dynonet')}"
    )
    if args.system == "wh":
        sizes = {k: min(SMALL[k], n) if args.small else n for k, n in WH_SIZES.items()}
        what = "Wiener-Hammerstein benchmark"
    else:
        sizes = {k: min(SMALL[k], n) if args.small else n for k, (_, n, _) in DUFFING.items()}
        what = "Duffing oscillator (seeds 1/2/3, noise 0.01/0.01/0)"
    print(
        f"data      {what}, train/valid/test = {sizes['train']}/{sizes['valid']}/{sizes['test']} "
        f"samples{' (--small)' if args.small else ''}; one thread per method; logs in {logdir}"
    )

    print("... linear", file=sys.stderr, flush=True)
    linear = run_one("linear", budgets[0], seeds[0], args, logdir)
    results = []
    for budget in budgets:
        for method in methods:
            for seed in seeds if method in SEEDED else seeds[:1]:
                print(f"... {method} at {budget:g} s, seed {seed}", file=sys.stderr, flush=True)
                res = run_one(method, budget, seed, args, logdir)
                if res is not None:
                    results.append(res)

    print()
    print_table(results, linear, args.system)
    print()
    scale, unit = UNITS[args.system]
    print(
        "steps: optimizer steps (realize: batches of sub-records; SUBNET: batches of "
        f"{SUBNET_BATCH} sub-records of T={SUBNET_T}; dynoNet: the whole training record); "
        "best: step of the restored weights (0 = the start)."
    )
    print(
        f"val/test {unit}: free-run simulation RMSE from sample {WINDOW} (x{scale:g}); "
        "/linear, /realize: test RMSE over the linear model's and over realize's median at "
        f"the same budget; test@{LATE}: test RMSE from sample {LATE}; med: median over seeds."
    )
    npast = next((r["npast"] for r in results if "npast" in r), None)
    subnet = f"samples {WINDOW - npast}-{WINDOW - 1}" if npast else "the last max(na, nb) samples"
    dynonet = (
        "none (simulated from sample 0 at zero initial conditions)"
        if args.system == "wh"
        else "none (closed loop from rest, the records' true initial state)"
    )
    print(
        f"initial state from the {WINDOW}-sample window: linear, least squares on samples "
        f"0-{WINDOW - 1}; realize, encoder on samples 0-{WINDOW - 1}; SUBNET, encoder on "
        f"{subnet}; dynoNet, {dynonet}."
    )
    if args.system == "duffing" and "dynonet" in methods:
        print(
            "dynoNet on Duffing: a G-F-G cascade cannot represent the feedback system; the "
            "feedback structure y = G(u - F(y)) of dynoNet's Silverbox example is used."
        )
    for res in ([linear] if linear else []) + results:
        run = "" if res is linear else f"{res['budget']:g} s seed {res['seed']}: "
        stop = "" if res is linear else f", stop {res['stop_reason']}"
        print(
            f"{res['method']:8s} {run}{res['config']}{stop}, "
            f"torch threads {res['torch_threads']}, process wall {res['wall']:.0f} s"
        )


def parse_seeds(text):
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        seeds = []
    if not seeds:
        raise SystemExit(f"--seeds: expected comma-separated integers, got {text!r}")
    return seeds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--system", choices=SYSTEMS, default="wh")
    parser.add_argument(
        "--budget",
        type=float,
        nargs="+",
        default=None,
        help="seconds of wall clock per fit (several: one run each); default 60",
    )
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument(
        "--seeds",
        default="0",
        help="comma-separated seeds for realize and SUBNET (dynoNet: the first); default 0",
    )
    parser.add_argument(
        "--small",
        action="store_true",
        help=f"smoke test: {SMALL_BUDGET:g} s, at most {SMALL['train']} training samples",
    )
    parser.add_argument(
        "--dynonet-linear-path",
        action="store_true",
        help="add a parallel linear G-block to dynoNet's G1-F-G2 (--system wh)",
    )
    parser.add_argument("--worker", choices=tuple(RUNNERS), help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        args.seed = parse_seeds(args.seeds)[0]
        worker(args)
    else:
        parent(args)


if __name__ == "__main__":
    main()
