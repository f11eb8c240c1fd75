"""The ``realize`` command: fit, inspect, convert, simulate and reverse state-space models.

::

    realize demo                                  # fit the shipped Wiener-Hammerstein data
    realize fit data.csv --input u --output y     # fit your own data (CSV, NPZ, Parquet)
    realize info model.npz                        # order, poles, stability
    realize convert model.npz --form balanced --save balanced.npz
    realize simulate model.npz --steps 1000 --out sim.csv
    realize reverse model.npz --save backward.npz # the Lindqvist-Picci backward model
    realize data wiener_hammerstein --out data.csv  # export a shipped data set

``python -m realize ...`` runs the same command.

Every subcommand takes ``--quiet`` (no progress, no summary) and ``--json`` (a
machine-readable summary on stdout). Bad input (a missing file, an unknown column, a
non-numeric cell, missing values, too little data, an unknown form) ends the command
with one line on stderr and exit status 2; set ``REALIZE_DEBUG=1`` to see the
traceback instead.

Exit status: 0 success, 1 internal error (a bug: please report it), 2 bad input,
130 interrupted.

Layout: one module per subcommand (``realize.cli.fit``, ``demo``, ``info``, ``convert``,
``simulate``, ``reverse``, ``data``), each with its ``HELP`` line, ``DESCRIPTION``,
``add_arguments(parser)`` and ``run(args, con)`` (``run(args, con, model)`` for the
commands that read a MODEL file, which :func:`main` loads); ``_common`` holds the
console, the argument types and model files, ``_fitting`` the identification and report
plumbing that ``fit`` and ``demo`` share.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

from realize import __version__
from realize.cli import convert, data, demo, fit, info, reverse, simulate
from realize.cli._common import Console, Parser, UsageError
from realize.cli._common import load_model as _load_model
from realize.errors import RealizeError

__all__ = ["main", "build_parser"]

_EPILOG = "Run 'realize COMMAND --help' for the options of a command."
# the subcommands, in the order of the help
_COMMANDS = {
    "fit": fit,
    "demo": demo,
    "info": info,
    "convert": convert,
    "simulate": simulate,
    "reverse": reverse,
    "data": data,
}
# the subcommands whose first argument is a MODEL file, which main() loads for them
_READ_A_MODEL = ("info", "convert", "simulate", "reverse")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``realize`` command.

    Returns
    -------
    argparse.ArgumentParser
        With subcommands ``fit``, ``demo``, ``info``, ``convert``, ``simulate``,
        ``reverse``, ``data``.

    Examples
    --------
    >>> args = build_parser().parse_args(["fit", "data.csv", "--output", "y", "--order", "4"])
    >>> args.command, args.output, args.order
    ('fit', 'y', 4)
    """
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
    parser = Parser(
        prog="realize",
        description="Stochastic realization and system identification of state-space models.",
        epilog=_EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"realize {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name, command in _COMMANDS.items():
        p = sub.add_parser(
            name,
            parents=[common],
            help=command.HELP,
            description=command.DESCRIPTION,
            epilog=getattr(command, "EPILOG", None),
        )
        if name in _READ_A_MODEL:
            p.add_argument("model", metavar="MODEL", help="a model file written by realize (.npz)")
        command.add_arguments(p)
    return parser


def _run(args, con: Console) -> dict:
    command = _COMMANDS[args.command]
    if args.command in _READ_A_MODEL:
        return command.run(args, con, _load_model(args.model))
    return command.run(args, con)


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

    # NumPy's floating-point warnings (an overflow in the simulation of an unstable
    # model) say nothing a user can act on: the summary shows the result (a fit of -inf,
    # 'stable NO')
    numpy_fp = r"(overflow|invalid value|divide by zero|underflow) encountered"

    status = 0
    with warnings.catch_warnings():
        warnings.showwarning = show_warning
        warnings.simplefilter("default")
        warnings.filterwarnings("ignore", message=numpy_fp, category=RuntimeWarning)
        try:
            parser = build_parser()
            args = parser.parse_args(argv)
            if args.command is None:
                parser.print_help()
                return 0
            if "MPLBACKEND" not in os.environ:
                import matplotlib

                matplotlib.use("Agg")
            con = Console(args.quiet, args.json)
            summary = _run(args, con)
            con.emit_json(summary)
        except UsageError as exc:
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
