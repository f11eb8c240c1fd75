"""The identification plumbing that ``realize fit`` and ``realize demo`` share.

Both describe their data as a :class:`FitJob` and hand it to :func:`fit_and_report`,
which identifies a subspace model with the shared options
(:func:`add_identification_options`), chooses its order (:func:`identify`; ``--order
validate`` through :func:`realize.identify.order.select_order_by_validation`), labels it,
scores it on the validation data, optionally grows a neural model from it
(:func:`grow_nonlinear`), then writes the report and the model files and prints the
summary (:func:`finish_fit`).

``--refine pem`` refines the subspace model by prediction error (:func:`refine`,
:func:`realize.pem`) and reports the scores before and after. The whiteness line says
what to do (:func:`whiteness_verdict`); it does not flag a model whose simulation
errors are white (an output-error model, whose subspace noise model alone is off).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import os
import warnings
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

import realize
from realize.cli._common import (
    Console,
    check_destination,
    order,
    positive_float,
    positive_int,
    print_model,
    save_model,
)
from realize.errors import DataError, InvalidValueError
from realize.identify import METHODS
from realize.identify.order import (
    VALIDATION_HORIZONS,
    VALIDATION_MAX_ORDER,
    select_order_by_validation,
)
from realize.identify.residuals import whiteness
from realize.identify.validation import assess_neural_fit, operating_point

__all__ = [
    "FitJob",
    "REFINEMENTS",
    "add_identification_options",
    "finish_fit",
    "fit_and_report",
    "fit_summary",
    "grow_nonlinear",
    "identify",
    "labelled",
    "nonlinear_summary",
    "refine",
    "whiteness_verdict",
    "with_model",
]

#: what ``--refine`` can run after the subspace identification
REFINEMENTS = ("pem",)


#: the on/off options of the subspace fit (off for ``fit``; ``demo`` turns them on)
_SWITCHES = {
    "feedthrough": "estimate a direct feedthrough D (fit default: no, D = 0, as for most "
    "sampled physical systems; demo default: yes)",
    "detrend": "remove the means of inputs and outputs (offsets) before fitting "
    "(fit default: no; demo default: yes)",
    "stable": "enforce a stable A by the smallest regularization of the shift "
    "equation (fit default: no; demo default: yes)",
}


def add_identification_options(p: argparse.ArgumentParser, default_order) -> None:
    """The options of ``fit`` and ``demo``: order, method, horizon, report, save, ..."""
    _add_model_options(p, default_order)
    _add_output_options(p)


def _add_model_options(p: argparse.ArgumentParser, default_order) -> None:
    """What is identified: order, method, horizon, the switches, the refinement."""
    p.add_argument(
        "--order",
        type=order,
        default=default_order,
        help="model order: 'auto' (BIC over the orders that the canonical "
        "correlations support above their noise floor), 'validate' (the smallest order "
        "whose simulation fit on the validation data is within noise of the best, among "
        f"orders 1 to {VALIDATION_MAX_ORDER} and horizons "
        f"{', '.join(map(str, VALIDATION_HORIZONS))} unless --horizon) or N "
        f"(default {default_order})",
    )
    p.add_argument(
        "--method",
        choices=METHODS,
        default="n4sid",
        help="subspace weighting (default n4sid)",
    )
    p.add_argument(
        "--horizon",
        type=positive_int,
        default=None,
        help="block rows of the Hankel matrices (default: chosen by n4sid)",
    )
    for name, text in _SWITCHES.items():
        p.add_argument(f"--{name}", action=argparse.BooleanOptionalAction, default=False, help=text)
    p.add_argument(
        "--refine",
        choices=REFINEMENTS,
        default=None,
        help="refine the subspace model: 'pem' minimizes the one-step prediction error "
        "(realize.pem, maximum likelihood; slower) and reports the fit before and after",
    )


def _add_output_options(p: argparse.ArgumentParser) -> None:
    """What is written: the report, the model file, the neural model."""
    p.add_argument(
        "--report",
        metavar="DIR",
        default=None,
        help="folder for the HTML report and the model file model.npz "
        "(default ./realize-report-NAME)",
    )
    p.add_argument(
        "--no-report", action="store_true", help="write no report (the model only with --save)"
    )
    p.add_argument(
        "--nonlinear",
        action="store_true",
        help="then grow a neural state-space model from the linear one "
        "(realize.nn.fit_neural_ssm; needs torch) and compare the two",
    )
    p.add_argument(
        "--budget",
        type=positive_float,
        default=60.0,
        metavar="SECONDS",
        help="training time of --nonlinear, in seconds (default 60)",
    )
    p.add_argument(
        "--steps",
        type=positive_int,
        default=None,
        metavar="N",
        help="stop --nonlinear's training after N optimizer steps if the budget has not run "
        "out first: the same N gives the same model on any machine",
    )
    p.add_argument(
        "--save",
        metavar="MODEL.npz",
        default=None,
        help="also save the identified model at exactly this path (realize's npz format)",
    )


# ---------------------------------------------------------------------- identification
def identify(y, u, args, con: Console, label: str, valid, window: int):
    """Identify a model as the options say; returns (result, selection or None).

    ``--order validate`` is :func:`realize.identify.order.select_order_by_validation`
    on the validation data ``valid = (y_valid, u_valid)``; the selection dict describes
    its choice for the report.
    """
    options = {"method": args.method, "feedthrough": args.feedthrough, "stable": args.stable}
    text = f"{args.method.upper()}, order {args.order}, {y.shape[0]} samples"
    if args.order != "validate":
        if args.horizon is not None:
            options["horizon"] = args.horizon
        with con.step(f"identifying {label} ({text})", key="identification"):
            return realize.n4sid(y, u, order=args.order, detrend=args.detrend, **options), None

    horizons = (args.horizon,) if args.horizon else VALIDATION_HORIZONS
    with con.step(f"identifying {label} ({text})", key="identification"):
        sel = select_order_by_validation(
            y,
            u,
            validation=valid,
            horizons=horizons,
            window=window,
            detrend=args.detrend,
            **options,
        )
    return sel.result, _selection(sel, args)


def _selection(sel, args) -> dict:
    """The report's description of a validation-based order choice."""
    searched = (
        f"horizon {sel.horizon}"
        if len(sel.horizons) == 1
        else f"horizons {', '.join(map(str, sel.horizons))}; chosen with {sel.horizon}"
    )
    among = f"among orders 1 to {sel.orders[-1]} ({searched})"
    if sel.order == sel.best_order:
        rule = f"best {sel.kind} fit on the validation data {among}, no smaller order within noise"
    else:
        best = np.nanmax(sel.fits[sel.best_order - 1])
        rule = (
            f"smallest order whose {sel.kind} fit on the validation data is within noise of "
            f"the best (order {sel.best_order}, {best:.2f} %) {among}"
        )
    demo = ", the test score is independent" if args.command == "demo" else ""
    reason = f"{rule}; the validation fit is therefore optimistic{demo}"
    return {
        "orders": sel.orders,
        "fits": sel.fits,
        "labels": [f"horizon {h}" for h in sel.horizons],
        "reason": reason,
        "chosen": sel.order,
        "horizon": sel.horizon,
        "horizons": list(sel.horizons),
        "best": sel.best_order,
        "within_noise": sel.within_noise,
    }


