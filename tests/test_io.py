"""save/load: exact round trips, clear errors on bad files, never pickle."""

import io
import json
import zipfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import realize
from realize.errors import FormatError
from realize.testing import random_statespace


@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 6),
    m=st.integers(0, 3),
    p=st.integers(1, 3),
    noise=st.booleans(),
    innovation=st.booleans(),
)
def test_round_trip_is_exact(tmp_path_factory, seed, n, m, p, noise, innovation):
    rng = np.random.default_rng(seed)
    if n == 0:
        sys = realize.StateSpace(
            np.zeros((0, 0)), np.zeros((0, m)), np.zeros((p, 0)), rng.standard_normal((p, m))
        )
    else:
        sys = random_statespace(
            rng, n, m, p, noise=noise, innovation=innovation, dt=float(rng.uniform(1e-3, 1))
        )
    sys = sys.replace(
        input_names=[f"u{i}" for i in range(m)],
        output_names=[f"y{i} é" for i in range(p)],
        output_units=["V"] * p,
        name='model "quoted"',
    )
    path = tmp_path_factory.mktemp("io") / "m.npz"
    realize.save(sys, path)
    back = realize.load(path)
    assert back == sys
    assert back.dt == sys.dt


def test_similarity_transformed_model_round_trips(tmp_path, rng):
    sys = random_statespace(rng, 4, 1, 2, noise=True, innovation=True)
    T = rng.standard_normal((4, 4)) + 5 * np.eye(4)
    new = sys.similarity(T)
    realize.save(new, tmp_path / "m.npz")
    assert realize.load(tmp_path / "m.npz") == new


def test_not_a_model_file(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"this is not a zip archive")
    with pytest.raises(FormatError, match="not a realize model"):
        realize.load(bad)
    other = tmp_path / "other.npz"
    np.savez(other, x=np.ones(3))
    with pytest.raises(FormatError, match="not a realize model"):
        realize.load(other)
    with pytest.raises(FileNotFoundError):
        realize.load(tmp_path / "missing.npz")


def _rewrite_meta(path, out, change):
    with np.load(path, allow_pickle=False) as d:
        contents = {k: d[k] for k in d.files}
    meta = json.loads(str(contents["__meta__"]))
    change(meta, contents)
    contents["__meta__"] = np.array(json.dumps(meta))
    np.savez(out, **contents)


def test_unknown_version_and_kind(tmp_path, rng):
    path = tmp_path / "m.npz"
    realize.save(random_statespace(rng, 2), path)
    _rewrite_meta(path, tmp_path / "v.npz", lambda meta, c: meta.update(version=99))
    with pytest.raises(FormatError, match="version 99"):
        realize.load(tmp_path / "v.npz")
    _rewrite_meta(path, tmp_path / "k.npz", lambda meta, c: meta.update(kind="Mystery"))
    with pytest.raises(FormatError, match="Mystery"):
        realize.load(tmp_path / "k.npz")
    _rewrite_meta(path, tmp_path / "a.npz", lambda meta, c: c.pop("A"))
    with pytest.raises(FormatError, match="fields"):
        realize.load(tmp_path / "a.npz")


def test_truncated_file(tmp_path, rng):
    path = tmp_path / "m.npz"
    realize.save(random_statespace(rng, 3), path)
    data = path.read_bytes()
    (tmp_path / "t.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError):
        realize.load(tmp_path / "t.npz")


def test_object_arrays_are_refused(tmp_path):
    path = tmp_path / "p.npz"
    np.savez(path, __meta__=np.array([{"format": "realize"}], dtype=object))
    with pytest.raises(FormatError):
        realize.load(path)
    assert zipfile.is_zipfile(path)


def test_save_rejects_non_models(tmp_path):
    with pytest.raises(FormatError, match="model"):
        realize.save({"A": 1}, tmp_path / "x.npz")


# ------------------------------------------------------------ hostile files (issue 17)
def _npy(arr) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asarray(arr), allow_pickle=False)
    return buf.getvalue()


META = {"format": "realize", "version": 1, "kind": "StateSpace", "fields": {}}


