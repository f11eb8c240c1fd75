"""``realize data``: list the data sets shipped in :mod:`realize.datasets`, or export one.

The exported table has a time column (``time [s]``, or ``sample`` where the source gives
no sampling period), then the inputs and the outputs, named as the data set names them
with their units (``u [V]``), so that ``realize fit FILE --input u --output y`` reads it
as it is.
"""

import inspect
import os

import numpy as np

from realize.cli._common import Console, check_destination
from realize.errors import DataError

HELP = "list the shipped data sets, or export one to a file"
DESCRIPTION = (
    "Without NAME, list the data sets that ship with realize (realize.datasets). With NAME, "
    "describe it; with --out, write one of its splits (default: the first) to a CSV, NPZ "
    "or Parquet file that 'realize fit' reads."
)
EPILOG = "Example: realize data wiener_hammerstein --out data.csv"


def names() -> list[str]:
    """The loaders of :mod:`realize.datasets`, from its ``__all__``."""
    import realize.datasets as datasets

    return [n for n in datasets.__all__ if inspect.isfunction(getattr(datasets, n))]


def add_arguments(parser) -> None:
    """NAME (optional), ``--split`` and ``--out``."""
    parser.add_argument(
        "name", nargs="?", metavar="NAME", choices=names(), help=f"one of {', '.join(names())}"
    )
    parser.add_argument(
        "--split", default=None, help="the part to export (default: the data set's first)"
    )
    parser.add_argument(
        "--out", default=None, metavar="FILE", help="write the split to FILE (.csv, .npz, .parquet)"
    )


def _label(name: str, unit: str) -> str:
    return f"{name} [{unit}]" if unit else name


def columns(ds, split: str) -> dict:
    """The table of one split: time, inputs, outputs, named with their units."""
    record = ds[split]
    T = len(record)
    out = {}
    if record.t is not None:
        out["time [s]"] = np.asarray(record.t, dtype=float) - float(record.t[0])
    elif ds.dt != 1.0:
        out["time [s]"] = np.arange(T) * ds.dt
    else:
        out["sample"] = np.arange(T, dtype=float)
    u = np.asarray(record.u, dtype=float).reshape(T, -1)
    y = np.asarray(record.y, dtype=float).reshape(T, -1)
    for j, (name, unit) in enumerate(zip(ds.input_names, ds.input_units)):
        out[_label(name, unit)] = u[:, j]
    for i, (name, unit) in enumerate(zip(ds.output_names, ds.output_units)):
        out[_label(name, unit)] = y[:, i]
    return out


def run(args, con: Console) -> dict:
    """Run ``realize data``; returns the JSON summary."""
    import realize.datasets as datasets

    if args.name is None:
        if args.out is not None or args.split is not None:
            raise DataError("NAME: expected a data set name with --out or --split")
        listing = {}
        for name in names():
            ds = getattr(datasets, name)()
            listing[name] = {
                "description": ds.description,
                "splits": {s: len(ds[s]) for s in ds.splits},
            }
            splits = ", ".join(f"{s} ({len(ds[s])})" for s in ds.splits)
            con.say(f"{name:<20} {ds.description}; splits {splits}")
        con.say("export one with: realize data NAME --out data.csv")
        return {"command": "data", "datasets": listing}

    ds = getattr(datasets, args.name)()
    split = args.split or ds.splits[0]
    if split not in ds.splits:
        raise DataError(
            f"--split: expected one of {', '.join(ds.splits)} for {args.name}, got {split!r}"
        )
    table = columns(ds, split)
    summary = {
        "command": "data",
        "name": args.name,
        "split": split,
        "samples": len(ds[split]),
        "columns": list(table),
        "dt": ds.dt,
        "source": ds.source,
    }
    if args.out is None:
        con.say(f"{args.name}: {ds.description}")
        con.say(f"  {'splits':<10} " + ", ".join(f"{s} ({len(ds[s])})" for s in ds.splits))
        con.say(f"  {'columns':<10} {', '.join(table)}")
        con.say(f"  {'source':<10} {ds.source}")
        con.say(f"export it with: realize data {args.name} --out data.csv")
        return summary
    from realize.tabular import write_table

    check_destination(args.out, "--out")
    with con.step(f"writing {args.out}"):
        write_table(args.out, table)
    summary["out"] = os.path.abspath(args.out)
    con.say(f"{args.name} ({split}, {len(ds[split])} samples) written to {args.out}")
    con.say(f"  {'columns':<10} {', '.join(table)}")
    return summary
