"""Hostile and broken files: every loader answers with a named FormatError or a correct model.

Fuzzed with hypothesis (random, truncated and mutated bytes) and with crafted archives: zip
bombs (a deflated member declaring a huge size, built small here), plain .npy files,
encrypted or exotic members, huge .npy headers, wrong dtypes (object arrays are never
unpickled), malformed safetensors headers and configurations, NaN weights. The loaders are
``realize.load``, ``BMOJOLM.load`` / ``load_weights``, the optimizer resume and the CLI
(``realize info``: exit status 2 and one line on stderr).
"""

import contextlib
import dataclasses
import io
import json
import struct
import time
import tracemalloc
import warnings
import zlib

import numpy as np
import pytest
from hypothesis import given, seed
from hypothesis import strategies as st

import realize
import realize.cli
from realize.errors import FormatError, InvalidValueError, RealizeError
from realize.testing import random_statespace

SEED = 17


# ------------------------------------------------------------------ building archives
def _npy(arr, version=None) -> bytes:
    buf = io.BytesIO()
    if version is None:
        np.lib.format.write_array(buf, np.asarray(arr), allow_pickle=True)
    else:
        np.lib.format.write_array(buf, np.asarray(arr), version=version, allow_pickle=True)
    return buf.getvalue()


def _npy_header(shape, descr="<f8", width=2, length=None) -> bytes:
    """A .npy header alone (version 1.0 with width 2, 2.0 with width 4)."""
    text = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode() + b"\n"
    n = len(text) if length is None else length
    return b"\x93NUMPY" + bytes([width // 2, 0]) + n.to_bytes(width, "little") + text


def _member(name, payload, method=8, flags=0, size=None, crc=None):
    """A raw zip member: its payload compressed by ``method`` (8 deflate, 0 stored), with
    any declared size, CRC and flags."""
    data = payload if method != 8 else zlib.compress(payload, 6)[2:-4]  # raw deflate
    return (name, data, method, flags, zlib.crc32(payload) if crc is None else crc,
            len(payload) if size is None else size)  # fmt: skip


def _zip(members) -> bytes:
    """A zip archive of raw members, header by header (APPNOTE 4.3.7, 4.3.12, 4.3.16)."""
    out, central = bytearray(), bytearray()
    for name, data, method, flags, crc, size in members:
        n, offset = name.encode(), len(out)
        out += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, flags, method, 0, 0, crc,
                           len(data), size, len(n), 0) + n + data  # fmt: skip
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, flags, method, 0, 0, crc,
                               len(data), size, len(n), 0, 0, 0, 0, 0, offset) + n  # fmt: skip
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members),
                      len(central), len(out), 0)  # fmt: skip
    return bytes(out + central + end)


def _meta(kind="StateSpace", fields=None) -> bytes:
    meta = {"format": "realize", "version": 1, "kind": kind, "fields": fields or {}}
    return _npy(np.array(json.dumps(meta)))


def _model_zip(**arrays) -> bytes:
    """A StateSpace archive whose members are given as arrays or as raw .npy bytes."""
    members = [_member("__meta__.npy", _meta())]
    for name, arr in arrays.items():
        members.append(_member(f"{name}.npy", arr if isinstance(arr, bytes) else _npy(arr)))
    return _zip(members)


def _bomb_member(name: str, mib: int):
    """A deflated float64 member of ``mib`` MiB of zeros, about 1 kB per MiB: the stream
    restarts after each MiB (a full flush), so one compressed MiB repeats (CRC left 0)."""
    n = mib * 2**17
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = _npy_header((n,))
    start = c.compress(head) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(bytes(2**20)) + c.flush(zlib.Z_FULL_FLUSH)
    data = start + block * mib + c.flush()
    return (name, data, 8, 0, 0, len(head) + 8 * n)


class _Unpickled:
    """Unpickling an instance of this class would record it in ``UNPICKLED``."""

    def __reduce__(self):
        return (_record_unpickling, ())


UNPICKLED = []


