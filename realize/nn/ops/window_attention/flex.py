"""Window attention through FlexAttention: one block-sparse kernel for every kind of key.

The keys of all three kinds are laid end to end on one axis of length
``length + n_chunks M + length``:

``[0, L)``
    the sequence's keys, read as window keys (``t - window < j <= t``) with the ALiBi bias;
``[L, L + n_chunks M)``
    the eidetic keys gathered chunk after chunk (entry ``e`` belongs to chunk ``e // M``),
    read by the queries of that chunk once the token left their window;
``[L + n_chunks M, 2 L + n_chunks M)``
    the fading keys, read when ``t - window - n_fading < j <= t - window``.

``mask_mod`` states those rules and ``score_mod`` adds the biases;
:func:`~torch.nn.attention.flex_attention.create_block_mask` turns the mask into a block-sparse
layout, so a query block visits only its window band, its chunk's eidetic block and its fading
band. On CUDA, ``flex_attention`` is compiled once per process (``torch.compile``) into a
fused forward and backward Triton kernel; elsewhere it runs eagerly (a dense evaluation,
forward only: torch has no FlexAttention backward on the CPU).
"""

from __future__ import annotations

import warnings

import torch

from realize.errors import InvalidValueError
from realize.nn.ops.window_attention._common import check_inputs

__all__ = ["window_attention"]

_COMPILED = {}


def _eager(flex_attention):
    """flex_attention without compiling (dense scores), without its warning that says so."""

    def run(*args, **kwargs):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="flex_attention called without torch.compile")
            return flex_attention(*args, **kwargs)

    return run


def _flex():
    try:
        from torch.nn.attention.flex_attention import create_block_mask, flex_attention
    except ImportError as exc:  # pragma: no cover - torch < 2.5
        raise InvalidValueError(
            "backend: expected torch >= 2.5 (FlexAttention) for backend='flex'"
        ) from exc
    return flex_attention, create_block_mask


def _compiled(flex_attention, device):
    if device.type != "cuda":
        return _eager(flex_attention)
    if "flex" not in _COMPILED:
        _COMPILED["flex"] = torch.compile(flex_attention, dynamic=False)
    return _COMPILED["flex"]


def window_attention(q, k, v, slopes, window, **memory):
    """Window attention by FlexAttention; the signature and result of
    :func:`naive.window_attention`.

    Examples
    --------
    >>> import torch
    >>> from realize.nn.ops.window_attention import naive
    >>> q, k, v = torch.randn(3, 2, 11, 2, 4).unbind(0)
    >>> s = torch.tensor([0.5, 0.25])
    >>> torch.allclose(window_attention(q, k, v, s, 4), naive.window_attention(q, k, v, s, 4),
    ...                atol=1e-5)
    True
    """
    a = check_inputs(q, k, v, slopes, window, **memory)
    flex_attention, create_block_mask = _flex()
    if q.device.type != "cuda" and torch.is_grad_enabled():
        grads = [
            t
            for t in (q, k, v, a.eidetic_bias, a.fading_k, a.fading_v, a.fading_bias)
            if t is not None
        ]
        if any(t.requires_grad for t in grads):
            raise InvalidValueError(
                f"q: expected CUDA tensors for backend='flex' with gradients (FlexAttention has "
                f"no backward pass on the CPU), got device {q.device}"
            )
    B, L, H, hd = q.shape
    W, cs, nf, dt, dev = a.window, a.chunk, a.n_fading, q.dtype, q.device
    keys, values = [k], [v]
    E = 0
    zero = torch.zeros(H, dtype=dt, device=dev)
    eb, fb = zero, zero
    if a.has_eidetic:
        M = a.eidetic_index.shape[-1]
        E = a.n_chunks * M
        flat = a.eidetic_index.reshape(B, E)
        idx = flat[:, :, None, None].expand(-1, -1, H, hd)
        keys.append(torch.gather(k, 1, idx))
        values.append(torch.gather(v, 1, idx))
        # an invalid entry gets a position no query can read
        pos = torch.where(a.eidetic_valid.reshape(B, E), flat, L + W)
        eb = a.eidetic_bias.to(dt)
    else:
        M = 1
        pos = torch.zeros(B, 1, dtype=torch.long, device=dev)
    if a.has_fading:
        keys.append(a.fading_k)
        values.append(a.fading_v)
        fb = a.fading_bias.to(dt)
    n_fad_keys = L if a.has_fading else 0
    slopes = a.slopes.to(dt)
    F0 = L + E  # first fading key

    def mask_mod(b, h, t, j):
        win = (j < L) & (j <= t) & (t - j < W)
        e = (j - L).clamp(0, max(E - 1, 0))
        eid = (j >= L) & (j < F0) & (e // M == t // cs) & (pos[b, e] <= t - W)
        jf = j - F0
        fad = (j >= F0) & (jf <= t - W) & (jf > t - W - nf)
        return win | eid | fad

    def score_mod(score, b, h, t, j):
        bias = torch.where(j < L, -slopes[h] * (t - j), torch.where(j < F0, eb[h], fb[h]))
        return score + bias

    KV = L + E + n_fad_keys
    block = create_block_mask(mask_mod, B, None, L, KV, device=dev)
    K, V = (torch.cat(z, 1).transpose(1, 2) for z in (keys, values))
    y = _compiled(flex_attention, dev)(
        q.transpose(1, 2), K, V, score_mod=score_mod, block_mask=block
    )
    return y.transpose(1, 2)
