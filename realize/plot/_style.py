"""What every figure shares: colours, figure creation, channel names and units, axes."""

from __future__ import annotations

import numpy as np

from realize.errors import ShapeError

MEASURED = "#1f1f1f"
MODEL = "#d1495b"
BAND = "#00798c"
KEPT = "#00798c"
DROPPED = "#a0a0a0"
SERIES = ("#d1495b", "#00798c", "#edae49", "#66a182", "#2e4057")  # one colour per model


def new_figure(rows=1, cols=1, ax=None, figsize=(8.0, 4.5), **kwargs):
    import matplotlib.pyplot as plt

    if ax is not None:
        if rows * cols != 1:
            raise ShapeError(f"ax: this figure needs {rows}x{cols} panels; pass ax=None")
        return ax.figure, np.array([[ax]])
    fig, axes = plt.subplots(rows, cols, figsize=figsize, squeeze=False, **kwargs)
    return fig, axes


def bracket(unit: str | None) -> str:
    return f" [{unit}]" if unit else ""


def channel_names(names, count: int, prefix: str) -> list[str]:
    if names is None:
        return [f"{prefix}{i + 1}" if count > 1 else prefix for i in range(count)]
    names = [str(n) for n in names]
    if len(names) != count:
        raise ShapeError(f"{prefix}_names: expected {count} names, got {len(names)}")
    return names


def channel_units(units, count: int) -> list[str | None]:
    if units is None or isinstance(units, str):
        return [units] * count
    units = list(units)
    if len(units) != count:
        raise ShapeError(f"units: expected {count} units, got {len(units)}")
    return units


def time_axis(dt: float, time_unit: str | None) -> tuple[float, str]:
    """(scale, label) turning sample indices into the time axis."""
    if time_unit is None:
        time_unit = "samples" if dt == 1.0 else "s"
    if time_unit == "samples":
        return 1.0, "Time [samples]"
    return float(dt), f"Time [{time_unit}]"


def transfer_names(sys):
    ins = list(sys.input_names) if getattr(sys, "input_names", None) else None
    outs = list(sys.output_names) if getattr(sys, "output_names", None) else None
    return channel_names(ins, sys.m, "u"), channel_names(outs, sys.p, "y")


def gain_unit(sys) -> str | None:
    ou = getattr(sys, "output_units", None)
    iu = getattr(sys, "input_units", None)
    if ou and iu and len(set(ou)) == 1 and len(set(iu)) == 1:
        return f"{ou[0]}/{iu[0]}"
    return None


def ranked_values(ax, values, order, *, label: str, dropped: str, boundary: str) -> None:
    """Values, largest first, on a log scale against their index 1..k.

    With ``order``, the first ``order`` are marked kept and the rest ``dropped``, a dashed
    ``boundary`` between them; without it, one curve with ``label``.
    """
    index = np.arange(1, values.size + 1)
    if order is None:
        ax.semilogy(index, values, "o-", color=KEPT, label=label)
    else:
        ax.semilogy(index, values, "-", color=DROPPED, lw=1, zorder=1)
        ax.semilogy(
            index[:order], values[:order], "o", color=KEPT, label=f"kept ({order})", zorder=2
        )
        ax.semilogy(index[order:], values[order:], "o", color=DROPPED, label=dropped, zorder=2)
        ax.axvline(order + 0.5, color=MODEL, ls="--", label=boundary)
    ax.set_xlim(0.5, values.size + 0.5)
    if values.size <= 30:
        ax.set_xticks(index)
