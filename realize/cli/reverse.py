"""``realize reverse``: the Lindqvist-Picci backward model of a saved stochastic model."""

import numpy as np

import realize
from realize.cli._common import Console, check_destination, print_model, save_model

HELP = "the backward (reverse-time) model"
DESCRIPTION = (
    "Compute the Lindqvist-Picci backward model of a stable stochastic model (with a noise "
    "model or innovation form). For a model with inputs, its stochastic part (the model "
    "from the innovations to the outputs) is reversed."
)


def add_arguments(parser) -> None:
    """``--save``."""
    parser.add_argument("--save", required=True, metavar="OUT", help="where to save the result")


def run(args, con: Console, model) -> dict:
    """Run ``realize reverse`` on ``model``, read from ``args.model``; returns the summary."""
    from realize.report import model_summary

    check_destination(args.save, "--save")
    stochastic_part = model.m > 0
    if stochastic_part:
        # the backward model is defined for the stationary output process: reverse the
        # stochastic part (the noise model from the innovations to the outputs)
        model = model.replace(
            B=np.zeros((model.n, 0)), D=np.zeros((model.p, 0)), input_names=None, input_units=None
        )
    with con.step("computing the backward model"):
        backward = realize.backward_model(model)
    saved = save_model(backward, args.save)
    summary = model_summary(backward)
    summary.update(saved=saved, stochastic_part=stochastic_part)
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
    print_model(con, summary)
    return summary
