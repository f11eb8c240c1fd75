"""Fit a neural state-space model to input-output data, starting from a linear realization.

:func:`fit_neural_ssm` identifies (or takes) a linear model, lifts it into a
:class:`~realize.nn.NeuralStateSpace` that reproduces it exactly, and trains the whole
model -- linear part, residual networks and the encoder of initial states -- on the
truncated simulation error:

1. draw a batch of random sub-records of ``window + horizon`` samples;
2. the encoder estimates each sub-record's state from its first ``window`` samples;
3. simulate ``horizon`` samples freely and take the mean squared error of the normalized
   outputs (Beintema, Toth and Schoukens 2023, the SUBNET criterion);
4. every ``eval_every`` steps, simulate the whole validation record from its first
   ``window`` samples and keep the weights with the smallest validation simulation error
   (early stopping); those weights are restored at the end;
5. Adam's learning rate decays to a tenth by a half cosine over the budget
   (``time_budget`` or ``max_steps``), and halves whenever the validation error jumps to
   more than twice its best (a step too large for a recurrent model): the best weights
   are then restored and training goes on.

Because training starts at the linear model's simulation error and every step is
validated on free-run simulation, the result is never worse on the validation data than
the linear model it started from. On the Wiener-Hammerstein and Duffing data, one
hidden layer of ReLU units reached a given validation error in fewer steps than tanh,
SiLU or GELU, and each step is cheaper: hence the defaults.
"""

from __future__ import annotations

import copy
import math
import sys as _sys
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch

from realize._checks import as_float, as_int, as_timeseries
from realize.errors import DataError, InvalidValueError, RealizeWarning
from realize.identify import n4sid
from realize.model import StateSpace
from realize.nn.neural_ssm import NeuralStateSpace

__all__ = ["fit_neural_ssm", "NeuralFitResult"]


@dataclass
class NeuralFitResult:
    """Result of :func:`fit_neural_ssm`.

    Attributes
    ----------
    model : NeuralStateSpace
        The trained model, with the weights of the best validation step.
    linear : StateSpace
        The starting realization (``u - u_mean`` to ``y - y_mean``).
    u_mean, y_mean : (m,), (p,) arrays
        Operating point of ``linear``.
    history : dict of lists
        ``step``, ``seconds``, ``train_loss`` (normalized mean squared error, averaged since
        the previous evaluation) and ``val_rmse`` (validation simulation RMSE per output,
        in the outputs' units), one entry per evaluation; the first entry is the start.
    best_step : int
        Training step of the restored weights (0: the linear start).
    val_rmse : (p,) array
        Validation simulation RMSE of the restored model.
    linear_val_rmse : (p,) array
        The same for the starting linear model.
    steps : int
        Training steps done.
    seconds : float
        Wall-clock time of the whole fit.
    stop_reason : str
        ``"time_budget"``, ``"max_steps"``, ``"patience"`` or ``"diverged"``.

    Examples
    --------
    >>> import numpy as np, realize
    >>> true = realize.StateSpace([[0.8]], [[1.0]], [[1.0]], K=[[0.3]], Lambda=[[0.01]])
    >>> u = np.random.default_rng(0).standard_normal((400, 1))
    >>> res = fit_neural_ssm(true.simulate(u, rng=1), u, order=1, window=20, horizon=20,
    ...                      hidden=8, max_steps=2, progress=False)
    >>> res.steps, res.stop_reason, res.model.n, res.val_rmse.shape
    (2, 'max_steps', 1, (1,))
    """

    model: NeuralStateSpace
    linear: object
    u_mean: np.ndarray
    y_mean: np.ndarray
    history: dict = field(repr=False)
    best_step: int
    val_rmse: np.ndarray
    linear_val_rmse: np.ndarray
    steps: int
    seconds: float
    stop_reason: str

    def __repr__(self) -> str:
        fmt = lambda a: np.array2string(np.asarray(a), precision=4)
        return (
            f"NeuralFitResult(n={self.model.n}, steps={self.steps}, best_step={self.best_step}, "
            f"val_rmse={fmt(self.val_rmse)} (linear {fmt(self.linear_val_rmse)}), "
            f"seconds={self.seconds:.1f}, stop_reason={self.stop_reason!r})"
        )


