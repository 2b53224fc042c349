"""The DeepLabCut-style pose table: one checked reader for every entry point.

DeepLabCut stores poses as a table whose columns have the levels
``(scorer, [individuals,] bodyparts, coords)``; ``coords`` is ``x``, ``y``, optionally
``z``, and in prediction files ``likelihood``. The same table is written as ``.h5``
(pandas HDF) and as ``.csv`` with one header row per level. LightningPose writes
DeepLabCut's csv layout with the scorer ``"<model>_tracker"`` (and, for labelled frames,
an extra text column ``set`` under its own "scorer").

Every caller reads such a file the same way: :func:`~cebra_data.io.load_data` and
:func:`~cebra_data.io.load_deeplabcut` through the registered readers (the csv reader
calls :func:`deeplabcut_csv_table`, the HDF5 reader decodes the pandas group), and
:func:`~cebra_data.load_pose` through :func:`read_deeplabcut_poses`, which opens the file
with the same readers whatever its suffix. The columns are then mapped once, by
:func:`deeplabcut_columns`. So a truncated or ragged csv, a zero-frame table, text in a
coordinate and a column named twice are refused alike by every entry point:

* rows must all have the header's number of fields and the file must end with a line
  end (a file cut in the middle of its last row is truncated);
* coordinates and likelihoods must be numbers or empty; other columns (LightningPose's
  ``set``) may hold text and are not read;
* each ``(individual, bodypart, coord)`` appears once;
* every coordinate column has the same scorer (DeepLabCut and LightningPose write one
  per file; a second one is a damaged header, e.g. ``DLC_resfet50`` for one column);
* every keypoint has a ``likelihood`` column, or none does.
"""

from __future__ import annotations

import pathlib
from collections.abc import Hashable, Sequence
from typing import Optional

import numpy as np
import pandas as pd

from cebra_data.errors import CorruptFileError, EmptyFileError, NonNumericDataError, NotPoseFileError
from cebra_data.io.hdf5 import hdf5_signature_offset
from cebra_data.io.poses.data import UNNAMED_INDIVIDUAL, PoseData
from cebra_data.io.poses.lightningpose import is_lightningpose
from cebra_data.io.reader import HEAD_SIZE, Table, check_row_widths, listing
from cebra_data.io.registry import open_entries

__all__ = [
    "POSE_COORDS",
    "DeepLabCutColumns",
    "deeplabcut_columns",
    "deeplabcut_csv_header",
    "deeplabcut_csv_table",
    "pose_from_deeplabcut_table",
    "read_deeplabcut_poses",
    "refuse_cut_deeplabcut_header",
]

#: The ``coords`` of a pose table that hold data (other columns are bookkeeping).
POSE_COORDS = ("x", "y", "z", "likelihood")

_SPACE = ("x", "y", "z")
_LEVELS_3 = ("scorer", "bodyparts", "coords")
_LEVELS_4 = ("scorer", "individuals", "bodyparts", "coords")


# ----------------------------------------------------------------------------- csv layout


def deeplabcut_csv_header(rows: Sequence[Sequence[str]]) -> Optional[tuple[int, int]]:
    """Recognise DeepLabCut's csv header.

    Args:
        rows: The first rows of the file, split into cells.

    Returns:
        ``(header_rows, index_columns)`` (3 or 4 header rows; 1 index column for older
        files, 3 for newer labelled-data files), or ``None`` if this is not a DLC csv.

    Example:
        >>> from cebra_data.io.poses.table import deeplabcut_csv_header
        >>> deeplabcut_csv_header([["scorer", "me"], ["bodyparts", "nose"], ["coords", "x"]])
        (3, 1)
    """
    firsts = [r[0].strip().lower() if r else "" for r in rows[:4]]
    for levels in (_LEVELS_4, _LEVELS_3):
        if tuple(firsts[: len(levels)]) == levels:
            header = rows[0]
            index_columns = next(
                (i for i in range(1, len(header)) if header[i].strip()), len(header)
            )
            if index_columns >= len(header):
                return None
            return len(levels), index_columns
    return None


