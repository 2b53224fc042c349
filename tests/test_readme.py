"""The README's Python examples run as written."""

import pathlib
import re
import warnings

import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_python_examples():
    assert len(_python_blocks()) >= 3


def test_readme_examples_run_in_order(tmp_path, monkeypatch):
    """The examples run as written, and clean: any warning is an error (``python -W error``)."""
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for block in _python_blocks():
            exec(compile(block, str(README), "exec"), namespace)
    assert namespace["batch"].reference.shape == (512, 120, 10)
    assert namespace["collection"].num_sessions == 3
    assert namespace["behaviour"].shape == (10_000, 1)


def test_readme_names_the_two_setup_commands():
    text = README.read_text()
    commands = re.findall(r"```bash\n(.*?)\n```", text, flags=re.S)
    assert any(c.endswith("cebra-data demo") for c in commands)
    assert any(c.endswith("python -m pytest") for c in commands)
    assert all(c.startswith("pip install torch==2.13.0") for c in commands[:2])
