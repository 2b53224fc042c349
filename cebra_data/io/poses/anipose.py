"""Anipose 3-D pose files (``anipose triangulate``'s ``.csv``).

Per keypoint the file has the columns ``<kp>_x, <kp>_y, <kp>_z, <kp>_error, <kp>_ncams,
<kp>_score``, followed by the rotation ``M_00 .. M_22``, ``center_0 .. center_2`` and
the frame number ``fnum``. One individual; ``<kp>_score`` is the confidence. The file is
read by the csv reader of :func:`~cebra_data.io.load_data` (whatever its suffix), so a
truncated or ragged file, an empty table and text in a column are refused as there.
"""

from __future__ import annotations

import pathlib

import numpy as np

from cebra_data.errors import CorruptFileError, NonNumericDataError, NotPoseFileError
from cebra_data.io.poses.data import UNNAMED_INDIVIDUAL, PoseData
from cebra_data.io.reader import Table, listing
from cebra_data.io.registry import open_entries

__all__ = ["anipose_keypoints", "read_anipose_poses"]

_SPACE = ("x", "y", "z")


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
            column name appears twice, or ``fnum`` does not count the rows; also a
            truncated or ragged file (see :func:`~cebra_data.io.load_data`).
        NonNumericDataError: a column that is read holds text (the column is named).
    """
    with open_entries(path, as_suffix=".csv") as (_, _, entries):
        table = entries[0].value()
        if not isinstance(table, Table):
            raise NotPoseFileError(f"{where} holds no Anipose poses (it is not a table).")
        return _poses(table, where)


def _poses(table: Table, where: str) -> PoseData:
    header = [str(c).strip() for c in table.columns]
    twice = sorted({c for c in header if header.count(c) > 1})
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


def _numbers(table: Table, positions: list[int], where: str) -> np.ndarray:
    """The given columns as float64, naming a column that holds text."""
    try:
        return np.array(table.take(positions), dtype=np.float64)
    except NonNumericDataError as exc:
        raise NonNumericDataError(f"{where}: {exc}") from None
