"""Dynamic textures: fit, synthesize (speed, reverse), predict, large-clip SVDs."""

import warnings

import numpy as np
import pytest

import realize
from realize import texture
from realize.errors import (
    DataError,
    InvalidValueError,
    NonFiniteError,
    OrderError,
    RealizeWarning,
    ShapeError,
)
from realize.testing import random_stable_matrix


def known_texture(rng, n=4, H=6, W=5, channels=None, radius=0.9):
    """A low-rank texture: leading components carry most of the variance."""
    d = H * W * (channels or 1)
    A = random_stable_matrix(rng, n, radius)
    # keep the poles away from the negative real axis so fractional speeds are defined
    lam = np.linalg.eigvals(A)
    if np.any((np.abs(lam.imag) < 1e-9) & (lam.real <= 0)):
        A = 0.5 * (A + 0.9 * np.eye(n)) if np.all(np.abs(lam) < 0.9) else A
    C, _ = np.linalg.qr(rng.standard_normal((d, n)))
    F = rng.standard_normal((n, n))
    Q = F @ F.T / n + 0.2 * np.eye(n)
    P = realize.dlyap(A, Q)
    r = 0.03 * np.trace(P) / d * rng.uniform(0.5, 1.5, d)
    shape = (H, W) if channels is None else (H, W, channels)
    return texture.DynamicTexture(A, C, Q, r, rng.uniform(50, 200, d), shape)


def test_fit_matches_clip_statistics(rng):
    true = known_texture(rng)
    clip = true.synthesize(3000, rng=rng)
    dt = texture.fit(clip, 4)
    assert dt.C.shape == (30, 4) and dt.mean.shape == (6, 5)
    np.testing.assert_allclose(dt.C.T @ dt.C, np.eye(4), atol=1e-10)
    var_model = dt.stationary_variance()
    var_clip = clip.var(axis=0)
    assert np.median(np.abs(var_model - var_clip) / var_clip) < 0.10
    syn = dt.synthesize(6000, rng=rng)
    assert syn.shape == (6000, 6, 5)
    assert abs(texture.autocorrelation(syn, 1) - texture.autocorrelation(clip, 1)) < 0.05
    # bounded: nothing beyond the clip's range plus a few standard deviations
    sd = np.sqrt(var_clip.max())
    assert np.all(np.abs(syn - dt.mean) < 10 * sd)
    # the fitted model has the true model's correlation structure (sampling error of a
    # 3000-frame clip with correlation times of ~10 frames: a few hundredths)
    for k in (1, 2, 3):
        assert abs(dt.model_autocorrelation(k) - true.model_autocorrelation(k)) < 0.08


def test_color_frames_and_uint8(rng):
    true = known_texture(rng, n=3, H=4, W=4, channels=3)
    syn = true.synthesize(800, rng=rng)
    # pixel standard deviations of about 10 grey levels: no saturation, little quantization
    syn = 128 + 10 * (syn - true.mean) / np.sqrt(syn.var(axis=0).mean())
    assert syn.min() > 0 and syn.max() < 255
    clip = np.round(syn).astype(np.uint8)
    dt = texture.fit(clip, 3)
    syn = dt.synthesize(50, rng=rng)
    assert syn.shape == (50, 4, 4, 3) and syn.dtype == np.float64
    var_clip = clip.astype(float).var(axis=0)
    assert np.median(np.abs(dt.stationary_variance() - var_clip) / var_clip) < 0.10


def test_model_is_a_statespace(rng):
    dt = texture.fit(known_texture(rng).synthesize(500, rng=rng), 3)
    sys = dt.model
    assert isinstance(sys, realize.StateSpace) and sys.has_noise_model
    np.testing.assert_allclose(np.diag(sys.R), dt.noise_variance)
    np.testing.assert_allclose(
        np.diag(sys.C @ sys.stationary_covariance() @ sys.C.T + sys.R),
        dt.stationary_variance().ravel(),
        rtol=1e-8,
    )


def test_reverse_flips_time_direction(rng):
    true = known_texture(rng, n=3, H=3, W=3, radius=0.85)
    # a non-normal A gives a clearly asymmetric lag-one covariance C A P C'
    A = np.array([[0.8, 0.6, 0.0], [-0.2, 0.7, 0.3], [0.0, 0.0, 0.5]])
    true = texture.DynamicTexture(A, true.C, np.eye(3), true.noise_variance, true.mean, (3, 3))
    clip = true.synthesize(4000, rng=rng)
    dt = texture.fit(clip, 3)
    T = 40000
    fwd = dt.synthesize(T, rng=rng)
    rev = dt.synthesize(T, reverse=True, rng=rng)
    L1 = dt.C @ dt.A @ dt.P @ dt.C.T  # model lag-one covariance E[y[t+1] y[t]']
    asym = np.linalg.norm(L1 - L1.T)
    Lf = texture.lag_covariance(fwd, 1)
    Lr = texture.lag_covariance(rev, 1)
    # sampling error of a lag covariance ~ scale * sqrt(correlation time / T)
    tol = 6 * np.linalg.norm(dt.C @ dt.P @ dt.C.T) * np.sqrt(1.0 / (1 - 0.9) / T)
    assert asym > 4 * tol  # the test can tell the two directions apart
    assert np.linalg.norm(Lf - L1) < tol
    assert np.linalg.norm(Lr - L1.T) < tol
    assert np.linalg.norm(Lr - L1) > asym - tol
    # the per-pixel variance and the pooled autocorrelation are kept
    var_model = dt.stationary_variance()
    assert np.median(np.abs(rev.var(axis=0) - var_model) / var_model) < 0.10
    assert abs(texture.autocorrelation(rev, 1) - texture.autocorrelation(clip, 1)) < 0.05


