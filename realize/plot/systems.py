"""Figures of a model: frequency response, poles and zeros, Hankel singular values."""

from __future__ import annotations

import warnings

import numpy as np

from realize.errors import DataError, ShapeError
from realize.identify.spectral import empirical_frequency_response
from realize.plot._style import (
    BAND,
    DROPPED,
    MEASURED,
    MODEL,
    bracket,
    gain_unit,
    new_figure,
    ranked_values,
    transfer_names,
)
from realize.realization import hankel_singular_values as _hankel_singular_values


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
    model = _drawn_transfer(sys)
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
    ins, outs = transfer_names(model)
    if sys.m == 0:
        ins = [f"e{j + 1}" if model.p > 1 else "e" for j in range(model.p)]
    unit = gain_unit(sys) if sys.m else None
    fig, axes = new_figure(2, 1, figsize=(8.0, 6.5), sharex=True)
    mag_ax, phase_ax = axes[0, 0], axes[1, 0]
    pairs = [(i, j) for i in range(model.p) for j in range(model.m)][:10]
    for k, (i, j) in enumerate(pairs):
        label = f"{ins[j]} → {outs[i]}" if len(pairs) > 1 else "model"
        mag_ax.semilogx(f, _decibels(H[:, i, j]), color=f"C{k}", lw=1.6, label=label)
        phase = np.degrees(np.unwrap(np.angle(H[:, i, j])))
        phase_ax.semilogx(f, phase, color=f"C{k}", lw=1.6, label=label)
    if data is not None and sys.m:
        fe, He = _welch_estimate(*data, nperseg)
        fe = fe * (1.0 / model.dt if time_unit == "s" else 1.0)
        for k, (i, j) in enumerate(pairs):
            one = len(pairs) == 1
            style = {
                "color": MEASURED if one else f"C{k}",
                "lw": 0.8,
                "alpha": 0.6,
                "ls": "-" if one else ":",
                "label": "data (Welch estimate, excited band)"
                if one
                else f"{ins[j]} → {outs[i]}, data",
            }
            mag_ax.semilogx(fe, _decibels(He[:, i, j]), **style)
            # the data's phase on the branch of the model's (unwrapped) phase, frequency by
            # frequency: noisy estimates would make their own unwrapping jump by 360 degrees
            ref = np.interp(fe, f, np.degrees(np.unwrap(np.angle(H[:, i, j]))))
            pe = ref + (np.degrees(np.angle(He[:, i, j])) - ref + 180.0) % 360.0 - 180.0
            phase_ax.semilogx(fe, pe, **style)
    mag_ax.set_ylabel("Magnitude [dB" + (f" re 1 {unit}" if unit else "") + "]")
    phase_ax.set_ylabel("Phase [deg]")
    phase_ax.set_xlabel(f_label)
    mag_ax.set_title(title or ("Bode diagram" if sys.m else "Bode diagram of the noise model"))
    for ax in (mag_ax, phase_ax):
        ax.grid(True, which="both", alpha=0.3)
        ax.set_xlim(f[0], f[-1])
        ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    return fig


def _drawn_transfer(sys):
    """``sys``, or for an output-only model its noise model from the innovations (K, I)."""
    if sys.m:
        return sys
    if sys.K is None and sys.Q is None:
        raise DataError("sys: expected inputs or a noise model to draw a frequency response")
    inno = sys if sys.K is not None else sys.innovation_form()
    return type(sys)(sys.A, inno.K, sys.C, np.eye(sys.p), dt=sys.dt)


def _decibels(H: np.ndarray) -> np.ndarray:
    return 20 * np.log10(np.maximum(np.abs(H), 1e-300))


def _welch_estimate(u, y, nperseg):
    """Frequencies (cycles/sample) and Welch estimate (F, p, m) of the transfer from data.

    Only where the input carries power (within 30 dB of its peak): elsewhere the ratio of
    spectra is noise divided by nearly nothing.
    """
    if nperseg is None:
        nperseg = min(1024, max(64, len(u) // 8))
    fe, He, Suu = empirical_frequency_response(u, y, nperseg)
    power = np.min(np.real(np.diagonal(Suu, axis1=1, axis2=2)), axis=1)
    keep = (fe > 0) & (power >= 1e-3 * power.max())
    return fe[keep], He[keep]


def _drawn_zeros(sys) -> np.ndarray:
    """The zeros that :func:`pole_zero` draws: ``sys.zeros()`` of a square model, those of
    the noise model ``(A, K, C, I)`` of an output-only one; ShapeError otherwise."""
    if sys.m == 0 and (sys.K is not None or sys.Q is not None):
        return _drawn_transfer(sys).zeros()
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
        The complex plane with the unit circle, poles (x) and zeros (o).

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import realize, realize.plot
    >>> fig = realize.plot.pole_zero(realize.StateSpace([[0.5]], [[1.0]], [[1.0]]))
    >>> fig.axes[0].get_xlabel()
    'Real part [-]'
    """
    fig, axes = new_figure(ax=ax, figsize=(6.0, 6.0))
    ax = axes[0, 0]
    theta = np.linspace(0, 2 * np.pi, 400)
    ax.plot(
        np.cos(theta), np.sin(theta), color=DROPPED, lw=1, label="unit circle (stability limit)"
    )
    poles = sys.poles()
    rho = float(np.max(np.abs(poles))) if poles.size else 0.0
    ax.plot(
        poles.real,
        poles.imag,
        "x",
        color=MODEL,
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
            color=BAND,
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
    ax.axhline(0, color=DROPPED, lw=0.5)
    ax.axvline(0, color=DROPPED, lw=0.5)
    ax.set_xlabel("Real part [-]")
    ax.set_ylabel("Imaginary part [-]")
    ax.set_title(title or "Poles and zeros")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower left", fontsize="small")
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
        The values on a log scale, the kept ones marked.

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
        unit = gain_unit(sys)
        hsv = np.asarray(_hankel_singular_values(sys), dtype=float)
    else:
        hsv = np.asarray(sys, dtype=float).reshape(-1)
    if hsv.size == 0:
        raise DataError("sys: expected at least one Hankel singular value, got none")
    fig, axes = new_figure(ax=ax)
    ax = axes[0, 0]
    order = None if order is None else int(order)
    bound = 0.0 if order is None else 2.0 * float(np.sum(hsv[order:]))
    ranked_values(
        ax,
        np.maximum(hsv, np.finfo(float).tiny),
        order,
        label=r"Hankel singular value $\sigma_i$",
        dropped=f"truncated (error bound {bound:.3g})",
        boundary=f"reduced order r = {order}",
    )
    ax.set_xlabel("State index i [-]")
    ax.set_ylabel(r"$\sigma_i$" + bracket(unit or "gain") + " (log scale)")
    ax.set_title(title or "Hankel singular values")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right")
    fig.tight_layout()
    return fig
