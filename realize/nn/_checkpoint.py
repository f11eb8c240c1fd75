"""Torch checkpoints (safetensors) written by realize, read without trusting the file.

Format
------
A safetensors file: an 8-byte little-endian length ``N``, ``N`` bytes of JSON, then the
tensor data. The JSON maps each tensor name to ``{"dtype", "shape", "data_offsets"}``
(``[begin, end)`` in the data section, which the tensors tile without gap or overlap) and
``__metadata__`` to a ``str -> str`` map. A realize model writes

    __metadata__ = {"format": "realize.<Class>", "config": "<its configuration, a JSON object>"}

and one tensor per entry of its state dict (tied tensors once, under their first name).

Reading
-------
Everything is checked before it is used, and every failure is a
:class:`~realize.errors.FormatError` naming the file (and the tensor):

1. :func:`read_header` parses the header itself: ``N <= MAX_HEADER_BYTES``, a JSON object,
   every tensor's dtype (floating point: F64, F32, F16, BF16), shape (integers >= 0) and
   offsets (matching dtype and shape, tiling the data section up to the end of the file);
2. :func:`read_config` checks the format tag and returns the configuration dict, which the
   model validates (types, ranges, bounded sizes) before building anything;
3. :func:`check_tensors` compares the names and shapes with those the validated
   configuration implies (no data read; the model derives them, for instance from a copy
   of itself on the ``meta`` device, which allocates nothing);
4. :func:`load_tensors` reads the tensors and refuses NaN or Inf.

A model class uses it as ``BMOJOLM`` does::

    header = _checkpoint.read_header(path)
    config = MyConfig(**_checkpoint.read_config(header, "realize.MyModel"))
    _checkpoint.check_tensors(header, shapes_implied_by(config))
    model = MyModel(config)                      # allocation bounded by the file's size
    tensors = _checkpoint.load_tensors(header, _checkpoint.tensor_shapes(model))
    model.load_state_dict(tensors, strict=False)  # strict=False: tied tensors stored once
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass

import torch

from realize.errors import FormatError

__all__ = [
    "MAX_HEADER_BYTES",
    "DTYPES",
    "TensorSpec",
    "Header",
    "read_header",
    "read_config",
    "check_tensors",
    "load_tensors",
    "tensor_shapes",
    "save",
]

# The JSON header of a model with a thousand layers of twenty tensors is about 2 MB.
MAX_HEADER_BYTES = 2**24
DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


@dataclass(frozen=True)
class TensorSpec:
    """A tensor of the file: dtype name (a key of :data:`DTYPES`), shape, byte range."""

    dtype: str
    shape: tuple[int, ...]
    start: int  # absolute offsets in the file
    stop: int


@dataclass(frozen=True)
class Header:
    """A validated safetensors header: the file, its metadata and its tensors."""

    path: str
    metadata: dict[str, str]
    tensors: dict[str, TensorSpec]


def _is_size(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def read_header(path) -> Header:
    """Parse and check the header of a safetensors file (see the module docstring).

    Raises
    ------
    FormatError
        Not a safetensors file, or a header that is too long, malformed, or inconsistent
        with the file's size.
    FileNotFoundError, OSError
        The file cannot be read.
    """
    path = os.fspath(path)
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        prefix = f.read(8)
        n = int.from_bytes(prefix, "little") if len(prefix) == 8 else -1
        if not 2 <= n <= min(MAX_HEADER_BYTES, size - 8):
            raise FormatError(
                f"path: expected a safetensors file (a header of at most {MAX_HEADER_BYTES} "
                f"bytes within the file), got {path} with a header length of {n}"
            )
        raw = f.read(n)
    try:
        header = json.loads(raw)
    except (ValueError, RecursionError) as err:
        raise FormatError(f"path: expected a JSON safetensors header, got {path} ({err})") from None
    if not isinstance(header, dict):
        raise FormatError(f"path: expected a JSON object as header, got {path}")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise FormatError(f"path: {path}: expected __metadata__ to map strings to strings")
    data_start = 8 + n
    tensors, end = {}, 0
    for name, spec in sorted(header.items(), key=lambda kv: _begin(kv[1])):
        where = f"path: {path}: tensor {name!r}"
        if not isinstance(spec, dict) or set(spec) != {"dtype", "shape", "data_offsets"}:
            raise FormatError(f"{where}: expected dtype, shape and data_offsets, got {spec!r}")
        dtype, shape, offsets = spec["dtype"], spec["shape"], spec["data_offsets"]
        if not isinstance(dtype, str) or dtype not in DTYPES:
            raise FormatError(f"{where}: expected a dtype in {sorted(DTYPES)}, got {dtype!r}")
        if not isinstance(shape, list) or not all(_is_size(d) for d in shape):
            raise FormatError(f"{where}: expected a shape of integers >= 0, got {shape!r}")
        nbytes = math.prod(shape) * DTYPES[dtype].itemsize
        if offsets != [end, end + nbytes]:
            raise FormatError(
                f"{where}: expected data_offsets {[end, end + nbytes]} (contiguous, "
                f"{nbytes} bytes for {dtype} {tuple(shape)}), got {offsets!r}"
            )
        tensors[name] = TensorSpec(dtype, tuple(shape), data_start + end, data_start + end + nbytes)
        end += nbytes
    if data_start + end != size:
        raise FormatError(
            f"path: {path}: expected {data_start + end} bytes from the header, got a file of "
            f"{size} bytes"
        )
    return Header(path, metadata, tensors)


def _begin(spec):
    """Sort key of a header entry: its offsets (a malformed entry sorts first, to fail)."""
    offsets = spec.get("data_offsets") if isinstance(spec, dict) else None
    if isinstance(offsets, list) and len(offsets) == 2 and all(_is_size(o) for o in offsets):
        return tuple(offsets)
    return (-1, -1)


def read_config(header: Header, tag: str) -> dict:
    """The configuration dict stored under ``tag`` (e.g. ``"realize.BMOJOLM"``), unvalidated.

    Raises
    ------
    FormatError
        Another format tag, or a configuration that is not a JSON object.
    """
    meta = header.metadata
    if meta.get("format") != tag or "config" not in meta:
        raise FormatError(
            f"path: expected a {tag} checkpoint, got {header.path} with format tag "
            f"{meta.get('format')!r}"
        )
    try:
        config = json.loads(meta["config"])
    except (ValueError, RecursionError) as err:
        raise FormatError(f"path: {header.path}: expected a JSON config, got {err}") from None
    if not isinstance(config, dict):
        raise FormatError(f"path: {header.path}: expected a JSON object as config, got {config!r}")
    return config


def check_tensors(header: Header, expected: dict, *, complete: bool = True) -> None:
    """Check the file's tensor names and shapes against ``expected`` (name -> shape).

    Every tensor of the file must be expected, with that shape; with ``complete``, every
    expected tensor must be in the file. Nothing is read.
    """
    unknown = sorted(set(header.tensors) - set(expected))
    missing = sorted(set(expected) - set(header.tensors)) if complete else []
    if unknown or missing:
        raise FormatError(
            f"path: {header.path}: expected the tensors of its configuration, got "
            f"{len(unknown)} unexpected {unknown[:3]} and {len(missing)} missing {missing[:3]}"
        )
    for name, spec in header.tensors.items():
        if spec.shape != tuple(expected[name]):
            raise FormatError(
                f"path: {header.path}: tensor {name!r}: expected shape {tuple(expected[name])}, "
                f"got {spec.shape}"
            )


def load_tensors(header: Header, expected: dict, *, complete: bool = True) -> dict:
    """Read the tensors (on the CPU, in their stored dtype) after :func:`check_tensors`.

    Raises
    ------
    FormatError
        Unexpected, missing or misshapen tensors, or NaN or Inf values.
    """
    check_tensors(header, expected, complete=complete)
    out = {}
    with open(header.path, "rb") as f:
        for name, spec in header.tensors.items():
            f.seek(spec.start)
            data = bytearray(spec.stop - spec.start)
            if f.readinto(data) != len(data):
                raise FormatError(f"path: {header.path}: tensor {name!r}: expected data, got EOF")
            dtype = DTYPES[spec.dtype]
            t = torch.frombuffer(data, dtype=dtype) if data else torch.empty(0, dtype=dtype)
            t = t.reshape(spec.shape)
            bad = int(t.numel() - torch.isfinite(t).sum())
            if bad:
                raise FormatError(
                    f"path: {header.path}: tensor {name!r}: expected finite values, got {bad} "
                    f"NaN or Inf entries"
                )
            out[name] = t
    return out


def tensor_shapes(module: torch.nn.Module) -> dict:
    """Names and shapes that :func:`save` writes for ``module`` (works on the meta device)."""
    seen, out = set(), {}
    for name, t in module.state_dict(keep_vars=True).items():
        if id(t) not in seen:  # a tied tensor is stored once, under its first name
            seen.add(id(t))
            out[name] = tuple(t.shape)
    return out


def save(path, module: torch.nn.Module, tag: str, config: dict) -> None:
    """Write ``module``'s state dict with ``{"format": tag, "config": json}`` metadata."""
    from safetensors.torch import save_file

    state = module.state_dict()
    tensors = {name: state[name].detach().cpu().contiguous() for name in tensor_shapes(module)}
    save_file(tensors, os.fspath(path), metadata={"format": tag, "config": json.dumps(config)})
