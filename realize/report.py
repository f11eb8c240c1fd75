"""Summaries and HTML reports of identified models.

:func:`model_summary` describes a model (order, poles with their frequencies and
damping, stability); :func:`assess_fit` adds it, and why the model has its order, to
the scores of :func:`realize.identify.validation.assess_fit` on validation (and
optionally test) data; :func:`fit_report` turns both into a
:class:`Report`: an HTML page with the figures of :mod:`realize.plot` and a summary
table, written with :meth:`Report.write`. The ``realize fit`` and ``realize demo``
commands are thin wrappers around these.

Example
-------
>>> import matplotlib; matplotlib.use("Agg")
>>> import pathlib, tempfile, realize
>>> from realize.report import Report, model_summary
>>> sys = realize.StateSpace([[0.9]], [[1.0]], [[1.0]], dt=0.01)
>>> report = Report("A first-order model")
>>> report.add_table("Model", [("order", "1"), ("stable", "yes")])
>>> report.add_figure("poles", realize.plot.pole_zero(sys), "Poles and zeros.")
>>> path = report.write(pathlib.Path(tempfile.mkdtemp()) / "report")
>>> sorted(p.name for p in path.parent.iterdir())
['index.html', 'poles.png', 'summary.json']
"""

from __future__ import annotations

import html
import json
import os
import pathlib
import time
from dataclasses import dataclass, field

import numpy as np

from realize import plot as rplot
from realize.identify import validation
from realize.identify.validation import assess_neural_fit  # noqa: F401  (scoring moved there)

__all__ = [
    "Report",
    "model_summary",
    "pole_table",
    "assess_fit",
    "fit_report",
    "default_report_dir",
]


def jsonable(value):
    """``value`` with arrays, NumPy scalars and complex numbers as JSON types (NaN and
    Inf as None), for ``summary.json``."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (complex, np.complexfloating)):
        return [float(value.real), float(value.imag)]
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return v if np.isfinite(v) else None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    return value


@dataclass
class Report:
    """An HTML report: tables of key/value rows and PNG figures, in order.

    Parameters
    ----------
    title : str
        The page title.
    summary : dict, optional
        Machine-readable summary written beside the page as ``summary.json``.

    Examples
    --------
    >>> r = Report("Fit of data.csv")
    >>> r.add_table("Model", [("order", 4)])
    >>> r.add_text("Fitted by N4SID.")
    >>> len(r.items)
    2
    """

    title: str
    summary: dict = field(default_factory=dict)
    items: list = field(default_factory=list)

    def add_table(self, heading: str, rows, columns=None) -> None:
        """Add a table of rows (tuples of cells); ``columns`` names the header cells."""
        self.items.append(("table", heading, [tuple(r) for r in rows], columns))

    def add_figure(self, name: str, fig, caption: str = "") -> None:
        """Add a matplotlib figure, saved as ``<name>.png`` when the report is written."""
        self.items.append(("figure", name, fig, caption))

    def add_text(self, text: str) -> None:
        """Add a paragraph of plain text."""
        self.items.append(("text", text))

    def write(self, directory, dpi: int = 110) -> pathlib.Path:
        """Write ``index.html``, one PNG per figure and ``summary.json`` into ``directory``.

        Parameters
        ----------
        directory : str or os.PathLike
            Created if needed; existing files of the same names are replaced.
        dpi : int, default 110
            Resolution of the PNG figures.

        Returns
        -------
        pathlib.Path
            The path of ``index.html``.
        """
        import matplotlib.pyplot as plt

        directory = pathlib.Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        e = html.escape
        parts = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{e(self.title)}</title>",
            f"<style>{_CSS}</style></head><body>",
            f"<h1>{e(self.title)}</h1>",
        ]
        for item in self.items:
            kind = item[0]
            if kind == "table":
                _, heading, rows, columns = item
                parts.append(f"<h2>{e(heading)}</h2><table>")
                if columns:
                    parts.append(
                        "<tr>" + "".join(f"<th>{e(str(c))}</th>" for c in columns) + "</tr>"
                    )
                for row in rows:
                    if columns:
                        cells = "".join(f"<td>{e(str(c))}</td>" for c in row)
                    else:
                        cells = f"<th>{e(str(row[0]))}</th>" + "".join(
                            f"<td>{e(str(c))}</td>" for c in row[1:]
                        )
                    parts.append(f"<tr>{cells}</tr>")
                parts.append("</table>")
            elif kind == "figure":
                _, name, fig, caption = item
                fig.savefig(directory / f"{name}.png", dpi=dpi)
                plt.close(fig)
                parts.append(
                    f'<figure><img src="{e(name)}.png" alt="{e(caption or name)}">'
                    f"<figcaption>{e(caption)}</figcaption></figure>"
                )
            else:
                parts.append(f"<p>{e(item[1])}</p>")
        parts.append(
            f"<footer>Written by realize on {time.strftime('%Y-%m-%d %H:%M')}. "
            'Machine-readable summary: <a href="summary.json">summary.json</a>.</footer>'
        )
        parts.append("</body></html>")
        (directory / "index.html").write_text("\n".join(parts), encoding="utf-8")
        (directory / "summary.json").write_text(
            json.dumps(jsonable(self.summary), indent=2), encoding="utf-8"
        )
        return directory / "index.html"


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 1100px;
       margin: 2em auto; padding: 0 1em; color: #1f1f1f; line-height: 1.45; }
h1 { font-size: 1.6em; border-bottom: 2px solid #00798c; padding-bottom: .3em; }
h2 { font-size: 1.2em; margin-top: 1.6em; color: #00798c; }
table { border-collapse: collapse; margin: .5em 0 1em; }
th, td { text-align: left; padding: .25em .9em; border-bottom: 1px solid #ddd;
         font-variant-numeric: tabular-nums; vertical-align: top; }
th { font-weight: 600; }
figure { margin: 1.5em 0; }
img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #555; font-size: .92em; margin-top: .3em; }
footer { margin-top: 3em; color: #777; font-size: .85em; }
"""


