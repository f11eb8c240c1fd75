"""The ``realize`` command: fit, inspect, convert, simulate and reverse state-space models.

::

    realize demo                                  # fit the shipped Wiener-Hammerstein data
    realize fit data.csv --input u --output y     # fit your own data (CSV, NPZ, Parquet)
    realize info model.npz                        # order, poles, stability
    realize convert model.npz --form balanced --save balanced.npz
    realize simulate model.npz --steps 1000 --out sim.csv
    realize reverse model.npz --save backward.npz # the Lindqvist-Picci backward model

Every subcommand takes ``--quiet`` (no progress, no summary) and ``--json`` (a
machine-readable summary on stdout). Bad input (a missing file, an unknown column, a
non-numeric cell, missing values, too little data, an unknown form) ends the command
with one line on stderr and exit status 2; set ``REALIZE_DEBUG=1`` to see the
traceback instead.

Exit status: 0 success, 1 internal error (a bug: please report it), 2 bad input,
130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import threading
import time
import warnings

import numpy as np

__all__ = ["main", "build_parser"]

_MAX_VALIDATE_ORDER = 10
_VALIDATE_HORIZONS = (10, 15, 20, 30)
_FORMS = "controllable, observable, modal, balanced, schur, memory"
_EPILOG = "Run 'realize COMMAND --help' for the options of a command."


class _UsageError(Exception):
    """Bad command-line usage (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line: 'realize fit: error: ...'."""

    def error(self, message):
        raise _UsageError(f"{message} (see '{self.prog} --help')")


# ---------------------------------------------------------------- progress and output
class _Console:
    """Summaries on stdout; progress as a transient status line on a terminal's stderr.

    The status line (a spinner, the step and its elapsed time) is erased when the step
    ends, so that stderr holds nothing but warnings and, on failure, the one error line;
    when stderr is not a terminal there is no progress display at all. Step durations
    are kept in ``timings`` for the summary.
    """

    def __init__(self, quiet: bool, json_mode: bool):
        self.quiet = quiet
        self.json = json_mode
        self.tty = sys.stderr.isatty()
        self.timings: dict[str, float] = {}

    def say(self, text: str = "") -> None:
        """A line of the human-readable summary (stdout; silent with --quiet or --json)."""
        if not (self.quiet or self.json):
            print(text, flush=True)

    @contextlib.contextmanager
    def step(self, text: str, key: str | None = None):
        """Run a step under a spinner with elapsed time (on a terminal, unless quiet)."""
        start = time.perf_counter()
        stop = threading.Event()
        spinner = None
        if self.tty and not self.quiet:

            def spin():
                frames = "|/-\\"
                k = 0
                while True:
                    elapsed = time.perf_counter() - start
                    sys.stderr.write(f"\r{frames[k % 4]} {text} ... {elapsed:4.1f} s\x1b[K")
                    sys.stderr.flush()
                    k += 1
                    if stop.wait(0.1):
                        break

            spinner = threading.Thread(target=spin, daemon=True)
            spinner.start()
        try:
            yield
        finally:
            stop.set()
            if spinner is not None:
                spinner.join()
                sys.stderr.write("\r\x1b[K")
                sys.stderr.flush()
            if key:
                self.timings[key] = time.perf_counter() - start

    def emit_json(self, payload: dict) -> None:
        if self.json:
            from realize.report import _jsonable

            print(json.dumps(_jsonable(payload), indent=2), flush=True)


# ---------------------------------------------------------------------- the parser
def _order(text: str):
    if text in ("auto", "validate"):
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected 'auto', 'validate' or a positive integer, got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"expected 'auto', 'validate' or a positive integer, got {value}"
        )
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a fraction between 0 and 1, got {text!r}"
        ) from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(
            f"expected a fraction strictly between 0 and 1, got {value}"
        )
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (np.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``realize`` command.

    Returns
    -------
    argparse.ArgumentParser
        With subcommands ``fit``, ``demo``, ``info``, ``convert``, ``simulate``,
        ``reverse``.

    Examples
    --------
    >>> args = build_parser().parse_args(["fit", "data.csv", "--output", "y", "--order", "4"])
    >>> args.command, args.output, args.order
    ('fit', 'y', 4)
    """
    from realize import __version__

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print nothing but errors (no progress, no summary)",
    )
    common.add_argument(
        "--json", action="store_true", help="print a machine-readable JSON summary on stdout"
    )

    parser = _Parser(
        prog="realize",
        description="Stochastic realization and system identification of state-space models.",
        epilog=_EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"realize {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def identification_options(p, default_order):
        p.add_argument(
            "--order",
            type=_order,
            default=default_order,
            help="model order: 'auto' (BIC over the orders that the canonical "
            "correlations support above their noise floor), 'validate' (the best simulation fit on the validation "
            f"data among orders 1 to {_MAX_VALIDATE_ORDER} and horizons "
            f"{', '.join(map(str, _VALIDATE_HORIZONS))} unless --horizon) or N "
            f"(default {default_order})",
        )
        p.add_argument(
            "--method",
            choices=("n4sid", "moesp", "cva"),
            default="n4sid",
            help="subspace weighting (default n4sid)",
        )
        p.add_argument(
            "--horizon",
            type=_positive_int,
            default=None,
            help="block rows of the Hankel matrices (default: chosen by n4sid)",
        )
        p.add_argument(
            "--feedthrough",
            action=argparse.BooleanOptionalAction,
            default=False,
            help="estimate a direct feedthrough D (fit default: no, D = 0, as for most "
            "sampled physical systems; demo default: yes)",
        )
        p.add_argument(
            "--detrend",
            action=argparse.BooleanOptionalAction,
            default=False,
            help="remove the means of inputs and outputs (offsets) before fitting "
            "(fit default: no; demo default: yes)",
        )
        p.add_argument(
            "--stable",
            action=argparse.BooleanOptionalAction,
            default=False,
            help="enforce a stable A by the smallest regularization of the shift "
            "equation (fit default: no; demo default: yes)",
        )
        p.add_argument(
            "--report",
            metavar="DIR",
            default=None,
            help="folder for the HTML report (default ./realize-report-NAME)",
        )
        p.add_argument("--no-report", action="store_true", help="write no report")
        p.add_argument(
            "--nonlinear",
            action="store_true",
            help="then grow a neural state-space model from the linear one "
            "(realize.nn.fit_neural_ssm; needs torch) and compare the two",
        )
        p.add_argument(
            "--budget",
            type=_positive_float,
            default=60.0,
            metavar="SECONDS",
            help="training time of --nonlinear, in seconds (default 60)",
        )
        p.add_argument(
            "--save",
            metavar="MODEL.npz",
            default=None,
            help="save the identified model (realize's npz format)",
        )

    fit = sub.add_parser(
        "fit",
        parents=[common],
        help="identify a state-space model from a data file",
        description="Identify a state-space model from measured data (CSV with a header row, "
        "NPZ or Parquet), validate it on the last part of the record and write a report.",
        epilog="Columns are named by their header (or 0-based position); several are "
        "separated by commas. A unit in a name, as in 'y [V]', labels the figures. "
        "Example: realize fit data.csv --input u --output y1,y2 --dt 0.01",
    )
    fit.add_argument("data", metavar="DATA", help="data file: .csv/.tsv/.txt, .npz or .parquet")
    fit.add_argument(
        "--output", "-y", required=True, metavar="COLS", help="output column(s), comma-separated"
    )
    fit.add_argument(
        "--input",
        "-u",
        default=None,
        metavar="COLS",
        help="input column(s), comma-separated (omit for output-only data)",
    )
    identification_options(fit, "auto")
    fit.add_argument(
        "--validate",
        type=_fraction,
        default=0.25,
        metavar="FRACTION",
        help="fraction of the record, at its end, kept for validation (default 0.25)",
    )
    fit.add_argument(
        "--dt",
        type=_positive_float,
        default=None,
        help="sampling period in seconds (default: from a time column, else 1 sample)",
    )
    fit.add_argument(
        "--time",
        default=None,
        metavar="COL",
        help="time column giving the sampling period (default: a column named "
        "'time' or 't', if any)",
    )

    demo = sub.add_parser(
        "demo",
        parents=[common],
        help="fit the shipped Wiener-Hammerstein benchmark data and write a report",
        description="Fit a linear state-space model to the Wiener-Hammerstein benchmark "
        "(an electronic circuit sampled at 51.2 kHz) on its training part, validate it on "
        "the validation part, score the simulation RMSE on the test part after a 50-sample "
        "initialization (the benchmark's standard score), and write a report.",
    )
    identification_options(demo, "validate")
    # the circuit's data have offsets, a direct path, and short horizons give unstable fits
    demo.set_defaults(feedthrough=True, detrend=True, stable=True)

    info = sub.add_parser(
        "info",
        parents=[common],
        help="describe a saved model",
        description="Print a saved model's sizes, poles and stability.",
    )
    info.add_argument("model", metavar="MODEL", help="a model file written by realize (.npz)")

    convert = sub.add_parser(
        "convert",
        parents=[common],
        help="convert a model to a canonical form",
        description="Transform a saved model by similarity into a canonical form.",
    )
    convert.add_argument("model", metavar="MODEL")
    convert.add_argument("--form", required=True, help=f"the form: {_FORMS}, ...")
    convert.add_argument("--save", required=True, metavar="OUT", help="where to save the result")

    simulate = sub.add_parser(
        "simulate",
        parents=[common],
        help="simulate a saved model",
        description="Simulate a saved model and write inputs and outputs to a file "
        "(.csv, .npz or .parquet). Without --input, a model with inputs is driven by "
        "unit-variance white Gaussian noise.",
    )
    simulate.add_argument("model", metavar="MODEL")
    simulate.add_argument(
        "--steps",
        type=_positive_int,
        default=None,
        metavar="N",
        help="number of samples (default: the length of --input)",
    )
    simulate.add_argument("--out", required=True, metavar="FILE", help="output file")
    simulate.add_argument(
        "--input",
        default=None,
        metavar="FILE",
        help="file with the input signals (columns named like the model's "
        "inputs, or --input-columns)",
    )
    simulate.add_argument(
        "--input-columns",
        default=None,
        metavar="COLS",
        help="input columns of --input, comma-separated",
    )
    simulate.add_argument(
        "--no-noise", action="store_true", help="leave out process and measurement noise"
    )
    simulate.add_argument("--seed", type=int, default=0, help="random seed (default 0)")

    reverse = sub.add_parser(
        "reverse",
        parents=[common],
        help="the backward (reverse-time) model",
        description="Compute the Lindqvist-Picci backward model of a stable stochastic model "
        "(with a noise model or innovation form). For a model with inputs, its stochastic "
        "part (the model from the innovations to the outputs) is reversed.",
    )
    reverse.add_argument("model", metavar="MODEL")
    reverse.add_argument("--save", required=True, metavar="OUT")
    return parser


# ------------------------------------------------------------------------- helpers
def _load_model(path: str):
    import realize

    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    obj = realize.load(path)
    if hasattr(obj, "A") and hasattr(obj, "poles"):
        return obj
    model = getattr(obj, "model", None)
    if model is not None and hasattr(model, "A"):
        return model
    from realize.errors import FormatError

    raise FormatError(f"{path}: expected a state-space model, got a {type(obj).__name__}")


def _time_unit(model) -> str:
    return "samples" if model.dt == 1.0 else "s"


def _print_model(con: _Console, summary: dict, indent: str = "  ") -> None:
    from realize.report import _format_pole

    unit = summary["time_unit"]
    dt = summary["dt"]
    dt_text = "1 sample" if unit == "samples" else f"{dt:.6g} {unit}"
    ins = ", ".join(summary["input_names"] or []) or str(summary["m"])
    outs = ", ".join(summary["output_names"] or []) or str(summary["p"])
    con.say(
        f"{indent}{'size':<10} n = {summary['n']} states, m = {summary['m']} inputs ({ins}), "
        f"p = {summary['p']} outputs ({outs}), dt = {dt_text}"
    )
    stable = "yes" if summary["stable"] else "NO"
    con.say(f"{indent}{'stable':<10} {stable} (spectral radius {summary['spectral_radius']:.4f})")
    extras = [
        name
        for name, flag in (
            ("noise model (Q, R, S)", summary["noise_model"]),
            ("innovation form (K, Lambda)", summary["innovation_form"]),
        )
        if flag
    ]
    if extras:
        con.say(f"{indent}{'noise':<10} " + " and ".join(extras))
    rows = summary["poles"]
    for k, row in enumerate(rows[:12]):
        con.say(f"{indent}{'poles' if k == 0 else '':<10} {_format_pole(row, unit)}")
    if len(rows) > 12:
        con.say(f"{indent}{'':<10} ... and {len(rows) - 12} more (see the report)")


def _identify(y, u, args, con: _Console, label: str, valid, window: int):
    """Identify a model as the options say; returns (result, selection or None).

    ``--order validate`` accumulates the block-Hankel R factor once and identifies every
    order from 1 to ``_MAX_VALIDATE_ORDER`` from it, keeping the best simulation fit on
    the validation data (one-step prediction fit for output-only data).
    """
    import realize

    options = {"method": args.method, "feedthrough": args.feedthrough, "stable": args.stable}
    text = f"{args.method.upper()}, order {args.order}, {y.shape[0]} samples"
    if args.order != "validate":
        if args.horizon is not None:
            options["horizon"] = args.horizon
        with con.step(f"identifying {label} ({text})", key="identification"):
            return realize.n4sid(y, u, order=args.order, detrend=args.detrend, **options), None

    from realize.compare import fit_percent, innovations, simulate_from_window
    from realize.errors import OrderError
    from realize.report import _offsets

    horizons = [args.horizon] if args.horizon else list(_VALIDATE_HORIZONS)
    y_valid, u_valid = valid
    results, curves = {}, {}
    with con.step(f"identifying {label} ({text})", key="identification"):
        for horizon in horizons:
            acc = realize.SubspaceAccumulator(horizon=horizon, detrend=args.detrend)
            acc.update(y, u)
            curve = {}
            for n in range(1, _MAX_VALIDATE_ORDER + 1):
                try:
                    result = acc.identify(order=n, **options)
                except OrderError:
                    break  # the horizon supports no higher order
                u_mean, y_mean = _offsets(result, result.model)
                yv = y_valid - y_mean
                if u is None:
                    yhat = yv - innovations(result.model, yv)
                else:
                    yhat, _ = simulate_from_window(result.model, yv, u_valid - u_mean, window)
                results[horizon, n] = result
                curve[n] = float(np.mean(fit_percent(yv[window:], yhat[window:])))
            curves[horizon] = curve
    if not results:
        raise OrderError(f"--horizon: {horizons[0]} supports no model order; use a longer one")
    horizon, best = max(results, key=lambda key: curves[key[0]][key[1]])
    orders = np.arange(1, max(max(c) for c in curves.values() if c) + 1)
    table = np.array([[curves[h].get(n, np.nan) for h in horizons] for n in orders])
    kind = "simulation" if u is not None else "one-step prediction"
    searched = (
        f"horizon {horizon}"
        if len(horizons) == 1
        else f"horizons {', '.join(map(str, horizons))}; best with {horizon}"
    )
    reason = (
        f"best {kind} fit on the validation data among orders 1 to {orders[-1]} "
        f"({searched}); the validation fit is therefore optimistic"
        + (", the test score is independent" if args.command == "demo" else "")
    )
    return results[horizon, best], {
        "orders": orders,
        "fits": table,
        "labels": [f"horizon {h}" for h in horizons],
        "reason": reason,
        "chosen": best,
        "horizon": horizon,
        "horizons": horizons,
    }


def _labelled(model, input_names, output_names, input_units, output_units, name):
    fields = {"input_names": input_names, "output_names": output_names, "name": name}
    if input_units is not None and model.m:
        fields["input_units"] = input_units
    if output_units is not None:
        fields["output_units"] = output_units
    if model.m == 0:
        fields.pop("input_names")
        fields.pop("input_units", None)
    return model.replace(**fields)


def _finish_fit(
    result,
    assessment,
    con,
    args,
    *,
    title,
    data_rows,
    summary,
    y_valid,
    u_valid,
    y_train,
    u_train,
    output_units,
    time_unit,
    report_stem,
    selection,
    nonlinear=None,
) -> dict:
    import realize
    from realize.report import (
        _whiteness_text,
        add_nonlinear_section,
        default_report_dir,
        fit_report,
    )

    model = result.model
    if selection is not None:
        summary["order_selection"] = {
            k: selection[k] for k in ("orders", "fits", "horizons", "horizon", "chosen")
        }
    report_path = None
    if not args.no_report:
        directory = args.report or default_report_dir(report_stem)
        with con.step("writing the report", key="report"):
            report = fit_report(
                result,
                assessment,
                title=title,
                data_rows=data_rows,
                y_valid=y_valid,
                u_valid=u_valid,
                y_train=y_train,
                u_train=u_train,
                output_units=output_units,
                time_unit=time_unit,
                summary=summary,
                selection=selection,
            )
            if nonlinear is not None:
                add_nonlinear_section(
                    report,
                    assessment,
                    nonlinear[1],
                    nonlinear[0],
                    y_valid=y_valid,
                    output_units=output_units,
                    time_unit=time_unit,
                )
            report_path = report.write(directory)
            if nonlinear is not None:
                neural_path = report_path.parent / "neural_model.safetensors"
                nonlinear[0].model.save(neural_path)
                summary["nonlinear"]["model_file"] = str(neural_path)
        summary["report"] = str(report_path)
    if args.save:
        realize.save(model, args.save)
        summary["saved"] = os.path.abspath(args.save)
        if nonlinear is not None:
            neural_path = os.path.splitext(args.save)[0] + ".neural.safetensors"
            nonlinear[0].model.save(neural_path)
            summary["nonlinear"]["saved"] = os.path.abspath(neural_path)

    names = summary["output_names"]
    units = output_units or [None] * model.p
    con.say(title)
    con.say(f"  {'order':<10} {assessment['order']}: {assessment['order_reason']}")
    for i in range(model.p):
        who = f" ({names[i]})" if model.p > 1 else ""
        unit = f" {units[i]}" if units[i] else ""
        con.say(
            f"  {'fit':<10} {assessment['fit_percent'][i]:.2f} %{who} on validation data "
            f"(simulation; state estimated on the first {assessment['window']} samples)"
        )
        con.say(f"  {'RMSE':<10} {assessment['rmse'][i]:.4g}{unit}{who} on validation data")
        if "test_rmse" in assessment:
            con.say(
                f"  {'test RMSE':<10} {assessment['test_rmse'][i]:.4g}{unit}{who} "
                f"(fit {assessment['test_fit_percent'][i]:.2f} %)"
            )
    if nonlinear is not None:
        fitted, nl = nonlinear
        for i in range(model.p):
            who = f" ({names[i]})" if model.p > 1 else ""
            unit = f" {units[i]}" if units[i] else ""
            line = (
                f"  {'nonlinear':<10} fit {nl['fit_percent'][i]:.2f} %, RMSE "
                f"{nl['rmse'][i]:.4g}{unit}{who} on validation data"
            )
            if "test_rmse" in nl:
                line += f"; test RMSE {nl['test_rmse'][i]:.4g}{unit}"
            con.say(line)
        con.say(
            f"  {'':<10} neural state-space model grown from the linear one: "
            f"{fitted.steps} steps in {fitted.seconds:.0f} s, best at step {fitted.best_step}"
        )
    _print_model(con, assessment["model"])
    if assessment["whiteness"] is not None:
        con.say(f"  {'whiteness':<10} {_whiteness_text(assessment['whiteness'])}")
    summary["timings"] = dict(con.timings)
    con.say(f"  {'time':<10} " + ", ".join(f"{k} {v:.1f} s" for k, v in con.timings.items()))
    if report_path is not None:
        con.say(f"  {'report':<10} {report_path}")
    if args.save:
        con.say(f"  {'saved':<10} {summary['saved']}")
        if nonlinear is not None:
            con.say(f"  {'':<10} {summary['nonlinear']['saved']}")
    return summary


def _grow_nonlinear(result, args, con, *, y_train, u_train, y_valid, u_valid, window, test=None):
    """The neural state-space model grown from the linear result, and its scores."""
    from realize.errors import DataError

    if u_train is None:
        raise DataError(
            "--nonlinear: expected inputs (--input): the neural model simulates from inputs"
        )
    try:
        from realize.nn import fit_neural_ssm
    except ImportError as err:
        raise DataError(
            f"--nonlinear: expected torch (pip install 'realize[nn]'), got {err}"
        ) from None
    from realize.report import assess_neural_fit

    con.say(f"growing a neural state-space model for {args.budget:g} s ...")
    fitted = fit_neural_ssm(
        y_train,
        u_train,
        init=result,
        validation=(y_valid, u_valid),
        window=window,
        time_budget=args.budget,
        progress=not args.quiet,
    )
    nl = assess_neural_fit(fitted.model, y_valid, u_valid, window=window, test=test)
    return fitted, nl


def _nonlinear_summary(fitted, nl) -> dict:
    out = {
        "fit_percent": nl["fit_percent"],
        "rmse": nl["rmse"],
        "steps": fitted.steps,
        "best_step": fitted.best_step,
        "seconds": fitted.seconds,
        "stop_reason": fitted.stop_reason,
        "model": fitted.model.config(),
    }
    if "test_rmse" in nl:
        out["test_rmse"] = nl["test_rmse"]
        out["test_fit_percent"] = nl["test_fit_percent"]
    return out


def _fit_summary(assessment, extra: dict) -> dict:
    out = dict(extra)
    out.update(
        {
            "order": assessment["order"],
            "order_reason": assessment["order_reason"],
            "fit_percent": assessment["fit_percent"],
            "rmse": assessment["rmse"],
            "window": assessment["window"],
            "model": assessment["model"],
        }
    )
    if "test_rmse" in assessment:
        out["test_rmse"] = assessment["test_rmse"]
        out["test_fit_percent"] = assessment["test_fit_percent"]
    w = assessment["whiteness"]
    if w is not None:
        out["whiteness"] = {
            "lags": int(w["autocorrelation"].shape[0] - 1),
            "outside": w["outside"],
            "band": w["band"],
            "expected_outside": w["expected_outside"],
            "confidence": w["confidence"],
        }
    return out


# ----------------------------------------------------------------------- commands
def _cmd_fit(args, con: _Console) -> dict:
    from realize.errors import DataError
    from realize.report import assess_fit
    from realize.tabular import read_table, split_name_unit

    with con.step(f"reading {args.data}"):
        table = read_table(args.data)
    y, out_cols = table.select(args.output, "--output")
    u, in_cols = (None, [])
    if args.input is not None:
        u, in_cols = table.select(args.input, "--input")
        if u.shape[0] != y.shape[0]:
            raise DataError(f"--input: expected {y.shape[0]} rows like --output, got {u.shape[0]}")
        overlap = set(in_cols) & set(out_cols)
        if overlap:
            raise DataError(f"--input: column {sorted(overlap)[0]!r} is also an output")

    dt, time_unit = 1.0, "samples"
    time_col = args.time or table.time_column()
    if args.time is not None or (time_col and time_col not in in_cols + out_cols):
        t, (time_col,) = table.select(time_col, "--time")
        steps = np.diff(t[:, 0])
        if steps.size == 0 or np.any(steps <= 0):
            raise DataError(f"--time: column {time_col!r} must increase strictly from row to row")
        dt = float(np.median(steps))
        if np.max(np.abs(steps - dt)) > 0.01 * dt:
            warnings.warn(
                f"--time: column {time_col!r} is not uniformly sampled; "
                f"using the median step {dt:.6g}",
                stacklevel=1,
            )
        time_unit = table.unit(time_col) or "s"
    if args.dt is not None:
        dt, time_unit = args.dt, "s"

    T = y.shape[0]
    n_valid = int(round(args.validate * T))
    n_train = T - n_valid
    if n_valid < 20 or n_train < 20:
        raise DataError(
            f"{args.data}: too little data, {T} samples leave {n_train} for estimation and "
            f"{n_valid} for validation; expected at least 20 of each"
        )
    y_train, y_valid = y[:n_train], y[n_train:]
    u_train = u[:n_train] if u is not None else None
    u_valid = u[n_train:] if u is not None else None
    window = min(50, n_valid // 4)
    result, selection = _identify(
        y_train, u_train, args, con, os.path.basename(args.data), (y_valid, u_valid), window
    )

    out_names = [split_name_unit(c)[0] for c in out_cols]
    out_units = [split_name_unit(c)[1] for c in out_cols]
    in_names = [split_name_unit(c)[0] for c in in_cols]
    in_units = [split_name_unit(c)[1] for c in in_cols]
    model = result.model
    if dt != model.dt:
        model = model.replace(dt=dt)
    model = _labelled(
        model,
        in_names,
        out_names,
        [x or "" for x in in_units] if any(in_units) else None,
        [x or "" for x in out_units] if any(out_units) else None,
        os.path.basename(args.data),
    )
    result = _with_model(result, model)

    with con.step("validating", key="validation"):
        assessment = assess_fit(result, y_valid, u_valid, window=window, order_requested=args.order)
    if selection is not None:
        assessment["order_reason"] = selection["reason"]
    stem = os.path.splitext(os.path.basename(args.data))[0]
    data_rows = [
        ("file", os.path.abspath(args.data)),
        ("inputs", ", ".join(in_cols) or "none (output-only)"),
        ("outputs", ", ".join(out_cols)),
        (
            "samples",
            f"{T}: {n_train} for estimation, {n_valid} for validation (the last "
            f"{100 * args.validate:g} %)",
        ),
        (
            "sampling period",
            "1 sample (no time information)" if time_unit == "samples" else f"{dt:.6g} {time_unit}",
        ),
        (
            "method",
            f"{args.method.upper()}" + (f", horizon {args.horizon}" if args.horizon else ""),
        ),
    ]
    summary = _fit_summary(
        assessment,
        {
            "command": "fit",
            "data": os.path.abspath(args.data),
            "inputs": in_cols,
            "outputs": out_cols,
            "samples": T,
            "estimation_samples": n_train,
            "validation_samples": n_valid,
            "dt": dt,
            "time_unit": time_unit,
            "method": args.method,
            "output_names": out_names,
        },
    )
    nonlinear = None
    if args.nonlinear:
        nonlinear = _grow_nonlinear(
            result,
            args,
            con,
            y_train=y_train,
            u_train=u_train,
            y_valid=y_valid,
            u_valid=u_valid,
            window=window,
        )
        summary["nonlinear"] = _nonlinear_summary(*nonlinear)
    title = (
        f"realize fit {os.path.basename(args.data)}: order {assessment['order']} "
        f"{args.method.upper()} model"
    )
    return _finish_fit(
        result,
        assessment,
        con,
        args,
        title=title,
        data_rows=data_rows,
        summary=summary,
        y_valid=y_valid,
        u_valid=u_valid,
        y_train=y_train,
        u_train=u_train,
        output_units=out_units if any(out_units) else None,
        time_unit=time_unit,
        report_stem=stem,
        selection=selection,
        nonlinear=nonlinear,
    )


def _with_model(result, model):
    """The identification result with its model replaced (labels, sampling period)."""
    import copy
    import dataclasses

    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        try:
            return dataclasses.replace(result, model=model)
        except (TypeError, ValueError):
            pass
    clone = copy.copy(result)
    try:
        clone.model = model
    except AttributeError:
        from types import SimpleNamespace

        clone = SimpleNamespace(
            model=model,
            order=result.order,
            singular_values=getattr(result, "singular_values", None),
        )
    return clone


def _cmd_demo(args, con: _Console) -> dict:
    import realize.datasets as datasets
    from realize.report import assess_fit

    with con.step("loading the Wiener-Hammerstein benchmark data"):
        data = datasets.wiener_hammerstein()
    train, valid, test = data.train, data.valid, data.test
    window = int(data.extra.get("init_window", 50))
    result, selection = _identify(
        train.y, train.u, args, con, "the Wiener-Hammerstein circuit", (valid.y, valid.u), window
    )
    model = result.model.replace(dt=data.dt)
    model = _labelled(
        model,
        list(data.input_names),
        list(data.output_names),
        list(data.input_units),
        list(data.output_units),
        "wiener_hammerstein",
    )
    result = _with_model(result, model)
    with con.step("validating and scoring on the test part", key="validation"):
        assessment = assess_fit(
            result,
            valid.y,
            valid.u,
            window=window,
            test=(test.y, test.u),
            order_requested=args.order,
        )
    if selection is not None:
        assessment["order_reason"] = selection["reason"]
    fs = 1.0 / data.dt
    data_rows = [
        (
            "data",
            "Wiener-Hammerstein benchmark: electronic circuit, linear - static "
            "nonlinearity - linear (Schoukens, Suykens & Ljung, 2009)",
        ),
        ("samples", f"train {len(train.y)}, validation {len(valid.y)}, test {len(test.y)}"),
        ("sampling", f"{fs / 1000:g} kHz (dt = {data.dt * 1e6:.4g} µs)"),
        (
            "input / output",
            f"{data.input_names[0]} [{data.input_units[0]}] -> "
            f"{data.output_names[0]} [{data.output_units[0]}]",
        ),
        ("method", args.method.upper() + (f", horizon {args.horizon}" if args.horizon else "")),
        (
            "score",
            f"test simulation RMSE after a {window}-sample initialization window "
            "(the benchmark's standard score)",
        ),
    ]
    summary = _fit_summary(
        assessment,
        {
            "command": "demo",
            "data": "wiener_hammerstein",
            "samples": {"train": len(train.y), "valid": len(valid.y), "test": len(test.y)},
            "dt": data.dt,
            "time_unit": "s",
            "method": args.method,
            "output_names": list(data.output_names),
        },
    )
    nonlinear = None
    if args.nonlinear:
        nonlinear = _grow_nonlinear(
            result,
            args,
            con,
            y_train=train.y,
            u_train=train.u,
            y_valid=valid.y,
            u_valid=valid.u,
            window=window,
            test=(test.y, test.u),
        )
        summary["nonlinear"] = _nonlinear_summary(*nonlinear)
    title = (
        f"realize demo: order {assessment['order']} linear model of the Wiener-Hammerstein circuit"
    )
    return _finish_fit(
        result,
        assessment,
        con,
        args,
        title=title,
        data_rows=data_rows,
        summary=summary,
        y_valid=valid.y,
        u_valid=valid.u,
        y_train=train.y,
        u_train=train.u,
        output_units=list(data.output_units),
        time_unit="s",
        report_stem="wiener-hammerstein",
        selection=selection,
        nonlinear=nonlinear,
    )


def _cmd_info(args, con: _Console) -> dict:
    from realize.report import model_summary

    model = _load_model(args.model)
    summary = model_summary(model)
    summary["file"] = os.path.abspath(args.model)
    con.say(f"{args.model}: {model!r}".splitlines()[0])
    _print_model(con, summary)
    if model.is_stable() and model.m and model.n:
        import realize

        try:
            hsv = np.asarray(realize.hankel_singular_values(model))
        except (ImportError, AttributeError):
            hsv = None
        if hsv is not None:
            summary["hankel_singular_values"] = hsv
            shown = ", ".join(f"{v:.4g}" for v in hsv[:8]) + (", ..." if hsv.size > 8 else "")
            con.say(f"  {'hankel sv':<10} {shown}")
    return summary


def _cmd_convert(args, con: _Console) -> dict:
    import realize
    from realize.report import model_summary

    model = _load_model(args.model)
    with con.step(f"converting to the {args.form} form"):
        new, T = realize.canonical_form(model, args.form)
    realize.save(new, args.save)
    cond = float(np.linalg.cond(T)) if np.size(T) else 1.0
    summary = model_summary(new)
    summary.update(form=args.form, condition_number=cond, saved=os.path.abspath(args.save))
    con.say(f"{args.form} form of {args.model}, saved to {args.save}")
    con.say(f"  {'cond(T)':<10} {cond:.3g} (the similarity x_new = T x)")
    with np.printoptions(precision=4, suppress=True, linewidth=100):
        for name in ("A", "B", "C", "D"):
            mat = getattr(new, name)
            if mat.size and mat.shape[0] <= 8 and mat.shape[1] <= 8:
                lines = str(mat).splitlines()
                con.say(f"  {name:<10} " + lines[0])
                for line in lines[1:]:
                    con.say(f"  {'':<10} " + line)
    _print_model(con, summary)
    return summary


def _cmd_simulate(args, con: _Console) -> dict:
    from realize.errors import DataError
    from realize.tabular import read_table, write_table

    model = _load_model(args.model)
    u = None
    if model.m:
        if args.input is not None:
            table = read_table(args.input)
            cols = args.input_columns
            if cols is None:
                names = list(model.input_names or [])
                cols = (
                    names
                    if names
                    and all(
                        any(c == n or c.split(" [")[0] == n for c in table.names) for n in names
                    )
                    else list(table.names)
                )
            u, _ = table.select(cols, "--input-columns")
            if u.shape[1] != model.m:
                raise DataError(
                    f"--input: expected {model.m} input column(s) for this model, "
                    f"got {u.shape[1]} ({', '.join(map(str, cols))})"
                )
            if args.steps is not None:
                if args.steps > u.shape[0]:
                    raise DataError(
                        f"--steps: the input file has only {u.shape[0]} samples, "
                        f"got --steps {args.steps}"
                    )
                u = u[: args.steps]
        else:
            if args.steps is None:
                raise DataError("--steps: expected a number of samples (or an --input file)")
            u = np.random.default_rng(args.seed + 1).standard_normal((args.steps, model.m))
    elif args.input is not None:
        raise DataError("--input: the model has no inputs")
    elif args.steps is None:
        raise DataError("--steps: expected a number of samples")
    steps = u.shape[0] if u is not None else args.steps
    noise = not args.no_noise and (model.Q is not None or model.K is not None)
    with con.step(f"simulating {steps} steps" + (" with noise" if noise else "")):
        y = model.simulate(u, T=steps, noise=noise, rng=np.random.default_rng(args.seed))
    columns = {}
    unit = _time_unit(model)
    columns["time [s]" if unit == "s" else "sample"] = np.arange(steps) * (
        model.dt if unit == "s" else 1
    )

    def label(names, units, j, prefix, count):
        base = names[j] if names else (f"{prefix}{j + 1}" if count > 1 else prefix)
        return f"{base} [{units[j]}]" if units and units[j] else base

    for j in range(model.m):
        columns[label(model.input_names, model.input_units, j, "u", model.m)] = u[:, j]
    for i in range(model.p):
        columns[label(model.output_names, model.output_units, i, "y", model.p)] = y[:, i]
    write_table(args.out, columns)
    con.say(
        f"simulated {steps} samples of {args.model} "
        f"({'with' if noise else 'without'} noise) into {args.out}"
    )
    con.say(f"  {'columns':<10} {', '.join(columns)}")
    return {
        "command": "simulate",
        "model": os.path.abspath(args.model),
        "steps": steps,
        "noise": noise,
        "out": os.path.abspath(args.out),
        "columns": list(columns),
    }


def _cmd_reverse(args, con: _Console) -> dict:
    import realize
    from realize.report import model_summary

    model = _load_model(args.model)
    stochastic_part = model.m > 0
    if stochastic_part:
        # the backward model is defined for the stationary output process: reverse the
        # stochastic part (the noise model from the innovations to the outputs)
        model = model.replace(
            B=np.zeros((model.n, 0)), D=np.zeros((model.p, 0)), input_names=None, input_units=None
        )
    with con.step("computing the backward model"):
        backward = realize.backward_model(model)
    realize.save(backward, args.save)
    summary = model_summary(backward)
    summary.update(saved=os.path.abspath(args.save), stochastic_part=stochastic_part)
    con.say(f"backward (reverse-time) model of {args.model}, saved to {args.save}")
    if stochastic_part:
        con.say(
            "  the model has inputs: its stochastic part (innovations to outputs, B and D "
            "dropped) was reversed"
        )
    con.say(
        "  its time runs backwards: x[t-1] = A x[t] + ..., with the same output "
        "covariances as the forward model"
    )
    _print_model(con, summary)
    return summary


_COMMANDS = {
    "fit": _cmd_fit,
    "demo": _cmd_demo,
    "info": _cmd_info,
    "convert": _cmd_convert,
    "simulate": _cmd_simulate,
    "reverse": _cmd_reverse,
}


def _error_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split())  # one line


def main(argv=None) -> int:
    """Run the ``realize`` command.

    Parameters
    ----------
    argv : list of str, optional
        The arguments, without the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit status: 0 on success (warnings, if any, on stderr at the end), 2 for
        bad input or a bad file (one line on stderr), 1 for an internal error, 130 when
        interrupted. The console script exits with it.

    Examples
    --------
    >>> main(["info", "no-such-model.npz"])
    2
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = bool(os.environ.get("REALIZE_DEBUG"))
    quiet = "-q" in argv or "--quiet" in argv

    # warnings wait for the end of the command, so that a failure prints one line only
    pending = []

    def show_warning(message, category, filename, lineno, file=None, line=None):
        if not quiet:
            pending.append(f"realize: warning: {' '.join(str(message).split())}\n")

    from realize.errors import RealizeError

    status = 0
    with warnings.catch_warnings():
        warnings.showwarning = show_warning
        warnings.simplefilter("default")
        try:
            parser = build_parser()
            args = parser.parse_args(argv)
            if args.command is None:
                parser.print_help()
                return 0
            if "MPLBACKEND" not in os.environ:
                import matplotlib

                matplotlib.use("Agg")
            con = _Console(args.quiet, args.json)
            summary = _COMMANDS[args.command](args, con)
            con.emit_json(summary)
        except _UsageError as exc:
            sys.stderr.write(f"realize: error: {_error_line(exc)}\n")
            status = 2
        except (RealizeError, ValueError, OSError) as exc:
            if debug:
                raise
            sys.stderr.write(f"realize: error: {_error_line(exc)}\n")
            status = 2
        except KeyboardInterrupt:
            sys.stderr.write("realize: interrupted\n")
            status = 130
        except Exception as exc:
            if debug:
                raise
            sys.stderr.write(
                f"realize: internal error: {type(exc).__name__}: {_error_line(exc)} "
                "(please report it; REALIZE_DEBUG=1 shows the traceback)\n"
            )
            status = 1
    if status == 0:
        sys.stderr.writelines(pending)
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