def _record_unpickling():
    UNPICKLED.append(True)
    return None


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("hostile")


def _write(workdir, data: bytes, name="f.npz"):
    path = workdir / name
    path.write_bytes(data)
    return path


def _valid_models():
    rng = np.random.default_rng(SEED)
    sys_ = random_statespace(rng, 3, 1, 2, noise=True, innovation=True)
    sys_ = sys_.replace(output_names=["y0", "y1"], name="plant")
    A = np.diag([0.5, -0.3])
    bil = realize.BilinearStateSpace(A, 0.1 * np.eye(2), np.ones((2, 1)), np.ones((1, 2)), 0.0)
    return [sys_, bil]


VALID = _valid_models()


def _valid_bytes(tmp_path_factory_dir, model) -> bytes:
    path = tmp_path_factory_dir / "valid.npz"
    realize.save(model, path)
    return path.read_bytes()


def _mutations(base: bytes):
    """Random damage to ``base``: truncation, overwritten bytes, inserted or deleted bytes."""
    n = len(base)
    truncate = st.integers(0, n - 1).map(lambda k: base[:k])
    overwrite = st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, 255)), min_size=1,
                         max_size=8).map(lambda edits: _overwrite(base, edits))  # fmt: skip
    insert = st.tuples(st.integers(0, n), st.binary(min_size=1, max_size=64)).map(
        lambda e: base[: e[0]] + e[1] + base[e[0] :]
    )
    delete = st.tuples(st.integers(0, n - 1), st.integers(1, 64)).map(
        lambda e: base[: e[0]] + base[e[0] + e[1] :]
    )
    return st.one_of(truncate, overwrite, insert, delete, st.binary(max_size=512))


def _overwrite(base: bytes, edits) -> bytes:
    out = bytearray(base)
    for i, b in edits:
        out[i] = b
    return bytes(out)


# ------------------------------------------------------------------ realize.load
def _load_or_format_error(path):
    """realize.load's only answers: a realize model or a FormatError."""
    try:
        model = realize.load(path)
    except FormatError as err:
        assert str(err).startswith("path:") or str(err).startswith("file:"), err
        return None
    assert type(model).__name__ in realize.io.KINDS
    return model


@pytest.mark.parametrize("which", range(len(VALID)))
@seed(SEED)
@given(data=st.data())
def test_load_fuzzed_archives(workdir, which, data):
    base = _valid_bytes(workdir, VALID[which])
    _load_or_format_error(_write(workdir, data.draw(_mutations(base))))


@seed(SEED)
@given(
    name=st.sampled_from(["A", "B", "C", "D", "Q", "K", "Lambda", "bogus"]),
    shape=st.lists(st.integers(0, 4), max_size=3).map(tuple),
    dtype=st.sampled_from(["<f8", ">f8", "<f4", "<i8", "<c16", "|b1", "<U3", "|O"]),
)
def test_load_members_of_any_dtype_and_shape(workdir, name, shape, dtype):
    arr = np.zeros(shape, dtype=np.dtype(dtype)) if dtype != "|O" else np.empty(shape, object)
    arrays = {"A": np.eye(2), "B": np.ones((2, 1)), "C": np.ones((1, 2)), "D": np.zeros((1, 1))}
    arrays[name] = arr
    model = _load_or_format_error(_write(workdir, _model_zip(**arrays)))
    if np.dtype(dtype).kind != "f" or np.dtype(dtype).itemsize != 8:
        assert model is None  # only float64 is read


def test_big_endian_and_fortran_order_float64_are_read_exactly(workdir):
    A = np.array([[0.5, 0.1], [-0.2, 0.3]])
    path = _write(
        workdir,
        _model_zip(A=A.astype(">f8"), B=np.asfortranarray(np.ones((2, 1))), C=np.ones((1, 2))),
    )
    assert np.array_equal(realize.load(path).A, A)


