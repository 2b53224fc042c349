"""Pose files read without optional packages: DeepLabCut, LightningPose, Anipose, SLEAP analysis.

* DeepLabCut ``.h5``/``.csv`` (single- and multi-animal, predictions and labelled data)
  and LightningPose ``.csv`` (DeepLabCut's csv layout, scorer ``"<model>_tracker"``, and
  for labelled frames an extra text column ``set``) become a :class:`PoseData` from their
  ``(scorer, [individuals,] bodyparts, coords)`` columns; ``coords`` ``x``, ``y``,
  optionally ``z`` and ``likelihood``. Only the first scorer's columns are used, as in
  :func:`~cebra_data.io.load_deeplabcut`.
* Anipose's 3-D ``.csv`` (``triangulate``) has, per keypoint, the columns
  ``<kp>_x, <kp>_y, <kp>_z, <kp>_error, <kp>_ncams, <kp>_score`` followed by the rotation
  ``M_00 .. M_22``, ``center_0 .. center_2`` and ``fnum``. One individual; ``<kp>_score``
  is the confidence.
* SLEAP's analysis ``.h5`` (``sleap-convert --format analysis`` or sleap-io's
  ``save_analysis_h5``) stores ``tracks`` (by default ``(tracks, xy, nodes, frames)``,
  the layout named by the dataset's ``dims`` attribute when present), ``point_scores``,
  ``node_names`` and ``track_names``; it is read with h5py only. Points with a position
  and no score are user-labelled and always valid.
"""

from __future__ import annotations

import csv
import io
import json
import pathlib

import h5py
import numpy as np
import pandas as pd

from cebra_data.errors import CorruptFileError, NotPoseFileError
from cebra_data.io.poses.deeplabcut import deeplabcut_csv_header
from cebra_data.io.poses.data import PoseData
from cebra_data.io.reader import Table, listing

__all__ = [
    "UNNAMED_INDIVIDUAL",
    "anipose_keypoints",
    "pose_from_deeplabcut_table",
    "read_anipose_csv",
    "read_deeplabcut_csv",
    "read_sleap_analysis",
    "text_head_rows",
]

#: The individual's name in files that track one unnamed animal.
UNNAMED_INDIVIDUAL = "individual_0"

_SPACE = ("x", "y", "z")


# ----------------------------------------------------------------------------- DeepLabCut


def pose_from_deeplabcut_table(table: Table, where: str, source: str = "deeplabcut") -> PoseData:
    """A :class:`PoseData` from a table with DeepLabCut's column levels.

    A keypoint is valid in a frame when its coordinates are finite and, where the table
    has a ``likelihood`` column for it, the likelihood is at least the cutoff: the rule of
    :func:`~cebra_data.io.load_deeplabcut` (a missing likelihood fails).

    Raises:
        CorruptFileError: a keypoint has no ``x`` and ``y`` columns.
    """
    names = [str(n) for n in table.names]
    level = {n: i for i, n in enumerate(names)}
    multi = "individuals" in level
    scorer = table.columns[0][level["scorer"]] if table.columns else None
    columns: dict[tuple[str, str], dict[str, int]] = {}
    individuals: list[str] = []
    keypoints: list[str] = []
    for position, column in enumerate(table.columns):
        coord = str(column[level["coords"]])
        if column[level["scorer"]] != scorer or coord not in _SPACE + ("likelihood",):
            continue  # another scorer, or a non-pose column (LightningPose's "set")
        individual = str(column[level["individuals"]]) if multi else UNNAMED_INDIVIDUAL
        keypoint = str(column[level["bodyparts"]])
        if individual not in individuals:
            individuals.append(individual)
        if keypoint not in keypoints:
            keypoints.append(keypoint)
        columns.setdefault((individual, keypoint), {})[coord] = position
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
        wanted = [coords[c] for c in space]
        positions[:, i, k, :] = table.take(wanted)
        if confidence is not None and "likelihood" in coords:
            likelihood = table.take([coords["likelihood"]])[:, 0].astype(np.float64)
            confidence[:, i, k] = np.where(np.isnan(likelihood), -np.inf, likelihood)
    return PoseData(positions, confidence, individuals, keypoints, space, source, where, present)


def text_head_rows(path: pathlib.Path, n_rows: int = 4) -> list[list[str]]:
    """The first rows of a text file split into csv cells (``[]`` for a binary file)."""
    with open(path, "rb") as handle:
        head = handle.read(1 << 16)
    if b"\x00" in head:
        return []
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = head.decode("latin-1")
    lines = text.splitlines()[:n_rows]
    return [row for row in csv.reader(io.StringIO("\n".join(lines)))]


def read_deeplabcut_csv(path: pathlib.Path, where: str) -> PoseData:
    """A DeepLabCut or LightningPose csv file (DeepLabCut's header) as :class:`PoseData`."""
    rows = text_head_rows(path)
    layout = deeplabcut_csv_header(rows)
    if layout is None:
        raise CorruptFileError(f"{where} does not start with DeepLabCut's csv header rows.")
    header_rows, index_columns = layout
    levels = [r[0].strip() for r in rows[:header_rows]]
    frame = pd.read_csv(path, header=list(range(header_rows)),
                        index_col=list(range(index_columns)), engine="c")
    frame.columns = frame.columns.set_names(levels)
    table = Table.from_frame(frame)
    scorer = str(rows[0][index_columns]).strip()
    source = "lightningpose" if scorer.endswith("_tracker") and header_rows == 3 \
        else "deeplabcut"
    return pose_from_deeplabcut_table(table, where, source)


