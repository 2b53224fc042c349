"""``inspect_file``: what is in a data file, as a plain structure (for ``cebra-data inspect``)."""

from __future__ import annotations

import pathlib
from typing import Any, Optional, Union

import numpy as np

from cebra_data.errors import NotPoseFileError
from cebra_data.io.poses.deeplabcut import DEFAULT_PCUTOFF, check_pcutoff, deeplabcut_summary
from cebra_data.io.load import check_key, default_entry, entry_array
from cebra_data.io.nwb import NwbReader, OpenNwbFile, open_nwb, summarize
from cebra_data.io.poses import detect_pose_source, pose_summary
from cebra_data.io.poses.detect import TRACKER_NAMES
from cebra_data.io.reader import Entry, NonArray, Table, is_numeric_dtype, select_entry
from cebra_data.io.registry import open_entries, supported_suffixes
from cebra_data.io.remote import is_url

__all__ = ["inspect_file"]


def _nan_count(array: np.ndarray) -> int:
    if array.dtype.kind in "fc":
        return int(np.count_nonzero(np.isnan(array)))
    return 0


def _describe(entry: Entry, default: Optional[str], pcutoff: float,
              path: Optional[Union[str, pathlib.Path]] = None) -> dict[str, Any]:
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
        info["error"] = _failure(exc)
        info["readable"] = False
        info["reason"] = info["error"]
        return info
    info["readable"], info["reason"] = _loadable(entry, path)
    return info


def _failure(exc: BaseException) -> str:
    """How inspect reports an entry that could not be read: the error's type and message.

    A ``MemoryError`` is what a corrupted size field gives (the entry claims more rows than
    exist); it is reported as the loaders report it, not as numpy's allocation message.
    """
    if isinstance(exc, MemoryError):
        return ("CorruptFileError: reading it asked for more memory than this machine has: a "
                "size field in the file is corrupted, or the entry really is that large.")
    return f"{type(exc).__name__}: {exc}"


def _loadable(entry: Entry, path: Optional[Union[str, pathlib.Path]]) -> tuple[bool, Optional[str]]:
    """Whether ``load_data(file, key=entry.name)`` returns an array; if not, its error."""
    try:
        entry_array(entry, None, path if path is not None else pathlib.Path("the file"))
    except Exception as exc:  # the reason is reported, not raised: inspect shows every entry
        return False, _failure(exc)
    return True, None


