"""SSMLayer computation modes and state cache; SelectiveSSM and its bilinear realization."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import realize  # noqa: E402
from realize.errors import ShapeError  # noqa: E402
from realize.nn import SelectiveSSM, SSMLayer  # noqa: E402


@pytest.mark.parametrize("par", ["dense", "diagonal", "companion", "memory"])
def test_modes_and_state_cache_agree(rng, par):
    layer = SSMLayer(2, 3, 5, par, n_shift=2, seed=int(rng.integers(1 << 30)), dtype=torch.float64)
    u = torch.as_tensor(rng.standard_normal((2, 33, 2)))
    x0 = torch.as_tensor(rng.standard_normal((2, 5)))
    y_ref, x_ref = layer(u, state=x0, return_state=True, mode="recurrent")
    for mode in ("fft", "scan"):
        y, x = layer(u, state=x0, return_state=True, mode=mode)
        np.testing.assert_allclose(
            y.detach().numpy(), y_ref.detach().numpy(), rtol=1e-10, atol=1e-12
        )
        np.testing.assert_allclose(
            x.detach().numpy(), x_ref.detach().numpy(), rtol=1e-10, atol=1e-12
        )
    # decoding step by step with the cache reproduces the parallel pass
    x = x0
    for t in range(33):
        y_t, x = layer.step(u[:, t], x)
        np.testing.assert_allclose(
            y_t.detach().numpy(), y_ref[:, t].detach().numpy(), rtol=1e-10, atol=1e-12
        )
    # and splitting the sequence with the state carried over does too
    y1, xm = layer(u[:, :20], state=x0, return_state=True)
    y2 = layer(u[:, 20:], state=xm)
    np.testing.assert_allclose(
        torch.cat([y1, y2], 1).detach().numpy(), y_ref.detach().numpy(), rtol=1e-10, atol=1e-12
    )


def test_random_layer_is_stable_and_round_trips(rng):
    for par in ("dense", "diagonal", "companion", "memory"):
        layer = SSMLayer(1, 1, 4, par, n_shift=1, seed=1, dtype=torch.float64)
        sys = layer.to_realization()
        assert sys.is_stable()
        again = SSMLayer.from_realization(sys, par, dtype=torch.float64)
        np.testing.assert_allclose(again.to_realization().markov(20), sys.markov(20), atol=1e-12)


def test_selective_ssm_shapes_step_and_backends(rng):
    torch.manual_seed(0)
    layer = SelectiveSSM(6, 4, gate=True, dtype=torch.float64)
    x = torch.as_tensor(rng.standard_normal((2, 15, 6)))
    y, h = layer(x, return_state=True)
    assert y.shape == (2, 15, 6) and h.shape == (2, 6, 4)
    state = None
    for t in range(15):
        y_t, state = layer.step(x[:, t], state)
        np.testing.assert_allclose(
            y_t.detach().numpy(), y[:, t].detach().numpy(), rtol=1e-10, atol=1e-12
        )
    layer.backend = "naive"
    np.testing.assert_allclose(
        layer(x).detach().numpy(), y.detach().numpy(), rtol=1e-10, atol=1e-12
    )
    with pytest.raises(ShapeError, match="x: expected shape"):
        layer(torch.zeros(2, 3, 5, dtype=torch.float64))


def test_selective_ssm_is_a_bilinear_state_space(rng):
    torch.manual_seed(1)
    layer = SelectiveSSM(3, 4, dtype=torch.float64)
    x = torch.as_tensor(rng.standard_normal((2, 25, 3)))
    _, (h_last) = layer(x, return_state=True)
    for b, c in ((0, 0), (1, 2)):
        sys, v = layer.bilinear_realization(x, batch=b, channel=c)
        assert isinstance(sys, realize.BilinearStateSpace)
        states = sys.simulate(np.vstack([v, np.zeros((1, v.shape[1]))]), noise=False)  # h[t-1]
        # the state after the last step
        np.testing.assert_allclose(
            states[-1], h_last[b, c].detach().numpy(), rtol=1e-10, atol=1e-12
        )
        # and the outputs y[t] = C[t]' h[t] + D x[t]
        with torch.no_grad():
            _, B, C, _ = layer._features(x)
        y = (C[b].numpy() * states[1:]).sum(1) + layer.D[c].item() * x[b, :, c].numpy()
        np.testing.assert_allclose(y, layer(x)[b, :, c].detach().numpy(), rtol=1e-10, atol=1e-12)


def test_selective_ssm_trains(rng):
    torch.manual_seed(2)
    layer = SelectiveSSM(4, 4, backend="chunk")
    x = torch.randn(4, 32, 4)
    target = torch.roll(x, 1, dims=1)
    opt = torch.optim.Adam(layer.parameters(), lr=3e-2)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = (layer(x) - target).square().mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0]
