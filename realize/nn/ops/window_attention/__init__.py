"""Sliding-window attention over eidetic and fading memory, with interchangeable backends.

The operation of :class:`realize.nn.SlidingWindowAttention` on projected queries, keys and
values (shapes and mask rules in :mod:`._common`). Backends, all with one signature
(:func:`naive.window_attention`):

``naive``
    one dense ``(length, 3 length)`` masked softmax; the definition, differentiated by
    autograd. O(length^2): tests only.
``chunk``
    chunks of queries against their window, gathered eidetic and fading keys in one
    ``scaled_dot_product_attention`` call with an additive mask (autograd); any device.
``flex``
    :func:`torch.nn.attention.flex_attention` with a block mask over the concatenated
    window, eidetic and fading keys and a ``score_mod`` for the ALiBi and memory biases;
    compiled on CUDA (a fused forward and backward); on the CPU eager, dense and forward only
    (torch has no FlexAttention backward there).
``triton``
    Triton kernels for the forward and the backward pass (one query block against its
    window keys, the eidetic keys read through ``eidetic_index`` and its fading keys,
    online softmax; FlashAttention-2's backward with atomics for the key gradients).
    A GPU (or the CPU under ``TRITON_INTERPRET=1``).

:func:`eidetic_schedule` computes the ``eidetic_index``/``eidetic_valid`` inputs, the store
of B'MOJO seen by every chunk, with one batched sort (:mod:`.schedule`).

``backend="auto"`` picks ``triton`` for CUDA tensors (no compilation, no block mask to build
per call; ``benchmarks/gpu_check_attention.py`` times it against ``flex``), ``flex`` on CUDA
without Triton, and ``chunk`` otherwise: on the CPU
FlexAttention cannot train and is ten times slower than the chunked SDPA path in the forward
pass, eager or compiled (``benchmarks/bench_window_attention.py --compile``).
"""

from __future__ import annotations

import importlib
import importlib.util
import os

from realize.errors import InvalidValueError
from realize.nn.ops.window_attention.schedule import eidetic_schedule

__all__ = ["window_attention", "eidetic_schedule", "BACKENDS", "available_backends"]

BACKENDS = ("naive", "chunk", "flex", "triton")


def _has(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def available_backends(device="cpu", dtype=None) -> list[str]:
    """Backends that can run on ``device`` with ``dtype``, fastest first.

    Examples
    --------
    >>> import torch
    >>> available_backends("cpu", torch.float64)[-1]
    'naive'
    >>> "chunk" in available_backends("cpu", torch.float64)
    True
    """
    import torch

    device = torch.device(device)
    dtype = dtype or torch.float32
    flex = _has("torch.nn.attention.flex_attention")
    out = []
    if device.type == "cuda":
        if _has("triton"):
            out.append("triton")
        if flex and dtype in (torch.float16, torch.bfloat16, torch.float32):
            out.append("flex")
        return out + ["chunk", "naive"]
    if _has("triton") and os.environ.get("TRITON_INTERPRET") == "1":
        out.append("triton")
    out += ["chunk", "flex"] if flex else ["chunk"]
    return out + ["naive"]


def _resolve(backend: str, q) -> str:
    if backend not in (*BACKENDS, "auto"):
        raise InvalidValueError(f"backend: expected one of {('auto', *BACKENDS)}, got {backend!r}")
    if backend != "auto":
        return backend
    avail = available_backends(q.device, q.dtype)
    if q.device.type != "cuda" and "triton" in avail:
        avail.remove("triton")  # the interpreter is for testing, never picked silently
    return avail[0]


def window_attention(q, k, v, slopes, window, *, backend="auto", **memory):
    """Sliding-window attention over eidetic and fading memory, by the chosen backend.

    Every backend (``naive``, the reference; ``chunk``, ``flex``, ``triton``) has this
    signature without ``backend`` and returns the same result (shapes and conventions in
    :mod:`realize.nn.ops.window_attention._common`).

    Parameters
    ----------
    q, k, v : (batch, length, heads, head_dim) tensors
    slopes : (heads,) tensor
        ALiBi slopes: window key ``j`` of query ``t`` gets ``-slopes[h] (t - j)``.
    window : int
        Query ``t`` reads the keys ``t - window < j <= t``.
    backend : {"auto", "naive", "chunk", "flex", "triton"}
    **memory
        The keyword arguments below, all optional.
    chunk : int, optional
        Queries sharing one eidetic store (default ``window``).
    eidetic_index : (batch, n_chunks, M) long tensor, optional
        Positions of the eidetic tokens of each chunk, read once ``j <= t - window``.
    eidetic_valid : (batch, n_chunks, M) bool tensor, optional
    eidetic_bias : (heads,) tensor, optional
    fading_k, fading_v : (batch, length, heads, head_dim) tensors, optional
        Fading-memory keys and values; query ``t`` reads ``t - window - n_fading < j <= t - window``.
    fading_bias : (heads,) tensor, optional
    n_fading : int

    Returns
    -------
    y : (batch, length, heads, head_dim) tensor

    Raises
    ------
    realize.errors.ShapeError
        Wrong shapes, or a memory without its bias.
    realize.errors.InvalidValueError
        An unknown backend, or a device/dtype the chosen backend does not support.

    Examples
    --------
    >>> import torch
    >>> from realize.nn.ops import window_attention
    >>> g = torch.Generator().manual_seed(0)
    >>> q, k, v = torch.randn(3, 2, 10, 2, 4, generator=g).unbind(0)
    >>> slopes = torch.tensor([0.5, 0.25])
    >>> index = torch.zeros(2, 3, 1, dtype=torch.long)  # chunks of 4 may read token 0
    >>> valid = torch.ones(2, 3, 1, dtype=torch.bool)
    >>> y1, y2 = (window_attention(q, k, v, slopes, 4, eidetic_index=index,
    ...                            eidetic_valid=valid, eidetic_bias=-slopes * 4,
    ...                            backend=b) for b in ("naive", "chunk"))
    >>> torch.allclose(y1, y2, atol=1e-6)
    True
    """
    name = _resolve(backend, q)
    mod = importlib.import_module(f"realize.nn.ops.window_attention.{name}")
    return mod.window_attention(q, k, v, slopes, window, **memory)
