"""Pose tracks in one layout, whichever tracker wrote them: :class:`PoseData`.

Every pose reader of :mod:`cebra_data.io` (DeepLabCut, LightningPose, Anipose, SLEAP, NWB)
returns a :class:`PoseData`: positions of shape ``(frames, individuals, keypoints, space)``
with NaN where nothing was measured, and, where the file has them, confidences of shape
``(frames, individuals, keypoints)``. :meth:`PoseData.select` picks individuals and
keypoints by name, :meth:`PoseData.valid` applies the confidence cutoff and
:meth:`PoseData.to_array` fills the gaps with the rule of
:func:`~cebra_data.io.load_deeplabcut`: linear interpolation along time, per coordinate,
with the first and last valid values held at the edges.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Optional, Union

import numpy as np

from cebra_data.errors import (
    EmptyFileError,
    EmptyKeypointError,
    MissingColumnError,
)
from cebra_data.io.reader import listing

__all__ = [
    "POSES_EXTRA",
    "SLEAP_EXTRA",
    "UNNAMED_INDIVIDUAL",
    "PoseData",
    "as_names",
    "check_bool",
    "check_selection",
    "interpolate_gaps",
]

#: The individual's name in files that track one unnamed animal.
UNNAMED_INDIVIDUAL = "individual_0"

#: How to install the optional readers of SLEAP ``.slp`` and NWB pose files.
POSES_EXTRA = 'pip install "cebra_data[poses]"'
#: sleap-io, for ``.slp`` files: its own extra, as it brings video and rendering libraries.
SLEAP_EXTRA = 'pip install "cebra_data[sleap]"'


def as_names(value: Union[str, Sequence[str], None], name: str) -> Optional[list[str]]:
    """``None``, one name or a list of names, as ``None`` or a list of strings.

    Raises:
        TypeError: ``value`` is neither a name nor a list or tuple of names.
        ValueError: ``value`` is empty (it would select nothing), or names something twice.

    Example:
        >>> from cebra_data.io.poses.data import as_names
        >>> as_names("nose", "keypoints"), as_names(("nose", "tail"), "keypoints")
        (['nose'], ['nose', 'tail'])
    """
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and all(isinstance(v, Hashable) for v in value):
        return check_selection([str(v) for v in value], name)
    raise TypeError(
        f"{name} should be a list of names (or one name), but got {name}={value!r} of type "
        f"{type(value).__name__}."
    )


def check_selection(names: list, name: str) -> list:
    """``names`` (a ``keypoints=`` or ``individuals=`` list), refused if empty or repeating.

    Raises:
        ValueError: the list is empty (``None`` selects all), or names something twice
            (the output would hold the same columns twice).
    """
    if not names:
        raise ValueError(
            f"{name}=[] selects nothing, so there would be no poses; pass {name}=None to "
            f"keep all, or name the {name} to keep."
        )
    twice = list(dict.fromkeys(n for n in names if names.count(n) > 1))
    if twice:
        raise ValueError(
            f"{name}= names {listing([str(n) for n in twice])} more than once; each "
            f"{name[:-1]} can be selected once."
        )
    return names


def check_bool(value: object, name: str) -> bool:
    """``value`` as a bool: ``True``/``False`` or a numpy bool, nothing else.

    Raises:
        TypeError: ``value`` is not a bool (``"yes"``, ``1`` and ``None`` are refused).

    Example:
        >>> import numpy as np
        >>> from cebra_data.io.poses.data import check_bool
        >>> check_bool(np.True_, "return_mask")
        True
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(
        f"{name} should be True or False, but got {name}={value!r} of type "
        f"{type(value).__name__}."
    )


