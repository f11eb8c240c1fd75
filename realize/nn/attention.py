"""Sliding-window attention with extra memory tokens.

A query at position ``t`` reads three sets of keys and values:

* the *window*: the tokens ``t - window < j <= t`` (the nilpotent shift block of a
  Transformer's realization: a token leaves the state exactly ``window`` steps later);
* *eidetic* memory tokens: keys and values of past tokens kept verbatim, given as indices
  into the sequence, one set per chunk of queries (see :mod:`realize.nn.bmojo`); a memory
  token is read only once it has left the query's window (``j <= t - window``), so nothing
  is counted twice;
* *fading* memory tokens: a second sequence (a state-space model's outputs); the query at
  ``t`` reads its entries ``t - window - n_fading < j <= t - window``, which summarise the
  span before the window.

Positions enter through ALiBi biases (Press et al., 2022) on the window keys,
``-slope_h (t - j)``, which depend only on the distance and so carry over to longer
sequences; each kind of memory token gets one learned bias per head instead.

The full-sequence forward projects the queries, keys and values and hands them to
:func:`realize.nn.ops.window_attention` (a chunked SDPA call on the CPU, FlexAttention or a
Triton kernel on the GPU): memory and time are linear in the length. :meth:`SlidingWindowAttention.step`
decodes one token from a cache of the last ``window`` keys and values.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from realize._checks import as_choice, as_int
from realize.errors import InvalidValueError, ShapeError
from realize.nn.ops.window_attention import BACKENDS, window_attention

__all__ = ["SlidingWindowAttention", "alibi_slopes", "causal_depthwise_conv"]

_NEG = torch.tensor(float("-inf"))  # the mask of a key a query may not read


def alibi_slopes(n_heads: int) -> torch.Tensor:
    """ALiBi slopes ``2^(-8 h / n_heads)``, h = 1..n_heads (Press et al., 2022, Section 3).

    Examples
    --------
    >>> alibi_slopes(4).tolist()
    [0.25, 0.0625, 0.015625, 0.00390625]
    """
    return torch.tensor([2.0 ** (-8.0 * (h + 1) / n_heads) for h in range(n_heads)])


def causal_depthwise_conv(x: torch.Tensor, weight: torch.Tensor, bias=None) -> torch.Tensor:
    """Causal depthwise convolution along time.

    Parameters
    ----------
    x : (batch, length, d) tensor
    weight : (d, k) tensor
        ``y[t] = sum_i weight[:, i] * x[t - k + 1 + i]`` (zero before the start).
    bias : (d,) tensor, optional

    Returns
    -------
    y : (batch, length, d) tensor

    Examples
    --------
    >>> import torch
    >>> x = torch.arange(1.0, 6.0).reshape(1, 5, 1)
    >>> causal_depthwise_conv(x, torch.tensor([[1.0, 1.0]])).flatten().tolist()  # x[t-1] + x[t]
    [1.0, 3.0, 5.0, 7.0, 9.0]
    """
    k = weight.shape[1]
    xp = F.pad(x.transpose(1, 2), (k - 1, 0))
    return F.conv1d(xp, weight[:, None, :], bias, groups=x.shape[-1]).transpose(1, 2)


class SlidingWindowAttention(nn.Module):
    """Multi-head sliding-window attention with optional eidetic and fading memory tokens.

    Parameters
    ----------
    d_model : int
        Width of the token representation.
    n_heads : int
        Number of heads; must divide ``d_model``.
    window : int
        Each query reads the ``window`` most recent tokens, itself included.
    chunk : int, optional
        Queries per attention call in the full-sequence forward (default ``window``).
        It changes the cost, never the result.
    n_fading : int
        Fading-memory tokens read by each query (positions ``t - window - n_fading + 1``
        to ``t - window`` of the fading sequence).
    conv_kernel : int
        Width of a causal depthwise convolution applied before the projections (a short
        "token shift" that lets one layer match a key with the token that follows it);
        ``1`` or less disables it.
    eidetic : bool
        Whether eidetic memory tokens will be passed (creates their bias).
    bias : bool
        Biases in the projections.
    backend : {"auto", "naive", "chunk", "flex", "triton"}
        Kernel of the full-sequence forward (:func:`realize.nn.ops.window_attention`); the
        attribute ``backend`` may be changed later.

    Notes
    -----
    With ``u = conv(x)``, ``q, k, v = W_q u, W_k u, W_v u`` split into heads and, for the
    query at ``t``,

    .. math::

        y_t = W_o \\, \\mathrm{softmax}_j\\!\\left(\\frac{q_t^\\top k_j}{\\sqrt{d_h}} + b_{tj}
        \\right) v_j,

    with ``b_tj = -slope_h (t - j)`` on the window and a learned per-head constant on the
    eidetic and the fading tokens. Fading tokens ``f_j`` are projected by the same
    ``W_k, W_v``.

    Examples
    --------
    >>> import torch
    >>> from realize.nn import SlidingWindowAttention
    >>> attn = SlidingWindowAttention(16, 2, window=4)
    >>> attn(torch.randn(3, 10, 16)).shape
    torch.Size([3, 10, 16])
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        window: int,
        *,
        chunk: int | None = None,
        n_fading: int = 1,
        conv_kernel: int = 4,
        eidetic: bool = True,
        bias: bool = False,
        backend: str = "auto",
    ):
        super().__init__()
        d_model = as_int(d_model, "d_model", low=1)
        n_heads = as_int(n_heads, "n_heads", low=1)
        window = as_int(window, "window", low=1)
        n_fading = as_int(n_fading, "n_fading", low=0)
        if d_model % n_heads:
            raise InvalidValueError(
                f"n_heads: expected a divisor of d_model={d_model}, got {n_heads}"
            )
        self.d_model, self.n_heads, self.window = d_model, n_heads, window
        self.head_dim = d_model // n_heads
        self.chunk = as_int(window if chunk is None else chunk, "chunk", low=1)
        self.n_fading = n_fading
        self.backend = as_choice(backend, "backend", ("auto", *BACKENDS))
        self.conv_kernel = max(int(conv_kernel), 1)
        if self.conv_kernel > 1:
            # start as a "token shift": the current token plus half the previous one (as in
            # RWKV's time mixing), so that a single layer can already match a key with the
            # token that follows it (an induction head, Olsson et al., 2022)
            w = torch.zeros(d_model, self.conv_kernel)
            w[:, -1] = 1.0
            w[:, -2] = 0.5
            self.conv_weight = nn.Parameter(w + 0.02 * torch.randn(d_model, self.conv_kernel))
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=bias)
        self.out = nn.Linear(d_model, d_model, bias=bias)
        slopes = alibi_slopes(n_heads)
        self.register_buffer("slopes", slopes, persistent=False)
        # memory tokens start as if they sat just outside the window
        self.eidetic_bias = nn.Parameter(-slopes * window) if eidetic else None
        self.fading_bias = nn.Parameter(-slopes * window) if n_fading else None

    # ------------------------------------------------------------------ helpers
    def _conv(self, x):
        if self.conv_kernel <= 1:
            return x
        return causal_depthwise_conv(x, self.conv_weight)

    def _heads(self, x):
        return x.unflatten(-1, (self.n_heads, self.head_dim))

    def memory_kv(self, f: torch.Tensor):
        """Keys and values of fading-memory tokens.

        Parameters
        ----------
        f : (..., d_model) tensor

        Returns
        -------
        k, v : (..., n_heads, head_dim) tensors
        """
        w = self.qkv.weight[self.d_model :]
        b = None if self.qkv.bias is None else self.qkv.bias[self.d_model :]
        k, v = F.linear(f, w, b).split(self.d_model, dim=-1)
        return self._heads(k), self._heads(v)

    # ------------------------------------------------------------------ forward
    def forward(
        self,
        x: torch.Tensor,
        eidetic_index: torch.Tensor | None = None,
        eidetic_valid: torch.Tensor | None = None,
        fading: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Attend over the window and the memory tokens, for a whole sequence.

        Parameters
        ----------
        x : (batch, length, d_model) tensor
        eidetic_index : (batch, n_chunks, M) long tensor, optional
            Positions of the eidetic tokens that queries of chunk ``c`` (positions
            ``c*chunk`` to ``(c+1)*chunk - 1``) may read; ``n_chunks = ceil(length/chunk)``.
            Every position must precede the chunk.
        eidetic_valid : (batch, n_chunks, M) bool tensor, optional
            Which entries of ``eidetic_index`` hold a token.
        fading : (batch, length, d_model) tensor, optional
            Fading-memory sequence.

        Returns
        -------
        y : (batch, length, d_model) tensor

        Raises
        ------
        ShapeError
            Wrong shapes, or a window larger than the sequence.
        """
        if x.ndim != 3 or x.shape[-1] != self.d_model:
            raise ShapeError(
                f"x: expected a (batch, length, {self.d_model}) tensor, got {tuple(x.shape)}"
            )
        bsz, L, d = x.shape
        if self.window > L:
            raise ShapeError(
                f"x: expected a sequence at least as long as the window ({self.window}), got length {L}"
            )
        q, k, v = (self._heads(z) for z in self.qkv(self._conv(x)).split(d, dim=-1))
        memory = {}
        if (
            eidetic_index is not None
            and eidetic_index.shape[-1] > 0
            and self.eidetic_bias is not None
        ):
            nc = -(-L // self.chunk)
            if (
                eidetic_index.shape[:2] != (bsz, nc)
                or eidetic_valid is None
                or eidetic_valid.shape != eidetic_index.shape
            ):
                raise ShapeError(
                    f"eidetic_index: expected shape ({bsz}, {nc}, M) with a matching "
                    f"eidetic_valid, got {tuple(eidetic_index.shape)}"
                )
            memory.update(
                eidetic_index=eidetic_index,
                eidetic_valid=eidetic_valid,
                eidetic_bias=self.eidetic_bias,
            )
        if fading is not None and self.n_fading > 0:
            if fading.shape != x.shape:
                raise ShapeError(
                    f"fading: expected shape {tuple(x.shape)}, got {tuple(fading.shape)}"
                )
            kf, vf = self.memory_kv(fading)
            memory.update(
                fading_k=kf, fading_v=vf, fading_bias=self.fading_bias, n_fading=self.n_fading
            )
        y = window_attention(
            q, k, v, self.slopes, self.window, chunk=self.chunk, backend=self.backend, **memory
        )
        return self.out(y.reshape(bsz, L, d))

    # ------------------------------------------------------------------ decoding
    def init_cache(self, batch_size: int, device=None, dtype=None) -> dict:
        """An empty decoding cache: the last ``conv_kernel - 1`` inputs and up to
        ``window`` keys and values."""
        dtype = dtype or self.qkv.weight.dtype
        device = device or self.qkv.weight.device
        z = torch.zeros(batch_size, 0, self.n_heads, self.head_dim, device=device, dtype=dtype)
        conv = torch.zeros(
            batch_size, self.conv_kernel - 1, self.d_model, device=device, dtype=dtype
        )
        return {"conv": conv, "k": z, "v": z.clone()}

    def step(self, x_t: torch.Tensor, cache: dict, eidetic=None, fading=None) -> torch.Tensor:
        """Decode one position.

        Parameters
        ----------
        x_t : (batch, d_model) tensor
        cache : dict
            From :meth:`init_cache`, updated in place.
        eidetic : tuple (k, v, visible), optional
            Eidetic keys and values, each (batch, M, n_heads, head_dim), and a (batch, M)
            bool mask of the ones this query reads.
        fading : tuple (k, v, visible), optional
            Fading-memory keys and values and their mask, same layout.

        Returns
        -------
        y_t : (batch, d_model) tensor
        """
        if self.conv_kernel > 1:
            hist = torch.cat([cache["conv"], x_t[:, None]], dim=1)  # (b, k, d)
            cache["conv"] = hist[:, 1:]
            u = (hist * self.conv_weight.t()[None]).sum(1)
        else:
            u = x_t
        q, k, v = self.qkv(u).split(self.d_model, dim=-1)
        q, k, v = self._heads(q), self._heads(k), self._heads(v)
        cache["k"] = torch.cat([cache["k"], k[:, None]], dim=1)[:, -self.window :]
        cache["v"] = torch.cat([cache["v"], v[:, None]], dim=1)[:, -self.window :]
        n = cache["k"].shape[1]
        dt = x_t.dtype
        dist = torch.arange(n - 1, -1, -1, device=x_t.device).to(dt)
        keys, vals = [cache["k"]], [cache["v"]]
        biases = [(-self.slopes.to(dt)[:, None] * dist).expand(x_t.shape[0], -1, -1)]
        neg = _NEG.to(x_t.device, dt)
        for mem, b in ((eidetic, self.eidetic_bias), (fading, self.fading_bias)):
            if mem is None or mem[0].shape[1] == 0:
                continue
            km, vm, vis = mem
            keys.append(km)
            vals.append(vm)
            biases.append(torch.where(vis[:, None, :], b.to(dt)[None, :, None], neg))
        K = torch.cat(keys, dim=1).transpose(1, 2)  # (b, H, n, hd)
        V = torch.cat(vals, dim=1).transpose(1, 2)
        mask = torch.cat(biases, dim=-1)[:, :, None, :]  # (b, H, 1, n)
        y = F.scaled_dot_product_attention(q[:, :, None], K, V, attn_mask=mask)
        return self.out(y.reshape(x_t.shape[0], self.d_model))

    def memory_floats(self) -> int:
        """Floats stored per sequence when decoding: window keys and values and the
        convolution's history."""
        return 2 * self.window * self.d_model + (self.conv_kernel - 1) * self.d_model


def reference_attention(
    attn: SlidingWindowAttention, x, eidetic_index=None, eidetic_valid=None, fading=None
):
    """Dense O(length^2) evaluation of :class:`SlidingWindowAttention`, for tests.

    Builds the full (length, 2 length) score matrix with an explicit mask, from the
    definition, position by position.
    """
    bsz, L, d = x.shape
    W, cs, nf, H, hd = attn.window, attn.chunk, attn.n_fading, attn.n_heads, attn.head_dim
    q, k, v = attn.qkv(attn._conv(x)).split(d, dim=-1)
    q, k, v = attn._heads(q), attn._heads(k), attn._heads(v)
    if fading is not None:
        kf, vf = attn.memory_kv(fading)
    out = torch.empty(bsz, L, H, hd, dtype=x.dtype)
    for b in range(bsz):
        for t in range(L):
            ks, vs, bs = [], [], []
            for j in range(max(0, t - W + 1), t + 1):
                ks.append(k[b, j])
                vs.append(v[b, j])
                bs.append(-attn.slopes.to(x.dtype) * (t - j))
            if eidetic_index is not None:
                c = t // cs
                for m in range(eidetic_index.shape[-1]):
                    j = int(eidetic_index[b, c, m])
                    if bool(eidetic_valid[b, c, m]) and j <= t - W:
                        ks.append(k[b, j])
                        vs.append(v[b, j])
                        bs.append(attn.eidetic_bias.to(x.dtype))
            if fading is not None and nf > 0:
                for j in range(max(0, t - W - nf + 1), t - W + 1):
                    ks.append(kf[b, j])
                    vs.append(vf[b, j])
                    bs.append(attn.fading_bias.to(x.dtype))
            K, V, B = torch.stack(ks, 1), torch.stack(vs, 1), torch.stack(bs, 1)  # (H, n, hd)
            s = (q[b, t][:, None, :] * K).sum(-1) / math.sqrt(hd) + B
            out[b, t] = (torch.softmax(s, -1)[..., None] * V).sum(1)
    return attn.out(out.reshape(bsz, L, d))