def test_zip_bomb_is_refused_from_its_declared_size(workdir):
    # 0.5 MB declaring 512 MiB of zeros (the case: 0.78 MB holding 800 MB)
    data = _zip([_member("__meta__.npy", _meta()), _bomb_member("A.npy", 512)])
    assert len(data) < 2**20
    path = _write(workdir, data)
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(FormatError, match=r"member 'A.npy'.*MAX_ARRAY_BYTES"):
            realize.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**22 and time.perf_counter() - start < 2.0


def test_zip_bomb_over_many_members_is_refused_from_the_total(workdir):
    members = [_member("__meta__.npy", _meta())]
    members += [_bomb_member(f"{k}.npy", 250) for k in "ABCDS"]
    with pytest.raises(FormatError, match="MAX_TOTAL_BYTES"):
        realize.load(_write(workdir, _zip(members)))


def test_understated_size_is_checked_against_the_npy_header(workdir):
    # a stream that inflates to 512 MiB but declares 160 bytes: zipfile stops at the declared
    # size, where the CRC or the .npy header (512 MiB) refuses it
    name, data, method, flags, crc, _ = _bomb_member("A.npy", 512)
    members = [_member("__meta__.npy", _meta()), (name, data, method, flags, crc, 160)]
    with pytest.raises(FormatError, match="A.npy"):
        realize.load(_write(workdir, _zip(members)))


@pytest.mark.parametrize(
    "member, message",
    [
        (_member("A.npy", _npy(np.eye(2)), flags=1), "encrypted"),
        (_member("A.npy", _npy(np.eye(2)), method=99), "compression method 99"),
        (_member("A.npy", _npy(np.eye(2)), method=12), "compression method 12"),  # bzip2
        (_member("A.npy", _npy_header((2, 2), width=4, length=2**31)), "header of at most"),
        (_member("A.npy", _npy_header((10**9, 10**9)) + bytes(64)), "expected 8000000"),
        (_member("A.npy", _npy_header((-1, 2))), "float64"),
        (_member("A.npy", _npy(np.eye(2), version=(3, 0))), "version 1.0 or 2.0"),
        (_member("A.npy", _npy_header((2, 2), descr="<f8")[:-3]), "corrupt"),
        (_member("A.npy", b"\x93NUMPY\x01\x00\x10\x00{'descr': [[[[[[}"), "corrupt"),
        (_member("A.npy", _npy(np.array([_Unpickled()], dtype=object))), "float64"),
        (_member("A.npy", _npy(np.eye(2)), size=2**20), "declared"),
        (_member("A.npy", _npy(np.eye(2)), crc=1), "CRC"),
        (_member("A.txt", b"hello"), "expected a .npy member"),
    ],
)
def test_crafted_members_are_named_format_errors(workdir, member, message):
    data = _zip([_member("__meta__.npy", _meta()), member])
    with pytest.raises(FormatError, match=message):
        realize.load(_write(workdir, data))
    assert not UNPICKLED


@pytest.mark.parametrize(
    "data, message",
    [
        (_npy(np.eye(2)), "not a realize model"),  # a plain .npy
        (b"", "not a realize model"),
        (_zip([]), "not a realize model"),
        (_zip([_member("A.npy", _npy(np.eye(2)))]), "not a realize model"),
        (_zip([_member("__meta__.npy", _npy(np.ones(2)))]), "unicode"),
        (_zip([_member("__meta__.npy", _npy(np.array([json.dumps({})])))]), "unicode"),
        (_zip([_member("__meta__.npy", _npy(np.array("[" * 50_000)))]), "corrupt"),
        (_zip([_member("__meta__.npy", _meta(kind=["x"]))]), "kind"),
        (
            _zip(
                [_member("__meta__.npy", _meta(fields={"A": 1})), _member("A.npy", _npy(np.eye(2)))]
            ),
            "expected a valid StateSpace",
        ),  # fmt: skip
        (_zip([_member("__meta__.npy", _meta())] * 2), "distinct"),
        (
            _zip(
                [_member("__meta__.npy", _meta())] + [_member(f"x{i}.npy", b"") for i in range(99)]
            ),
            "members",
        ),  # fmt: skip
        (_model_zip(A=np.eye(2), B=np.ones((3, 1))), "expected a valid StateSpace"),
        (_model_zip(A=np.full((2, 2), np.inf)), "expected a valid StateSpace"),
        (_model_zip(B=np.ones((2, 1))), "expected a valid StateSpace"),
    ],
)
def test_crafted_archives_are_named_format_errors(workdir, data, message):
    with pytest.raises(FormatError, match=message):
        realize.load(_write(workdir, data))


