"""Selective-scan and LTI kernels against their naive references: values and gradients."""

import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")

# without a GPU the Triton kernels run in Triton's interpreter; triton reads this when
# its kernels are defined, so it must be set before realize's triton module is imported
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

from realize.errors import InvalidValueError, ShapeError  # noqa: E402
from realize.nn.ops import (  # noqa: E402
    available_backends,
    fft_conv,
    lti_kernel,
    lti_recurrent,
    lti_scan,
    selective_scan,
    selective_scan_step,
)
from realize.nn.ops.lti import lti_controllability, lti_observability  # noqa: E402
from realize.nn.ops.selective_scan import naive  # noqa: E402

try:
    import numba  # noqa: F401

    HAS_NUMBA = True
except ImportError:
    HAS_NUMBA = False
try:
    import triton  # noqa: F401

    HAS_TRITON = True
except ImportError:
    HAS_TRITON = False

NAMES = ["u", "delta", "A", "B", "C", "D", "z", "delta_bias", "h0"]


def make(rng, b, L, d, N, dtype=torch.float64, gate=True, skip=True, bias=True, h0=True):
    t = lambda *s: torch.as_tensor(rng.standard_normal(s), dtype=dtype)
    return dict(
        u=t(b, L, d),
        delta=t(b, L, d) * 0.5 - 0.5,
        A=-torch.exp(t(d, N) * 0.5),
        B=t(b, L, N),
        C=t(b, L, N),
        D=t(d) if skip else None,
        z=t(b, L, d) if gate else None,
        delta_bias=t(d) * 0.1 if bias else None,
        h0=t(b, d, N) if h0 else None,
    )


def run(backend, args, softplus=True, grads=True):
    a = {
        k: (v.detach().clone().requires_grad_(grads) if v is not None else None)
        for k, v in args.items()
    }
    y, h = selective_scan(
        a["u"],
        a["delta"],
        a["A"],
        a["B"],
        a["C"],
        D=a["D"],
        z=a["z"],
        delta_bias=a["delta_bias"],
        delta_softplus=softplus,
        h0=a["h0"],
        return_last_state=True,
        backend=backend,
    )
    out = {"y": y, "h_last": h}
    if grads:
        g = torch.Generator().manual_seed(3)
        gy = torch.randn(y.shape, generator=g, dtype=y.dtype)
        gh = torch.randn(h.shape, generator=g, dtype=h.dtype)
        torch.autograd.backward([y, h], [gy, gh])
        out.update({"d" + k: v.grad for k, v in a.items() if v is not None})
    return out


def backends():
    out = ["chunk"]
    if HAS_NUMBA:
        out.append("cpu")
    if HAS_TRITON:
        out.append("triton")
    return out


FLAGS = [
    (True, True, True, True, True),
    (False, False, False, False, False),
    (True, False, True, False, True),
]
SHAPES = [(2, 23, 5, 4), (1, 1, 3, 2), (3, 40, 17, 3), (1, 45, 2, 3)]


def cases():
    for backend in backends():
        for shape in SHAPES:
            for flags in FLAGS:
                # the Triton interpreter is slow: every flag combination on one small shape
                # spanning two chunks, the full set of shapes once (larger ones: GPU check)
                if backend == "triton" and shape[2] > 8:
                    continue
                if backend == "triton" and shape != SHAPES[0] and flags != FLAGS[0]:
                    continue
                yield backend, shape, flags


@pytest.mark.parametrize("backend,shape,flags", list(cases()))
def test_matches_naive_values_and_gradients(rng, backend, shape, flags):
    gate, skip, bias, h0, softplus = flags
    args = make(rng, *shape, gate=gate, skip=skip, bias=bias, h0=h0)
    ref = run("naive", args, softplus)
    got = run(backend, args, softplus)
    assert set(ref) == set(got)
    for k in ref:
        np.testing.assert_allclose(
            got[k].detach().numpy(), ref[k].detach().numpy(), rtol=1e-10, atol=1e-11, err_msg=k
        )


@pytest.mark.parametrize("backend", backends())
def test_float32_matches_naive(rng, backend, monkeypatch):
    if backend == "triton":
        monkeypatch.setenv("TRITON_INTERPRET", "1")
    args = {k: (v.float() if v is not None else None) for k, v in make(rng, 2, 37, 6, 4).items()}
    ref = run("naive", args)
    got = run(backend, args)
    for k in ref:
        scale = ref[k].abs().max().item()
        assert (got[k] - ref[k]).abs().max().item() <= 2e-5 * scale, k
        assert got[k].dtype == ref[k].dtype, k


