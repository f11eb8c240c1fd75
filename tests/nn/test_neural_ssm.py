"""NeuralStateSpace: exact start at a realization, the three rollouts agree, linearization,
the encoder's linear least-squares start, and training on a nonlinear oscillator."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import realize  # noqa: E402
from realize.compare import simulate_from_window  # noqa: E402
from realize.errors import DataError, InvalidValueError, RealizeWarning, ShapeError  # noqa: E402
from realize.nn import NeuralStateSpace, fit_neural_ssm  # noqa: E402
from realize.nn.neural_ssm import ACTIVATIONS  # noqa: E402
from realize.testing import duffing_oscillator as oscillator  # noqa: E402
from realize.testing import random_statespace  # noqa: E402


def rel(a, b):
    return np.abs(a - b).max() / max(np.abs(b).max(), 1e-300)


def perturb(model, rng, scale=0.3):
    """Random nonzero weights everywhere (the residual networks start at zero)."""
    with torch.no_grad():
        for p in model.parameters():
            p.add_(
                scale * torch.as_tensor(rng.standard_normal(p.shape)) / max(1, p.shape[-1]) ** 0.5
            )
    return model


@pytest.mark.parametrize("with_data", [False, True])
def test_from_realization_is_exact(rng, with_data):
    for _ in range(4):
        n, m, p = rng.integers(1, 6), rng.integers(1, 3), rng.integers(1, 3)
        sys = random_statespace(rng, n, m, p)
        u = 3.0 * rng.standard_normal((400, m)) + rng.standard_normal(m)
        u0, y0 = rng.standard_normal(m), rng.standard_normal(p)
        y = y0 + sys.simulate(u - u0, noise=False)
        kw = dict(u=u, y=y + 0.1 * rng.standard_normal(y.shape)) if with_data else {}
        model = NeuralStateSpace.from_realization(
            sys, u_mean=u0, y_mean=y0, hidden=16, window=8, **kw
        )
        assert rel(model.simulate(u), y) < 1e-12
        x0 = rng.standard_normal(n)
        assert rel(model.simulate(u, x0=x0), y0 + sys.simulate(u - u0, x0=x0, noise=False)) < 1e-12
        out = model(torch.as_tensor(u)[None]).detach().numpy()[0]
        assert rel(out, y) < 1e-12
        lin = model.linearize()
        for name in "ABCD":
            assert np.allclose(getattr(lin, name), getattr(sys, name), rtol=1e-11, atol=1e-12)
        assert lin.dt == sys.dt


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_rollouts_agree(rng, activation, depth):
    """Compiled simulation, fused torch rollout and the step-by-step definition."""
    n, m, p = rng.integers(1, 5), rng.integers(1, 3), rng.integers(1, 3)
    sys = random_statespace(rng, n, m, p)
    model = NeuralStateSpace.from_realization(
        sys, hidden=int(rng.integers(3, 12)), depth=depth, activation=activation, window=5
    )
    perturb(model, rng)
    u = rng.standard_normal((3, 60, m))
    x0 = rng.standard_normal((3, n))
    ut, xt = torch.as_tensor(u), torch.as_tensor(x0)
    un = model.normalize_inputs(ut)
    xn = model._state_to_normalized(xt)
    ref = model.rollout_reference(xn, un).detach().numpy()
    fast = model.rollout(xn, un).detach().numpy()
    assert rel(fast, ref) < 1e-12
    raw = model.y_mean.numpy() + model.y_scale.numpy() * ref
    for b in range(3):
        assert rel(model.simulate(u[b], x0=x0[b]), raw[b]) < 1e-11
    # gradients of the fused rollout equal those of the definition
    model.zero_grad()
    model.rollout(xn, un).square().sum().backward()
    g_fast = [q.grad.clone() for q in model.parameters() if q.grad is not None]
    model.zero_grad()
    model.rollout_reference(xn, un).square().sum().backward()
    g_ref = [q.grad.clone() for q in model.parameters() if q.grad is not None]
    assert len(g_fast) == len(g_ref)
    for a, b in zip(g_fast, g_ref):
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-12)


def test_encoder_starts_at_least_squares(rng):
    """Before training, y_init gives the linear least-squares initial state of the window."""
    for _ in range(4):
        n = int(rng.integers(1, 6))
        sys = random_statespace(rng, n, 1, 1)
        u = rng.standard_normal((300, 1))
        y = sys.simulate(u, x0=3 * rng.standard_normal(n), noise=False)
        k = int(rng.integers(n + 2, 30))
        model = NeuralStateSpace.from_realization(sys, u=u, y=y, hidden=8, window=k)
        ours = model.simulate(u, y_init=y[:k])
        theirs, _ = simulate_from_window(sys, y, u, k)
        assert np.all(np.isnan(ours[:k]))
        assert rel(ours[k:], theirs[k:]) < 1e-8
        assert rel(ours[k:], y[k:]) < 1e-6  # noise-free data: the state is recovered
        # a longer y_init: the encoder reads its last `window` samples
        longer = model.simulate(u, y_init=y[: k + 7])
        assert rel(longer[k + 7 :], y[k + 7 :]) < 1e-6


def test_linearize_matches_finite_differences(rng):
    sys = random_statespace(rng, 3, 2, 2)
    model = perturb(NeuralStateSpace.from_realization(sys, hidden=10, window=4), rng)
    x, u = rng.standard_normal(3), rng.standard_normal(2)
    lin = model.linearize(x, u)

    def step(xr, ur):
        with torch.no_grad():
            xt, ut = torch.as_tensor(xr)[None], torch.as_tensor(ur)[None]
            xn, un = model._state_to_normalized(xt), model.normalize_inputs(ut)
            _, X = model.rollout(xn, un[:, None], return_states=True)
            y = model.y_mean + model.y_scale * model.rollout(xn, un[:, None])[:, 0]
            return model._state_from_normalized(X[:, 1])[0].numpy(), y[0].numpy()

    eps = 1e-6
    for j in range(3):
        d = np.zeros(3)
        d[j] = eps
        (xp, yp), (xm, ym) = step(x + d, u), step(x - d, u)
        assert np.allclose(lin.A[:, j], (xp - xm) / (2 * eps), rtol=1e-6, atol=1e-8)
        assert np.allclose(lin.C[:, j], (yp - ym) / (2 * eps), rtol=1e-6, atol=1e-8)
    for j in range(2):
        d = np.zeros(2)
        d[j] = eps
        (xp, yp), (xm, ym) = step(x, u + d), step(x, u - d)
        assert np.allclose(lin.B[:, j], (xp - xm) / (2 * eps), rtol=1e-6, atol=1e-8)
        assert np.allclose(lin.D[:, j], (yp - ym) / (2 * eps), rtol=1e-6, atol=1e-8)


def test_simulate_bad_input(rng):
    sys = random_statespace(rng, 2, 1, 1)
    model = NeuralStateSpace.from_realization(sys, hidden=4, window=10)
    u = rng.standard_normal(50)
    with pytest.raises(DataError, match="y_init"):
        model.simulate(u, y_init=np.zeros(5))
    with pytest.raises(DataError, match="y_init"):
        model.simulate(u[:20], y_init=np.zeros(30))
    with pytest.raises(InvalidValueError, match="x0"):
        model.simulate(u, x0=np.zeros(2), y_init=np.zeros(10))
    with pytest.raises(ShapeError, match="x0"):
        model.simulate(u, x0=np.zeros(3))
    with pytest.raises(ShapeError, match="u"):
        model.simulate(np.zeros((50, 2)))
    with pytest.raises(realize.errors.NonFiniteError, match="u"):
        model.simulate(np.r_[u[:10], np.nan, u[11:]])
    with pytest.raises(InvalidValueError, match="activation"):
        NeuralStateSpace.from_realization(sys, activation="sigmoid")
    with pytest.raises(InvalidValueError, match="hidden"):
        NeuralStateSpace.from_realization(sys, hidden=0)
    with pytest.raises(DataError, match="u"):
        NeuralStateSpace.from_realization(sys, u=np.ones(50))


def test_fit_beats_the_linear_model_on_an_oscillator(rng):
    """The default settings, 600 steps: far below the linear model, on fresh data too."""
    y, u = oscillator(rng, 6000, noise=0.01)
    yv, uv = oscillator(rng, 2000)
    res = fit_neural_ssm(y, u, order=2, validation=(yv, uv), max_steps=600, progress=False)
    assert res.stop_reason == "max_steps" and res.steps == 600
    assert res.best_step > 0
    assert res.linear_val_rmse[0] > 0.3 * yv.std()  # no linear model fits it
    assert res.val_rmse[0] < 0.25 * res.linear_val_rmse[0]
    # the restored weights are the best validated ones
    best = np.argmax(res.history["step"] == res.best_step)
    assert np.allclose(res.val_rmse, res.history["val_rmse"][best])
    assert np.all(res.history["val_rmse"][:, 0] >= res.val_rmse[0] - 1e-12)
    # it generalizes to a fresh record from another seed
    yt, ut = oscillator(np.random.default_rng(12345), 3000)
    w = res.model.window
    lin, _ = simulate_from_window(res.linear, yt - res.y_mean, ut - res.u_mean, w)
    err_lin = np.sqrt(np.mean((yt[w:] - res.y_mean - lin[w:, 0]) ** 2))
    ours = res.model.simulate(ut, y_init=yt[:w])
    err = np.sqrt(np.mean((yt[w:] - ours[w:, 0]) ** 2))
    assert err < 0.25 * err_lin


# a fit small enough to take well under a second
TINY = dict(order=2, hidden=8, window=10, horizon=20, batch_size=16, progress=False)


def test_fit_is_deterministic_and_starts_at_the_linear_model(rng):
    y, u = oscillator(rng, 1500)
    a = fit_neural_ssm(y, u, **TINY, max_steps=20, eval_every=5, seed=3)
    b = fit_neural_ssm(y, u, **TINY, max_steps=20, eval_every=5, seed=3)
    for (ka, va), (kb, vb) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)
    assert np.array_equal(a.history["val_rmse"], b.history["val_rmse"])
    # the history starts at the linear model, and the result is never worse than it
    assert np.array_equal(a.history["val_rmse"][0], a.linear_val_rmse)
    assert np.all(a.val_rmse <= a.linear_val_rmse + 1e-12)


def test_fit_takes_an_n4sid_result(rng):
    y, u = oscillator(rng, 1500)
    y = y + 5.0
    start = realize.n4sid(y, u, order=2, detrend=True)
    res = fit_neural_ssm(
        y, u, init=start, max_steps=1, window=10, horizon=20, batch_size=8, hidden=4, progress=False
    )
    assert res.linear is start.model
    assert np.allclose(res.y_mean, start.y_mean)
    # the linear start sees the offset: its validation error is far below the offset
    assert res.linear_val_rmse[0] < 1.0


def test_fit_divergence_keeps_the_best_weights(rng):
    y, u = oscillator(rng, 1500)
    with pytest.warns(RealizeWarning, match="diverged"):
        res = fit_neural_ssm(y, u, **TINY, max_steps=200, lr=1e6, eval_every=50)
    assert res.stop_reason == "diverged"
    assert np.all(np.isfinite(res.val_rmse))
    assert np.all(res.val_rmse <= res.linear_val_rmse + 1e-12)


def test_fit_bad_input(rng):
    y, u = oscillator(rng, 400)
    kw = dict(TINY, max_steps=1)
    with pytest.raises(realize.errors.ShapeError, match="u: expected as many samples as y"):
        fit_neural_ssm(y, u[:-1], **kw)
    with pytest.raises(DataError, match="u"):
        fit_neural_ssm(y, None, **kw)
    with pytest.raises(realize.errors.NonFiniteError, match="y"):
        fit_neural_ssm(np.r_[y[:5], np.nan, y[6:]], u, **kw)
    with pytest.raises(DataError, match="y"):
        fit_neural_ssm(y[:40], u[:40], **kw)
    with pytest.raises(InvalidValueError, match="time_budget"):
        fit_neural_ssm(y, u, **{**kw, "time_budget": 0})
    with pytest.raises(InvalidValueError, match="max_steps"):
        fit_neural_ssm(y, u, **{**kw, "max_steps": 0})
    with pytest.raises(InvalidValueError, match="validation"):
        fit_neural_ssm(y, u, validation=1.5, **kw)
    with pytest.raises(InvalidValueError, match="init"):
        fit_neural_ssm(y, u, init="linear", **kw)
    with pytest.raises(DataError, match="init"):
        fit_neural_ssm(y, u, init=random_statespace(rng, 2, 2, 1), **kw)
    with pytest.raises(InvalidValueError, match="lr"):
        fit_neural_ssm(y, u, lr=-1.0, **kw)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_save_load_round_trip(rng, tmp_path, dtype):
    sys = random_statespace(rng, 3, 2, 1)
    model = perturb(
        NeuralStateSpace.from_realization(sys, hidden=6, depth=2, activation="silu", window=7),
        rng,
    ).to(dtype)
    path = tmp_path / "model.safetensors"
    model.save(path)
    back = NeuralStateSpace.load(path)
    assert back.config() == model.config()
    for (ka, va), (kb, vb) in zip(model.state_dict().items(), back.state_dict().items()):
        assert ka == kb and va.dtype == vb.dtype and torch.equal(va, vb)
    u = rng.standard_normal((40, 2))
    assert np.array_equal(model.simulate(u), back.simulate(u))


def test_load_refuses_bad_files(rng, tmp_path):
    import json

    from safetensors.torch import save_file

    from realize.errors import FormatError

    sys = random_statespace(rng, 2, 1, 1)
    model = NeuralStateSpace.from_realization(sys, hidden=4, window=5)
    good = tmp_path / "good.safetensors"
    model.save(good)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    config = model.config()

    def write(name, tensors, cfg, tag="realize.NeuralStateSpace"):
        path = tmp_path / name
        save_file(tensors, str(path), metadata={"format": tag, "config": json.dumps(cfg)})
        return path

    cases = {
        "huge": write("huge.safetensors", state, {**config, "hidden": 10**9}),
        "mismatch": write("mismatch.safetensors", state, {**config, "hidden": 5}),
        "extra key": write("extra.safetensors", state, {**config, "layers": 3}),
        "activation": write("act.safetensors", state, {**config, "activation": "os.system"}),
        "tag": write("tag.safetensors", state, config, tag="realize.BMOJOLM"),
        "nan": write("nan.safetensors", {**state, "A": state["A"] * np.nan}, config),
        "missing": write(
            "missing.safetensors", {k: v for k, v in state.items() if k != "C"}, config
        ),
    }
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(good.read_bytes()[:-9])
    cases["truncated"] = truncated
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(bytes(rng.integers(0, 256, 200, dtype=np.uint8)))
    cases["garbage"] = garbage
    for what, path in cases.items():
        with pytest.raises(FormatError):
            NeuralStateSpace.load(path)
            pytest.fail(f"{what}: loaded")
