"""The B'MOJO language model: embeddings, pre-norm B'MOJO layers with MLPs, an LM head;
cached generation and safetensors checkpoints (:mod:`realize.nn._checkpoint`)."""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import nn

from realize.errors import FormatError, InvalidValueError, ShapeError
from realize.nn import _checkpoint
from realize.nn.bmojo.block import BMOJOBlock
from realize.nn.bmojo.config import BMOJOConfig

__all__ = ["BMOJOLM"]

_FORMAT = "realize.BMOJOLM"  # the format tag of BMOJOLM checkpoints


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
