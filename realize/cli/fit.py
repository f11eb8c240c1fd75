"""``realize fit``: identify a state-space model from a data file (CSV, NPZ, Parquet)."""

import os
import warnings

import numpy as np

from realize.cli import _fitting
from realize.cli._common import Console, fraction, positive_float
from realize.errors import DataError, RealizeWarning, ShapeError
from realize.identify.residuals import whiteness

HELP = "identify a state-space model from a data file"
DESCRIPTION = (
    "Identify a state-space model from measured data (CSV with a header row, NPZ or "
    "Parquet), validate it on the last part of the record and write a report."
)
EPILOG = (
    "Columns are named by their header (or 0-based position); several are separated by "
    "commas. A unit in a name, as in 'y [V]', labels the figures. "
    "Example: realize fit data.csv --input u --output y1,y2 --dt 0.01"
)


def add_arguments(parser) -> None:
    """DATA, the columns, the identification options, the split and the sampling period."""
    parser.add_argument("data", metavar="DATA", help="data file: .csv/.tsv/.txt, .npz or .parquet")
    parser.add_argument(
        "--output", "-y", required=True, metavar="COLS", help="output column(s), comma-separated"
    )
    parser.add_argument(
        "--input",
        "-u",
        default=None,
        metavar="COLS",
        help="input column(s), comma-separated (omit for output-only data)",
    )
    _fitting.add_identification_options(parser, "auto")
    parser.add_argument(
        "--validate",
        type=fraction,
        default=0.25,
        metavar="FRACTION",
        help="fraction of the record, at its end, kept for validation (default 0.25)",
    )
    parser.add_argument(
        "--dt",
        type=positive_float,
        default=None,
        help="sampling period in seconds (default: from a time column, else 1 sample)",
    )
    parser.add_argument(
        "--time",
        default=None,
        metavar="COL",
        help="time column giving the sampling period (default: a column named "
        "'time' or 't', if any)",
    )


def _read_data(args, con: Console):
    """Outputs, inputs (or None), their column names, the sampling period and its unit."""
    from realize.tabular import read_table

    with con.step(f"reading {args.data}"):
        table = read_table(args.data)
    y, out_cols = table.select(args.output, "--output")
    _check_orientation(y, "--output", args.output, args.data)
    u, in_cols = (None, [])
    if args.input is not None:
        u, in_cols = table.select(args.input, "--input")
        _check_orientation(u, "--input", args.input, args.data)
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
    used = set(in_cols + out_cols) | ({time_col} if time_col else set())
    _warn_unused(table, used, args, out_cols)
    if u is not None:
        _warn_swapped(y, u, out_cols, in_cols)
    return y, u, out_cols, in_cols, dt, time_unit


def _check_orientation(x, option: str, keys: str, source: str) -> None:
    """Refuse a selection with fewer samples than channels: a transposed (1, T) array.

    Time runs down the rows; an NPZ array of shape (1, T) reads as T one-sample
    channels ``name:0 .. name:T-1``, which no identification can use.
    """
    T, k = x.shape
    if T < k:
        raise ShapeError(
            f"{option}: expected time along the rows, a (T, channels) array, got {keys!r} of "
            f"{source} with {T} sample(s) of {k} channels: is it transposed? Store it as a "
            f"({k}, {T}) array"
        )


def _is_clock(column: np.ndarray) -> bool:
    """A column that counts time or samples (strictly increasing in equal steps): an
    index, not a signal."""
    steps = np.diff(column)
    return steps.size > 0 and bool(np.all(steps > 0)) and np.ptp(steps) <= 0.01 * np.mean(steps)


def _warn_unused(table, used: set, args, out_cols) -> None:
    """Warn about numeric columns that the command leaves out (time and index columns
    aside), and say how to use them when ``--input`` is missing: an output-only model
    is rarely what a table with other signals is meant for."""
    unused = [c for c in table.names if c not in used and not _is_clock(table.columns[c])]
    if not unused:
        return
    from realize.tabular import split_name_unit

    listed = ", ".join(repr(c) for c in unused)
    if args.input is None:
        bare = ",".join(split_name_unit(c)[0] for c in unused)
        warnings.warn(
            f"no --input: fitted an output-only (stochastic) model of "
            f"{', '.join(repr(c) for c in out_cols)}, leaving out {listed}; "
            f"if they are inputs, run again with --input {bare}",
            RealizeWarning,
            stacklevel=1,
        )
    else:
        warnings.warn(
            f"{args.data}: column(s) {listed} unused (neither --input nor --output)",
            RealizeWarning,
            stacklevel=1,
        )