# ------------------------------------------------------------------ the CLI
def _cli(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = realize.cli.main(argv)
    return status, out.getvalue(), err.getvalue()


def _assert_one_error_line(status, err):
    assert status == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("realize: error: "), err


@seed(SEED)
@given(data=st.data())
def test_cli_info_on_fuzzed_archives(workdir, data):
    base = _valid_bytes(workdir, VALID[0])
    path = _write(workdir, data.draw(_mutations(base)), name="cli.npz")
    status, _, err = _cli(["info", str(path)])
    if status != 0:
        _assert_one_error_line(status, err)


@pytest.mark.parametrize(
    "data",
    [
        _npy(np.eye(2)),
        _zip([_member("__meta__.npy", _meta()), _bomb_member("A.npy", 512)]),
        _zip([_member("__meta__.npy", _meta(), flags=1)]),
        _zip([_member("__meta__.npy", _meta(), method=99)]),
        _model_zip(A=_npy_header((10**9, 10**9))),
        _model_zip(A=np.eye(2) * (1 + 1j)),
        _model_zip(A=np.array([_Unpickled()], dtype=object)),
        b"\x00" * 100,
    ],
)
def test_cli_info_on_crafted_archives(workdir, data):
    # TypeError, MemoryError, RuntimeError and NotImplementedError were "internal error",
    # exit status 1, and a complex A added a warning line
    path = _write(workdir, data, name="cli.npz")
    _assert_one_error_line(*_cli(["info", str(path)])[::2])
    assert not UNPICKLED


def test_cli_failure_prints_only_its_error_line(monkeypatch):
    # a warning issued before the failure used to be a second line on stderr
    def load_with_warning(path):
        warnings.warn("ill-conditioned", realize.errors.IllConditionedWarning, stacklevel=1)
        raise FormatError(f"{path}: expected a state-space model, got garbage")

    monkeypatch.setattr(realize.cli, "_load_model", load_with_warning)
    status, _, err = _cli(["info", "model.npz"])
    _assert_one_error_line(status, err)


def test_cli_success_still_shows_warnings(workdir, monkeypatch):
    path = workdir / "ok.npz"
    realize.save(VALID[0], path)
    load = realize.cli._load_model

    def load_with_warning(p):
        warnings.warn("ill-conditioned", realize.errors.IllConditionedWarning, stacklevel=1)
        return load(p)

    monkeypatch.setattr(realize.cli, "_load_model", load_with_warning)
    status, _, err = _cli(["info", str(path)])
    assert status == 0 and err.strip() == "realize: warning: ill-conditioned"


# ------------------------------------------------------------------ torch checkpoints
torch = pytest.importorskip("torch")
from realize.nn import BMOJOLM, BMOJOConfig  # noqa: E402
from realize.nn.train import _load_optimizer, _save_optimizer  # noqa: E402


@pytest.fixture(scope="module")
def checkpoint(workdir):
    torch.manual_seed(SEED)
    lm = BMOJOLM(11, 8, 2, 2, window=4, n_eidetic=2, n_heads=2, scan_backend="naive")
    path = workdir / "lm.safetensors"
    lm.save(path)
    return lm, path.read_bytes()


def _safetensors(header: dict, data: bytes = b"", length=None) -> bytes:
    raw = json.dumps(header).encode()
    return (len(raw) if length is None else length).to_bytes(8, "little") + raw + data


def _split(blob: bytes):
    n = int.from_bytes(blob[:8], "little")
    return json.loads(blob[8 : 8 + n]), blob[8 + n :]


def _load_lm_or_format_error(path):
    try:
        model = BMOJOLM.load(path)
    except FormatError as err:
        assert str(err).startswith("path:"), err
        return None
    assert isinstance(model, BMOJOLM)
    assert all(torch.isfinite(p).all() for p in model.parameters())
    return model


@seed(SEED)
@given(data=st.data())
def test_bmojo_load_fuzzed_checkpoints(workdir, checkpoint, data):
    _, base = checkpoint
    _load_lm_or_format_error(_write(workdir, data.draw(_mutations(base)), "lm.safetensors"))


CONFIG_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, 1, 3, 2**31, 10**9]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=2),
)


