"""Saving and loading models in a documented, portable, pickle-free format.

Format (version 1)
------------------
An ``.npz`` archive (``numpy.savez_compressed``) holding

- ``__meta__``: a 0-d unicode array with a JSON object
  ``{"format": "realize", "version": 1, "kind": "StateSpace", "fields": {...}}``;
  ``fields`` holds the scalar and label fields (``dt``, ``name``, ``input_names``, ...).
  Floats are written with ``repr`` precision, so they round-trip exactly.
- one float64 array per matrix of the model (for a StateSpace: ``A, B, C, D`` and,
  where present, ``Q, R, S, K, Lambda``), stored bit for bit.

Files are read without pickle: no object arrays, no code execution. Reading checks each
member's declared size and ``.npy`` header (float64 arrays, a 0-d unicode ``__meta__``)
before it decompresses any data, within limits that are module attributes:

- ``MAX_ARRAY_BYTES`` = 256 MiB per array (a dense A of 5,792 states),
- ``MAX_TOTAL_BYTES`` = 1 GiB for all arrays together,
- ``MAX_MEMBERS`` = 64 arrays, ``MAX_META_BYTES`` = 1 MiB of metadata.

Anything else, a corrupt archive included, raises :class:`~realize.errors.FormatError`
naming the file and the member.

Other model classes take part by defining ``_to_arrays() -> (arrays, fields)`` and a
classmethod ``_from_arrays(arrays, fields)`` and being listed in ``KINDS``.
"""

from __future__ import annotations

import importlib
import io
import json
import math
import os
import struct
import tokenize
import zipfile
import zlib

import numpy as np

from realize.errors import FormatError, RealizeError
from realize.model import StateSpace, build_unchecked

__all__ = ["save", "load", "FORMAT_VERSION"]

FORMAT_VERSION = 1

# Limits on what load() reads, generous for real models (a dense 5,000-state A is 200 MB)
# and small enough that a hostile file cannot exhaust memory or time. They are module
# attributes, so a user who trusts a larger file can raise them.
MAX_ARRAY_BYTES = 2**28  # one member, as declared by the archive: 256 MiB
MAX_TOTAL_BYTES = 2**30  # all members together: 1 GiB
MAX_MEMBERS = 64
MAX_META_BYTES = 2**20  # the JSON metadata: 1 MiB
_NPY_HEADER_BYTES = 10_000  # numpy's own bound on a .npy header it parses safely

# what a corrupt or hostile archive makes zipfile, zlib, numpy's header parser or json
# raise; load() turns each into a FormatError
_CORRUPT = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    struct.error,
    RuntimeError,  # also RecursionError: deeply nested JSON
    NotImplementedError,
    SyntaxError,  # and TokenError: numpy's filter of Python 2 .npy headers
    tokenize.TokenError,
    OverflowError,
    MemoryError,
    KeyError,
    IndexError,
    TypeError,
)


# kind name -> "module:Class"
KINDS = {
    "StateSpace": "realize.model:StateSpace",
    "BilinearStateSpace": "realize.bilinear:BilinearStateSpace",
    "DynamicTexture": "realize.texture:DynamicTexture",
}


def _class_for(kind: str):
    if kind not in KINDS:
        raise FormatError(f"file: expected a model kind in {sorted(KINDS)}, got {kind!r}")
    module, cls = KINDS[kind].split(":")
    return getattr(importlib.import_module(module), cls)


def _statespace_arrays(model):
    fields = model._fields()
    arrays = {k: v for k, v in fields.items() if isinstance(v, np.ndarray)}
    meta = {
        k: (list(v) if isinstance(v, tuple) else v)
        for k, v in fields.items()
        if not isinstance(v, np.ndarray) and v is not None
    }
    return arrays, meta