def labelled(model, input_names, output_names, input_units, output_units, name):
    """The model with the data's channel names, units and name."""
    fields = {"input_names": input_names, "output_names": output_names, "name": name}
    if input_units is not None and model.m:
        fields["input_units"] = input_units
    if output_units is not None:
        fields["output_units"] = output_units
    if model.m == 0:
        fields.pop("input_names")
        fields.pop("input_units", None)
    return model.replace(**fields)


def with_model(result, model):
    """The identification result with its model replaced (labels, sampling period)."""
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        try:
            return dataclasses.replace(result, model=model)
        except (TypeError, ValueError):
            pass
    clone = copy.copy(result)
    try:
        clone.model = model
    except AttributeError:
        clone = SimpleNamespace(
            model=model,
            order=result.order,
            singular_values=getattr(result, "singular_values", None),
        )
    return clone


# ---------------------------------------------------------------------- refinement
def refine(result, args, con: Console, y_train, u_train):
    """The result refined by ``--refine`` (:func:`realize.pem` from the subspace model).

    Returns ``(result, info)``: the result with the refined model (the subspace result
    and ``info = None`` when the refinement cannot start, with a warning saying why),
    ``info`` the PEM result. The estimation data are taken without the offsets that a
    detrended identification removed, as the model maps them.
    """
    model = result.model
    u_mean, y_mean = operating_point(result, model)
    y = np.asarray(y_train, dtype=float).reshape(len(y_train), -1) - y_mean
    u = None
    if u_train is not None and model.m:
        u = np.asarray(u_train, dtype=float).reshape(len(u_train), -1) - u_mean
    text = f"refining the order {model.n} model by prediction error (PEM)"
    try:
        with con.step(text, key="refinement"):
            fitted = realize.pem(y, u, model, feedthrough=args.feedthrough, progress=False)
    except InvalidValueError as err:
        warnings.warn(f"--refine pem: skipped, the subspace model is kept: {err}", stacklevel=1)
        return result, None
    return with_model(result, fitted.model), fitted