CONFIG_FIELDS = [f.name for f in dataclasses.fields(BMOJOConfig)] + ["bogus"]


@seed(SEED)
@given(changes=st.dictionaries(st.sampled_from(CONFIG_FIELDS), CONFIG_VALUES, max_size=3))
def test_bmojo_load_any_config(workdir, checkpoint, changes):
    lm, base = checkpoint
    header, data = _split(base)
    config = {**json.loads(header["__metadata__"]["config"]), **changes}
    header["__metadata__"]["config"] = json.dumps(config)
    path = _write(workdir, _safetensors(header, data), "cfg.safetensors")
    start = time.perf_counter()
    model = _load_lm_or_format_error(path)
    assert time.perf_counter() - start < 5.0
    if model is not None:  # a change the weights still fit (window, selection, ...)
        assert model.num_parameters() == lm.num_parameters()


def _header_cases():
    """(change to the header, expected message) for one valid checkpoint."""

    def first(h):
        return next(k for k in h if k != "__metadata__")

    def set_field(key, value):
        def change(h):
            h[first(h)][key] = value

        return change

    return [
        (set_field("dtype", "I64"), "dtype"),
        (set_field("dtype", "BOOL"), "dtype"),
        (set_field("dtype", None), "dtype"),
        (set_field("shape", [-1]), "shape"),
        (set_field("shape", [2**40, 2**40]), "data_offsets"),
        (set_field("shape", ["8"]), "shape"),
        (set_field("data_offsets", [0, 2**62]), "data_offsets"),
        (set_field("data_offsets", [4, 4]), "data_offsets"),
        (set_field("data_offsets", None), "data_offsets"),
        (lambda h: h[first(h)].pop("shape"), "dtype, shape and data_offsets"),
        (lambda h: h.update(extra=7), "dtype, shape and data_offsets"),
        (lambda h: h.update(__metadata__=[1]), "__metadata__"),
        (lambda h: h.update(__metadata__={"format": 1}), "__metadata__"),
        (lambda h: h["__metadata__"].pop("config"), "realize.BMOJOLM checkpoint"),
        (lambda h: h["__metadata__"].update(config="[" * 10**5), "JSON config"),
    ]


@pytest.mark.parametrize("change, message", _header_cases())
def test_bmojo_load_crafted_headers(workdir, checkpoint, change, message):
    header, data = _split(checkpoint[1])
    change(header)
    with pytest.raises(FormatError, match=message):
        BMOJOLM.load(_write(workdir, _safetensors(header, data), "h.safetensors"))


@pytest.mark.parametrize(
    "blob, message",
    [
        (b"", "header length"),
        (b"\xff" * 8 + b"{}", "header length"),
        ((2**24 + 1).to_bytes(8, "little") + b" " * (2**24 + 1), "header length"),
        (_safetensors({}, length=10**6), "header length"),
        (_safetensors({}) + b"x", "expected 10 bytes"),
        (b"\x04\0\0\0\0\0\0\0\xff\xfe{}", "JSON"),
        (_safetensors([1, 2]), "JSON object"),
        (_safetensors({"__metadata__": {"format": "realize.BMOJOLM", "config": "{}"}}), "missing"),
    ],
)
def test_bmojo_load_crafted_files(workdir, blob, message):
    with pytest.raises(FormatError, match=message):
        BMOJOLM.load(_write(workdir, blob, "f.safetensors"))


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_bmojo_load_refuses_non_finite_weights(workdir, checkpoint, value):
    lm, _ = checkpoint
    bad = BMOJOLM(config=lm.config)
    bad.load_state_dict(lm.state_dict())
    with torch.no_grad():
        bad.layers[1].norm1.weight[3] = value
    bad.save(workdir / "nan.safetensors")
    with pytest.raises(FormatError, match=r"layers.1.norm1.weight.*finite"):
        BMOJOLM.load(workdir / "nan.safetensors")
    with pytest.raises(FormatError, match="finite"):
        BMOJOLM(config=lm.config).load_weights(workdir / "nan.safetensors")