def test_speed_scales_correlation_time(rng):
    true = known_texture(rng, n=2, H=4, W=4)
    A = np.array([[0.9, 0.25], [-0.25, 0.9]])  # complex poles: fractional powers are real
    true = texture.DynamicTexture(
        A, true.C, 0.3 * np.eye(2), true.noise_variance, true.mean, (4, 4)
    )
    clip = true.synthesize(4000, rng=rng)
    dt = texture.fit(clip, 2)
    # exact: speed s at lag k is speed 1 at lag s k
    assert dt.model_autocorrelation(1, speed=2.0) == pytest.approx(dt.model_autocorrelation(2))
    assert dt.model_autocorrelation(2, speed=0.5) == pytest.approx(dt.model_autocorrelation(1))
    fast = dt.synthesize(20000, speed=2.0, rng=rng)
    slow = dt.synthesize(20000, speed=0.5, rng=rng)
    assert abs(texture.autocorrelation(fast, 1) - texture.autocorrelation(clip, 2)) < 0.05
    assert abs(texture.autocorrelation(slow, 2) - texture.autocorrelation(clip, 1)) < 0.05
    assert texture.autocorrelation(slow, 1) > texture.autocorrelation(clip, 1) + 0.05
    # stationary statistics kept
    var_model = dt.stationary_variance()
    for f in (fast, slow):
        assert np.median(np.abs(f.var(axis=0) - var_model) / var_model) < 0.10


def test_speed_negative_real_pole_and_clipping(rng):
    C = np.linalg.qr(rng.standard_normal((9, 2)))[0]
    r = 0.01 * np.ones(9)
    neg = texture.DynamicTexture(np.diag([-0.5, 0.7]), C, np.eye(2), r, np.zeros(9), (3, 3))
    with pytest.raises(InvalidValueError, match="negative"):
        neg.synthesize(10, speed=0.5)
    neg.synthesize(10, speed=2.0, rng=rng)  # integer speeds are fine
    with pytest.raises(InvalidValueError, match="speed"):
        neg.synthesize(10, speed=0.0)
    # a non-normal A whose half-step noise covariance P - A^s P A^s' is indefinite
    nn = texture.DynamicTexture(
        [[0.5, 2.0], [0.0, 0.6]], C, np.diag([0.01, 1.0]), r, np.zeros(9), (3, 3)
    )
    with pytest.warns(RealizeWarning, match="relative error"):
        out = nn.synthesize(20, speed=0.5, rng=rng)
    assert np.all(np.isfinite(out))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.synthesize(20, speed=2.0, rng=rng)  # P - A^2 P A^2' = Q + A Q A' is PSD


def dense_kalman_predictions(dt, frames):
    T = frames.shape[0]
    Y = frames.reshape(T, -1) - dt.mean.ravel()
    R = np.diag(dt.noise_variance)
    x, Pi = np.zeros(dt.order), dt.P.copy()
    out = np.empty_like(Y)
    for t in range(T):
        out[t] = dt.C @ x
        S = dt.C @ Pi @ dt.C.T + R
        Kf = Pi @ dt.C.T @ np.linalg.inv(S)
        x_f = x + Kf @ (Y[t] - dt.C @ x)
        Pi_f = Pi - Kf @ dt.C @ Pi
        x, Pi = dt.A @ x_f, dt.A @ Pi_f @ dt.A.T + dt.Q
    return (out + dt.mean.ravel()).reshape(frames.shape)


