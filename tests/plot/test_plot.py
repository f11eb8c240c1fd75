"""Figures of realize.plot: content, labels, and the numbers behind them."""

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import realize  # noqa: E402
import realize.plot as rplot  # noqa: E402
from realize.errors import DataError, ShapeError  # noqa: E402
from realize.testing import random_statespace  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _check_readable(fig):
    """Every panel with data has a title (own or the figure's), axis labels and a legend."""
    fig.canvas.draw()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    assert buf.getbuffer().nbytes > 5000
    suptitle = fig._suptitle.get_text() if fig._suptitle is not None else ""
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert panels
    assert suptitle or panels[0].get_title()
    for ax in panels:
        if ax.images:  # image panels: labels on the outer rows/columns
            continue
        assert ax.get_xlabel() or ax.get_shared_x_axes().get_siblings(ax) != [ax]
        assert ax.get_ylabel()
        assert ax.get_legend() is not None
        assert "[" in ax.get_ylabel() and "[" in (ax.get_xlabel() or "[")  # units


def test_singular_values_figure(rng):
    sv = np.sort(rng.random(12))[::-1]
    fig = rplot.singular_values(sv, order=4)
    _check_readable(fig)
    ax = fig.axes[0]
    kept, dropped = ax.lines[1], ax.lines[2]
    assert len(kept.get_xdata()) == 4 and len(dropped.get_xdata()) == 8
    np.testing.assert_allclose(kept.get_ydata(), sv[:4] / sv[0])
    # a result object carries its own order
    from types import SimpleNamespace

    fig = rplot.singular_values(SimpleNamespace(singular_values=sv, order=3))
    assert "n = 3" in fig.axes[0].get_legend().get_texts()[-1].get_text()
    with pytest.raises(DataError):
        rplot.singular_values(np.array([1.0, np.nan]))


def test_order_selection_figure():
    fits = np.array([[10.0, 12.0], [80.0, 83.0], [-np.inf, 85.0], [-5000.0, 84.0]])
    fig = rplot.order_selection([1, 2, 3, 4], fits, chosen=3, labels=["h 10", "h 20"])
    _check_readable(fig)
    ax = fig.axes[0]
    first = ax.lines[0].get_ydata()
    assert first[1] == 80.0 and first[2] == first[3] < -5  # off scale drawn at the floor
    assert ax.get_ylim()[0] > -100
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "chosen order n = 3" in texts and any("off scale" in t for t in texts)


def test_simulation_figure(rng):
    y = rng.standard_normal((3000, 2))
    yhat = y + 0.1 * rng.standard_normal((3000, 2))
    fig = rplot.simulation(y, yhat, dt=0.5e-3, window=50, output_names=["a", "b"], units=["V", "A"])
    _check_readable(fig)
    assert len(fig.axes) == 4  # two outputs, whole record and zoom
    assert fig.axes[0].get_ylabel() == "a [V]" and fig.axes[2].get_ylabel() == "b [A]"
    assert fig.axes[0].get_xlabel() == "Time [s]"
    from realize.compare import fit_percent

    fit = fit_percent(y[50:], yhat[50:])
    labels = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]  # the zoom
    assert f"simulated (fit {fit[0]:.1f} %)" in labels
    err = fig.axes[0].lines[1].get_ydata()  # the whole record shows the error
    np.testing.assert_allclose(err, y[:, 0] - yhat[:, 0])
    fig = rplot.simulation(y[:100, 0], yhat[:100, 0])
    assert fig.axes[0].get_xlabel() == "Time [samples]" and len(fig.axes) == 1
    with pytest.raises(ShapeError):
        rplot.simulation(y, yhat[:, :1])


def test_bode_welch_estimate_agrees_with_the_model(rng):
    sys = realize.StateSpace(
        [[0.9, 0.3], [-0.3, 0.9]],
        [[1.0], [0.5]],
        [[1.0, 0.0]],
        dt=1e-3,
        input_units=["V"],
        output_units=["V"],
    )
    u = rng.standard_normal((40_000, 1))
    y = sys.simulate(u, noise=False)
    fig = rplot.bode(sys, data=(u, y))
    _check_readable(fig)
    mag_ax, phase_ax = fig.axes
    assert phase_ax.get_xlabel() == "Frequency [Hz]" and "V/V" in mag_ax.get_ylabel()
    f_model, m_model = mag_ax.lines[0].get_data()
    f_data, m_data = mag_ax.lines[1].get_data()
    band = (f_data > 5) & (f_data < 400)
    np.testing.assert_allclose(m_data[band], np.interp(f_data[band], f_model, m_model), atol=0.5)
    p_model = np.interp(f_data[band], *phase_ax.lines[0].get_data())
    np.testing.assert_allclose(phase_ax.lines[1].get_ydata()[band], p_model, atol=5)
    # the model curve is the model's own frequency response
    w = 2 * np.pi * f_model * sys.dt
    np.testing.assert_allclose(
        m_model, 20 * np.log10(np.abs(sys.freqresp(w, normalized=True)[:, 0, 0]))
    )


