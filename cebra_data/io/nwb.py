"""Neurodata Without Borders (``.nwb``) files: time series, their clocks, and binned spikes.

Every ``TimeSeries`` of the file (of any type: ``SpatialSeries``, ``RoiResponseSeries``,
``ElectricalSeries``, extension types such as ndx-pose's ``PoseEstimationSeries`` ...) is one
entry of :func:`~cebra_data.io.load_data`, named by its object path in the file, e.g.
``"processing/behavior/Position/pos"`` or ``"acquisition/lfp"``; entries are sorted by name.
An entry's value is the series' ``data`` as stored (time first, no ``conversion``/``offset``
applied). The clock of a series comes from :func:`read_timeseries`; the units table (sorted
spikes) from :func:`spike_counts`.

Files are read through `pynwb <https://pynwb.readthedocs.io>`_ (the optional extra ``nwb``:
``pip install "cebra_data[nwb]"``). Without pynwb, plain time series are still read with h5py
(any group with a ``data`` dataset and ``timestamps`` or ``starting_time``);
:func:`spike_counts` then raises :class:`~cebra_data.errors.MissingDependencyError` naming the
extra. Reading never runs code stored in the file; data stored in *another* file (HDF5 external
links) is read only with ``trusted=True``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import math
import numbers
import pathlib
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Optional, Union

import h5py
import numpy as np

from cebra_data.errors import (
    CebraDataError,
    CorruptFileError,
    EmptyFileError,
    MissingColumnError,
    MissingDependencyError,
    MissingKeyError,
    NonNumericDataError,
    UnsafeFileError,
)
from cebra_data.io.hdf5 import hdf5_signature_offset
from cebra_data.io.nwb_intervals import IntervalTable, is_interval_group, read_interval_table
from cebra_data.io.reader import HEAD_SIZE, Entry, Reader, is_numeric_dtype, listing
from cebra_data.io.registry import check_file, find_reader, register_reader
from cebra_data.io.remote import is_url, open_url

__all__ = [
    "NAMESPACE_WARNING",
    "NWB_EXTRA",
    "NwbReader",
    "OpenNwbFile",
    "MAX_BINS",
    "RATE_WARNING",
    "SeriesInfo",
    "UnitsTable",
    "nwb_summary",
    "open_nwb",
    "read_timeseries",
    "spike_counts",
]

#: How to install the optional dependency, quoted in error messages.
NWB_EXTRA = 'pip install "cebra_data[nwb]"  (or: pip install pynwb)'


def _pynwb() -> Any:
    """The pynwb module, or ``None`` when it is not installed."""
    try:
        return importlib.import_module("pynwb")
    except ImportError:
        return None


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclasses.dataclass
class SeriesInfo:
    """One time series of an NWB file, read lazily.

    Attributes:
        name: Object path in the file (``"processing/behavior/Position/pos"``).
        neurodata_type: The series' type (``"SpatialSeries"``, ``"TimeSeries"`` ...).
        shape: Shape of ``data`` (time first).
        dtype: dtype of ``data``.
        rate: Sampling rate in Hz when the series stores ``starting_time`` and ``rate``,
            else ``None`` (the series stores ``timestamps``).
        starting_time: Time of the first sample with a rate, else ``None``.
        external: Whether ``data`` or ``timestamps`` is stored in another file.
    """

    name: str
    neurodata_type: str
    shape: tuple[int, ...]
    dtype: np.dtype
    rate: Optional[float]
    starting_time: Optional[float]
    external: bool
    data: Any = dataclasses.field(repr=False)
    stored_timestamps: Any = dataclasses.field(repr=False)
    #: The file or URL, quoted, for messages.
    where: str = "the file"

    def read_data(self, trusted: bool) -> np.ndarray:
        """The stored data (time first)."""
        self._check_local(trusted)
        with _library_errors(self.where, f"the data of series {self.name!r} of"):
            return np.asarray(self.data[()])

    def timestamps(self, trusted: bool) -> np.ndarray:
        """Float64 ``(n,)`` sample times: stored, or ``starting_time + arange(n) / rate``.

        Every clock obeys one rule: its times are finite and strictly increasing.

        Raises:
            CorruptFileError: no clock, a non-positive or non-finite rate, timestamps whose
                number differs from the number of samples, timestamps that are not numbers,
                or timestamps that are NaN, infinite, repeated or decreasing (the message
                names the file, the series and the first bad index).
        """
        self._check_local(trusted)
        n = self.shape[0] if self.shape else 0
        series = f"Series {self.name!r} of {self.where}"
        if self.stored_timestamps is not None:
            with _library_errors(self.where, f"the timestamps of series {self.name!r} of"):
                stored = np.asarray(self.stored_timestamps[()])
            if stored.dtype.kind not in "iuf":
                raise CorruptFileError(
                    f"{series} has timestamps of dtype {stored.dtype}, not numbers (seconds)."
                )
            if stored.ndim != 1:
                raise CorruptFileError(
                    f"{series} has timestamps of shape {stored.shape}; one time per sample "
                    "(a 1-D array) is needed."
                )
            times = stored.astype(np.float64)
            if times.size != n:
                raise CorruptFileError(f"{series} has {n} samples but {times.size} timestamps.")
            _check_clock(times, series)
            return times
        if self.rate is None or self.starting_time is None:
            raise CorruptFileError(f"{series} has neither timestamps nor a rate.")
        if not (math.isfinite(self.rate) and self.rate > 0 and math.isfinite(self.starting_time)):
            raise CorruptFileError(
                f"{series} has rate={self.rate!r} and starting_time="
                f"{self.starting_time!r}; a positive finite rate is needed."
            )
        return self.starting_time + np.arange(n, dtype=np.float64) / self.rate

    def _check_local(self, trusted: bool) -> None:
        if self.external and not trusted:
            raise UnsafeFileError(
                f"Series {self.name!r} of {self.where} stores its data in another file (an HDF5 "
                "external link); it is read only with trusted=True."
            )


def _check_clock(times: np.ndarray, series: str) -> None:
    """Refuse timestamps that are not finite and strictly increasing (the rule of every clock).

    Raises:
        CorruptFileError: names ``series`` and the first bad index.
    """
    finite = np.isfinite(times)
    if not finite.all():
        first = int(np.flatnonzero(~finite)[0])
        raise CorruptFileError(
            f"{series} has {int((~finite).sum())} timestamps that are NaN or infinite (the "
            f"first at index {first}: {float(times[first])!r}); timestamps must be finite and strictly "
            "increasing. Nothing is dropped or sorted silently: repair the file's clock."
        )
    steps = np.diff(times)
    if (steps <= 0).any():
        first = int(np.flatnonzero(steps <= 0)[0]) + 1
        kind = "repeats" if steps[first - 1] == 0 else "goes back from"
        raise CorruptFileError(
            f"{series} has timestamps that do not strictly increase: timestamps[{first}] = "
            f"{times[first]:g} s {kind} timestamps[{first - 1}] = {times[first - 1]:g} s. "
            "Timestamps must be finite and strictly increasing; nothing is sorted or dropped "
            "silently: repair the file's clock."
        )


@dataclasses.dataclass
class UnitsTable:
    """The units table of an NWB file, read into memory.

    Attributes:
        ids: ``(U,)`` unit ids, in table order.
        spike_times: One float64 array of spike times per unit.
        columns: The table's other columns (name to one value per unit); ragged columns
            (waveforms, observation intervals) are left out.
    """

    ids: np.ndarray
    spike_times: list[np.ndarray]
    columns: dict[str, np.ndarray]


# ----------------------------------------------------------------------------- opening


def _is_external(dataset: Any, root: h5py.File) -> bool:
    """Whether ``dataset`` lives in another file than ``root`` (reached by an external link)."""
    try:
        return dataset.file.id != root.id
    except (AttributeError, OSError, ValueError):
        return False


def _scalar(value: Any) -> Optional[float]:
    if value is None:
        return None
    return float(np.asarray(value[()] if hasattr(value, "shape") else value).reshape(-1)[0])


def _series_from_group(name: str, group: Any, root: h5py.File, where: str) -> SeriesInfo:
    data = group["data"]
    timestamps = group.get("timestamps")
    starting = group.get("starting_time")
    rate = None if starting is None else float(starting.attrs.get("rate", np.nan))
    kind = group.attrs.get("neurodata_type", "TimeSeries")
    kind = kind.decode() if isinstance(kind, bytes) else str(kind)
    external = _is_external(data, root) or (timestamps is not None and _is_external(timestamps, root))
    return SeriesInfo(name, kind, tuple(int(s) for s in data.shape), data.dtype, rate,
                      _scalar(starting), external, data, timestamps, where)


def _walk_h5(group: Any, root: h5py.File, trusted: bool, series: Optional[dict[str, SeriesInfo]],
             intervals: dict[str, h5py.Group], where: str = "the file") -> None:
    """Collect the interval tables (and, when ``series`` is a dict, the time series) below ``group``."""
    for member in group:
        link = group.get(member, getlink=True)
        if isinstance(link, h5py.ExternalLink) and not trusted:
            continue  # into another file: not followed for untrusted files
        node = group.get(member)
        if not isinstance(node, h5py.Group) or member == "specifications":
            continue
        name = node.name.lstrip("/")
        data = node.get("data")
        if is_interval_group(node):
            intervals[name] = node
        elif series is not None and isinstance(data, h5py.Dataset) \
                and ("timestamps" in node or "starting_time" in node):
            series[name] = _series_from_group(name, node, root, where)
        else:
            _walk_h5(node, root, trusted, series, intervals, where)


def _series_from_pynwb(obj: Any, root: h5py.File, where: str) -> Optional[SeriesInfo]:
    data = obj.data
    if not isinstance(data, h5py.Dataset):
        return None  # e.g. an ImageSeries whose frames are in external files
    timestamps = obj.timestamps
    if timestamps is not None and not hasattr(timestamps, "shape"):
        timestamps = np.asarray(timestamps)
    name = data.parent.name.lstrip("/")
    external = _is_external(data, root) or (
        isinstance(timestamps, h5py.Dataset) and _is_external(timestamps, root))
    rate = None if obj.rate is None else float(obj.rate)
    starting = None if obj.starting_time is None else float(obj.starting_time)
    return SeriesInfo(name, obj.neurodata_type, tuple(int(s) for s in data.shape), data.dtype,
                      rate, starting, external, data, timestamps, where)


def _units_from_pynwb(units: Any, where: str) -> UnitsTable:
    ids = np.asarray(units.id[:])
    if "spike_times" not in units.colnames:
        raise MissingColumnError(f"The units table of {where} has no spike_times column.")
    ragged = units["spike_times"]
    flat = np.asarray(ragged.target.data[:], dtype=np.float64)
    ends = np.asarray(ragged.data[:], dtype=np.int64)
    starts = np.concatenate([[0], ends[:-1]])
    spikes = [flat[a:b] for a, b in zip(starts, ends)]
    bad = [(int(unit), int(np.count_nonzero(~np.isfinite(times))))
           for unit, times in zip(ids, spikes) if not np.isfinite(times).all()]
    if bad:
        raise CorruptFileError(
            f"The units table of {where} has spike times that are NaN or infinite: "
            + ", ".join(f"unit {unit} ({count})" for unit, count in bad[:10])
            + (f" and {len(bad) - 10} more units" if len(bad) > 10 else "")
            + ". Spike times must be finite; none are dropped silently. Repair the file, or "
            "select other units with units=[...] (spike_counts) or a units column."
        )
    columns = {}
    for column in units.colnames:
        if column == "spike_times":
            continue
        vector = units[column]
        if type(vector).__name__ == "VectorIndex":
            continue
        values = np.asarray(vector.data[:])
        if values.ndim == 1 and len(values) == len(ids):
            columns[column] = np.array([v.decode() if isinstance(v, bytes) else v for v in values])
    return UnitsTable(ids, spikes, columns)


#: The start of hdmf's warning for a file whose cached namespaces (schema versions) differ from
#: the installed ones ("Ignoring the following cached namespace(s) because another version is
#: already loaded"). Reading works either way and the user cannot act on it, so it is silenced
#: where cebra_data opens NWB files, and only there.
NAMESPACE_WARNING = "Ignoring the following cached namespace"


#: The start of pynwb's warning for a series whose stored rate is negative. cebra_data reports
#: a rate that is not positive itself, as a :class:`~cebra_data.errors.CorruptFileError` naming
#: the file and the series when the series' clock is used, so the library's warning (which names
#: neither) is silenced where cebra_data opens NWB files.
RATE_WARNING = "Rate must not be a negative value"


@contextlib.contextmanager
def _quiet_namespaces() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=NAMESPACE_WARNING, category=UserWarning)
        warnings.filterwarnings("ignore", message=RATE_WARNING, category=UserWarning)
        yield


def _check_nwb(handle: h5py.File, where: str) -> None:
    if "nwb_version" not in handle.attrs:
        raise CorruptFileError(
            f"{where} is an HDF5 file but not an NWB file: its root has no 'nwb_version' "
            "attribute. Read a plain HDF5 file with load_data under a .h5 name, or check "
            "that this is the file you meant."
        )


class OpenNwbFile:
    """An NWB file (local or by URL) opened once: its series, units table and interval tables.

    Made by :func:`open_nwb`; valid inside its ``with`` block. Every reading call of this
    module is one :func:`open_nwb` and calls of these methods, so a file is opened (and its
    metadata read) once per call.

    Attributes:
        where: The file or URL, quoted, for messages.
        handle: The open ``h5py.File``.
        nwbfile: pynwb's ``NWBFile``, or ``None`` when pynwb is not installed.
        series: Time series by object path, sorted by name.
        intervals: Interval tables (h5py groups) by object path, sorted by name.
    """

    def __init__(self, where: str, handle: h5py.File, nwbfile: Any,
                 series: dict[str, SeriesInfo], intervals: dict[str, h5py.Group],
                 library_error: Optional[str] = None) -> None:
        self.where = where
        self.handle = handle
        self.nwbfile = nwbfile
        self.series = dict(sorted(series.items()))
        self.intervals = dict(sorted(intervals.items()))
        #: Why pynwb could not read the file, when one of its objects is malformed (the file
        #: is then read with h5py alone, and the units table, which needs pynwb, is refused).
        self.library_error = library_error

    @property
    def has_units(self) -> bool:
        """Whether the file has a units table."""
        if self.nwbfile is not None:
            return self.nwbfile.units is not None
        return isinstance(self.handle.get("units"), h5py.Group)

    def units(self) -> UnitsTable:
        """The units table (spike times per unit).

        Raises:
            MissingDependencyError: pynwb is not installed.
            MissingKeyError: no units table.
            CorruptFileError: NaN or infinite spike times (see :func:`spike_counts`), or a
                file pynwb cannot read (a malformed object; :attr:`library_error`).
        """
        if self.nwbfile is None and self.library_error is not None:
            raise CorruptFileError(
                f"The units table of {self.where} cannot be read: pynwb, which reads it, "
                f"refuses the file ({self.library_error})."
            )
        if self.nwbfile is None:
            raise MissingDependencyError(
                f"Reading the units table of {self.where} needs pynwb, the optional extra 'nwb': "
                f"{NWB_EXTRA}"
            )
        if self.nwbfile.units is None:
            raise MissingKeyError(f"{self.where} has no units table (no sorted spikes).")
        with _library_errors(self.where, "the units table of"):
            return _units_from_pynwb(self.nwbfile.units, self.where)

    def info(self, key: Any) -> SeriesInfo:
        """The series named ``key`` (a leading ``/`` is ignored).

        Raises:
            TypeError: ``key`` is not a string.
            MissingKeyError: no such series; says how to read the units table or an
                interval table when ``key`` names one, and lists the series.
        """
        if not isinstance(key, str):
            raise TypeError(f"key should be the object path of a time series (a str), but got {key!r}.")
        wanted = key.strip("/")
        if wanted in self.series:
            return self.series[wanted]
        hint = self.hint(wanted)
        if not hint:
            below = [n for n in self.series if n.startswith(wanted + "/")]
            hint = f"{wanted!r} is a group; its series are: {listing(below)}." if below else ""
        raise MissingKeyError(
            f"No time series {key!r} in {self.where}. {hint + ' ' if hint else ''}"
            f"Its time series are: {listing(list(self.series))}."
        )

    def hint(self, name: str) -> str:
        """How to read ``name`` when it is the units table or an interval table, else ``""``."""
        if name == "units" and self.has_units:
            return ("'units' is the units table (the spike times of each unit), not a series: "
                    "bin it with cebra_data.io.nwb.spike_counts(path, bin_size) or build a dataset "
                    "with TensorDataset.from_nwb(path, neural='units', bin_size=...).")
        if name in self.intervals:
            columns = [c for c in map(_text, np.atleast_1d(self.intervals[name].attrs.get(
                "colnames", []))) if c not in ("start_time", "stop_time")]
            return (f"{name!r} is an interval table (start and stop times; columns "
                    f"{listing(columns) if columns else 'none'}), not a series: pass "
                    f"trials={name!r} to TensorDataset.from_nwb to keep the rows inside its "
                    f"intervals as trials, or discrete='{name}/<column>' to label them.")
        return ""

    def timeseries(self, key: Any, trusted: bool) -> tuple[np.ndarray, np.ndarray]:
        """``(data, timestamps)`` of one series: see :func:`read_timeseries`."""
        info = self.info(key)
        return info.read_data(trusted), info.timestamps(trusted)

    def interval_table(self, name: Any) -> IntervalTable:
        """The interval table at object path ``name``.

        Raises:
            TypeError: ``name`` is not a string.
            MissingKeyError: no such table (lists the file's interval tables).
            CorruptFileError: unreadable times (see
                :func:`~cebra_data.io.nwb_intervals.read_interval_table`).
        """
        if not isinstance(name, str):
            raise TypeError(f"An interval table is named by its object path (a str, e.g. "
                            f"'intervals/trials'), but got {name!r}.")
        wanted = name.strip("/")
        if wanted not in self.intervals:
            raise MissingKeyError(
                f"No interval table {name!r} in {self.where}. Its interval tables are: "
                f"{listing(list(self.intervals)) if self.intervals else 'none'}."
            )
        with _library_errors(self.where, f"the interval table {wanted!r} of"):
            return read_interval_table(self.intervals[wanted], self.where)

    def entries(self, trusted: bool) -> list[Entry]:
        """One :class:`Entry` per series, then the units table and the interval tables.

        The units and interval entries are not arrays: reading one raises
        :class:`~cebra_data.errors.NonNumericDataError` saying how to use it.
        """
        entries = [
            Entry(info.name, lambda info=info: info.read_data(trusted), shape=info.shape,
                  dtype=str(info.dtype), numeric=is_numeric_dtype(info.dtype))
            for info in self.series.values()
        ]
        others = (["units"] if self.has_units else []) + list(self.intervals)
        for name in others:
            entries.append(Entry(name, lambda name=name: self._refuse(name), dtype="table",
                                 numeric=False))
        return entries

    def _refuse(self, name: str) -> Any:
        raise NonNumericDataError(f"Entry {name!r} of {self.where}: {self.hint(name)}")


def _construct_error(exc: BaseException) -> Optional[str]:
    """Where and why pynwb could not build one object below the root, else ``None``.

    hdmf raises a ``ConstructError`` (with the builder of the object) when one group of an
    otherwise readable file is malformed, e.g. an interval table whose columns differ in
    length. Any other failure (the root itself, or another exception) gives ``None``.
    """
    try:
        from hdmf.build.errors import ConstructError
    except ImportError:  # pragma: no cover - hdmf comes with pynwb
        return None
    if not isinstance(exc, ConstructError) or not exc.args:
        return None
    path = getattr(exc.args[0], "path", None)
    if not isinstance(path, str) or path in ("", "root"):
        return None
    name = path[len("root/"):] if path.startswith("root/") else path
    cause = exc.__cause__
    reason = f"{type(cause).__name__}: {_short(cause)}" if cause is not None else _short(exc)
    return f"pynwb could not build {name!r}: {reason}"


def _short(exc: Any, limit: int = 200) -> str:
    """An exception's message on one line, cut to ``limit`` characters."""
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


@contextlib.contextmanager
def _read(handle: h5py.File, where: str, trusted: bool) -> Iterator[OpenNwbFile]:
    _check_nwb(handle, where)
    intervals: dict[str, h5py.Group] = {}
    pynwb = _pynwb()
    if pynwb is None:
        series: dict[str, SeriesInfo] = {}
        _walk_h5(handle, handle, trusted, series, intervals, where)
        yield OpenNwbFile(where, handle, None, series, intervals)
        return
    problem = None
    with _quiet_namespaces():
        io = pynwb.NWBHDF5IO(file=handle, mode="r", load_namespaces=True)
        try:
            nwbfile = io.read()
        except Exception as exc:
            problem = _construct_error(exc)
            if problem is None:
                io.close()
                raise
    if problem is not None:
        # One malformed object (e.g. an interval table): read the rest with h5py, and let
        # each object report its own problem where it is used. (Closing ``io`` closes the
        # h5py file too, so it stays open until the caller is done.)
        try:
            series = {}
            _walk_h5(handle, handle, trusted, series, intervals, where)
            yield OpenNwbFile(where, handle, None, series, intervals, library_error=problem)
        finally:
            io.close()
        return
    try:
        series = {}
        for obj in nwbfile.objects.values():
            if isinstance(obj, pynwb.TimeSeries):
                info = _series_from_pynwb(obj, handle, where)
                if info is not None and (trusted or not info.external):
                    series[info.name] = info
        _walk_h5(handle, handle, trusted, None, intervals, where)
        yield OpenNwbFile(where, handle, nwbfile, series, intervals)
    finally:
        io.close()


@contextlib.contextmanager
def open_nwb(source: Union[str, pathlib.Path], *, trusted: bool = False) -> Iterator[OpenNwbFile]:
    """Open an NWB file, a path or an ``http(s)://`` URL, once, read-only.

    A URL is read lazily by byte ranges (:func:`cebra_data.io.remote.open_url`: the extra
    ``remote``); a path is checked as :func:`~cebra_data.io.load_data` checks it. hdmf's
    warning about cached schema versions (:data:`NAMESPACE_WARNING`) is silenced.

    Args:
        source: The file's path, or its URL.
        trusted: Also read series whose data is stored in another file (external links).

    Yields:
        An :class:`OpenNwbFile`.

    Raises:
        CorruptFileError: not an HDF5 file, an HDF5 file that is not NWB (no
            ``nwb_version``), or one the libraries cannot read (their error is the cause).
        DataFileNotFoundError, EmptyFileError, UnsupportedFileFormatError: a bad path.
        RemoteFileError (and its subclasses), UnsupportedURLError, MissingDependencyError:
            a bad URL, an unreachable server, or the extra ``remote`` missing.

    Example:
        >>> import datetime, numpy as np, pynwb
        >>> from cebra_data.io.nwb import open_nwb
        >>> nwb = pynwb.NWBFile(session_description="demo", identifier="demo",
        ...     session_start_time=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc))
        >>> nwb.add_trial(start_time=0.0, stop_time=1.0)
        >>> nwb.add_acquisition(pynwb.TimeSeries(name="speed", data=np.zeros(20), unit="m/s", rate=10.0))
        >>> with pynwb.NWBHDF5IO(tmp_path / "open.nwb", "w") as io:
        ...     io.write(nwb)
        >>> with open_nwb(tmp_path / "open.nwb") as file:
        ...     list(file.series), list(file.intervals), len(file.interval_table("intervals/trials"))
        (['acquisition/speed'], ['intervals/trials'], 1)
    """
    if not isinstance(trusted, bool):
        raise TypeError(f"trusted should be True or False, but got trusted={trusted!r}.")
    if is_url(source):
        with open_url(source) as remote:
            where = f"'{source}'"
            head = remote.read(HEAD_SIZE)
            if hdf5_signature_offset(head) < 0:
                raise CorruptFileError(
                    f"{where} is not an NWB file: its first bytes {head[:12]!r} are not HDF5's "
                    "signature. Files are read by URL for NWB (HDF5) files only."
                )
            remote.seek(0)
            with _opened(remote, where, trusted) as nwb:
                yield nwb
        return
    path = check_file(source)
    if not isinstance(find_reader(path), NwbReader):
        raise CorruptFileError(f"'{path}' is not an NWB file (its suffix should be .nwb).")
    with _opened(path, f"'{path}'", trusted) as nwb:
        yield nwb


@contextlib.contextmanager
def _opened(file: Any, where: str, trusted: bool) -> Iterator[OpenNwbFile]:
    """Open ``file`` with h5py and pynwb; only errors of this opening are the libraries'.

    The caller's ``with`` block runs outside :func:`_library_errors`: its own errors (argument
    checks, a ``MemoryError``) reach the caller as they are, never as a corrupt file. Library
    reads made later through :class:`OpenNwbFile` are wrapped where they are made.
    """
    with contextlib.ExitStack() as stack:
        with _library_errors(where):
            handle = stack.enter_context(h5py.File(file, "r"))
            nwb = stack.enter_context(_read(handle, where, trusted))
        yield nwb


@contextlib.contextmanager
def _library_errors(where: str, what: str = "") -> Iterator[None]:
    """Errors of h5py, pynwb and hdmf raised in this block become :class:`CorruptFileError`.

    Only library calls are made inside (opening the file, reading a dataset or a table), so
    every exception but cebra_data's own comes from the libraries, whatever its type: hdmf and h5py raise ``ValueError``, ``TypeError``,
    ``KeyError`` and ``OSError`` for malformed files. The message names ``what`` of the file
    (e.g. ``"the units table of"``) and the library's error, cut to one short line; the
    library's exception is the ``__cause__``.
    """
    try:
        yield
    except CebraDataError:
        raise
    except MemoryError as exc:
        # only library reads run here: the file declared an object larger than memory, which
        # a corrupted size field does too (the caller's own allocations run outside)
        raise CorruptFileError(
            f"Reading {what + ' ' if what else ''}{where} asked for more memory than this "
            "machine has: a size field in the file is corrupted, or the object really is that "
            "large (read a part of it, or use a machine with more memory)."
        ) from exc
    except Exception as exc:
        target = f"{what} {where}" if what else f"{where} as an NWB file"
        raise CorruptFileError(
            f"Could not read {target}; it looks corrupted, truncated or not written by an NWB "
            f"library ({type(exc).__name__}: {_short(exc)})."
        ) from exc


# ----------------------------------------------------------------------------- reader


class NwbReader(Reader):
    """NWB files: one entry per time series, named by its object path (see the module).

    The units table (``"units"``) and the interval tables (``"intervals/trials"`` ...) are
    entries too, but not arrays: loading one says how to use it. URLs are read as well
    (:attr:`reads_urls`).
    """

    name = "nwb"
    suffixes = (".nwb",)
    description = "NWB (HDF5)"
    reads_urls = True

    def can_read(self, head: bytes) -> bool:
        """NWB 2 files are HDF5 files: the HDF5 signature at 0 or after a user block."""
        return hdf5_signature_offset(head) >= 0

    @contextlib.contextmanager
    def entries(self, path: Union[str, pathlib.Path], *, trusted: bool) -> Iterator[list[Entry]]:
        """Open the file read-only and yield its entries: the series sorted by name, then the tables."""
        with open_nwb(path, trusted=trusted) as nwb:
            yield nwb.entries(trusted)


register_reader(NwbReader())


# ----------------------------------------------------------------------------- public API


def read_timeseries(
    path: Union[str, pathlib.Path], key: str, *, trusted: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """The data of one time series and the time of each of its samples.

    Args:
        path: An ``.nwb`` file.
        key: The series' object path, e.g. ``"processing/behavior/Position/pos"`` (a leading
            ``/`` is ignored; :func:`~cebra_data.io.inspect_file` lists them).
        trusted: Also read series whose data is stored in another file.

    Returns:
        ``(data, timestamps)``: the stored data, time first (no ``conversion`` or ``offset``
        applied), and float64 ``(n,)`` times in seconds: the stored ``timestamps``, or
        ``starting_time + arange(n) / rate``.

    Raises:
        MissingKeyError: no series ``key`` (lists the file's series).
        CorruptFileError: an unreadable file, or a series without a valid clock.
        UnsafeFileError: the data is in another file and ``trusted`` is False.
        DataFileNotFoundError, EmptyFileError, UnsupportedFileFormatError: as in
            :func:`~cebra_data.io.load_data`.

    Example:
        >>> import datetime, numpy as np, pynwb
        >>> from pynwb.behavior import Position, SpatialSeries
        >>> from cebra_data.io.nwb import read_timeseries
        >>> nwb = pynwb.NWBFile(session_description="demo", identifier="demo",
        ...     session_start_time=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc))
        >>> behavior = nwb.create_processing_module("behavior", "position of the animal")
        >>> _ = behavior.add(Position(spatial_series=SpatialSeries(name="pos", data=np.zeros((60, 2)),
        ...     reference_frame="arena corner", rate=30.0, starting_time=0.5)))
        >>> with pynwb.NWBHDF5IO(tmp_path / "session.nwb", "w") as io:
        ...     io.write(nwb)
        >>> data, times = read_timeseries(tmp_path / "session.nwb", "processing/behavior/Position/pos")
        >>> data.shape, times[:3]
        ((60, 2), array([0.5       , 0.53333333, 0.56666667]))
    """
    with open_nwb(path, trusted=trusted) as nwb:
        return nwb.timeseries(key, trusted)


def _select_units(table: UnitsTable, units: Any, where: str) -> np.ndarray:
    """Row positions of the selected units, in the order asked (ids) or table order (columns)."""
    if units is None:
        return np.arange(len(table.ids))
    if isinstance(units, Mapping):
        keep = np.ones(len(table.ids), dtype=bool)
        for column, wanted in units.items():
            if column not in table.columns:
                raise MissingColumnError(
                    f"The units table of {where} has no column {column!r}; its columns are "
                    f"{listing(list(table.columns))}."
                )
            values = wanted if isinstance(wanted, (list, tuple, set, np.ndarray)) else [wanted]
            keep &= np.isin(table.columns[column], list(values))
        if not keep.any():
            raise ValueError(f"No unit of {where} matches units={dict(units)!r}.")
        return np.flatnonzero(keep)
    if isinstance(units, (str, bytes)) or not isinstance(units, (Sequence, np.ndarray)):
        raise TypeError(
            "units should be None, a list of unit ids or a mapping {column: value(s)}, but got "
            f"{units!r}."
        )
    positions = []
    index = {int(i): p for p, i in enumerate(table.ids)}
    for unit in units:
        if isinstance(unit, bool) or not isinstance(unit, numbers.Integral) or int(unit) not in index:
            raise MissingKeyError(
                f"Unit id {unit!r} is not in the units table of {where}; its ids are "
                f"{listing([int(i) for i in table.ids])}."
            )
        positions.append(index[int(unit)])
    if not positions:
        raise ValueError("units is empty; pass None for every unit.")
    return np.asarray(positions)


def _check_time(value: Any, name: str) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} should be None or a finite time in seconds, but got {name}={value!r}.")
    return float(value)


def spike_counts(
    path: Union[str, pathlib.Path],
    bin_size: float,
    *,
    units: Union[None, Sequence[int], Mapping[str, Any]] = None,
    start: Optional[float] = None,
    stop: Optional[float] = None,
    trusted: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Spike counts of the units table in bins of ``bin_size`` seconds.

    The bins are ``n = ceil((stop - start) / bin_size)`` consecutive bins of width
    ``bin_size`` from ``start``: bin ``i`` is ``[start + i * bin_size, start + (i + 1) *
    bin_size)``, the last bin closed on the right (as :func:`numpy.histogram`), so its end
    ``start + n * bin_size`` may lie after ``stop``. Spikes outside the bins are not counted.
    When every spike has the same time (e.g. a single spike) and ``start``/``stop`` are not
    given, that is one bin starting at the spike.

    Args:
        path: An ``.nwb`` file with a units table.
        bin_size: Bin width in seconds (positive).
        units: ``None`` (default) for every unit in table order; a list of unit ids (the
            table's ``id`` column), in the order wanted; or a mapping from a column of the
            units table to the value (or list of values) to keep, e.g. ``{"quality": "good"}``
            (every condition must hold; table order).
        start: Start of the first bin; default: the earliest spike of the selected units.
        stop: End of the binned time; default: the latest spike of the selected units.
        trusted: As in :func:`read_timeseries`.

    Returns:
        ``(counts, bin_times)``: int64 counts ``(bins, units)`` and float64 ``(bins,)`` bin
        **centres** ``start + (i + 0.5) * bin_size`` (the time a bin's neural row stands for,
        used to align behaviour).

    Raises:
        MissingDependencyError: pynwb is not installed (names the extra ``nwb``).
        MissingKeyError: no units table, or an unknown unit id.
        MissingColumnError: an unknown column in ``units``.
        EmptyFileError: the selected units have no spikes to set a default ``start``/``stop``
            from (pass both to get zero counts).
        CorruptFileError: NaN or infinite spike times, or a units table the libraries cannot
            read.
        ValueError: a bad ``bin_size``, ``start``/``stop``, a binned time that ends before it
            starts (or ``start == stop`` passed), more than :data:`MAX_BINS` bins, or a
            selection matching no unit.

    Example:
        >>> import datetime, numpy as np, pynwb
        >>> from cebra_data.io.nwb import spike_counts
        >>> nwb = pynwb.NWBFile(session_description="demo", identifier="demo",
        ...     session_start_time=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc))
        >>> nwb.add_unit(spike_times=[0.01, 0.02, 0.25])
        >>> nwb.add_unit(spike_times=[0.15])
        >>> with pynwb.NWBHDF5IO(tmp_path / "units.nwb", "w") as io:
        ...     io.write(nwb)
        >>> counts, centres = spike_counts(tmp_path / "units.nwb", 0.1, start=0.0, stop=0.3)
        >>> counts.T
        array([[2, 0, 1],
               [0, 1, 0]])
        >>> centres
        array([0.05, 0.15, 0.25])
    """
    bin_size = check_bin_size(bin_size)
    start, stop = _check_time(start, "start"), _check_time(stop, "stop")
    with open_nwb(path, trusted=trusted) as nwb:
        table = nwb.units()
        where = nwb.where
    return bin_spikes(table, bin_size, units=units, start=start, stop=stop, where=where)


def check_bin_size(bin_size: Any) -> float:
    """``bin_size`` as a positive finite float.

    Raises:
        ValueError: anything else.
    """
    if isinstance(bin_size, bool) or not isinstance(bin_size, numbers.Real) \
            or not math.isfinite(bin_size) or bin_size <= 0:
        raise ValueError(f"bin_size should be a positive number of seconds, but got bin_size={bin_size!r}.")
    return float(bin_size)


#: The most bins :func:`spike_counts` (and ``from_nwb(neural="units")``) makes: 1 ms bins over
#: almost 28 hours. More is almost always a ``bin_size`` in the wrong unit (ms for s); it is
#: refused before anything is allocated.
MAX_BINS = 100_000_000


def bin_spikes(
    table: UnitsTable,
    bin_size: float,
    *,
    units: Union[None, Sequence[int], Mapping[str, Any]] = None,
    start: Optional[float] = None,
    stop: Optional[float] = None,
    where: str = "the file",
    caller: str = "spike_counts",
) -> tuple[np.ndarray, np.ndarray]:
    """The counts of :func:`spike_counts` from a units table already read (same arguments).

    ``caller`` (``"spike_counts"`` or ``"from_nwb"``) only changes what the errors advise:
    ``from_nwb`` takes no ``start``/``stop``.
    """
    bin_size = check_bin_size(bin_size)
    start, stop = _check_time(start, "start"), _check_time(stop, "stop")
    rows = _select_units(table, units, where)
    spikes = [table.spike_times[r] for r in rows]
    every = np.concatenate(spikes) if spikes else np.empty(0)
    selected = "selected units" if units is not None else "units"
    if (start is None or stop is None) and every.size == 0:
        advice = ("pass start= and stop= to bin them anyway (every count is then 0)"
                  if caller == "spike_counts" else
                  "there is nothing to bin: use a file with sorted spikes, or another neural "
                  "series (neural=<object path of a series>)")
        raise EmptyFileError(
            f"The {len(rows)} {selected} in the units table of {where} have no spikes, "
            f"so no time range to bin; {advice}."
        )
    origin_start = "start" if start is not None else f"the first spike of the {selected} of {where}"
    origin_stop = "stop" if stop is not None else f"the last spike of the {selected} of {where}"
    start = float(every.min()) if start is None else start
    stop = float(every.max()) if stop is None else stop
    if stop < start or (stop == start and (origin_start == "start" or origin_stop == "stop")):
        from_file = "spike" in origin_start + origin_stop
        raise ValueError(
            f"stop should be after start, but the binned time runs from {start:g} s "
            f"({origin_start}) to {stop:g} s ({origin_stop})."
            + (" Pass start= and stop= around the spikes." if from_file else "")
        )
    # every spike at one time (e.g. a single spike): one bin from it
    ratio = (stop - start) / bin_size
    if not ratio <= MAX_BINS:
        raise ValueError(
            f"bin_size={bin_size:g} s over the binned time of {where}, {start:g} .. {stop:g} s "
            f"({stop - start:g} s), makes {ratio:.3g} bins, more than the {MAX_BINS:,} allowed "
            "(cebra_data.io.nwb.MAX_BINS); bin_size is in seconds: pass a larger one."
        )
    n = max(1, math.ceil(ratio - 1e-9))
    if start + n * bin_size < stop:  # rounding: the last bin must reach stop
        n += 1
    edges = start + bin_size * np.arange(n + 1, dtype=np.float64)
    counts = np.stack([np.histogram(s, bins=edges)[0] for s in spikes], axis=1).astype(np.int64)
    return counts, edges[:-1] + bin_size / 2


def nwb_summary(path: Union[str, pathlib.Path], *, trusted: bool = False) -> dict[str, Any]:
    """What :func:`~cebra_data.io.inspect_file` reports about an NWB file's clocks, units and intervals.

    Args:
        path: An ``.nwb`` file, or its ``http(s)://`` URL.
        trusted: As in :func:`read_timeseries`.

    Returns:
        A JSON-serialisable dict (see :func:`summarize`).

    Example:
        >>> import datetime, numpy as np, pynwb
        >>> from cebra_data.io.nwb import nwb_summary
        >>> nwb = pynwb.NWBFile(session_description="demo", identifier="demo",
        ...     session_start_time=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc))
        >>> nwb.add_acquisition(pynwb.TimeSeries(name="speed", data=np.zeros(20), unit="m/s",
        ...                                      rate=10.0, starting_time=2.0))
        >>> with pynwb.NWBHDF5IO(tmp_path / "speed.nwb", "w") as io:
        ...     io.write(nwb)
        >>> nwb_summary(tmp_path / "speed.nwb")["series"]["acquisition/speed"]
        {'neurodata_type': 'TimeSeries', 'shape': [20], 'clock': 'rate', 'rate': 10.0, 'start_time': 2.0, 'stop_time': 3.9}
    """
    with open_nwb(path, trusted=trusted) as nwb:
        return summarize(nwb, trusted)


#: How to read the units table, quoted by :func:`summarize` and ``cebra-data inspect``.
UNITS_USAGE = ("spike_counts(path, bin_size) or TensorDataset.from_nwb(path, neural='units', "
               "bin_size=...)")


def summarize(nwb: OpenNwbFile, trusted: bool) -> dict[str, Any]:
    """The clocks, the units table and the interval tables of an open NWB file.

    Returns:
        A JSON-serialisable dict: ``series`` maps each series name to its
        ``neurodata_type``, ``shape``, ``rate`` (Hz; stored, or ``(n - 1) / duration`` of
        the timestamps), ``clock`` (``"rate"`` or ``"timestamps"``) and ``start_time`` /
        ``stop_time`` (first and last sample, seconds); ``units`` is ``None`` or a dict with
        ``count``, ``ids``, ``columns``, ``spikes``, ``start_time``/``stop_time`` (first
        and last spike) and ``usage`` (how to read it: :data:`UNITS_USAGE`), or ``{"error":
        ...}`` when it cannot be read (pynwb missing, NaN spike times); ``intervals`` maps each
        interval table's path to ``rows``, ``start_time``/``stop_time``, ``overlapping``,
        ``columns`` (name to ``"integer"``, ``"real"``, ``"boolean"``, ``"text"`` or
        ``"several values"``, or ``"unreadable: <reason>"``) and ``usage`` (the arguments of ``from_nwb`` that use it), or
        ``{"error": ...}``. A series that cannot be read has an ``error`` instead of its clock.
    """
    series: dict[str, Any] = {}
    for name, info in nwb.series.items():
        entry: dict[str, Any] = {"neurodata_type": info.neurodata_type,
                                 "shape": list(info.shape)}
        try:
            times = info.timestamps(trusted)
            entry["clock"] = "timestamps" if info.stored_timestamps is not None else "rate"
            if info.stored_timestamps is None:
                entry["rate"] = info.rate
            elif times.size > 1 and times[-1] > times[0]:
                entry["rate"] = float((times.size - 1) / (times[-1] - times[0]))
            else:
                entry["rate"] = None
            entry["start_time"] = float(times[0]) if times.size else None
            entry["stop_time"] = float(times[-1]) if times.size else None
        except Exception as exc:  # one bad series should not hide the others
            entry["error"] = f"{type(exc).__name__}: {exc}"
        series[name] = entry
    units: Optional[dict[str, Any]]
    try:
        table = nwb.units()
        every = np.concatenate(table.spike_times) if table.spike_times else np.empty(0)
        units = {
            "count": int(len(table.ids)),
            "ids": [int(i) for i in table.ids],
            "columns": list(table.columns),
            "spikes": int(every.size),
            "start_time": float(every.min()) if every.size else None,
            "stop_time": float(every.max()) if every.size else None,
            "usage": UNITS_USAGE,
        }
    except MissingKeyError:
        units = None
    except Exception as exc:
        units = {"error": f"{type(exc).__name__}: {exc}"}
    return {"series": series, "units": units,
            "intervals": {name: _interval_summary(nwb, name) for name in nwb.intervals}}


def _column_kind(values: np.ndarray) -> str:
    return {"b": "boolean", "i": "integer", "u": "integer", "f": "real"}.get(values.dtype.kind, "text")


def _interval_summary(nwb: OpenNwbFile, name: str) -> dict[str, Any]:
    try:
        table = nwb.interval_table(name)
    except Exception as exc:  # one bad table should not hide the rest
        return {"error": f"{type(exc).__name__}: {exc}"}
    order = np.argsort(table.start, kind="stable")
    overlapping = bool(np.any(table.start[order][1:] < np.maximum.accumulate(table.stop[order])[:-1]))
    columns = {c: _column_kind(v) for c, v in table.columns.items()}
    columns.update({c: "several values" for c in table.other_columns})
    columns.update({c: f"unreadable: {reason}" for c, reason in table.broken.items()})
    usable = [c for c in table.columns if table.columns[c].dtype.kind != "f"
              or np.array_equal(table.columns[c], np.round(table.columns[c]))]
    usage = (f"trials={name!r}" + (f", discrete='{name}/<column>' with <column> one of "
                                   f"{', '.join(usable)}" if usable else ""))
    return {
        "rows": len(table),
        "start_time": float(table.start.min()) if len(table) else None,
        "stop_time": float(table.stop.max()) if len(table) else None,
        "overlapping": overlapping,
        "columns": columns,
        "usage": usage if not overlapping else
        "overlapping intervals: not usable as trials or labels (they must be disjoint)",
    }