@pytest.mark.parametrize("backend", ["naive", *backends()])
def test_gradcheck(rng, backend, monkeypatch):
    if backend == "triton":
        monkeypatch.setenv("TRITON_INTERPRET", "1")
    args = make(rng, 1, 6, 3, 2)
    keys = [k for k in NAMES if args[k] is not None]
    inputs = tuple(args[k].clone().requires_grad_() for k in keys)

    def f(*xs):
        kw = dict(zip(keys, xs))
        y, h = selective_scan(
            kw["u"],
            kw["delta"],
            kw["A"],
            kw["B"],
            kw["C"],
            D=kw["D"],
            z=kw["z"],
            delta_bias=kw["delta_bias"],
            delta_softplus=True,
            h0=kw["h0"],
            return_last_state=True,
            backend=backend,
        )
        return y, h

    # the interpreted Triton kernels are slow: check random directional derivatives there
    assert torch.autograd.gradcheck(
        f, inputs, eps=1e-6, atol=1e-7, rtol=1e-5, fast_mode=backend == "triton"
    )


def test_chunk_any_chunk_size(rng):
    from realize.nn.ops.selective_scan import chunk

    args = make(rng, 2, 29, 4, 3)
    ref = run("naive", args, grads=False)
    for T in (1, 3, 29, 64):
        y, h = chunk.selective_scan(
            args["u"],
            args["delta"],
            args["A"],
            args["B"],
            args["C"],
            args["D"],
            args["z"],
            args["delta_bias"],
            True,
            args["h0"],
            True,
            chunk_size=T,
        )
        np.testing.assert_allclose(y.numpy(), ref["y"].numpy(), rtol=1e-11, atol=1e-12)
        np.testing.assert_allclose(h.numpy(), ref["h_last"].numpy(), rtol=1e-11, atol=1e-12)


