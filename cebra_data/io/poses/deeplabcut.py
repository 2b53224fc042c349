"""DeepLabCut pose files: ``load_deeplabcut`` and the pieces ``load_data`` shares with it.

DeepLabCut stores poses as a table whose columns have three levels
``(scorer, bodyparts, coords)``, or four for multi-animal projects
``(scorer, individuals, bodyparts, coords)``; ``coords`` is ``x``, ``y`` and, in prediction
files, ``likelihood``. The same table is written as ``.h5`` (pandas HDF, "table" layout) and
as ``.csv`` with one header row per level.

Unlike CEBRA's loader, which walks the frames one by one, drops every frame that still has
a missing value, and fills missing cells only where its row-index bug lets it, this module
keeps every frame: low-likelihood and missing coordinates are filled by linear
interpolation along time, per coordinate, over whole column blocks at once.
"""

from __future__ import annotations

import pathlib
import warnings
from collections.abc import Hashable, Sequence
from typing import Any, Optional, Union

import numpy as np

from cebra_data._validation import check_float
from cebra_data.errors import (
    DataChangedWarning,
    CorruptFileError,
    EmptyFileError,
    EmptyKeypointError,
    MissingColumnError,
    NotDeepLabCutError,
)
from cebra_data.io.poses.data import check_bool, check_selection
from cebra_data.io.poses.table import (  # noqa: F401  (the csv pieces were defined here)
    deeplabcut_columns,
    deeplabcut_csv_header,
    deeplabcut_csv_table,
)
from cebra_data.io.reader import Table, listing
from cebra_data.io.registry import open_entries

__all__ = [
    "DEFAULT_PCUTOFF",
    "PoseSelection",
    "check_pcutoff",
    "deeplabcut_summary",
    "load_deeplabcut",
    "pose_from_table",
]

#: DeepLabCut's default likelihood cutoff: a keypoint whose likelihood is below it counts
#: as missing. The default of every ``pcutoff`` argument in cebra_data (and CEBRA's).
DEFAULT_PCUTOFF = 0.6


# ----------------------------------------------------------------------------- pose maths


class PoseSelection:
    """The keypoints of a DLC table that a call selects, with their column positions.

    Args:
        table: A table whose column levels are DeepLabCut's.
        keypoints: Bodypart names (``None``: all, in file order).
        individuals: Individual names for multi-animal files (``None``: all).
        where: The file, for messages.
    """

    def __init__(
        self,
        table: Table,
        keypoints: Optional[Sequence[str]],
        individuals: Optional[Sequence[str]],
        where: str,
    ) -> None:
        mapped = deeplabcut_columns(table, where)
        multi, coords, bodyparts_of = mapped.multi_animal, mapped.coords, mapped.bodyparts_of
        self.scorer = mapped.scorer
        self.multi_animal = multi
        self.all_individuals = list(bodyparts_of) if multi else None
        all_bodyparts = list(dict.fromkeys(b for bs in bodyparts_of.values() for b in bs))
        self.all_bodyparts = all_bodyparts

        if individuals is None:
            chosen = list(bodyparts_of)
        elif not multi:
            raise MissingColumnError(
                f"individuals={list(individuals)!r} was given, but {where} is a single-animal "
                "DeepLabCut file (no 'individuals' column level). Leave individuals=None."
            )
        else:
            unknown = [i for i in individuals if i not in bodyparts_of]
            if unknown:
                raise MissingColumnError(
                    f"Individual(s) {listing(unknown)} not found in {where}. Valid individuals "
                    f"are: {listing(list(bodyparts_of))}."
                )
            chosen = list(individuals)
        available = list(dict.fromkeys(b for i in chosen for b in bodyparts_of[i]))
        if keypoints is not None:
            unknown = [k for k in keypoints if k not in available]
            if unknown:
                raise MissingColumnError(
                    f"Keypoint(s) {listing(unknown)} not found in {where}. Valid keypoints "
                    f"(bodyparts) are: {listing(available)}."
                )
        self.pairs: list[tuple[Optional[Hashable], Hashable]] = [
            (individual, bodypart)
            for individual in chosen
            for bodypart in (keypoints if keypoints is not None else bodyparts_of[individual])
            if (individual, bodypart) in coords
        ]
        if individuals is not None:
            empty = [i for i in chosen if not any(p[0] == i for p in self.pairs)]
            if empty:
                raise MissingColumnError(
                    f"Individual(s) {listing(empty)} of {where} have none of the selected "
                    f"keypoints ({listing(list(keypoints or []))})."
                )
        for pair in self.pairs:
            if "x" not in coords[pair] or "y" not in coords[pair]:
                raise CorruptFileError(
                    f"Keypoint {self.label(pair)!r} in {where} has no x and y columns."
                )
        self.x = [coords[p]["x"] for p in self.pairs]
        self.y = [coords[p]["y"] for p in self.pairs]
        self.likelihood = {k: coords[p]["likelihood"] for k, p in enumerate(self.pairs)
                           if "likelihood" in coords[p]}
        #: Labels of the selected keypoints that also have a ``z`` column (3-D files).
        self.with_z = [self.label(p) for p in self.pairs if "z" in coords[p]]

    def label(self, pair: tuple[Optional[Hashable], Hashable]) -> str:
        """``"individual/bodypart"`` for multi-animal files, else ``"bodypart"``."""
        individual, bodypart = pair
        return f"{individual}/{bodypart}" if individual is not None else str(bodypart)

    @property
    def labels(self) -> list[str]:
        """One label per selected keypoint, in output order."""
        return [self.label(p) for p in self.pairs]

    def read(self, table: Table, pcutoff: float) -> tuple[np.ndarray, np.ndarray]:
        """Read the poses and their validity.

        Returns:
            ``xy`` of shape ``(frames, 2 * keypoints)`` (``x_0, y_0, x_1, ...``, a fresh
            float64 array) and ``valid`` of shape ``(frames, keypoints)``.
        """
        interleaved = [p for pair in zip(self.x, self.y) for p in pair]
        xy = table.take(interleaved)
        if not (xy.flags.owndata and xy.flags.writeable and xy.flags.c_contiguous
                and xy.dtype == np.float64):
            xy = np.array(xy, dtype=np.float64)  # a view of the table's data: copy first
        xy = np.require(xy, np.float64, ["C_CONTIGUOUS", "W"])
        valid = np.isfinite(xy[:, 0::2])
        valid &= np.isfinite(xy[:, 1::2])
        if self.likelihood:
            keys = list(self.likelihood)
            likelihood = table.take([self.likelihood[k] for k in keys])
            with np.errstate(invalid="ignore"):
                passed = likelihood >= pcutoff
            if len(keys) == len(self.pairs):
                valid &= passed
            else:
                valid[:, keys] &= passed
        return xy, valid


