"""``realize info``: a saved model's sizes, poles, stability and Hankel singular values."""

import os

import numpy as np

import realize
from realize.cli._common import Console, print_model

HELP = "describe a saved model"
DESCRIPTION = "Print a saved model's sizes, poles and stability."


def add_arguments(parser) -> None:
    """Nothing beyond the MODEL file."""


def run(args, con: Console, model) -> dict:
    """Run ``realize info`` on ``model``, read from ``args.model``; returns the summary."""
    from realize.report import model_summary

    summary = model_summary(model)
    summary["file"] = os.path.abspath(args.model)
    con.say(f"{args.model}: {model!r}".splitlines()[0])
    print_model(con, summary)
    if model.is_stable() and model.m and model.n:
        try:
            hsv = np.asarray(realize.hankel_singular_values(model))
        except (ImportError, AttributeError):
            hsv = None
        if hsv is not None:
            summary["hankel_singular_values"] = hsv
            shown = ", ".join(f"{v:.4g}" for v in hsv[:8]) + (", ..." if hsv.size > 8 else "")
            con.say(f"  {'hankel sv':<10} {shown}")
    return summary
