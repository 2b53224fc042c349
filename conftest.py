"""Shared pytest configuration: doctests get a fresh ``tmp_path`` like tests do."""

import pytest


@pytest.fixture(autouse=True)
def _doctest_tmp_path(request, tmp_path):
    """Expose ``tmp_path`` to docstring examples, so they never write elsewhere."""
    if "doctest_namespace" in request.fixturenames or request.node.__class__.__name__ == "DoctestItem":
        request.getfixturevalue("doctest_namespace")["tmp_path"] = tmp_path