def _refine_summary(before: dict, after: dict, fitted) -> dict:
    """The JSON summary of ``--refine pem``: scores before and after, the PEM run."""
    return {
        "method": "pem",
        "fit_percent_before": before["fit_percent"],
        "fit_percent_after": after["fit_percent"],
        "rmse_before": before["rmse"],
        "rmse_after": after["rmse"],
        "cost_before": fitted.cost_initial,
        "cost_after": fitted.cost,
        "iterations": fitted.n_iter,
        "converged": fitted.success,
    }


# ---------------------------------------------------------------------- whiteness
def _is_white(w) -> bool:
    """The whiteness test's verdict for every channel (``whiteness(...)["white"]``)."""
    return bool(np.all(w["white"]))


def whiteness_verdict(assessment: dict, y_valid, refined: bool) -> dict | None:
    """What the whiteness of the validation innovations says, and what to do about it.

    Innovations that are not white mean dynamics the model misses, unless the model is
    an output-error model: with white measurement noise on the output, the simulation
    errors ``y - y_sim`` are white while the innovations of the subspace noise model
    ``(K, Lambda)`` (estimated from data in which that noise is white) need not be. So
    the verdict is

    - ``white``: the innovations pass (:func:`realize.identify.residuals.whiteness`);
    - ``output error``: they fail but the simulation errors after the window pass (a
      model with inputs only): the input-output part fits, the noise model does not
      matter for simulation, and ``--refine pem`` re-estimates it;
    - ``not white``: both fail: try a higher order, or ``--refine pem``.

    Returns None for a model without a noise model, else a dict with ``verdict``,
    ``text`` (the summary line), ``simulation_outside`` (the simulation errors' count
    per channel, or None).
    """
    w = assessment["whiteness"]
    if w is None:
        return None
    lags = w["autocorrelation"].shape[0] - 1
    counts = ", ".join(str(int(o)) for o in np.asarray(w["outside"]).ravel())
    head = (
        f"{counts} of {lags} lags outside the {100 * w['confidence']:g} % band "
        f"({w['expected_outside']:.1f} expected)"
    )
    sim_outside = None
    if _is_white(w):
        verdict, advice = "white", "innovations are white"
    else:
        window = assessment["window"]
        y = np.asarray(y_valid, dtype=float).reshape(len(y_valid), -1)
        e = y[window:] - assessment["simulated"][window:]
        simulated = assessment["model"]["m"] > 0
        ws = whiteness(e, lags, w["confidence"]) if simulated else None
        if ws is not None:
            sim_outside = np.asarray(ws["outside"]).ravel().tolist()
        if ws is not None and _is_white(ws):
            verdict = "output error"
            advice = (
                "innovations are not white, but the simulation errors are "
                f"({', '.join(map(str, sim_outside))} of {lags} lags outside): a correct "
                "output-error model whose noise model (K) is off"
            )
            if not refined:
                advice += "; --refine pem re-estimates it"
        else:
            verdict = "not white"
            advice = "innovations are not white: try a higher order" + (
                "" if refined else " or --refine pem"
            )
    return {
        "verdict": verdict,
        "text": f"{head}: {advice}",
        "simulation_outside": sim_outside,
    }


# ---------------------------------------------------------------------- the neural model
def grow_nonlinear(result, args, con, *, y_train, u_train, y_valid, u_valid, window, test=None):
    """The neural state-space model grown from the linear result, and its scores."""
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

    limit = f"{args.budget:g} s" + (f" or {args.steps} steps" if args.steps else "")
    con.say(f"growing a neural state-space model for {limit} ...")
    fitted = fit_neural_ssm(
        y_train,
        u_train,
        init=result,
        validation=(y_valid, u_valid),
        window=window,
        time_budget=args.budget,
        max_steps=args.steps,
        progress=not args.quiet,
    )
    nl = assess_neural_fit(fitted.model, y_valid, u_valid, window=window, test=test)
    return fitted, nl