#: lags of the swap test of :func:`_warn_swapped`
SWAP_TEST_LAGS = 20


def _warn_swapped(y, u, out_cols, in_cols) -> None:
    """Warn when the outputs look like white noise and an input like a filtered signal.

    The test, cheap and documented: every output passes the whiteness test of the
    innovations (:func:`realize.identify.residuals.whiteness`, 20 lags, 99 % band, at most
    max(2, 3 x expected) lags outside) and some input fails it. A system filters its
    input, so a measured output is rarely whiter than the input that drives it; white
    'outputs' beside a coloured 'input' are the signature of --input and --output
    swapped (or of an output drowned in measurement noise).
    """
    lags = min(SWAP_TEST_LAGS, y.shape[0] - 1)

    def white(x) -> np.ndarray:
        return whiteness(x, lags, 0.99)["white"]

    if np.all(white(y)) and not np.all(white(u)):
        coloured = [c for c, ok in zip(in_cols, white(u)) if not ok]
        warnings.warn(
            f"--output {', '.join(map(repr, out_cols))} looks like white noise and --input "
            f"{', '.join(map(repr, coloured))} like a filtered signal: are --input and "
            "--output swapped?",
            RealizeWarning,
            stacklevel=1,
        )


def _split(args, y, u):
    """Estimation and validation parts: the last ``--validate`` fraction validates."""
    T = y.shape[0]
    n_valid = int(round(args.validate * T))
    n_train = T - n_valid
    if n_valid < 20 or n_train < 20:
        raise DataError(
            f"{args.data}: too little data, {T} samples leave {n_train} for estimation and "
            f"{n_valid} for validation; expected at least 20 of each"
        )
    if u is None:
        return y[:n_train], None, y[n_train:], None
    return y[:n_train], u[:n_train], y[n_train:], u[n_train:]


def _names_units(columns) -> tuple[list, list]:
    """Names and units (None when absent) of columns such as ``'y [V]'``."""
    from realize.tabular import split_name_unit

    pairs = [split_name_unit(c) for c in columns]
    return [name for name, _ in pairs], [unit for _, unit in pairs]


def run(args, con: Console) -> dict:
    """Run ``realize fit``; returns the JSON summary."""
    y, u, out_cols, in_cols, dt, time_unit = _read_data(args, con)
    y_train, u_train, y_valid, u_valid = _split(args, y, u)
    T, n_train, n_valid = y.shape[0], y_train.shape[0], y_valid.shape[0]
    name = os.path.basename(args.data)
    out_names, out_units = _names_units(out_cols)
    in_names, in_units = _names_units(in_cols)
    method = args.method.upper() + (f", horizon {args.horizon}" if args.horizon else "")
    period = "1 sample (no time information)" if time_unit == "samples" else f"{dt:.6g} {time_unit}"
    job = _fitting.FitJob(
        label=name,
        y_train=y_train,
        u_train=u_train,
        y_valid=y_valid,
        u_valid=u_valid,
        window=min(50, n_valid // 4),
        dt=dt,
        labels={
            "input_names": in_names,
            "output_names": out_names,
            "input_units": [x or "" for x in in_units] if any(in_units) else None,
            "output_units": [x or "" for x in out_units] if any(out_units) else None,
            "name": name,
        },
        title=f"realize fit {name}: order {{order}} {args.method.upper()} model",
        data_rows=[
            ("file", os.path.abspath(args.data)),
            ("inputs", ", ".join(in_cols) or "none (output-only)"),
            ("outputs", ", ".join(out_cols)),
            (
                "samples",
                f"{T}: {n_train} for estimation, {n_valid} for validation (the last "
                f"{100 * args.validate:g} %)",
            ),
            ("sampling period", period),
            ("method", method),
        ],
        summary={
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
        output_units=out_units if any(out_units) else None,
        time_unit=time_unit,
        report_stem=os.path.splitext(name)[0],
    )
    return _fitting.fit_and_report(job, args, con)
