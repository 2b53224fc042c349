"""``load_data``: one call, one numeric array, from any registered file format."""

from __future__ import annotations

import numbers
import pathlib
from collections.abc import Sequence
from typing import Any, Optional, Union

import numpy as np

from cebra_data.errors import MissingColumnError, NonNumericDataError
from cebra_data.io.poses.deeplabcut import DEFAULT_PCUTOFF, pose_from_table
from cebra_data.io.reader import (
    Entry,
    Table,
    is_numeric_dtype,
    select_entry,
    to_numeric_array,
)
from cebra_data.io.registry import open_entries

__all__ = ["check_columns", "check_key", "default_entry", "entry_array", "entry_with_columns",
           "load_data"]


def check_key(key: Any) -> Union[str, int, None]:
    """Validate a ``key`` argument: a name, a position or ``None``.

    Args:
        key: The value given by the caller.

    Returns:
        ``key`` as a ``str``, an ``int`` or ``None``.

    Raises:
        TypeError: ``key`` is anything else (a bool, a float, a list ...).

    Example:
        >>> import numpy as np
        >>> from cebra_data.io.load import check_key
        >>> check_key(np.int64(2)), check_key("neural")
        (2, 'neural')
    """
    if key is None or isinstance(key, str):
        return key
    if isinstance(key, numbers.Integral) and not isinstance(key, (bool, np.bool_)):
        return int(key)
    raise TypeError(
        f"key should be a name (str), a position (int) or None, but got key={key!r} of type "
        f"{type(key).__name__}."
    )


def check_columns(columns: Any) -> Optional[list[Any]]:
    """Validate a ``columns`` argument: ``None``, one label, or a sequence of labels.

    Args:
        columns: The value given by the caller.

    Returns:
        ``None`` or a list of labels (a single name becomes a one-element list).

    Raises:
        TypeError: ``columns`` is neither a label nor a list, tuple or array of labels.

    Example:
        >>> from cebra_data.io.load import check_columns
        >>> check_columns("x"), check_columns(("x", "y"))
        (['x'], ['x', 'y'])
    """
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
        file: Path of the file, or the ``http(s)://`` URL of an NWB file (read by byte
            ranges, only what the entry needs; extra ``remote``: see ``docs/nwb.rst``).
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
        :func:`~cebra_data.io.load_deeplabcut` with ``keypoints=columns``. Arrays of
        uncompressed joblib files and tensors of zip-based PyTorch files (over 192 KiB)
        are not copied: they view a copy-on-write memory map of the file (writes never
        reach the file; the file must not be rewritten in place while the array is used;
        ``np.array(...)`` gives a copy in memory).

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
    key = check_key(key)
    columns = check_columns(columns)
    with open_entries(file, trusted=trusted) as (path, _, entries):
        if key is None and columns is not None:
            entry = entry_with_columns(entries, columns, f"'{path}'")
        elif key is None:
            entry = default_entry(entries, path)
        else:
            entry = select_entry(entries, key, f"'{path}'")
        return entry_array(entry, columns, path)


def default_entry(entries: list[Entry], path: Any) -> Entry:
    """The entry ``load_data(file)`` reads when neither ``key`` nor ``columns`` is given.

    That is the first array-like entry (see :func:`~cebra_data.io.reader.select_entry`),
    except in a SLEAP analysis file, where no entry is guessed: its first numeric entry is
    bookkeeping and even ``tracks`` is not time-first. ``inspect`` names the same entry.

    Args:
        entries: The file's entries.
        path: The file, for messages.

    Raises:
        NonNumericDataError: no entry is array-like, or the file is a SLEAP analysis file
            (the message names :func:`cebra_data.load_pose`).
        EmptyFileError: the file has no entries.

    Example:
        >>> import numpy as np
        >>> from cebra_data.io import open_entries
        >>> from cebra_data.io.load import default_entry
        >>> np.savez(tmp_path / "s.npz", names=np.array(["a"]), x=np.zeros(2))
        >>> with open_entries(tmp_path / "s.npz") as (path, _, entries):
        ...     default_entry(entries, path).name
        'x'
    """
    _refuse_pose_default(entries, path)
    return select_entry(entries, None, f"'{path}'")


