"""Window attention with eidetic and fading memory: the definition, as one dense softmax.

Every query ``t`` is scored against three copies of the sequence's key axis, each with its
own mask and bias (the rules of :mod:`realize.nn.attention`):

* window keys ``k_j``: readable when ``t - window < j <= t``, bias ``-slope_h (t - j)``;
* eidetic keys ``k_j``: readable when ``j`` is listed (valid) in the store of ``t``'s chunk
  and ``j <= t - window``, bias ``eidetic_bias_h + log(times listed)``;
* fading keys ``f_j``: readable when ``t - window - n_fading < j <= t - window``, bias
  ``fading_bias_h``.

One softmax over the ``(length, 3 length)`` score matrix gives the output: O(length^2)
time and memory, a reference for the tests, never a training path.
"""

from __future__ import annotations

import math

import torch

from realize.nn.ops.window_attention._common import check_inputs

__all__ = ["window_attention"]


def window_attention(q, k, v, slopes, window, **memory):
    """Sliding-window attention over eidetic and fading memory, densely: the reference.

    The arguments and result of :func:`realize.nn.ops.window_attention.window_attention`
    (without ``backend``): ``(batch, length, heads, head_dim)`` outputs.

    Examples
    --------
    >>> import torch
    >>> q, k, v = torch.randn(3, 1, 5, 2, 4).unbind(0)
    >>> y = window_attention(q, k, v, torch.tensor([0.5, 0.25]), window=1)
    >>> torch.allclose(y, v)  # a window of one: every query reads only itself
    True
    """
    a = check_inputs(q, k, v, slopes, window, **memory)
    B, L, H, hd = q.shape
    W, dt, dev = a.window, q.dtype, q.device
    t = torch.arange(L, device=dev)[:, None]
    j = torch.arange(L, device=dev)[None, :]
    neg = torch.tensor(float("-inf"), dtype=dt, device=dev)
    qh, kh, vh = (z.transpose(1, 2) for z in (q, k, v))  # (B, H, L, hd)
    s = qh @ kh.transpose(-1, -2) / math.sqrt(hd)  # (B, H, L, L)
    in_window = (j <= t) & (t - j < W)
    scores = [torch.where(in_window, s - slopes.to(dt)[:, None, None] * (t - j).to(dt), neg)]
    values = [vh]
    if a.has_eidetic:
        listed = torch.zeros(B, a.n_chunks, L, dtype=dt, device=dev)
        listed.scatter_add_(2, a.eidetic_index, a.eidetic_valid.to(dt))
        times = listed[:, torch.arange(L, device=dev) // a.chunk]  # (B, L_query, L_key)
        seen = (times > 0) & (j <= t - W)
        bias = a.eidetic_bias.to(dt)[:, None, None] + times.clamp_min(1).log()[:, None]
        scores.append(torch.where(seen[:, None], s + bias, neg))
        values.append(vh)
    if a.has_fading:
        kf, vf = a.fading_k.transpose(1, 2), a.fading_v.transpose(1, 2)
        sf = qh @ kf.transpose(-1, -2) / math.sqrt(hd)
        seen = (j <= t - W) & (j > t - W - a.n_fading)
        scores.append(torch.where(seen, sf + a.fading_bias.to(dt)[:, None, None], neg))
        values.append(vf)
    p = torch.softmax(torch.cat(scores, -1), -1)
    return (p @ torch.cat(values, -2)).transpose(1, 2)