def _validation_split(y, u, validation, window, horizon):
    if isinstance(validation, tuple):
        if len(validation) != 2:
            raise InvalidValueError(
                f"validation: expected a fraction or a (y_val, u_val) pair, got {len(validation)} items"
            )
        yv = as_timeseries(validation[0], "validation[0]", channels=y.shape[1])
        uv = as_timeseries(
            validation[1],
            "validation[1]",
            channels=u.shape[1],
            length_of=("validation[0]", yv.shape[0]),
        )
        return y, u, yv, uv
    frac = float(validation) if np.isscalar(validation) else float("nan")
    if not 0.0 < frac < 1.0:
        raise InvalidValueError(
            f"validation: expected a fraction in (0, 1) or a (y_val, u_val) pair, got {validation!r}"
        )
    T = y.shape[0]
    n_val = int(round(frac * T))
    if n_val < window + horizon or T - n_val < window + horizon:
        raise DataError(
            f"y: expected at least {int(math.ceil((window + horizon) / min(frac, 1 - frac)))} "
            f"samples to hold out validation={frac:g} with window={window} and horizon={horizon}, "
            f"got {T}"
        )
    return y[: T - n_val], u[: T - n_val], y[T - n_val :], u[T - n_val :]


def _linear_start(y, u, init, order):
    """(StateSpace, u_mean, y_mean) from init="auto", a StateSpace or an n4sid result."""
    m, p = u.shape[1], y.shape[1]
    if isinstance(init, str):
        if init != "auto":
            raise InvalidValueError(
                f"init: expected 'auto', a StateSpace or an n4sid result, got {init!r}"
            )

        res = n4sid(y, u, order=order, feedthrough=True, detrend=True, stable=True)
        return res.model, res.u_mean, res.y_mean
    if isinstance(init, StateSpace):
        sys, u0, y0 = init, np.zeros(m), np.zeros(p)
    elif isinstance(getattr(init, "model", None), StateSpace):
        sys = init.model
        u0 = np.asarray(
            getattr(init, "u_mean", None) if np.size(getattr(init, "u_mean", [])) else np.zeros(m),
            float,
        )
        y0 = np.asarray(
            getattr(init, "y_mean", None) if np.size(getattr(init, "y_mean", [])) else np.zeros(p),
            float,
        )
    else:
        raise InvalidValueError(
            f"init: expected 'auto', a StateSpace or an n4sid result, got {type(init).__name__}"
        )
    if sys.m != m or sys.p != p:
        raise DataError(
            f"init: expected a model with {m} input(s) and {p} output(s) like the data, "
            f"got m={sys.m}, p={sys.p}"
        )
    if sys.n == 0:
        raise InvalidValueError("init: expected a realization with at least one state, got n = 0")
    return sys, u0, y0


def _resolve_device(device) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise InvalidValueError(
            f"device: expected 'auto', 'cpu', 'cuda' or a torch device, got {device!r}"
        ) from err


