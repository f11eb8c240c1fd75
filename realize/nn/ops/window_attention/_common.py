"""Argument checks shared by every window-attention backend.

Conventions (stated once, used by ``naive``, ``chunk``, ``flex`` and ``triton``):

============= ========================== ==============================================
name          shape                      meaning
============= ========================== ==============================================
q, k, v       (batch, length, H, hd)     queries, keys, values of the sequence
slopes        (H,)                       ALiBi slopes: window key ``j`` of query ``t``
                                         gets the bias ``-slopes[h] (t - j)``
window        int                        query ``t`` reads ``t - window < j <= t``
chunk         int                        queries ``c*chunk .. (c+1)*chunk - 1`` form
                                         chunk ``c``, ``n_chunks = ceil(length/chunk)``
eidetic_index (batch, n_chunks, M) long  positions of the eidetic tokens chunk ``c``
                                         reads (keys ``k[j]``, values ``v[j]``), each
                                         read once it left the window (``j <= t - window``)
eidetic_valid (batch, n_chunks, M) bool  which entries hold a token
eidetic_bias  (H,)                       the learned score bias of an eidetic key
fading_k, _v  (batch, length, H, hd)     fading-memory keys and values; query ``t``
                                         reads ``t - window - n_fading < j <= t - window``
fading_bias   (H,)                       the learned score bias of a fading key
============= ========================== ==============================================

The score of query ``t`` and key ``j`` is ``q_t . k_j / sqrt(hd)`` plus the key's bias; the
output is the softmax-weighted sum of the values over every key the query reads (the window
always holds ``t`` itself, so no row is empty). An eidetic position listed twice for one
chunk is read twice (its weight doubles), as a gathered key set would read it.
"""

from __future__ import annotations

import torch

from realize.errors import InvalidValueError, ShapeError
from realize.nn.ops.selective_scan._common import check_tensor

__all__ = ["WindowAttentionArgs", "check_inputs"]


class WindowAttentionArgs:
    """The checked arguments of one call; ``has_eidetic``/``has_fading`` say which
    memories take part."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


def check_inputs(
    q,
    k,
    v,
    slopes,
    window,
    *,
    chunk=None,
    eidetic_index=None,
    eidetic_valid=None,
    eidetic_bias=None,
    fading_k=None,
    fading_v=None,
    fading_bias=None,
    n_fading=0,
) -> WindowAttentionArgs:
    """Validate a window-attention call (see the module docstring for the shapes).

    Raises
    ------
    realize.errors.ShapeError
        A tensor of the wrong shape, or a memory given without its bias.
    realize.errors.InvalidValueError
        A non-positive window or chunk, a negative ``n_fading``, or an unsupported dtype.
    """
    if not isinstance(q, torch.Tensor) or q.ndim != 4:
        raise ShapeError(
            f"q: expected a (batch, length, heads, head_dim) tensor, got {getattr(q, 'shape', q)!r}"
        )
    B, L, H, hd = q.shape
    check_tensor(q, "q", (B, L, H, hd))
    check_tensor(k, "k", (B, L, H, hd))
    check_tensor(v, "v", (B, L, H, hd))
    check_tensor(slopes, "slopes", (H,))
    window, n_fading = int(window), int(n_fading)
    chunk = window if chunk is None else int(chunk)
    if window < 1 or chunk < 1:
        raise InvalidValueError(f"window, chunk: expected integers >= 1, got {window}, {chunk}")
    if n_fading < 0:
        raise InvalidValueError(f"n_fading: expected an integer >= 0, got {n_fading}")
    nc = -(-L // chunk)
    has_eidetic = eidetic_index is not None and eidetic_index.shape[-1] > 0
    if has_eidetic:
        M = eidetic_index.shape[-1]
        check_tensor(eidetic_index, "eidetic_index", (B, nc, M), (torch.int64,))
        check_tensor(eidetic_valid, "eidetic_valid", (B, nc, M), (torch.bool,))
        if eidetic_bias is None:
            raise ShapeError("eidetic_bias: expected a (heads,) tensor with eidetic_index")
        check_tensor(eidetic_bias, "eidetic_bias", (H,))
    has_fading = fading_k is not None and n_fading > 0
    if has_fading:
        check_tensor(fading_k, "fading_k", (B, L, H, hd))
        check_tensor(fading_v, "fading_v", (B, L, H, hd))
        if fading_bias is None:
            raise ShapeError("fading_bias: expected a (heads,) tensor with fading_k")
        check_tensor(fading_bias, "fading_bias", (H,))
    return WindowAttentionArgs(
        q=q,
        k=k,
        v=v,
        slopes=slopes,
        window=window,
        chunk=chunk,
        n_chunks=nc,
        eidetic_index=eidetic_index if has_eidetic else None,
        eidetic_valid=eidetic_valid if has_eidetic else None,
        eidetic_bias=eidetic_bias if has_eidetic else None,
        fading_k=fading_k if has_fading else None,
        fading_v=fading_v if has_fading else None,
        fading_bias=fading_bias if has_fading else None,
        n_fading=n_fading if has_fading else 0,
        has_eidetic=has_eidetic,
        has_fading=has_fading,
    )
