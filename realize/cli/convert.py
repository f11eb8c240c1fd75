"""``realize convert``: a saved model in a canonical form (:func:`realize.canonical_form`)."""

import numpy as np

import realize
from realize.canonical import FORM_ALIASES, FORMS
from realize.cli._common import Console, check_destination, print_model, save_model

HELP = "convert a model to a canonical form"
DESCRIPTION = (
    "Transform a saved model by similarity into a canonical form and print its matrices; "
    "--save writes it to a model file."
)
#: matrices with more rows or columns than this are described, not printed
_SHOWN = 8


def add_arguments(parser) -> None:
    """``--form``, a name of :data:`realize.canonical.FORMS` (any case), and ``--save``.

    The former names (:data:`realize.canonical.FORM_ALIASES`) are accepted for the
    release in which they are deprecated; :func:`realize.canonical_form` warns.
    """
    parser.add_argument(
        "--form",
        required=True,
        type=str.lower,
        choices=(*FORMS, *FORM_ALIASES),
        metavar="FORM",
        help=f"the form: {', '.join(FORMS)}",
    )
    parser.add_argument(
        "--save", default=None, metavar="OUT", help="save the converted model to this file"
    )


def run(args, con: Console, model) -> dict:
    """Run ``realize convert`` on ``model``, read from ``args.model``; returns the summary."""
    from realize.report import model_summary

    if args.save is not None:
        check_destination(args.save, "--save")
    with con.step(f"converting to the {args.form} form"):
        new, T = realize.canonical_form(model, args.form)
    cond = float(np.linalg.cond(T)) if np.size(T) else 1.0
    summary = model_summary(new)
    summary.update(form=args.form, condition_number=cond)
    if args.save is not None:
        summary["saved"] = save_model(new, args.save)
        con.say(f"{args.form} form of {args.model}, saved to {args.save}")
    else:
        con.say(f"{args.form} form of {args.model} (--save FILE to keep it)")
    con.say(f"  {'cond(T)':<10} {cond:.3g} (the similarity x_new = T x)")
    with np.printoptions(precision=4, suppress=True, linewidth=100):
        for name in ("A", "B", "C", "D", "K"):
            mat = getattr(new, name)
            if mat is None or not mat.size:
                continue
            if max(mat.shape) > _SHOWN:
                con.say(f"  {name:<10} ({mat.shape[0]}, {mat.shape[1]}) matrix, not shown")
                continue
            lines = str(mat).splitlines()
            con.say(f"  {name:<10} " + lines[0])
            for line in lines[1:]:
                con.say(f"  {'':<10} " + line)
    print_model(con, summary)
    return summary
