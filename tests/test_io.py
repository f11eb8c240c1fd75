"""save/load: exact round trips, clear errors on bad files, never pickle."""

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