# ----------------------------------------------------------------------------- Anipose


def anipose_keypoints(header: list[str]) -> list[str]:
    """Keypoints of an Anipose csv header: names with ``_x``, ``_y`` and ``_z`` columns."""
    names = set(header)
    return [c[:-2] for c in header
            if c.endswith("_x") and f"{c[:-2]}_y" in names and f"{c[:-2]}_z" in names]


def read_anipose_csv(path: pathlib.Path, where: str) -> PoseData:
    """An Anipose 3-D csv file as :class:`PoseData` (one individual, ``x, y, z``).

    Raises:
        CorruptFileError: some keypoints have a ``_score`` column and others do not, or
            ``fnum`` does not count the rows.
    """
    frame = pd.read_csv(path)
    header = [str(c) for c in frame.columns]
    keypoints = anipose_keypoints(header)
    if not keypoints:
        raise NotPoseFileError(
            f"{where} holds no Anipose poses (no <keypoint>_x, _y, _z columns). Its columns "
            f"are: {listing(header)}."
        )
    positions = np.empty((len(frame), 1, len(keypoints), 3))
    for k, keypoint in enumerate(keypoints):
        for axis, coord in enumerate(_SPACE):
            positions[:, 0, k, axis] = frame[f"{keypoint}_{coord}"].to_numpy(dtype=np.float64)
    scored = [k for k in keypoints if f"{k}_score" in frame.columns]
    confidence = None
    if scored:
        if len(scored) != len(keypoints):
            unscored = [k for k in keypoints if k not in scored]
            raise CorruptFileError(
                f"{where} has score columns for some keypoints but not for {listing(unscored)}."
            )
        confidence = np.stack(
            [frame[f"{k}_score"].to_numpy(dtype=np.float64) for k in keypoints], axis=1
        )[:, None, :]
    if "fnum" in frame.columns:
        fnum = frame["fnum"].to_numpy()
        if len(fnum) and not np.array_equal(fnum, np.arange(fnum[0], fnum[0] + len(fnum))):
            raise CorruptFileError(
                f"The frame numbers (fnum) of {where} skip or repeat frames; expected one row "
                "per frame, in order."
            )
    return PoseData(positions, confidence, [UNNAMED_INDIVIDUAL], keypoints, _SPACE, "anipose",
                    where)


# ----------------------------------------------------------------------------- SLEAP analysis

_MATLAB_ORDER = ("track", "xy", "node", "frame")
_LEGACY_ORDER = ("frame", "node", "xy", "track")


def _decoded(values: np.ndarray) -> list[str]:
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values]


def _axes(file: h5py.File, dataset: h5py.Dataset, wanted: tuple[str, ...], where: str) -> list[int]:
    """Axis positions of ``wanted`` names in ``dataset`` (from its ``dims`` or the file's layout)."""
    if "dims" in dataset.attrs:
        dims = json.loads(dataset.attrs["dims"])
    else:
        order = _MATLAB_ORDER if bool(file.attrs.get("transpose", True)) else _LEGACY_ORDER
        dims = [d for d in order if d in wanted]
    if sorted(dims) != sorted(wanted) or len(dims) != dataset.ndim:
        raise CorruptFileError(
            f"The dataset {dataset.name!r} of {where} has dimensions {dims!r} and shape "
            f"{dataset.shape}; expected the dimensions {list(wanted)!r}."
        )
    return [dims.index(w) for w in wanted]


def read_sleap_analysis(file: h5py.File, where: str) -> PoseData:
    """A SLEAP analysis HDF5 file (opened with h5py) as :class:`PoseData`.

    Individuals are the tracks (``track_names``); a file without track names holds one
    unnamed individual.
    """
    tracks = file["tracks"]
    locations = np.transpose(tracks[()], _axes(file, tracks, ("frame", "track", "node", "xy"),
                                               where)).astype(np.float64)
    confidence = None
    if "point_scores" in file:
        scores = file["point_scores"]
        confidence = np.transpose(
            scores[()], _axes(file, scores, ("frame", "track", "node"), where)
        ).astype(np.float64)
        # user-labelled points have no score (NaN): like SLEAP's own reading, always valid
        unscored = np.isnan(confidence) & np.isfinite(locations).all(axis=3)
        confidence[unscored] = np.inf
    nodes = _decoded(file["node_names"][()])
    names = _decoded(file["track_names"][()]) if "track_names" in file else []
    n_tracks = locations.shape[1]
    if not names:
        names = [UNNAMED_INDIVIDUAL] if n_tracks == 1 else [f"track_{i}" for i in range(n_tracks)]
    if len(names) != n_tracks or len(nodes) != locations.shape[2]:
        raise CorruptFileError(
            f"{where} names {len(names)} tracks and {len(nodes)} nodes, but its tracks dataset "
            f"holds {n_tracks} tracks and {locations.shape[2]} nodes."
        )
    return PoseData(locations, confidence, names, nodes, _SPACE[:2], "sleap-analysis", where)
