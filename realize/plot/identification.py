"""Figures of an identification: order choice, simulation, error spectra, whiteness."""

from __future__ import annotations

import numpy as np

from realize.errors import DataError, ShapeError
from realize.identify.residuals import whiteness
from realize.identify.validation import fit_percent
from realize.plot._style import (
    BAND,
    DROPPED,
    KEPT,
    MEASURED,
    MODEL,
    SERIES,
    bracket,
    channel_names,
    channel_units,
    new_figure,
    ranked_values,
    time_axis,
)


def singular_values(sv, order: int | None = None, *, ax=None, title: str | None = None):
    """Subspace singular values on a log scale, with the chosen order marked.

    Parameters
    ----------
    sv : (k,) array or identification result
        The singular values from subspace identification (largest first), or a
        result with ``.singular_values`` and ``.order`` (e.g. from
        :func:`realize.n4sid`).
    order : int, optional
        The chosen order, drawn as a boundary between kept (coloured) and discarded
        (grey) values. Taken from the result when one is given.
    ax : matplotlib Axes, optional
        Draw into this axes.
    title : str, optional
        Default ``"Singular values for choosing the order"``.

    Returns
    -------
    matplotlib.figure.Figure
        The singular values on a log scale, the kept ones marked.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import numpy as np, realize.plot
    >>> fig = realize.plot.singular_values(np.array([10.0, 5.0, 2.0, 0.01, 0.005]), order=3)
    >>> fig.axes[0].get_xlabel()
    'Index i [-]'
    """
    if hasattr(sv, "singular_values"):
        order = getattr(sv, "order", None) if order is None else order
        sv = sv.singular_values
    sv = np.asarray(sv, dtype=float).reshape(-1)
    if sv.size == 0:
        raise DataError("sv: expected at least one singular value, got none")
    if not np.all(np.isfinite(sv)) or np.any(sv < 0):
        raise DataError("sv: expected finite non-negative singular values")
    fig, axes = new_figure(ax=ax)
    ax = axes[0, 0]
    scale = sv[0] if sv[0] > 0 else 1.0
    rel = np.maximum(sv / scale, np.finfo(float).tiny)
    order = None if order is None else int(order)
    ranked_values(
        ax,
        rel,
        order,
        label="singular value",
        dropped="discarded",
        boundary=f"chosen order n = {order}",
    )
    ax.set_xlabel("Index i [-]")
    ax.set_ylabel(r"$\sigma_i / \sigma_1$ [-] (log scale)")
    ax.set_title(title or "Singular values for choosing the order")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="upper right")
    fig.tight_layout()
    return fig


def order_selection(
    orders, fits, chosen: int | None = None, *, labels=None, ax=None, title: str | None = None
):
    """Validation fit against the model order, the chosen order marked.

    Parameters
    ----------
    orders : (k,) array of int
        Candidate orders.
    fits : (k,) or (k, L) array
        Fit in percent of each candidate on validation data; several columns draw
        several curves (for example one per horizon, or per output). Fits below -100 %
        and ``-inf`` (a diverging, unstable model) are drawn off scale at the bottom.
    chosen : int, optional
        The order kept.
    labels : sequence of str, optional
        One legend label per column of ``fits``.
    ax : matplotlib Axes, optional
        Draw into this axes.
    title : str, optional
        Default ``"Choosing the order on validation data"``.

    Returns
    -------
    matplotlib.figure.Figure
        The validation fit against the order, the chosen order marked.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import numpy as np, realize.plot
    >>> fig = realize.plot.order_selection([1, 2, 3], [40.0, 85.0, 84.0], chosen=2)
    >>> fig.axes[0].get_ylabel()
    'Validation fit [%]'
    """
    orders = np.asarray(orders, dtype=int).reshape(-1)
    fits = np.asarray(fits, dtype=float).reshape(orders.size, -1)
    if labels is None:
        labels = (
            ["validation fit"]
            if fits.shape[1] == 1
            else [f"curve {i + 1}" for i in range(fits.shape[1])]
        )
    labels = channel_names(labels, fits.shape[1], "fit")
    on_scale = fits[np.isfinite(fits) & (fits >= -100.0)]
    low = float(on_scale.min()) if on_scale.size else -100.0
    floor = min(0.0, low) - 8.0
    fig, axes = new_figure(ax=ax, figsize=(10.0, 4.5))
    ax = axes[0, 0]
    off_label = "fit below -100 % or diverging (off scale)"
    for i in range(fits.shape[1]):
        off = ~(np.isfinite(fits[:, i]) & (fits[:, i] >= -100.0))
        shown = np.where(off, floor, fits[:, i])
        color = KEPT if fits.shape[1] == 1 else f"C{i}"
        ax.plot(orders, shown, "o-", color=color, label=labels[i], ms=5)
        if off.any():
            ax.plot(orders[off], shown[off], "v", color=DROPPED, ms=9, label=off_label)
            off_label = None
    if chosen is not None:
        ax.axvline(chosen, color=MODEL, ls="--", label=f"chosen order n = {chosen}")
        col = int(
            np.nanargmax(
                np.where(np.isfinite(fits[orders == chosen][0]), fits[orders == chosen][0], -np.inf)
            )
        )
        ax.plot(
            [chosen],
            [fits[orders == chosen][0][col]],
            "*",
            color=MODEL,
            ms=16,
            label="chosen model",
            zorder=5,
        )
    ax.set_ylim(floor - 4.0, 100.0 + 0.08 * (100.0 - floor))
    ax.set_xlabel("Model order n [-]")
    ax.set_ylabel("Validation fit [%]")
    ax.set_xticks(orders)
    ax.set_title(title or "Choosing the order on validation data")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    fig.tight_layout()
    return fig


