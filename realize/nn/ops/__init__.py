"""Sequence kernels of realize.nn, one folder per operation.

Each operation ``realize/nn/ops/<op>/`` holds ``naive.py`` (a plain torch reference,
the definition), ``chunk.py`` (a chunked parallel form in torch), ``cpu.py`` (Numba,
forward and backward) and ``triton.py`` (GPU, forward and backward), all with one
signature; the package's function dispatches on ``backend=``.

Operations
----------
selective_scan, selective_scan_step
    Mamba's input-dependent diagonal recurrence (:mod:`realize.nn.ops.selective_scan`).
window_attention
    Sliding-window attention over eidetic and fading memory
    (:mod:`realize.nn.ops.window_attention`).
lti_scan, fft_conv, lti_kernel
    Time-invariant state-space recurrences: chunked scan and FFT convolution
    (:mod:`realize.nn.ops.lti`).
"""

from __future__ import annotations

import realize.nn.ops.selective_scan as _selective_scan_pkg  # noqa: F401  (binds the subpackage first)
from realize.nn.ops.lti import fft_conv, lti_kernel, lti_recurrent, lti_scan
from realize.nn.ops.selective_scan import available_backends, selective_scan, selective_scan_step
from realize.nn.ops.window_attention import window_attention

__all__ = [
    "selective_scan",
    "selective_scan_step",
    "available_backends",
    "window_attention",
    "fft_conv",
    "lti_kernel",
    "lti_recurrent",
    "lti_scan",
]
