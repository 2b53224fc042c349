"""``load_data``: one call, one numeric array, from any registered file format."""

from __future__ import annotations

import contextlib
import numbers
import os
import pathlib
from collections.abc import Iterator, Sequence
from typing import Any, Optional, Union

import numpy as np

from cebra_data.errors import CebraDataError, CorruptFileError
from cebra_data.io._entries import Entry, Table, select_entry, to_numeric_array
from cebra_data.io.deeplabcut import pose_from_table
from cebra_data.io.registry import Reader, check_file, find_reader

__all__ = ["load_data", "open_entries"]


@contextlib.contextmanager
def open_entries(
    file: Union[str, pathlib.Path], *, trusted: bool = False
) -> Iterator[tuple[pathlib.Path, Reader, list[Entry]]]:
    """Open ``file`` with its registered reader and yield ``(path, reader, entries)``.

    Every error that is not already a :class:`~cebra_data.errors.CebraDataError` raised
    while the file is open is re-raised as :class:`~cebra_data.errors.CorruptFileError`
    with the original as ``__cause__``; so is a ``MemoryError`` while reading a file smaller
    than a quarter of the machine's memory (a corrupted size field asks for absurd
    amounts). The body of the ``with`` block must therefore validate its own arguments
    before entering.

    Raises:
        DataFileNotFoundError, EmptyFileError, UnsupportedFileFormatError,
        CorruptFileError, UnsafeFileError, MissingDependencyError: see :func:`load_data`.
    """
    if not isinstance(trusted, bool):
        raise TypeError(f"trusted should be True or False, but got trusted={trusted!r}.")
    path = check_file(file)
    reader = find_reader(path)
    try:
        with reader.open(path, trusted=trusted) as entries:
            yield path, reader, entries
    except CebraDataError:
        raise
    except MemoryError as exc:
        size = path.stat().st_size
        if size > _memory_bytes() // 4:
            raise  # a big file on a small machine: a genuine MemoryError
        raise CorruptFileError(
            f"Reading '{path}' ({size} bytes) asked for more memory than this machine has; a "
            "size field in the file is corrupted (or, for compressed data, it expands too much)."
        ) from exc
    except Exception as exc:
        raise CorruptFileError(
            f"Could not read '{path}' as a {reader.description} file; it looks corrupted or "
            f"truncated ({type(exc).__name__}: {exc})."
        ) from exc


def _memory_bytes() -> int:
    """Physical memory in bytes (a large number where the platform does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        return 1 << 62


def _check_key(key: Any) -> Union[str, int, None]:
    if key is None or isinstance(key, str):
        return key
    if isinstance(key, numbers.Integral) and not isinstance(key, (bool, np.bool_)):
        return int(key)
    raise TypeError(
        f"key should be a name (str), a position (int) or None, but got key={key!r} of type "
        f"{type(key).__name__}."
    )


def _check_columns(columns: Any) -> Optional[list[Any]]:
    if columns is None:
        return None
    if isinstance(columns, (str, numbers.Integral)) and not isinstance(columns, bool):
        return [columns]
    if isinstance(columns, (list, tuple, np.ndarray)) or hasattr(columns, "tolist"):
        values = columns.tolist() if hasattr(columns, "tolist") else list(columns)
        return values
    raise TypeError(
        f"columns should be a list of column names, but got columns={columns!r} of type "
        f"{type(columns).__name__}."
    )


def load_data(
    file: Union[str, pathlib.Path],
    key: Optional[Union[str, int]] = None,
    columns: Optional[Sequence[Any]] = None,
    *,
    trusted: bool = False,
) -> np.ndarray:
    """Load one numeric array from a data file.

    The format is chosen by the file's suffix and confirmed by its first bytes; see
    ``docs/io.rst`` for the formats table. A file holds one or more *entries* (HDF5
    datasets, ``.npz`` members, dictionary values, Excel sheets, MATLAB variables ...).

    Args:
        file: Path of the file.
        key: The entry to load, by name (``"group/sub/data"`` for nested entries) or by
            position in the reader's order. ``None`` takes the first *array-like* entry:
            a numeric array with at least one element, or a table whose columns are all
            numeric. Single-array files (``.npy``, ``.csv``, a pickled array) have one
            entry, named after the file's stem.
        columns: Columns to keep, in this order: column names for tables (csv header,
            DataFrame columns, Excel header); column positions for 2-D arrays; bodyparts
            for DeepLabCut files. A single name is treated as ``[name]``.
        trusted: Allow code stored in the file to run while loading (pickle, joblib,
            PyTorch and numpy object arrays, pandas HDF layouts only PyTables reads). Only
            for files you created or trust.

    Returns:
        A numpy array with a bool, integer, float or complex dtype (never an object
        array). DeepLabCut files give ``(frames, 2 * keypoints)`` poses, as
        :func:`~cebra_data.io.load_deeplabcut` with ``keypoints=columns``.

    Raises:
        DataFileNotFoundError: no such file (a ``FileNotFoundError``).
        UnsupportedFileFormatError: unknown suffix; lists the supported ones.
        EmptyFileError: zero bytes, no rows or no entries.
        CorruptFileError: truncated or corrupted file; the library's error is the cause.
        MissingKeyError: no entry named ``key``; lists the available keys.
        MissingColumnError: a column is not there; lists the columns.
        NonNumericDataError: the selected data is not numeric.
        UnsafeFileError: loading would run code and ``trusted`` is False.
        MissingDependencyError: an optional package is needed for this file.
        TypeError: ``key`` or ``columns`` has the wrong type.

    Example:
        >>> import numpy as np
        >>> from cebra_data import load_data
        >>> path = tmp_path / "session.npz"
        >>> np.savez(path, neural=np.zeros((100, 3)), behavior=np.ones((100, 2)))
        >>> load_data(path).shape
        (100, 3)
        >>> load_data(path, key="behavior").shape
        (100, 2)
    """
    key = _check_key(key)
    columns = _check_columns(columns)
    with open_entries(file, trusted=trusted) as (path, _, entries):
        entry = select_entry(entries, key, f"'{path}'")
        value = entry.value()
        if isinstance(value, Table) and value.is_deeplabcut:
            keypoints = None if columns is None else [str(c) for c in columns]
            poses, _, _ = pose_from_table(value, keypoints, 0.6, None, where=f"'{path}'")
            return poses
        array = to_numeric_array(value, columns, f"Entry {entry.name!r} of '{path}'")
        # a table may hand out a view of a larger read; give the caller its own array
        return array if array.base is None or not isinstance(value, Table) else array.copy()
