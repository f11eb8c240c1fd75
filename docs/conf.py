"""Sphinx configuration of the realize documentation.

Build with ``sphinx-build -W -b html docs docs/_build/html`` (``-W``: warnings are
errors; the test suite runs exactly this). Nothing is fetched from the network and no
file is generated into the source tree: the API pages use ``autosummary`` tables without
stub generation, beside ``automodule`` / ``autofunction`` entries.
"""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))
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
    "numpydoc",
]

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
exclude_patterns = ["_build"]
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
