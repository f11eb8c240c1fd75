"""Sphinx configuration of the realize documentation.

Build with ``sphinx-build -W -b html docs build/docs`` (``-W``: warnings are errors; the
test suite runs the same into a temporary folder); the output goes outside the source
tree. Nothing is fetched from the network when building or reading the pages:

- math is rendered by MathJax served from the build's own ``_static/mathjax``, copied
  there from the ``sphinx-mathjax-offline`` package (a PyPI package, in the ``docs``
  extra), not from a CDN;
- the tutorials' figures are drawn at build time from the code beside them
  (``matplotlib.sphinxext.plot_directive``, small data);
- example output of the command is the output of the real command, run at build time
  (``.. realize-output::``, ``docs/_ext/realize_output.py``).

No file is generated into the source tree: the API pages use ``autosummary`` tables
without stub generation, beside ``automodule`` / ``autofunction`` entries.
"""

import os
import sys

# the installed package is documented, never the source tree beside it (whose compiled
# extensions are not built in place); only the docs' own Sphinx extensions come from here
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "_ext"))
os.environ.setdefault("MPLBACKEND", "Agg")

import realize  # noqa: E402

project = "realize"
author = "the realize developers"
copyright = "2026, the realize developers"
release = realize.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # MathJax 3 copied into the build (the package's name)
    "matplotlib.sphinxext.plot_directive",
    "numpydoc",
    "realize_output",
]

# MathJax from the build's _static folder, never a CDN (sphinx-mathjax-offline copies it)
mathjax_path = "mathjax/tex-chtml.js"

# figures of the tutorials, drawn at build time: PNG only, the code shown above them
plot_include_source = True
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 96)]
plot_rcparams = {"figure.figsize": (7.0, 3.2), "figure.autolayout": True}

# autodoc / autosummary: document what is there, generate no stub files
autosummary_generate = False
autodoc_default_options = {"members": True, "show-inheritance": False}
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # the numpydoc "Parameters" sections carry the types and shapes
autodoc_mock_imports = []

# numpydoc: the docstrings are numpydoc; class member tables would duplicate autodoc
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks = set()

templates_path = []
exclude_patterns = ["_build", "_ext"]
source_suffix = {".rst": "restructuredtext"}
master_doc = "index"
default_role = "code"
pygments_style = "sphinx"
pygments_dark_style = "monokai"

html_theme = "furo"
html_title = f"realize {release}"
html_theme_options = {
    "source_repository": "",
    "navigation_with_keys": True,
}
html_show_sourcelink = False
