"""``load_pose``: pose tracks from DeepLabCut, SLEAP, LightningPose, Anipose and NWB files.

The tracker is recognised from the file's content (:func:`detect_pose_source`), not its
suffix; ``source=`` names it instead (case-insensitive; movement's spellings such as
``"SLEAP"`` and ``"DeepLabCut"`` are accepted), and a file whose content is not what
``source`` names is refused with :class:`~cebra_data.errors.NotPoseFileError` saying
what the file is. Each tracker has one reader (:data:`POSE_READERS`), and every reader
runs inside the same error guard as :func:`~cebra_data.io.load_data`
(:func:`~cebra_data.io.registry.translated_errors`): whatever goes wrong in a library
while a file is read is a documented error naming the file. See
:mod:`cebra_data.io.poses.table`, :mod:`cebra_data.io.poses.anipose`,
:mod:`cebra_data.io.poses.sleap` and :mod:`cebra_data.io.poses.nwb` for each format.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Optional, Union

import numpy as np

from cebra_data.errors import NotPoseFileError, UnsupportedURLError
from cebra_data.io.poses.anipose import read_anipose_poses
from cebra_data.io.poses.data import PoseData, as_names, check_bool
from cebra_data.io.poses.deeplabcut import DEFAULT_PCUTOFF, check_pcutoff
from cebra_data.io.poses.detect import (
    POSE_SOURCES,
    TRACKER_NAMES,
    check_source,
    detect_pose_source,
    same_layout,
)
from cebra_data.io.poses.nwb import read_nwb_poses
from cebra_data.io.poses.sleap import read_sleap_analysis, read_slp
from cebra_data.io.poses.table import read_deeplabcut_poses
from cebra_data.io.reader import listing
from cebra_data.io.registry import check_file
from cebra_data.io.remote import is_url

__all__ = [
    "POSE_READERS",
    "POSE_SOURCES",
    "detect_pose_source",
    "from_movement",
    "load_pose",
    "pose_summary",
    "read_pose",
]

#: The reader of each source: ``reader(path, where) -> PoseData``.
POSE_READERS: dict[str, Callable[[pathlib.Path, str], PoseData]] = {
    "deeplabcut": read_deeplabcut_poses,
    "lightningpose": read_deeplabcut_poses,
    "anipose": read_anipose_poses,
    "sleap": read_slp,
    "sleap-analysis": read_sleap_analysis,
    "nwb": read_nwb_poses,
}


#: The readers that take ``trusted`` (HDF5 external links are followed only when true).
_TRUSTING = ("deeplabcut", "lightningpose", "sleap-analysis")


def read_pose(
    path: Union[str, pathlib.Path], *, source: Optional[str] = None, trusted: bool = False
) -> PoseData:
    """Read every pose track of a file, without selecting or filling anything.

    Args:
        path: The pose file (any suffix: the content decides).
        source: One of :data:`POSE_SOURCES` to name the tracker (``None``: detect it).
            Case and the separators ``-``, ``_`` and spaces do not matter, so movement's
            ``"DeepLabCut"``, ``"SLEAP"``, ``"LightningPose"``, ``"Anipose"`` and
            ``"NWB"`` work. DeepLabCut and LightningPose files share one layout; either
            name reads both, and names the result's ``source``.
        trusted: Follow HDF5 external links (into other files) of DeepLabCut and SLEAP
            analysis files, as :func:`~cebra_data.io.load_data` does with
            ``trusted=True``; without it such a file raises
            :class:`~cebra_data.errors.UnsafeFileError`.

    Returns:
        A :class:`~cebra_data.io.poses.data.PoseData` with NaN where nothing was measured.

    Raises:
        NotPoseFileError: the file holds no poses, or not those of ``source`` (the message
            says what the file is).
        UnknownChoiceError: an unknown ``source`` (lists the valid ones).
        CorruptFileError: the file is truncated or corrupted.
        MissingDependencyError: SLEAP ``.slp`` and NWB files need the extra ``poses``.

    Example:
        >>> import pandas as pd
        >>> from cebra_data.io.poses import read_pose
        >>> pd.DataFrame({"nose_x": [1.0], "nose_y": [2.0], "nose_z": [3.0],
        ...               "nose_score": [0.9]}).to_csv(tmp_path / "a.csv", index=False)
        >>> read_pose(tmp_path / "a.csv")
        PoseData(source='anipose', frames=1, individuals=['individual_0'], keypoints=['nose'], space=('x', 'y', 'z'))
    """
    source = check_source(source)
    if is_url(path):  # NWB is the one pose format read by URL (lazily, by byte ranges)
        if source not in (None, "nwb"):
            raise UnsupportedURLError(f"Pose files are read by URL for NWB files only, but got "
                                      f"source={source!r} for {path!r}.")
        return read_nwb_poses(path, f"'{path}'")
    path = check_file(path)
    where = f"'{path}'"
    detected = detect_pose_source(path)
    if detected is None:
        named = f"{_a(TRACKER_NAMES[source])} file" if source is not None else \
            f"a pose file of any supported tracker ({', '.join(POSE_SOURCES)})"
        raise NotPoseFileError(
            f"{where} is not {named}: it is neither HDF5 nor a csv with DeepLabCut's header "
            "rows or Anipose's <keypoint>_x/_y/_z columns. Use load_data for other files."
        )
    if source is not None and not same_layout(source, detected):
        raise NotPoseFileError(
            f"{where} is not {_a(TRACKER_NAMES[source])} file (source={source!r}): its content "
            f"is that of {_a(TRACKER_NAMES[detected])} file. Pass source={detected!r}, or leave "
            "source=None to detect the tracker."
        )
    if detected in _TRUSTING:
        pose = POSE_READERS[detected](path, where, trusted=check_bool(trusted, "trusted"))
    else:
        pose = POSE_READERS[detected](path, where)
    if source is not None:
        pose.source = source
    return pose


def _a(name: str) -> str:
    """``name`` with its indefinite article (an Anipose, an NWB, a SLEAP)."""
    return f"an {name}" if name[0] in "AEIOU" or name.startswith("NWB") else f"a {name}"


def load_pose(
    path: Union[str, pathlib.Path],
    keypoints: Optional[Union[str, Sequence[str]]] = None,
    individuals: Optional[Union[str, Sequence[str]]] = None,
    pcutoff: float = DEFAULT_PCUTOFF,
    *,
    source: Optional[str] = None,
    return_mask: bool = False,
    trusted: bool = False,
) -> Union[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Load pose tracks of any supported tracker as ``(frames, individuals * keypoints * space)``.

    Reads DeepLabCut ``.h5``/``.csv`` (single- and multi-animal), SLEAP ``.slp`` (labels
    and predictions; tracks are the individuals) and analysis ``.h5``, LightningPose
    ``.csv``, Anipose 3-D ``.csv`` and NWB files with ndx-pose ``PoseEstimation``. The
    tracker is recognised from the content (:func:`detect_pose_source`). SLEAP ``.slp`` and
    NWB files need the optional extra ``poses`` (``pip install "cebra_data[poses]"``).

    Every frame is kept. A position is a gap when a coordinate is missing (NaN) or, where
    the file rates positions (DeepLabCut/LightningPose likelihood, SLEAP and Anipose
    scores, NWB confidence), its confidence is below ``pcutoff``; SLEAP's user-labelled
    points are never gaps. Gaps are filled by linear interpolation along time between the
    keypoint's nearest valid frames, holding the first/last valid value at the edges:
    exactly :func:`~cebra_data.io.load_deeplabcut`'s rule, which gives the same numbers
    on DeepLabCut files.

    Args:
        path: The pose file.
        keypoints: Keypoints to keep, in output order (``None``: all, in file order).
        individuals: Individuals to keep, in output order (``None``: all, in file order).
            Files of one unnamed animal call it ``"individual_0"``.
        pcutoff: Confidence below which a position is a gap, in [0, 1] (default
            :data:`~cebra_data.io.poses.deeplabcut.DEFAULT_PCUTOFF`).
        source: The tracker, to check the file against (see :func:`read_pose`; ``None``:
            detect it from the content).
        return_mask: Also return the validity mask (``True``/``False``, a Python or
            numpy bool).
        trusted: Follow HDF5 external links (see :func:`read_pose`).

    Returns:
        A float64 array of shape ``(frames, individuals * keypoints * space)``, columns
        ordered individual by individual, keypoint by keypoint, then ``x, y`` (and ``z``
        for 3-D data). With ``return_mask=True``, ``(poses, mask)`` where ``mask`` has
        shape ``(frames, individuals * keypoints)`` and is ``True`` where the position was
        measured and ``False`` where it was interpolated. When individuals have different
        keypoints (DeepLabCut's multi-animal ``"single"`` individual holds only the unique
        bodyparts), each individual contributes only the selected keypoints it has, as in
        :func:`~cebra_data.io.load_deeplabcut`, which gives the same columns.

    Raises:
        MissingColumnError: an unknown keypoint or individual (the message lists the valid
            ones), a named keypoint no selected individual has, or a named individual
            without any selected keypoint.
        EmptyKeypointError: a selected keypoint is never observed (its name is given).
        NotPoseFileError: the file holds no poses, or not those of ``source`` (the message
            says what the file holds).
        CorruptFileError: the file is truncated, ragged, names a column twice or is
            otherwise corrupted; :class:`~cebra_data.errors.EmptyFileError`: it has no
            frames.
        UnsupportedFormatVersionError: a SLEAP file older than sleap-io reads.
        AmbiguousPosesError: a SLEAP file's poses are not one array (several videos ...).
        UnsafeFileError: an HDF5 file with external links and ``trusted=False``.
        ValueError: ``pcutoff`` is outside [0, 1], or ``keypoints``/``individuals`` is
            empty or names something twice (the argument is named);
            :class:`UnknownChoiceError`: an unknown ``source``.
        TypeError: ``return_mask`` or ``trusted`` is not a bool.
        MissingDependencyError: the extra ``poses`` is needed and not installed.

    Example:
        >>> import numpy as np, pandas as pd
        >>> from cebra_data import load_pose
        >>> columns = pd.MultiIndex.from_product(
        ...     [["me"], ["nose"], ["x", "y", "likelihood"]],
        ...     names=["scorer", "bodyparts", "coords"])
        >>> pd.DataFrame([[0.0, 0.0, 0.9], [5.0, 5.0, 0.1], [2.0, 4.0, 0.9]],
        ...              columns=columns).to_csv(tmp_path / "pose.csv")
        >>> poses, mask = load_pose(tmp_path / "pose.csv", return_mask=True)
        >>> poses
        array([[0., 0.],
               [1., 2.],
               [2., 4.]])
        >>> mask[:, 0]
        array([ True, False,  True])
    """
    keypoints = as_names(keypoints, "keypoints")
    individuals = as_names(individuals, "individuals")
    pcutoff = check_pcutoff(pcutoff)
    return_mask = check_bool(return_mask, "return_mask")
    pose = read_pose(path, source=source, trusted=trusted).select(keypoints, individuals)
    return pose.to_array(pcutoff, return_mask=return_mask)


