"""A dataset from an NWB file in one call: neural rows, behaviour on their clock (layer L3).

:func:`dataset_arrays_from_nwb` reads the neural signal (a time series, or the units table
binned into spike counts) and the behaviour series of an NWB file, and resamples the behaviour
at the neural time stamps with :func:`cebra_data.align` (linear for continuous labels, nearest
for discrete ones). :func:`dataset_from_nwb` builds the dataset (it is
``TensorDataset.from_nwb``).

Coverage: a neural time step is *covered* when every behaviour series covers it (inside its
first and last sample, and not inside a gap longer than ``max_gap``; see
:func:`cebra_data.align.coverage`). Nothing is extrapolated, and uncovered steps are never
sampled:

* with a continuous label, every uncovered step gets NaN continuous labels, which
  :class:`~cebra_data.TensorDataset` excludes from sampling and ``describe()`` reports as
  missing continuous labels; the discrete label of a step no discrete series covers is the
  placeholder :data:`UNCOVERED_LABEL` (``-1``), never drawn since the step is excluded;
* with only a discrete label (integers cannot hold NaN), the uncovered steps before the first
  and after the last covered step are cut off, with a warning that says how many; uncovered
  steps *between* covered ones (gaps longer than ``max_gap``) are an error there, since
  cutting them would join distant times (add a continuous label, or drop ``max_gap``).

Interval tables (``intervals/trials``, ``intervals/epochs``, any ``TimeIntervals``): with
``trials=<table>`` only the rows inside an interval are kept and ``trial_ids`` is the interval's
row; with ``discrete="<table>/<column>"`` each row is labelled by its interval's value and rows
outside every interval are dropped (see :mod:`cebra_data.io.nwb_intervals`). Without any
behaviour, the continuous index is the neural time (neural-only datasets).

The file, a path or an ``http(s)://`` URL, is opened once per call
(:func:`cebra_data.io.nwb.open_nwb`). The neural time stamps of the kept rows are the dataset's
:attr:`timestamps` (seconds, float64).
"""

from __future__ import annotations

import pathlib
import warnings
from typing import Any, NamedTuple, Optional, Sequence, Union

import numpy as np

from cebra_data.align import align, coverage
from cebra_data.device import DeviceLike
from cebra_data.errors import DataChangedWarning, EmptyFileError, NonNumericDataError
from cebra_data.io.nwb import OpenNwbFile, bin_spikes, check_bin_size, open_nwb
from cebra_data.io.nwb_intervals import check_disjoint, column_labels, locate

__all__ = ["UNCOVERED_LABEL", "NwbArrays", "dataset_arrays_from_nwb", "dataset_from_nwb"]

#: Discrete label of a time step that no discrete series covers (it is excluded from sampling).
UNCOVERED_LABEL = -1


class NwbArrays(NamedTuple):
    """The arrays of a dataset read from an NWB file (see :func:`dataset_arrays_from_nwb`).

    Fields (in order):

        neural: ``(N, D)`` neural rows (spike counts are int64).
        continuous: ``(N, d)`` float64 behaviour, NaN at uncovered steps, or ``None``.
        discrete: ``(N,)`` int64 labels (:data:`UNCOVERED_LABEL` at uncovered steps), or ``None``.
        timestamps: ``(N,)`` float64 time of each neural row (seconds; bin centres for spikes).
        covered: ``(N,)`` bool, ``True`` where every behaviour series covers the step.
        trial_ids: ``(N,)`` int64 row of the ``trials`` interval each step lies in, or ``None``.
        discrete_categories: ``discrete_categories[code]`` is the value of a code of text or boolean interval labels, else ``None``.
    """

    neural: np.ndarray
    continuous: Optional[np.ndarray]
    discrete: Optional[np.ndarray]
    timestamps: np.ndarray
    covered: np.ndarray
    trial_ids: Optional[np.ndarray] = None
    discrete_categories: Optional[tuple[Any, ...]] = None


