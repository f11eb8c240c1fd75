"""Figures for identification and realization: order choice, validation, spectra, poles.

matplotlib is imported inside each function, so ``import realize`` never loads it.
Every function returns a :class:`matplotlib.figure.Figure` with a title, axis labels
with units and a legend; pass ``ax=`` to draw into an existing axes instead (where a
figure has a single panel). Time axes are in seconds when a sampling period in
seconds is given (``time_unit="s"``), otherwise in samples.

================================== ==============================================
function                           shows
================================== ==============================================
:func:`singular_values`            subspace singular values and the chosen order
:func:`order_selection`            validation fit against the model order
:func:`simulation`                 measured against simulated outputs
:func:`error_spectra`              spectra of the simulation errors of several models
:func:`bode`                       frequency response, magnitude and phase
:func:`pole_zero`                  poles and transmission zeros with the unit circle
:func:`innovation_autocorrelation` whiteness test of the innovations
:func:`hankel_singular_values`     Hankel singular values, for model reduction
:func:`texture_frames`             frames of a (dynamic-texture) video
================================== ==============================================

Example
-------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import numpy as np, realize, realize.plot
>>> sys = realize.StateSpace([[0.9, 0.2], [-0.2, 0.9]], [[1.0], [0.0]], [[1.0, 0.0]])
>>> fig = realize.plot.pole_zero(sys)
>>> fig.axes[0].get_title()
'Poles and zeros'
"""

from __future__ import annotations

import numpy as np

from realize.errors import DataError, ShapeError
from realize.identify.validation import fit_percent, whiteness

__all__ = [
    "singular_values",
    "order_selection",
    "simulation",
    "error_spectra",
    "bode",
    "pole_zero",
    "innovation_autocorrelation",
    "hankel_singular_values",
    "texture_frames",
    "transmission_zeros",
]

_MEASURED = "#1f1f1f"
_MODEL = "#d1495b"
_BAND = "#00798c"
_KEPT = "#00798c"
_DROPPED = "#a0a0a0"
_SERIES = ("#d1495b", "#00798c", "#edae49", "#66a182", "#2e4057")  # one colour per model


def _new_figure(rows=1, cols=1, ax=None, figsize=(8.0, 4.5), **kwargs):
    import matplotlib.pyplot as plt

    if ax is not None:
        if rows * cols != 1:
            raise ShapeError(f"ax: this figure needs {rows}x{cols} panels; pass ax=None")
        return ax.figure, np.array([[ax]])
    fig, axes = plt.subplots(rows, cols, figsize=figsize, squeeze=False, **kwargs)
    return fig, axes


def _bracket(unit: str | None) -> str:
    return f" [{unit}]" if unit else ""


def _labels(names, count: int, prefix: str) -> list[str]:
    if names is None:
        return [f"{prefix}{i + 1}" if count > 1 else prefix for i in range(count)]
    names = [str(n) for n in names]
    if len(names) != count:
        raise ShapeError(f"{prefix}_names: expected {count} names, got {len(names)}")
    return names


def _units(units, count: int) -> list[str | None]:
    if units is None or isinstance(units, str):
        return [units] * count
    units = list(units)
    if len(units) != count:
        raise ShapeError(f"units: expected {count} units, got {len(units)}")
    return units


