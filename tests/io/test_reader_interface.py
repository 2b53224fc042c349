"""The public reader interface: Reader/Entry/Table in cebra_data.io.reader, the registry."""

from __future__ import annotations

import ast
import contextlib
import pathlib

import numpy as np
import pytest

import cebra_data.io
from cebra_data import errors
from cebra_data.io import DEFAULT_PCUTOFF, Entry, Reader, open_entries, readers, register_reader
from cebra_data.io.reader import Table

IO_DIR = pathlib.Path(cebra_data.io.__file__).parent


def _imports(path: pathlib.Path) -> list[tuple[str, list[str]]]:
    """(module, names) of every import in ``path``, including those inside functions."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            found.extend((a.name, []) for a in node.names)
    return found


def test_every_registered_reader_implements_the_public_interface() -> None:
    for reader in readers():
        assert isinstance(reader, Reader)
        assert type(reader).entries is not Reader.entries
        assert not getattr(type(reader).entries, "__isabstractmethod__", False)
        assert not hasattr(reader, "open") and not hasattr(reader, "_entries")


def test_io_imports_only_l0_and_itself_and_no_private_names_from_public_modules() -> None:
    allowed = ("cebra_data.errors", "cebra_data._validation", "cebra_data.datatypes",
               "cebra_data.io")
    for path in IO_DIR.glob("*.py"):
        for module, names in _imports(path):
            if not module.startswith("cebra_data"):
                continue
            assert module.startswith(allowed), f"{path.name} imports {module}"
            last = module.rsplit(".", 1)[-1]
            if not last.startswith("_"):
                private = [n for n in names if n.startswith("_")]
                assert not private, f"{path.name} imports private {private} from {module}"


def test_pcutoff_default_is_one_named_constant() -> None:
    import inspect

    from cebra_data.io import inspect_file, load_deeplabcut

    assert DEFAULT_PCUTOFF == 0.6
    for function in (load_deeplabcut, inspect_file):
        assert inspect.signature(function).parameters["pcutoff"].default is DEFAULT_PCUTOFF
    for path in IO_DIR.glob("*.py"):
        literals = [n.value for n in ast.walk(ast.parse(path.read_text()))
                    if isinstance(n, ast.Constant) and n.value == 0.6 and type(n.value) is float]
        assert len(literals) == (1 if path.name == "deeplabcut.py" else 0), path.name


def test_register_reader_refuses_non_readers_and_bad_suffixes() -> None:
    with pytest.raises(TypeError, match="instance of cebra_data.io.reader.Reader"):
        register_reader(object())

    class Upper(Reader):
        name, suffixes, description = "upper", (".TSV",), "upper"

        @contextlib.contextmanager
        def entries(self, path, *, trusted):
            yield []

    with pytest.raises(ValueError, match="lower case"):
        register_reader(Upper())


def test_a_reader_without_entries_cannot_be_built() -> None:
    class Old(Reader):
        name, suffixes, description = "old", (".old",), "old"

    with pytest.raises(TypeError, match="entries"):
        Old()


def test_reader_read_and_open_entries(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "two.npz"
    np.savez(path, a=np.zeros(3), b=np.arange(6.0).reshape(2, 3))
    with open_entries(path) as (checked, reader, entries):
        assert checked == path and reader.name == "npz"
        assert [e.name for e in entries] == ["a", "b"] and isinstance(entries[0], Entry)
    np.testing.assert_array_equal(reader.read(path, key="b", columns=[2]), [[2.0], [5.0]])
    with pytest.raises(errors.MissingKeyError, match="'c'"):
        reader.read(path, key="c")


def test_open_entries_turns_library_errors_into_corrupt_file_errors(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "cut.npz"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    with pytest.raises(errors.CorruptFileError, match="NumPy .npz") as info:
        with open_entries(path):
            pass
    assert info.value.__cause__ is not None


def test_table_index_is_read_on_first_use_and_checked() -> None:
    calls = []
    values = np.zeros((2, 1))

    def index():
        calls.append(1)
        return ["r0", "r1", "r2"]

    table = Table(["a"], [None], 2, [values.dtype], lambda p: values, index=index)
    assert calls == []
    with pytest.raises(ValueError, match="one label per row \\(2\\), but has 3"):
        table.index