def _npz(members: dict, method=zipfile.ZIP_DEFLATED) -> bytes:
    """A zip archive of raw members; values that are not bytes become .npy arrays."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data if isinstance(data, bytes) else _npy(data))
    return buf.getvalue()


def _model_npz(meta=META, **arrays) -> bytes:
    """A model archive; ``meta`` is JSON-encoded unless it is already a string."""
    text = meta if isinstance(meta, str) else json.dumps(meta)
    return _npz({"__meta__.npy": np.array(text), **{f"{k}.npy": v for k, v in arrays.items()}})


def _set_header_bytes(data: bytes, offsets: dict) -> bytes:
    """Write a byte into every local (PK\\3\\4) and central (PK\\1\\2) header of an archive."""
    out = bytearray(data)
    for sig, (off, value) in offsets.items():
        i = out.find(sig)
        while i >= 0:
            out[i + off] = value(out[i + off])
            i = out.find(sig, i + 4)
    return bytes(out)


def _load_bytes(tmp_path, data: bytes, name="f.npz"):
    path = tmp_path / name
    path.write_bytes(data)
    return realize.load(path)


def test_plain_npy_is_a_format_error(tmp_path):
    with pytest.raises(FormatError, match="not a realize model"):
        _load_bytes(tmp_path, _npy(np.ones(3)))


def test_encrypted_and_unknown_compression_members_are_refused(tmp_path):
    data = _model_npz(A=np.eye(2))
    encrypted = _set_header_bytes(
        data, {b"PK\x03\x04": (6, lambda b: b | 1), b"PK\x01\x02": (8, lambda b: b | 1)}
    )
    with pytest.raises(FormatError, match="encrypted"):
        _load_bytes(tmp_path, encrypted)
    method99 = _set_header_bytes(
        data, {b"PK\x03\x04": (8, lambda b: 99), b"PK\x01\x02": (10, lambda b: 99)}
    )
    with pytest.raises(FormatError, match="compression method 99"):
        _load_bytes(tmp_path, method99)


def test_corrupt_deflate_stream_is_a_format_error(tmp_path):
    data = bytearray(_model_npz(A=np.arange(2500.0).reshape(50, 50)))
    i = data.find(b"A.npy") + 60
    data[i : i + 40] = b"\xff" * 40
    with pytest.raises(FormatError, match="corrupt"):
        _load_bytes(tmp_path, bytes(data))


def test_huge_shape_in_npy_header_is_refused_before_allocation(tmp_path):
    header = _npy(np.eye(2)).replace(
        b"(2, 2)", b"(10**9, 10**9)".replace(b"10**9", b"1" + b"0" * 9)
    )
    with pytest.raises(FormatError, match="member 'A.npy'"):
        _load_bytes(tmp_path, _model_npz(A=header))


@pytest.mark.parametrize(
    "A", [np.eye(2, dtype=np.int64), np.eye(2) + 1j, np.eye(2, dtype=np.float32), np.array([["a"]])]
)
def test_only_float64_arrays_are_read(tmp_path, A):
    # integer, complex or single-precision data were cast silently (complex lost its
    # imaginary part); a realize file holds float64 only
    with pytest.raises(FormatError, match=r"member 'A.npy': expected a float64 array, got dtype"):
        _load_bytes(tmp_path, _model_npz(A=A))


@pytest.mark.parametrize(
    "meta",
    [{**META, "kind": ["StateSpace"]}, {**META, "fields": [1]}, "[" * 100_000 + "]" * 100_000],
)
def test_malformed_metadata_is_a_format_error(tmp_path, meta):
    with pytest.raises(FormatError, match="path"):
        _load_bytes(tmp_path, _model_npz(meta=meta, A=np.eye(2)))


def test_declared_sizes_are_checked_before_decompression(tmp_path, monkeypatch):
    # a small archive of zeros that inflates far beyond the per-array limit: refused from
    # the declared size, without decompressing (the peak memory stays far below the size)
    import tracemalloc

    monkeypatch.setattr(realize.io, "MAX_ARRAY_BYTES", 2**20, raising=False)
    data = _model_npz(A=np.zeros((1000, 1000)))
    assert len(data) < 2**16
    tracemalloc.start()
    try:
        with pytest.raises(FormatError, match=r"member 'A.npy': expected at most 1048576 bytes"):
            _load_bytes(tmp_path, data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20


def test_size_limits_are_documented_and_generous():
    assert realize.io.MAX_ARRAY_BYTES >= 2**28 and realize.io.MAX_TOTAL_BYTES >= 2**30
    for name in ("MAX_ARRAY_BYTES", "MAX_TOTAL_BYTES", "MAX_MEMBERS", "MAX_META_BYTES"):
        assert name in realize.io.__doc__ and name in realize.io.load.__doc__


def test_invalid_model_in_a_valid_archive_is_a_format_error(tmp_path):
    with pytest.raises(FormatError, match="expected a valid StateSpace"):
        _load_bytes(tmp_path, _model_npz(A=np.full((2, 2), np.nan)))
    with pytest.raises(FormatError, match="expected a valid StateSpace"):
        _load_bytes(tmp_path, _model_npz(A=np.ones((2, 3))))
