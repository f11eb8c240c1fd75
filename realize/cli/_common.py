"""What every subcommand shares: the console, the parser class, argument types, model files.

Argument types check their values with the package's validators
(:func:`realize._checks.as_int`, :func:`realize._checks.as_float`) and phrase the error
for the command line: ``argument --steps: expected a positive integer, got -3``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import threading
import time

import realize
from realize._checks import as_float, as_int
from realize.errors import FormatError, InvalidValueError

__all__ = [
    "ORDER_RULES",
    "Console",
    "Parser",
    "UsageError",
    "check_destination",
    "fraction",
    "load_model",
    "order",
    "positive_float",
    "positive_int",
    "print_model",
    "save_model",
    "time_unit",
]


class UsageError(Exception):
    """Bad command-line usage (exit status 2)."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line: 'realize fit: error: ...'."""

    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')")


# ---------------------------------------------------------------- progress and output
class Console:
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
            from realize.report import jsonable

            print(json.dumps(jsonable(payload), indent=2), flush=True)


# ---------------------------------------------------------------------- argument types
def _argument_type(parse, check, expected: str):
    """An argparse type: ``parse`` the text, then ``check`` the value (a shared validator)."""

    def convert(text: str):
        try:
            value = parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        try:
            return check(value)
        except InvalidValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {value}") from None

    return convert


positive_int = _argument_type(int, lambda v: as_int(v, "value", low=1), "a positive integer")
positive_float = _argument_type(
    float, lambda v: as_float(v, "value", low=0.0, open_low=True), "a positive number"
)
fraction = _argument_type(
    float,
    lambda v: as_float(v, "value", low=0.0, high=1.0, open_low=True, open_high=True),
    "a fraction strictly between 0 and 1",
)
#: the order rules of ``--order`` besides a number: ``realize.n4sid``'s ``order="auto"``
#: and :func:`realize.identify.order.select_order_by_validation`
ORDER_RULES = ("auto", "validate")
_order_number = _argument_type(
    int,
    lambda v: as_int(v, "value", low=1),
    f"{', '.join(map(repr, ORDER_RULES))} or a positive integer",
)


def order(text: str):
    """``--order``: one of :data:`ORDER_RULES` or a positive integer."""
    return text if text in ORDER_RULES else _order_number(text)


# ---------------------------------------------------------------------- model files
def load_model(path: str):
    """The StateSpace in a model file (or the ``.model`` of a saved result)."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    obj = realize.load(path)
    if hasattr(obj, "A") and hasattr(obj, "poles"):
        return obj
    model = getattr(obj, "model", None)
    if model is not None and hasattr(model, "A"):
        return model
    raise FormatError(f"{path}: expected a state-space model, got a {type(obj).__name__}")


def check_destination(path, option: str) -> None:
    """Refuse, before any work, a file path whose folder does not exist."""
    folder = os.path.dirname(os.path.abspath(os.fspath(path)))
    if not os.path.isdir(folder):
        raise InvalidValueError(f"{option}: no such folder {folder} (for {path})")


def save_model(model, path) -> str:
    """Save ``model`` (realize's npz format) at exactly ``path``; its absolute path.

    :func:`realize.save` goes through NumPy, which appends ``.npz`` to a name without it;
    the command writes where the user said (``--save model.bin`` writes ``model.bin``)
    by saving beside it under a temporary ``.npz`` name and renaming, which also leaves
    no half-written file behind on failure.
    """
    check_destination(path, "--save")
    path = os.path.abspath(os.fspath(path))
    fd, tmp = tempfile.mkstemp(suffix=".npz", prefix=".realize-", dir=os.path.dirname(path))
    os.close(fd)
    try:
        realize.save(model, tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's file is private; a saved model is not
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def time_unit(model) -> str:
    return "samples" if model.dt == 1.0 else "s"


def print_model(con: Console, summary: dict, indent: str = "  ") -> None:
    """Sizes, stability, noise model and poles of a :func:`realize.report.model_summary`."""
    from realize.report import format_pole

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
        con.say(f"{indent}{'poles' if k == 0 else '':<10} {format_pole(row, unit)}")
    if len(rows) > 12:
        con.say(f"{indent}{'':<10} ... and {len(rows) - 12} more (see the report)")