def inspect_file(
    path: Union[str, pathlib.Path],
    key: Optional[Union[str, int]] = None,
    trusted: bool = False,
    *,
    pcutoff: float = DEFAULT_PCUTOFF,
) -> dict[str, Any]:
    """Describe a data file without loading more than needed for the description.

    Args:
        path: The file, or the ``http(s)://`` URL of an NWB file (read lazily by byte
            ranges; see :mod:`cebra_data.io.remote`).
        key: Describe only this entry (name or position); ``None`` describes all.
        trusted: As in :func:`~cebra_data.io.load_data`.
        pcutoff: Likelihood threshold for the DeepLabCut statistics (default
            :data:`~cebra_data.io.poses.deeplabcut.DEFAULT_PCUTOFF`).

    Returns:
        A JSON-serialisable ``dict`` with ``path``, ``format`` (the reader's name),
        ``default_key`` (the entry ``load_data`` takes without a key, or ``None``),
        ``default_reason`` (when ``default_key`` is ``None``, the error ``load_data``
        raises without a key, e.g. for a SLEAP analysis file or a ``.slp`` file; else
        ``None``) and ``entries``: one ``dict`` per entry with ``name``, ``shape``, ``dtype``,
        ``numeric``, ``nan_count``, ``default``; tables add ``columns`` (name, dtype,
        nan_count); DeepLabCut tables add ``deeplabcut`` with ``scorer``,
        ``individuals``, ``bodyparts``, ``frames``, ``has_likelihood`` and, per keypoint,
        the fraction of frames ``below_pcutoff`` and ``missing``. Every entry has
        ``readable`` (whether ``load_data(path, key=name)`` returns an array) and
        ``reason`` (the error ``load_data`` would raise, else ``None``); an entry that
        cannot be read at all has an ``error`` message instead of its details, so one bad
        entry never hides the others. NWB files add to each
        series' entry its ``neurodata_type``, ``clock``, ``rate`` (Hz), ``start_time`` and
        ``stop_time`` (seconds), a top-level ``units`` (the units table: ``count``,
        ``ids``, ``columns``, ``spikes``, time range and ``usage``, the calls that read it;
        ``None`` without one) and ``intervals`` (each interval table by path: rows, time
        range, column kinds, ``overlapping`` and ``usage``, the ``from_nwb`` arguments that
        use it); see :func:`cebra_data.io.nwb.summarize`. Pose files of any supported tracker
        (when no ``key`` is given) add ``poses``: the tracker, frames, individuals,
        keypoints and, per individual and keypoint, the share of frames that are
        ``gaps`` (see :func:`cebra_data.io.poses.pose_summary`).

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
    pcutoff = check_pcutoff(pcutoff)
    if is_url(path):
        return _inspect_nwb(path, key, trusted, pcutoff)
    source = detect_pose_source(path)
    suffix = pathlib.Path(path).suffix.lower()
    if source == "nwb" and suffix in NwbReader.suffixes:
        return _inspect_nwb(path, key, trusted, pcutoff)
    if source is not None and suffix not in supported_suffixes():
        only: dict[str, Any] = {
            "path": str(path), "format": source, "default_key": None,
            "default_reason": (f"load_data does not read {suffix or 'suffix-less'} files (with "
                               "or without a key); cebra_data.load_pose(path) reads the poses "
                               f"of this {TRACKER_NAMES[source]} file."),
            "entries": [],
        }  # no load_data reader: the poses only
        _add_poses(only, pathlib.Path(path), pcutoff, source, trusted=trusted)
        return only
    with open_entries(path, trusted=trusted) as (file, reader, entries):
        default, reason = _default_key(entries, file)
        chosen = entries if key is None else [select_entry(entries, key, f"'{file}'")]
        info = {
            "path": str(file),
            "format": reader.name,
            "default_key": default,
            "default_reason": reason,
            "entries": [_describe(e, default, pcutoff, file) for e in chosen],
        }
    if key is None:
        source = detect_pose_source(file)
        # Any HDF5 file may be a DeepLabCut file (it is confirmed when read): only one whose
        # entries hold a DeepLabCut table looks like a pose file, so only its failures are news.
        guessed = source == "deeplabcut" and not any("deeplabcut" in e for e in info["entries"])
        _add_poses(info, file, pcutoff, source, report_errors=not guessed, trusted=trusted)
    return info


def _inspect_nwb(source: Union[str, pathlib.Path], key: Optional[Union[str, int]], trusted: bool,
                 pcutoff: float) -> dict[str, Any]:
    """``inspect_file`` of an NWB file or URL, opened once (twice only for ndx-pose poses).

    The entries are the time series; the units table and the interval tables are described
    under ``units`` and ``intervals`` with the arguments that read them (``usage``).
    """
    with open_nwb(source, trusted=trusted) as nwb:
        entries = nwb.entries(trusted)
        series = [e for e in entries if e.name in nwb.series]
        where = source if is_url(source) else pathlib.Path(source)
        default, reason = _default_key(series, where)
        chosen = series if key is None else [select_entry(entries, key, nwb.where)]
        info: dict[str, Any] = {
            "path": str(source),
            "format": "nwb",
            "default_key": default,
            "default_reason": reason,
            "entries": [_describe(e, default, pcutoff, where) for e in chosen],
        }
        summary = summarize(nwb, trusted)
        poses = _has_poses(nwb)
    for entry in info["entries"]:
        clock = summary["series"].get(entry["name"], {})
        for field in ("neurodata_type", "clock", "rate", "start_time", "stop_time"):
            if field in clock:
                entry[field] = clock[field]
    info["units"] = summary["units"]
    info["intervals"] = summary["intervals"]
    if key is None and poses:
        _add_poses(info, source, pcutoff, "nwb", trusted=trusted)
    return info


def _has_poses(nwb: OpenNwbFile) -> bool:
    objects = nwb.nwbfile.objects.values() if nwb.nwbfile is not None else ()
    return any(getattr(obj, "neurodata_type", None) == "PoseEstimation" for obj in objects)


def _add_poses(info: dict[str, Any], file: Union[str, pathlib.Path], pcutoff: float,
               source: Optional[str], *, report_errors: bool = True,
               trusted: bool = False) -> None:
    """Add ``poses`` (see :func:`~cebra_data.io.poses.pose_summary`) for a pose file.

    With ``report_errors=False`` (a file that only might hold poses, e.g. any HDF5 file), a
    failure to read poses adds nothing: the entries already say what is wrong with the file.
    """
    if source is None:
        return
    try:
        info["poses"] = pose_summary(file, pcutoff, source=source, trusted=trusted)
    except NotPoseFileError:
        return  # an HDF5 or csv file without poses
    except Exception as exc:  # e.g. the extra 'poses' is missing: say so, keep the rest
        if report_errors:
            info["poses"] = {"source": source, "error": f"{type(exc).__name__}: {exc}"}


def _default_key(entries: list[Entry], path: Union[str, pathlib.Path]) -> tuple[Optional[str], Optional[str]]:
    """The entry ``load_data`` takes without a key, or ``None`` and the error it raises."""
    try:
        return default_entry(entries, path).name, None
    except Exception as exc:  # reported, not raised: inspect describes every entry
        return None, f"{type(exc).__name__}: {exc}"