def refuse_cut_deeplabcut_header(path: pathlib.Path, rows: Sequence[Sequence[str]]) -> None:
    """Refuse a csv whose rows start DeepLabCut's header and stop before its end.

    Args:
        path: The file.
        rows: All its first (non-blank) rows, split into cells.

    Raises:
        CorruptFileError: the first cells read ``scorer``, ``bodyparts`` (or ``scorer``,
            ``individuals`` [, ``bodyparts``]) and the file has no more rows: it was cut
            inside DeepLabCut's header.
    """
    firsts = tuple(r[0].strip().lower() if r else "" for r in rows[:4])
    if len(firsts) < 2:
        return
    for levels in (_LEVELS_4, _LEVELS_3):
        if len(firsts) < len(levels) and firsts == levels[:len(firsts)]:
            raise CorruptFileError(
                f"'{path}' starts with DeepLabCut's header rows {listing(list(firsts))} and "
                f"ends before the rest ({listing(list(levels[len(firsts):]))}): the file is "
                "truncated inside its header."
            )


def deeplabcut_csv_table(
    path: pathlib.Path, rows: Sequence[Sequence[str]], header_rows: int, index_columns: int,
    delimiter: str = ",",
) -> Table:
    """Read a DeepLabCut csv file (header already recognised) into a checked :class:`Table`.

    Args:
        path: The file.
        rows: Its first rows, split into cells (at least the header rows).
        header_rows: 3 or 4 (see :func:`deeplabcut_csv_header`).
        index_columns: How many leading columns label the frames.
        delimiter: The field delimiter.

    Returns:
        The table: one column per header column after the index columns, labelled by the
        tuple of its header cells. Text columns that are not coordinates have no dtype.

    Raises:
        CorruptFileError: header rows of different lengths, a row with another number of
            fields, or a last row without a line end (the file is truncated).
        EmptyFileError: the header has no frame below it.
        NonNumericDataError: a coordinate or likelihood column holds text (the column and
            the frame are named).
    """
    header = [list(r) for r in rows[:header_rows]]
    width = len(header[0])
    if any(len(r) != width for r in header):
        raise CorruptFileError(
            f"The DeepLabCut header rows of '{path}' have different lengths "
            f"({[len(r) for r in header]}); each header row names every column."
        )
    names = [r[0].strip() for r in header]
    check_row_widths(path, delimiter, width, header_rows=header_rows,
                     require_final_newline=True)
    columns = [tuple(r[c] for r in header) for c in range(index_columns, width)]
    # The last header row as pandas' header and the index columns as its index is the
    # parser's fast path (an explicit dtype or skiprows is markedly slower).
    frame = pd.read_csv(
        path, sep=delimiter, header=header_rows - 1, index_col=list(range(index_columns)),
        engine="c",
    )
    if frame.shape[1] != len(columns):
        raise CorruptFileError(f"'{path}' has rows with fewer cells than its header.")
    if len(frame) == 0:
        raise EmptyFileError(
            f"'{path}' has DeepLabCut's header rows but no frame below them (0 rows of data)."
        )
    text = [i for i, dtype in enumerate(frame.dtypes) if not pd.api.types.is_numeric_dtype(dtype)]
    coordinates = [i for i in text if str(columns[i][-1]).strip() in POSE_COORDS]
    if coordinates:
        _refuse_text(frame, columns, coordinates, path)
    if not text:
        values = frame.to_numpy(dtype=np.float64)
        return Table(columns, names, values.shape[0], [values.dtype] * len(columns),
                     lambda p: values[:, list(p)])
    kept = [i for i in range(len(columns)) if i not in text]
    values = frame.iloc[:, kept].to_numpy(dtype=np.float64)
    slot = {position: k for k, position in enumerate(kept)}
    dtypes = [None if i in text else values.dtype for i in range(len(columns))]
    return Table(columns, names, values.shape[0], dtypes,
                 lambda p: values[:, [slot[i] for i in p]])


def _refuse_text(frame: pd.DataFrame, columns: list[tuple], bad: list[int],
                 path: pathlib.Path) -> None:
    """Raise :class:`NonNumericDataError` naming the first coordinate column with text."""
    column = frame.iloc[:, bad[0]]
    numbers = pd.to_numeric(column, errors="coerce")
    rows = np.flatnonzero(numbers.isna().to_numpy() & column.notna().to_numpy())
    found = f": frame {int(rows[0])} holds {column.iloc[int(rows[0])]!r}" if len(rows) else ""
    raise NonNumericDataError(
        f"Column {columns[bad[0]]!r} of '{path}' is not numeric{found}"
        + (f" (and {len(bad) - 1} more coordinate column(s) hold text)" if len(bad) > 1 else "")
        + ". DeepLabCut coordinates and likelihoods must be numbers or empty."
    )


