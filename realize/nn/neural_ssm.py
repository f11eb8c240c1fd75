"""Neural state-space models grown from a linear realization.

:class:`NeuralStateSpace` is the discrete-time nonlinear model

    x[t+1] = A x[t] + B u[t] + f(x[t], u[t])
    y[t]   = C x[t] + D u[t] + h(x[t], u[t])

with ``f`` and ``h`` multilayer perceptrons whose last layer starts at zero, so that
:meth:`NeuralStateSpace.from_realization` begins *exactly* at a linear realization (for
example the one :func:`realize.n4sid` identified) and training only has to learn what the
linear model misses. The initial state of a record is estimated from its first samples by
an encoder of the past window (as in SUBNET: Beintema, Toth and Schoukens, "Deep subspace
encoders for nonlinear system identification", Automatica 156, 2023), which itself starts
at the linear least-squares state estimate, so the whole model begins at the linear answer.

Coordinates
-----------
Users pass raw signals. Inside, the model works in normalized coordinates

    u = u_mean + u_scale * u~,    y = y_mean + y_scale * y~,    x = x_mean + L x~,

with the input and output statistics of the training data and ``(x_mean, L L')`` the mean
and covariance of the linear model's state on the training input, so that the networks see
inputs of unit scale. The realization's own coordinates are kept for everything public:
``x0``, :meth:`linearize` and :meth:`encode` speak in the state of ``sys``.

Computation
-----------
Training unrolls the recursion in torch (:meth:`NeuralStateSpace.rollout`), with every term
that depends on the inputs only computed for all time steps at once, so the sequential loop
holds two matrix products and the activations. :meth:`NeuralStateSpace.simulate` (NumPy in,
NumPy out) runs the same recursion in the compiled kernel ``realize/_ext/_neural_simulate.pyx``
(1e5 samples in well under a second); :meth:`NeuralStateSpace.rollout_reference` is the
plain step-by-step definition that the tests compare both with.

Examples
--------
>>> import numpy as np, realize
>>> from realize.nn import NeuralStateSpace
>>> sys = realize.StateSpace([[0.9, 0.1], [0.0, 0.5]], [[0.0], [1.0]], [[1.0, 0.0]], [[0.1]])
>>> u = np.random.default_rng(0).standard_normal((500, 1))
>>> model = NeuralStateSpace.from_realization(sys, u=u, hidden=16)
>>> bool(np.abs(model.simulate(u) - sys.simulate(u, noise=False)).max() < 1e-12)
True
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from realize._checks import as_float, as_int, as_matrix, as_timeseries
from realize._ext._neural_simulate import mlp_state_recursion
from realize._linalg import symmetrize
from realize.errors import DataError, FormatError, InvalidValueError, NonFiniteError
from realize.model import StateSpace
from realize.nn import _checkpoint
from realize.riccati import dlyap
from realize.simulation import simulate_states

__all__ = ["NeuralStateSpace", "ACTIVATIONS"]

# bounds on the sizes a model (or a file's configuration) may ask for
MAX_SIZE = 100_000
MAX_DEPTH = 64
_TAG = "realize.NeuralStateSpace"

#: Activation functions of the networks, by name (their order is the compiled kernel's code).
ACTIVATIONS = ("tanh", "relu", "silu", "gelu")
_TORCH_ACT = {
    "tanh": torch.tanh,
    "relu": torch.relu,
    "silu": nn.functional.silu,
    "gelu": nn.functional.gelu,
}


class ResidualMLP(nn.Module):
    """A perceptron ``in -> hidden (x depth) -> out`` whose last layer starts at zero.

    Parameters
    ----------
    n_in, n_out, hidden, depth : int
        Sizes; ``depth`` hidden layers of ``hidden`` units (depth >= 1).
    activation : one of :data:`ACTIVATIONS`

    Examples
    --------
    >>> import torch
    >>> net = ResidualMLP(3, 2, hidden=8, depth=2, activation="tanh")
    >>> net(torch.ones(5, 3)).abs().max().item()
    0.0
    """

    def __init__(self, n_in: int, n_out: int, hidden: int, depth: int, activation: str):
        super().__init__()
        self.activation = activation
        self.layers = nn.ModuleList(
            [nn.Linear(n_in if i == 0 else hidden, hidden) for i in range(depth)]
        )
        self.out = nn.Linear(hidden, n_out)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        act = _TORCH_ACT[self.activation]
        for layer in self.layers:
            z = act(layer(z))
        return self.out(z)


def _scale(x: np.ndarray, name: str) -> np.ndarray:
    """Per-channel standard deviation, refusing constant channels."""
    s = x.std(axis=0)
    flat = np.flatnonzero(~(s > 1e-12 * np.maximum(1.0, np.abs(x).max(axis=0))))
    if flat.size:
        raise DataError(
            f"{name}: expected varying channels, got constant channel(s) {flat.tolist()}"
        )
    return s


class NeuralStateSpace(nn.Module):
    """A linear state-space model plus learned residual nonlinearities.

    ``x[t+1] = A x[t] + B u[t] + f(x[t], u[t])``, ``y[t] = C x[t] + D u[t] + h(x[t], u[t])``
    (see :mod:`realize.nn.neural_ssm` for the normalized coordinates the parameters live
    in). Build it with :meth:`from_realization`; :func:`realize.nn.fit_neural_ssm` builds and
    trains it from data.

    Parameters
    ----------
    n, m, p : int
        States, inputs, outputs.
    hidden : int, default 64
        Units of every hidden layer (of f, h and the encoder).
    depth : int, default 1
        Hidden layers of f and h (and of the encoder's residual network).
    activation : {"tanh", "relu", "silu", "gelu"}, default "relu"
    window : int, default 50
        Samples of past outputs and inputs the encoder reads to estimate a state.
    dt : float, default 1.0
        Sampling period (kept for :meth:`linearize`).
    dtype : torch dtype, default torch.float64

    Attributes
    ----------
    A, B, C, D : parameters (n, n), (n, m), (p, n), (p, m), normalized coordinates
    bx, by : parameters (n,), (p,), the constant terms of the state and output equations
    f, h : ResidualMLP, the residual networks on ``[x~, u~]``
    encoder_linear : nn.Linear, the linear state estimate from the window
    encoder : ResidualMLP, the encoder's residual network

    Examples
    --------
    >>> import numpy as np, realize
    >>> from realize.nn import NeuralStateSpace
    >>> sys = realize.StateSpace([[0.8]], [[1.0]], [[1.0]])
    >>> model = NeuralStateSpace.from_realization(sys, hidden=8, window=10)
    >>> model.linearize() == sys
    True
    """

    def __init__(
        self,
        n: int,
        m: int,
        p: int,
        *,
        hidden: int = 64,
        depth: int = 1,
        activation: str = "relu",
        window: int = 50,
        dt: float = 1.0,
        dtype=torch.float64,
    ):
        super().__init__()
        n = as_int(n, "n", low=1, high=MAX_SIZE)
        m = as_int(m, "m", low=0, high=MAX_SIZE)
        p = as_int(p, "p", low=1, high=MAX_SIZE)
        hidden = as_int(hidden, "hidden", low=1, high=MAX_SIZE)
        depth = as_int(depth, "depth", low=1, high=MAX_DEPTH)
        window = as_int(window, "window", low=1, high=MAX_SIZE)
        dt = as_float(dt, "dt", low=0.0, open_low=True)
        if activation not in ACTIVATIONS:
            raise InvalidValueError(
                f"activation: expected one of {ACTIVATIONS}, got {activation!r}"
            )
        self.n, self.m, self.p = n, m, p
        self.hidden, self.depth, self.activation, self.window = hidden, depth, activation, window
        self.dt = float(dt)
        self.A = nn.Parameter(torch.zeros(n, n))
        self.B = nn.Parameter(torch.zeros(n, m))
        self.C = nn.Parameter(torch.zeros(p, n))
        self.D = nn.Parameter(torch.zeros(p, m))
        self.bx = nn.Parameter(torch.zeros(n))
        self.by = nn.Parameter(torch.zeros(p))
        self.f = ResidualMLP(n + m, n, hidden, depth, activation)
        self.h = ResidualMLP(n + m, p, hidden, depth, activation)
        self.encoder_linear = nn.Linear(window * (p + m), n)
        self.encoder = ResidualMLP(window * (p + m), n, hidden, depth, activation)
        for name, size in (
            ("u_mean", m),
            ("u_scale", m),
            ("y_mean", p),
            ("y_scale", p),
            ("x_mean", n),
        ):
            self.register_buffer(name, torch.zeros(size))
        self.register_buffer("L", torch.eye(n))
        with torch.no_grad():
            self.u_scale.fill_(1.0)
            self.y_scale.fill_(1.0)
        self.to(dtype)

    # ------------------------------------------------------------------ construction
    def config(self) -> dict:
        """The constructor's arguments (for files and copies)."""
        return {
            "n": self.n,
            "m": self.m,
            "p": self.p,
            "hidden": self.hidden,
            "depth": self.depth,
            "activation": self.activation,
            "window": self.window,
            "dt": self.dt,
        }

    @classmethod
    def from_realization(
        cls,
        sys,
        *,
        u=None,
        y=None,
        u_mean=None,
        y_mean=None,
        hidden: int = 64,
        depth: int = 1,
        activation: str = "relu",
        window: int = 50,
        dtype=torch.float64,
        seed: int = 0,
    ):
        """A neural state-space model that starts exactly at a linear realization.

        Before any training, ``model.simulate(u)`` equals
        ``y_mean + sys.simulate(u - u_mean, noise=False)`` (to rounding in float64),
        ``model.linearize()`` equals ``sys``, and the encoder gives the linear least-squares
        state estimate.

        Parameters
        ----------
        sys : StateSpace
            The linear realization (its noise model is not used: this is a simulation model).
        u : (T, m) array, optional
            Training inputs, for the normalization (scales of inputs and states). Default:
            unit scales, and the state statistics of unit white inputs.
        y : (T, p) array, optional
            Training outputs, for the output normalization. Default: the scales ``sys``
            gives its outputs.
        u_mean, y_mean : (m,), (p,) arrays, optional
            Operating point: ``sys`` maps ``u - u_mean`` to ``y - y_mean`` (as
            ``realize.n4sid(..., detrend=True)`` returns them in ``result.u_mean``,
            ``result.y_mean``). Default zero.
        hidden, depth, activation :
            Sizes of the residual networks (see :class:`NeuralStateSpace`).
        window : int, default 50
            Samples the encoder reads to estimate a state.
        dtype : torch dtype, default torch.float64
        seed : int, default 0
            Seed of the networks' random first layers.

        Returns
        -------
        NeuralStateSpace

        Raises
        ------
        ShapeError, DataError
            Data of the wrong shape, too short, or with a constant channel.
        """
        if sys.n == 0:
            raise InvalidValueError(
                "sys: expected a realization with at least one state, got n = 0"
            )
        window = as_int(window, "window", low=1, high=MAX_SIZE)
        norm = _normalization(sys, u, y, u_mean, y_mean)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = cls(
                sys.n,
                sys.m,
                sys.p,
                hidden=hidden,
                depth=depth,
                activation=activation,
                window=window,
                dt=sys.dt,
                dtype=torch.float64,
            )
        values = {**_normalized_realization(sys, **norm), **norm}
        with torch.no_grad():
            for name in _LIFTED:
                getattr(model, name).copy_(torch.as_tensor(np.asarray(values[name], float)))
            E, e = _window_estimator(*(values[k] for k in ("A", "B", "bx", "C", "D", "by")), window)
            model.encoder_linear.weight.copy_(torch.as_tensor(E))
            model.encoder_linear.bias.copy_(torch.as_tensor(e))
        return model.to(dtype)

    # ------------------------------------------------------------------ normalized maps
    def normalize_inputs(self, u: torch.Tensor) -> torch.Tensor:
        return (u - self.u_mean) / self.u_scale

    def normalize_outputs(self, y: torch.Tensor) -> torch.Tensor:
        return (y - self.y_mean) / self.y_scale

    def _state_to_normalized(self, x: torch.Tensor) -> torch.Tensor:
        return torch.linalg.solve_triangular(
            self.L, (x - self.x_mean).unsqueeze(-1), upper=False
        ).squeeze(-1)

    def _state_from_normalized(self, xn: torch.Tensor) -> torch.Tensor:
        return self.x_mean + xn @ self.L.T

    def encode_normalized(self, y_past: torch.Tensor, u_past: torch.Tensor) -> torch.Tensor:
        """Normalized state at the end of a window of normalized outputs and inputs.

        ``y_past (batch, window, p)``, ``u_past (batch, window, m)`` -> ``(batch, n)``.
        """
        z = torch.cat([y_past.flatten(1), u_past.flatten(1)], dim=1)
        return self.encoder_linear(z) + self.encoder(z)

    def rollout(self, x0: torch.Tensor, u: torch.Tensor, return_states: bool = False):
        """Free-run simulation in normalized coordinates (the training path).

        Parameters
        ----------
        x0 : (batch, n) tensor, normalized initial states
        u : (batch, T, m) tensor, normalized inputs

        Returns
        -------
        y : (batch, T, p) tensor, normalized outputs
        x : (batch, T + 1, n) tensor, normalized states (when ``return_states``)
        """
        n, H = self.n, self.hidden
        act = _TORCH_ACT[self.activation]
        first = self.f.layers[0]
        # everything that depends on the inputs only, for all steps at once (time-major)
        Wu = torch.cat([self.B, first.weight[:, n:]], dim=0)
        bias = torch.cat([self.bx + self.f.out.bias, first.bias])
        pre = torch.addmm(bias, u.transpose(0, 1).reshape(-1, self.m), Wu.T)
        pre = pre.view(u.shape[1], u.shape[0], n + H)
        Wz = torch.cat([self.A, first.weight[:, :n]], dim=0).T  # (n, n + H)
        hidden = list(self.f.layers[1:])
        Wout = self.f.out.weight.T
        x = x0
        states = [x]
        # unbind and split (not indexing): their backward writes each gradient once,
        # where indexing would allocate and add a full-size zero gradient at every step
        for pre_t in pre.unbind(0):
            lin, a = torch.addmm(pre_t, x, Wz).split([n, H], dim=1)
            a = act(a)
            for layer in hidden:
                a = act(layer(a))
            x = torch.addmm(lin, a, Wout)
            states.append(x)
        X = torch.stack(states, dim=1)
        y = self._outputs(X[:, :-1], u)
        return (y, X) if return_states else y

    def rollout_reference(self, x0: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """The definition of :meth:`rollout`, one step at a time (used by the tests)."""
        x, ys = x0, []
        for t in range(u.shape[1]):
            ut = u[:, t]
            xu = torch.cat([x, ut], dim=1)
            ys.append(x @ self.C.T + ut @ self.D.T + self.by + self.h(xu))
            x = x @ self.A.T + ut @ self.B.T + self.bx + self.f(xu)
        return torch.stack(ys, dim=1)

    def _outputs(self, X: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return X @ self.C.T + u @ self.D.T + self.by + self.h(torch.cat([X, u], dim=-1))

    # ------------------------------------------------------------------ raw-signal API
    def forward(self, u: torch.Tensor, x0: torch.Tensor | None = None) -> torch.Tensor:
        """Outputs ``(batch, T, p)`` for raw inputs ``(batch, T, m)`` from raw states
        ``x0 (batch, n)`` (default zero), differentiably."""
        un = self.normalize_inputs(u)
        if x0 is None:
            x0 = u.new_zeros(u.shape[0], self.n)
        y = self.rollout(self._state_to_normalized(x0), un)
        return self.y_mean + self.y_scale * y

    def encode(self, y_past, u_past) -> np.ndarray:
        """State of ``sys``'s coordinates at the end of a window of raw data.

        Parameters
        ----------
        y_past : (k, p) array, k >= window
        u_past : (k, m) array
            Only the last ``window`` samples are read.

        Returns
        -------
        x : (n,) array
        """
        y_past = as_timeseries(y_past, "y_init", channels=self.p)
        u_past = (
            as_timeseries(u_past, "u", channels=self.m) if self.m else np.zeros((len(y_past), 0))
        )
        k, w = y_past.shape[0], self.window
        if k < w:
            raise DataError(f"y_init: expected at least window = {w} samples, got {k}")
        if u_past.shape[0] != k:
            raise DataError(
                f"u: expected at least as many samples as y_init ({k}), got {u_past.shape[0]}"
            )
        with torch.no_grad():
            ref = self.A
            yp = torch.as_tensor(y_past[k - w :], dtype=ref.dtype, device=ref.device)[None]
            up = torch.as_tensor(u_past[k - w :], dtype=ref.dtype, device=ref.device)[None]
            xn = self.encode_normalized(self.normalize_outputs(yp), self.normalize_inputs(up))
            return self._state_from_normalized(xn)[0].cpu().to(torch.float64).numpy()

    def simulate(self, u, *, x0=None, y_init=None) -> np.ndarray:
        """Free-run simulation of raw inputs (compiled; NumPy in, NumPy out).

        Parameters
        ----------
        u : (T, m) array
            Inputs (1-D means one input).
        x0 : (n,) array, optional
            Initial state at sample 0, in ``sys``'s coordinates. Default zero.
        y_init : (k, p) array, optional
            Measured outputs of the first k samples (k >= window): the state at sample k is
            estimated from them and ``u[:k]`` by the encoder, and the outputs from sample k
            on are free-run simulation. The first k outputs are NaN (read, not simulated).

        Returns
        -------
        y : (T, p) array

        Raises
        ------
        ShapeError, DataError
            Inputs of the wrong shape, ``y_init`` shorter than the window or longer than u,
            or both ``x0`` and ``y_init`` given.
        """
        u = as_timeseries(u, "u", channels=self.m)
        T = u.shape[0]
        k = 0
        if x0 is not None and y_init is not None:
            raise InvalidValueError("x0: expected either x0 or y_init, got both")
        if y_init is not None:
            y_init = as_timeseries(y_init, "y_init", channels=self.p)
            k = y_init.shape[0]
            if k > T:
                raise DataError(f"y_init: expected at most as many samples as u ({T}), got {k}")
            x0 = self.encode(y_init, u[:k])
        elif x0 is not None:
            x0 = as_matrix(x0, "x0", self.n, 1).ravel()
        else:
            x0 = np.zeros(self.n)
        y = np.full((T, self.p), np.nan)
        y[k:] = self._simulate_compiled(u[k:], x0)
        return y

    def _weights(self) -> dict:
        return {k: v.detach().cpu().to(torch.float64).numpy() for k, v in self.state_dict().items()}

    def _simulate_compiled(self, u: np.ndarray, x0: np.ndarray) -> np.ndarray:
        """Raw outputs (T, p) from a raw state x0 at the first sample of u."""
        w = self._weights()
        n, H = self.n, self.hidden
        un = (u - w["u_mean"]) / w["u_scale"]
        W1 = w["f.layers.0.weight"]
        Wu = np.vstack([w["B"], W1[:, n:]])
        bias = np.concatenate([w["bx"] + w["f.out.bias"], w["f.layers.0.bias"]])
        pre = np.ascontiguousarray(un @ Wu.T + bias)
        Wz = np.ascontiguousarray(np.vstack([w["A"], W1[:, :n]]))
        L = self.depth - 1
        Wh = np.ascontiguousarray(
            np.stack([w[f"f.layers.{i}.weight"] for i in range(1, self.depth)])
            if L
            else np.zeros((0, H, H))
        )
        bh = np.ascontiguousarray(
            np.stack([w[f"f.layers.{i}.bias"] for i in range(1, self.depth)])
            if L
            else np.zeros((0, H))
        )
        xn0 = np.linalg.solve(w["L"], x0 - w["x_mean"])
        X = np.empty((u.shape[0] + 1, n))
        mlp_state_recursion(
            Wz,
            pre,
            Wh,
            bh,
            np.ascontiguousarray(w["f.out.weight"]),
            ACTIVATIONS.index(self.activation),
            np.ascontiguousarray(xn0),
            X,
        )
        X = X[:-1]
        if not np.all(np.isfinite(X)):
            bad = int(np.argmax(~np.all(np.isfinite(X), axis=1)))
            raise NonFiniteError(
                f"u: the simulation overflowed at sample {bad} (the model is unstable on "
                "these inputs)"
            )
        with torch.no_grad():  # the output map on all samples at once, float64 on the CPU
            t = {k: torch.from_numpy(v) for k, v in w.items()}
            Xt, ut = torch.from_numpy(X), torch.from_numpy(un)
            h_params = {k[2:]: v for k, v in t.items() if k.startswith("h.")}
            h = torch.func.functional_call(self.h, h_params, (torch.cat([Xt, ut], dim=1),))
            yn = (Xt @ t["C"].T + ut @ t["D"].T + t["by"] + h).numpy()
        return w["y_mean"] + w["y_scale"] * yn

    # ------------------------------------------------------------------ files
    def save(self, path) -> None:
        """Write the model to a safetensors file (tensors, and the configuration as JSON).

        No pickle: the file holds the state dict and ``{"format": "realize.NeuralStateSpace",
        "config": ...}`` metadata (see :mod:`realize.nn._checkpoint`).
        """
        _checkpoint.save(path, self, _TAG, self.config())

    @classmethod
    def load(cls, path, device="cpu") -> NeuralStateSpace:
        """Read a model written by :meth:`save`.

        The configuration and every tensor's name, shape and dtype are checked against each
        other before anything is allocated; weights must be finite.

        Raises
        ------
        FormatError
            Not such a file, a configuration out of bounds, tensors that do not match it,
            or NaN/Inf weights.
        """
        header = _checkpoint.read_header(path)
        config = _checkpoint.read_config(header, _TAG)
        keys = {"n", "m", "p", "hidden", "depth", "activation", "window", "dt"}
        if set(config) != keys:
            raise FormatError(
                f"path: {path}: expected config keys {sorted(keys)}, got {sorted(config)}"
            )
        dtypes = {spec.dtype for spec in header.tensors.values()}
        if len(dtypes) != 1:
            raise FormatError(f"path: {path}: expected tensors of one dtype, got {sorted(dtypes)}")
        dtype = _checkpoint.DTYPES[dtypes.pop()]
        try:
            with torch.device("meta"):
                shapes = _checkpoint.tensor_shapes(cls(**config, dtype=dtype))
        except (InvalidValueError, TypeError) as err:
            raise FormatError(f"path: {path}: expected a valid configuration, got {err}") from None
        _checkpoint.check_tensors(header, shapes)
        model = cls(**config, dtype=dtype)
        model.load_state_dict(_checkpoint.load_tensors(header, shapes))
        return model.to(device)

    # ------------------------------------------------------------------ linearization
    def linearize(self, x=None, u=None):
        """The Jacobian linearization at an operating point, as a StateSpace.

        Parameters
        ----------
        x : (n,) array, optional
            State in ``sys``'s coordinates; default zero.
        u : (m,) array, optional
            Input; default zero.

        Returns
        -------
        StateSpace
            ``A = d x+/d x``, ``B = d x+/d u``, ``C = d y/d x``, ``D = d y/d u`` at
            ``(x, u)``. The constant terms of the affine approximation are not part of it.
            Before training it equals the starting realization (to rounding).
        """
        x = np.zeros(self.n) if x is None else as_matrix(x, "x", self.n, 1).ravel()
        u = np.zeros(self.m) if u is None else as_matrix(u, "u", self.m, 1).ravel()
        ref = self.A
        xt = torch.as_tensor(x, dtype=ref.dtype, device=ref.device)
        ut = torch.as_tensor(u, dtype=ref.dtype, device=ref.device)

        def step(xr, ur):
            xn, un = self._state_to_normalized(xr), self.normalize_inputs(ur)
            xu = torch.cat([xn, un])
            x1 = xn @ self.A.T + un @ self.B.T + self.bx + self.f(xu)
            y = xn @ self.C.T + un @ self.D.T + self.by + self.h(xu)
            return self._state_from_normalized(x1), self.y_mean + self.y_scale * y

        J = torch.autograd.functional.jacobian(step, (xt, ut))
        mats = [j.detach().cpu().to(torch.float64).numpy() for row in J for j in row]
        A, B, C, D = (
            mats[0],
            mats[1].reshape(self.n, self.m),
            mats[2],
            mats[3].reshape(self.p, self.m),
        )
        return StateSpace(A, B, C, D, dt=self.dt)

    def extra_repr(self) -> str:
        return (
            f"n={self.n}, m={self.m}, p={self.p}, hidden={self.hidden}, depth={self.depth}, "
            f"activation={self.activation!r}, window={self.window}"
        )


# ---------------------------------------------------------------------- helpers
#: the parameters and buffers that from_realization sets from the realization
_LIFTED = ("A", "B", "C", "D", "bx", "by", "u_mean", "u_scale", "y_mean", "y_scale", "x_mean", "L")


def _normalization(sys, u, y, u_mean, y_mean) -> dict:
    """The operating point ``u0, y0`` and the affine maps to normalized coordinates.

    ``x = x_mean + L x~``, ``u = u_mean + u_scale u~``, ``y = y_mean + y_scale y~``, from
    the training data when given (the states those inputs drive ``sys`` through), else
    from unit white inputs and the outputs ``sys`` gives them.
    """
    n, m, p = sys.n, sys.m, sys.p
    A, B, C, D = sys.A, sys.B, sys.C, sys.D
    u0 = np.zeros(m) if u_mean is None else as_matrix(u_mean, "u_mean", 1, m).ravel()
    y0 = np.zeros(p) if y_mean is None else as_matrix(y_mean, "y_mean", 1, p).ravel()
    if u is not None:
        u = as_timeseries(u, "u", channels=m, min_length=2)
        mu_u, s_u = u.mean(axis=0), _scale(u, "u")
        _, X = _linear_states(A, B, C, D, u - u0)
        x_mean, Sx = X.mean(axis=0), np.cov(X, rowvar=False).reshape(n, n)
    else:
        mu_u, s_u = u0.copy(), np.ones(m)
        x_mean = np.zeros(n)
        Sx = _state_covariance(A, B)
    if y is not None:
        y = as_timeseries(
            y, "y", channels=p, min_length=2, length_of=None if u is None else ("u", u.shape[0])
        )
        mu_y, s_y = y.mean(axis=0), _scale(y, "y")
    else:
        mu_y = y0 + C @ x_mean + D @ (mu_u - u0)
        Sy = C @ Sx @ C.T + D @ np.diag(s_u**2) @ D.T
        s_y = np.sqrt(np.maximum(np.diag(Sy), 0.0))
        s_y = np.where(s_y > 0, s_y, 1.0)
    return {
        "u0": u0,
        "y0": y0,
        "u_mean": mu_u,
        "u_scale": s_u,
        "y_mean": mu_y,
        "y_scale": s_y,
        "x_mean": x_mean,
        "L": _factor(Sx),
    }


def _normalized_realization(sys, *, u0, y0, u_mean, u_scale, y_mean, y_scale, x_mean, L):
    """``A, B, C, D, bx, by`` of ``sys`` in the normalized coordinates of :func:`_normalization`.

    ``x = x_mean + L x~``, ``u = u_mean + u_scale u~``, ``y = y_mean + y_scale y~``
    substituted into ``x+ = A x + B (u - u0)``, ``y - y0 = C x + D (u - u0)``.
    """
    A, B, C, D = sys.A, sys.B, sys.C, sys.D
    Li = np.linalg.inv(L)
    return {
        "A": Li @ A @ L,
        "B": Li @ B * u_scale,
        "bx": Li @ (A @ x_mean + B @ (u_mean - u0) - x_mean),
        "C": (C @ L) / y_scale[:, None],
        "D": D * u_scale / y_scale[:, None],
        "by": (y0 + C @ x_mean + D @ (u_mean - u0) - y_mean) / y_scale,
    }


def _linear_states(A, B, C, D, u):
    return simulate_states(A, B, C, D, u, None, None, np.zeros(A.shape[0]))


def _state_covariance(A, B):
    """Stationary state covariance under unit white inputs (identity if A is not stable)."""
    n = A.shape[0]
    if B.shape[1] and np.max(np.abs(np.linalg.eigvals(A))) < 1.0:
        return dlyap(A, B @ B.T)
    return np.eye(n)


def _factor(S: np.ndarray) -> np.ndarray:
    """A well-conditioned lower-triangular factor of a state covariance.

    Directions that the data barely excite get a floor of 1e-8 of the largest variance, so
    the normalization never divides by (almost) zero.
    """
    lam, V = np.linalg.eigh(symmetrize(S))
    top = max(float(lam[-1]), 1e-300) if lam.size else 1.0
    return np.linalg.cholesky(symmetrize((V * np.maximum(lam, 1e-8 * top)) @ V.T))


def _window_estimator(A, B, bx, C, D, by, k: int):
    """The linear least-squares estimate of the state at the end of a window.

    For ``x+ = A x + B u + bx``, ``y = C x + D u + by`` observed over ``t < k``, the stacked
    outputs are ``Y = O x0 + G U + g``; with ``x0 = O^+ (Y - G U - g)`` and
    ``x_k = A^k x0 + R U + r``, the estimate is ``x_k = E [Y; U] + e`` (Y, U flattened time
    major). Returns ``E (n, k (p + m))`` and ``e (n,)``.
    """
    n, m, p = A.shape[0], B.shape[1], C.shape[0]
    O = np.empty((k * p, n))
    G = np.zeros((k * p, k * m))
    g = np.empty(k * p)
    R = np.zeros((n, k * m))
    r = np.zeros(n)
    powers = [np.eye(n)]  # A^t, t = 0 .. k
    for _ in range(k):
        powers.append(A @ powers[-1])
    for t in range(k):
        O[t * p : (t + 1) * p] = C @ powers[t]
        acc = by.copy()
        for j in range(t):
            M = C @ powers[t - 1 - j]
            G[t * p : (t + 1) * p, j * m : (j + 1) * m] = M @ B
            acc = acc + M @ bx
        G[t * p : (t + 1) * p, t * m : (t + 1) * m] = D
        g[t * p : (t + 1) * p] = acc
    for j in range(k):
        R[:, j * m : (j + 1) * m] = powers[k - 1 - j] @ B
        r += powers[k - 1 - j] @ bx
    Opinv = np.linalg.pinv(O, rcond=np.finfo(float).eps * max(O.shape))
    Ak = powers[k] @ Opinv
    E = np.hstack([Ak, R - Ak @ G])
    e = r - Ak @ g
    return E, e