def save(model, path) -> None:
    """Save a model to an ``.npz`` file in realize's versioned format.

    Parameters
    ----------
    model : StateSpace (or another realize model with ``_to_arrays``)
        The model to save: its matrices, noise model or innovation form, dt, labels
        and name.
    path : str or path-like
        Destination; written as given (numpy adds ``.npz`` if the suffix is missing).

    Returns
    -------
    None
        The model is written to ``path``; nothing is returned.

    Raises
    ------
    FormatError
        If ``model`` is not a model type realize can save.

    Examples
    --------
    >>> import os, tempfile, realize
    >>> sys = realize.StateSpace([[0.5]], [[1.0]], [[1.0]], output_names=["y"])
    >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
    >>> realize.save(sys, path)
    >>> realize.load(path) == sys
    True
    """
    kind = type(model).__name__
    if isinstance(model, StateSpace):
        arrays, fields = _statespace_arrays(model)
    elif kind in KINDS and hasattr(model, "_to_arrays"):
        arrays, fields = model._to_arrays()
    else:
        raise FormatError(f"model: expected a realize model ({', '.join(KINDS)}), got {kind}")
    for key in arrays:
        if key.startswith("__"):
            raise FormatError(f"model: array name {key!r} is reserved")
    meta = {"format": "realize", "version": FORMAT_VERSION, "kind": kind, "fields": fields}
    out = {k: np.asarray(v, dtype=float) for k, v in arrays.items()}
    out["__meta__"] = np.array(json.dumps(meta))
    np.savez_compressed(os.fspath(path), **out)