def test_predict_matches_dense_kalman_filter(rng):
    base = known_texture(rng, n=2, H=4, W=4)
    A = np.array([[0.9, 0.25], [-0.25, 0.9]])
    true = texture.DynamicTexture(A, base.C, np.eye(2), base.noise_variance, base.mean, (4, 4))
    clip = true.synthesize(600, rng=rng)
    dt = texture.fit(clip, 2)
    test_clip = true.synthesize(80, rng=rng)
    pred = dt.predict(test_clip)
    np.testing.assert_allclose(pred, dense_kalman_predictions(dt, test_clip), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(pred[0], dt.mean)
    # one-step prediction beats predicting the mean frame
    assert np.mean((pred[1:] - test_clip[1:]) ** 2) < 0.8 * np.mean((test_clip - dt.mean) ** 2)


@pytest.mark.parametrize("svd", ["gram", "randomized"])
def test_large_clip_svds_agree_with_full(rng, tmp_path, svd):
    true = known_texture(rng, n=3, H=12, W=10)
    clip = true.synthesize(300, rng=rng)
    mm = np.lib.format.open_memmap(
        tmp_path / "clip.npy", mode="w+", dtype=np.float32, shape=clip.shape
    )
    mm[:] = clip
    mm.flush()
    full = texture.fit(np.asarray(mm), 3, svd="full")
    # small row blocks: the clip is read a few rows at a time
    big = texture.fit(
        np.load(tmp_path / "clip.npy", mmap_mode="r"),
        3,
        svd=svd,
        block_bytes=300 * 10 * 8 * 3,
        rng=rng,
    )
    np.testing.assert_allclose(big.C @ big.C.T, full.C @ full.C.T, atol=1e-6)
    np.testing.assert_allclose(
        np.sort_complex(np.linalg.eigvals(big.A)),
        np.sort_complex(np.linalg.eigvals(full.A)),
        atol=1e-6,
    )
    np.testing.assert_allclose(big.stationary_variance(), full.stationary_variance(), rtol=1e-5)
    np.testing.assert_allclose(big.mean, full.mean, rtol=1e-10)


def test_bad_inputs(rng):
    clip = known_texture(rng).synthesize(50, rng=rng)
    bad = clip.copy()
    bad[7, 2, 3] = np.nan
    with pytest.raises(NonFiniteError, match="index 7"):
        texture.fit(bad, 2)
    with pytest.raises(NonFiniteError, match="frames"):
        texture.fit(bad, 2, svd="gram")
    with pytest.raises(OrderError, match="order"):
        texture.fit(clip, 49)
    with pytest.raises(OrderError, match="order"):
        texture.fit(clip[:, :1, :1], 2)  # one pixel supports order 1
    with pytest.raises(OrderError, match="rank"):
        texture.fit(np.repeat(clip[:1], 50, axis=0) + np.arange(50)[:, None, None], 3)
    with pytest.raises(OrderError, match="order"):
        texture.fit(clip, 0)
    with pytest.raises(ShapeError, match="frames"):
        texture.fit(clip[0], 2)
    with pytest.raises(DataError, match="frames"):
        texture.fit(clip[:2], 1)
    with pytest.raises(InvalidValueError, match="svd"):
        texture.fit(clip, 2, svd="qr")
    dt = texture.fit(clip, 2)
    with pytest.raises(ShapeError, match="frames"):
        dt.predict(clip[:, :3])
    with pytest.raises(NonFiniteError, match="frame 7"):
        dt.predict(bad)


def test_short_clip_is_stabilized(rng):
    # a growing ramp makes the least-squares A explosive; the fit falls back to Yule-Walker
    t = np.arange(12, dtype=float)
    clip = (1.3**t)[:, None, None] * rng.uniform(1, 2, (1, 3, 3)) + 0.01 * rng.standard_normal(
        (12, 3, 3)
    )
    with pytest.warns(RealizeWarning, match="Yule-Walker"):
        dt = texture.fit(clip, 1)
    assert np.max(np.abs(np.linalg.eigvals(dt.A))) < 1
    with pytest.raises(realize.errors.NotStableError):
        texture.fit(clip, 1, stabilize=False)


def test_yule_walker_keeps_sample_covariance(rng):
    clip = known_texture(rng, n=3).synthesize(300, rng=rng)
    dt = texture.fit(clip, 3, method="yule_walker")
    assert np.max(np.abs(np.linalg.eigvals(dt.A))) < 1
    # the stationary covariance is the sample covariance of the states: the per-pixel
    # variance of the model equals the clip's exactly
    np.testing.assert_allclose(dt.stationary_variance(), clip.var(axis=0), rtol=1e-8)
    ls = texture.fit(clip, 3)
    np.testing.assert_allclose(dt.A, ls.A, atol=0.05)  # both consistent on stationary data
    with pytest.raises(InvalidValueError, match="method"):
        texture.fit(clip, 3, method="burg")


def test_save_load_roundtrip(tmp_path, rng):
    dt = texture.fit(known_texture(rng).synthesize(200, rng=rng), 2)
    realize.save(dt, tmp_path / "tex.npz")
    back = realize.load(tmp_path / "tex.npz")
    assert isinstance(back, texture.DynamicTexture)
    for key in ("A", "C", "Q", "noise_variance", "mean", "P"):
        np.testing.assert_array_equal(getattr(back, key), getattr(dt, key))
    assert back.frame_shape == dt.frame_shape
