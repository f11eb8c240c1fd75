"""``realize convert``: a saved model in a canonical form (:func:`realize.canonical_form`)."""

import os

import numpy as np

from realize.canonical import FORMS
from realize.cli._common import Console, print_model

HELP = "convert a model to a canonical form"
DESCRIPTION = "Transform a saved model by similarity into a canonical form."


def add_arguments(parser) -> None:
    """``--form``, a name of :data:`realize.canonical.FORMS` (any case), and ``--save``."""
    names = ", ".join(dict.fromkeys(FORMS.values()))  # the forms, without their aliases
    parser.add_argument(
        "--form",
        required=True,
        type=str.lower,
        choices=FORMS,
        metavar="FORM",
        help=f"the form: {names} (or an alias of realize.canonical_form)",
    )
    parser.add_argument("--save", required=True, metavar="OUT", help="where to save the result")


def run(args, con: Console, model) -> dict:
    """Run ``realize convert`` on ``model``, read from ``args.model``; returns the summary."""
    import realize
    from realize.report import model_summary

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
    print_model(con, summary)
    return summary