def load(path):
    """Load a model saved by :func:`save`.

    The archive is read without trusting it: every member's declared size and ``.npy``
    header (dtype, shape) is checked against the limits below before any array data is
    decompressed, and only float64 arrays and the unicode metadata are accepted.

    Parameters
    ----------
    path : str or path-like
        An ``.npz`` file written by :func:`save`.

    Returns
    -------
    model : StateSpace (or the realize model type that was saved)
        Equal to the saved model, with its matrices bit for bit.

    Raises
    ------
    FormatError
        If the file is not a realize model file, is corrupt, exceeds the size limits
        (:data:`MAX_ARRAY_BYTES`, :data:`MAX_TOTAL_BYTES`, :data:`MAX_MEMBERS`,
        :data:`MAX_META_BYTES`), holds an array that is not float64, has an unknown
        version, or describes an invalid model. The message names the file and the member.
    FileNotFoundError
        If the file does not exist.

    Examples
    --------
    >>> import os, tempfile, realize
    >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
    >>> realize.save(realize.StateSpace([[0.5]], K=[[0.2]], Lambda=[[1.0]]), path)
    >>> sys = realize.load(path)
    >>> sys.n, sys.has_innovation_form
    (1, True)
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"path: no such file: {path}")
    with open(path, "rb") as fh:
        try:
            meta, contents = _read_archive(fh, path)
        except FormatError:
            raise
        except _CORRUPT as exc:
            raise FormatError(
                f"path: expected a realize model file (.npz), got {path}: not a realize model "
                f"file, or a corrupt one ({type(exc).__name__}: {exc})"
            ) from None
    cls = _class_for(meta["kind"])
    fields = meta.get("fields", {})
    if not isinstance(fields, dict):
        raise FormatError(f"path: {path}: expected 'fields' to be a JSON object, got {fields!r}")
    try:
        if meta["kind"] == "StateSpace":
            A = contents.pop("A")
            # K and Lambda were consistent when saved: load them as stored, bit for bit
            return build_unchecked(A, {"K": None, "Lambda": None, **contents, **fields})
        return cls._from_arrays(contents, fields)
    except (RealizeError, KeyError, TypeError, ValueError) as exc:
        raise FormatError(
            f"path: {path}: expected a valid {meta['kind']}, got missing, unexpected or "
            f"invalid model fields ({type(exc).__name__}: {exc})"
        ) from None


def _read_archive(fh, path: str):
    """Validated (meta, arrays) of an open .npz file: sizes and headers before any data."""
    with zipfile.ZipFile(fh) as zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise FormatError(
                f"path: {path}: expected at most {MAX_MEMBERS} members, got {len(infos)}"
            )
        names = [info.filename for info in infos]
        if "__meta__.npy" not in names:
            raise FormatError(f"path: {path} is an npz archive but not a realize model file")
        if len(set(names)) != len(names):
            raise FormatError(f"path: {path}: expected distinct member names, got duplicates")
        for info in infos:
            _check_member(info, path)
        total = sum(info.file_size for info in infos)
        if total > MAX_TOTAL_BYTES:
            raise FormatError(
                f"path: {path}: expected at most {MAX_TOTAL_BYTES} bytes of arrays "
                f"(realize.io.MAX_TOTAL_BYTES), got {total} declared"
            )
        headers = {info.filename: _read_npy_header(zf, info, path) for info in infos}
        meta = _parse_meta(
            _read_npy_data(zf, infos[names.index("__meta__.npy")], headers, path), path
        )
        arrays = {
            info.filename[:-4]: _read_npy_data(zf, info, headers, path)
            for info in infos
            if info.filename != "__meta__.npy"
        }
    return meta, arrays


def _check_member(info: zipfile.ZipInfo, path: str) -> None:
    where = f"path: {path}: member {info.filename!r}"
    if not info.filename.endswith(".npy"):
        raise FormatError(f"{where}: expected a .npy member, got another name")
    if info.flag_bits & 0x1:
        raise FormatError(f"{where}: expected an unencrypted member, got an encrypted one")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise FormatError(
            f"{where}: expected a stored or deflated member, got compression method "
            f"{info.compress_type}"
        )
    meta = info.filename == "__meta__.npy"
    limit, name = (
        (MAX_META_BYTES, "MAX_META_BYTES") if meta else (MAX_ARRAY_BYTES, "MAX_ARRAY_BYTES")
    )
    if info.file_size > limit + _NPY_HEADER_BYTES:
        raise FormatError(
            f"{where}: expected at most {limit} bytes (realize.io.{name}), "
            f"got {info.file_size} declared"
        )


def _read_npy_header(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: str):
    """(offset, shape, fortran_order, dtype) of a member, reading only its .npy header."""
    where = f"path: {path}: member {info.filename!r}"
    with zf.open(info) as fp:
        magic = fp.read(8)
        if magic[:6] != b"\x93NUMPY" or magic[6:] not in (b"\x01\x00", b"\x02\x00"):
            raise FormatError(f"{where}: expected a .npy array (version 1.0 or 2.0), got {magic!r}")
        width = 2 if magic[6] == 1 else 4
        length_bytes = fp.read(width)
        length = int.from_bytes(length_bytes, "little") if len(length_bytes) == width else -1
        if not 0 <= length <= _NPY_HEADER_BYTES:
            raise FormatError(
                f"{where}: expected a .npy header of at most {_NPY_HEADER_BYTES} bytes, "
                f"got {length}"
            )
        header = fp.read(length)
    fmt = np.lib.format
    read = fmt.read_array_header_1_0 if magic[6] == 1 else fmt.read_array_header_2_0
    shape, fortran_order, dtype = read(io.BytesIO(length_bytes + header))
    offset = 8 + width + length
    name = info.filename[:-4]
    if name == "__meta__":
        ok = dtype.kind == "U" and shape == ()
        expected = "a 0-d unicode array"
    else:
        ok = (
            dtype.kind == "f"
            and dtype.itemsize == 8
            and not dtype.fields
            and all(d >= 0 for d in shape)
        )
        expected = "a float64 array"
    if not ok:
        raise FormatError(f"{where}: expected {expected}, got dtype {dtype.str} and shape {shape}")
    nbytes = math.prod(shape) * dtype.itemsize
    if offset + nbytes != info.file_size:
        raise FormatError(
            f"{where}: expected {offset + nbytes} bytes for shape {shape} and dtype {dtype.str}, "
            f"got {info.file_size} declared"
        )
    return offset, shape, fortran_order, dtype


def _read_npy_data(zf: zipfile.ZipFile, info: zipfile.ZipInfo, headers: dict, path: str):
    """The member's array, a native, writable copy; its size was checked by the header."""
    offset, shape, fortran_order, dtype = headers[info.filename]
    nbytes = info.file_size - offset
    with zf.open(info) as fp:
        fp.read(offset)
        data = fp.read(nbytes)  # zipfile yields at most the declared size and checks the CRC
    if len(data) != nbytes:
        raise FormatError(
            f"path: {path}: member {info.filename!r}: expected {nbytes} bytes of data, "
            f"got {len(data)} (a truncated archive)"
        )
    arr = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran_order else "C")
    return arr.astype(dtype.newbyteorder("="), order="C")


def _parse_meta(arr: np.ndarray, path: str) -> dict:
    meta = json.loads(str(arr[()]))
    if not isinstance(meta, dict) or meta.get("format") != "realize":
        raise FormatError(f"path: {path} is not a realize model file")
    version = meta.get("version")
    if version != FORMAT_VERSION:
        raise FormatError(
            f"path: {path} has format version {version!r}; this realize reads version "
            f"{FORMAT_VERSION}"
        )
    if not isinstance(meta.get("kind"), str):
        raise FormatError(f"path: {path}: expected a model kind name, got {meta.get('kind')!r}")
    return meta
