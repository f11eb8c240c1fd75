"""``.. realize-output::``: the output of a ``realize`` command, produced at build time.

::

    .. realize-output:: realize demo

runs ``python -m realize demo`` (the same command) when the page is built and shows the
command line and what it printed, so that the documentation cannot show output the
program no longer prints. The commands of one page run in order in one scratch folder
(a later command can read the files an earlier one wrote); the folder is removed when
the build ends. A command that fails fails the build (an error, which ``-W`` keeps).

Options: ``:hide:`` runs the command without showing it (to make a file that a shown
command reads); ``:stderr:`` shows stderr after stdout (warnings); ``:returncode: N``
expects exit status N instead of 0 (and shows stderr: the one-line error).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util.docutils import SphinxDirective

#: one scratch folder per page, for the build
_FOLDERS: dict[str, str] = {}


def _folder(docname: str) -> str:
    if docname not in _FOLDERS:
        _FOLDERS[docname] = tempfile.mkdtemp(prefix="realize-docs-")
    return _FOLDERS[docname]


class RealizeOutput(SphinxDirective):
    has_content = False
    required_arguments = 1
    final_argument_whitespace = True
    option_spec = {
        "hide": directives.flag,
        "stderr": directives.flag,
        "returncode": directives.nonnegative_int,
    }

    def run(self):
        line = self.arguments[0].strip()
        argv = shlex.split(line)
        if argv[0] != "realize":
            raise self.error(f"realize-output: expected a 'realize' command, got {line!r}")
        env = dict(os.environ, MPLBACKEND="Agg", COLUMNS="88")
        proc = subprocess.run(
            [sys.executable, "-m", "realize", *argv[1:]],
            cwd=_folder(self.env.docname),
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )
        expected = self.options.get("returncode", 0)
        if proc.returncode != expected:
            raise self.error(
                f"realize-output: {line!r} exited with {proc.returncode}, expected {expected}: "
                f"{proc.stderr.strip()}"
            )
        if not hasattr(self.env, "realize_output_docs"):
            self.env.realize_output_docs = set()
        self.env.realize_output_docs.add(self.env.docname)
        if "hide" in self.options:
            return []
        text = f"$ {line}\n{proc.stdout.rstrip()}".rstrip()
        if ("stderr" in self.options or expected) and proc.stderr.strip():
            text += "\n" + proc.stderr.rstrip()
        block = nodes.literal_block(text, text)
        block["language"] = "console"
        return [block]


def _always_outdated(app, env, added, changed, removed):
    """Pages that run commands are read again on every build: their output is fresh."""
    return sorted(getattr(env, "realize_output_docs", set()) - set(removed))


def _purge(app, env, docname):
    getattr(env, "realize_output_docs", set()).discard(docname)


def _cleanup(app, exc):
    for folder in _FOLDERS.values():
        shutil.rmtree(folder, ignore_errors=True)
    _FOLDERS.clear()


def setup(app):
    app.add_directive("realize-output", RealizeOutput)
    app.connect("env-get-outdated", _always_outdated)
    app.connect("env-purge-doc", _purge)
    app.connect("build-finished", _cleanup)
    return {"version": "1", "parallel_read_safe": False, "parallel_write_safe": True}