def _time_axis(dt: float, time_unit: str | None) -> tuple[float, str]:
    """(scale, label) turning sample indices into the time axis."""
    if time_unit is None:
        time_unit = "samples" if dt == 1.0 else "s"
    if time_unit == "samples":
        return 1.0, "Time [samples]"
    return float(dt), f"Time [{time_unit}]"


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
    fig, axes = _new_figure(ax=ax)
    ax = axes[0, 0]
    scale = sv[0] if sv[0] > 0 else 1.0
    rel = np.maximum(sv / scale, np.finfo(float).tiny)
    index = np.arange(1, sv.size + 1)
    if order is None:
        ax.semilogy(index, rel, "o-", color=_KEPT, label="singular value")
    else:
        order = int(order)
        ax.semilogy(index, rel, "-", color=_DROPPED, lw=1, zorder=1)
        ax.semilogy(index[:order], rel[:order], "o", color=_KEPT, label=f"kept ({order})", zorder=2)
        ax.semilogy(index[order:], rel[order:], "o", color=_DROPPED, label="discarded", zorder=2)
        ax.axvline(order + 0.5, color=_MODEL, ls="--", label=f"chosen order n = {order}")
    ax.set_xlabel("Index i [-]")
    ax.set_ylabel(r"$\sigma_i / \sigma_1$ [-] (log scale)")
    ax.set_title(title or "Singular values for choosing the order")
    ax.set_xlim(0.5, sv.size + 0.5)
    if sv.size <= 30:
        ax.set_xticks(index)
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
    labels = _labels(labels, fits.shape[1], "fit")
    on_scale = fits[np.isfinite(fits) & (fits >= -100.0)]
    low = float(on_scale.min()) if on_scale.size else -100.0
    floor = min(0.0, low) - 8.0
    fig, axes = _new_figure(ax=ax, figsize=(10.0, 4.5))
    ax = axes[0, 0]
    off_label = "fit below -100 % or diverging (off scale)"
    for i in range(fits.shape[1]):
        off = ~(np.isfinite(fits[:, i]) & (fits[:, i] >= -100.0))
        shown = np.where(off, floor, fits[:, i])
        color = _KEPT if fits.shape[1] == 1 else f"C{i}"
        ax.plot(orders, shown, "o-", color=color, label=labels[i], ms=5)
        if off.any():
            ax.plot(orders[off], shown[off], "v", color=_DROPPED, ms=9, label=off_label)
            off_label = None
    if chosen is not None:
        ax.axvline(chosen, color=_MODEL, ls="--", label=f"chosen order n = {chosen}")
        col = int(
            np.nanargmax(
                np.where(np.isfinite(fits[orders == chosen][0]), fits[orders == chosen][0], -np.inf)
            )
        )
        ax.plot(
            [chosen],
            [fits[orders == chosen][0][col]],
            "*",
            color=_MODEL,
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
    names = _labels(output_names, p, "y")
    units = _units(units, p)
    scale, tlabel = _time_axis(dt, time_unit)
    fits = {label: fit_percent(y[window:], sim[window:]) for label, sim in sims.items()}
    colors = dict(zip(sims, _SERIES))
    shown = min(p, 4)
    with_zoom = zoom is not None and T >= 2 * zoom + window
    fig, axes = _new_figure(
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
            ax.plot(t, y[:, i], color=_DROPPED, lw=0.6, label="measured")
            for label, sim in sims.items():
                ax.plot(
                    t,
                    y[:, i] - sim[:, i],
                    color=colors[label],
                    lw=0.6,
                    label=f"error of {label} (measured - simulated)",
                )
            ax.set_title(f"{names[i]}: whole record", fontsize="medium")
        else:
            ax.plot(t, y[:, i], color=_MEASURED, lw=0.9, label="measured")
            for label, sim in sims.items():
                ax.plot(
                    t,
                    sim[:, i],
                    color=colors[label],
                    lw=0.9,
                    alpha=0.85,
                    label=f"{label} (fit {fits[label][i]:.1f} %)",
                )
            if p > 1:
                ax.set_title(names[i], fontsize="medium")
        if window:
            ax.axvspan(
                t[0],
                t[window - 1],
                color=_BAND,
                alpha=0.25,
                label=f"initialization ({window} samples)",
            )
        panels = [ax]
        if with_zoom:
            part = slice(window, window + zoom)
            zax = axes[i, 1]
            zax.plot(t[part], y[part, i], color=_MEASURED, lw=1.0, label="measured")
            for label, sim in sims.items():
                zax.plot(
                    t[part],
                    sim[part, i],
                    color=colors[label],
                    lw=1.0,
                    alpha=0.9,
                    label=f"{label} (fit {fits[label][i]:.1f} %)",
                )
            zax.set_title(
                f"{names[i]}: zoom on {zoom} samples after the initialization", fontsize="medium"
            )
            panels.append(zax)
        for ax in panels:
            ax.set_xlabel(tlabel)
            ax.set_ylabel(f"{names[i]}{_bracket(units[i])}")
            ax.grid(True, alpha=0.3)
            ax.legend(loc="upper right", fontsize="small")
    fig.suptitle(title or "Measured and simulated output (validation data)")
    fig.tight_layout()
    return fig


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
    names = _labels(output_names, p, "y")
    units = _units(units, p)
    if time_unit is None:
        time_unit = "samples" if dt == 1.0 else "s"
    fs, flabel = (
        (1.0 / dt, "Frequency [Hz]") if time_unit == "s" else (1.0, "Frequency [cycles/sample]")
    )
    colors = dict(zip(sims, _SERIES))
    shown = min(p, 4)
    fig, axes = _new_figure(shown, 1, figsize=(8.0, 2.0 + 2.6 * shown))
    for i in range(shown):
        ax = axes[i, 0]
        f, S = welch(y[:, i], fs=fs, nperseg=nperseg)
        ax.plot(
            f[1:], 10 * np.log10(S[1:] + 1e-300), color=_MEASURED, lw=1.0, label="measured output"
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


def _transfer_labels(sys):
    ins = list(sys.input_names) if getattr(sys, "input_names", None) else None
    outs = list(sys.output_names) if getattr(sys, "output_names", None) else None
    return _labels(ins, sys.m, "u"), _labels(outs, sys.p, "y")


def _gain_unit(sys) -> str | None:
    ou = getattr(sys, "output_units", None)
    iu = getattr(sys, "input_units", None)
    if ou and iu and len(set(ou)) == 1 and len(set(iu)) == 1:
        return f"{ou[0]}/{iu[0]}"
    return None


def _empirical_response(u, y, nperseg: int):
    """Welch estimate H(f) = S_yu(f) S_uu(f)^-1: f in cycles/sample, H (F, p, m), S_uu."""
    from scipy import signal

    u = np.asarray(u, dtype=float).reshape(len(u), -1)
    y = np.asarray(y, dtype=float).reshape(len(y), -1)
    m, p = u.shape[1], y.shape[1]
    nperseg = min(nperseg, u.shape[0])
    f, _ = signal.welch(u[:, 0], nperseg=nperseg)
    Suu = np.empty((f.size, m, m), complex)
    Syu = np.empty((f.size, p, m), complex)
    for a in range(m):
        for b in range(m):
            Suu[:, a, b] = signal.csd(u[:, a], u[:, b], nperseg=nperseg)[1]
        for i in range(p):
            Syu[:, i, a] = signal.csd(u[:, a], y[:, i], nperseg=nperseg)[1]
    # scipy's csd(x, y) estimates E[conj(X) Y]: with Y = H U, Syu = H Suu', so H' = Suu^-1 Syu'
    H = np.linalg.solve(Suu, np.swapaxes(Syu, 1, 2))
    return f, np.swapaxes(H, 1, 2), Suu


def bode(
    sys,
    *,
    w=None,
    data=None,
    time_unit: str | None = None,
    n_points: int = 400,
    nperseg: int | None = None,
    title: str | None = None,
):
    """Bode plot: magnitude in dB and phase in degrees against frequency.

    One curve per input-output pair. With ``data=(u, y)`` the non-parametric Welch
    estimate ``H(f) = S_yu(f) S_uu(f)^-1`` from the data is drawn beside the model, a
    direct check of the fit in the frequency domain, at the frequencies where the
    input carries power (within 30 dB of its peak).

    Parameters
    ----------
    sys : StateSpace
        A model with at least one input (m > 0); for an output-only model the
        noise model from the innovations (K, I) is drawn instead.
    w : (F,) array, optional
        Frequencies in rad/sample. Default: ``n_points`` log-spaced up to Nyquist.
    data : tuple of (T, m) and (T, p) arrays, optional
        Measured inputs and outputs for the Welch estimate.
    time_unit : str, optional
        Unit of ``sys.dt``; frequencies are drawn in Hz when it is ``"s"``, else in
        cycles/sample. Default ``"s"`` unless ``sys.dt == 1``.
    n_points : int, default 400
        Number of frequencies when ``w`` is not given.
    nperseg : int, optional
        Welch segment length; default ``min(1024, max(64, T // 8))``.
    title : str, optional
        Default ``"Bode diagram"``.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels: magnitude (top) and phase (bottom).

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import realize, realize.plot
    >>> sys = realize.StateSpace([[0.5]], [[1.0]], [[1.0]], dt=0.001)
    >>> fig = realize.plot.bode(sys)
    >>> fig.axes[1].get_xlabel()
    'Frequency [Hz]'
    """
    model = sys
    if sys.m == 0:
        if sys.K is None and sys.Q is None:
            raise DataError("sys: expected inputs or a noise model to draw a frequency response")
        inno = sys if sys.K is not None else sys.innovation_form()
        model = type(sys)(sys.A, inno.K, sys.C, np.eye(sys.p), dt=sys.dt)
    if time_unit is None:
        time_unit = "samples" if model.dt == 1.0 else "s"
    if w is None:
        w = np.pi * np.logspace(-3, 0, int(n_points))
    w = np.asarray(w, dtype=float).reshape(-1)
    H = model.freqresp(w, normalized=True)
    if time_unit == "s":
        f_scale, f_label = 1.0 / (2 * np.pi * model.dt), "Frequency [Hz]"
    else:
        f_scale, f_label = 1.0 / (2 * np.pi), "Frequency [cycles/sample]"
    f = w * f_scale
    ins, outs = _transfer_labels(model)
    if sys.m == 0:
        ins = [f"e{j + 1}" if model.p > 1 else "e" for j in range(model.p)]
    unit = _gain_unit(sys) if sys.m else None
    fig, axes = _new_figure(2, 1, figsize=(8.0, 6.5), sharex=True)
    mag_ax, phase_ax = axes[0, 0], axes[1, 0]
    colors = [f"C{k}" for k in range(10)]
    k = 0
    pairs = [(i, j) for i in range(model.p) for j in range(model.m)][:10]
    for i, j in pairs:
        label = f"{ins[j]} → {outs[i]}" if len(pairs) > 1 else "model"
        color = colors[k % 10]
        mag = 20 * np.log10(np.maximum(np.abs(H[:, i, j]), 1e-300))
        phase = np.degrees(np.unwrap(np.angle(H[:, i, j])))
        mag_ax.semilogx(f, mag, color=color, lw=1.6, label=label)
        phase_ax.semilogx(f, phase, color=color, lw=1.6, label=label)
        k += 1
    if data is not None and sys.m:
        u, y = data
        if nperseg is None:
            nperseg = min(1024, max(64, len(u) // 8))
        fe, He, Suu = _empirical_response(u, y, nperseg)
        # only where the input carries power (within 30 dB of its peak): elsewhere the
        # ratio of spectra is noise divided by nearly nothing
        power = np.min(np.real(np.diagonal(Suu, axis1=1, axis2=2)), axis=1)
        keep = (fe > 0) & (power >= 1e-3 * power.max())
        fe = fe[keep] * (1.0 / model.dt if time_unit == "s" else 1.0)
        He = He[keep]
        for k, (i, j) in enumerate(pairs):
            label = (
                "data (Welch estimate, excited band)"
                if len(pairs) == 1
                else f"{ins[j]} → {outs[i]}, data"
            )
            mag_ax.semilogx(
                fe,
                20 * np.log10(np.maximum(np.abs(He[:, i, j]), 1e-300)),
                color=_MEASURED if len(pairs) == 1 else colors[k % 10],
                lw=0.8,
                alpha=0.6,
                ls="-" if len(pairs) == 1 else ":",
                label=label,
            )
            # the data's phase on the branch of the model's (unwrapped) phase, frequency by
            # frequency: noisy estimates would make their own unwrapping jump by 360 degrees
            ref = np.interp(fe, f, np.degrees(np.unwrap(np.angle(H[:, i, j]))))
            pe = ref + (np.degrees(np.angle(He[:, i, j])) - ref + 180.0) % 360.0 - 180.0
            phase_ax.semilogx(
                fe,
                pe,
                color=_MEASURED if len(pairs) == 1 else colors[k % 10],
                lw=0.8,
                alpha=0.6,
                ls="-" if len(pairs) == 1 else ":",
                label=label,
            )
    mag_ax.set_ylabel("Magnitude [dB" + (f" re 1 {unit}" if unit else "") + "]")
    phase_ax.set_ylabel("Phase [deg]")
    phase_ax.set_xlabel(f_label)
    mag_ax.set_title(title or ("Bode diagram" if sys.m else "Bode diagram of the noise model"))
    for ax in (mag_ax, phase_ax):
        ax.grid(True, which="both", alpha=0.3)
        ax.set_xlim(f[0], f[-1])
    mag_ax.legend(loc="best", fontsize="small")
    phase_ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    return fig


def _drawn_zeros(sys) -> np.ndarray:
    """The zeros that :func:`pole_zero` draws: ``sys.zeros()`` of a square model, those of
    the noise model ``(A, K, C, I)`` of an output-only one; ShapeError otherwise."""
    if sys.m == 0 and (sys.K is not None or sys.Q is not None):
        K = sys.K if sys.K is not None else sys.innovation_form().K
        return type(sys)(sys.A, K, sys.C, np.eye(sys.p), dt=sys.dt).zeros()
    if sys.m != sys.p:
        raise ShapeError(
            f"sys: expected a square model (as many inputs as outputs), got m={sys.m}, p={sys.p}"
        )
    return sys.zeros()


def transmission_zeros(sys) -> np.ndarray:
    """Deprecated: use :meth:`realize.StateSpace.zeros` (any shape).

    .. deprecated:: 0.1.0
       The numerics moved to the model; this alias will be removed in the next release.
       It keeps its old meaning: the zeros of a square model, and of the noise model
       ``(A, K, C, I)`` of an output-only one.

    Parameters
    ----------
    sys : StateSpace
        A model with as many inputs as outputs, or an output-only model with an
        innovation form or noise model.

    Returns
    -------
    (k,) complex array
        The finite zeros, k <= n.

    Raises
    ------
    ShapeError
        A model with m != p inputs and outputs (and m > 0).

    See Also
    --------
    realize.StateSpace.zeros

    Examples
    --------
    >>> import warnings, realize
    >>> sys = realize.StateSpace([[0.5, 0.0], [0.0, 0.2]], [[1.0], [1.0]], [[1.0, 1.0]])
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", DeprecationWarning)
    ...     z = transmission_zeros(sys)
    >>> z.real.round(6)
    array([0.35])
    """
    import warnings

    warnings.warn(
        "realize.plot.transmission_zeros is deprecated and will be removed in the next "
        "release; use sys.zeros() (StateSpace.zeros, any number of inputs and outputs)",
        DeprecationWarning,
        stacklevel=2,
    )
    return _drawn_zeros(sys)


def pole_zero(sys, *, ax=None, title: str | None = None):
    """Poles (x) and transmission zeros (o) in the complex plane with the unit circle.

    Parameters
    ----------
    sys : StateSpace
        The model. Zeros are drawn for square models (m = p) and for output-only
        models (the zeros of the noise model); otherwise only poles.
    ax : matplotlib Axes, optional
        Draw into this axes.
    title : str, optional
        Default ``"Poles and zeros"``.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import realize, realize.plot
    >>> fig = realize.plot.pole_zero(realize.StateSpace([[0.5]], [[1.0]], [[1.0]]))
    >>> fig.axes[0].get_xlabel()
    'Real part [-]'
    """
    fig, axes = _new_figure(ax=ax, figsize=(6.0, 6.0))
    ax = axes[0, 0]
    theta = np.linspace(0, 2 * np.pi, 400)
    ax.plot(
        np.cos(theta), np.sin(theta), color=_DROPPED, lw=1, label="unit circle (stability limit)"
    )
    poles = sys.poles()
    rho = float(np.max(np.abs(poles))) if poles.size else 0.0
    ax.plot(
        poles.real,
        poles.imag,
        "x",
        color=_MODEL,
        ms=9,
        mew=2,
        label=f"poles ({poles.size}, max |p| = {rho:.3f})",
    )
    try:
        zeros = _drawn_zeros(sys)
    except ShapeError:
        zeros = None
    if zeros is not None and zeros.size:
        which = "noise-model zeros" if sys.m == 0 else "zeros"
        ax.plot(
            zeros.real,
            zeros.imag,
            "o",
            mfc="none",
            color=_BAND,
            ms=9,
            mew=1.5,
            label=f"{which} ({zeros.size})",
        )
    elif zeros is None:
        ax.plot([], [], " ", label=f"zeros not drawn ({sys.m} inputs, {sys.p} outputs)")
    points = [1.1]
    for z in (poles, zeros if zeros is not None else np.zeros(0)):
        if z.size:
            points.append(1.1 * float(np.max(np.abs(z.real))))
            points.append(1.1 * float(np.max(np.abs(z.imag))))
    lim = max(points)
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.axhline(0, color=_DROPPED, lw=0.5)
    ax.axvline(0, color=_DROPPED, lw=0.5)
    ax.set_xlabel("Real part [-]")
    ax.set_ylabel("Imaginary part [-]")
    ax.set_title(title or "Poles and zeros")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower left", fontsize="small")
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
    names = _labels(output_names, p, "e")
    shown = min(p, 4)
    fig, axes = _new_figure(shown, 1, figsize=(8.0, 1.6 + 2.4 * shown), sharex=True)
    lags = np.arange(r.shape[0])
    band = test["band"]
    for i in range(shown):
        ax = axes[i, 0]
        ax.axhspan(
            -band,
            band,
            color=_BAND,
            alpha=0.2,
            label=f"{100 * confidence:g} % band if white (±{band:.3f})",
        )
        out = np.abs(r[:, i]) > band
        out[0] = False
        ax.vlines(lags, 0, r[:, i], color=_MEASURED, lw=1.2)
        ax.plot(lags[~out], r[~out, i], "o", color=_MEASURED, ms=3.5, label="autocorrelation")
        if out.any():
            ax.plot(
                lags[out],
                r[out, i],
                "o",
                color=_MODEL,
                ms=4.5,
                label=f"outside band ({int(out.sum())} of {max_lag} lags)",
            )
        ax.axhline(0, color=_DROPPED, lw=0.6)
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


def hankel_singular_values(sys, *, order: int | None = None, ax=None, title: str | None = None):
    """Hankel singular values, largest first, with an optional reduced order marked.

    Parameters
    ----------
    sys : StateSpace or (n,) array
        A stable model (its values come from
        :func:`realize.hankel_singular_values`) or the values themselves.
    order : int, optional
        A reduced order to mark: the values beyond it bound the error of balanced
        truncation, ``||G - G_r||_inf <= 2 * sum(sigma[order:])``.
    ax : matplotlib Axes, optional
        Draw into this axes.
    title : str, optional
        Default ``"Hankel singular values"``.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import numpy as np, realize.plot
    >>> fig = realize.plot.hankel_singular_values(np.array([1.0, 0.3, 0.01]), order=2)
    >>> fig.axes[0].get_title()
    'Hankel singular values'
    """
    unit = None
    if hasattr(sys, "A"):
        import realize

        unit = _gain_unit(sys)
        hsv = np.asarray(realize.hankel_singular_values(sys), dtype=float)
    else:
        hsv = np.asarray(sys, dtype=float).reshape(-1)
    if hsv.size == 0:
        raise DataError("sys: expected at least one Hankel singular value, got none")
    fig, axes = _new_figure(ax=ax)
    ax = axes[0, 0]
    index = np.arange(1, hsv.size + 1)
    vals = np.maximum(hsv, np.finfo(float).tiny)
    if order is None:
        ax.semilogy(index, vals, "o-", color=_KEPT, label=r"Hankel singular value $\sigma_i$")
    else:
        order = int(order)
        bound = 2.0 * float(np.sum(hsv[order:]))
        ax.semilogy(index, vals, "-", color=_DROPPED, lw=1)
        ax.semilogy(index[:order], vals[:order], "o", color=_KEPT, label=f"kept ({order})")
        ax.semilogy(
            index[order:],
            vals[order:],
            "o",
            color=_DROPPED,
            label=f"truncated (error bound {bound:.3g})",
        )
        ax.axvline(order + 0.5, color=_MODEL, ls="--", label=f"reduced order r = {order}")
    ax.set_xlabel("State index i [-]")
    ax.set_ylabel(r"$\sigma_i$" + _bracket(unit or "gain") + " (log scale)")
    ax.set_title(title or "Hankel singular values")
    ax.set_xlim(0.5, hsv.size + 0.5)
    if hsv.size <= 30:
        ax.set_xticks(index)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right")
    fig.tight_layout()
    return fig


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
    names = _labels(labels, len(clips), "clip")
    count = max(1, int(count))
    lo = min(float(np.nanmin(c)) for c in clips)
    hi = max(float(np.nanmax(c)) for c in clips)
    H, W = clips[0].shape[1:3]
    fig, axes = _new_figure(
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