def pole_table(model, time_unit: str | None = None) -> list[dict]:
    """Poles with modulus, natural frequency, damping ratio and time constant.

    Parameters
    ----------
    model : StateSpace
        The model (discrete time, sampling period ``model.dt``).
    time_unit : str, optional
        Unit of ``model.dt``: ``"s"`` gives frequencies in Hz, ``"samples"`` in
        cycles/sample. Default ``"s"`` unless ``dt == 1``.

    Returns
    -------
    list of dict
        One entry per pole (complex pairs once, with positive imaginary part), by
        decreasing modulus: ``pole`` (complex), ``modulus``, ``frequency`` (damped
        natural frequency of the equivalent continuous pole ``log(p)/dt``),
        ``damping`` (its damping ratio, in [-1, 1]), ``time_constant`` (``-dt/log|p|``,
        inf for poles on the unit circle) and ``pair`` (bool).

    Examples
    --------
    >>> import realize
    >>> rows = pole_table(realize.StateSpace([[0.5]], [[1.0]], [[1.0]], dt=0.1))
    >>> round(rows[0]["time_constant"], 4), rows[0]["damping"]
    (0.1443, 1.0)
    """
    dt = float(model.dt)
    if time_unit is None:
        time_unit = "samples" if dt == 1.0 else "s"
    rows = []
    poles = model.poles()
    for pole in sorted(poles, key=lambda z: (-abs(z), -z.imag)):
        if pole.imag < -1e-12 * max(1.0, abs(pole)):
            continue
        pair = abs(pole.imag) > 1e-12 * max(1.0, abs(pole))
        modulus = abs(pole)
        if modulus > 0:
            s = np.log(complex(pole)) / dt  # equivalent continuous-time pole
            omega = abs(s)
            damping = float(-s.real / omega) if omega > 0 else 1.0
            frequency = abs(s.imag) / (2 * np.pi)
            tc = float(-dt / np.log(modulus)) if modulus != 1 else np.inf
        else:
            damping, frequency, tc = 1.0, 0.0, 0.0
        rows.append(
            {
                "pole": complex(pole.real, abs(pole.imag)) if pair else complex(pole.real, 0.0),
                "modulus": float(modulus),
                "frequency": float(frequency),
                "damping": damping,
                "time_constant": tc,
                "pair": bool(pair),
            }
        )
    return rows