def simulation(
    y,
    yhat,
    *,
    dt: float = 1.0,
    time_unit: str | None = None,
    window: int = 0,
    output_names=None,
    units=None,
    zoom: int | None = 1000,
    title: str | None = None,
):
    """Measured against simulated outputs, with the fit in percent.

    One row per output (at most four). A short record shows measured and simulated
    outputs overlaid. A long one shows, on the left, the whole record with the
    simulation error and, on the right, the overlay on the first ``zoom`` samples after
    the initialization window. Several models are compared by passing a dict.

    Parameters
    ----------
    y : (T, p) array
        Measured outputs (1-D means one output).
    yhat : (T, p) array or dict of str to (T, p) array
        Simulated (or predicted) outputs; a dict draws each model under its name.
    dt : float, default 1.0
        Sampling period.
    time_unit : str, optional
        Unit of ``dt``; default ``"s"`` unless ``dt == 1``, which means samples.
    window : int, default 0
        Length of the initialization window, shaded and excluded from the fit.
    output_names : sequence of str, optional
        Names of the outputs.
    units : str or sequence of str, optional
        Units of the outputs (e.g. ``"V"``).
    zoom : int or None, default 1000
        Samples shown in the zoomed panel; None or a record shorter than twice
        this draws no zoom.
    title : str, optional
        Default ``"Measured and simulated output (validation data)"``.

    Returns
    -------
    matplotlib.figure.Figure
        Per output (at most four), the whole record with the error and a zoom.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import numpy as np, realize.plot
    >>> t = np.arange(300)
    >>> fig = realize.plot.simulation(np.sin(t / 9), 0.95 * np.sin(t / 9), dt=0.01, units="V")
    >>> fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()
    ('Time [s]', 'y [V]')
    >>> fig = realize.plot.simulation(np.sin(t / 9), {"a": 0.9 * np.sin(t / 9), "b": np.cos(t)})
    >>> [line.get_label() for line in fig.axes[0].lines][1:]
    ['a (fit 90.0 %)', 'b (fit -42.0 %)']
    """
    y = np.asarray(y, dtype=float)
    y = y.reshape(len(y), -1)
    sims = _simulations(yhat, y.shape)
    T, p = y.shape
    window = int(window)
    if not 0 <= window < T:
        raise DataError(f"window: expected 0 to {T - 1} samples, got {window}")
    names = channel_names(output_names, p, "y")
    units = channel_units(units, p)
    scale, tlabel = time_axis(dt, time_unit)
    fits = {label: fit_percent(y[window:], sim[window:]) for label, sim in sims.items()}
    colors = dict(zip(sims, SERIES))
    shown = min(p, 4)
    with_zoom = zoom is not None and T >= 2 * zoom + window
    fig, axes = new_figure(
        shown,
        2 if with_zoom else 1,
        figsize=(12.0 if with_zoom else 8.0, 2.0 + 2.6 * shown),
        **({"width_ratios": [1, 1.4]} if with_zoom else {}),
    )
    t = np.arange(T) * scale
    for i in range(shown):
        ax = axes[i, 0]
        if with_zoom:
            # a long record overlaid is an unreadable band: show the whole record with
            # the simulation error, and the overlay on a zoom
            _errors(ax, t, y[:, i], {k: s[:, i] for k, s in sims.items()}, colors)
            ax.set_title(f"{names[i]}: whole record", fontsize="medium")
        else:
            _overlay(ax, t, y[:, i], {k: s[:, i] for k, s in sims.items()}, colors, fits, i)
            if p > 1:
                ax.set_title(names[i], fontsize="medium")
        if window:
            ax.axvspan(
                t[0],
                t[window - 1],
                color=BAND,
                alpha=0.25,
                label=f"initialization ({window} samples)",
            )
        panels = [ax]
        if with_zoom:
            part = slice(window, window + zoom)
            zax = axes[i, 1]
            zoomed = {k: s[part, i] for k, s in sims.items()}
            _overlay(zax, t[part], y[part, i], zoomed, colors, fits, i, lw=1.0, alpha=0.9)
            zax.set_title(
                f"{names[i]}: zoom on {zoom} samples after the initialization", fontsize="medium"
            )
            panels.append(zax)
        for ax in panels:
            ax.set_xlabel(tlabel)
            ax.set_ylabel(f"{names[i]}{bracket(units[i])}")
            ax.grid(True, alpha=0.3)
            ax.legend(loc="upper right", fontsize="small")
    fig.suptitle(title or "Measured and simulated output (validation data)")
    fig.tight_layout()
    return fig