# ----------------------------------------------------------------------------- columns


class DeepLabCutColumns:
    """Where each keypoint's coordinates are in a DeepLabCut table (one scorer).

    Attributes:
        scorer: The scorer whose columns are read.
        multi_animal: Whether the table has an ``individuals`` level.
        coords: ``(individual, bodypart) -> {coord: column position}``; the individual
            is ``None`` in single-animal tables. Keys keep the table's labels.
        bodyparts_of: ``individual -> [bodypart, ...]`` in file order.
    """

    def __init__(self, scorer: Optional[Hashable], multi_animal: bool,
                 coords: dict[tuple[Optional[Hashable], Hashable], dict[str, int]],
                 bodyparts_of: dict[Optional[Hashable], list[Hashable]]) -> None:
        self.scorer = scorer
        self.multi_animal = multi_animal
        self.coords = coords
        self.bodyparts_of = bodyparts_of


def deeplabcut_columns(table: Table, where: str) -> DeepLabCutColumns:
    """Map the columns of a table with DeepLabCut's levels, refusing a column named twice.

    Args:
        table: A table whose :attr:`~cebra_data.io.reader.Table.is_deeplabcut` is true.
        where: The file, for messages.

    Returns:
        The :class:`DeepLabCutColumns` of the table's first scorer.

    Raises:
        CorruptFileError: an ``(individual,) bodypart, coord`` column appears more than
            once (which of the copies is meant cannot be told); the coordinates belong to
            more than one scorer (DeepLabCut writes one per file, so the header is
            damaged); or some keypoints have a ``likelihood`` column and others do not.

    Example:
        >>> import numpy as np, pandas as pd
        >>> from cebra_data.io.reader import Table
        >>> from cebra_data.io.poses.table import deeplabcut_columns
        >>> columns = pd.MultiIndex.from_product([["me"], ["nose"], ["x", "y"]],
        ...                                      names=["scorer", "bodyparts", "coords"])
        >>> table = Table.from_frame(pd.DataFrame(np.zeros((2, 2)), columns=columns))
        >>> deeplabcut_columns(table, "f").coords
        {(None, 'nose'): {'x': 0, 'y': 1}}
    """
    level = {str(n): i for i, n in enumerate(table.names)}
    multi = "individuals" in level
    scorers = list(dict.fromkeys(c[level["scorer"]] for c in table.columns
                                 if str(c[level["coords"]]).strip() in POSE_COORDS))
    if len(scorers) > 1:
        raise CorruptFileError(
            f"{where} holds the coordinates of {len(scorers)} scorers "
            f"({listing([str(s) for s in scorers])}). DeepLabCut and LightningPose write one "
            "scorer per file (a scorer name with a changed character is a damaged header), "
            "and which columns belong together cannot be told. Keep one scorer's columns."
        )
    scorer = scorers[0] if scorers else (table.columns[0][level["scorer"]]
                                         if table.columns else None)
    coords: dict[tuple[Optional[Hashable], Hashable], dict[str, int]] = {}
    bodyparts_of: dict[Optional[Hashable], list[Hashable]] = {}
    twice: list[tuple] = []
    for position, column in enumerate(table.columns):
        if column[level["scorer"]] != scorer:
            continue  # not a coordinate (e.g. LightningPose's column 'set')
        individual = column[level["individuals"]] if multi else None
        bodypart = column[level["bodyparts"]]
        coord = str(column[level["coords"]])
        pair = (individual, bodypart)
        if pair not in coords:
            coords[pair] = {}
            bodyparts_of.setdefault(individual, []).append(bodypart)
        if coord in coords[pair]:
            twice.append(column)
        coords[pair][coord] = position
    if twice:
        raise CorruptFileError(
            f"{where} has the column(s) {listing(twice)} more than once. A DeepLabCut table "
            "names each (individual,) bodypart and coordinate once; which copy holds the "
            "poses cannot be told. Rename or remove the duplicates."
        )
    rated = [pair for pair, c in coords.items() if "likelihood" in c]
    if rated and len(rated) != len(coords):
        unrated = [f"{i}/{b}" if multi else str(b) for (i, b), c in coords.items()
                   if "likelihood" not in c]
        raise CorruptFileError(
            f"{where} has likelihood columns for some keypoints but not for "
            f"{listing(unrated)}. DeepLabCut writes a likelihood for every keypoint or for "
            "none; reading these as always valid would hide their low-confidence frames."
        )
    return DeepLabCutColumns(scorer, multi, coords, bodyparts_of)