def format_pole(row, unit: str) -> str:
    """One line about a pole (a row of :func:`pole_table`): value, modulus, frequency and
    damping, or its time constant."""
    z = row["pole"]
    text = f"{z.real:.4f} ± {z.imag:.4f}j" if row["pair"] else f"{z.real:.4f}"
    parts = [f"{text:<20s}", f"|p| = {row['modulus']:.4f}"]
    if row["pair"]:
        parts.append(f"f = {_si(row['frequency'], 'Hz' if unit == 's' else 'cycles/sample')}")
        parts.append(f"ζ = {row['damping']:.3f}")
    elif row["modulus"] < 1 and row["pole"].real > 0:
        parts.append(f"τ = {_si(row['time_constant'], unit)}")
    elif row["pole"].real < 0:
        parts.append("(negative real: alternating)")
    else:
        parts.append("(integrator or unstable)" if row["modulus"] >= 1 else "")
    return "  ".join(p for p in parts if p)


def _si(value: float, unit: str) -> str:
    if not np.isfinite(value):
        return f"inf {unit}"
    if unit in ("samples", "cycles/sample"):
        return f"{value:.4g} {unit}"
    for factor, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1, ""), (1e-3, "m"), (1e-6, "µ")):
        if abs(value) >= factor:
            return f"{value / factor:.4g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


def model_summary(model, time_unit: str | None = None) -> dict:
    """A machine-readable description of a model.

    Parameters
    ----------
    model : StateSpace
        The model.
    time_unit : str, optional
        Unit of ``model.dt`` (default ``"s"`` unless ``dt == 1``: samples).

    Returns
    -------
    dict
        ``n, m, p, dt, time_unit, input_names, output_names, stable,
        spectral_radius, poles`` (from :func:`pole_table`), ``noise_model``,
        ``innovation_form`` and ``name``.

    Examples
    --------
    >>> import realize
    >>> s = model_summary(realize.StateSpace([[0.5]], [[1.0]], [[1.0]]))
    >>> s["n"], s["stable"], s["time_unit"]
    (1, True, 'samples')
    """
    if time_unit is None:
        time_unit = "samples" if model.dt == 1.0 else "s"
    return {
        "name": model.name,
        "n": model.n,
        "m": model.m,
        "p": model.p,
        "dt": model.dt,
        "time_unit": time_unit,
        "input_names": list(model.input_names) if model.input_names else None,
        "output_names": list(model.output_names) if model.output_names else None,
        "stable": bool(model.is_stable()),
        "spectral_radius": model.spectral_radius(),
        "poles": pole_table(model, time_unit),
        "noise_model": model.Q is not None,
        "innovation_form": model.K is not None,
    }


def _order_reason(result, requested) -> str:
    """Why the model has its order, in one sentence."""
    order = int(result.order)
    if requested not in (None, "auto"):
        return "fixed by the user"
    cc = np.asarray(getattr(result, "canonical_correlations", []), dtype=float).reshape(-1)
    if cc.size > order:
        return (
            "chosen automatically by Bauer's SVC criterion: the canonical correlations of "
            f"past and future fall from {cc[0]:.3f} to {cc[order - 1]:.3f} over the kept "
            f"states; state {order + 1} ({cc[order]:.3f}) does not pay for its parameters"
        )
    sv = np.asarray(getattr(result, "singular_values", []), dtype=float).reshape(-1)
    if sv.size > order and sv[order] > 0:
        return (
            "chosen automatically from the singular values "
            f"(σ{order}/σ{order + 1} = {sv[order - 1] / sv[order]:.3g})"
        )
    return "chosen automatically"


def assess_fit(result, y_valid, u_valid=None, *, order_requested="auto", **options) -> dict:
    """Score an identified model on validation (and test) data, for a report.

    The scores of :func:`realize.identify.validation.assess_fit`, with the two entries
    a report shows beside them: why the model has its order, and its summary.

    Parameters
    ----------
    result, y_valid, u_valid
        As in :func:`realize.identify.validation.assess_fit` (``result`` also gives
        ``.singular_values`` or ``.canonical_correlations`` for the order's explanation).
    order_requested : "auto" or int
        What the user asked for, to explain the order.
    **options
        ``window``, ``test``, ``max_lag``, ``confidence`` of
        :func:`realize.identify.validation.assess_fit`.

    Returns
    -------
    dict
        The scores of :func:`realize.identify.validation.assess_fit` (``order``,
        ``fit_percent``, ``rmse``, ``simulated``, ``innovations``, ``whiteness``, and the
        ``test_*`` entries when ``test`` is given), with ``order_reason`` (a sentence)
        and ``model`` (see :func:`model_summary`).

    Raises
    ------
    DataError
        As :func:`realize.identify.validation.assess_fit`: too short validation data.

    Examples
    --------
    >>> import numpy as np, realize
    >>> true = realize.StateSpace([[0.8]], [[1.0]], [[1.0]], K=[[0.3]], Lambda=[[0.01]])
    >>> u = np.random.default_rng(0).standard_normal((400, 1))
    >>> result = realize.n4sid(true.simulate(u, rng=1), u, order=1)
    >>> a = assess_fit(result, true.simulate(u, rng=2), u, order_requested=1)
    >>> a["order_reason"], a["model"]["n"], bool(a["fit_percent"][0] > 90)
    ('fixed by the user', 1, True)
    """
    out = validation.assess_fit(result, y_valid, u_valid, **options)
    out["order_reason"] = _order_reason(result, order_requested)
    out["model"] = model_summary(result.model)
    return out