def nonlinear_summary(fitted, nl) -> dict:
    """The JSON summary of the neural model."""
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


# ---------------------------------------------------------------------- the whole fit
@dataclass
class FitJob:
    """The data and labels of a ``fit`` or ``demo`` run (see :func:`fit_and_report`).

    ``label`` names the data in the progress line, ``labels`` are the model's
    ``input_names``, ``output_names``, ``input_units``, ``output_units`` and ``name``;
    ``title`` may hold ``{order}``; ``summary`` is the data's part of the JSON summary;
    ``test`` an optional (y, u) pair scored after validation.
    """

    label: str
    y_train: np.ndarray
    u_train: np.ndarray | None
    y_valid: np.ndarray
    u_valid: np.ndarray | None
    window: int
    dt: float
    labels: dict
    title: str
    data_rows: list
    summary: dict
    output_units: list | None
    time_unit: str
    report_stem: str
    test: tuple | None = None
    validating: str = "validating"


def fit_and_report(job: FitJob, args, con: Console) -> dict:
    """Identify, label, validate, optionally grow the neural model, report; the summary."""
    from realize.report import assess_fit

    if args.save:
        check_destination(args.save, "--save")  # before the work, not after it
    valid = (job.y_valid, job.u_valid)
    result, selection = identify(job.y_train, job.u_train, args, con, job.label, valid, job.window)
    model = result.model if result.model.dt == job.dt else result.model.replace(dt=job.dt)
    result = with_model(result, labelled(model, **job.labels))
    refined = None
    if args.refine == "pem":
        before = assess_fit(result, *valid, window=job.window, order_requested=args.order)
        result, fitted = refine(result, args, con, job.y_train, job.u_train)
        refined = (before, fitted) if fitted is not None else None
    with con.step(job.validating, key="validation"):
        assessment = assess_fit(
            result, *valid, window=job.window, test=job.test, order_requested=args.order
        )
    if selection is not None:
        assessment["order_reason"] = selection["reason"]
    assessment["verdict"] = whiteness_verdict(assessment, job.y_valid, refined is not None)
    summary = fit_summary(assessment, job.summary)
    if refined is not None:
        summary["refine"] = _refine_summary(refined[0], assessment, refined[1])
    nonlinear = None
    if args.nonlinear:
        nonlinear = grow_nonlinear(
            result,
            args,
            con,
            y_train=job.y_train,
            u_train=job.u_train,
            y_valid=job.y_valid,
            u_valid=job.u_valid,
            window=job.window,
            test=job.test,
        )
        summary["nonlinear"] = nonlinear_summary(*nonlinear)
    return finish_fit(result, assessment, con, args, job, summary, selection, nonlinear)


def fit_summary(assessment, extra: dict) -> dict:
    """The JSON summary of a fit: ``extra`` (the data) and the assessment's scores."""
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
        verdict = assessment.get("verdict")
        if verdict is not None:
            out["whiteness"].update(
                verdict=verdict["verdict"],
                simulation_outside=verdict["simulation_outside"],
                message=verdict["text"],
            )
    return out


def finish_fit(result, assessment, con, args, job, summary, selection, nonlinear) -> dict:
    """Write the report and the model files, print the summary; returns the summary.

    ``nonlinear`` is None or ``(fitted, scores)`` from :func:`grow_nonlinear`.
    """
    if selection is not None:
        summary["order_selection"] = {
            k: selection[k] for k in ("orders", "fits", "horizons", "horizon", "chosen", "best")
        }
    title = job.title.format(order=assessment["order"])
    report_path = None
    saved = []
    if not args.no_report:
        report_path = _write_report(
            result, assessment, con, args, job, title, summary, selection, nonlinear
        )
        summary["report"] = str(report_path)
        saved.append(summary["model_file"])
        if nonlinear is not None:
            saved.append(summary["nonlinear"]["model_file"])
    if args.save:
        _save_models(result.model, args.save, summary, nonlinear)
        saved.append(args.save)
        if nonlinear is not None:
            saved.append(summary["nonlinear"]["saved"])
    _print_fit(con, assessment, summary, title, job.output_units, nonlinear)
    summary["timings"] = dict(con.timings)
    con.say(f"  {'time':<10} " + ", ".join(f"{k} {v:.1f} s" for k, v in con.timings.items()))
    if report_path is not None:
        con.say(f"  {'report':<10} {_shown_path(report_path)}")
    for k, path in enumerate(saved):
        con.say(f"  {'model' if k == 0 else '':<10} {_shown_path(path)}")
    if not saved:
        con.say(f"  {'model':<10} not saved (--save FILE keeps it)")
    return summary