def test_bode_mimo_and_output_only(rng):
    sys = random_statespace(rng, n=4, m=2, p=2)
    u = rng.standard_normal((8000, 2))
    fig = rplot.bode(sys, data=(u, sys.simulate(u, noise=False)))
    assert len(fig.axes[0].lines) == 8  # 4 pairs, model and data
    assert fig.axes[1].get_xlabel() == "Frequency [cycles/sample]"
    # MIMO Welch estimate H = Syu Suu^-1 recovers each channel
    f_model, m_model = fig.axes[0].lines[1].get_data()
    f_data, m_data = fig.axes[0].lines[5].get_data()
    band = f_data < 0.45
    np.testing.assert_allclose(m_data[band], np.interp(f_data[band], f_model, m_model), atol=1.0)
    noise_only = realize.StateSpace([[0.7]], C=[[1.0]], K=[[0.5]], Lambda=[[1.0]])
    fig = rplot.bode(noise_only)
    assert "noise model" in fig.axes[0].get_title()
    with pytest.raises(DataError):
        rplot.bode(realize.StateSpace([[0.5]]))


@pytest.mark.parametrize("m", [1, 2])
def test_transmission_zeros_against_python_control(rng, m):
    import control

    for _ in range(3):
        sys = random_statespace(rng, n=5, m=m, p=m)
        ours = rplot.transmission_zeros(sys)
        ref = control.ss(sys.A, sys.B, sys.C, sys.D, 1.0).zeros()
        ref = ref[np.isfinite(ref)]
        assert ours.shape == ref.shape
        # each zero matched to the nearest reference zero, and the matching is one-to-one
        nearest = np.argmin(np.abs(ours[:, None] - ref[None, :]), axis=1)
        assert sorted(nearest) == list(range(ref.size))
        np.testing.assert_allclose(ours, ref[nearest], rtol=1e-6, atol=1e-8)


def test_pole_zero_figure(rng):
    sys = random_statespace(rng, n=6, m=1, p=1)
    fig = rplot.pole_zero(sys)
    _check_readable(fig)
    ax = fig.axes[0]
    poles = ax.lines[1]
    np.testing.assert_allclose(np.sort(poles.get_xdata()), np.sort(sys.poles().real))
    x, yy = ax.lines[0].get_data()
    np.testing.assert_allclose(x**2 + yy**2, 1.0)
    fig = rplot.pole_zero(random_statespace(rng, n=3, m=2, p=1))
    assert "zeros not drawn" in fig.axes[0].get_legend().get_texts()[-1].get_text()
    inno = realize.StateSpace([[0.5]], C=[[1.0]], K=[[0.2]], Lambda=[[1.0]])
    np.testing.assert_allclose(rplot.transmission_zeros(inno), [0.3])


def test_innovation_autocorrelation_figure(rng):
    e = rng.standard_normal((2000, 2))
    fig = rplot.innovation_autocorrelation(e, max_lag=20, output_names=["y1", "y2"])
    _check_readable(fig)
    assert len(fig.axes) == 2
    band = fig.axes[0].get_legend().get_texts()[0].get_text()
    assert f"{2.5758 / np.sqrt(2000):.3f}" in band


def test_hankel_singular_values_figure(rng):
    sys = random_statespace(rng, n=5, m=1, p=1)
    fig = rplot.hankel_singular_values(sys, order=2)
    _check_readable(fig)
    hsv = np.asarray(realize.hankel_singular_values(sys))
    ys = np.concatenate([fig.axes[0].lines[1].get_ydata(), fig.axes[0].lines[2].get_ydata()])
    np.testing.assert_allclose(ys, hsv)
    bound = 2 * hsv[2:].sum()
    assert f"{bound:.3g}" in fig.axes[0].get_legend().get_texts()[1].get_text()


def test_texture_frames_figure(rng):
    clip = rng.random((30, 12, 20))
    fig = rplot.texture_frames([clip, clip[::-1]], count=5, dt=0.04, labels=["clip", "reversed"])
    _check_readable(fig)
    images = [ax for ax in fig.axes if ax.images]
    assert len(images) == 10
    assert images[-1].get_title() == "t = 1.16 s"
    assert "reversed" in images[5].get_ylabel()
    rgb = rng.random((4, 8, 8, 3))
    assert len(rplot.texture_frames(rgb, count=3).axes) == 3
    with pytest.raises(ShapeError):
        rplot.texture_frames(rng.random((4, 8)))


def test_plot_into_given_axes(rng):
    fig, ax = plt.subplots()
    out = rplot.pole_zero(random_statespace(rng, n=2), ax=ax)
    assert out is fig and ax.get_title() == "Poles and zeros"
    out = rplot.singular_values(np.array([3.0, 1.0]), ax=ax)
    assert out is fig and len(fig.axes) == 1


def test_import_realize_does_not_load_matplotlib():
    import subprocess
    import sys

    code = (
        "import sys, realize, realize.plot, realize.report, realize.cli; "
        "print('matplotlib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