def add_nonlinear_section(
    report: Report,
    linear: dict,
    neural: dict,
    fitted,
    *,
    y_valid,
    output_units=None,
    time_unit: str | None = None,
) -> None:
    """Add the linear and the neural model side by side to a report.

    Parameters
    ----------
    report : Report
    linear, neural : dict
        :func:`assess_fit` of the linear model and :func:`assess_neural_fit` of the neural
        one, on the same validation (and test) data and window.
    fitted : realize.nn.NeuralFitResult
        The training result (steps, time, history).
    y_valid : (T, p) array
        Validation outputs.
    output_units : sequence of str, optional
    time_unit : str, optional

    Examples
    --------
    What ``realize fit DATA --input U --output Y --nonlinear`` adds to its report:

    >>> import numpy as np, realize
    >>> from realize.nn import fit_neural_ssm
    >>> true = realize.StateSpace([[0.8]], [[1.0]], [[1.0]], K=[[0.3]], Lambda=[[0.01]])
    >>> u = np.random.default_rng(0).standard_normal((400, 1))
    >>> y, y_valid = true.simulate(u, rng=1), true.simulate(u, rng=2)
    >>> result = realize.n4sid(y, u, order=1)
    >>> fitted = fit_neural_ssm(y, u, init=result, validation=(y_valid, u), window=20,
    ...                         horizon=20, hidden=8, max_steps=2, progress=False)
    >>> linear = assess_fit(result, y_valid, u, window=20)
    >>> neural = assess_neural_fit(fitted.model, y_valid, u, window=20)
    >>> report = Report("A first-order plant")
    >>> add_nonlinear_section(report, linear, neural, fitted, y_valid=y_valid)
    >>> [item[1] for item in report.items if item[0] != "text"]
    ['Linear and neural state-space models', 'simulation_nonlinear', 'error_spectra']
    """
    model = fitted.model
    window = neural["window"]
    y_valid = np.asarray(y_valid, dtype=float).reshape(len(y_valid), -1)
    units = list(output_units) if output_units else [""] * model.p
    both = "test_rmse" in neural and "test_rmse" in linear
    scores = [("validation fit", "fit_percent"), ("validation RMSE", "rmse")]
    scores += [("test RMSE", "test_rmse")] if both else []
    rows = []
    for i in range(model.p):
        who = f" (output {i + 1})" if model.p > 1 else ""
        unit = f" {units[i]}" if units[i] else ""
        for name, key in scores:
            shown = [
                f"{d[key][i]:.2f} %" if key == "fit_percent" else f"{d[key][i]:.4g}{unit}"
                for d in (linear, neural)
            ]
            rows.append((f"{name}{who}", *shown))
    report.add_table("Linear and neural state-space models", rows, columns=("", "linear", "neural"))
    report.add_text(
        f"The neural model x+ = A x + B u + f(x, u), y = C x + D u + h(x, u) started exactly at "
        f"the linear model (f = h = 0) and trained for {fitted.steps} steps "
        f"({fitted.seconds:.0f} s; the weights of step {fitted.best_step}, the best "
        f"on the validation data, are kept). Networks: {model.depth} hidden layer(s) of "
        f"{model.hidden} {model.activation} units; states estimated from {window} samples."
    )
    sims = {"linear": linear["simulated"], "neural": neural["simulated"]}
    report.add_figure(
        "simulation_nonlinear",
        rplot.simulation(
            y_valid, sims, dt=model.dt, time_unit=time_unit, window=window, units=output_units
        ),
        "Validation data against the simulations of both models.",
    )
    report.add_figure(
        "error_spectra",
        rplot.error_spectra(
            y_valid[window:],
            {k: v[window:] for k, v in sims.items()},
            dt=model.dt,
            time_unit=time_unit,
            units=output_units,
        ),
        "Spectra of the simulation errors: where the neural model's error lies below the "
        "linear model's, it learned what the linear model misses.",
    )


