"""Selective scan (Mamba's S6 recurrence) with interchangeable backends.

Backends, all with one signature (:func:`naive.selective_scan`):

``naive``
    a sequential torch loop; the definition, differentiated by autograd.
``chunk``
    a chunked parallel scan in torch (autograd), any device and dtype.
``cpu``
    Numba kernels for the forward and the backward pass (a ``torch.autograd.Function``);
    float32 and float64 on the CPU.
``triton``
    Triton kernels for the forward and the backward pass, chunked over time; float16,
    bfloat16, float32 and float64 on a GPU (or on the CPU under ``TRITON_INTERPRET=1``).

``backend="auto"`` picks ``triton`` for CUDA tensors, ``cpu`` for float32/float64 CPU
tensors when Numba is installed, and ``chunk`` otherwise.
"""

from __future__ import annotations

import importlib
import importlib.util
import os

from realize.errors import InvalidValueError
from realize.nn.ops.selective_scan.naive import selective_scan_step

__all__ = ["selective_scan", "selective_scan_step", "BACKENDS", "available_backends"]

BACKENDS = ("naive", "chunk", "cpu", "triton")


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def available_backends(device="cpu", dtype=None) -> list[str]:
    """Backends that can run on ``device`` with ``dtype``, fastest first.

    Examples
    --------
    >>> import torch
    >>> available_backends("cpu", torch.float64)[-2:]  # "cpu" before them where numba imports
    ['chunk', 'naive']
    """
    import torch

    device = torch.device(device)
    dtype = dtype or torch.float32
    out = []
    if _has("triton") and (device.type == "cuda" or os.environ.get("TRITON_INTERPRET") == "1"):
        out.append("triton")
    if device.type == "cpu" and dtype in (torch.float32, torch.float64) and _has("numba"):
        out.append("cpu")
    out += ["chunk", "naive"]
    return out


def _resolve(backend: str, u) -> str:
    if backend not in (*BACKENDS, "auto"):
        raise InvalidValueError(f"backend: expected one of {('auto', *BACKENDS)}, got {backend!r}")
    if backend != "auto":
        return backend
    avail = available_backends(u.device, u.dtype)
    if u.device.type != "cuda" and "triton" in avail:
        avail.remove("triton")  # the interpreter is for testing, never picked silently
    return avail[0]


def selective_scan(
    u,
    delta,
    A,
    B,
    C,
    D=None,
    z=None,
    delta_bias=None,
    delta_softplus=False,
    h0=None,
    return_last_state=False,
    backend="auto",
):
    """Selective scan with a choice of backend; see :func:`naive.selective_scan`.

    Parameters
    ----------
    u, delta : (batch, length, d) tensor
    A : (d, N) real tensor
    B, C : (batch, length, N) tensor
    D : (d,) tensor, optional
    z : (batch, length, d) tensor, optional
    delta_bias : (d,) tensor, optional
    delta_softplus : bool
    h0 : (batch, d, N) tensor, optional
    return_last_state : bool
    backend : {"auto", "naive", "chunk", "cpu", "triton"}

    Returns
    -------
    y : (batch, length, d) tensor, or ``(y, h_last)`` with h_last (batch, d, N).

    Raises
    ------
    realize.errors.ShapeError
        Wrong shapes.
    realize.errors.InvalidValueError
        An unknown backend, or a dtype/device the chosen backend does not support.

    Examples
    --------
    >>> import torch
    >>> from realize.nn.ops import selective_scan
    >>> g = torch.Generator().manual_seed(0)
    >>> u, dl = torch.randn(2, 7, 3, generator=g), torch.rand(2, 7, 3, generator=g)
    >>> A = -torch.rand(3, 4, generator=g); B, C = torch.randn(2, 2, 7, 4, generator=g)
    >>> y1 = selective_scan(u, dl, A, B, C, backend="naive")
    >>> y2 = selective_scan(u, dl, A, B, C, backend="chunk")
    >>> torch.allclose(y1, y2, atol=1e-5)
    True
    """
    name = _resolve(backend, u)
    mod = importlib.import_module(f"realize.nn.ops.selective_scan.{name}")
    return mod.selective_scan(
        u,
        delta,
        A,
        B,
        C,
        D=D,
        z=z,
        delta_bias=delta_bias,
        delta_softplus=delta_softplus,
        h0=h0,
        return_last_state=return_last_state,
    )
