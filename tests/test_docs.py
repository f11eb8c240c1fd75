"""The documentation: it builds without a warning, its tutorial code runs, and the
public functions of the user-facing modules carry complete numpydoc docstrings."""

import importlib
import inspect
import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

# modules whose docstrings this test holds to the full standard
STRICT_MODULES = [
    "realize.cli",
    "realize.plot",
    "realize.plot.identification",
    "realize.plot.systems",
    "realize.plot.texture",
    "realize.report",
    "realize.tabular",
    "realize.compare",
    "realize.identify.spectral",
]


def test_sphinx_build_has_no_warnings(tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-E",
            "-q",
            "-b",
            "html",
            str(DOCS),
            str(tmp_path / "html"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-5000:]
    assert (tmp_path / "html" / "index.html").exists()
    for page in (
        "getting_started",
        "cli",
        "tutorials/identify",
        "theory/identification",
        "api/plot",
        "api/identification",
    ):
        assert (tmp_path / "html" / f"{page}.html").exists(), page
    # the API reference documents the public functions, not just their names
    html = tmp_path / "html"
    api = (html / "api" / "identification.html").read_text()
    assert 'id="realize.n4sid"' in api
    # ... and links across its pages
    assert 'class="admonition seealso"' in api and 'href="compare.html"' in api

    # math renders offline: MathJax is served from the build, no page loads from a CDN
    assert (html / "_static" / "mathjax" / "tex-chtml.js").is_file()
    theory = (html / "theory" / "identification.html").read_text()
    assert 'src="../_static/mathjax/tex-chtml.js"' in theory and 'class="math' in theory
    for page in html.rglob("*.html"):
        text = page.read_text()
        assert not re.search(r"<script[^>]+src=\"https?://", text), page.name

    # the tutorials' figures are drawn at build time from their code
    images = {p.name for p in (html / "_images").glob("*.png")}
    for tutorial in ("identify", "kalman_missing_data", "canonical_forms"):
        assert any(name.startswith(tutorial + "-") for name in images), (tutorial, images)
        assert "_images/" + tutorial in (html / "tutorials" / f"{tutorial}.html").read_text()

    # example output is the real command's, run at build time
    start = _text(html / "getting_started.html")
    assert "$ realize demo\nrealize demo: order" in start
    assert "refined    by PEM: fit" in start
    assert (
        "$ realize fit no-such-file.csv --output y\nrealize: error: no-such-file.csv: no such"
        in (_text(html / "cli.html"))
    )


def _text(page: pathlib.Path) -> str:
    """The text of an HTML page, without its tags (highlighted code is split in spans)."""
    import html

    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))


def test_build_command_writes_outside_the_source_tree():
    """The README's build command writes to build/docs, which git ignores."""
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"sphinx-build docs (\S+?)`", readme)
    assert command and command.group(1) == "build/docs"
    ignored = (ROOT / ".gitignore").read_text().split()
    assert "build/" in ignored
    assert "build/docs" in (DOCS / "conf.py").read_text()


def test_pages_show_no_stale_command_output():
    """Output of the realize command appears in the guide only as built from a real run
    (the realize-output directive), never pasted into a code block."""
    for page in [DOCS / "getting_started.rst", DOCS / "cli.rst", *DOCS.glob("tutorials/*.rst")]:
        text = page.read_text()
        for block in re.findall(r"\.\. code-block:: (?:text|console)\n\n((?:(?:   .*)?\n)+)", text):
            assert not re.search(r"^   realize (demo|fit) .*: order", block, re.M), page.name
            assert "% on validation data" not in block, page.name


def _python_blocks(rst: pathlib.Path) -> str:
    text = rst.read_text()
    blocks = re.findall(r"\.\. code-block:: python\n\n((?:(?:   .*)?\n)+)", text)
    return "\n".join("\n".join(line[3:] for line in block.splitlines()) for block in blocks)


TUTORIALS = [p for p in sorted((DOCS / "tutorials").glob("*.rst")) if _python_blocks(p).strip()]


@pytest.mark.parametrize("page", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_code_runs(page, tmp_path):
    """The code blocks of a tutorial page, run in order as one script."""
    script = tmp_path / f"{page.stem}.py"
    script.write_text(_python_blocks(page))
    env = dict(os.environ, MPLBACKEND="Agg")
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_literalincludes_point_at_examples():
    for page in (DOCS / "tutorials").glob("*.rst"):
        for target in re.findall(r"\.\. literalinclude:: (\S+)", page.read_text()):
            assert (page.parent / target).resolve().is_file(), (page.name, target)


def _public(module):
    names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
    for name in names:
        obj = getattr(module, name)
        if (inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__ == module.__name__:
            yield name, obj


def docstring_problems(module_name: str) -> list[str]:
    """What a public function or class of the module lacks: a docstring with
    Parameters (when it takes arguments), Returns (functions) and Examples."""
    module = importlib.import_module(module_name)
    problems = []
    for name, obj in _public(module):
        doc = inspect.getdoc(obj) or ""
        where = f"{module_name}.{name}"
        if not doc:
            problems.append(f"{where}: no docstring")
            continue
        target = obj.__init__ if inspect.isclass(obj) else obj
        try:
            params = [p for p in inspect.signature(target).parameters if p not in ("self", "cls")]
        except (TypeError, ValueError):
            params = []
        if params and "Parameters\n----------" not in doc and "Attributes\n----------" not in doc:
            problems.append(f"{where}: no Parameters section")
        if inspect.isfunction(obj) and "Returns\n-------" not in doc and "Yields" not in doc:
            problems.append(f"{where}: no Returns section")
        if "Examples\n--------" not in doc and "Example\n-------" not in doc:
            problems.append(f"{where}: no Examples section")
    return problems


@pytest.mark.parametrize("module_name", STRICT_MODULES)
def test_user_facing_docstrings_are_complete(module_name):
    """(Their examples run in tests/test_doctests.py, with every other module's.)"""
    assert docstring_problems(module_name) == []