def fit_report(
    result,
    assessment: dict,
    *,
    title: str,
    data_rows=(),
    y_valid=None,
    u_valid=None,
    y_train=None,
    u_train=None,
    output_units=None,
    time_unit: str | None = None,
    summary: dict | None = None,
    selection: dict | None = None,
) -> Report:
    """Build the report of an identification: summary tables and all figures.

    Parameters
    ----------
    result : identification result
        From :func:`realize.n4sid` (``.model``, ``.order``, ``.singular_values``).
    assessment : dict
        From :func:`assess_fit` on the validation data.
    title : str
        Page title.
    data_rows : sequence of (str, str)
        Rows describing the data (file, samples, columns), shown first.
    y_valid, u_valid : (T, p) and (T, m) arrays
        Validation data, for the simulation figure.
    y_train, u_train : arrays, optional
        Estimation data, for the Welch estimate on the Bode diagram.
    output_units : sequence of str, optional
        Units of the outputs, for axis labels.
    time_unit : str, optional
        Unit of the sampling period (default ``"s"`` unless dt == 1).
    summary : dict, optional
        Written as ``summary.json``.
    selection : dict, optional
        An order chosen on validation data: ``orders`` (k,), ``fits`` (k, L), ``chosen``
        and optionally ``labels`` (L,), drawn with :func:`realize.plot.order_selection`.

    Returns
    -------
    Report

    Examples
    --------
    ``realize demo`` and ``realize fit`` (:func:`realize.cli.main`) build their reports
    with this function:

    >>> import numpy as np, realize
    >>> true = realize.StateSpace([[0.8]], [[1.0]], [[1.0]], K=[[0.3]], Lambda=[[0.01]])
    >>> u = np.random.default_rng(0).standard_normal((400, 1))
    >>> result = realize.n4sid(true.simulate(u, rng=1), u, order=1)
    >>> y_valid = true.simulate(u, rng=2)
    >>> a = assess_fit(result, y_valid, u, order_requested=1)
    >>> report = fit_report(result, a, title="A first-order plant", y_valid=y_valid, u_valid=u)
    >>> [item[1] for item in report.items if item[0] == "table"]
    ['Data', 'Model', 'Poles']
    >>> [item[1] for item in report.items if item[0] == "figure"]
    ['singular_values', 'simulation', 'bode', 'poles_zeros', 'innovation_autocorrelation',
     'hankel_singular_values']
    """
    model = result.model
    if time_unit is None:
        time_unit = "samples" if model.dt == 1.0 else "s"
    report = Report(title, summary=summary or {})
    report.add_table("Data", data_rows)
    _add_model_tables(report, model, assessment, output_units, time_unit)
    _add_identification_figures(
        report, result, assessment, selection, y_valid, output_units, time_unit
    )
    _add_model_figures(report, model, assessment, (u_train, y_train), time_unit)
    return report


def _add_model_tables(report: Report, model, assessment: dict, output_units, time_unit: str):
    """The "Model" table (order, fit, RMSE, stability, whiteness) and the "Poles" table."""
    names = list(model.output_names) if model.output_names else None
    rows = [("order", f"{assessment['order']}: {assessment['order_reason']}")]
    for i in range(model.p):
        label = names[i] if names else f"output {i + 1}"
        unit = output_units[i] if output_units and output_units[i] else ""
        rows.append(
            (f"fit, {label}", f"{assessment['fit_percent'][i]:.2f} % (validation, simulation)")
        )
        rows.append((f"RMSE, {label}", f"{assessment['rmse'][i]:.4g} {unit}".strip()))
        if "test_rmse" in assessment:
            rows.append((f"test RMSE, {label}", f"{assessment['test_rmse'][i]:.4g} {unit}".strip()))
    ms = assessment["model"]
    rows.append(
        (
            "stable",
            f"{'yes' if ms['stable'] else 'NO'} (spectral radius {ms['spectral_radius']:.4f})",
        )
    )
    w = assessment["whiteness"]
    if w is not None:
        rows.append(("whiteness", whiteness_text(w)))
    report.add_table("Model", rows)
    pole_rows = []
    for row in ms["poles"]:
        z = row["pole"]
        pole_rows.append(
            (
                f"{z.real:.5f} ± {z.imag:.5f}j" if row["pair"] else f"{z.real:.5f}",
                f"{row['modulus']:.5f}",
                _si(row["frequency"], "Hz" if time_unit == "s" else "cycles/sample")
                if row["pair"]
                else "",
                f"{row['damping']:.3f}" if row["pair"] else "",
                _si(row["time_constant"], time_unit),
            )
        )
    report.add_table(
        "Poles", pole_rows, columns=("pole", "|p|", "frequency", "damping ratio", "time constant")
    )


