"""State-space layers: linear time-invariant (:class:`SSMLayer`) and selective (:class:`SelectiveSSM`).

Both map sequences ``(batch, length, channels)`` to sequences; time runs along axis 1.

:class:`SSMLayer` is the discrete-time system

    x[t+1] = A x[t] + B u[t],     y[t] = C x[t] + D u[t],     x[0] = 0 (or a cached state),

with A in one of four trainable parametrizations ("dense", "diagonal", "companion",
"memory"; see :mod:`realize.nn.lift`), lifted exactly from a :class:`realize.StateSpace` by
:meth:`SSMLayer.from_realization` and lowered back by :meth:`SSMLayer.to_realization`.
It computes in three equivalent ways: ``"fft"`` (convolution with the Markov parameters),
``"scan"`` (chunked scan, any initial state) and ``"recurrent"`` (a loop; :meth:`SSMLayer.step`
for decoding with a state cache).

:class:`SelectiveSSM` is Mamba's selective state-space block: a diagonal SSM whose step
size and input/output maps depend on the input, computed with
:func:`realize.nn.ops.selective_scan`. Its state recursion is a bilinear system
(:class:`realize.BilinearStateSpace`); see :meth:`SelectiveSSM.bilinear_realization`.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from scipy.linalg import block_diag
from torch import nn

from realize.bilinear import BilinearStateSpace
from realize.errors import InvalidValueError, NotStableError, ShapeError
from realize.model import StateSpace
from realize.nn import lift as _lift
from realize.nn.ops import (
    fft_conv,
    lti_kernel,
    lti_recurrent,
    lti_scan,
    selective_scan,
    selective_scan_step,
)
from realize.nn.ops.lti import lti_controllability, lti_observability

__all__ = ["SSMLayer", "SelectiveSSM", "selective_init"]

PARAMETRIZATIONS = ("dense", "diagonal", "companion", "memory")


def _t(x, dtype, device):
    return torch.as_tensor(np.asarray(x), dtype=dtype, device=device)


def _softplus_inv(y):
    return y + np.log(-np.expm1(-y))


# ----------------------------------------------------------------- parametrizations of A
class _Dense(nn.Module):
    """A free; with ``stable`` A = W / sqrt(1 + ||W||_2^2), so ||A||_2 < 1."""

    def __init__(self, A, stable):
        super().__init__()
        self.stable = stable
        A = np.asarray(A, float)
        if stable:
            s = np.linalg.norm(A, 2) if A.size else 0.0
            if s >= 1.0:
                raise NotStableError(
                    f"A: expected ||A||_2 < 1 for the stable dense parametrization, got {s:.6g}"
                )
            A = A / np.sqrt(1.0 - s * s)
        self.W = nn.Parameter(torch.as_tensor(A))

    def matrix(self):
        if not self.stable or self.W.numel() == 0:
            return self.W
        s = torch.linalg.matrix_norm(self.W, ord=2)
        return self.W / torch.sqrt(1.0 + s * s)


def _strictly_inside(x: torch.Tensor, kind: str) -> torch.Tensor:
    """Clamp a stable map's parameter short of where it rounds onto the unit circle.

    ``tanh(x)`` rounds to exactly 1 beyond ``|x| ~ 19`` in float64 (``~ 9`` in float32) and
    ``exp(-exp(nu))`` beyond ``nu ~ -37``: a large step would put a pole on the circle. The
    clamp keeps ``1 - |pole| >= 2 eps`` of the dtype (``kind`` is ``"tanh"`` or ``"radius"``);
    lifted poles closer to the circle than that were not representable anyway.
    """
    eps = torch.finfo(x.dtype).eps
    if kind == "tanh":
        lim = 0.5 * math.log((2.0 - 2.0 * eps) / (2.0 * eps))  # atanh(1 - 2 eps)
        return x.clamp(-lim, lim)
    return x.clamp(min=math.log(2.0 * eps))  # 1 - exp(-exp(nu)) ~ exp(nu) >= 2 eps


class _Companion(nn.Module):
    """Companion matrix of z^n + a_1 z^(n-1) + ... + a_n; with ``stable``, a from the
    reflection coefficients k = tanh(kappa) (Levinson step-up)."""

    def __init__(self, a, stable):
        super().__init__()
        self.stable = stable
        a = np.asarray(a, float)
        if stable:
            k = _lift.poly_to_reflection(a)
            self.theta = nn.Parameter(torch.as_tensor(np.arctanh(k)))
        else:
            self.theta = nn.Parameter(torch.as_tensor(a))

    def coefficients(self):
        if not self.stable:
            return self.theta
        return _lift.reflection_to_poly(torch.tanh(_strictly_inside(self.theta, "tanh")))

    def matrix(self):
        a = self.coefficients()
        n = a.shape[0]
        M = torch.zeros(n, n, dtype=a.dtype, device=a.device)
        if n:
            M = M + torch.diag(torch.ones(n - 1, dtype=a.dtype, device=a.device), -1)
            M = torch.cat([M[:, :-1], -a.flip(0)[:, None]], dim=1)
        return M


class _Modes(nn.Module):
    """Real eigenvalues and complex-conjugate pairs; stable: real lambda = tanh(rho),
    complex lambda = exp(-exp(nu)) e^(i theta) (radius < 1)."""

    def __init__(self, lam_real, lam_cplx, stable):
        super().__init__()
        self.stable = stable
        lr = np.asarray(lam_real, float)
        lc = np.asarray(lam_cplx, complex)
        if stable:
            bad = [abs(x) for x in (*lr, *lc) if abs(x) >= 1.0]
            if bad:
                raise NotStableError(
                    f"sys: expected all poles inside the unit circle for stable=True, "
                    f"got a pole of modulus {max(bad):.6g}"
                )
            r = np.clip(np.abs(lc), 1e-300, None)
            self.lam_real = nn.Parameter(torch.as_tensor(np.arctanh(lr)))
            self.nu = nn.Parameter(torch.as_tensor(np.log(-np.log(r))))
            self.theta = nn.Parameter(torch.as_tensor(np.angle(lc)))
        else:
            self.lam_real = nn.Parameter(torch.as_tensor(lr))
            self.nu = nn.Parameter(torch.as_tensor(lc.real.copy()))
            self.theta = nn.Parameter(torch.as_tensor(lc.imag.copy()))

    def eigenvalues(self):
        """(real eigenvalues (n_r,), complex ones (n_c,)) as tensors."""
        if self.stable:
            lr = torch.tanh(_strictly_inside(self.lam_real, "tanh"))
            r = torch.exp(-torch.exp(_strictly_inside(self.nu, "radius")))
            return lr, torch.polar(r, self.theta)
        return self.lam_real, torch.complex(self.nu, self.theta)


def _block_matrix(lr, lc):
    """Real block-diagonal matrix: diag(lr), then [[s, -w], [w, s]] per complex pair."""
    n_r, n_c = lr.shape[0], lc.shape[0]
    n = n_r + 2 * n_c
    dtype = lr.dtype
    A = torch.zeros(n, n, dtype=dtype, device=lr.device)
    if n_r:
        A = A + torch.diag(torch.cat([lr, lr.new_zeros(2 * n_c)]))
    if n_c:
        s, w = lc.real, lc.imag
        blocks = torch.stack([torch.stack([s, -w], -1), torch.stack([w, s], -1)], -2)  # (n_c, 2, 2)
        A = A + F.pad(torch.block_diag(*blocks), (n_r, 0, n_r, 0))
    return A


class SSMLayer(nn.Module):
    """Linear time-invariant state-space layer on sequences ``(batch, length, channels)``.

    ``x[t+1] = A x[t] + B u[t]``, ``y[t] = C x[t] + D u[t]``, with A parametrized as

    ``"dense"``
        A free (``stable``: ``A = W / sqrt(1 + ||W||_2^2)``, a contraction).
    ``"diagonal"``
        modal form: real poles, and complex-conjugate pairs kept either as one complex
        mode with complex B row and C column, output ``2 Re(c x)`` (``modes="complex"``),
        or as a real 2x2 rotation-scaling block (``modes="blocks"``). ``stable``: real
        pole ``tanh(rho)``, complex pole ``exp(-exp(nu)) e^(i theta)``.
    ``"companion"``
        companion matrix of the characteristic polynomial (``stable``: from its
        reflection coefficients ``tanh(kappa)``, Schur-Cohn).
    ``"memory"``
        ``diag(S, Lambda)``: a fixed nilpotent shift ``S`` of size ``n_shift`` (a window of
        past inputs) beside a diagonal block as in ``"diagonal"``.

    Parameters
    ----------
    d_input, d_output, d_state : int
        m, p and n.
    parametrization : {"dense", "diagonal", "companion", "memory"}
    stable : bool
        Keep every pole inside the unit circle throughout training.
    modes : {"complex", "blocks"}
        For "diagonal" and "memory".
    n_shift : int
        Size of the shift block ("memory").
    mode : {"auto", "fft", "scan", "recurrent"}
        Default computation of :meth:`forward`.
    feedthrough : bool
        Learn D (else D = 0).
    dtype, device : torch dtype and device
    seed : int, optional
        Seed of the random initialization (poles of modulus in [0.5, 0.95]).

    Attributes
    ----------
    B : (n, m) parameter, C : (p, n) parameter, D : (p, m) parameter or buffer
        (for "diagonal" with ``modes="complex"`` the complex pairs' B rows and C columns are
        ``B_c`` (n_c, m, 2) and ``C_c`` (p, n_c, 2), real and imaginary parts.)

    Examples
    --------
    >>> import numpy as np, torch, realize
    >>> from realize.nn import SSMLayer
    >>> sys = realize.StateSpace([[0.9, 0.2], [-0.2, 0.9]], [[1.0], [0.0]], [[1.0, 1.0]], [[0.5]])
    >>> layer = SSMLayer.from_realization(sys, parametrization="diagonal", dtype=torch.float64)
    >>> u = np.random.default_rng(0).standard_normal((20, 1))
    >>> y = layer(torch.as_tensor(u)[None])[0].detach().numpy()
    >>> bool(np.allclose(y, sys.simulate(u, noise=False)))
    True
    >>> back = layer.to_realization()
    >>> bool(np.allclose(back.markov(10), sys.markov(10)))
    True
    """

    def __init__(
        self,
        d_input: int,
        d_output: int,
        d_state: int,
        parametrization: str = "diagonal",
        *,
        stable: bool = True,
        modes: str = "complex",
        n_shift: int = 0,
        mode: str = "auto",
        feedthrough: bool = True,
        dtype=None,
        device=None,
        seed: int | None = None,
        _init=None,
    ):
        super().__init__()
        if parametrization not in PARAMETRIZATIONS:
            raise InvalidValueError(
                f"parametrization: expected one of {PARAMETRIZATIONS}, got {parametrization!r}"
            )
        if modes not in ("complex", "blocks"):
            raise InvalidValueError(f"modes: expected 'complex' or 'blocks', got {modes!r}")
        if mode not in ("auto", "fft", "scan", "recurrent"):
            raise InvalidValueError(
                f"mode: expected 'auto', 'fft', 'scan' or 'recurrent', got {mode!r}"
            )
        for name, v in (("d_input", d_input), ("d_output", d_output), ("d_state", d_state)):
            if int(v) != v or v < 0:
                raise InvalidValueError(f"{name}: expected a non-negative integer, got {v!r}")
        self.m, self.p, self.n = int(d_input), int(d_output), int(d_state)
        self.parametrization, self.stable, self.modes, self.mode = (
            parametrization,
            bool(stable),
            modes,
            mode,
        )
        dtype = dtype or torch.get_default_dtype()
        init = _init if _init is not None else self._random_init(parametrization, n_shift, seed)
        m, p = self.m, self.p
        B, C, D = init["B"], init["C"], init["D"]
        self.n_shift = 0
        if parametrization == "dense":
            self.A_param = _Dense(init["A"], self.stable)
        elif parametrization == "companion":
            self.A_param = _Companion(init["a"], self.stable)
        else:
            if parametrization == "memory":
                self.n_shift = int(init["n_shift"])
                self.register_buffer("shift", torch.as_tensor(np.asarray(init["shift"], float)))
            self.A_param = _Modes(init["lam_real"], init["lam_cplx"], self.stable)
        self.n_real = len(init.get("lam_real", ()))
        self.n_cplx = len(init.get("lam_cplx", ()))
        if parametrization in ("diagonal", "memory") and modes == "complex":
            # complex pair j occupies real coordinates (a_j, b_j) with mode a_j + i b_j:
            # B rows (Re b, Im b), C columns (2 Re c, -2 Im c)
            k0 = self.n_shift + self.n_real
            Bm, Cm = np.asarray(B, float), np.asarray(C, float)
            Bc = Bm[k0:].reshape(self.n_cplx, 2, m).transpose(0, 2, 1)  # (n_c, m, 2)
            Cc = Cm[:, k0:].reshape(p, self.n_cplx, 2) * np.array([0.5, -0.5])  # (p, n_c, 2)
            self.B = nn.Parameter(torch.as_tensor(Bm[:k0]))
            self.C = nn.Parameter(torch.as_tensor(Cm[:, :k0]))
            self.B_c = nn.Parameter(torch.as_tensor(Bc.copy()))
            self.C_c = nn.Parameter(torch.as_tensor(Cc.copy()))
        else:
            self.B = nn.Parameter(torch.as_tensor(np.array(B, float)))
            self.C = nn.Parameter(torch.as_tensor(np.array(C, float)))
        if feedthrough:
            self.D = nn.Parameter(torch.as_tensor(np.array(D, float)))
        else:
            if np.any(np.asarray(D)):
                raise InvalidValueError("D: expected zero feedthrough with feedthrough=False")
            self.register_buffer("D", torch.zeros(p, m, dtype=torch.float64))
        self.to(dtype=dtype, device=device)

    # ------------------------------------------------------------------ construction
    def _random_init(self, parametrization, n_shift, seed):
        rng = np.random.default_rng(seed)
        n, m, p = self.n, self.m, self.p
        ns = int(n_shift) if parametrization == "memory" else 0
        if ns > n or ns < 0:
            raise InvalidValueError(f"n_shift: expected an integer in [0, {n}], got {n_shift!r}")
        nd = n - ns
        n_c, n_r = nd // 2, nd % 2
        r = rng.uniform(0.5, 0.95, n_c)
        lam_c = r * np.exp(1j * rng.uniform(0.05, np.pi - 0.05, n_c))
        lam_r = rng.uniform(0.5, 0.95, n_r)
        blocks = [np.diag(lam_r)] + [np.array([[z.real, -z.imag], [z.imag, z.real]]) for z in lam_c]

        Ad = block_diag(*blocks) if nd else np.zeros((0, 0))
        shift = np.eye(ns, k=-1)
        init = dict(
            B=rng.standard_normal((n, m)) / np.sqrt(max(m, 1)),
            C=rng.standard_normal((p, n)) / np.sqrt(max(n, 1)) * np.sqrt(1 - 0.9**2),
            D=np.zeros((p, m)),
            lam_real=lam_r,
            lam_cplx=lam_c,
            shift=shift,
            n_shift=ns,
        )
        A = block_diag(shift, Ad) if n else np.zeros((0, 0))
        if parametrization == "dense":
            init["A"] = A * (0.99 / max(1.0, np.linalg.norm(A, 2))) if n else A
        elif parametrization == "companion":
            init["a"] = (
                np.poly(np.concatenate([lam_r, lam_c, lam_c.conj()]))[1:].real if n else np.zeros(0)
            )
        return init

    @classmethod
    def from_realization(
        cls,
        sys,
        parametrization: str = "diagonal",
        *,
        stable: bool = False,
        modes: str = "complex",
        mode: str = "auto",
        dtype=None,
        device=None,
    ):
        """A layer computing exactly ``sys``'s outputs from a zero state.

        Parameters
        ----------
        sys : realize.StateSpace
            Its (A, B, C, D) are lifted; a noise model or innovation form is ignored.
        parametrization : {"dense", "diagonal", "companion", "memory"}
        stable : bool
            Use the stable parametrization (``sys`` must then be stable).
        modes : {"complex", "blocks"}
        mode : {"auto", "fft", "scan", "recurrent"}
        dtype, device : torch dtype and device (default: torch's default dtype)

        Returns
        -------
        SSMLayer
            ``layer.to_realization()`` is similar to ``sys`` (same Markov parameters).

        Raises
        ------
        realize.errors.NotStableError
            ``stable=True`` and ``sys`` has a pole on or outside the unit circle.
        realize.errors.InvalidValueError
            A that has no such form ("diagonal" needs a diagonalizable A, "companion" a
            cyclic one), or an unknown parametrization.
        """
        if not isinstance(sys, StateSpace):
            raise InvalidValueError(f"sys: expected a realize.StateSpace, got {type(sys).__name__}")
        if parametrization not in PARAMETRIZATIONS:
            raise InvalidValueError(
                f"parametrization: expected one of {PARAMETRIZATIONS}, got {parametrization!r}"
            )
        A, B, C, D = sys.A, sys.B, sys.C, sys.D
        n = A.shape[0]
        if stable:
            _lift._require_stable(A)
        init = dict(D=D)
        n_shift = 0
        if parametrization == "dense":
            T = _lift.contractive_transform(A) if stable else np.eye(n)
            init["A"] = T @ A @ np.linalg.inv(T)
        elif parametrization == "companion":
            a, T = _lift.companion_form(A, B)
            init["a"] = a
        elif parametrization == "diagonal":
            lr, lc, T = _lift.modal_form(A)
            init.update(lam_real=lr, lam_cplx=lc)
        else:
            n_shift, S, lr, lc, T = _lift.memory_form(sys)
            init.update(lam_real=lr, lam_cplx=lc, shift=S, n_shift=n_shift)
        Ti = np.linalg.inv(T)
        init.update(B=T @ B, C=C @ Ti)
        return cls(
            sys.m,
            sys.p,
            n,
            parametrization,
            stable=stable,
            modes=modes,
            n_shift=n_shift,
            mode=mode,
            dtype=dtype,
            device=device,
            _init=init,
        )

    def to_realization(self):
        """The layer as trained, as a :class:`realize.StateSpace` (float64).

        Returns
        -------
        realize.StateSpace
            In the layer's own coordinates (block-diagonal real modal form for
            "diagonal", companion form for "companion", ...).
        """
        with torch.no_grad():
            A, B, C, D = (x.detach().to("cpu", torch.float64).numpy() for x in self.matrices())
        return StateSpace(A, B, C, D)

    # ------------------------------------------------------------------ matrices
    def matrices(self):
        """(A, B, C, D) as real tensors of shapes (n, n), (n, m), (p, n), (p, m)."""
        if self.parametrization in ("dense", "companion"):
            A = self.A_param.matrix()
        else:
            lr, lc = self.A_param.eigenvalues()
            A = _block_matrix(lr, lc)
            if self.parametrization == "memory":
                A = torch.block_diag(self.shift, A)
        if hasattr(self, "B_c"):
            Bc = self.B_c.transpose(1, 2).reshape(-1, self.m)  # rows Re, Im
            Cc = (self.C_c * self.C_c.new_tensor([2.0, -2.0])).reshape(self.p, -1)
            B = torch.cat([self.B, Bc], 0)
            C = torch.cat([self.C, Cc], 1)
        else:
            B, C = self.B, self.C
        return A, B, C, self.D

    def poles(self) -> np.ndarray:
        """Eigenvalues of A, as a complex NumPy array."""
        return np.linalg.eigvals(self.to_realization().A) if self.n else np.zeros(0, complex)

    def kernel(self, L: int):
        """Markov parameters ``K[0] = D, K[k] = C A^(k-1) B``: (L, p, m) tensor.

        For the modal parametrizations they are a Vandermonde sum over the poles
        (O(n L)); otherwise powers of A by doubling.
        """
        A, B, C, D = self.matrices()
        if self.parametrization in ("diagonal", "memory") and L > 1:
            k = torch.arange(L - 1, device=D.device, dtype=D.dtype)
            lr, lc = self.A_param.eigenvalues()
            ns, nr = self.n_shift, self.n_real
            K = D.new_zeros(L - 1, self.p, self.m)
            if ns:
                K = K + lti_kernel(self.shift, B[:ns], C[:, :ns], D * 0, L)[1:]
            if nr:
                V = lr[None, :] ** k[:, None]  # (L-1, n_r)
                K = K + torch.einsum("pr,kr,rm->kpm", C[:, ns : ns + nr], V, B[ns : ns + nr])
            if self.n_cplx:
                bc = B[ns + nr :].reshape(self.n_cplx, 2, self.m)
                cc = C[:, ns + nr :].reshape(self.p, self.n_cplx, 2)
                b_cplx = torch.complex(bc[:, 0], bc[:, 1])  # mode a + i b
                c_cplx = torch.complex(cc[..., 0], -cc[..., 1]) / 2  # y = 2 Re(c x)
                V = lc[None, :] ** k[:, None].to(lc.dtype)
                K = K + 2 * torch.einsum("pc,kc,cm->kpm", c_cplx, V, b_cplx).real
            return torch.cat([D[None], K], 0)
        return lti_kernel(A, B, C, D, L)

    # ------------------------------------------------------------------ computation
    def _check_u(self, u, name="u"):
        if not isinstance(u, torch.Tensor):
            raise ShapeError(f"{name}: expected a torch.Tensor, got {type(u).__name__}")
        if u.ndim != 3 or u.shape[-1] != self.m:
            raise ShapeError(
                f"{name}: expected shape (batch, length, {self.m}), got {tuple(u.shape)}"
            )

    def forward(self, u, state=None, return_state: bool = False, mode: str | None = None):
        """Outputs of the layer.

        Parameters
        ----------
        u : (batch, length, m) tensor
        state : (batch, n) tensor, optional
            Initial state x[0] (a state cache); zero if omitted.
        return_state : bool
            Also return x[length], the state after the last input.
        mode : {"auto", "fft", "scan", "recurrent"}, optional
            Overrides the layer's default; ``"auto"`` is FFT convolution from a zero state
            and the chunked scan otherwise. All three give the same outputs.

        Returns
        -------
        y : (batch, length, p) tensor, or ``(y, x_last)`` with x_last (batch, n).

        Raises
        ------
        realize.errors.ShapeError
            u not (batch, length, m), or a state not (batch, n).
        """
        self._check_u(u)
        mode = mode or self.mode
        if state is not None and (
            not isinstance(state, torch.Tensor) or tuple(state.shape) != (u.shape[0], self.n)
        ):
            raise ShapeError(
                f"state: expected shape ({u.shape[0]}, {self.n}), got "
                f"{tuple(state.shape) if isinstance(state, torch.Tensor) else type(state).__name__}"
            )
        if mode == "auto":
            mode = "fft" if state is None and not return_state else "scan"
        A, B, C, D = self.matrices()
        u = u.to(D.dtype)
        if mode == "recurrent":
            return lti_recurrent(u, A, B, C, D, state, return_state)
        if mode == "scan":
            return lti_scan(u, A, B, C, D, state, return_state)
        if mode != "fft":
            raise InvalidValueError(
                f"mode: expected 'auto', 'fft', 'scan' or 'recurrent', got {mode!r}"
            )
        y = fft_conv(u, self.kernel(u.shape[1]))
        if state is not None or return_state:
            L = u.shape[1]
            if state is not None:
                y = y + torch.einsum("tpn,bn->btp", lti_observability(A, C, L), state.to(D.dtype))
            if return_state:
                AB = lti_controllability(A, B, L)  # A^k B
                x = torch.einsum("knm,bkm->bn", AB, u.flip(1))
                if state is not None:
                    x = x + state.to(D.dtype) @ torch.linalg.matrix_power(A, L).T
                return y, x
        return y

    def step(self, u_t, state=None):
        """One step of the recurrence, for decoding with a state cache.

        Parameters
        ----------
        u_t : (batch, m) tensor
        state : (batch, n) tensor, optional (zero if omitted)

        Returns
        -------
        y_t : (batch, p) tensor
        state : (batch, n) tensor, the next state
        """
        if not isinstance(u_t, torch.Tensor) or u_t.ndim != 2 or u_t.shape[1] != self.m:
            raise ShapeError(
                f"u_t: expected shape (batch, {self.m}), got {tuple(getattr(u_t, 'shape', ()))}"
            )
        A, B, C, D = self.matrices()
        u_t = u_t.to(D.dtype)
        x = u_t.new_zeros(u_t.shape[0], self.n) if state is None else state.to(D.dtype)
        return x @ C.T + u_t @ D.T, x @ A.T + u_t @ B.T

    def extra_repr(self) -> str:
        return (
            f"d_input={self.m}, d_output={self.p}, d_state={self.n}, "
            f"parametrization={self.parametrization!r}, stable={self.stable}"
        )


def selective_init(
    dt_proj: nn.Linear,
    channels: int,
    d_state: int,
    dt_min: float = 1e-3,
    dt_max: float = 1e-1,
    *,
    dtype=None,
    device=None,
) -> tuple[nn.Parameter, nn.Parameter]:
    """Mamba's initialization of a selective SSM: ``A_log``, ``D``, and the step-size bias.

    S4D-real poles ``A = -(1, ..., N)`` in every channel, a skip ``D = 1``, and step sizes
    ``delta = softplus(b_delta)`` log-uniform in ``[dt_min, dt_max]`` (Gu and Dao, 2023,
    Section 3.6), written into ``dt_proj.bias`` as ``softplus^-1(delta)``. Used by
    :class:`SelectiveSSM` and by B'MOJO's mixer
    (:class:`realize.nn.bmojo.SelectiveSSMMixer`).

    Parameters
    ----------
    dt_proj : torch.nn.Linear
        The step-size projection, with ``channels`` outputs and a bias (set in place).
    channels, d_state : int
        Channels d and state size N per channel.
    dt_min, dt_max : float
        Range of the initial step sizes.
    dtype, device
        Of the returned parameters.

    Returns
    -------
    A_log : (channels, d_state) parameter
        ``log(1..N)`` in every row (``A = -exp(A_log)``).
    D : (channels,) parameter
        Ones.

    Examples
    --------
    >>> import torch
    >>> from realize.nn.ssm import selective_init
    >>> dt_proj = torch.nn.Linear(2, 4)
    >>> A_log, D = selective_init(dt_proj, 4, 3)
    >>> (-torch.exp(A_log[0])).tolist(), D.tolist()
    ([-1.0, -2.0, -3.0], [1.0, 1.0, 1.0, 1.0])
    >>> delta = torch.nn.functional.softplus(dt_proj.bias)
    >>> bool(((delta >= 1e-3 - 1e-9) & (delta <= 1e-1 + 1e-9)).all())
    True
    """
    A = torch.arange(1, d_state + 1, dtype=torch.float32).repeat(channels, 1)
    A_log = nn.Parameter(torch.log(A).to(dtype=dtype, device=device))
    D = nn.Parameter(torch.ones(channels, dtype=dtype, device=device))
    dt = torch.exp(torch.rand(channels) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min))
    with torch.no_grad():
        dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))  # softplus^-1(dt)
    return A_log, D


class SelectiveSSM(nn.Module):
    """Selective (input-dependent) diagonal state-space block, Mamba's S6 layer.

    For an input ``x`` (batch, length, d_model) and each channel c with state size N,

        delta[t] = softplus(W_delta x[t] + b_delta),   B[t] = W_B x[t],   C[t] = W_C x[t],
        h_c[t]   = exp(delta_c[t] A_c) h_c[t-1] + delta_c[t] B[t] x_c[t],
        y_c[t]   = C[t]' h_c[t] + D_c x_c[t],

    with ``A_c = -exp(A_log_c)`` (negative real, so every step is stable), optionally gated
    by ``silu(z)`` with ``z = W_z x``, and computed with :func:`realize.nn.ops.selective_scan`.

    A bilinear state-space model. For one channel the state recursion is linear in the
    state and affine in the *features* ``v[t] = (exp(delta[t] A) - 1, delta[t] B[t] x_c[t])``
    (2N numbers)::

        h[t] = h[t-1] + sum_i v_i[t] E_ii h[t-1] + [0 | I] v[t],

    i.e. the :class:`realize.BilinearStateSpace` with ``A = I``, ``N_i = E_ii`` (i < N),
    ``N_i = 0`` (i >= N) and ``B = [0 | I]``, exactly (:meth:`bilinear_realization`).
    To first order in ``delta`` (Euler instead of zero-order hold on A), ``exp(delta A) - 1
    ~ delta A`` and the model is the bilinear system with the single multiplicative input
    ``delta``: ``h[t] = (I + delta[t] diag(A)) h[t-1] + delta[t] B[t] x[t]`` -- a linear SSM
    whose transition matrix is modulated by the input, which is what "selective" means.

    Parameters
    ----------
    d_model : int
        Channels d.
    d_state : int
        State size N per channel.
    dt_rank : int, optional
        Rank of ``W_delta`` (default ``ceil(d_model / 16)``).
    dt_min, dt_max : float
        Range of the initial step sizes (log-uniform).
    gate : bool
        Multiply by ``silu(W_z x)``.
    backend : str
        Passed to :func:`realize.nn.ops.selective_scan`.
    dtype, device

    Examples
    --------
    >>> import torch
    >>> from realize.nn import SelectiveSSM
    >>> layer = SelectiveSSM(8, 4, backend="chunk")  # "auto" compiles the numba kernel first
    >>> layer(torch.randn(2, 16, 8)).shape
    torch.Size([2, 16, 8])
    """

    def __init__(
        self,
        d_model: int,
        d_state: int = 16,
        dt_rank: int | None = None,
        dt_min: float = 1e-3,
        dt_max: float = 1e-1,
        gate: bool = False,
        backend: str = "auto",
        dtype=None,
        device=None,
    ):
        super().__init__()
        if d_model <= 0 or d_state <= 0:
            raise InvalidValueError(
                f"d_model, d_state: expected positive integers, got {d_model}, {d_state}"
            )
        self.d_model, self.d_state = int(d_model), int(d_state)
        self.dt_rank = int(dt_rank or math.ceil(d_model / 16))
        self.backend = backend
        kw = dict(dtype=dtype, device=device)
        self.x_proj = nn.Linear(d_model, self.dt_rank + 2 * d_state, bias=False, **kw)
        self.dt_proj = nn.Linear(self.dt_rank, d_model, bias=True, **kw)
        self.z_proj = nn.Linear(d_model, d_model, bias=False, **kw) if gate else None
        self.A_log, self.D = selective_init(
            self.dt_proj, self.d_model, self.d_state, dt_min, dt_max, **kw
        )

    @property
    def A(self):
        """(d_model, d_state) tensor: the continuous-time poles, ``-exp(A_log)``."""
        return -torch.exp(self.A_log)

    def _features(self, x):
        proj = self.x_proj(x)
        dt, B, C = torch.split(proj, [self.dt_rank, self.d_state, self.d_state], dim=-1)
        delta = F.linear(dt, self.dt_proj.weight)  # bias added inside the scan
        z = self.z_proj(x) if self.z_proj is not None else None
        return delta, B, C, z

    def forward(self, x, state=None, return_state: bool = False):
        """Outputs of the block.

        Parameters
        ----------
        x : (batch, length, d_model) tensor
        state : (batch, d_model, d_state) tensor, optional
        return_state : bool

        Returns
        -------
        y : (batch, length, d_model) tensor, or ``(y, h_last)``.
        """
        if not isinstance(x, torch.Tensor) or x.ndim != 3 or x.shape[-1] != self.d_model:
            raise ShapeError(
                f"x: expected shape (batch, length, {self.d_model}), got {tuple(getattr(x, 'shape', ()))}"
            )
        delta, B, C, z = self._features(x)
        return selective_scan(
            x,
            delta,
            self.A,
            B,
            C,
            self.D,
            z,
            self.dt_proj.bias,
            True,
            state,
            return_state,
            backend=self.backend,
        )

    def step(self, x_t, state=None):
        """One decoding step: x_t (batch, d_model) -> (y_t, new state (batch, d_model, d_state))."""
        if not isinstance(x_t, torch.Tensor) or x_t.ndim != 2 or x_t.shape[-1] != self.d_model:
            raise ShapeError(
                f"x_t: expected shape (batch, {self.d_model}), got {tuple(getattr(x_t, 'shape', ()))}"
            )
        delta, B, C, z = self._features(x_t)
        return selective_scan_step(
            x_t, delta, self.A, B, C, self.D, z, state, self.dt_proj.bias, True
        )

    def bilinear_realization(self, x, batch: int = 0, channel: int = 0):
        """The exact bilinear state-space model of one channel's state recursion.

        Parameters
        ----------
        x : (batch, length, d_model) tensor
            The input whose features drive the model.
        batch, channel : int

        Returns
        -------
        sys : realize.BilinearStateSpace
            n = N states, m = 2N inputs, ``A = I``, ``N_i = E_ii`` for i < N, ``B = [0 | I]``,
            ``C = I`` (the state is the output).
        v : (length, 2N) array
            Its input: ``(exp(delta[t] A) - 1, delta[t] B[t] x_c[t])``.

        With ``y = sys.simulate(v, noise=False)``, ``y[t] = h[t-1]`` (the state before step
        t), and ``C[t]' h[t] + D x_c[t]`` is the block's output (before the gate).
        """
        N = self.d_state
        with torch.no_grad():
            delta, B, C, _ = self._features(x)
            delta = F.softplus(delta + self.dt_proj.bias)
            dl = delta[batch, :, channel].double()
            a = self.A[channel].double()
            v1 = torch.expm1(dl[:, None] * a[None, :])
            v2 = (dl * x[batch, :, channel].double())[:, None] * B[batch].double()
            v = torch.cat([v1, v2], dim=1).numpy()
        Ns = np.zeros((2 * N, N, N))
        Ns[np.arange(N), np.arange(N), np.arange(N)] = 1.0
        Bb = np.hstack([np.zeros((N, N)), np.eye(N)])
        return BilinearStateSpace(np.eye(N), Ns, Bb, np.eye(N)), v