def _movement_values(variable: Any, name: str, dims: tuple) -> np.ndarray:
    """A movement variable's values as float64, laid out as ``dims``, checked.

    Raises:
        ValueError: the variable has other dimensions than ``dims``, in any order.
        TypeError: its values are not real numbers (text, objects, complex).
    """
    found = tuple(variable.dims)
    if sorted(found) != sorted(dims):
        missing = [d for d in dims if d not in found]
        extra = [d for d in found if d not in dims]
        raise ValueError(
            f"The {name!r} variable of the movement dataset should have the dimensions "
            f"{list(dims)!r} (in any order), but it has {list(found)!r}"
            + (f" (missing {listing(missing)})" if missing else "")
            + (f" (not expected: {listing(extra)})" if extra else "") + "."
        )
    values = np.asarray(variable.transpose(*dims).values)
    if values.dtype.kind not in "biuf":
        raise TypeError(
            f"The {name!r} variable of the movement dataset should hold real numbers, but its "
            f"dtype is {values.dtype}."
        )
    return values.astype(np.float64, copy=False)


def from_movement(
    dataset: Any,
    keypoints: Optional[Union[str, Sequence[str]]] = None,
    individuals: Optional[Union[str, Sequence[str]]] = None,
    pcutoff: float = DEFAULT_PCUTOFF,
    *,
    return_mask: bool = False,
) -> Union[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Poses from a `movement <https://movement.neuroinformatics.dev>`_ poses dataset.

    ``dataset`` is movement's :class:`xarray.Dataset` with the variable ``position``
    (dimensions ``time``, ``space``, ``keypoints``, ``individuals``, in any order) and,
    optionally, ``confidence`` (``time``, ``keypoints``, ``individuals``). movement itself
    is not imported. Gaps and the output layout are those of :func:`load_pose`; a NaN
    confidence means the point is unrated (movement's value where the tracker gives no
    score), so the position alone decides.

    Args:
        dataset: The poses dataset.
        keypoints, individuals, pcutoff, return_mask: As in :func:`load_pose`.

    Returns:
        As :func:`load_pose`.

    Raises:
        TypeError: ``dataset`` is not a dataset with a ``position`` variable, or
            ``position``/``confidence`` hold no real numbers (text, complex).
        ValueError: ``position`` or ``confidence`` lacks one of the dimensions or has
            another one (the message names the variable), or a coordinate label repeats.
        MissingColumnError, EmptyKeypointError: as in :func:`load_pose`.

    Example:
        >>> import numpy as np, xarray as xr
        >>> from cebra_data import from_movement
        >>> position = np.array([[0.0, 0.0], [np.nan, np.nan], [2.0, 4.0]])[:, :, None, None]
        >>> dataset = xr.Dataset(
        ...     {"position": (("time", "space", "keypoints", "individuals"), position)},
        ...     coords={"space": ["x", "y"], "keypoints": ["nose"], "individuals": ["id_0"]})
        >>> from_movement(dataset)
        array([[0., 0.],
               [1., 2.],
               [2., 4.]])
    """
    keypoints = as_names(keypoints, "keypoints")
    individuals = as_names(individuals, "individuals")
    pcutoff = check_pcutoff(pcutoff)
    return_mask = check_bool(return_mask, "return_mask")
    variables = getattr(dataset, "data_vars", None)
    if not isinstance(variables, Mapping) or "position" not in variables:
        raise TypeError(
            "from_movement expects movement's poses dataset (an xarray.Dataset with a "
            f"'position' variable), but got {type(dataset).__name__}"
            + (f" with variables {listing(list(variables))}." if isinstance(variables, Mapping)
               else ".")
        )
    wanted = ("time", "individuals", "keypoints", "space")
    positions = _movement_values(dataset["position"], "position", wanted)
    confidence = None
    if "confidence" in variables:
        rated = _movement_values(dataset["confidence"], "confidence", wanted[:3])
        confidence = np.where(np.isnan(rated), np.inf, rated)
    position = dataset["position"]
    for dim in wanted[1:]:
        labels = [str(v) for v in dataset[dim].values] if dim in dataset.coords else []
        if len(set(labels)) != len(labels):
            repeated = sorted({v for v in labels if labels.count(v) > 1})
            raise ValueError(
                f"The movement dataset names the {dim} {listing(repeated)} more than once; "
                "each label must be unique."
            )
    names = {d: [str(v) for v in dataset[d].values] if d in dataset.coords
             else [str(i) for i in range(position.sizes[d])] for d in wanted[1:]}
    pose = PoseData(positions, confidence, names["individuals"], names["keypoints"],
                    names["space"], str(dataset.attrs.get("source_software") or "movement"),
                    "the movement dataset")
    return pose.select(keypoints, individuals).to_array(pcutoff, return_mask=return_mask)


def pose_summary(
    path: Union[str, pathlib.Path], pcutoff: float = DEFAULT_PCUTOFF, *,
    source: Optional[str] = None, trusted: bool = False,
) -> dict[str, Any]:
    """A plain description of a pose file, for :func:`~cebra_data.io.inspect_file`.

    Returns:
        ``source``, ``frames``, ``individuals``, ``keypoints``, ``space``,
        ``has_confidence``, ``pcutoff`` and ``points``: per individual and keypoint, the
        share of frames that are ``gaps`` (missing or below ``pcutoff``) and ``missing``
        (no position at all), and whether the file has it (``present``). ``trusted``
        is that of :func:`read_pose`.

    Example:
        >>> import pandas as pd
        >>> from cebra_data.io.poses import pose_summary
        >>> pd.DataFrame({"nose_x": [1.0, None], "nose_y": [2.0, None], "nose_z": [3.0, None],
        ...               "nose_score": [0.9, None]}).to_csv(tmp_path / "a.csv", index=False)
        >>> pose_summary(tmp_path / "a.csv")["points"]
        [{'individual': 'individual_0', 'keypoint': 'nose', 'present': True, 'gaps': 0.5, 'missing': 0.5}]
    """
    pcutoff = check_pcutoff(pcutoff)
    pose = read_pose(path, source=source, trusted=trusted)
    frames = max(pose.n_frames, 1)
    gaps = (~pose.valid(pcutoff)).sum(axis=0) / frames
    missing = (~np.isfinite(pose.positions).all(axis=3)).sum(axis=0) / frames
    points = []
    for i, individual in enumerate(pose.individuals):
        for k, keypoint in enumerate(pose.keypoints):
            points.append({
                "individual": individual, "keypoint": keypoint,
                "present": bool(pose.present[i, k]),
                "gaps": float(gaps[i, k]), "missing": float(missing[i, k]),
            })
    return {
        "source": pose.source, "frames": pose.n_frames, "individuals": pose.individuals,
        "keypoints": pose.keypoints, "space": list(pose.space),
        "has_confidence": pose.confidence is not None, "pcutoff": pcutoff, "points": points,
    }