def _add_identification_figures(
    report: Report, result, assessment: dict, selection, y_valid, output_units, time_unit: str
):
    """The order figures (singular values, validation fit per order) and the simulation."""
    model = result.model
    sv = getattr(result, "singular_values", None)
    if sv is not None and np.size(sv):
        report.add_figure(
            "singular_values",
            rplot.singular_values(sv, order=result.order),
            "Singular values of the weighted projection: the gap after the "
            "kept values separates system from noise.",
        )
    if selection is not None:
        report.add_figure(
            "order_selection",
            rplot.order_selection(
                selection["orders"],
                selection["fits"],
                selection["chosen"],
                labels=selection.get("labels"),
            ),
            "Fit on the validation data of the model of each order; the models "
            "of one horizon are all identified from one R factor of the "
            "estimation data.",
        )
    if y_valid is not None:
        report.add_figure(
            "simulation",
            rplot.simulation(
                y_valid,
                assessment["simulated"],
                dt=model.dt,
                time_unit=time_unit,
                window=assessment["window"],
                output_names=list(model.output_names) if model.output_names else None,
                units=output_units,
            ),
            "Validation data against the model's simulation from an initial state "
            f"estimated on the first {assessment['window']} samples.",
        )


def _add_model_figures(report: Report, model, assessment: dict, train, time_unit: str):
    """Bode diagram (against the Welch estimate from ``train = (u, y)``), poles and zeros,
    innovation whiteness and Hankel singular values."""
    u_train, y_train = train
    names = list(model.output_names) if model.output_names else None
    data = (u_train, y_train) if (u_train is not None and y_train is not None and model.m) else None
    if model.m or model.K is not None or model.Q is not None:
        report.add_figure(
            "bode",
            rplot.bode(model, data=data, time_unit=time_unit),
            "Frequency response of the model"
            + (" against the Welch estimate from the estimation data." if data else "."),
        )
    report.add_figure(
        "poles_zeros",
        rplot.pole_zero(model),
        "Poles and zeros; the model is stable when every pole lies inside the unit circle.",
    )
    if assessment["innovations"] is not None:
        report.add_figure(
            "innovation_autocorrelation",
            rplot.innovation_autocorrelation(assessment["innovations"], output_names=names),
            "Autocorrelation of the one-step prediction errors: a model that captured the "
            "dynamics leaves white innovations, inside the band.",
        )
    if assessment["model"]["stable"] and model.n and model.m:
        try:
            fig = rplot.hankel_singular_values(model)
        except (ImportError, AttributeError):
            fig = None  # realize.hankel_singular_values not available in this build
        if fig is not None:
            report.add_figure(
                "hankel_singular_values",
                fig,
                "Hankel singular values: the input-output energy of each "
                "balanced state; small values can be truncated.",
            )


def whiteness_text(w) -> str:
    """The verdict of a whiteness test (:func:`realize.identify.residuals.whiteness`) in
    one sentence."""
    outside = np.asarray(w["outside"]).tolist()
    lags = w["autocorrelation"].shape[0] - 1
    expected = w["expected_outside"]
    verdict = "white" if np.all(w["white"]) else "not white"
    counts = ", ".join(str(int(o)) for o in outside)
    return (
        f"{counts} of {lags} lags outside the {100 * w['confidence']:g} % band "
        f"({expected:.1f} expected): innovations look {verdict}"
    )


def default_report_dir(stem: str) -> str:
    """The default report folder: ``realize-report-<stem>`` in the current directory.

    Parameters
    ----------
    stem : str
        A name for the data (a file's stem); characters unsafe in file names become
        ``-``.

    Returns
    -------
    str
        An absolute path.

    Examples
    --------
    >>> import os
    >>> os.path.basename(default_report_dir("my data.csv"))
    'realize-report-my-data.csv'
    """
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in stem).strip("-") or "data"
    return os.path.join(os.getcwd(), f"realize-report-{safe}")
