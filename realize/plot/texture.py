"""Figures of a dynamic texture: frames of the video and of the model."""

from __future__ import annotations

import numpy as np

from realize.errors import DataError, ShapeError
from realize.plot._style import channel_names, new_figure


def texture_frames(
    frames,
    *,
    count: int = 6,
    dt: float | None = None,
    time_unit: str = "s",
    labels=None,
    title: str | None = None,
    cmap: str = "gray",
):
    """A row of frames from a video, e.g. a clip and its dynamic-texture synthesis.

    Parameters
    ----------
    frames : (T, H, W) or (T, H, W, 3) array, or a list of such arrays
        One clip, or several clips of equal frame size drawn as rows (for example
        the original, a synthesized and a reversed sequence).
    count : int, default 6
        Frames per row, evenly spaced over each clip.
    dt : float, optional
        Frame period; frame titles show time in ``time_unit`` when given, else the
        frame index.
    time_unit : str, default "s"
        Unit of ``dt``.
    labels : sequence of str, optional
        One label per clip, drawn at the start of its row.
    title : str, optional
        Default ``"Dynamic texture frames"``.
    cmap : str, default "gray"
        Colormap for grey-level frames.

    Returns
    -------
    matplotlib.figure.Figure
        One row of frames per clip.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import numpy as np, realize.plot
    >>> clip = np.random.default_rng(0).random((20, 16, 24))
    >>> fig = realize.plot.texture_frames([clip, clip[::-1]], count=4, labels=["original", "reversed"])
    >>> len(fig.axes)
    9
    """
    clips = [frames] if isinstance(frames, np.ndarray) else list(frames)
    clips = [np.asarray(c, dtype=float) for c in clips]
    for k, c in enumerate(clips):
        if c.ndim not in (3, 4) or (c.ndim == 4 and c.shape[3] not in (3, 4)):
            raise ShapeError(
                f"frames[{k}]: expected (T, H, W) or (T, H, W, 3), got shape {c.shape}"
            )
        if c.shape[0] < 1:
            raise DataError(f"frames[{k}]: expected at least one frame, got none")
    names = channel_names(labels, len(clips), "clip")
    count = max(1, int(count))
    lo = min(float(np.nanmin(c)) for c in clips)
    hi = max(float(np.nanmax(c)) for c in clips)
    H, W = clips[0].shape[1:3]
    fig, axes = new_figure(
        len(clips), count, figsize=(1.9 * count * max(W / H, 0.6) + 1.2, 2.1 * len(clips) + 0.9)
    )
    image = None
    for r, clip in enumerate(clips):
        idx = np.unique(np.linspace(0, clip.shape[0] - 1, count).round().astype(int))
        for c in range(count):
            ax = axes[r, c]
            if c >= idx.size:
                ax.axis("off")
                continue
            frame = clip[idx[c]]
            if frame.ndim == 3:
                shown = np.clip((frame - lo) / (hi - lo if hi > lo else 1.0), 0, 1)
                ax.imshow(shown)
            else:
                image = ax.imshow(frame, cmap=cmap, vmin=lo, vmax=hi)
            stamp = f"t = {idx[c] * dt:.2f} {time_unit}" if dt else f"frame {idx[c]}"
            ax.set_title(stamp, fontsize="small")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == len(clips) - 1:
                ax.set_xlabel(f"x [pixel, {W}]", fontsize="small")
            if c == 0:
                ax.set_ylabel(f"{names[r]}\ny [pixel, {H}]", fontsize="small")
    if image is not None:
        bar = fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.8, pad=0.02)
        bar.set_label("Intensity [a.u.]")
    fig.suptitle(title or "Dynamic texture frames")
    return fig