def test_step_matches_scan(rng):
    args = make(rng, 2, 9, 4, 3)
    y, h_last = naive.selective_scan(
        args["u"],
        args["delta"],
        args["A"],
        args["B"],
        args["C"],
        args["D"],
        args["z"],
        args["delta_bias"],
        True,
        args["h0"],
        True,
    )
    h = args["h0"]
    for t in range(9):
        y_t, h = selective_scan_step(
            args["u"][:, t],
            args["delta"][:, t],
            args["A"],
            args["B"][:, t],
            args["C"][:, t],
            args["D"],
            args["z"][:, t],
            h,
            args["delta_bias"],
            True,
        )
        np.testing.assert_allclose(y_t.numpy(), y[:, t].numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(h.numpy(), h_last.numpy(), rtol=1e-12, atol=1e-13)


def test_scan_splits_with_state_cache(rng):
    """Scanning two halves with the state carried equals scanning the whole."""
    args = make(rng, 2, 20, 3, 2, gate=False)
    full = naive.selective_scan(
        args["u"], args["delta"], args["A"], args["B"], args["C"], args["D"]
    )
    y1, h = selective_scan(
        args["u"][:, :11],
        args["delta"][:, :11],
        args["A"],
        args["B"][:, :11],
        args["C"][:, :11],
        args["D"],
        return_last_state=True,
        backend="chunk",
    )
    y2 = selective_scan(
        args["u"][:, 11:],
        args["delta"][:, 11:],
        args["A"],
        args["B"][:, 11:],
        args["C"][:, 11:],
        args["D"],
        h0=h,
        backend="chunk",
    )
    np.testing.assert_allclose(torch.cat([y1, y2], 1).numpy(), full.numpy(), rtol=1e-12, atol=1e-13)


def test_half_precision_accumulates_in_float32(rng):
    args = {k: (v.float() if v is not None else None) for k, v in make(rng, 2, 30, 4, 3).items()}
    ref = run("naive", args, grads=False)["y"]
    half = {k: (v.bfloat16() if v is not None else None) for k, v in args.items()}
    y = run("chunk", half, grads=False)["y"]
    assert y.dtype == torch.bfloat16
    assert (y.float() - ref).abs().max() <= 0.05 * ref.abs().max()


def test_bad_inputs(rng):
    a = make(rng, 2, 5, 3, 2)
    with pytest.raises(ShapeError, match="B: expected shape"):
        selective_scan(a["u"], a["delta"], a["A"], a["B"][:, :, :1], a["C"])
    with pytest.raises(ShapeError, match="u: expected"):
        selective_scan(a["u"][0], a["delta"], a["A"], a["B"], a["C"])
    with pytest.raises(ShapeError, match="D: expected shape"):
        selective_scan(
            a["u"], a["delta"], a["A"], a["B"], a["C"], D=torch.ones(4, dtype=torch.float64)
        )
    with pytest.raises(InvalidValueError, match="A: expected dtype"):
        selective_scan(a["u"], a["delta"], a["A"].to(torch.complex128), a["B"], a["C"])
    with pytest.raises(InvalidValueError, match="u: expected dtype"):
        selective_scan(a["u"].int(), a["delta"], a["A"], a["B"], a["C"])
    with pytest.raises(InvalidValueError, match="backend"):
        selective_scan(a["u"], a["delta"], a["A"], a["B"], a["C"], backend="cuda-magic")
    if HAS_NUMBA:
        with pytest.raises(InvalidValueError, match="float32 or float64|expected dtype"):
            selective_scan(*(a[k].half() for k in ("u", "delta", "A", "B", "C")), backend="cpu")


def test_triton_refuses_cpu_without_interpreter(rng, monkeypatch):
    if not HAS_TRITON:
        pytest.skip("triton not installed")
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    a = make(rng, 1, 4, 2, 2)
    with pytest.raises(InvalidValueError, match="CUDA"):
        selective_scan(a["u"], a["delta"], a["A"], a["B"], a["C"], backend="triton")


def test_dispatch():
    assert available_backends("cpu", torch.float32)[-2:] == ["chunk", "naive"]
    if HAS_NUMBA:
        assert available_backends("cpu", torch.float64)[0] in ("cpu", "triton")
    assert "cpu" not in available_backends("cpu", torch.bfloat16)


# ---------------------------------------------------------------- LTI kernels
def lti_case(rng, n=4, m=2, p=3, complex_=False):
    t = lambda *s: torch.as_tensor(rng.standard_normal(s))
    A = t(n, n)
    A = A * 0.9 / np.max(np.abs(np.linalg.eigvals(A.numpy())))
    return A, t(n, m), t(p, n), t(p, m)


@pytest.mark.parametrize("L,T", [(1, None), (17, 4), (64, None), (50, 7)])
def test_lti_forms_agree(rng, L, T):
    A, B, C, D = lti_case(rng)
    u = torch.as_tensor(rng.standard_normal((2, L, 2)))
    x0 = torch.as_tensor(rng.standard_normal((2, 4)))
    y0, x_0 = lti_recurrent(u, A, B, C, D, x0, True)
    y1, x_1 = lti_scan(u, A, B, C, D, x0, True, chunk_size=T)
    np.testing.assert_allclose(y1.numpy(), y0.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(x_1.numpy(), x_0.numpy(), rtol=1e-10, atol=1e-12)
    y2 = fft_conv(u, lti_kernel(A, B, C, D, L))
    np.testing.assert_allclose(
        y2.numpy(), lti_recurrent(u, A, B, C, D).numpy(), rtol=1e-10, atol=1e-12
    )


@pytest.mark.parametrize("L", [0, 1, 5, 8])
def test_lti_reachability_and_observability_maps(rng, L):
    A, B, C, _ = lti_case(rng)
    powers = [np.linalg.matrix_power(A.numpy(), k) for k in range(L)]
    AB, CA = lti_controllability(A, B, L), lti_observability(A, C, L)
    assert AB.shape == (L, 4, 2) and CA.shape == (L, 3, 4)
    for k, Ak in enumerate(powers):
        np.testing.assert_allclose(AB[k].numpy(), Ak @ B.numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(CA[k].numpy(), C.numpy() @ Ak, rtol=1e-12, atol=1e-14)


def test_lti_scan_gradcheck(rng):
    A, B, C, D = (x.requires_grad_() for x in lti_case(rng, 3, 1, 2))
    u = torch.as_tensor(rng.standard_normal((1, 9, 1)), dtype=torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(lambda *a: lti_scan(*a, chunk_size=4), (u, A, B, C, D))
    assert torch.autograd.gradcheck(
        lambda u, A, B, C, D: fft_conv(u, lti_kernel(A, B, C, D, 9)), (u, A, B, C, D)
    )
