"""Poses in NWB files (ndx-pose ``PoseEstimation``), read with pynwb and ndx-pose.

``pynwb`` and ``ndx-pose`` are the optional extra ``poses``
(``pip install "cebra_data[poses]"``) and are imported only when an NWB pose file is read.
Reading runs no code stored in the file.

Each ``PoseEstimation`` container of the file is one individual, named by the container
(``"<processing module>/<name>"`` when two modules use the same name). Its
``PoseEstimationSeries`` are the keypoints, in the order of the container's ``Skeleton``
nodes when it links one that names every series, else in stored order. Positions are the
series' ``data`` as stored (``conversion`` and ``offset`` are not applied, as for every NWB
entry of :func:`~cebra_data.io.load_data`); ``confidence``, where present, is the
confidence. Every series of the file must have the same number of frames.
"""

from __future__ import annotations

import contextlib
import pathlib
from collections.abc import Iterator
from typing import Any, Union

import numpy as np

from cebra_data.errors import (
    AmbiguousPosesError,
    CebraDataError,
    CorruptFileError,
    MissingDependencyError,
    NotPoseFileError,
    UnsupportedFormatVersionError,
)
from cebra_data.io import nwb as _nwb
from cebra_data.io.poses.data import POSES_EXTRA, PoseData
from cebra_data.io.reader import listing
from cebra_data.io.registry import translated_errors
from cebra_data.io.remote import is_url

__all__ = ["open_nwb", "read_nwb_poses"]

_SPACE = ("x", "y", "z")


def _keypoint_order(container: Any) -> list[str]:
    series = list(container.pose_estimation_series)
    skeleton = getattr(container, "skeleton", None)
    nodes = [str(n) for n in skeleton.nodes[:]] if skeleton is not None else []
    if nodes and set(series) <= set(nodes):
        return [n for n in nodes if n in series]
    return series


def _individual_names(containers: list[tuple[str, Any]]) -> list[str]:
    names = [c.name for _, c in containers]
    return [c.name if names.count(c.name) == 1 else f"{module}/{c.name}"
            for module, c in containers]


def _describe_contents(nwbfile: Any) -> str:
    kinds: dict[str, int] = {}
    for obj in nwbfile.objects.values():
        kind = getattr(obj, "neurodata_type", type(obj).__name__)
        kinds[kind] = kinds.get(kind, 0) + 1
    kinds.pop("NWBFile", None)
    return ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or "nothing but metadata"


@contextlib.contextmanager
def open_nwb(path: Union[str, pathlib.Path]) -> Iterator[Any]:
    """Open an NWB file (a path or URL) with ndx-pose's types registered; yield its ``NWBFile``.

    The one place this module opens a file, through :func:`cebra_data.io.nwb.open_nwb` (as
    every NWB file is opened, so URLs work); it is closed on exit.

    Raises:
        MissingDependencyError: pynwb or ndx-pose is not installed.
    """
    try:
        import ndx_pose  # noqa: F401  (registers the PoseEstimation types with pynwb)
        import pynwb  # noqa: F401  (open_nwb reads the file with it)
    except ImportError as exc:
        raise MissingDependencyError(
            f"Reading the poses of the NWB file '{path}' needs pynwb and ndx-pose, the "
            f"optional extra 'poses': {POSES_EXTRA}"
        ) from exc
    try:
        with _nwb.open_nwb(path) as nwb:
            yield nwb.nwbfile
    except ValueError as exc:
        if isinstance(exc, CebraDataError) or "ndx-pose <" not in str(exc):
            raise
        raise UnsupportedFormatVersionError(
            f"ndx-pose cannot read '{path}', written by an older ndx-pose: {exc}"
        ) from exc


def read_nwb_poses(path: Union[str, pathlib.Path], where: str) -> PoseData:
    """The ``PoseEstimation`` containers of an NWB file (a path or URL) as :class:`PoseData`.

    Raises:
        MissingDependencyError: pynwb or ndx-pose is not installed.
        NotPoseFileError: the file has no ``PoseEstimation`` (the message lists what it has).
        CorruptFileError: series of different lengths or dimensionality, or a file pynwb
            cannot read.
    """
    if is_url(path):  # open_nwb names the URL in its errors
        return _nwb_poses(path, where)
    with translated_errors(pathlib.Path(path), "NWB"):
        return _nwb_poses(path, where)


def _nwb_poses(path: Union[str, pathlib.Path], where: str) -> PoseData:
    with open_nwb(path) as nwbfile:
        containers = sorted(
            ((getattr(obj.parent, "name", ""), obj) for obj in nwbfile.objects.values()
             if getattr(obj, "neurodata_type", None) == "PoseEstimation"),
            key=lambda pair: (pair[0], pair[1].name),
        )
        if not containers:
            raise NotPoseFileError(
                f"{where} is an NWB file without poses (no ndx-pose PoseEstimation). It holds: "
                f"{_describe_contents(nwbfile)}."
            )
        individuals = _individual_names(containers)
        keypoints: list[str] = []
        for _, container in containers:
            keypoints += [k for k in _keypoint_order(container) if k not in keypoints]
        data: dict[tuple[int, int], tuple[np.ndarray, Any]] = {}
        for i, (_, container) in enumerate(containers):
            for name, series in container.pose_estimation_series.items():
                values = np.asarray(series.data[()], dtype=np.float64)
                if values.ndim == 1:
                    values = values[:, None]
                confidence = getattr(series, "confidence", None)
                rated = None if confidence is None else np.asarray(confidence[()], np.float64)
                data[(i, keypoints.index(name))] = (values, rated)
    lengths = {v.shape[0] for v, _ in data.values()}
    widths = {v.shape[1] for v, _ in data.values()}
    if len(lengths) == 1 and widths == {2, 3}:
        flat = [f"{individuals[i]}/{keypoints[k]}: {v.shape}" for (i, k), (v, _) in data.items()]
        raise AmbiguousPosesError(
            f"The PoseEstimationSeries of {where} mix 2-D and 3-D positions ({listing(flat)}), "
            "so they do not form one array of x, y (and z). Read the series with pynwb and "
            "keep the coordinates you need."
        )
    if len(lengths) > 1 or len(widths) > 1 or not widths <= {2, 3}:
        shapes = sorted({v.shape for v, _ in data.values()})
        raise CorruptFileError(
            f"The PoseEstimationSeries of {where} should all have the shape (frames, 2) or "
            f"(frames, 3) with the same number of frames, but they have shapes "
            f"{listing(shapes)}."
        )
    space = _SPACE[: widths.pop()]
    n_frames = lengths.pop()
    positions = np.full((n_frames, len(individuals), len(keypoints), len(space)), np.nan)
    present = np.zeros((len(individuals), len(keypoints)), dtype=bool)
    any_rated = any(c is not None for _, c in data.values())
    confidence_all = np.full(positions.shape[:3], np.inf) if any_rated else None
    for (i, k), (values, rated) in data.items():
        positions[:, i, k] = values
        present[i, k] = True
        if confidence_all is not None and rated is not None:
            if rated.shape != (n_frames,):
                raise CorruptFileError(
                    f"The confidence of {individuals[i]}/{keypoints[k]} in {where} has shape "
                    f"{rated.shape}; expected ({n_frames},)."
                )
            confidence_all[:, i, k] = rated
    return PoseData(positions, confidence_all, individuals, keypoints, space, "nwb", where,
                    present)