def _shown_path(path) -> str:
    """A path as the user would type it: relative to the current folder when inside it."""
    path = os.path.abspath(os.fspath(path))
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def _write_report(result, assessment, con, args, job, title, summary, selection, nonlinear):
    from realize.report import add_nonlinear_section, default_report_dir, fit_report

    directory = args.report or default_report_dir(job.report_stem)
    # the model beside its report, so that the next command can read it
    summary["model_file"] = os.path.abspath(os.path.join(directory, "model.npz"))
    with con.step("writing the report", key="report"):
        page = fit_report(
            result,
            assessment,
            title=title,
            data_rows=job.data_rows,
            y_valid=job.y_valid,
            u_valid=job.u_valid,
            y_train=job.y_train,
            u_train=job.u_train,
            output_units=job.output_units,
            time_unit=job.time_unit,
            summary=summary,
            selection=selection,
        )
        if nonlinear is not None:
            add_nonlinear_section(
                page,
                assessment,
                nonlinear[1],
                nonlinear[0],
                y_valid=job.y_valid,
                output_units=job.output_units,
                time_unit=job.time_unit,
            )
        path = page.write(directory)
        save_model(result.model, summary["model_file"])
        if nonlinear is not None:
            neural_path = path.parent / "neural_model.safetensors"
            nonlinear[0].model.save(neural_path)
            summary["nonlinear"]["model_file"] = str(neural_path)
    return path


def _save_models(model, path, summary, nonlinear) -> None:
    summary["saved"] = save_model(model, path)
    if nonlinear is not None:
        neural_path = os.path.splitext(path)[0] + ".neural.safetensors"
        nonlinear[0].model.save(neural_path)
        summary["nonlinear"]["saved"] = os.path.abspath(neural_path)


def _print_fit(con, assessment, summary, title, output_units, nonlinear) -> None:
    p = len(assessment["fit_percent"])
    names = summary["output_names"]
    who = [f" ({names[i]})" if p > 1 else "" for i in range(p)]
    unit = [f" {u}" if u else "" for u in (output_units or [None] * p)]
    con.say(title)
    con.say(f"  {'order':<10} {assessment['order']}: {assessment['order_reason']}")
    for i in range(p):
        con.say(
            f"  {'fit':<10} {assessment['fit_percent'][i]:.2f} %{who[i]} on validation data "
            f"(simulation; state estimated on the first {assessment['window']} samples)"
        )
        con.say(f"  {'RMSE':<10} {assessment['rmse'][i]:.4g}{unit[i]}{who[i]} on validation data")
        if "test_rmse" in assessment:
            con.say(
                f"  {'test RMSE':<10} {assessment['test_rmse'][i]:.4g}{unit[i]}{who[i]} "
                f"(fit {assessment['test_fit_percent'][i]:.2f} %)"
            )
    if nonlinear is not None:
        _print_nonlinear(con, *nonlinear, who, unit)
    if "refine" in summary:
        _print_refined(con, summary["refine"], who)
    print_model(con, assessment["model"])
    verdict = assessment.get("verdict")
    if verdict is not None:
        con.say(f"  {'whiteness':<10} {verdict['text']}")


def _print_nonlinear(con, fitted, nl, who, unit) -> None:
    for i in range(len(who)):
        line = (
            f"  {'nonlinear':<10} fit {nl['fit_percent'][i]:.2f} %, RMSE "
            f"{nl['rmse'][i]:.4g}{unit[i]}{who[i]} on validation data"
        )
        if "test_rmse" in nl:
            line += f"; test RMSE {nl['test_rmse'][i]:.4g}{unit[i]}"
        con.say(line)
    con.say(
        f"  {'':<10} neural state-space model grown from the linear one: "
        f"{fitted.steps} steps in {fitted.seconds:.0f} s, best at step {fitted.best_step}"
    )


def _print_refined(con, r: dict, who) -> None:
    for i in range(len(who)):
        con.say(
            f"  {'refined':<10} by PEM{who[i]}: fit {r['fit_percent_before'][i]:.2f} % -> "
            f"{r['fit_percent_after'][i]:.2f} % on validation data"
        )
    con.say(
        f"  {'':<10} log det Lambda {r['cost_before']:.4g} -> {r['cost_after']:.4g} on "
        f"estimation data, {r['iterations']} iterations"
    )
