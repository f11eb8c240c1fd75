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

Files are read with ``allow_pickle=False``: no object arrays, no code execution.
Other model classes take part by defining ``_to_arrays() -> (arrays, fields)`` and a
classmethod ``_from_arrays(arrays, fields)`` and being listed in ``KINDS``.
"""

from __future__ import annotations

import importlib
import json
import os
import zipfile

import numpy as np

from realize.errors import FormatError

__all__ = ["save", "load", "FORMAT_VERSION"]

FORMAT_VERSION = 1

# kind name -> "module:Class"
KINDS = {
    "StateSpace": "realize.model:StateSpace",
    "BilinearStateSpace": "realize.bilinear:BilinearStateSpace",
    "DynamicTexture": "realize.texture:DynamicTexture",
}


def _class_for(kind: str):
    if kind not in KINDS:
        raise FormatError(f"file: unknown model kind {kind!r}; known kinds: {sorted(KINDS)}")
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
    from realize.model import StateSpace

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
        If the file is not a realize model file, is corrupt, or has an unknown version.
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
    try:
        with np.load(path, allow_pickle=False) as data:
            contents = {k: data[k] for k in data.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise FormatError(f"path: {path} is not a realize model file (.npz): {exc}") from None
    if "__meta__" not in contents:
        raise FormatError(f"path: {path} is an npz archive but not a realize model file")
    try:
        meta = json.loads(str(contents.pop("__meta__")))
    except json.JSONDecodeError as exc:
        raise FormatError(f"path: {path} has corrupt metadata ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != "realize":
        raise FormatError(f"path: {path} is not a realize model file")
    version = meta.get("version")
    if version != FORMAT_VERSION:
        raise FormatError(
            f"path: {path} has format version {version!r}; this realize reads version "
            f"{FORMAT_VERSION}"
        )
    cls = _class_for(meta.get("kind"))
    fields = meta.get("fields", {})
    try:
        if meta["kind"] == "StateSpace":
            from realize.model import _build_unchecked

            A = contents.pop("A")
            # K and Lambda were consistent when saved: load them as stored, bit for bit
            return _build_unchecked(A, {"K": None, "Lambda": None, **contents, **fields})
        return cls._from_arrays(contents, fields)
    except (KeyError, TypeError) as exc:
        raise FormatError(
            f"path: {path} is missing or has unexpected model fields ({exc})"
        ) from None
