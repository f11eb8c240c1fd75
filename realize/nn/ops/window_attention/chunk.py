"""Window attention in chunks of queries, one fused SDPA call for all of them.

The queries are cut into chunks of ``chunk`` positions. Chunk ``c`` reads

* ``window + chunk - 1`` window keys, positions ``c*chunk - window + 1 ..
  (c+1)*chunk - 1`` (a strided view of the padded keys, no copy);
* its ``M`` eidetic keys, gathered from the sequence's keys;
* ``n_fading + chunk - 1`` fading keys, positions ``c*chunk - window - n_fading + 1 ..``;

and a single :func:`torch.nn.functional.scaled_dot_product_attention` call over the batch of
chunks applies an additive mask that holds the ALiBi and memory biases and ``-inf`` where a
query may not read a key. Time and memory are linear in the length; this is the path the CPU
trains with, and autograd differentiates it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from realize.nn.ops.window_attention._common import check_inputs

__all__ = ["window_attention"]


def _chunk_keys(z, n_keys: int, chunk: int, n_chunks: int):
    """Rows ``c*chunk + i`` (i < n_keys) of z (b, L', H, hd), for every chunk c:
    (b, n_chunks, H, n_keys, hd)."""
    return z.unfold(1, n_keys, chunk)[:, :n_chunks].permute(0, 1, 2, 4, 3)


def _key_positions(n_chunks: int, chunk: int, before: int, n_keys: int, device):
    """The positions ``c*chunk - before + i`` (i < n_keys) of those keys, (nc, 1, n_keys)."""
    first = torch.arange(n_chunks, device=device)[:, None, None] * chunk - before
    return first + torch.arange(n_keys, device=device)


# Each part of the keys is (keys, values, bias) for every chunk: keys and values
# (batch, n_chunks, H, n_keys, hd) and an additive mask broadcastable to
# (batch, n_chunks, H, chunk, n_keys), -inf where a query may not read a key.
def _window_part(a, k, v, t):
    W, cs, nc, dt = a.window, a.chunk, a.n_chunks, k.dtype
    nw = W + cs - 1
    j = _key_positions(nc, cs, W - 1, nw, k.device)
    ok = (t - j < W) & (j <= t) & (j >= 0)  # (nc, cs, nw)
    slopes = -a.slopes.to(dt)[:, None, None]
    bias = torch.where(ok[:, None], slopes * (t - j).to(dt)[:, None], _neg(k))
    kw, vw = (_chunk_keys(F.pad(z, (0, 0, 0, 0, W - 1, 0)), nw, cs, nc) for z in (k, v))
    return kw, vw, bias


def _eidetic_part(a, k, v, t):
    B, nc, M = a.eidetic_index.shape
    H, hd = k.shape[2:]
    idx = a.eidetic_index.reshape(B, nc * M)[:, :, None, None].expand(-1, -1, H, hd)
    ke = torch.gather(k, 1, idx).unflatten(1, (nc, M)).permute(0, 1, 3, 2, 4)
    ve = torch.gather(v, 1, idx).unflatten(1, (nc, M)).permute(0, 1, 3, 2, 4)
    seen = a.eidetic_valid[:, :, None, :] & (a.eidetic_index[:, :, None, :] <= t[None] - a.window)
    bias = torch.where(seen[:, :, None], a.eidetic_bias.to(k.dtype)[:, None, None], _neg(k))
    return ke, ve, bias


def _fading_part(a, t, Lp):
    W, nf, cs, nc = a.window, a.n_fading, a.chunk, a.n_chunks
    before, nk = W + nf - 1, nf + cs - 1
    kf, vf = (F.pad(z, (0, 0, 0, 0, before, Lp - z.shape[1])) for z in (a.fading_k, a.fading_v))
    j = _key_positions(nc, cs, before, nk, kf.device)
    ok = (j <= t - W) & (j > t - W - nf) & (j >= 0)
    bias = torch.where(ok[:, None], a.fading_bias.to(kf.dtype)[:, None, None], _neg(kf))
    return _chunk_keys(kf, nk, cs, nc), _chunk_keys(vf, nk, cs, nc), bias


def _neg(x):
    return torch.tensor(float("-inf"), dtype=x.dtype, device=x.device)


def window_attention(q, k, v, slopes, window, **memory):
    """Chunked window attention; the signature and result of :func:`naive.window_attention`.

    Examples
    --------
    >>> import torch
    >>> from realize.nn.ops.window_attention import naive
    >>> q, k, v = torch.randn(3, 2, 11, 2, 4, dtype=torch.float64).unbind(0)
    >>> s = torch.tensor([0.5, 0.25], dtype=torch.float64)
    >>> torch.allclose(window_attention(q, k, v, s, 4, chunk=3),
    ...                naive.window_attention(q, k, v, s, 4))
    True
    """
    a = check_inputs(q, k, v, slopes, window, **memory)
    B, L, H, hd = q.shape
    cs, nc = a.chunk, a.n_chunks
    Lp = nc * cs
    q, k, v = (F.pad(z, (0, 0, 0, 0, 0, Lp - L)) for z in (q, k, v))
    # the query positions of chunk c, (nc, cs, 1)
    t = (torch.arange(nc, device=q.device)[:, None] * cs + torch.arange(cs, device=q.device))[
        ..., None
    ]
    parts = [_window_part(a, k, v, t)]
    if a.has_eidetic:
        parts.append(_eidetic_part(a, k, v, t))
    if a.has_fading:
        parts.append(_fading_part(a, t, Lp))
    K = torch.cat([z.expand(B, nc, H, -1, hd) for z, _, _ in parts], dim=3)
    V = torch.cat([z.expand(B, nc, H, -1, hd) for _, z, _ in parts], dim=3)
    mask = torch.cat([b.expand(B, nc, H, cs, -1) for _, _, b in parts], dim=-1)
    Q = q.unflatten(1, (nc, cs)).permute(0, 1, 3, 2, 4)  # (B, nc, H, cs, hd)
    y = F.scaled_dot_product_attention(
        Q.flatten(0, 1), K.flatten(0, 1), V.flatten(0, 1), attn_mask=mask.flatten(0, 1)
    )
    return y.unflatten(0, (B, nc)).permute(0, 1, 3, 2, 4).reshape(B, Lp, H, hd)[:, :L]