def test_bmojo_load_refuses_mixed_dtypes(workdir, checkpoint):
    lm, _ = checkpoint
    mixed = BMOJOLM(config=lm.config)
    mixed.norm_f.double()
    mixed.save(workdir / "mixed.safetensors")
    with pytest.raises(FormatError, match="one dtype"):
        BMOJOLM.load(workdir / "mixed.safetensors")


def test_bmojo_round_trip_is_exact(workdir, checkpoint):
    lm, base = checkpoint
    back = BMOJOLM.load(_write(workdir, base, "rt.safetensors"))
    assert back.config == lm.config
    for (name, a), (_, b) in zip(lm.state_dict().items(), back.state_dict().items()):
        assert torch.equal(a, b), name


# ------------------------------------------------------------------ optimizer resume
@pytest.fixture(scope="module")
def optimizer_file(workdir):
    torch.manual_seed(SEED)
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Linear(2, 1))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.ones(4, 3)).sum().backward()
    opt.step()
    path = workdir / "opt.safetensors"
    _save_optimizer(opt, 7, str(path))
    return model, path.read_bytes()


def _fresh_optimizer(model):
    return torch.optim.AdamW(model.parameters(), lr=1e-3)


def test_optimizer_round_trip(workdir, optimizer_file):
    model, blob = optimizer_file
    opt = _fresh_optimizer(model)
    assert _load_optimizer(opt, str(_write(workdir, blob, "o.safetensors"))) == 7
    assert len(opt.state) == 4


@seed(SEED)
@given(data=st.data())
def test_optimizer_resume_fuzzed(workdir, optimizer_file, data):
    model, blob = optimizer_file
    path = _write(workdir, data.draw(_mutations(blob)), "o.safetensors")
    try:
        _load_optimizer(_fresh_optimizer(model), str(path))
    except (FormatError, InvalidValueError):
        pass


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda h: h["__metadata__"].pop("step"), "n_params, step and groups"),
        (lambda h: h["__metadata__"].update(step="x"), "n_params, step and groups"),
        (lambda h: h["__metadata__"].update(step="-3"), "step >= 0"),
        (lambda h: h["__metadata__"].update(groups="{"), "n_params, step and groups"),
        (lambda h: h["__metadata__"].update(groups="[1]"), "groups"),
        (lambda h: h["__metadata__"].update(groups='[{"params": 1}]'), "groups"),
        (lambda h: h["__metadata__"].update(groups='[{"lr": NaN}]'), "groups"),
        (lambda h: h["__metadata__"].update(groups='[{"lr": [1]}]'), "groups"),
        (lambda h: h.update({"9.exp_avg": h.pop("0.exp_avg")}), "unexpected"),
        (lambda h: h["0.exp_avg"].update(shape=[6]), "shape"),
    ],
)
def test_optimizer_resume_crafted(workdir, optimizer_file, change, message):
    # KeyError, ValueError, JSONDecodeError, IndexError and torch errors came out before
    model, blob = optimizer_file
    header, data = _split(blob)
    change(header)
    path = _write(workdir, _safetensors(header, data), "o.safetensors")
    with pytest.raises(FormatError, match=message):
        _load_optimizer(_fresh_optimizer(model), str(path))


def test_every_error_is_a_realize_error():
    assert issubclass(FormatError, RealizeError) and issubclass(FormatError, ValueError)