def entry_with_columns(entries: list[Entry], columns: list[Any], where: str) -> Entry:
    """The entry ``load_data(file, columns=...)`` reads when no key is given.

    That is the first array-like entry (see :func:`~cebra_data.io.reader.select_entry`)
    when it is a DeepLabCut table or holds the columns; otherwise the first table that
    has every named column (even if other columns hold text, as in ``iris.csv``), or the
    first 2-D numeric array whose column positions cover them.

    Args:
        entries: The file's entries.
        columns: Checked column labels (see :func:`check_columns`).
        where: The file, for messages.

    Returns:
        The entry; when none holds the columns, the default entry (whose error then
        lists its columns).

    Raises:
        EmptyFileError, NonNumericDataError: no entry at all / no array-like entry and
            no entry with the columns.

    Example:
        >>> import numpy as np
        >>> from cebra_data.io.reader import Entry, Table
        >>> from cebra_data.io.load import entry_with_columns
        >>> names = np.array([["a"], ["b"]], dtype=object)
        >>> table = Table(["name", "x"], [None], 2, [None, np.dtype(float)],
        ...               lambda p: np.ones((2, len(p))))
        >>> entry_with_columns([Entry("t", lambda: table)], ["x"], "f").name
        't'
    """
    default = next((e for e in entries if e.array_like()), None)
    if default is not None:
        value = default.value()
        if (isinstance(value, Table) and value.is_deeplabcut) or _has_columns(value, columns):
            return default
    for entry in entries:
        if entry is default:
            continue
        try:
            value = entry.value()
        except NonNumericDataError:
            continue  # an entry that cannot be represented; it cannot hold the columns
        if _has_columns(value, columns):
            return entry
    return default if default is not None else select_entry(entries, None, where)


def _has_columns(value: Any, columns: list[Any]) -> bool:
    if isinstance(value, Table):
        try:
            value.positions(columns)
        except MissingColumnError:
            return False
        return True
    if isinstance(value, np.ndarray) and value.ndim == 2 and is_numeric_dtype(value.dtype):
        return all(isinstance(c, numbers.Integral) and not isinstance(c, (bool, np.bool_))
                   and -value.shape[1] <= int(c) < value.shape[1] for c in columns)
    return False


def entry_array(entry: Entry, columns: Optional[list[Any]], path: pathlib.Path) -> np.ndarray:
    """The numeric array of an entry, as :func:`load_data` returns it.

    DeepLabCut tables become ``(frames, 2 * keypoints)`` poses (``columns`` are the
    keypoints, likelihood cutoff :data:`~cebra_data.io.poses.deeplabcut.DEFAULT_PCUTOFF`); other
    values go through :func:`~cebra_data.io.reader.to_numeric_array`.

    Args:
        entry: An entry of an open file (the file must still be open).
        columns: Checked columns (see :func:`check_columns`) or ``None``.
        path: The file, for messages.

    Returns:
        A numeric array the caller owns (never a view of data a table keeps).

    Raises:
        MissingColumnError, NonNumericDataError, EmptyKeypointError: see :func:`load_data`.

    Example:
        >>> import numpy as np
        >>> from cebra_data.io import open_entries
        >>> from cebra_data.io.load import entry_array
        >>> np.savez(tmp_path / "s.npz", x=np.eye(3))
        >>> with open_entries(tmp_path / "s.npz") as (path, _, entries):
        ...     entry_array(entries[0], [2, 0], path)
        array([[0., 1.],
               [0., 0.],
               [1., 0.]])
    """
    value = entry.value()
    if isinstance(value, Table) and value.is_deeplabcut:
        keypoints = None if columns is None else [str(c) for c in columns]
        poses, _, _ = pose_from_table(value, keypoints, DEFAULT_PCUTOFF, None, where=f"'{path}'",
                                      caller="load_data")
        return poses
    array = to_numeric_array(value, columns, f"Entry {entry.name!r} of '{path}'")
    # a table may hand out a view of a larger read; give the caller its own array
    return array if array.base is None or not isinstance(value, Table) else array.copy()


#: Entry names that together mark a SLEAP analysis HDF5 file.
_SLEAP_ANALYSIS_ENTRIES = {"tracks", "node_names", "track_occupancy"}


def _refuse_pose_default(entries: list[Entry], path: Any) -> None:
    """Refuse to guess an entry of a SLEAP analysis file: its first array is not the poses.

    Such a file holds ``tracks`` as ``(tracks, space, nodes, frames)`` beside
    bookkeeping arrays (``track_occupancy``, ...); the first numeric entry is
    rarely what the caller wants, and even ``tracks`` is not time-first.

    Raises:
        NonNumericDataError: for a SLEAP analysis file, naming :func:`cebra_data.load_pose`.
    """
    names = {entry.name for entry in entries}
    if _SLEAP_ANALYSIS_ENTRIES <= names:
        raise NonNumericDataError(
            f"'{path}' is a SLEAP analysis file: its poses are 'tracks' as (tracks, space, "
            "nodes, frames), beside bookkeeping entries, so load_data does not guess an entry. "
            "Use cebra_data.load_pose(path) for time-first poses with gaps interpolated, or "
            "pass key= to read one entry as stored."
        )
