"""The B'MOJO token mixer: sliding-window attention over eidetic and fading memory.

The innovation test, the selection and the store are described in :mod:`realize.nn.bmojo`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from realize.errors import ShapeError
from realize.nn.attention import SlidingWindowAttention
from realize.nn.bmojo.config import BLOCK_OPTIONS, BMOJOConfig
from realize.nn.bmojo.mixer import SelectiveSSMMixer
from realize.nn.bmojo.selection import select_candidates, update_store
from realize.nn.ops.window_attention import eidetic_schedule

__all__ = ["BMOJOBlock"]


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
    **options
        Keywords ``n_heads, chunk, n_fading, selection, select_k, threshold_alpha,
        scale_momentum, eviction, attention, ssm, conv_kernel, expand, scan_backend``
        (:data:`~realize.nn.bmojo.config.BLOCK_OPTIONS`), with the defaults and meanings
        of :class:`BMOJOConfig`.

    Notes
    -----
    See the module docstring for the innovation test, the selection and the store. After a
    forward pass, ``innovation_nll`` holds the innovations' Gaussian negative
    log-likelihood (a scalar tensor, 0 without eidetic memory) and ``eidetic_index``,
    ``eidetic_valid`` (batch, n_chunks, n_eidetic) the store seen by each chunk. The buffer
    ``innovation_scale`` (the running median score that calibrates the threshold test, see
    :meth:`threshold`) moves after each forward pass in training mode with gradients on, so a
    model in training mode may select differently from one call to the next; evaluation mode
    and ``torch.no_grad()`` leave it fixed.

    Examples
    --------
    >>> import torch
    >>> from realize.nn import BMOJOBlock
    >>> blk = BMOJOBlock(16, 4, window=8, n_eidetic=4, n_heads=2, scan_backend="naive")
    >>> blk(torch.randn(2, 24, 16)).shape
    torch.Size([2, 24, 16])
    """

    def __init__(self, d_model: int, d_state: int, window: int, n_eidetic: int, **options):
        super().__init__()
        unknown = sorted(set(options) - set(BLOCK_OPTIONS))
        if unknown:
            raise TypeError(f"BMOJOBlock() got an unexpected keyword argument {unknown[0]!r}")
        # the configuration checks every field and fills in chunk and select_k
        cfg = BMOJOConfig(
            vocab_size=1,
            d_model=d_model,
            n_layers=1,
            d_state=d_state,
            window=window,
            n_eidetic=n_eidetic,
            **options,
        )
        self.d_model, self.window, self.n_eidetic = cfg.d_model, cfg.window, cfg.n_eidetic
        self.chunk, self.selection, self.select_k = cfg.chunk, cfg.selection, cfg.select_k
        self.eviction = cfg.eviction
        self.n_fading = cfg.n_fading if (cfg.attention and cfg.ssm) else 0
        self.attn = (
            SlidingWindowAttention(
                cfg.d_model,
                cfg.n_heads,
                cfg.window,
                chunk=cfg.chunk,
                n_fading=self.n_fading,
                conv_kernel=cfg.conv_kernel,
                eidetic=cfg.n_eidetic > 0,
            )
            if cfg.attention
            else None
        )
        self.ssm = (
            SelectiveSSMMixer(
                cfg.d_model, cfg.d_state, cfg.expand, cfg.conv_kernel, cfg.scan_backend
            )
            if cfg.ssm
            else None
        )
        if cfg.n_eidetic:
            from scipy.stats import chi2

            self.tau = float(chi2.ppf(1.0 - cfg.threshold_alpha, cfg.d_model))
            self.chi2_median = float(chi2.median(cfg.d_model))
            self.scale_momentum = cfg.scale_momentum
            self.predictor = nn.Linear(cfg.d_model, cfg.d_model)
            self.log_lambda = nn.Parameter(torch.zeros(cfg.d_model))
            # running median of the scores, a robust estimate of their scale (see threshold());
            # saved only where the test uses it, so top-k checkpoints of earlier releases load
            self.register_buffer(
                "innovation_scale",
                torch.tensor(self.chi2_median),
                persistent=cfg.selection == "threshold",
            )
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

    def threshold(self) -> torch.Tensor:
        """Critical value of the innovation test, a 0-d tensor.

        ``tau * s / m``: the chi-square quantile ``tau = chi2.ppf(1 - threshold_alpha,
        d_model)`` rescaled by the running median ``s`` of the scores (the buffer
        ``innovation_scale``) over the median ``m`` of the chi-square law. With a calibrated
        ``Lambda`` (``s = m``) this is the textbook test; while the learned ``Lambda`` lags
        the predictor, or when heavy-tailed innovations inflate its maximum-likelihood
        estimate, the median keeps the test at its level for the typical token (a robust
        scale estimate, as the median absolute deviation is for a standard deviation).
        """
        return self.innovation_scale * (self.tau / self.chi2_median)

    def _update_scale(self, score: torch.Tensor) -> None:
        """Move ``innovation_scale`` toward the median score of a training batch."""
        scores = score.detach().float().reshape(-1)
        dist = torch.distributed
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            # the median of the global batch, so that data-parallel training moves the scale
            # exactly as one process does
            parts = [torch.empty_like(scores) for _ in range(dist.get_world_size())]
            dist.all_gather(parts, scores.contiguous())
            scores = torch.cat(parts)
        m = self.scale_momentum
        self.innovation_scale.mul_(1.0 - m).add_(m * scores.median())

    def _schedule(self, score: torch.Tensor):
        """Eidetic store seen by each chunk, (batch, n_chunks, n_eidetic) index and valid:
        every chunk's store from one batched sort (``eidetic_schedule``, tested equal to the
        chunk-by-chunk ``select_candidates`` / ``update_store`` merge that decoding runs)."""
        return eidetic_schedule(
            score, self.chunk, self.n_eidetic, self.selection, self.select_k,
            self.threshold(), self.eviction,
        )  # fmt: skip

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
            update = self.training and torch.is_grad_enabled() and self.selection == "threshold"
            with torch.no_grad():
                idx, val = self._schedule(score.detach())
                # after the selection: a forward pass selects with the scale it started with
                if update:
                    self._update_scale(score)
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
                cache["pending"], t + 1 - cs, self.selection, self.select_k, self.threshold()
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
