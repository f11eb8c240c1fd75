"""The eidetic memory's bookkeeping: candidates of a chunk and the bounded store.

Both are pure functions of tensors (no parameters), shared by the full-sequence forward
pass and the one-token decoding step of :class:`realize.nn.bmojo.BMOJOBlock`, so the two
select exactly the same tokens.
"""

from __future__ import annotations

import torch

__all__ = ["select_candidates", "update_store"]


def select_candidates(score: torch.Tensor, offset: int, selection: str, k: int, tau: float):
    """Candidates of one chunk for the eidetic store.

    Parameters
    ----------
    score : (batch, chunk) tensor
        Innovation scores of the chunk's tokens.
    offset : int
        Position of the chunk's first token.
    selection : {"topk", "threshold"}
    k : int
        Candidates per chunk for ``"topk"``.
    tau : float
        Threshold for ``"threshold"``.

    Returns
    -------
    index : (batch, n) long tensor, positions in increasing order
    cand_score : (batch, n) tensor
    valid : (batch, n) bool tensor

    Examples
    --------
    >>> import torch
    >>> score = torch.tensor([[0.1, 3.0, 0.2, 2.0]])  # a chunk starting at position 8
    >>> index, cand_score, valid = select_candidates(score, 8, "topk", k=2, tau=0.0)
    >>> index.tolist(), cand_score.tolist()
    ([[9, 11]], [[3.0, 2.0]])
    >>> index, cand_score, valid = select_candidates(score, 8, "threshold", k=2, tau=1.0)
    >>> index.tolist(), valid.tolist()
    ([[8, 9, 10, 11]], [[False, True, False, True]])
    """
    bsz, cs = score.shape
    pos = torch.arange(offset, offset + cs, device=score.device).expand(bsz, cs)
    if selection == "topk":
        # a stable sort keeps equal scores in position order: ties go to the earlier token
        order = torch.sort(score, dim=1, descending=True, stable=True).indices[:, :k]
        order = torch.sort(order, dim=1).values
        return (
            pos.gather(1, order),
            score.gather(1, order),
            torch.ones_like(order, dtype=torch.bool),
        )
    return pos, score, score > tau


def update_store(store: dict, cand: dict, n_eidetic: int, eviction: str) -> dict:
    """Merge candidates into the eidetic store and evict down to ``n_eidetic`` tokens.

    ``store`` and ``cand`` hold ``index`` (batch, n) long, ``score`` (batch, n), ``valid``
    (batch, n) bool and, optionally, ``k``/``v`` (batch, n, heads, head_dim) riding along.
    Valid store entries come first, in increasing position; all candidates are later than
    every stored token, so the concatenation lists valid tokens in position order and a stable
    sort breaks ties toward the earlier token.

    Examples
    --------
    >>> import torch
    >>> store = {"index": torch.tensor([[1, 5]]), "score": torch.tensor([[4.0, 1.0]]),
    ...          "valid": torch.tensor([[True, True]])}
    >>> cand = {"index": torch.tensor([[9, 11]]), "score": torch.tensor([[3.0, 2.0]]),
    ...         "valid": torch.tensor([[True, True]])}
    >>> update_store(store, cand, 3, "score")["index"].tolist()  # the most surprising three
    [[1, 9, 11]]
    >>> update_store(store, cand, 3, "fifo")["index"].tolist()  # the latest three
    [[5, 9, 11]]
    """
    cat = {key: torch.cat([store[key], cand[key]], dim=1) for key in store}
    neg = torch.tensor(float("-inf"), dtype=cat["score"].dtype, device=cat["score"].device)
    if eviction == "fifo":
        key = torch.where(cat["valid"], cat["index"].to(cat["score"].dtype), neg)
    else:
        key = torch.where(cat["valid"], cat["score"], neg)
    keep = torch.sort(key, dim=1, descending=True, stable=True).indices[:, :n_eidetic]
    # canonical order: valid tokens by increasing position, then the empty slots
    big = torch.iinfo(torch.long).max
    valid = cat["valid"].gather(1, keep)
    pos_key = torch.where(valid, cat["index"].gather(1, keep), big)
    keep = keep.gather(1, torch.sort(pos_key, dim=1, stable=True).indices)
    out = {}
    for name, val in cat.items():
        idx = keep
        if val.ndim > 2:
            idx = keep.reshape(*keep.shape, *([1] * (val.ndim - 2))).expand(-1, -1, *val.shape[2:])
        out[name] = val.gather(1, idx)
    return out
