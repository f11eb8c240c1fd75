"""realize.nn: classical realizations lifted into trainable PyTorch sequence models.

Imported only when used (torch is an optional extra: ``pip install realize[nn]``).
Shapes follow ``(batch, length, channels)``: time runs along axis 1.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "SSMLayer": "realize.nn.ssm",
    "SelectiveSSM": "realize.nn.ssm",
    "SlidingWindowAttention": "realize.nn.attention",
    "BMOJOBlock": "realize.nn.bmojo",
    "BMOJOLM": "realize.nn.bmojo",
    "BMOJOConfig": "realize.nn.bmojo",
    "NeuralStateSpace": "realize.nn.neural_ssm",
    "fit_neural_ssm": "realize.nn.fit",
    "NeuralFitResult": "realize.nn.fit",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'realize.nn' has no attribute {name!r}")


def __dir__():
    return __all__