def pose_from_deeplabcut_table(table: Table, where: str) -> PoseData:
    """A :class:`PoseData` from a table with DeepLabCut's column levels.

    A keypoint is valid in a frame when its coordinates are finite and, where the table
    has a ``likelihood`` column for it, the likelihood is at least the cutoff: the rule of
    :func:`~cebra_data.io.load_deeplabcut` (a missing likelihood fails). The source is
    ``"lightningpose"`` for a single-animal table whose scorer ends in ``_tracker``, else
    ``"deeplabcut"``.

    Raises:
        CorruptFileError: a keypoint lacks an ``x`` or ``y`` column, a column appears
            twice, the coordinates have several scorers, or some keypoints have a
            likelihood and others not (see :func:`deeplabcut_columns`).
    """
    mapped = deeplabcut_columns(table, where)
    source = "lightningpose" if is_lightningpose(mapped.scorer, mapped.multi_animal) \
        else "deeplabcut"
    columns: dict[tuple[str, str], dict[str, int]] = {}
    for (individual, bodypart), coords in mapped.coords.items():
        wanted = {c: p for c, p in coords.items() if c in POSE_COORDS}
        if wanted:
            name = UNNAMED_INDIVIDUAL if individual is None else str(individual)
            columns[(name, str(bodypart))] = wanted
    individuals = list(dict.fromkeys(i for i, _ in columns))
    keypoints = list(dict.fromkeys(k for _, k in columns))
    space = _SPACE if any("z" in c for c in columns.values()) else _SPACE[:2]
    present = np.zeros((len(individuals), len(keypoints)), dtype=bool)
    positions = np.full((table.n_rows, len(individuals), len(keypoints), len(space)), np.nan)
    rated = any("likelihood" in c for c in columns.values())
    confidence = np.full(positions.shape[:3], np.inf) if rated else None
    for (individual, keypoint), coords in columns.items():
        if not all(c in coords for c in space):
            raise CorruptFileError(
                f"Keypoint {individual}/{keypoint} in {where} has no "
                f"{' and '.join(c for c in space if c not in coords)} column."
            )
        i, k = individuals.index(individual), keypoints.index(keypoint)
        present[i, k] = True
        positions[:, i, k, :] = table.take([coords[c] for c in space])
        if confidence is not None and "likelihood" in coords:
            likelihood = table.take([coords["likelihood"]])[:, 0].astype(np.float64)
            confidence[:, i, k] = np.where(np.isnan(likelihood), -np.inf, likelihood)
    return PoseData(positions, confidence, individuals, keypoints, space, source, where, present)


def read_deeplabcut_poses(path: pathlib.Path, where: str, *, trusted: bool = False) -> PoseData:
    """The poses of a DeepLabCut or LightningPose file, ``.h5`` or ``.csv`` by content.

    The file is opened with the reader :func:`~cebra_data.io.load_data` uses for its kind
    (HDF5 or csv), whatever its suffix, so every check of that reader applies.

    Raises:
        NotPoseFileError: the file holds no table with DeepLabCut's column levels.
        CorruptFileError, EmptyFileError, NonNumericDataError: see
            :func:`deeplabcut_csv_table` and :func:`deeplabcut_columns`.
    """
    with open(path, "rb") as handle:
        head = handle.read(HEAD_SIZE)
    suffix = ".h5" if hdf5_signature_offset(head) >= 0 else ".csv"
    with open_entries(path, trusted=trusted, as_suffix=suffix) as (_, _, entries):
        for entry in entries:
            value = entry.value() if entry.numeric is not False else None
            if isinstance(value, Table) and value.is_deeplabcut:
                return pose_from_deeplabcut_table(value, where)
        raise NotPoseFileError(
            f"{where} holds no poses: it is neither an NWB nor a SLEAP file, and has no "
            "DeepLabCut table (columns with levels scorer, [individuals,] bodyparts, coords). "
            f"Its entries are: {listing([e.name for e in entries])}."
        )
