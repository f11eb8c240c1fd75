"""``realize simulate``: simulate a saved model and write inputs and outputs to a file."""

import os

import numpy as np

from realize.cli._common import Console, positive_int, time_unit
from realize.errors import DataError

HELP = "simulate a saved model"
DESCRIPTION = (
    "Simulate a saved model and write inputs and outputs to a file (.csv, .npz or "
    ".parquet). Without --input, a model with inputs is driven by unit-variance white "
    "Gaussian noise."
)


def add_arguments(parser) -> None:
    """Length, output file, inputs (a file or noise), noise switch and seed."""
    parser.add_argument(
        "--steps",
        type=positive_int,
        default=None,
        metavar="N",
        help="number of samples (default: the length of --input)",
    )
    parser.add_argument("--out", required=True, metavar="FILE", help="output file")
    parser.add_argument(
        "--input",
        default=None,
        metavar="FILE",
        help="file with the input signals (columns named like the model's "
        "inputs, or --input-columns)",
    )
    parser.add_argument(
        "--input-columns",
        default=None,
        metavar="COLS",
        help="input columns of --input, comma-separated",
    )
    parser.add_argument(
        "--no-noise", action="store_true", help="leave out process and measurement noise"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


def _inputs(args, model):
    """The input signals (steps, m), or None for a model without inputs."""
    from realize.tabular import read_table

    if not model.m:
        if args.input is not None:
            raise DataError("--input: the model has no inputs")
        if args.steps is None:
            raise DataError("--steps: expected a number of samples")
        return None
    if args.input is None:
        if args.steps is None:
            raise DataError("--steps: expected a number of samples (or an --input file)")
        return np.random.default_rng(args.seed + 1).standard_normal((args.steps, model.m))
    table = read_table(args.input)
    cols = args.input_columns
    if cols is None:
        names = list(model.input_names or [])
        found = all(any(c == n or c.split(" [")[0] == n for c in table.names) for n in names)
        cols = names if names and found else list(table.names)
    u, _ = table.select(cols, "--input-columns")
    if u.shape[1] != model.m:
        raise DataError(
            f"--input: expected {model.m} input column(s) for this model, "
            f"got {u.shape[1]} ({', '.join(map(str, cols))})"
        )
    if args.steps is not None:
        if args.steps > u.shape[0]:
            raise DataError(
                f"--steps: the input file has only {u.shape[0]} samples, got --steps {args.steps}"
            )
        u = u[: args.steps]
    return u


def _label(names, units, j, prefix, count):
    base = names[j] if names else (f"{prefix}{j + 1}" if count > 1 else prefix)
    return f"{base} [{units[j]}]" if units and units[j] else base


def run(args, con: Console, model) -> dict:
    """Run ``realize simulate`` on ``model``, read from ``args.model``; returns the summary."""
    from realize.tabular import write_table

    u = _inputs(args, model)
    steps = u.shape[0] if u is not None else args.steps
    noise = not args.no_noise and (model.Q is not None or model.K is not None)
    with con.step(f"simulating {steps} steps" + (" with noise" if noise else "")):
        y = model.simulate(u, T=steps, noise=noise, rng=np.random.default_rng(args.seed))
    columns = {}
    unit = time_unit(model)
    columns["time [s]" if unit == "s" else "sample"] = np.arange(steps) * (
        model.dt if unit == "s" else 1
    )
    for j in range(model.m):
        columns[_label(model.input_names, model.input_units, j, "u", model.m)] = u[:, j]
    for i in range(model.p):
        columns[_label(model.output_names, model.output_units, i, "y", model.p)] = y[:, i]
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