def _keys(value: Union[None, str, Sequence[str]], name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise TypeError(
        f"{name} should be the object path of a time series or a non-empty list of them, but "
        f"got {name}={value!r}."
    )


def _interval_column(nwb: OpenNwbFile, key: str) -> Optional[tuple[str, str]]:
    """``(table, column)`` when ``key`` is ``"<interval table>/<column>"``, else ``None``."""
    wanted = key.strip("/")
    for table in nwb.intervals:
        if wanted.startswith(table + "/"):
            return table, wanted[len(table) + 1:]
    if wanted in nwb.intervals:
        table = nwb.interval_table(wanted)
        raise ValueError(
            f"discrete={key!r} is an interval table; name one of its columns, "
            f"discrete='{wanted}/<column>', with <column> one of {sorted(table.columns)}."
        )
    return None


def _series(nwb: OpenNwbFile, key: str, role: str, trusted: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(data, timestamps)`` of the series ``key`` used as ``role`` (neural, continuous, discrete).

    Checked before the data is read: at least one sample and real numbers (booleans, integers,
    floats). The clock obeys the rule of every series (finite, strictly increasing times; see
    :meth:`cebra_data.io.nwb.SeriesInfo.timestamps`).

    Raises:
        EmptyFileError: no samples.
        NonNumericDataError: text, objects, compound or complex values.
    """
    info = nwb.info(key)
    if not info.shape or info.shape[0] == 0:
        raise EmptyFileError(
            f"The {role} series {info.name!r} of {nwb.where} has no samples (shape "
            f"{info.shape}); a dataset needs at least one."
        )
    if np.dtype(info.dtype).kind not in "biuf":
        raise NonNumericDataError(
            f"The {role} series {info.name!r} of {nwb.where} holds values of dtype {info.dtype}, "
            "not real numbers (booleans, integers or floats)."
        )
    return nwb.timeseries(key, trusted)


def _series_labels(nwb: OpenNwbFile, key: str, times: np.ndarray, max_gap: Optional[float],
                   trusted: bool) -> tuple[np.ndarray, np.ndarray]:
    """Discrete labels from a series, resampled with ``"nearest"``: ``(labels, covered)``."""
    values, clock = _series(nwb, key, "discrete", trusted)
    values = values.reshape(len(values), -1) if values.ndim > 1 else values
    if values.ndim != 1 and values.shape[1] != 1:
        raise ValueError(f"discrete series {key!r} of {nwb.where} should have one column, but has shape {values.shape}.")
    values = values.reshape(-1)
    known = values[~np.isnan(values)] if values.dtype.kind == "f" else values
    if values.dtype.kind == "f" and not np.array_equal(known, np.round(known)):
        raise ValueError(f"discrete series {key!r} of {nwb.where} should hold integer labels, but holds fractions.")
    aligned = align(values, clock, times, method="nearest", max_gap=max_gap)
    covered = ~np.isnan(aligned)
    labels = np.where(covered, np.nan_to_num(aligned), UNCOVERED_LABEL).astype(np.int64)
    return labels, covered


def dataset_arrays_from_nwb(
    path: Union[str, pathlib.Path],
    neural: str,
    continuous: Union[None, str, Sequence[str]] = None,
    discrete: Optional[str] = None,
    bin_size: Optional[float] = None,
    *,
    trials: Optional[str] = None,
    max_gap: Optional[float] = None,
    trusted: bool = False,
) -> NwbArrays:
    """Neural rows and behaviour resampled at their times, from one NWB file (opened once).

    Args:
        path: An ``.nwb`` file, or its ``http(s)://`` URL (read lazily by byte ranges: see
            :mod:`cebra_data.io.remote`).
        neural: The object path of the neural time series (e.g.
            ``"processing/ophys/Fluorescence/RoiResponseSeries"``), or ``"units"`` for the
            units table binned with ``bin_size`` (:func:`cebra_data.io.nwb.spike_counts`, default
            range: first to last spike; times are bin centres).
        continuous: One series path, or a list of them (their columns are concatenated);
            resampled linearly.
        discrete: One series of integer labels, resampled with ``"nearest"``; or a column of
            an interval table, ``"<table>/<column>"`` (e.g. ``"intervals/trials/stimulus"``):
            each row gets the value of the interval it lies in (integers as they are, text
            and booleans as codes, see :func:`cebra_data.io.nwb_intervals.column_labels`), and
            rows in no interval are dropped.
        bin_size: Seconds per bin; required with ``neural="units"``, not allowed otherwise.
        trials: The object path of an interval table (``"intervals/trials"``,
            ``"intervals/epochs"``, ...): only the rows inside one of its intervals
            (``start_time <= t < stop_time``) are kept, and ``trial_ids`` is the interval's
            row in the table.
        max_gap: Passed to :func:`cebra_data.align`: behaviour gaps longer than this (seconds)
            are not bridged.
        trusted: As in :func:`cebra_data.io.nwb.read_timeseries`.

    Returns:
        An :class:`NwbArrays`; see the module for how uncovered steps are handled.

    Raises:
        ValueError: a missing or superfluous ``bin_size``, a discrete series with
            non-integer values or more than one column, no row left, no covered step, or
            (discrete only) a gap inside the covered range.
        OverlappingIntervalsError: the intervals of ``trials`` or of a ``discrete`` column
            overlap (a ``ValueError``).
        TypeError: for a key that is not a string (or list of strings).
        EmptyFileError: a series without samples, or units without spikes (names the file).
        NonNumericDataError: a series of text or objects (names the file and the series).
        CorruptFileError: a clock that is not finite and strictly increasing, malformed
            interval times or columns, or a file the libraries cannot read (names the file).
        MissingKeyError, MissingColumnError, MissingDependencyError: from reading the file.
    """
    continuous_keys = _keys(continuous, "continuous")
    if discrete is not None and not isinstance(discrete, str):
        raise TypeError(f"discrete should be the object path of one series or interval column, "
                        f"but got {discrete!r}.")
    if trials is not None and not isinstance(trials, str):
        raise TypeError(f"trials should be the object path of an interval table (e.g. "
                        f"'intervals/trials'), but got trials={trials!r}.")
    if not isinstance(neural, str):
        raise TypeError(f"neural should be a series path or 'units', but got neural={neural!r}.")
    if neural == "units":
        if bin_size is None:
            raise ValueError("neural='units' bins the spike times: pass bin_size=<seconds>, e.g. 0.01.")
        bin_size = check_bin_size(bin_size)
    elif bin_size is not None:
        raise ValueError(
            f"bin_size is only for neural='units' (spike times); the series {neural!r} has "
            f"its own samples, but got bin_size={bin_size!r}."
        )
    with open_nwb(path, trusted=trusted) as nwb:
        if neural == "units":
            data, times = bin_spikes(nwb.units(), bin_size, where=nwb.where, caller="from_nwb")
        else:
            data, times = _series(nwb, neural, "neural", trusted)
            data = data.reshape(len(data), -1)
        keep = np.ones(len(times), dtype=bool)
        trial_ids = None
        if trials is not None:
            table = nwb.interval_table(trials)
            check_disjoint(table, nwb.where)
            trial_ids = locate(times, table)
            keep &= trial_ids >= 0
        covered = np.ones(len(times), dtype=bool)
        columns = []
        for key in continuous_keys:
            values, clock = _series(nwb, key, "continuous", trusted)
            aligned = align(values, clock, times, method="linear", max_gap=max_gap)
            columns.append(aligned.reshape(len(times), -1))
            covered &= coverage(clock, times, max_gap=max_gap)
        labels, categories = None, None
        if discrete is not None:
            column = _interval_column(nwb, discrete)
            if column is None:
                labels, discrete_covered = _series_labels(nwb, discrete, times, max_gap, trusted)
                covered &= discrete_covered
            else:
                table = nwb.interval_table(column[0])
                check_disjoint(table, nwb.where)
                rows = locate(times, table)
                values, categories = column_labels(
                    table.column(column[1], nwb.where), f"The column {discrete!r} of {nwb.where}")
                keep &= rows >= 0
                labels = np.where(rows >= 0, values[np.clip(rows, 0, None)] if len(values) else 0,
                                  UNCOVERED_LABEL).astype(np.int64)
        where = nwb.where
    if not keep.any():
        used = " and ".join(repr(t) for t in (trials, discrete) if t is not None)
        raise ValueError(
            f"No neural time step of {where} ({times[0]:g} .. {times[-1]:g} s) lies inside an "
            f"interval of {used}; check that the intervals and the neural data share one clock."
        )
    if not keep.all():
        data, times, covered = data[keep], times[keep], covered[keep]
        columns = [c[keep] for c in columns]
        labels = labels[keep] if labels is not None else None
        trial_ids = trial_ids[keep] if trial_ids is not None else None
    if (continuous_keys or discrete is not None) and not covered.any():
        raise ValueError(
            f"No neural time step ({times[0]:g} .. {times[-1]:g} s) is covered by the behaviour; "
            "check that the series share one clock."
        )
    behaviour = np.concatenate(columns, axis=1) if columns else None
    if behaviour is not None:
        behaviour[~covered] = np.nan
    return NwbArrays(data, behaviour, labels, times, covered, trial_ids, categories)


def dataset_from_nwb(
    cls: Any,
    path: Union[str, pathlib.Path],
    neural: str,
    continuous: Union[None, str, Sequence[str]] = None,
    discrete: Optional[str] = None,
    bin_size: Optional[float] = None,
    offset: Any = None,
    *,
    trials: Optional[str] = None,
    max_gap: Optional[float] = None,
    device: DeviceLike = "cpu",
    trusted: bool = False,
) -> Any:
    """A dataset from an NWB file (path or URL): ``TensorDataset.from_nwb`` (``cls`` is the dataset class).

    Reads the arrays with :func:`dataset_arrays_from_nwb` (see there for the arguments and the
    module for uncovered steps) and builds ``cls(neural, continuous=..., discrete=...,
    offset=offset, device=device, trial_ids=...)``. The neural time of every row is kept in
    the dataset's ``timestamps`` attribute (a float64 numpy array, seconds).

    * **Neural only** (no ``continuous``, no ``discrete``): the continuous index is the
      neural time in seconds, ``(N, 1)`` (a dataset needs an index), for time-contrastive
      sampling (``ContinuousDataLoader(conditional="time")``); the rows are the series' data
      or the spike counts, unchanged.
    * **Trials** (``trials="intervals/trials"``): only rows inside an interval are kept, and
      ``trial_ids`` is the interval's row, so windows never cross a trial border and the
      trial-aware splits keep trials whole.
    * **Interval labels** (``discrete="intervals/trials/<column>"``): text and boolean
      columns become integer codes; ``dataset.discrete_categories[code]`` is the value of a
      code (``None`` for integer labels).

    Returns:
        The dataset; uncovered steps are excluded from sampling (NaN continuous labels) or,
        with only discrete labels, cut off at the ends (with a warning).

    Raises:
        ValueError, TypeError, MissingKeyError, CorruptFileError, EmptyFileError, NonNumericDataError, MissingDependencyError:
            see :func:`dataset_arrays_from_nwb`.

    Example:
        >>> import datetime, numpy as np, pynwb
        >>> from pynwb.behavior import Position, SpatialSeries
        >>> from cebra_data import TensorDataset
        >>> from cebra_data.nwb_dataset import dataset_from_nwb
        >>> nwb = pynwb.NWBFile(session_description="demo", identifier="demo",
        ...     session_start_time=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc))
        >>> for unit in range(3):
        ...     nwb.add_unit(spike_times=np.arange(0.0, 4.0, 0.1 + 0.05 * unit))
        >>> behavior = nwb.create_processing_module("behavior", "position of the animal")
        >>> _ = behavior.add(Position(spatial_series=SpatialSeries(name="pos", data=np.zeros((90, 2)),
        ...     reference_frame="arena corner", rate=30.0, starting_time=0.5)))
        >>> with pynwb.NWBHDF5IO(tmp_path / "session.nwb", "w") as io:
        ...     io.write(nwb)
        >>> ds = dataset_from_nwb(TensorDataset, tmp_path / "session.nwb", neural="units",
        ...     continuous="processing/behavior/Position/pos", bin_size=0.1)
        >>> len(ds), ds.num_excluded, ds.timestamps[:2]
        (39, 9, array([0.05, 0.15]))
    """
    arrays = dataset_arrays_from_nwb(path, neural, continuous, discrete, bin_size,
                                     trials=trials, max_gap=max_gap, trusted=trusted)
    neural_rows, behaviour, labels, times = arrays.neural, arrays.continuous, arrays.discrete, arrays.timestamps
    trial_ids = arrays.trial_ids
    if behaviour is None and not arrays.covered.all():
        covered = np.flatnonzero(arrays.covered)
        first, last = int(covered[0]), int(covered[-1])
        if covered.size != last - first + 1:
            raise ValueError(
                f"The discrete labels leave {last - first + 1 - covered.size} neural steps "
                f"uncovered between {times[first]:g} and {times[last]:g} s (gaps longer than "
                "max_gap); integer labels cannot mark them missing. Pass a continuous series too "
                "(its NaN rows exclude the steps) or max_gap=None."
            )
        warnings.warn(
            f"The discrete labels cover the neural time steps {first} .. {last} "
            f"({times[first]:g} .. {times[last]:g} s) of {len(times)}; the {first} steps before "
            f"and {len(times) - 1 - last} after are cut off (integer labels cannot mark them "
            "missing). dataset.timestamps holds the kept times.",
            DataChangedWarning,
            stacklevel=2,
        )
        keep = slice(first, last + 1)
        neural_rows, labels, times = neural_rows[keep], labels[keep], times[keep]
        trial_ids = trial_ids[keep] if trial_ids is not None else None
    if behaviour is None and labels is None:
        behaviour = times.reshape(-1, 1)  # neural only: time is the index
    dataset = cls(neural_rows, continuous=behaviour, discrete=labels, offset=offset, device=device,
                  trial_ids=trial_ids)
    dataset.timestamps = times
    dataset.discrete_categories = arrays.discrete_categories
    return dataset
