"""Interval tables of NWB files (``TimeIntervals``: trials, epochs, ...) as time structure and labels.

A ``TimeIntervals`` table (``intervals/trials``, ``intervals/epochs``, or any other, e.g.
``processing/behavior/laps``) has one row per interval: ``start_time``, ``stop_time`` and
columns such as the stimulus or whether the answer was correct. :func:`locate` gives, for each
time, the row of the interval it lies in, an interval holding the times ``start_time <= t <
stop_time`` (half-open, so back-to-back intervals do not share a time). Intervals used this
way must not overlap (:func:`check_disjoint`); a time in no interval gets ``-1``.

:func:`column_labels` turns a column into integer labels: integers (and integer-valued
reals) as they are; booleans as ``0`` (``False``) and ``1`` (``True``); text as codes ``0 .. K -
1`` of its distinct values in sorted order. Equal values get equal codes, and the value of each
code is returned beside them.

Tables are read with h5py from the file's groups (with or without pynwb): a group is an
interval table when its ``neurodata_type`` is ``TimeIntervals`` (or it has ``start_time``,
``stop_time`` and a ``colnames`` attribute, as extension subtypes do).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

import h5py
import numpy as np

from cebra_data.errors import CorruptFileError, MissingColumnError, OverlappingIntervalsError
from cebra_data.io.reader import listing

__all__ = [
    "IntervalTable",
    "check_disjoint",
    "column_labels",
    "is_interval_group",
    "locate",
    "read_interval_table",
]


@dataclasses.dataclass
class IntervalTable:
    """One interval table, read into memory.

    Attributes:
        name: The table's object path (``"intervals/trials"``).
        start: ``(n,)`` float64 start times (seconds).
        stop: ``(n,)`` float64 stop times (seconds).
        ids: ``(n,)`` the table's ``id`` column.
        columns: The scalar columns (one value per row), name to values; text as ``str``.
        other_columns: Columns with several values per row (ragged, references): not labels.
        broken: Columns that cannot be read (e.g. fewer values than rows), name to the reason;
            asking for one is a :class:`~cebra_data.errors.CorruptFileError`.
    """

    name: str
    start: np.ndarray
    stop: np.ndarray
    ids: np.ndarray
    columns: dict[str, np.ndarray]
    other_columns: list[str]
    broken: dict[str, str] = dataclasses.field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.start)

    def column(self, name: str, where: str) -> np.ndarray:
        """The values of one scalar column.

        Raises:
            MissingColumnError: no such column, or one with several values per row.
            CorruptFileError: a column that cannot be read (see :attr:`broken`).
        """
        if name in self.columns:
            return self.columns[name]
        if name in self.broken:
            raise CorruptFileError(
                f"The column {name!r} of {self.name!r} in {where} cannot be read: "
                f"{self.broken[name]}."
            )
        if name in self.other_columns:
            raise MissingColumnError(
                f"The column {name!r} of {self.name!r} in {where} holds several values per "
                f"interval, not one label; the columns with one value are: "
                f"{listing(list(self.columns))}."
            )
        raise MissingColumnError(
            f"{self.name!r} in {where} has no column {name!r}; its columns are: "
            f"{listing(list(self.columns) + self.other_columns + list(self.broken))}."
        )


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def is_interval_group(group: Any) -> bool:
    """Whether an h5py group is an interval table (see the module)."""
    if not isinstance(group, h5py.Group):
        return False
    if _text(group.attrs.get("neurodata_type", "")) == "TimeIntervals":
        return True
    return ("colnames" in group.attrs and isinstance(group.get("start_time"), h5py.Dataset)
            and isinstance(group.get("stop_time"), h5py.Dataset))


def _read_column(dataset: h5py.Dataset) -> Optional[np.ndarray]:
    """The values of a one-value-per-row column, or ``None`` for any other kind."""
    if dataset.ndim != 1:
        return None
    if h5py.check_string_dtype(dataset.dtype) is not None:
        return np.array([_text(v) for v in dataset.asstr()[()]], dtype=object)
    if dataset.dtype.kind not in "biuf":
        return None  # references, compound types
    return np.asarray(dataset[()])


def read_interval_table(group: h5py.Group, where: str) -> IntervalTable:
    """Read an interval table's times and scalar columns.

    A scalar column with another number of values than the table has rows is kept in
    ``broken`` (asking for it is an error); the table's times are still usable.

    Raises:
        CorruptFileError: ``start_time`` or ``stop_time`` missing, not numbers, not 1-D or of
            different lengths, NaN or infinite times, or an interval that stops before it
            starts. The message names the file, the table and the column.
    """
    name = group.name.lstrip("/")
    start = _times(group, "start_time", name, where)
    stop = _times(group, "stop_time", name, where)
    if start.shape != stop.shape:
        raise CorruptFileError(
            f"The interval table {name!r} in {where} has {start.size} start times but "
            f"{stop.size} stop times."
        )
    bad = ~(np.isfinite(start) & np.isfinite(stop))
    if bad.any():
        raise CorruptFileError(
            f"{name!r} in {where} has {int(bad.sum())} intervals whose start or stop time is NaN "
            f"or infinite (rows {listing(np.flatnonzero(bad).tolist())}); interval times must be "
            "finite."
        )
    backwards = stop < start
    if backwards.any():
        row = int(np.flatnonzero(backwards)[0])
        raise CorruptFileError(
            f"{name!r} in {where} has {int(backwards.sum())} intervals that stop before they "
            f"start (first: row {row}, {start[row]:g} .. {stop[row]:g} s)."
        )
    ids = np.asarray(group["id"][()]) if isinstance(group.get("id"), h5py.Dataset) \
        else np.arange(start.size)
    names = [_text(c) for c in np.atleast_1d(group.attrs.get("colnames", []))]
    columns: dict[str, np.ndarray] = {}
    other: list[str] = []
    broken: dict[str, str] = {}
    for column in names:
        if column in ("start_time", "stop_time"):
            continue
        dataset = group.get(column)
        values = None
        if isinstance(dataset, h5py.Dataset) and f"{column}_index" not in group:
            values = _read_column(dataset)
        if values is not None and len(values) == start.size:
            columns[column] = values
        elif values is not None:
            broken[column] = f"it has {len(values)} values for {start.size} intervals"
        else:
            other.append(column)
    return IntervalTable(name, start, stop, ids, columns, other, broken)


def _times(group: h5py.Group, column: str, name: str, where: str) -> np.ndarray:
    """The ``start_time`` or ``stop_time`` column as float64, checked (see :func:`read_interval_table`)."""
    dataset = group.get(column)
    if not isinstance(dataset, h5py.Dataset):
        raise CorruptFileError(f"The interval table {name!r} in {where} has no {column} column.")
    if dataset.dtype.kind not in "iuf":
        raise CorruptFileError(
            f"The {column} column of the interval table {name!r} in {where} holds values of "
            f"dtype {dataset.dtype}, not times in seconds (numbers)."
        )
    if dataset.ndim != 1:
        raise CorruptFileError(
            f"The {column} column of the interval table {name!r} in {where} has shape "
            f"{dataset.shape}; one time per interval (a 1-D column) is needed."
        )
    return np.asarray(dataset[()], dtype=np.float64)


def check_disjoint(table: IntervalTable, where: str) -> None:
    """Refuse overlapping intervals (touching ones, ``stop == next start``, are fine).

    Raises:
        OverlappingIntervalsError: names the first overlapping pair.
    """
    order = np.argsort(table.start, kind="stable")
    start, stop = table.start[order], table.stop[order]
    overlap = np.flatnonzero(start[1:] < np.maximum.accumulate(stop)[:-1])
    if overlap.size:
        later = int(order[overlap[0] + 1])
        earlier = int(order[:overlap[0] + 1][np.argmax(stop[:overlap[0] + 1])])
        raise OverlappingIntervalsError(
            f"The intervals of {table.name!r} in {where} overlap ({overlap.size} of them; first: "
            f"row {earlier}, {table.start[earlier]:g} .. {table.stop[earlier]:g} s, and row "
            f"{later}, {table.start[later]:g} .. {table.stop[later]:g} s), so a time could belong "
            "to two of them. Trials and interval labels need disjoint intervals: use another "
            "table, or split the file's intervals yourself."
        )


def locate(times: np.ndarray, table: IntervalTable) -> np.ndarray:
    """For each time, the row of the interval ``start <= t < stop`` it lies in, else ``-1``.

    The intervals must be disjoint (:func:`check_disjoint`).

    Example:
        >>> import numpy as np
        >>> from cebra_data.io.nwb_intervals import IntervalTable, locate
        >>> table = IntervalTable("intervals/trials", np.array([2.0, 0.0]), np.array([3.0, 1.0]),
        ...                       np.arange(2), {}, [])
        >>> locate(np.array([0.0, 0.5, 1.0, 2.5, 3.0]), table)
        array([ 1,  1, -1,  0, -1])
    """
    order = np.argsort(table.start, kind="stable")
    position = np.searchsorted(table.start[order], times, side="right") - 1
    safe = np.clip(position, 0, None)
    inside = (position >= 0) & (times < table.stop[order][safe]) if len(order) else \
        np.zeros(len(times), dtype=bool)
    return np.where(inside, order[safe] if len(order) else -1, -1).astype(np.int64)


def column_labels(values: np.ndarray, what: str) -> tuple[np.ndarray, Optional[tuple[Any, ...]]]:
    """Integer labels of a column: ``(labels, categories)`` (see the module).

    ``categories`` is ``None`` for integer columns, else the value of each code
    (``categories[code]``).

    Raises:
        ValueError: real values that are not integers, or NaN.

    Example:
        >>> import numpy as np
        >>> from cebra_data.io.nwb_intervals import column_labels
        >>> column_labels(np.array(["left", "right", "left"], dtype=object), "stimulus")
        (array([0, 1, 0]), ('left', 'right'))
        >>> column_labels(np.array([True, False]), "correct")
        (array([1, 0]), (False, True))
    """
    if values.dtype.kind in "iu":
        return values.astype(np.int64), None
    if values.dtype.kind == "f":
        if not np.isfinite(values).all() or not np.array_equal(values, np.round(values)):
            raise ValueError(
                f"{what} holds real values (or NaN), not labels; discrete labels need integers, "
                "text or booleans."
            )
        return values.astype(np.int64), None
    if values.dtype.kind == "b":
        return values.astype(np.int64), (False, True)
    categories, codes = np.unique(np.asarray([str(v) for v in values], dtype=object),
                                  return_inverse=True)
    return codes.astype(np.int64).reshape(-1), tuple(str(v) for v in categories)
