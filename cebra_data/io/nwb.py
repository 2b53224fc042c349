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
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Optional, Union

import h5py
import numpy as np

from cebra_data.errors import (
    CorruptFileError,
    MissingColumnError,
    MissingDependencyError,
    MissingKeyError,
    UnsafeFileError,
)
from cebra_data.io.hdf5 import hdf5_signature_offset
from cebra_data.io.reader import Entry, Reader, is_numeric_dtype, listing
from cebra_data.io.registry import check_file, find_reader, register_reader

__all__ = [
    "NWB_EXTRA",
    "NwbReader",
    "SeriesInfo",
    "UnitsTable",
    "nwb_summary",
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

    def read_data(self, trusted: bool) -> np.ndarray:
        """The stored data (time first)."""
        self._check_local(trusted)
        return np.asarray(self.data[()])

    def timestamps(self, trusted: bool) -> np.ndarray:
        """Float64 ``(n,)`` sample times: stored, or ``starting_time + arange(n) / rate``.

        Raises:
            CorruptFileError: no clock, a non-positive or non-finite rate, or timestamps
                whose number differs from the number of samples.
        """
        self._check_local(trusted)
        n = self.shape[0] if self.shape else 0
        if self.stored_timestamps is not None:
            times = np.asarray(self.stored_timestamps[()], dtype=np.float64).reshape(-1)
            if times.size != n:
                raise CorruptFileError(
                    f"Series {self.name!r} has {n} samples but {times.size} timestamps."
                )
            return times
        if self.rate is None or self.starting_time is None:
            raise CorruptFileError(f"Series {self.name!r} has neither timestamps nor a rate.")
        if not (math.isfinite(self.rate) and self.rate > 0 and math.isfinite(self.starting_time)):
            raise CorruptFileError(
                f"Series {self.name!r} has rate={self.rate!r} and starting_time="
                f"{self.starting_time!r}; a positive finite rate is needed."
            )
        return self.starting_time + np.arange(n, dtype=np.float64) / self.rate

    def _check_local(self, trusted: bool) -> None:
        if self.external and not trusted:
            raise UnsafeFileError(
                f"Series {self.name!r} stores its data in another file (an HDF5 external "
                "link); it is read only with trusted=True."
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


def _is_external(dataset: Any, path: pathlib.Path) -> bool:
    try:
        return pathlib.Path(dataset.file.filename).resolve() != path.resolve()
    except (AttributeError, OSError, ValueError):
        return False


def _scalar(value: Any) -> Optional[float]:
    if value is None:
        return None
    return float(np.asarray(value[()] if hasattr(value, "shape") else value).reshape(-1)[0])


def _series_from_group(name: str, group: Any, path: pathlib.Path) -> SeriesInfo:
    data = group["data"]
    timestamps = group.get("timestamps")
    starting = group.get("starting_time")
    rate = None if starting is None else float(starting.attrs.get("rate", np.nan))
    kind = group.attrs.get("neurodata_type", "TimeSeries")
    kind = kind.decode() if isinstance(kind, bytes) else str(kind)
    external = _is_external(data, path) or (timestamps is not None and _is_external(timestamps, path))
    return SeriesInfo(name, kind, tuple(int(s) for s in data.shape), data.dtype, rate,
                      _scalar(starting), external, data, timestamps)


def _walk_h5(group: Any, path: pathlib.Path, trusted: bool, out: dict[str, SeriesInfo]) -> None:
    for member in group:
        link = group.get(member, getlink=True)
        if isinstance(link, h5py.ExternalLink) and not trusted:
            continue  # into another file: not followed for untrusted files
        node = group.get(member)
        if not isinstance(node, h5py.Group) or member == "specifications":
            continue
        name = node.name.lstrip("/")
        data = node.get("data")
        if isinstance(data, h5py.Dataset) and ("timestamps" in node or "starting_time" in node):
            out[name] = _series_from_group(name, node, path)
        else:
            _walk_h5(node, path, trusted, out)


def _series_from_pynwb(obj: Any, path: pathlib.Path) -> Optional[SeriesInfo]:
    data = obj.data
    if not isinstance(data, h5py.Dataset):
        return None  # e.g. an ImageSeries whose frames are in external files
    timestamps = obj.timestamps
    if timestamps is not None and not hasattr(timestamps, "shape"):
        timestamps = np.asarray(timestamps)
    name = data.parent.name.lstrip("/")
    external = _is_external(data, path) or (
        isinstance(timestamps, h5py.Dataset) and _is_external(timestamps, path))
    rate = None if obj.rate is None else float(obj.rate)
    starting = None if obj.starting_time is None else float(obj.starting_time)
    return SeriesInfo(name, obj.neurodata_type, tuple(int(s) for s in data.shape), data.dtype,
                      rate, starting, external, data, timestamps)


def _units_from_pynwb(units: Any) -> UnitsTable:
    ids = np.asarray(units.id[:])
    if "spike_times" not in units.colnames:
        raise MissingColumnError("The units table has no spike_times column.")
    ragged = units["spike_times"]
    flat = np.asarray(ragged.target.data[:], dtype=np.float64)
    ends = np.asarray(ragged.data[:], dtype=np.int64)
    starts = np.concatenate([[0], ends[:-1]])
    spikes = [flat[a:b] for a, b in zip(starts, ends)]
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


class _NwbFile:
    """The series (and, through pynwb, the units table) of an open NWB file."""

    def __init__(self, series: dict[str, SeriesInfo], units: Any, with_pynwb: bool) -> None:
        self.series = dict(sorted(series.items()))
        self._units = units
        self.with_pynwb = with_pynwb

    def units(self, where: str) -> UnitsTable:
        if not self.with_pynwb:
            raise MissingDependencyError(
                f"Reading the units table of {where} needs pynwb, the optional extra 'nwb': "
                f"{NWB_EXTRA}"
            )
        if self._units is None:
            raise MissingKeyError(f"{where} has no units table (no sorted spikes).")
        return _units_from_pynwb(self._units)


@contextlib.contextmanager
def _open(path: pathlib.Path, trusted: bool) -> Iterator[_NwbFile]:
    pynwb = _pynwb()
    if pynwb is None:
        with h5py.File(path, "r") as handle:
            series: dict[str, SeriesInfo] = {}
            _walk_h5(handle, path, trusted, series)
            yield _NwbFile(series, None, with_pynwb=False)
        return
    with pynwb.NWBHDF5IO(str(path), "r", load_namespaces=True) as io:
        nwb = io.read()
        series = {}
        for obj in nwb.objects.values():
            if isinstance(obj, pynwb.TimeSeries):
                info = _series_from_pynwb(obj, path)
                if info is not None and (trusted or not info.external):
                    series[info.name] = info
        yield _NwbFile(series, nwb.units, with_pynwb=True)


@contextlib.contextmanager
def _open_checked(file: Union[str, pathlib.Path], trusted: bool) -> Iterator[tuple[pathlib.Path, _NwbFile]]:
    """Open an NWB file; errors of the libraries become :class:`CorruptFileError`."""
    if not isinstance(trusted, bool):
        raise TypeError(f"trusted should be True or False, but got trusted={trusted!r}.")
    path = check_file(file)
    reader = find_reader(path)
    if not isinstance(reader, NwbReader):
        raise CorruptFileError(f"'{path}' is not an NWB file (its suffix should be .nwb).")
    try:
        with _open(path, trusted) as nwb:
            yield path, nwb
    except (MissingDependencyError, MissingKeyError, MissingColumnError, UnsafeFileError,
            CorruptFileError, ValueError, TypeError):
        raise
    except Exception as exc:
        raise CorruptFileError(
            f"Could not read '{path}' as an NWB file; it looks corrupted or truncated "
            f"({type(exc).__name__}: {exc})."
        ) from exc


def _series(nwb: _NwbFile, key: Any, path: pathlib.Path) -> SeriesInfo:
    if not isinstance(key, str):
        raise TypeError(f"key should be the object path of a time series (a str), but got {key!r}.")
    wanted = key.strip("/")
    if wanted in nwb.series:
        return nwb.series[wanted]
    if wanted == "units":
        hint = " The units table holds spike times: bin them with spike_counts(path, bin_size)."
    else:
        below = [n for n in nwb.series if n.startswith(wanted + "/")]
        hint = f" {wanted!r} is a group; its series are: {listing(below)}." if below else ""
    raise MissingKeyError(
        f"No time series {key!r} in '{path}'.{hint} Its time series are: {listing(list(nwb.series))}."
    )


# ----------------------------------------------------------------------------- reader


class NwbReader(Reader):
    """NWB files: one entry per time series, named by its object path (see the module)."""

    name = "nwb"
    suffixes = (".nwb",)
    description = "NWB (HDF5)"

    def can_read(self, head: bytes) -> bool:
        """NWB 2 files are HDF5 files: the HDF5 signature at 0 or after a user block."""
        return hdf5_signature_offset(head) >= 0

    @contextlib.contextmanager
    def entries(self, path: pathlib.Path, *, trusted: bool) -> Iterator[list[Entry]]:
        """Open the file read-only and yield one entry per time series, sorted by name."""
        with _open(path, trusted) as nwb:
            yield [
                Entry(info.name, lambda info=info: info.read_data(trusted), shape=info.shape,
                      dtype=str(info.dtype), numeric=is_numeric_dtype(info.dtype))
                for info in nwb.series.values()
            ]


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
    with _open_checked(path, trusted) as (file, nwb):
        info = _series(nwb, key, file)
        return info.read_data(trusted), info.timestamps(trusted)


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
        ValueError: a bad ``bin_size``, ``start``/``stop``, ``stop <= start``, no spikes to
            set a default ``start``/``stop`` from, or a selection matching no unit.

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
    if isinstance(bin_size, bool) or not isinstance(bin_size, numbers.Real) \
            or not math.isfinite(bin_size) or bin_size <= 0:
        raise ValueError(f"bin_size should be a positive number of seconds, but got bin_size={bin_size!r}.")
    start, stop = _check_time(start, "start"), _check_time(stop, "stop")
    with _open_checked(path, trusted) as (file, nwb):
        table = nwb.units(f"'{file}'")
        rows = _select_units(table, units, f"'{file}'")
    spikes = [table.spike_times[r] for r in rows]
    every = np.concatenate(spikes) if spikes else np.empty(0)
    if (start is None or stop is None) and every.size == 0:
        raise ValueError(
            f"The selected units of '{file}' have no spikes; pass start= and stop= to bin them."
        )
    start = float(every.min()) if start is None else start
    stop = float(every.max()) if stop is None else stop
    if stop <= start:
        raise ValueError(f"stop should be after start, but got start={start!r}, stop={stop!r}.")
    n = max(1, math.ceil((stop - start) / bin_size - 1e-9))
    if start + n * bin_size < stop:  # rounding: the last bin must reach stop
        n += 1
    edges = start + bin_size * np.arange(n + 1, dtype=np.float64)
    counts = np.stack([np.histogram(s, bins=edges)[0] for s in spikes], axis=1).astype(np.int64)
    return counts, edges[:-1] + bin_size / 2


def nwb_summary(path: Union[str, pathlib.Path], *, trusted: bool = False) -> dict[str, Any]:
    """What :func:`~cebra_data.io.inspect_file` reports about an NWB file's clocks and units.

    Args:
        path: An ``.nwb`` file.
        trusted: As in :func:`read_timeseries`.

    Returns:
        A JSON-serialisable dict: ``series`` maps each series name to its
        ``neurodata_type``, ``shape``, ``rate`` (Hz; stored, or ``(n - 1) / duration`` of
        the timestamps), ``clock`` (``"rate"`` or ``"timestamps"``) and ``start_time`` /
        ``stop_time`` (first and last sample, seconds); ``units`` is ``None`` or a dict with
        ``count``, ``ids``, ``columns``, ``spikes`` and ``start_time``/``stop_time`` (first
        and last spike), or ``{"error": ...}`` when it cannot be read (pynwb missing).
        A series that cannot be read has an ``error`` instead of its clock.

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
    with _open_checked(path, trusted) as (file, nwb):
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
            table = nwb.units(f"'{file}'")
            every = np.concatenate(table.spike_times) if table.spike_times else np.empty(0)
            units = {
                "count": int(len(table.ids)),
                "ids": [int(i) for i in table.ids],
                "columns": list(table.columns),
                "spikes": int(every.size),
                "start_time": float(every.min()) if every.size else None,
                "stop_time": float(every.max()) if every.size else None,
            }
        except MissingKeyError:
            units = None
        except Exception as exc:
            units = {"error": f"{type(exc).__name__}: {exc}"}
    return {"series": series, "units": units}
