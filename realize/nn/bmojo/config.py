"""The configuration of a B'MOJO model: every field checked, sizes bounded."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from realize._checks import as_int
from realize.errors import InvalidValueError
from realize.nn.ops.selective_scan import BACKENDS

__all__ = ["BLOCK_OPTIONS", "CONFIG_LIMITS", "BMOJOConfig"]

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
#: the keyword options of a BMOJOBlock: the fields of one layer beyond its four sizes
#: (d_model, d_state, window, n_eidetic)
BLOCK_OPTIONS = (
    "n_heads",
    "chunk",
    "n_fading",
    "selection",
    "select_k",
    "threshold_alpha",
    "scale_momentum",
    "eviction",
    "attention",
    "ssm",
    "conv_kernel",
    "expand",
    "scan_backend",
)
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


def _check_size(config, name: str, low: int, high: int) -> None:
    """An integer field in ``[low, high]``, stored as a Python int."""
    value = getattr(config, name)
    # as_int takes an integral float (2.0); a configuration keeps the exact integers it is
    # saved and compared with
    if isinstance(value, float):
        raise InvalidValueError(f"{name}: expected an integer in [{low}, {high}], got {value!r}")
    setattr(config, name, as_int(value, name, low=low, high=high))


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
    selection : {"threshold", "topk"}
        Candidate rule: ``"threshold"`` (default) admits every token of a chunk that passes
        the calibrated chi-square innovation test; ``"topk"`` the ``select_k`` most
        surprising tokens of each chunk (see :mod:`realize.nn.bmojo`).
    select_k : int or None
        Candidates per chunk for ``"topk"`` (default ``max(1, chunk // 4)``).
    threshold_alpha : float
        Level of the chi-square test for ``"threshold"`` (default 0.01).
    scale_momentum : float
        Momentum in ``(0, 1]`` of the running median score that calibrates the test
        (default 0.1: it follows the predictor within some tens of training steps).
    eviction : {"score", "fifo"}
        Eviction policy of the eidetic store: keep the largest scores (default) or the most
        recently picked tokens.
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

    Examples
    --------
    >>> config = BMOJOConfig(vocab_size=50, d_model=32, window=8, n_eidetic=4)
    >>> config.chunk, config.select_k  # defaults drawn from the window
    (8, 2)
    >>> BMOJOConfig.variant("mamba", d_model=32).attention
    False
    >>> BMOJOConfig(window=8, chunk=16)
    Traceback (most recent call last):
    ...
    realize.errors.InvalidValueError: chunk: expected an integer in [1, 8], got 16
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
    selection: str = "threshold"
    select_k: int | None = None
    threshold_alpha: float = 0.01
    scale_momentum: float = 0.1
    eviction: str = "score"
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
            _check_size(self, name, low, CONFIG_LIMITS[name])
        if self.chunk is None:
            self.chunk = self.window
        _check_size(self, "chunk", 1, self.window)
        if self.select_k is None:
            self.select_k = max(1, self.chunk // 4)
        _check_size(self, "select_k", 1, self.chunk)
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
        if not (_is_real(self.scale_momentum) and 0 < self.scale_momentum <= 1):
            raise InvalidValueError(
                f"scale_momentum: expected a number in (0, 1], got {self.scale_momentum!r}"
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
        """The fields that configure one :class:`BMOJOBlock` beyond its sizes."""
        return {name: getattr(self, name) for name in BLOCK_OPTIONS}

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
