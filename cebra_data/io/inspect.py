"""``inspect_file``: what is in a data file, as a plain structure (for ``cebra-data inspect``)."""

from __future__ import annotations

import pathlib
from typing import Any, Optional, Union

import numpy as np

from cebra_data._validation import check_float
from cebra_data.io.deeplabcut import DEFAULT_PCUTOFF, deeplabcut_summary
from cebra_data.io.load import check_key
from cebra_data.io.reader import Entry, NonArray, Table, is_numeric_dtype, select_entry
from cebra_data.io.registry import open_entries

__all__ = ["inspect_file"]


def _nan_count(array: np.ndarray) -> int:
    if array.dtype.kind in "fc":
        return int(np.count_nonzero(np.isnan(array)))
    return 0


def _describe(entry: Entry, default: Optional[str], pcutoff: float) -> dict[str, Any]:
    info: dict[str, Any] = {"name": entry.name, "default": entry.name == default}
    try:
        value = entry.value()
        info["shape"] = None if isinstance(value, NonArray) else [int(s) for s in value.shape]
        info["dtype"] = value.type_name if isinstance(value, NonArray) else (
            value.dtype_name if isinstance(value, Table) else str(value.dtype))
        info["numeric"] = bool(entry.numeric)
        info["nan_count"] = None
        if isinstance(value, np.ndarray) and is_numeric_dtype(value.dtype):
            info["nan_count"] = _nan_count(value)
        elif isinstance(value, Table):
            columns = []
            for position, (label, dtype) in enumerate(zip(value.columns, value.dtypes)):
                column: dict[str, Any] = {
                    "name": list(map(str, label)) if isinstance(label, tuple) else str(label),
                    "dtype": str(dtype) if is_numeric_dtype(dtype) else "object",
                    "nan_count": None,
                }
                if is_numeric_dtype(dtype) and value.n_rows:
                    column["nan_count"] = _nan_count(value.take([position]))
                columns.append(column)
            info["columns"] = columns
            counts = [c["nan_count"] for c in columns if c["nan_count"] is not None]
            info["nan_count"] = int(sum(counts)) if counts else None
            if value.is_deeplabcut:
                info["deeplabcut"] = deeplabcut_summary(value, pcutoff)
    except Exception as exc:  # one unreadable entry should not hide the others
        info["error"] = f"{type(exc).__name__}: {exc}"
    return info


def inspect_file(
    path: Union[str, pathlib.Path],
    key: Optional[Union[str, int]] = None,
    trusted: bool = False,
    *,
    pcutoff: float = DEFAULT_PCUTOFF,
) -> dict[str, Any]:
    """Describe a data file without loading more than needed for the description.

    Args:
        path: The file.
        key: Describe only this entry (name or position); ``None`` describes all.
        trusted: As in :func:`~cebra_data.io.load_data`.
        pcutoff: Likelihood threshold for the DeepLabCut statistics (default
            :data:`~cebra_data.io.deeplabcut.DEFAULT_PCUTOFF`).

    Returns:
        A JSON-serialisable ``dict`` with ``path``, ``format`` (the reader's name),
        ``default_key`` (the entry ``load_data`` takes without a key, or ``None``) and
        ``entries``: one ``dict`` per entry with ``name``, ``shape``, ``dtype``,
        ``numeric``, ``nan_count``, ``default``; tables add ``columns`` (name, dtype,
        nan_count); DeepLabCut tables add ``deeplabcut`` with ``scorer``,
        ``individuals``, ``bodyparts``, ``frames``, ``has_likelihood`` and, per keypoint,
        the fraction of frames ``below_pcutoff`` and ``missing``. An entry that cannot
        be read has an ``error`` message instead of its details.

    Example:
        >>> import numpy as np
        >>> from cebra_data.io import inspect_file
        >>> path = tmp_path / "session.npz"
        >>> np.savez(path, labels=np.array(["a", "b"]), x=np.array([1.0, np.nan]))
        >>> info = inspect_file(path)
        >>> info["default_key"], [(e["name"], e["dtype"], e["nan_count"]) for e in info["entries"]]
        ('x', [('labels', '<U1', None), ('x', 'float64', 1)])
    """
    key = check_key(key)
    pcutoff = check_float(pcutoff, "pcutoff")
    with open_entries(path, trusted=trusted) as (file, reader, entries):
        default = _default_key(entries, f"'{file}'")
        chosen = entries if key is None else [select_entry(entries, key, f"'{file}'")]
        return {
            "path": str(file),
            "format": reader.name,
            "default_key": default,
            "entries": [_describe(e, default, pcutoff) for e in chosen],
        }


def _default_key(entries: list[Entry], where: str) -> Optional[str]:
    """The entry ``load_data`` would take without a key, or ``None`` if it would fail."""
    try:
        return select_entry(entries, None, where).name
    except Exception:
        return None