def _errors(ax, t, y, sims: dict, colors: dict):
    """Output ``y`` measured, and the errors ``y - sim`` of the simulations, against ``t``."""
    ax.plot(t, y, color=DROPPED, lw=0.6, label="measured")
    for label, sim in sims.items():
        ax.plot(
            t,
            y - sim,
            color=colors[label],
            lw=0.6,
            label=f"error of {label} (measured - simulated)",
        )


def _overlay(ax, t, y, sims: dict, colors: dict, fits: dict, i: int, lw=0.9, alpha=0.85):
    """Output i measured (``y``) and simulated (``sims``, by label) against time ``t``."""
    ax.plot(t, y, color=MEASURED, lw=lw, label="measured")
    for label, sim in sims.items():
        ax.plot(
            t,
            sim,
            color=colors[label],
            lw=lw,
            alpha=alpha,
            label=f"{label} (fit {fits[label][i]:.1f} %)",
        )


def _simulations(yhat, shape) -> dict:
    """``yhat`` as ``{label: (T, p) array}``, each checked against the measured shape."""
    items = yhat.items() if isinstance(yhat, dict) else [("simulated", yhat)]
    sims = {}
    for label, sim in items:
        sim = np.asarray(sim, dtype=float)
        sim = sim.reshape(len(sim), -1) if sim.ndim else sim
        if sim.shape != shape:
            raise ShapeError(f"yhat: expected shape {shape} like y, got {sim.shape}")
        sims[str(label)] = sim
    if not sims:
        raise DataError("yhat: expected at least one simulation, got none")
    return sims


