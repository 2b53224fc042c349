"""Sphinx configuration for cebra_data."""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

import cebra_data  # noqa: E402

project = "cebra_data"
author = "the cebra_data developers"
copyright = "2026, the cebra_data developers"
release = cebra_data.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.doctest",
    "sphinx.ext.viewcode",
]
autosummary_generate = False
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
napoleon_google_docstring = True
napoleon_numpy_docstring = False
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path = []
nitpicky = False
suppress_warnings = ["ref.python"]

doctest_global_setup = """
import pathlib
import shutil
import tempfile

import numpy as np
import torch
import cebra_data

tmp_path = pathlib.Path(tempfile.mkdtemp(prefix="cebra_data_doctest_"))

import importlib.util
cebra_missing = importlib.util.find_spec("cebra") is None  # docs/cebra.rst runs CEBRA when installed
"""
doctest_global_cleanup = """
shutil.rmtree(tmp_path, ignore_errors=True)
"""