def _interpolate(xy: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Fill invalid frames of ``xy`` in place by linear interpolation in time, per coordinate.

    Args:
        xy: ``(frames, 2 * keypoints)`` poses, ``x_0, y_0, x_1, y_1, ...``.
        valid: ``(frames, keypoints)``; every keypoint has at least one valid frame.

    Returns:
        ``xy``. A missing frame ``t`` between valid frames ``a < t < b`` gets
        ``v[a] + (v[b] - v[a]) * (t - a) / (b - a)``; gaps before the first or after the
        last valid frame take the nearest valid value. Only keypoints with gaps are
        visited, and only their missing frames are computed.
    """
    by_keypoint = np.ascontiguousarray(valid.T)  # each keypoint's mask contiguous in time
    for j in np.flatnonzero(~by_keypoint.all(axis=1)):
        good = np.flatnonzero(by_keypoint[j])
        bad = np.flatnonzero(~by_keypoint[j])
        after = np.searchsorted(good, bad)  # first valid frame after each missing one
        right = good[np.minimum(after, len(good) - 1)]
        left = good[np.maximum(after - 1, 0)]
        span = right - left
        weight = np.divide(bad - left, span, out=np.zeros(len(bad)), where=span > 0)
        np.clip(weight, 0.0, 1.0, out=weight)  # edges: hold the nearest valid value
        for column in (2 * j, 2 * j + 1):
            start, stop = xy[left, column], xy[right, column]
            xy[bad, column] = start + (stop - start) * weight
    return xy


def pose_from_table(
    table: Table,
    keypoints: Optional[Sequence[str]] = None,
    pcutoff: float = DEFAULT_PCUTOFF,
    individuals: Optional[Sequence[str]] = None,
    where: str = "the file",
    with_mask: bool = False,
    caller: str = "load_deeplabcut",
) -> tuple[np.ndarray, Optional[np.ndarray], list[str]]:
    """Turn a DLC table into ``(poses, mask or None, labels)``; see :func:`load_deeplabcut`.

    ``caller`` is the public function the arguments came from (``"load_deeplabcut"`` or
    ``"load_data"``): messages suggest only arguments that function takes.
    """
    selection = PoseSelection(table, keypoints, individuals, where)
    if selection.with_z:
        warnings.warn(
            f"{where} is a 3-D DeepLabCut file: keypoint(s) {listing(selection.with_z)} have "
            "a z coordinate. Poses are (frames, 2 * keypoints) x and y, as in CEBRA, so z is "
            "not part of the result; cebra_data.load_pose(path) returns x, y and z.",
            DataChangedWarning,
            stacklevel=3,
        )
    if table.n_rows == 0:
        raise EmptyFileError(f"{where} has no frames.")
    xy, valid = selection.read(table, pcutoff)
    never = [selection.labels[j] for j in np.flatnonzero(~valid.any(axis=0))]
    if never:
        rated = bool(selection.likelihood)
        if caller == "load_data":
            hint = ("Leave them out with columns=[...] (the bodyparts to keep), or read the "
                    "poses with cebra_data.load_deeplabcut(path, keypoints=[...]"
                    + (", pcutoff=...)" if rated else ")"))
        else:
            hint = "Leave them out with keypoints=[...]" + (" or lower pcutoff" if rated else "")
        raise EmptyKeypointError(
            f"Keypoint(s) {listing(never)} in {where} have no valid position in any frame "
            "(every value is missing"
            + (f" or has likelihood < pcutoff={pcutoff}" if rated else "")
            + f"), so they cannot be interpolated. {hint}."
        )
    mask = np.repeat(valid, 2, axis=1) if with_mask else None
    return _interpolate(xy, valid), mask, selection.labels


def deeplabcut_summary(table: Table, pcutoff: float) -> dict[str, Any]:
    """Plain description of a DLC table for ``inspect_file``."""
    selection = PoseSelection(table, None, None, "the table")
    summary: dict[str, Any] = {
        "scorer": str(selection.scorer),
        "individuals": None if selection.all_individuals is None
        else [str(i) for i in selection.all_individuals],
        "bodyparts": [str(b) for b in selection.all_bodyparts],
        "frames": table.n_rows,
        "has_likelihood": bool(selection.likelihood),
        "pcutoff": pcutoff,
        "keypoints": [],
    }
    if table.n_rows == 0 or not selection.pairs:
        return summary
    k = len(selection.pairs)
    lik_keys = list(selection.likelihood)
    values = np.asarray(
        table.take(selection.x + selection.y + [selection.likelihood[i] for i in lik_keys]),
        dtype=np.float64,
    )
    missing = ~(np.isfinite(values[:, :k]) & np.isfinite(values[:, k:2 * k]))
    below = np.full(k, np.nan)
    if lik_keys:
        with np.errstate(invalid="ignore"):
            below[lik_keys] = (~(values[:, 2 * k:] >= pcutoff)).mean(axis=0)
    for j, (individual, bodypart) in enumerate(selection.pairs):
        summary["keypoints"].append({
            "individual": None if individual is None else str(individual),
            "bodypart": str(bodypart),
            "below_pcutoff": None if np.isnan(below[j]) else float(below[j]),
            "missing": float(missing[:, j].mean()),
        })
    return summary


# ----------------------------------------------------------------------------- public API


def check_pcutoff(pcutoff: Any) -> float:
    """Return ``pcutoff`` as a float in [0, 1] (a likelihood threshold).

    Raises:
        TypeError: ``pcutoff`` is not a real number.
        ValueError: ``pcutoff`` is not finite or outside [0, 1]; a cutoff above 1 would
            mark every keypoint as missing, one below 0 would accept every position.

    Example:
        >>> from cebra_data.io.poses.deeplabcut import check_pcutoff
        >>> check_pcutoff(0.6)
        0.6
    """
    value = check_float(pcutoff, "pcutoff")
    if not 0.0 <= value <= 1.0:
        raise ValueError(
            f"pcutoff is a likelihood threshold and should be between 0 and 1, but got "
            f"pcutoff={value}."
        )
    return value


def _as_names(value: Union[str, Sequence[str], None], name: str) -> Optional[list[str]]:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and all(isinstance(v, Hashable) for v in value):
        return check_selection(list(value), name)
    raise TypeError(
        f"{name} should be a list of names (or one name), but got {name}={value!r} of type "
        f"{type(value).__name__}."
    )


def load_deeplabcut(
    filepath: Union[str, pathlib.Path],
    keypoints: Optional[Union[str, Sequence[str]]] = None,
    pcutoff: float = DEFAULT_PCUTOFF,
    *,
    individuals: Optional[Union[str, Sequence[str]]] = None,
    return_mask: bool = False,
    trusted: bool = False,
) -> Union[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Load DeepLabCut poses as a ``(frames, 2 * keypoints)`` array, one row per video frame.

    Works on prediction files (with ``likelihood``) and labelled-data files (without it),
    single-animal and multi-animal, in ``.h5`` or ``.csv`` form (or any format
    :func:`~cebra_data.io.load_data` reads that holds a DLC DataFrame, e.g. a pickle).

    Each coordinate whose likelihood is below ``pcutoff``, or that is missing (NaN, an
    unlabelled point), is replaced by linear interpolation along time between the nearest
    valid frames of the same keypoint; gaps at the start or end take the nearest valid
    value. A keypoint is valid in a frame only when x, y and the likelihood all pass.
    **No frame is dropped**, so the result stays aligned with neural data recorded at the
    video's frame rate. (CEBRA drops frames that still hold a NaN.)

    A table whose coordinates have several scorers, or with a likelihood column for some
    keypoints and not others, is refused (``CorruptFileError``): DeepLabCut writes one
    scorer per file and a likelihood for every keypoint or none, so it is damaged.

    Args:
        filepath: The ``.h5`` or ``.csv`` file written by DeepLabCut.
        keypoints: Bodyparts to keep, in the output order. ``None`` keeps all, in file order.
        pcutoff: Likelihood threshold below which a position counts as missing
            (default :data:`DEFAULT_PCUTOFF`).
        individuals: For multi-animal files, the individuals to keep (``None``: all, in
            file order). Columns are ordered individual by individual, then by keypoint.
            A keypoint an individual does not have (e.g. DLC's ``"single"`` animal with its
            unique bodyparts) is skipped for that individual.
        return_mask: Also return the validity mask (``True``/``False``, a Python or numpy
            bool).
        trusted: Passed to the file reader (see :func:`~cebra_data.io.load_data`).

    Returns:
        ``poses`` of shape ``(frames, 2 * K)`` and dtype float64, with columns
        ``x_0, y_0, x_1, y_1, ...`` in the order of the selected keypoints. With
        ``return_mask=True``, ``(poses, mask)`` where ``mask`` has the same shape and is
        ``True`` where the value was measured and ``False`` where it was interpolated.

    Raises:
        MissingColumnError: an unknown keypoint or individual (the message lists the
            valid ones), or ``individuals`` given for a single-animal file.
        EmptyKeypointError: a selected keypoint has no valid value in any frame.
        NotDeepLabCutError: the file holds no DeepLabCut table.
        CorruptFileError: a truncated, ragged or damaged file: a column named twice,
            several scorers, likelihoods for only some keypoints, a keypoint without x or
            y (see :func:`~cebra_data.io.poses.table.deeplabcut_columns`).
        EmptyFileError: the table has no frames.
        ValueError: ``keypoints`` or ``individuals`` is empty or names something twice
            (the argument is named), or ``pcutoff`` is outside [0, 1].
        TypeError: ``return_mask`` is not a bool.

    Example:
        >>> import numpy as np, pandas as pd
        >>> from cebra_data import load_deeplabcut
        >>> columns = pd.MultiIndex.from_product(
        ...     [["me"], ["nose"], ["x", "y", "likelihood"]],
        ...     names=["scorer", "bodyparts", "coords"])
        >>> frame = pd.DataFrame([[0.0, 0.0, 0.9], [5.0, 5.0, 0.1], [2.0, 4.0, 0.9]],
        ...                      columns=columns)
        >>> path = tmp_path / "pose.csv"
        >>> frame.to_csv(path)
        >>> load_deeplabcut(path)
        array([[0., 0.],
               [1., 2.],
               [2., 4.]])
    """
    keypoints = _as_names(keypoints, "keypoints")
    individuals = _as_names(individuals, "individuals")
    pcutoff = check_pcutoff(pcutoff)
    return_mask = check_bool(return_mask, "return_mask")
    with open_entries(filepath, trusted=trusted) as (path, _, entries):
        for entry in entries:
            value = entry.value() if entry.numeric is not False else None
            if isinstance(value, Table) and value.is_deeplabcut:
                poses, mask, _ = pose_from_table(
                    value, keypoints, pcutoff, individuals, where=f"'{path}'",
                    with_mask=return_mask,
                )
                return (poses, mask) if return_mask else poses
        names = [e.name for e in entries]
        raise NotDeepLabCutError(
            f"'{path}' holds no DeepLabCut pose table (columns with levels scorer, "
            f"[individuals,] bodyparts, coords). Its entries are: {listing(names)}. "
            "Use load_data for other files."
        )

