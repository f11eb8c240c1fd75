"""The eidetic store seen by every chunk, in one batched sort instead of a loop over chunks.

B'MOJO's store (:mod:`realize.nn.bmojo.selection`) is updated after each complete chunk:
the chunk's candidates join the store and the ``M`` best by the eviction key stay
(the largest innovation scores for ``"score"``, the latest positions for ``"fifo"``). With
ties broken toward the earlier position the key is a strict total order, so keeping the best
``M`` after every merge keeps the best ``M`` of everything merged so far:
``top_M(top_M(A) | B) = top_M(A | B)``. The store that chunk ``c`` reads is therefore the
best ``M`` of the candidates of the chunks before it, and every chunk's store comes from one
masked ``(batch, n_chunks, n_candidates)`` sort: no sequential loop, a few kernel launches
instead of several per chunk on a GPU.
"""

from __future__ import annotations

import torch

__all__ = ["eidetic_schedule"]


def eidetic_schedule(score, chunk: int, n_eidetic: int, selection: str, select_k: int, tau,
                     eviction: str):  # fmt: skip
    """Eidetic store read by each chunk of a sequence.

    Parameters
    ----------
    score : (batch, length) tensor
        Innovation scores of the tokens.
    chunk : int
        Store update period; a chunk's tokens become candidates once the chunk is complete
        (the last chunk never does).
    n_eidetic : int
        Store size ``M``.
    selection : {"topk", "threshold"}
        Candidates of a chunk: its ``select_k`` largest scores, or the scores above ``tau``.
    select_k : int
    tau : float or 0-d tensor
    eviction : {"score", "fifo"}
        Which ``M`` tokens stay: the largest scores or the latest positions.

    Returns
    -------
    index : (batch, n_chunks, M) long tensor
        Positions of the stored tokens, valid ones first in increasing position
        (``n_chunks = ceil(length / chunk)``); ``0`` in empty slots.
    valid : (batch, n_chunks, M) bool tensor

    Examples
    --------
    >>> import torch
    >>> score = torch.tensor([[0.1, 3.0, 0.2, 2.0, 5.0, 0.0, 0.0, 0.0]])
    >>> index, valid = eidetic_schedule(score, 2, 2, "topk", 1, 0.0, "score")
    >>> index.tolist()  # chunk 1 reads token 1, chunk 2 tokens 1 and 3, chunk 3 tokens 1 and 4
    [[[0, 0], [1, 0], [1, 3], [1, 4]]]
    >>> valid.tolist()[0][:2]
    [[False, False], [True, False]]
    """
    B, L = score.shape
    cs, M, dev = int(chunk), int(n_eidetic), score.device
    nc = -(-L // cs)
    n_src = min(L // cs, nc - 1)  # chunks that hand candidates to later ones
    s = score[:, : n_src * cs].reshape(B, n_src, cs)
    pos = torch.arange(n_src * cs, device=dev).reshape(n_src, cs).expand(B, -1, -1)
    if selection == "topk":
        # a stable sort keeps equal scores in position order: ties go to the earlier token
        order = torch.sort(s, dim=2, descending=True, stable=True).indices[..., :select_k]
        order = torch.sort(order, dim=2).values
        pos, s = pos.gather(2, order), s.gather(2, order)
        ok = torch.ones_like(s, dtype=torch.bool)
    else:
        ok = s > tau
    src = torch.arange(n_src, device=dev)[:, None].expand_as(pos[0]).reshape(-1)  # its chunk
    pos, s, ok = pos.reshape(B, -1), s.reshape(B, -1), ok.reshape(B, -1)  # position order
    key = s if eviction == "score" else pos.to(s.dtype)
    # candidate n is in the store of chunk c when it is valid and comes from an earlier chunk
    seen = ok[:, None, :] & (src[None, None, :] < torch.arange(nc, device=dev)[None, :, None])
    key = torch.where(seen, key[:, None, :], float("-inf"))
    if key.shape[-1] < M:  # fewer candidates than slots: pad with never-valid ones
        key = torch.nn.functional.pad(key, (0, M - key.shape[-1]), value=float("-inf"))
        seen = torch.nn.functional.pad(seen, (0, M - seen.shape[-1]), value=False)
        pos = torch.nn.functional.pad(pos, (0, M - pos.shape[-1]))
    keep = torch.sort(key, dim=2, descending=True, stable=True).indices[..., :M]
    valid = seen.gather(2, keep)
    index = torch.where(valid, pos[:, None, :].expand(-1, nc, -1).gather(2, keep), 0)
    # canonical order: valid tokens by increasing position, then the empty slots
    big = torch.iinfo(torch.long).max
    order = torch.sort(torch.where(valid, index, big), dim=2, stable=True).indices
    return index.gather(2, order), valid.gather(2, order)
