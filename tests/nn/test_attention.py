"""SlidingWindowAttention against a dense position-by-position reference."""

import pytest

torch = pytest.importorskip("torch")

from realize.errors import InvalidValueError, ShapeError  # noqa: E402
from realize.nn import SlidingWindowAttention  # noqa: E402
from realize.nn.attention import reference_attention  # noqa: E402


def _memory(gen, bsz, L, cs, M):
    nc = -(-L // cs)
    idx = torch.zeros(bsz, nc, M, dtype=torch.long)
    val = torch.zeros(bsz, nc, M, dtype=torch.bool)
    for b in range(bsz):
        for c in range(1, nc):
            p = torch.randperm(c * cs, generator=gen)[:M]
            idx[b, c, : len(p)] = p
            val[b, c, : len(p)] = torch.rand(len(p), generator=gen) < 0.8
    return idx, val


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("L,W,cs,nf,kconv", [(13, 4, 3, 2, 4), (16, 5, 5, 1, 1), (9, 9, 2, 0, 3)])
def test_matches_dense_reference(seed, L, W, cs, nf, kconv):
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    attn = SlidingWindowAttention(8, 2, W, chunk=cs, n_fading=nf, conv_kernel=kconv).double()
    x = torch.randn(2, L, 8, dtype=torch.float64, generator=gen)
    f = torch.randn(2, L, 8, dtype=torch.float64, generator=gen)
    idx, val = _memory(gen, 2, L, cs, 3)
    y = attn(x, idx, val, f if nf else None)
    ref = reference_attention(attn, x, idx, val, f if nf else None)
    torch.testing.assert_close(y, ref, atol=1e-12, rtol=0)


@pytest.mark.parametrize("seed", [0, 1])
def test_chunk_size_does_not_change_result(seed):
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    a1 = SlidingWindowAttention(8, 2, 6, chunk=6).double()
    a2 = SlidingWindowAttention(8, 2, 6, chunk=4).double()
    a2.load_state_dict(a1.state_dict())
    x = torch.randn(3, 23, 8, dtype=torch.float64, generator=gen)
    torch.testing.assert_close(a1(x), a2(x), atol=1e-12, rtol=0)


def test_step_equals_forward():
    torch.manual_seed(3)
    attn = SlidingWindowAttention(8, 4, 5, chunk=2).double()
    x = torch.randn(2, 17, 8, dtype=torch.float64)
    cache = attn.init_cache(2)
    ys = torch.stack([attn.step(x[:, t], cache) for t in range(17)], 1)
    torch.testing.assert_close(ys, attn(x), atol=1e-12, rtol=0)
    assert cache["k"].shape[1] == 5  # the cache never holds more than the window


def test_causal():
    torch.manual_seed(4)
    attn = SlidingWindowAttention(8, 2, 4).double()
    x = torch.randn(1, 12, 8, dtype=torch.float64)
    x2 = x.clone()
    x2[:, 7] += 1.0
    y, y2 = attn(x), attn(x2)
    assert torch.equal(y[:, :7], y2[:, :7])
    assert not torch.allclose(y[:, 7:], y2[:, 7:])


def test_bad_inputs():
    with pytest.raises(InvalidValueError, match="n_heads"):
        SlidingWindowAttention(10, 3, 4)
    with pytest.raises(InvalidValueError, match="window"):
        SlidingWindowAttention(8, 2, 0)
    attn = SlidingWindowAttention(8, 2, 6)
    with pytest.raises(ShapeError, match="window"):
        attn(torch.randn(1, 5, 8))
    with pytest.raises(ShapeError, match="x"):
        attn(torch.randn(1, 8, 7))
