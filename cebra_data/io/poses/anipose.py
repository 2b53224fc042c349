"""Anipose 3-D pose files (``anipose triangulate``'s ``.csv``).

Per keypoint the file has the columns ``<kp>_x, <kp>_y, <kp>_z, <kp>_error, <kp>_ncams,
<kp>_score``, followed by the rotation ``M_00 .. M_22``, ``center_0 .. center_2`` and
the frame number ``fnum``. One individual; ``<kp>_score`` is the confidence. The file is
read by the csv reader of :func:`~cebra_data.io.load_data` (whatever its suffix), so a
truncated or ragged file, an empty table and text in a column are refused as there.

The header is checked as the file writes it (pandas would rename a second ``wrist_x``
``wrist_x.1`` and the copy would go unnoticed): a column named twice, or a keypoint with
some of ``_x, _y, _z`` and not all (a damaged header: ``el"ow_z``, ``WRIST_x``), is a
:class:`~cebra_data.errors.CorruptFileError`; any other column that is none of the above
is not read, with a :class:`~cebra_data.errors.DataChangedWarning` naming it.
"""

from __future__ import annotations

import pathlib
import re
import warnings
from typing import Optional

import numpy as np

from cebra_data.errors import (
    CorruptFileError,
    DataChangedWarning,
    NonNumericDataError,
    NotPoseFileError,
)
from cebra_data.io.poses.data import UNNAMED_INDIVIDUAL, PoseData
from cebra_data.io.reader import Table, csv_head, listing
from cebra_data.io.registry import open_entries

__all__ = ["anipose_keypoints", "read_anipose_poses"]

_SPACE = ("x", "y", "z")
#: ``<kp>_<field>`` columns of a keypoint.
_KEYPOINT_COLUMN = re.compile(r"^(.+)_(x|y|z|error|ncams|score)$")
#: The other columns anipose writes: rotation, centre and frame number.
_BOOKKEEPING = re.compile(r"^(M_[0-2][0-2]|center_[0-2]|fnum)$")


def anipose_keypoints(header: list[str]) -> list[str]:
    """Keypoints of an Anipose csv header: names with ``_x``, ``_y`` and ``_z`` columns.

    Example:
        >>> from cebra_data.io.poses.anipose import anipose_keypoints
        >>> anipose_keypoints(["paw_x", "paw_y", "paw_z", "paw_score", "fnum"])
        ['paw']
    """
    names = set(header)
    return [c[:-2] for c in header
            if c.endswith("_x") and f"{c[:-2]}_y" in names and f"{c[:-2]}_z" in names]


def read_anipose_poses(path: pathlib.Path, where: str) -> PoseData:
    """An Anipose 3-D csv file as :class:`PoseData` (one individual, ``x, y, z``).

    Raises:
        NotPoseFileError: the file has no ``<kp>_x, _y, _z`` columns.
        CorruptFileError: some keypoints have a ``_score`` column and others do not, a
            column name appears twice (in the file's header, before pandas renames the
            copy), a keypoint has some of ``_x, _y, _z`` but not all, or ``fnum`` does
            not count the rows; also a truncated or ragged file (see
            :func:`~cebra_data.io.load_data`).
        NonNumericDataError: a column that is read holds text (the column is named).

    Warns:
        DataChangedWarning: columns that are neither a keypoint's nor Anipose's
            ``M_..``, ``center_..`` and ``fnum`` are not read (they are named).
    """
    head = csv_head(path, 1)
    raw = [c.strip() for c in head[0][0]] if head is not None and head[0] else None
    with open_entries(path, as_suffix=".csv") as (_, _, entries):
        table = entries[0].value()
        if not isinstance(table, Table):
            raise NotPoseFileError(f"{where} holds no Anipose poses (it is not a table).")
        return _poses(table, where, raw)


def _poses(table: Table, where: str, raw_header: Optional[list[str]] = None) -> PoseData:
    header = [str(c).strip() for c in table.columns]
    written = raw_header if raw_header is not None else header
    twice = sorted({c for c in written if c and written.count(c) > 1})
    if twice:
        raise CorruptFileError(
            f"{where} names the column(s) {listing(twice)} more than once; which copy holds "
            "the data cannot be told."
        )
    keypoints = anipose_keypoints(header)
    if not keypoints:
        raise NotPoseFileError(
            f"{where} holds no Anipose poses (no <keypoint>_x, _y, _z columns). Its columns "
            f"are: {listing(header)}."
        )
    _check_columns(header, keypoints, where)
    column = {name: position for position, name in enumerate(header)}
    wanted = [f"{k}_{c}" for k in keypoints for c in _SPACE]
    positions = _numbers(table, [column[w] for w in wanted], where).reshape(
        table.n_rows, 1, len(keypoints), 3)
    scored = [k for k in keypoints if f"{k}_score" in column]
    confidence = None
    if scored:
        if len(scored) != len(keypoints):
            unscored = [k for k in keypoints if k not in scored]
            raise CorruptFileError(
                f"{where} has score columns for some keypoints but not for {listing(unscored)}."
            )
        confidence = _numbers(table, [column[f"{k}_score"] for k in keypoints], where)[:, None, :]
    if "fnum" in column:
        fnum = _numbers(table, [column["fnum"]], where)[:, 0]
        if len(fnum) and not np.array_equal(fnum, np.arange(fnum[0], fnum[0] + len(fnum))):
            raise CorruptFileError(
                f"The frame numbers (fnum) of {where} skip or repeat frames; expected one row "
                "per frame, in order."
            )
    return PoseData(positions, confidence, [UNNAMED_INDIVIDUAL], keypoints, _SPACE, "anipose",
                    where)


def _check_columns(header: list[str], keypoints: list[str], where: str) -> None:
    """Refuse keypoints with part of ``_x, _y, _z``; warn about columns that are not read."""
    known = set(keypoints)
    partial: dict[str, list[str]] = {}
    ignored: list[str] = []
    for name in header:
        match = _KEYPOINT_COLUMN.match(name)
        if match and match.group(1) in known or _BOOKKEEPING.match(name):
            continue
        if match and match.group(2) in _SPACE:
            partial.setdefault(match.group(1), []).append(match.group(2))
        else:
            ignored.append(name)
    if partial:
        described = [f"{k!r} (has {', '.join('_' + c for c in cs)}; lacks "
                     f"{', '.join('_' + c for c in _SPACE if c not in cs)})"
                     for k, cs in partial.items()]
        raise CorruptFileError(
            f"{where} has coordinate columns of keypoint(s) without all of _x, _y and _z: "
            f"{', '.join(described)}. Anipose writes the three for every keypoint, so the "
            "header is damaged; reading the other keypoints would silently drop these."
        )
    if ignored:
        warnings.warn(
            f"{where}: the column(s) {listing(ignored)} are neither a keypoint's "
            "(<keypoint>_x, _y, _z, _error, _ncams, _score) nor Anipose's M_.., center_.. "
            "and fnum, and are not read.",
            DataChangedWarning,
            stacklevel=5,
        )


def _numbers(table: Table, positions: list[int], where: str) -> np.ndarray:
    """The given columns as float64, naming a column that holds text."""
    try:
        return np.array(table.take(positions), dtype=np.float64)
    except NonNumericDataError as exc:
        raise NonNumericDataError(f"{where}: {exc}") from None