def error_spectra(
    y,
    yhat,
    *,
    dt: float = 1.0,
    time_unit: str | None = None,
    output_names=None,
    units=None,
    nperseg: int | None = None,
    title: str | None = None,
):
    """Power spectra of the measured output and of each model's simulation error.

    Where a model's error spectrum lies far below the output's, the model explains that
    band; where they meet, it explains nothing. Comparing a linear model with a nonlinear
    one shows where the nonlinearity was (Welch estimates, Hann windows, half overlap).

    Parameters
    ----------
    y : (T, p) array
        Measured outputs (1-D means one output), after any initialization window.
    yhat : (T, p) array or dict of str to (T, p) array
        Simulated outputs over the same samples; a dict compares several models.
    dt : float, default 1.0
        Sampling period.
    time_unit : str, optional
        Unit of ``dt``; frequencies in Hz when it is ``"s"`` (default unless ``dt == 1``),
        else in cycles/sample.
    output_names : sequence of str, optional
    units : str or sequence of str, optional
        Units of the outputs; spectra are in dB relative to 1 unit^2 per frequency unit.
    nperseg : int, optional
        Welch segment length; default ``min(1024, max(64, T // 8))``.
    title : str, optional
        Default ``"Spectra of the simulation errors"``.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per output (at most four).

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import numpy as np, realize.plot
    >>> y = np.random.default_rng(0).standard_normal(4000)
    >>> fig = realize.plot.error_spectra(y, {"half": 0.5 * y}, dt=0.01, units="V")
    >>> fig.axes[0].get_xlabel(), [line.get_label() for line in fig.axes[0].lines]
    ('Frequency [Hz]', ['measured output', 'error of half'])
    """
    from scipy.signal import welch

    y = np.asarray(y, dtype=float)
    y = y.reshape(len(y), -1)
    sims = _simulations(yhat, y.shape)
    T, p = y.shape
    if T < 16:
        raise DataError(f"y: expected at least 16 samples for a spectrum, got {T}")
    if nperseg is None:
        nperseg = min(1024, max(64, T // 8))
    nperseg = int(min(nperseg, T))
    names = channel_names(output_names, p, "y")
    units = channel_units(units, p)
    if time_unit is None:
        time_unit = "samples" if dt == 1.0 else "s"
    fs, flabel = (
        (1.0 / dt, "Frequency [Hz]") if time_unit == "s" else (1.0, "Frequency [cycles/sample]")
    )
    colors = dict(zip(sims, SERIES))
    shown = min(p, 4)
    fig, axes = new_figure(shown, 1, figsize=(8.0, 2.0 + 2.6 * shown))
    for i in range(shown):
        ax = axes[i, 0]
        f, S = welch(y[:, i], fs=fs, nperseg=nperseg)
        ax.plot(
            f[1:], 10 * np.log10(S[1:] + 1e-300), color=MEASURED, lw=1.0, label="measured output"
        )
        for label, sim in sims.items():
            f, S = welch(y[:, i] - sim[:, i], fs=fs, nperseg=nperseg)
            ax.plot(
                f[1:],
                10 * np.log10(S[1:] + 1e-300),
                color=colors[label],
                lw=1.0,
                label=f"error of {label}",
            )
        ax.set_xscale("log")
        ax.set_xlabel(flabel)
        unit = f"{units[i]}^2" if units[i] else "unit^2"
        ax.set_ylabel(f"{names[i]}: dB ({unit}/Hz)" if time_unit == "s" else f"{names[i]}: dB")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(loc="lower left", fontsize="small")
    fig.suptitle(title or "Spectra of the simulation errors")
    fig.tight_layout()
    return fig


def innovation_autocorrelation(
    e, *, max_lag: int = 40, confidence: float = 0.99, output_names=None, title: str | None = None
):
    """Autocorrelation of the innovations with the confidence band of the whiteness test.

    Parameters
    ----------
    e : (T, p) array
        Innovations (one-step prediction errors), e.g. from
        :func:`realize.compare.innovations`.
    max_lag : int, default 40
        Largest lag drawn.
    confidence : float, default 0.99
        Probability of the band ``±z/sqrt(T)`` under whiteness.
    output_names : sequence of str, optional
        Names of the outputs (one panel each, at most four).
    title : str, optional
        Default ``"Innovation autocorrelation (whiteness test)"``.

    Returns
    -------
    matplotlib.figure.Figure
        The autocorrelation of each channel with the confidence band.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import numpy as np, realize.plot
    >>> fig = realize.plot.innovation_autocorrelation(np.random.default_rng(0).standard_normal(500))
    >>> fig.axes[0].get_xlabel()
    'Lag [samples]'
    """
    test = whiteness(e, max_lag, confidence)
    r = test["autocorrelation"]
    p = r.shape[1]
    names = channel_names(output_names, p, "e")
    shown = min(p, 4)
    fig, axes = new_figure(shown, 1, figsize=(8.0, 1.6 + 2.4 * shown), sharex=True)
    lags = np.arange(r.shape[0])
    band = test["band"]
    for i in range(shown):
        ax = axes[i, 0]
        ax.axhspan(
            -band,
            band,
            color=BAND,
            alpha=0.2,
            label=f"{100 * confidence:g} % band if white (±{band:.3f})",
        )
        out = np.abs(r[:, i]) > band
        out[0] = False
        ax.vlines(lags, 0, r[:, i], color=MEASURED, lw=1.2)
        ax.plot(lags[~out], r[~out, i], "o", color=MEASURED, ms=3.5, label="autocorrelation")
        if out.any():
            ax.plot(
                lags[out],
                r[out, i],
                "o",
                color=MODEL,
                ms=4.5,
                label=f"outside band ({int(out.sum())} of {max_lag} lags)",
            )
        ax.axhline(0, color=DROPPED, lw=0.6)
        ax.set_ylabel("Autocorrelation [-]")
        if p > 1:
            ax.set_title(f"innovation of {names[i]}", fontsize="medium")
        ax.set_ylim(min(-0.25, 1.1 * r[1:, i].min() if max_lag else -0.25), 1.05)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper right", fontsize="small")
    axes[shown - 1, 0].set_xlabel("Lag [samples]")
    fig.suptitle(title or "Innovation autocorrelation (whiteness test)")
    fig.tight_layout()
    return fig