def interpolate_gaps(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Fill the invalid frames of ``values`` in place, along time, per coordinate.

    The rule of :func:`~cebra_data.io.load_deeplabcut`: a missing frame ``t`` between
    valid frames ``a < t < b`` gets ``v[a] + (v[b] - v[a]) * (t - a) / (b - a)``; frames
    before the first or after the last valid one take the nearest valid value.

    Args:
        values: ``(frames, points, space)`` float64 array, written in place.
        valid: ``(frames, points)`` boolean mask; every point has a valid frame.

    Returns:
        ``values``.

    Example:
        >>> import numpy as np
        >>> from cebra_data.io.poses.data import interpolate_gaps
        >>> values = np.array([[[0.0]], [[9.0]], [[2.0]], [[9.0]]])
        >>> valid = np.array([[True], [False], [True], [False]])
        >>> interpolate_gaps(values, valid)[:, 0, 0]
        array([0., 1., 2., 2.])
    """
    by_point = np.ascontiguousarray(valid.T)
    for j in np.flatnonzero(~by_point.all(axis=1)):
        good = np.flatnonzero(by_point[j])
        bad = np.flatnonzero(~by_point[j])
        after = np.searchsorted(good, bad)
        right = good[np.minimum(after, len(good) - 1)]
        left = good[np.maximum(after - 1, 0)]
        span = right - left
        weight = np.divide(bad - left, span, out=np.zeros(len(bad)), where=span > 0)
        np.clip(weight, 0.0, 1.0, out=weight)
        for axis in range(values.shape[2]):
            start, stop = values[left, j, axis], values[right, j, axis]
            values[bad, j, axis] = start + (stop - start) * weight
    return values


class PoseData:
    """Pose tracks of one file: positions, confidences and their names.

    Args:
        positions: ``(frames, individuals, keypoints, space)`` float array, NaN where a
            position was not measured.
        confidence: ``(frames, individuals, keypoints)`` float array or ``None`` when the
            file has no confidences. A position whose confidence is below the cutoff (or
            NaN) counts as missing.
        individuals: One name per individual.
        keypoints: One name per keypoint.
        space: The coordinate names, ``("x", "y")`` or ``("x", "y", "z")``.
        source: The tracker, e.g. ``"deeplabcut"``.
        where: The file, for messages.
        present: ``(individuals, keypoints)`` boolean array: whether the file has this
            keypoint for this individual at all (``None``: all present).

    Raises:
        ValueError: the shapes and names disagree.

    Example:
        >>> import numpy as np
        >>> from cebra_data.io.poses.data import PoseData
        >>> positions = np.array([[0.0, 0.0], [np.nan, np.nan], [2.0, 4.0]])[:, None, None, :]
        >>> pose = PoseData(positions, None, ["mouse"], ["nose"], ("x", "y"), "example")
        >>> pose.to_array(pcutoff=0.6)
        array([[0., 0.],
               [1., 2.],
               [2., 4.]])
    """

    def __init__(
        self,
        positions: np.ndarray,
        confidence: Optional[np.ndarray],
        individuals: Sequence[str],
        keypoints: Sequence[str],
        space: Sequence[str],
        source: str,
        where: str = "the file",
        present: Optional[np.ndarray] = None,
    ) -> None:
        positions = np.asarray(positions, dtype=np.float64)
        expected = (len(individuals), len(keypoints), len(space))
        if positions.ndim != 4 or positions.shape[1:] != expected:
            raise ValueError(
                f"positions of {where} should have shape (frames, {expected[0]}, "
                f"{expected[1]}, {expected[2]}) for individuals {list(individuals)!r}, keypoints "
                f"{list(keypoints)!r} and space {list(space)!r}, but has shape {positions.shape}."
            )
        if confidence is not None:
            confidence = np.asarray(confidence, dtype=np.float64)
            if confidence.shape != positions.shape[:3]:
                raise ValueError(
                    f"confidence of {where} should have shape {positions.shape[:3]}, but has "
                    f"shape {confidence.shape}."
                )
        for what, names in (("individual", individuals), ("keypoint", keypoints)):
            duplicates = sorted({n for n in names if list(names).count(n) > 1})
            if duplicates:
                raise ValueError(f"{where} names the {what}(s) {listing(duplicates)} twice.")
        self.positions = positions
        self.confidence = confidence
        self.individuals = [str(i) for i in individuals]
        self.keypoints = [str(k) for k in keypoints]
        self.space = tuple(str(s) for s in space)
        self.source = source
        self.where = where
        self.present = (np.ones(expected[:2], dtype=bool) if present is None
                        else np.asarray(present, dtype=bool))

    @property
    def n_frames(self) -> int:
        """Number of frames."""
        return self.positions.shape[0]

    def select(
        self,
        keypoints: Optional[Sequence[str]] = None,
        individuals: Optional[Sequence[str]] = None,
    ) -> PoseData:
        """The poses of the named individuals and keypoints, in the order given.

        Args:
            keypoints: Keypoint names (``None``: those the selected individuals have, in
                file order).
            individuals: Individual names (``None``: all, in file order).

        Returns:
            A new :class:`PoseData` (the arrays are copies).

        Individuals may have different keypoints (DeepLabCut's ``"single"`` individual
        holds only the unique bodyparts): a selected keypoint an individual does not have
        is skipped for that individual (:attr:`present` is false there, and
        :meth:`to_array` leaves the pair out), as :func:`~cebra_data.io.load_deeplabcut`
        does.

        Raises:
            MissingColumnError: a name is not in the file (the message lists the valid ones),
                a named keypoint belongs to none of the selected individuals, or a named
                individual has none of the selected keypoints.
        """
        chosen_i = self._positions_of(individuals, self.individuals, "Individual", "individuals")
        chosen_k = self._positions_of(keypoints, self.keypoints, "Keypoint", "keypoints")
        if keypoints is None:  # the keypoints the chosen individuals have
            chosen_k = [k for k in chosen_k if self.present[chosen_i, k].any()]
        present = self.present[np.ix_(chosen_i, chosen_k)]
        unowned = [self.keypoints[k] for b, k in enumerate(chosen_k) if not present[:, b].any()]
        if unowned:
            raise MissingColumnError(
                f"Keypoint(s) {listing(unowned)} belong to none of the selected individuals "
                f"({listing([self.individuals[i] for i in chosen_i])}) in {self.where}."
            )
        empty = [self.individuals[i] for a, i in enumerate(chosen_i) if not present[a].any()]
        if individuals is not None and empty:
            raise MissingColumnError(
                f"Individual(s) {listing(empty)} of {self.where} have none of the selected "
                f"keypoints ({listing([self.keypoints[k] for k in chosen_k])})."
            )
        positions = self.positions[:, chosen_i][:, :, chosen_k]
        confidence = (None if self.confidence is None
                      else self.confidence[:, chosen_i][:, :, chosen_k])
        return PoseData(positions, confidence, [self.individuals[i] for i in chosen_i],
                        [self.keypoints[k] for k in chosen_k], self.space, self.source,
                        self.where, present)

    def _positions_of(
        self, wanted: Optional[Sequence[str]], names: list[str], what: str, argument: str
    ) -> list[int]:
        if wanted is None:
            return list(range(len(names)))
        unknown = [w for w in wanted if w not in names]
        if unknown:
            raise MissingColumnError(
                f"{what}(s) {listing(unknown)} not found in {self.where} ({self.source}). "
                f"Valid {argument} are: {listing(names)}."
            )
        return [names.index(w) for w in wanted]

    def valid(self, pcutoff: float) -> np.ndarray:
        """``(frames, individuals, keypoints)``: measured, and confident enough where rated.

        A position is valid when all its coordinates are finite and, where the file has
        confidences, its confidence is at least ``pcutoff`` (a NaN confidence fails).
        """
        valid = np.isfinite(self.positions).all(axis=3)
        if self.confidence is not None:
            with np.errstate(invalid="ignore"):
                valid &= self.confidence >= pcutoff
        return valid

    def to_array(
        self, pcutoff: float, return_mask: bool = False
    ) -> Union[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """The gap-filled poses as ``(frames, points * space)``.

        The points are the ``(individual, keypoint)`` pairs the file has (:attr:`present`):
        ``individuals * keypoints`` of them when every individual has every keypoint.
        Columns are ordered individuals, then keypoints, then space.

        Args:
            pcutoff: Confidence below which a position counts as missing.
            return_mask: Also return the ``(frames, points)`` validity mask.

        Returns:
            A float64 array the caller owns, or ``(poses, mask)``.

        Raises:
            EmptyFileError: the file has no frames.
            EmptyKeypointError: a keypoint is never observed (its name is in the message).
        """
        frames = self.n_frames
        if frames == 0:
            raise EmptyFileError(f"{self.where} ({self.source}) has no frames.")
        points = np.flatnonzero(self.present.reshape(-1))
        n_points = len(points)
        valid = self.valid(pcutoff).reshape(frames, -1)[:, points]
        never = np.flatnonzero(~valid.any(axis=0))
        if len(never):
            labels = self.labels()
            missing = "" if self.confidence is None else f" or has confidence < pcutoff={pcutoff}"
            raise EmptyKeypointError(
                f"Keypoint(s) {listing([labels[j] for j in never])} in {self.where} "
                f"({self.source}) have no valid position in any frame (every value is "
                f"missing{missing}), so they cannot be interpolated. Leave them out with "
                "keypoints=[...] or individuals=[...]"
                + (" or lower pcutoff." if self.confidence is not None else ".")
            )
        values = np.array(self.positions.reshape(frames, -1, len(self.space))[:, points],
                          dtype=np.float64, order="C")
        interpolate_gaps(values, valid)
        poses = values.reshape(frames, n_points * len(self.space))
        return (poses, valid) if return_mask else poses

    def labels(self) -> list[str]:
        """``"individual/keypoint"`` for every point the file has, in output order."""
        return [f"{i}/{k}" for a, i in enumerate(self.individuals)
                for b, k in enumerate(self.keypoints) if self.present[a, b]]

    def __repr__(self) -> str:
        return (f"PoseData(source={self.source!r}, frames={self.n_frames}, "
                f"individuals={self.individuals!r}, keypoints={self.keypoints!r}, "
                f"space={self.space!r})")