def _validation_rmse(model: NeuralStateSpace, yv: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Free-run simulation RMSE per output after the encoder window (inf if it diverges)."""
    w = model.window
    try:
        with np.errstate(all="ignore"):
            yhat = model.simulate(uv, y_init=yv[:w])
    except (ArithmeticError, ValueError):
        return np.full(yv.shape[1], np.inf)
    with np.errstate(all="ignore"):
        err = np.sqrt(np.mean((yv[w:] - yhat[w:]) ** 2, axis=0))
    return np.where(np.isfinite(err), err, np.inf)


def _progress(enabled: bool, budget: float | None, total: int | None):
    """A tqdm bar over seconds (with a budget) or steps; None when off or not a terminal."""
    if not enabled or not getattr(_sys.stderr, "isatty", lambda: False)():
        return None
    from tqdm.auto import tqdm

    if budget is not None:
        return tqdm(total=round(budget), unit="s", desc="fit_neural_ssm", leave=False)
    return tqdm(total=total, unit="step", desc="fit_neural_ssm", leave=False)


def fit_neural_ssm(
    y,
    u,
    init="auto",
    *,
    order="auto",
    hidden: int = 64,
    depth: int = 1,
    activation: str = "relu",
    window: int = 50,
    horizon: int = 40,
    batch_size: int = 64,
    lr: float = 3e-3,
    validation=0.1,
    time_budget: float | None = None,
    max_steps: int | None = None,
    patience: int = 40,
    eval_every: int = 50,
    seed: int = 0,
    device="auto",
    dtype=torch.float32,
    progress: bool = True,
) -> NeuralFitResult:
    """Identify a neural state-space model that starts at the best linear model.

    Parameters
    ----------
    y : (T, p) array
        Measured outputs (1-D means one output).
    u : (T, m) array
        Inputs, as many samples as y.
    init : "auto", StateSpace or n4sid result, default "auto"
        The starting realization. "auto": ``realize.n4sid(y, u, order, feedthrough=True,
        detrend=True, stable=True)`` on the training part. A result of
        :func:`realize.n4sid` brings its operating point (``u_mean``, ``y_mean``) along.
    order : "auto" or int, default "auto"
        Order of the linear model when ``init="auto"``.
    hidden, depth, activation : int, int, str, default 64, 1, "relu"
        The residual networks f, h and the encoder's: ``depth`` hidden layers of
        ``hidden`` units (see :class:`~realize.nn.NeuralStateSpace`).
    window : int, default 50
        Samples the encoder reads to estimate the state of a (sub-)record.
    horizon : int, default 40
        Simulated samples of each training sub-record (longer: slower dynamics, costlier).
    batch_size : int, default 64
        Sub-records per step.
    lr : float, default 3e-3
        Adam's initial learning rate (schedule in :mod:`realize.nn.fit`).
    validation : float or (y_val, u_val), default 0.1
        The fraction of the record held out at its end, or a separate validation record.
    time_budget, max_steps : float, int, optional
        Seconds of wall clock for the whole fit (linear start included); training steps.
    patience : int, default 40
        With neither budget: evaluations without a better validation error before stopping.
    eval_every : int, default 50
        Steps between validation simulations.
    seed : int, default 0
        Seeds initialization and sub-record draws: on the CPU, a fit with ``max_steps`` is
        reproducible bit for bit.
    device : "auto", "cpu", "cuda" or torch.device, default "auto"
        Where training runs ("auto": CUDA when available); validation runs on the CPU.
    dtype : torch dtype, default torch.float32
        Training precision (float32 is ~2x faster on a CPU); the returned model is float64.
    progress : bool, default True
        A progress bar on a terminal (tqdm); nothing when stderr is not a terminal.

    Returns
    -------
    NeuralFitResult
        ``.model`` (trained, best validation weights), ``.linear``, ``.history``, ...

    Raises
    ------
    ShapeError, DataError, NonFiniteError
        Wrong shapes, NaN or Inf, mismatched lengths, records shorter than window + horizon.
    InvalidValueError
        Budgets or sizes that are not positive.

    Warns
    -----
    RealizeWarning
        When training diverges (a non-finite loss): it stops, keeping the best weights.

    Examples
    --------
    >>> import numpy as np, realize
    >>> from realize.nn import fit_neural_ssm
    >>> rng = np.random.default_rng(0)
    >>> u = rng.standard_normal(3000)
    >>> x = np.zeros(2); y = np.empty(3000)
    >>> for t in range(3000):
    ...     y[t] = x[0] + 0.3 * np.tanh(2 * x[0])
    ...     x = np.array([0.8 * x[0] + 0.2 * x[1], -0.3 * x[0] + 0.5 * x[1] + u[t]])
    >>> res = fit_neural_ssm(y, u, order=2, max_steps=50, hidden=16, window=20, horizon=40,
    ...                      batch_size=32, progress=False)
    >>> bool(np.all(res.val_rmse <= res.linear_val_rmse))
    True
    """
    t_start = time.perf_counter()
    y, u = _check_data(y, u)
    window = as_int(window, "window", low=1)
    horizon = as_int(horizon, "horizon", low=1)
    batch_size = as_int(batch_size, "batch_size", low=1)
    eval_every = as_int(eval_every, "eval_every", low=1)
    budget = _Budget(t_start, time_budget, max_steps, patience)
    lr = as_float(lr, "lr", low=0.0, open_low=True)
    dev = _resolve_device(device)

    y_tr, u_tr, y_val, u_val = _split_records(y, u, validation, window, horizon)
    linear, u0, y0 = _linear_start(y_tr, u_tr, init, order)
    net = dict(hidden=hidden, depth=depth, activation=activation, window=window, seed=seed)
    model = NeuralStateSpace.from_realization(
        linear, u=u_tr, y=y_tr, u_mean=u0, y_mean=y0, dtype=torch.float64, **net
    )
    linear_val = _validation_rmse(model, y_val, u_val)
    model = model.to(device=dev, dtype=dtype)
    records = _SubRecords(model, y_tr, u_tr, window, horizon, batch_size, seed)
    best = _BestWeights(model, y_val, u_val, linear_val, t_start)
    steps, stop_reason = _train(model, records, best, budget, lr, eval_every, progress)
    return _result(best, linear, u0, y0, linear_val, steps, stop_reason)


def _check_data(y, u) -> tuple[np.ndarray, np.ndarray]:
    """The records as (T, p) and (T, m) arrays of one length."""
    y = as_timeseries(y, "y", min_length=2)
    if u is None:
        raise DataError("u: expected the inputs (T, m) of the data, got None")
    return y, as_timeseries(u, "u", length_of=("y", y.shape[0]))


def _split_records(y, u, validation, window, horizon):
    """(y_train, u_train, y_val, u_val), each long enough for the encoder and a rollout."""
    y_tr, u_tr, y_val, u_val = _validation_split(y, u, validation, window, horizon)
    if y_tr.shape[0] < window + horizon:
        raise DataError(
            f"y: expected at least window + horizon = {window + horizon} training samples, got {y_tr.shape[0]}"
        )
    if y_val.shape[0] <= window:
        raise DataError(
            f"validation: expected more than window = {window} validation samples, got {y_val.shape[0]}"
        )
    return y_tr, u_tr, y_val, u_val


@dataclass
class _Budget:
    """When training stops, and how far along its learning-rate schedule it is."""

    t_start: float
    time_budget: float | None
    max_steps: int | None
    patience: int

    def __post_init__(self):
        self.patience = as_int(self.patience, "patience", low=1)
        if self.max_steps is not None:
            self.max_steps = as_int(self.max_steps, "max_steps", low=1)
        if self.time_budget is not None:
            self.time_budget = as_float(self.time_budget, "time_budget", low=0.0, open_low=True)

    def spent(self, elapsed: float, step: int) -> str | None:
        """The stop reason once the time or the steps are used up, else None."""
        if self.time_budget is not None and elapsed >= self.time_budget:
            return "time_budget"
        if self.max_steps is not None and step >= self.max_steps:
            return "max_steps"
        return None

    def fraction(self, elapsed: float, step: int) -> float:
        """The part of the budget used (0 without one: the schedule then stays at lr)."""
        if self.time_budget is not None:
            return elapsed / self.time_budget
        return step / self.max_steps if self.max_steps is not None else 0.0

    def out_of_patience(self, since_best: int) -> bool:
        """Without a budget, whether ``patience`` evaluations brought nothing better."""
        unbounded = self.time_budget is None and self.max_steps is None
        return unbounded and since_best >= self.patience


class _SubRecords:
    """Random sub-records of ``window + horizon`` samples of the normalized training record."""

    def __init__(self, model, y, u, window: int, horizon: int, batch_size: int, seed: int):
        dev, dtype = model.A.device, model.A.dtype
        # normalized training record on the device; sub-records are gathered by index
        with torch.no_grad():
            self.y = model.normalize_outputs(torch.as_tensor(y, dtype=dtype, device=dev))
            self.u = model.normalize_inputs(torch.as_tensor(u, dtype=dtype, device=dev))
        self.n_starts = y.shape[0] - window - horizon + 1
        self.offsets = torch.arange(window + horizon, device=dev)
        self.window, self.batch_size = window, batch_size
        self.rng = np.random.default_rng(seed)

    def loss(self, model) -> torch.Tensor:
        """The normalized simulation error of a random batch (the SUBNET criterion)."""
        w = self.window
        idx = torch.as_tensor(
            self.rng.integers(0, self.n_starts, self.batch_size), device=self.offsets.device
        )
        rows = idx[:, None] + self.offsets
        yb, ub = self.y[rows], self.u[rows]
        x0 = model.encode_normalized(yb[:, :w], ub[:, :w])
        yhat = model.rollout(x0, ub[:, w:])
        return torch.mean((yhat - yb[:, w:]) ** 2)


class _BestWeights:
    """Validation scores, their history, and the weights of the best validation step.

    The score is the validation RMSE in units of the outputs' scales, averaged over the
    outputs; the linear start is step 0.
    """

    def __init__(self, model, y_val, u_val, linear_val, t_start: float):
        self.model, self.y_val, self.u_val, self.t_start = model, y_val, u_val, t_start
        self.history = {
            "step": [0],
            "seconds": [time.perf_counter() - t_start],
            "train_loss": [float("nan")],
            "val_rmse": [linear_val.copy()],
        }
        self.score, self.step = self._score(linear_val), 0
        self.state = copy.deepcopy(model.state_dict())
        self.since_best = 0

    def _score(self, val: np.ndarray) -> float:
        return float(np.mean(val / self.model.y_scale.cpu().numpy()))

    def evaluate(self, step: int, losses: list) -> tuple[np.ndarray, float]:
        """Score the model now, record it, keep its weights if best; (val_rmse, score)."""
        val = _validation_rmse(self.model, self.y_val, self.u_val)
        score = self._score(val)
        self.history["step"].append(step)
        self.history["seconds"].append(time.perf_counter() - self.t_start)
        self.history["train_loss"].append(float(np.mean(losses)))
        self.history["val_rmse"].append(val)
        if score < self.score:
            self.score, self.step = score, step
            self.state = copy.deepcopy(self.model.state_dict())
            self.since_best = 0
        else:
            self.since_best += 1
        return val, score

    def restore(self) -> None:
        self.model.load_state_dict(self.state)

    def history_arrays(self) -> dict:
        h = self.history
        return {k: (np.array(v) if k != "val_rmse" else np.vstack(v)) for k, v in h.items()}


def _adam(model, lr: float):
    try:  # the fused kernel updates every parameter in one call (3x faster on a CPU)
        return torch.optim.Adam(model.parameters(), lr=lr, fused=True)
    except (RuntimeError, TypeError):  # torch < 2.4 has no fused CPU kernel
        return torch.optim.Adam(model.parameters(), lr=lr)


def _cosine(lr: float, frac: float) -> float:
    """``lr`` decayed to ``lr / 10`` by a half cosine as ``frac`` goes from 0 to 1."""
    return lr * (0.1 + 0.45 * (1.0 + math.cos(math.pi * min(frac, 1.0))))


def _train(model, records, best, budget, lr, eval_every, progress) -> tuple[int, str]:
    """Adam on the sub-records' simulation error until the budget is spent; (steps, reason)."""
    bar = _progress(progress, budget.time_budget, budget.max_steps)
    try:
        return _steps(model, records, best, budget, _adam(model, lr), lr, eval_every, bar)
    finally:
        if bar is not None:
            bar.close()


def _steps(model, records, best, budget, opt, lr, eval_every, bar) -> tuple[int, str]:
    lr_scale = 1.0  # halved at each backtrack
    step, losses = 0, []
    while True:
        elapsed = time.perf_counter() - budget.t_start
        stop_reason = budget.spent(elapsed, step)
        if stop_reason is not None:
            return step, stop_reason
        for g in opt.param_groups:
            g["lr"] = _cosine(lr_scale * lr, budget.fraction(elapsed, step))
        loss = records.loss(model)
        if not torch.isfinite(loss):
            warnings.warn(
                f"fit_neural_ssm: training diverged at step {step} (non-finite loss); "
                f"keeping the best weights so far (step {best.step}). Try a smaller lr.",
                RealizeWarning,
                stacklevel=4,
            )
            return step, "diverged"
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        losses.append(float(loss.detach()))
        if step % eval_every == 0:
            val, score = best.evaluate(step, losses)
            losses = []
            if score > 2.0 * best.score:
                # the simulation left the region it was trained in (a step too large for
                # a recurrent model): back to the best weights with half the step size
                best.restore()
                opt.state.clear()
                lr_scale *= 0.5
            if bar is not None:
                bar.set_postfix(val_rmse=f"{np.mean(val):.4g}", best_step=best.step)
            if budget.out_of_patience(best.since_best):
                return step, "patience"
        if bar is not None:
            elapsed = time.perf_counter() - budget.t_start
            bar.n = round(elapsed) if budget.time_budget is not None else step
            bar.refresh()


def _result(best, linear, u0, y0, linear_val, steps, stop_reason) -> NeuralFitResult:
    """The best weights restored, in float64 on the CPU, scored again on the validation data."""
    best.restore()
    model = best.model.to(device="cpu", dtype=torch.float64)
    return NeuralFitResult(
        model=model,
        linear=linear,
        u_mean=np.asarray(u0, float),
        y_mean=np.asarray(y0, float),
        history=best.history_arrays(),
        best_step=best.step,
        val_rmse=_validation_rmse(model, best.y_val, best.u_val),
        linear_val_rmse=linear_val,
        steps=steps,
        seconds=time.perf_counter() - best.t_start,
        stop_reason=stop_reason,
    )
