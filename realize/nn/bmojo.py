"""B'MOJO: sliding-window attention over eidetic and fading memory (Zancato et al., 2024).

A B'MOJO block is a token mixer whose attention reads, at each position ``t``,

1. the last ``window`` tokens (eidetic, short-term: the nilpotent shift block of the
   realization);
2. the *eidetic memory*: up to ``n_eidetic`` past tokens kept verbatim (their keys and
   values), picked by an innovation test;
3. the *fading memory*: the outputs of a selective state-space model (Mamba's S6 recurrence,
   a bilinear SSM with diagonal dynamics) at positions ``t - window - n_fading + 1`` to
   ``t - window``, which summarise the whole span before the window.

Innovation test
---------------
The SSM is read as a one-step predictor of the block's input representation ``x_t``: with
``s_{t-1}`` the SSM output after token ``t - 1`` (``s_{-1} = 0``),

    x_hat_t = P s_{t-1} + p,      e_t = x_t - x_hat_t        (the innovation),
    score_t = e_t' Lambda^{-1} e_t,

``Lambda = diag(exp(log_lambda))`` the innovation covariance. Under the model's Gaussian
hypothesis ``score_t`` is chi-square with ``d_model`` degrees of freedom, so the test flags a
token that the fading memory failed to predict (Mehra and Peschon, 1971; Bar-Shalom, Li and
Kirubarajan, 2001, Section 5.4: the normalized innovation squared). ``P, p`` and ``Lambda``
are *learned* by maximum likelihood: the block adds the Gaussian negative log-likelihood of
its innovations, ``0.5 (e' Lambda^-1 e + log det Lambda) / d_model`` averaged over positions,
to the training loss (weight ``innovation_weight`` in :class:`BMOJOConfig`); its minimiser in
``Lambda`` is the sample innovation covariance (its diagonal). The target ``x_t`` is
detached, so the test cannot make its own job easier by shrinking the representation.

Selection and store
-------------------
Time is cut into chunks of ``chunk`` positions. At the end of each chunk the block picks
candidates among the chunk's tokens, either

* ``selection="topk"``: the ``select_k`` tokens of largest score (ties toward the earlier
  token), the fixed-budget rule of B'MOJO's chunked selection, or
* ``selection="threshold"``: every token with ``score > chi2.ppf(1 - threshold_alpha,
  d_model)``, the classical chi-square innovation test at level ``threshold_alpha``,

and merges them into the store, which holds at most ``n_eidetic`` tokens. Eviction is
``"fifo"`` (keep the most recently picked tokens) or ``"score"`` (keep the largest scores,
ties toward the earlier token). Tokens picked in chunk ``c`` are visible from chunk ``c + 1``
on, and only once they have left the query's window. Every quantity the selection uses at
the end of chunk ``c`` depends on tokens of chunks ``<= c`` only, so the block is strictly
causal, selection included.

Variants of the same code (so comparisons are fair): B'MOJO (default), B'MOJO-F
(``n_eidetic=0``), a sliding-window Transformer (``ssm=False``) and a Mamba-like model
(``attention=False``: the block is the SSM layer).

References
----------
L. Zancato, A. Seshadri, Y. Dukler, A. Golatkar, Y. Shen, B. Bowman, M. Trager, A. Achille
and S. Soatto, "B'MOJO: Hybrid state space realizations of foundation models with eidetic and
fading memory", NeurIPS 2024.

R. K. Mehra and J. Peschon, "An innovations approach to fault detection and diagnosis in
dynamic systems", Automatica 7(5), 1971.

A. Gu and T. Dao, "Mamba: Linear-time sequence modeling with selective state spaces", 2023.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from realize.errors import FormatError, InvalidValueError, ShapeError
from realize.nn import _checkpoint
from realize.nn.attention import (
    SlidingWindowAttention,
    _check_positive_int,
    causal_depthwise_conv,
)
from realize.nn.ops.selective_scan import BACKENDS

__all__ = [
    "BMOJOConfig",
    "BMOJOBlock",
    "BMOJOLM",
    "SelectiveSSMMixer",
    "select_candidates",
    "update_store",
]


_FORMAT = "realize.BMOJOLM"  # the format tag of BMOJOLM checkpoints


# ---------------------------------------------------------------------- configuration
# Upper bounds of a configuration, far above any model this layer is meant for: they stop a
# mistyped or hostile configuration (a checkpoint's, say) before it allocates anything.
CONFIG_LIMITS = {
    "vocab_size": 2**24,
    "d_model": 2**16,
    "n_layers": 2**10,
    "d_state": 2**12,
    "window": 2**20,
    "n_eidetic": 2**20,
    "n_heads": 2**10,
    "n_fading": 2**20,
    "conv_kernel": 2**10,
    "expand": 2**6,
    "mlp_ratio": 2**6,
}
# integer fields and their smallest value
_SIZES = (
    ("vocab_size", 1),
    ("d_model", 1),
    ("n_layers", 1),
    ("d_state", 1),
    ("window", 1),
    ("n_heads", 1),
    ("expand", 1),
    ("n_eidetic", 0),
    ("n_fading", 0),
    ("conv_kernel", 0),
)


def _is_real(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


@dataclass
class BMOJOConfig:
    """Hyper-parameters of :class:`BMOJOLM` (and of each :class:`BMOJOBlock`).

    Attributes
    ----------
    vocab_size, d_model, n_layers, d_state, window, n_eidetic : int
        Vocabulary, width, depth, SSM state size per channel, attention window, eidetic
        store size (``0``: B'MOJO-F).
    n_heads : int
        Attention heads.
    chunk : int or None
        Chunk length of the eidetic store's updates (default ``window``; at most ``window``).
    n_fading : int
        Fading-memory (SSM output) tokens read per query.
    selection : {"topk", "threshold"}
        Candidate rule of the innovation test.
    select_k : int or None
        Candidates per chunk for ``"topk"`` (default ``max(1, chunk // 4)``).
    threshold_alpha : float
        Level of the chi-square test for ``"threshold"``.
    eviction : {"fifo", "score"}
        Eviction policy of the eidetic store.
    attention, ssm : bool
        Switch the attention or the SSM off (sliding-window Transformer: ``ssm=False``;
        Mamba-like: ``attention=False``).
    conv_kernel : int
        Short causal convolution in the attention and in the SSM.
    expand : int
        SSM inner width ``expand * d_model``.
    mlp_ratio : float
        Hidden width of the MLPs, in units of ``d_model`` (``0``: no MLP).
    innovation_weight : float
        Weight of the innovation log-likelihood in :meth:`BMOJOLM.loss`.
    tie_embeddings : bool
        Share the embedding and the LM head.
    scan_backend : str
        Backend of :func:`realize.nn.ops.selective_scan`.

    Notes
    -----
    Every field is checked on construction (type and range; ``InvalidValueError`` naming
    the field), so a bad configuration fails before anything is allocated. Sizes are
    bounded by ``CONFIG_LIMITS``, generous limits that stop a mistyped or hostile
    configuration (a checkpoint's): vocab_size <= 16,777,216; d_model <= 65,536;
    n_layers <= 1,024; d_state <= 4,096; window, n_eidetic, n_fading <= 1,048,576;
    n_heads, conv_kernel <= 1,024; expand <= 64; mlp_ratio <= 64.
    """

    vocab_size: int = 256
    d_model: int = 64
    n_layers: int = 2
    d_state: int = 16
    window: int = 32
    n_eidetic: int = 16
    n_heads: int = 4
    chunk: int | None = None
    n_fading: int = 1
    selection: str = "topk"
    select_k: int | None = None
    threshold_alpha: float = 0.01
    eviction: str = "fifo"
    attention: bool = True
    ssm: bool = True
    conv_kernel: int = 4
    expand: int = 1
    mlp_ratio: float = 4.0
    innovation_weight: float = 0.1
    tie_embeddings: bool = True
    scan_backend: str = "auto"

    def __post_init__(self):
        # sizes first: every later check and every user may rely on bounded integers
        for name, low in _SIZES:
            _check_positive_int(getattr(self, name), name, low)
            if getattr(self, name) > CONFIG_LIMITS[name]:
                raise InvalidValueError(
                    f"{name}: expected an integer in [{low}, {CONFIG_LIMITS[name]:,}], "
                    f"got {getattr(self, name)!r}"
                )
        if self.chunk is None:
            self.chunk = self.window
        if _check_positive_int(self.chunk, "chunk") > self.window:
            raise InvalidValueError(
                f"chunk: expected an integer in [1, window={self.window}], got {self.chunk!r}"
            )
        if self.select_k is None:
            self.select_k = max(1, self.chunk // 4)
        if _check_positive_int(self.select_k, "select_k") > self.chunk:
            raise InvalidValueError(
                f"select_k: expected an integer in [1, chunk={self.chunk}], got {self.select_k!r}"
            )
        for name, choices in (
            ("selection", ("topk", "threshold")),
            ("eviction", ("fifo", "score")),
            ("scan_backend", ("auto", *BACKENDS)),
        ):
            if not isinstance(getattr(self, name), str) or getattr(self, name) not in choices:
                raise InvalidValueError(
                    f"{name}: expected one of {choices}, got {getattr(self, name)!r}"
                )
        for name in ("attention", "ssm", "tie_embeddings"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidValueError(
                    f"{name}: expected True or False, got {getattr(self, name)!r}"
                )
        if not (_is_real(self.threshold_alpha) and 0 < self.threshold_alpha < 1):
            raise InvalidValueError(
                f"threshold_alpha: expected a level in (0, 1), got {self.threshold_alpha!r}"
            )
        if not (_is_real(self.mlp_ratio) and 0 <= self.mlp_ratio <= CONFIG_LIMITS["mlp_ratio"]):
            raise InvalidValueError(
                f"mlp_ratio: expected a number in [0, {CONFIG_LIMITS['mlp_ratio']}], "
                f"got {self.mlp_ratio!r}"
            )
        if not (_is_real(self.innovation_weight) and self.innovation_weight >= 0):
            raise InvalidValueError(
                f"innovation_weight: expected a finite number >= 0, got {self.innovation_weight!r}"
            )
        if self.d_model % self.n_heads:
            raise InvalidValueError(
                f"n_heads: expected a divisor of d_model={self.d_model}, got {self.n_heads}"
            )
        if not (self.attention or self.ssm):
            raise InvalidValueError(
                "attention, ssm: expected at least one of them on, got both off"
            )
        if self.n_eidetic and not (self.attention and self.ssm):
            raise InvalidValueError(
                f"n_eidetic: expected 0 without both attention and SSM (the innovation test needs "
                f"the SSM, the store needs the attention), got {self.n_eidetic}"
            )

    @classmethod
    def variant(cls, name: str, **fields) -> BMOJOConfig:
        """One of the named variants: ``"bmojo"``, ``"bmojo-f"`` (no eidetic memory),
        ``"swa"`` (sliding-window Transformer: no SSM), ``"mamba"`` (no attention)."""
        presets = {
            "bmojo": {},
            "bmojo-f": {"n_eidetic": 0},
            "swa": {"n_eidetic": 0, "ssm": False},
            "mamba": {"n_eidetic": 0, "attention": False},
        }
        if name not in presets:
            raise InvalidValueError(f"name: expected one of {sorted(presets)}, got {name!r}")
        return cls(**{**fields, **presets[name]})

    def block_kwargs(self) -> dict:
        return dict(
            n_heads=self.n_heads,
            chunk=self.chunk,
            n_fading=self.n_fading,
            selection=self.selection,
            select_k=self.select_k,
            threshold_alpha=self.threshold_alpha,
            eviction=self.eviction,
            attention=self.attention,
            ssm=self.ssm,
            conv_kernel=self.conv_kernel,
            expand=self.expand,
            scan_backend=self.scan_backend,
        )

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# ---------------------------------------------------------------------- the SSM layer
class SelectiveSSMMixer(nn.Module):
    """Mamba's mixer: gated selective SSM with a short causal convolution.

    Parameters
    ----------
    d_model, d_state : int
    expand : int
        Inner width ``d_inner = expand * d_model``.
    conv_kernel : int
    scan_backend : str
        Backend of :func:`realize.nn.ops.selective_scan`.

    Notes
    -----
    ``[u; z] = W_in x``, ``u <- silu(conv(u))``, ``[dt; B; C] = W_x u``,
    ``delta = softplus(W_dt dt + b_dt)``, then the selective scan (Gu and Dao, 2023)

    .. math::

        h_t = e^{\\Delta_t A} h_{t-1} + \\Delta_t B_t u_t, \\quad
        y_t = (C_t h_t + D u_t) \\odot \\mathrm{silu}(z_t),

    with ``A = -exp(A_log)`` diagonal, and the output ``W_out y``.
    """

    def __init__(
        self,
        d_model: int,
        d_state: int,
        expand: int = 1,
        conv_kernel: int = 4,
        scan_backend: str = "auto",
    ):
        super().__init__()
        di = expand * d_model
        self.d_model, self.d_state, self.d_inner = d_model, d_state, di
        self.dt_rank = max(1, math.ceil(d_model / 16))
        self.conv_kernel = max(int(conv_kernel), 1)
        self.scan_backend = scan_backend
        self.in_proj = nn.Linear(d_model, 2 * di, bias=False)
        self.conv_weight = nn.Parameter(
            torch.randn(di, self.conv_kernel) / math.sqrt(self.conv_kernel)
        )
        self.conv_bias = nn.Parameter(torch.zeros(di))
        self.x_proj = nn.Linear(di, self.dt_rank + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(self.dt_rank, di, bias=True)
        # delta = softplus(bias) log-uniform in [1e-3, 1e-1] (Gu and Dao, 2023, Section 3.6)
        dt = torch.exp(torch.rand(di) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3))
        with torch.no_grad():
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))
        self.A_log = nn.Parameter(
            torch.log(torch.arange(1, d_state + 1, dtype=torch.float32)).repeat(di, 1)
        )
        self.D = nn.Parameter(torch.ones(di))
        self.out_proj = nn.Linear(di, d_model, bias=False)

    def _project(self, u):
        dt, B, C = self.x_proj(u).split([self.dt_rank, self.d_state, self.d_state], dim=-1)
        return F.linear(dt, self.dt_proj.weight), B, C

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map (batch, length, d_model) to (batch, length, d_model)."""
        from realize.nn.ops import selective_scan

        u, z = self.in_proj(x).split(self.d_inner, dim=-1)
        u = F.silu(causal_depthwise_conv(u, self.conv_weight, self.conv_bias))
        delta, B, C = self._project(u)
        A = -torch.exp(self.A_log.to(x.dtype))
        y = selective_scan(
            u,
            delta,
            A,
            B,
            C,
            D=self.D.to(x.dtype),
            z=z,
            delta_bias=self.dt_proj.bias.to(x.dtype),
            delta_softplus=True,
            backend=self.scan_backend,
        )
        return self.out_proj(y)

    def init_cache(self, batch_size: int, device=None, dtype=None) -> dict:
        dtype = dtype or self.in_proj.weight.dtype
        device = device or self.in_proj.weight.device
        return {
            "conv": torch.zeros(
                batch_size, self.conv_kernel - 1, self.d_inner, device=device, dtype=dtype
            ),
            "h": torch.zeros(batch_size, self.d_inner, self.d_state, device=device, dtype=dtype),
        }

    def step(self, x_t: torch.Tensor, cache: dict) -> torch.Tensor:
        """One position, (batch, d_model) -> (batch, d_model); ``cache`` updated in place."""
        from realize.nn.ops import selective_scan_step

        u, z = self.in_proj(x_t).split(self.d_inner, dim=-1)
        hist = torch.cat([cache["conv"], u[:, None]], dim=1)
        cache["conv"] = hist[:, 1:]
        u = F.silu((hist * self.conv_weight.t()[None]).sum(1) + self.conv_bias)
        delta, B, C = self._project(u)
        A = -torch.exp(self.A_log.to(x_t.dtype))
        y, h = selective_scan_step(
            u,
            delta,
            A,
            B,
            C,
            D=self.D.to(x_t.dtype),
            z_t=z,
            h=cache["h"],
            delta_bias=self.dt_proj.bias.to(x_t.dtype),
            delta_softplus=True,
        )
        cache["h"] = h.to(cache["h"].dtype)
        return self.out_proj(y)

    def memory_floats(self) -> int:
        """Floats stored per sequence when decoding: the state and the convolution's history."""
        return self.d_inner * self.d_state + self.d_inner * (self.conv_kernel - 1)


# ---------------------------------------------------------------------- selection
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


# ---------------------------------------------------------------------- the block
class BMOJOBlock(nn.Module):
    """B'MOJO token mixer: sliding-window attention over eidetic and fading memory.

    Parameters
    ----------
    d_model : int
    d_state : int
        SSM state size per channel.
    window : int
        Attention window.
    n_eidetic : int
        Eidetic store size (``0``: B'MOJO-F).
    n_heads, chunk, n_fading, selection, select_k, threshold_alpha, eviction, attention,
    ssm, conv_kernel, expand, scan_backend
        See :class:`BMOJOConfig`.

    Notes
    -----
    See the module docstring for the innovation test, the selection and the store. After a
    forward pass, ``innovation_nll`` holds the innovations' Gaussian negative
    log-likelihood (a scalar tensor, 0 without eidetic memory) and ``eidetic_index``,
    ``eidetic_valid`` (batch, n_chunks, n_eidetic) the store seen by each chunk.

    Examples
    --------
    >>> import torch
    >>> from realize.nn import BMOJOBlock
    >>> blk = BMOJOBlock(16, 4, window=8, n_eidetic=4, n_heads=2, scan_backend="naive")
    >>> blk(torch.randn(2, 24, 16)).shape
    torch.Size([2, 24, 16])
    """

    def __init__(
        self,
        d_model: int,
        d_state: int,
        window: int,
        n_eidetic: int,
        *,
        n_heads: int = 4,
        chunk: int | None = None,
        n_fading: int = 1,
        selection: str = "topk",
        select_k: int | None = None,
        threshold_alpha: float = 0.01,
        eviction: str = "fifo",
        attention: bool = True,
        ssm: bool = True,
        conv_kernel: int = 4,
        expand: int = 1,
        scan_backend: str = "auto",
    ):
        super().__init__()
        cfg = BMOJOConfig(
            vocab_size=1,
            d_model=d_model,
            n_layers=1,
            d_state=d_state,
            window=window,
            n_eidetic=n_eidetic,
            n_heads=n_heads,
            chunk=chunk,
            n_fading=n_fading,
            selection=selection,
            select_k=select_k,
            threshold_alpha=threshold_alpha,
            eviction=eviction,
            attention=attention,
            ssm=ssm,
            conv_kernel=conv_kernel,
            expand=expand,
            scan_backend=scan_backend,
        )
        self.d_model, self.window, self.n_eidetic = d_model, window, n_eidetic
        self.chunk, self.selection, self.select_k = cfg.chunk, selection, cfg.select_k
        self.eviction = eviction
        self.n_fading = n_fading if (attention and ssm) else 0
        self.attn = (
            SlidingWindowAttention(
                d_model,
                n_heads,
                window,
                chunk=cfg.chunk,
                n_fading=self.n_fading,
                conv_kernel=conv_kernel,
                eidetic=n_eidetic > 0,
            )
            if attention
            else None
        )
        self.ssm = (
            SelectiveSSMMixer(d_model, d_state, expand, conv_kernel, scan_backend) if ssm else None
        )
        if n_eidetic:
            from scipy.stats import chi2

            self.tau = float(chi2.ppf(1.0 - threshold_alpha, d_model))
            self.predictor = nn.Linear(d_model, d_model)
            self.log_lambda = nn.Parameter(torch.zeros(d_model))
        self.innovation_nll = torch.zeros(())
        self.eidetic_index = self.eidetic_valid = None

    # ------------------------------------------------------------------ innovation
    def innovation_score(self, x: torch.Tensor, s_prev: torch.Tensor):
        """Normalized innovation squared ``e' Lambda^-1 e`` and its Gaussian NLL.

        Parameters
        ----------
        x : (..., d_model) tensor
            Block input (the target, detached).
        s_prev : (..., d_model) tensor
            SSM output one step earlier.

        Returns
        -------
        score : (...) tensor
        nll : (...) tensor
            ``0.5 (score + log det Lambda) / d_model``.
        """
        e = x.detach() - self.predictor(s_prev)
        score = (e.square() * torch.exp(-self.log_lambda)).sum(-1)
        return score, 0.5 * (score + self.log_lambda.sum()) / self.d_model

    def _schedule(self, score: torch.Tensor):
        """Eidetic store seen by each chunk, (batch, n_chunks, n_eidetic) index and valid."""
        bsz, L = score.shape
        cs, M = self.chunk, self.n_eidetic
        nc = -(-L // cs)
        store = {
            "index": score.new_zeros(bsz, M, dtype=torch.long),
            "score": score.new_full((bsz, M), float("-inf")),
            "valid": torch.zeros(bsz, M, dtype=torch.bool, device=score.device),
        }
        idx, val = [], []
        for c in range(nc):
            idx.append(store["index"])
            val.append(store["valid"])
            if (c + 1) * cs <= L and c < nc - 1:
                i, sc, v = select_candidates(
                    score[:, c * cs : (c + 1) * cs], c * cs, self.selection, self.select_k, self.tau
                )
                store = update_store(store, {"index": i, "score": sc, "valid": v}, M, self.eviction)
        return torch.stack(idx, 1), torch.stack(val, 1)

    # ------------------------------------------------------------------ forward
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Mix a sequence, (batch, length, d_model) -> (batch, length, d_model)."""
        if x.ndim != 3 or x.shape[-1] != self.d_model:
            raise ShapeError(
                f"x: expected a (batch, length, {self.d_model}) tensor, got {tuple(x.shape)}"
            )
        self.innovation_nll = x.new_zeros(())
        if self.attn is None:
            return self.ssm(x)
        if self.ssm is None:
            return self.attn(x)
        if x.shape[1] < self.window:
            raise ShapeError(
                f"x: expected a sequence at least as long as the window ({self.window}), "
                f"got length {x.shape[1]}"
            )
        s = self.ssm(x)
        idx = val = None
        if self.n_eidetic:
            s_prev = F.pad(s, (0, 0, 1, 0))[:, :-1]
            score, nll = self.innovation_score(x, s_prev)
            self.innovation_nll = nll.mean()
            with torch.no_grad():
                idx, val = self._schedule(score.detach())
            self.eidetic_index, self.eidetic_valid = idx, val
        return self.attn(x, idx, val, s if self.n_fading else None)

    # ------------------------------------------------------------------ decoding
    def init_cache(self, batch_size: int, device=None, dtype=None) -> dict:
        """Empty decoding cache: SSM state, window keys and values, eidetic store, the
        recent SSM outputs (fading tokens wait ``window`` steps before they are read)."""
        p = next(self.parameters())
        device, dtype = device or p.device, dtype or p.dtype
        cache = {"t": 0}
        if self.ssm is not None:
            cache["ssm"] = self.ssm.init_cache(batch_size, device, dtype)
        if self.attn is not None:
            cache["attn"] = self.attn.init_cache(batch_size, device, dtype)
        if self.attn is not None and self.ssm is not None:
            cache["s"] = torch.zeros(batch_size, 0, self.d_model, device=device, dtype=dtype)
        if self.n_eidetic:
            H, hd, M = self.attn.n_heads, self.attn.head_dim, self.n_eidetic
            cache["store"] = {
                "index": torch.zeros(batch_size, M, dtype=torch.long, device=device),
                "score": torch.full((batch_size, M), float("-inf"), device=device, dtype=dtype),
                "valid": torch.zeros(batch_size, M, dtype=torch.bool, device=device),
                "k": torch.zeros(batch_size, M, H, hd, device=device, dtype=dtype),
                "v": torch.zeros(batch_size, M, H, hd, device=device, dtype=dtype),
            }
            cache["pending"] = torch.zeros(batch_size, 0, device=device, dtype=dtype)
        return cache

    def step(self, x_t: torch.Tensor, cache: dict) -> torch.Tensor:
        """Mix one position, (batch, d_model) -> (batch, d_model); ``cache`` updated in place."""
        t = cache["t"]
        cache["t"] = t + 1
        if self.attn is None:
            return self.ssm.step(x_t, cache["ssm"])
        if self.ssm is None:
            return self.attn.step(x_t, cache["attn"])
        W, nf, cs = self.window, self.n_fading, self.chunk
        s_prev = cache["s"][:, -1] if cache["s"].shape[1] else torch.zeros_like(x_t)
        s_t = self.ssm.step(x_t, cache["ssm"])
        cache["s"] = torch.cat([cache["s"], s_t[:, None]], dim=1)[:, -(W + nf) :]
        n = cache["s"].shape[1]
        fading = None
        if nf:
            pos = torch.arange(t - n + 1, t + 1, device=x_t.device)
            vis = ((pos <= t - W) & (pos > t - W - nf)).expand(x_t.shape[0], n)
            kf, vf = self.attn.memory_kv(cache["s"])
            fading = (kf, vf, vis)
        eidetic = None
        if self.n_eidetic:
            score, _ = self.innovation_score(x_t, s_prev)
            cache["pending"] = torch.cat([cache["pending"], score[:, None]], dim=1)
            st = cache["store"]
            eidetic = (st["k"], st["v"], st["valid"] & (st["index"] <= t - W))
        y = self.attn.step(x_t, cache["attn"], eidetic=eidetic, fading=fading)
        if self.n_eidetic and (t + 1) % cs == 0:
            i, sc, v = select_candidates(
                cache["pending"], t + 1 - cs, self.selection, self.select_k, self.tau
            )
            # the chunk's keys and values are the newest `chunk` entries of the window cache
            kw, vw = cache["attn"]["k"][:, -cs:], cache["attn"]["v"][:, -cs:]
            rel = (i - (t + 1 - cs))[:, :, None, None].expand(-1, -1, *kw.shape[2:])
            cand = {
                "index": i,
                "score": sc,
                "valid": v,
                "k": kw.gather(1, rel),
                "v": vw.gather(1, rel),
            }
            cache["store"] = update_store(cache["store"], cand, self.n_eidetic, self.eviction)
            cache["pending"] = cache["pending"][:, :0]
        return y

    def memory_floats(self) -> int:
        """Floats stored per sequence when decoding (state plus cached keys and values)."""
        total = 0
        if self.ssm is not None:
            total += self.ssm.memory_floats()
        if self.attn is not None:
            total += self.attn.memory_floats()
        if self.attn is not None and self.ssm is not None:
            total += (self.window + self.n_fading) * self.d_model  # SSM outputs awaiting reading
        if self.n_eidetic:
            total += (
                self.n_eidetic * (2 * self.d_model + 2) + self.chunk
            )  # k, v, score, index; pending scores
        return total


# ---------------------------------------------------------------------- the LM
class _MLP(nn.Module):
    def __init__(self, d_model: int, hidden: int):
        super().__init__()
        self.fc = nn.Linear(d_model, hidden)
        self.proj = nn.Linear(hidden, d_model)

    def forward(self, x):
        return self.proj(F.gelu(self.fc(x)))


class _Layer(nn.Module):
    def __init__(self, cfg: BMOJOConfig):
        super().__init__()
        self.norm1 = nn.RMSNorm(cfg.d_model)
        self.mixer = BMOJOBlock(
            cfg.d_model, cfg.d_state, cfg.window, cfg.n_eidetic, **cfg.block_kwargs()
        )
        hidden = int(round(cfg.mlp_ratio * cfg.d_model))
        self.norm2 = nn.RMSNorm(cfg.d_model) if hidden else None
        self.mlp = _MLP(cfg.d_model, hidden) if hidden else None

    def forward(self, x):
        x = x + self.mixer(self.norm1(x))
        return x + self.mlp(self.norm2(x)) if self.mlp is not None else x

    def step(self, x_t, cache):
        x_t = x_t + self.mixer.step(self.norm1(x_t), cache)
        return x_t + self.mlp(self.norm2(x_t)) if self.mlp is not None else x_t


class BMOJOLM(nn.Module):
    """Language model: embeddings, pre-norm B'MOJO layers with MLPs, an LM head.

    Parameters
    ----------
    vocab_size, d_model, n_layers, d_state, window, n_eidetic : int
        See :class:`BMOJOConfig`.
    **options
        Any other field of :class:`BMOJOConfig`.
    config : BMOJOConfig, optional
        A whole configuration instead of the fields (keyword only).

    Examples
    --------
    >>> import torch
    >>> from realize.nn import BMOJOLM
    >>> lm = BMOJOLM(50, 32, 2, 4, window=8, n_eidetic=4, scan_backend="naive")
    >>> tokens = torch.randint(0, 50, (2, 24))
    >>> lm(tokens).shape
    torch.Size([2, 24, 50])
    >>> lm.generate(tokens[:, :5], 3, greedy=True).shape
    torch.Size([2, 8])
    """

    def __init__(
        self,
        vocab_size: int | None = None,
        d_model: int = 64,
        n_layers: int = 2,
        d_state: int = 16,
        window: int = 32,
        n_eidetic: int = 16,
        *,
        config: BMOJOConfig | None = None,
        **options,
    ):
        super().__init__()
        if config is None:
            if vocab_size is None:
                raise InvalidValueError("vocab_size: expected an integer >= 1, got None")
            config = BMOJOConfig(
                vocab_size=vocab_size,
                d_model=d_model,
                n_layers=n_layers,
                d_state=d_state,
                window=window,
                n_eidetic=n_eidetic,
                **options,
            )
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.d_model)
        nn.init.normal_(self.embed.weight, std=0.02)
        self.layers = nn.ModuleList(_Layer(config) for _ in range(config.n_layers))
        self.norm_f = nn.RMSNorm(config.d_model)
        self.head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        if config.tie_embeddings:
            self.head.weight = self.embed.weight

    @classmethod
    def from_config(cls, config: BMOJOConfig | dict) -> BMOJOLM:
        if isinstance(config, dict):
            config = BMOJOConfig(**config)
        return cls(config=config)

    # ------------------------------------------------------------------ checks
    def _check_tokens(self, tokens, name="tokens", ndim=2):
        if not isinstance(tokens, torch.Tensor) or tokens.ndim != ndim:
            got = tuple(tokens.shape) if isinstance(tokens, torch.Tensor) else type(tokens).__name__
            raise ShapeError(
                f"{name}: expected a {'(batch, length)' if ndim == 2 else '(batch,)'} tensor, got {got}"
            )
        if tokens.dtype.is_floating_point or tokens.dtype.is_complex or tokens.dtype == torch.bool:
            raise InvalidValueError(f"{name}: expected integer token ids, got dtype {tokens.dtype}")
        if tokens.numel():
            lo, hi = int(tokens.min()), int(tokens.max())
            if lo < 0 or hi >= self.config.vocab_size:
                raise InvalidValueError(
                    f"{name}: expected ids in [0, {self.config.vocab_size}), "
                    f"got values in [{lo}, {hi}]"
                )

    # ------------------------------------------------------------------ forward
    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits (batch, length, vocab_size) of tokens (batch, length).

        Raises
        ------
        ShapeError
            Not a 2-D tensor, or a sequence shorter than the attention window.
        InvalidValueError
            Token ids out of range.
        """
        self._check_tokens(tokens)
        if self.config.attention and tokens.shape[1] < self.config.window:
            raise ShapeError(
                f"tokens: expected a sequence at least as long as the window "
                f"({self.config.window}), got length {tokens.shape[1]}; use generate() "
                f"or a smaller window"
            )
        x = self.embed(tokens)
        for layer in self.layers:
            x = layer(x)
        return self.head(self.norm_f(x))

    def innovation_nll(self) -> torch.Tensor:
        """Sum over layers of the innovation NLL of the last forward pass."""
        return sum(layer.mixer.innovation_nll for layer in self.layers)

    def loss(self, tokens: torch.Tensor, targets: torch.Tensor, ignore_index: int = -100):
        """Training loss: next-token cross-entropy plus ``innovation_weight`` times the
        innovation NLL; returns ``(loss, cross_entropy)``."""
        logits = self(tokens)
        if targets.shape != tokens.shape:
            raise ShapeError(
                f"targets: expected shape {tuple(tokens.shape)}, got {tuple(targets.shape)}"
            )
        ce = F.cross_entropy(
            logits.flatten(0, 1).to(torch.promote_types(logits.dtype, torch.float32)),
            targets.flatten(),
            ignore_index=ignore_index,
        )
        return ce + self.config.innovation_weight * self.innovation_nll(), ce

    # ------------------------------------------------------------------ decoding
    def init_cache(self, batch_size: int) -> list:
        """One empty recurrent cache per layer (see :meth:`BMOJOBlock.init_cache`)."""
        return [layer.mixer.init_cache(batch_size) for layer in self.layers]

    def step(self, token_t: torch.Tensor, cache: list) -> torch.Tensor:
        """Logits (batch, vocab_size) after one token (batch,); ``cache`` updated in place."""
        self._check_tokens(token_t, "token_t", ndim=1)
        x = self.embed(token_t)
        for layer, c in zip(self.layers, cache):
            x = layer.step(x, c)
        return self.head(self.norm_f(x))

    @torch.no_grad()
    def generate(
        self,
        prompt: torch.Tensor,
        max_new_tokens: int,
        *,
        temperature: float = 1.0,
        top_k: int | None = None,
        greedy: bool = False,
        generator=None,
        return_logits: bool = False,
    ):
        """Continue ``prompt`` (batch, P) by ``max_new_tokens`` tokens with the recurrent cache.

        The prompt is read one token at a time through :meth:`step` (constant memory:
        window keys and values, eidetic store, SSM state), so the logits equal those of the
        full forward pass. Returns tokens (batch, P + max_new_tokens), and the logits of
        every position (batch, P + max_new_tokens - 1, vocab_size) if ``return_logits``.
        """
        self._check_tokens(prompt, "prompt")
        if prompt.shape[1] < 1:
            raise ShapeError("prompt: expected at least one token, got length 0")
        if (
            isinstance(max_new_tokens, bool)
            or not isinstance(max_new_tokens, int)
            or max_new_tokens < 0
        ):
            raise InvalidValueError(
                f"max_new_tokens: expected an integer >= 0, got {max_new_tokens!r}"
            )
        if not temperature > 0:
            raise InvalidValueError(f"temperature: expected a value > 0, got {temperature!r}")
        cache = self.init_cache(prompt.shape[0])
        out, logits_all = [prompt], []
        logits = None
        for t in range(prompt.shape[1]):
            logits = self.step(prompt[:, t], cache)
            logits_all.append(logits)
        for i in range(max_new_tokens):
            if greedy:
                nxt = logits.argmax(-1)
            else:
                lg = logits.float() / temperature
                if top_k is not None:
                    kth = torch.topk(lg, min(top_k, lg.shape[-1]), dim=-1).values[:, -1:]
                    lg = lg.masked_fill(lg < kth, float("-inf"))
                nxt = torch.multinomial(torch.softmax(lg, -1), 1, generator=generator)[:, 0]
            out.append(nxt[:, None])
            if i < max_new_tokens - 1:
                logits = self.step(nxt, cache)
                logits_all.append(logits)
        tokens = torch.cat(out, dim=1)
        if return_logits:
            return tokens, torch.stack(logits_all, 1)
        return tokens

    # ------------------------------------------------------------------ accounting
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def memory_floats(self) -> int:
        """Floats stored per sequence when decoding, all layers (state plus cached K/V)."""
        return sum(layer.mixer.memory_floats() for layer in self.layers)

    # ------------------------------------------------------------------ files
    def save(self, path) -> None:
        """Write weights and configuration to a safetensors file (no pickle; the format is
        described in :mod:`realize.nn._checkpoint`, tagged ``"realize.BMOJOLM"``)."""
        _checkpoint.save(path, self, _FORMAT, self.config.to_dict())

    @staticmethod
    def _read_checkpoint(path):
        """The checked header and configuration of a checkpoint (no tensor read)."""
        header = _checkpoint.read_header(path)
        fields = _checkpoint.read_config(header, _FORMAT)
        try:
            return header, BMOJOConfig(**fields)
        except (InvalidValueError, TypeError) as err:
            raise FormatError(
                f"path: {header.path}: expected a valid BMOJOConfig, got {err}"
            ) from None

    @classmethod
    def load(cls, path, device="cpu") -> BMOJOLM:
        """A model built from the configuration stored in ``path``, with its weights (in the
        stored dtype), on ``device``.

        The configuration is validated, and the file's tensor names, shapes and dtypes are
        compared with those it implies, before the model is built; NaN or Inf weights are
        refused.

        Raises
        ------
        FormatError
            Not a BMOJOLM checkpoint, an invalid configuration, tensors that do not match
            it, mixed dtypes, or non-finite weights.
        """
        header, config = cls._read_checkpoint(path)
        # names and shapes from a one-layer copy on the meta device: no allocation, and a
        # cost independent of n_layers; the model is built only once the file matches it
        with torch.device("meta"):
            one = cls(config=dataclasses.replace(config, n_layers=1))
        shapes = {}
        for name, shape in _checkpoint.tensor_shapes(one).items():
            if name.startswith("layers.0."):
                layer = name.removeprefix("layers.0.")
                shapes.update({f"layers.{i}.{layer}": shape for i in range(config.n_layers)})
            else:
                shapes[name] = shape
        _checkpoint.check_tensors(header, shapes)
        dtypes = {spec.dtype for spec in header.tensors.values()}
        if len(dtypes) != 1:
            raise FormatError(
                f"path: {header.path}: expected one dtype for all tensors, got {sorted(dtypes)}"
            )
        model = cls(config=config).to(_checkpoint.DTYPES[dtypes.pop()])
        model.load_weights(path)
        return model.to(device)

    def load_weights(self, path, device="cpu") -> None:
        """Load weights saved by :meth:`save` into this model.

        ``device`` is where the tensors are staged; they are copied into the model's
        parameters, in the model's dtype.

        Raises
        ------
        FormatError
            Not a BMOJOLM checkpoint, tensors that do not match this model, or non-finite
            weights.
        InvalidValueError
            A checkpoint written for another configuration.
        """
        header, stored = self._read_checkpoint(path)
        mine, theirs = self.config.to_dict(), stored.to_dict()
        diff = {
            k: (theirs[k], v) for k, v in mine.items() if theirs[k] != v and k != "scan_backend"
        }
        if diff:
            text = ", ".join(f"{k}: checkpoint {a!r} vs model {b!r}" for k, (a, b) in diff.items())
            raise InvalidValueError(
                f"path: expected a checkpoint of this configuration, got one with {text}"
            )
        tensors = _checkpoint.load_tensors(header, _checkpoint.tensor_shapes(self))
        # strict=False: a tied tensor is stored once, and load_tensors checked all others
        self.load_state_dict({k: v.to(device) for k, v in tensors.items()}, strict=False)
