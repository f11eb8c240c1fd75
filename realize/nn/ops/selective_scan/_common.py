"""Argument checks and small helpers shared by every selective-scan backend.

Conventions (stated once, used by ``naive``, ``chunk``, ``cpu`` and ``triton``):

========== ===================== ==========================================
name       shape                 meaning
========== ===================== ==========================================
u          (batch, length, d)    input sequence, time on axis 1
delta      (batch, length, d)    step size (before ``delta_bias``/softplus)
A          (d, N)                real continuous-time diagonal state matrix
B, C       (batch, length, N)    input-dependent input and output maps
D          (d,)                  skip connection
z          (batch, length, d)    gate: ``y *= silu(z)``
delta_bias (d,)                  added to ``delta`` before the softplus
h0, h      (batch, d, N)         state
========== ===================== ==========================================

The recurrence is Mamba's (Gu and Dao, 2023, Algorithm 2): zero-order hold on A and
Euler on B,

    h[t] = exp(delta[t] A) * h[t-1] + delta[t] B[t] u[t],
    y[t] = sum_N C[t] h[t] + D u[t],

with h[-1] = h0 (zero by default).
"""

from __future__ import annotations

import torch

from realize.errors import InvalidValueError, ShapeError

__all__ = ["check_inputs", "check_step_inputs", "check_tensor", "compute_dtype", "SUPPORTED_DTYPES"]

SUPPORTED_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """Accumulation dtype: float64 stays float64, everything else runs in float32."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def check_tensor(x, name: str, shape: tuple, dtypes=SUPPORTED_DTYPES) -> None:
    """Raise a named error unless ``x`` is a tensor of ``shape`` with a dtype in ``dtypes``."""
    if not isinstance(x, torch.Tensor):
        raise ShapeError(f"{name}: expected a torch.Tensor, got {type(x).__name__}")
    if x.dtype not in dtypes:
        names = ", ".join(str(d).replace("torch.", "") for d in dtypes)
        raise InvalidValueError(f"{name}: expected dtype in ({names}), got {x.dtype}")
    if tuple(x.shape) != tuple(shape):
        want = "(" + ", ".join(str(s) for s in shape) + ")"
        raise ShapeError(f"{name}: expected shape {want}, got {tuple(x.shape)}")


def check_inputs(
    u, delta, A, B, C, D=None, z=None, delta_bias=None, h0=None, dtypes=SUPPORTED_DTYPES
) -> tuple[int, int, int, int]:
    """Validate a selective-scan call; return (batch, length, d, N).

    Raises
    ------
    ShapeError
        A tensor with the wrong shape (the message names it and the expected shape).
    InvalidValueError
        A dtype outside ``dtypes`` (complex ``A`` included), or tensors on different devices.
    """
    if not isinstance(u, torch.Tensor) or u.ndim != 3:
        got = tuple(u.shape) if isinstance(u, torch.Tensor) else type(u).__name__
        raise ShapeError(f"u: expected a (batch, length, d) tensor, got {got}")
    b, L, d = u.shape
    if not isinstance(A, torch.Tensor) or A.ndim != 2:
        got = tuple(A.shape) if isinstance(A, torch.Tensor) else type(A).__name__
        raise ShapeError(f"A: expected a (d, N) tensor, got {got}")
    N = A.shape[1]
    check_tensor(u, "u", (b, L, d), dtypes)
    check_tensor(delta, "delta", (b, L, d), dtypes)
    check_tensor(A, "A", (d, N), dtypes)
    check_tensor(B, "B", (b, L, N), dtypes)
    check_tensor(C, "C", (b, L, N), dtypes)
    for x, name, shape in (
        (D, "D", (d,)),
        (z, "z", (b, L, d)),
        (delta_bias, "delta_bias", (d,)),
        (h0, "h0", (b, d, N)),
    ):
        if x is not None:
            check_tensor(x, name, shape, dtypes)
    devices = {x.device for x in (u, delta, A, B, C, D, z, delta_bias, h0) if x is not None}
    if len(devices) > 1:
        raise InvalidValueError(
            f"selective_scan: expected tensors on one device, got {sorted(map(str, devices))}"
        )
    return b, L, d, N


def check_step_inputs(u_t, delta_t, A, B_t, C_t, D=None, z_t=None, h=None, delta_bias=None):
    """Validate a one-step call (shapes without the time axis); return (batch, d, N)."""
    if not isinstance(u_t, torch.Tensor) or u_t.ndim != 2:
        got = tuple(u_t.shape) if isinstance(u_t, torch.Tensor) else type(u_t).__name__
        raise ShapeError(f"u_t: expected a (batch, d) tensor, got {got}")
    b, d = u_t.shape
    if not isinstance(A, torch.Tensor) or A.ndim != 2:
        raise ShapeError(
            f"A: expected a (d, N) tensor, got {getattr(A, 'shape', type(A).__name__)}"
        )
    N = A.shape[1]
    check_tensor(delta_t, "delta_t", (b, d))
    check_tensor(A, "A", (d, N))
    check_tensor(B_t, "B_t", (b, N))
    check_tensor(C_t, "C_t", (b, N))
    for x, name, shape in (
        (D, "D", (d,)),
        (z_t, "z_t", (b, d)),
        (h, "h", (b, d, N)),
        (delta_bias, "delta_bias", (d,)),
    ):
        if x is not None:
            check_tensor(x, name, shape)
    return b, d, N


def prepare_delta(delta, delta_bias, delta_softplus: bool, dtype):
    """delta + delta_bias, through softplus if asked, in the compute dtype."""
    delta = delta.to(dtype)
    if delta_bias is not None:
        delta = delta + delta_bias.to(dtype)
    if delta_softplus:
        delta = torch.nn.functional.softplus(delta)
    return delta
