"""SLEAP labels and predictions (``.slp``), read with `sleap-io <https://io.sleap.ai>`_.

``sleap-io`` is the optional extra ``poses`` (``pip install "cebra_data[poses]"``); it is
imported only when a ``.slp`` file is read. Videos are not opened. Reading a ``.slp`` file
runs no code stored in it (its metadata is JSON).

Tracks are the individuals, in the file's track order. In each frame a track's
user-labelled instance is preferred over its predicted one (the rule of sleap-io's
``Labels.numpy`` and of SLEAP's analysis export); user-labelled points have no score and
are always valid. A file without tracks must hold at most one instance per frame (one
unnamed individual). Frames run from 0 to the last labelled frame, or to the end of the
video when the file knows its length.

:class:`SlpReader` is a :class:`~cebra_data.io.reader.Reader` for ``.slp`` files whose one
entry, ``poses``, is the gap-filled ``(frames, individuals * keypoints * 2)`` array of
:func:`~cebra_data.load_pose` with the default cutoff; it is not registered (yet), so
:func:`~cebra_data.io.load_data` does not open ``.slp`` files.
"""

from __future__ import annotations

import contextlib
import pathlib
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from cebra_data.errors import MissingDependencyError, NotPoseFileError
from cebra_data.io.poses.deeplabcut import DEFAULT_PCUTOFF
from cebra_data.io.hdf5 import hdf5_signature_offset
from cebra_data.io.poses.data import POSES_EXTRA, PoseData
from cebra_data.io.poses.table import UNNAMED_INDIVIDUAL
from cebra_data.io.reader import Entry, Reader, listing

__all__ = ["SlpReader", "read_slp"]


def _load_labels(path: pathlib.Path) -> Any:
    """The file's ``sleap_io.Labels`` (videos not opened)."""
    try:
        import sleap_io
    except ImportError as exc:
        raise MissingDependencyError(
            f"Reading the SLEAP file '{path}' needs sleap-io, the optional extra 'poses': "
            f"{POSES_EXTRA}"
        ) from exc
    return sleap_io.load_slp(str(path), open_videos=False)


def _video_length(video: Any) -> int:
    try:
        return len(video)
    except (TypeError, ValueError):
        return 0


def read_slp(path: pathlib.Path, where: str) -> PoseData:
    """A SLEAP ``.slp`` file as :class:`PoseData` (see the module description for the rules).

    Raises:
        MissingDependencyError: sleap-io is not installed.
        NotPoseFileError: the file holds no instances (the message says what it holds).
        ValueError: instances of several videos or skeletons, or several untracked
            instances in one frame.
    """
    labels = _load_labels(path)
    frames = [lf for lf in labels.labeled_frames if len(lf.instances)]
    if not frames:
        raise NotPoseFileError(
            f"{where} is a SLEAP file without poses: it holds {len(labels.skeletons)} "
            f"skeleton(s), {len(labels.videos)} video(s), {len(labels.tracks)} track(s) and "
            f"{len(labels.labeled_frames)} labelled frame(s) with no instances."
        )
    videos = list(dict.fromkeys(lf.video for lf in frames))
    if len(videos) > 1:
        raise ValueError(
            f"{where} holds instances of {len(videos)} videos "
            f"({listing([getattr(v, 'filename', str(v)) for v in videos])}); load_pose reads "
            "one video's poses. Split the file per video with sleap-io first."
        )
    skeletons = list(dict.fromkeys(inst.skeleton for lf in frames for inst in lf.instances))
    if len(skeletons) > 1:
        raise ValueError(
            f"{where} uses {len(skeletons)} skeletons; load_pose needs one skeleton."
        )
    skeleton = skeletons[0]
    nodes = [node.name for node in skeleton.nodes]
    tracks = list(labels.tracks)
    n_frames = max(max(lf.frame_idx for lf in frames) + 1, _video_length(videos[0]))
    n_individuals = len(tracks) if tracks else 1
    positions = np.full((n_frames, n_individuals, len(nodes), 2), np.nan)
    confidence = np.full(positions.shape[:3], np.nan)
    untracked = 0
    for lf in frames:
        chosen: dict[int, Any] = {}
        if tracks:
            for inst in list(lf.predicted_instances) + list(lf.user_instances):
                if inst.track is None:
                    untracked += 1
                else:
                    chosen[tracks.index(inst.track)] = inst  # user instances come last: win
        else:
            candidates = list(lf.user_instances) or list(lf.predicted_instances)
            if len(candidates) > 1:
                raise ValueError(
                    f"Frame {lf.frame_idx} of {where} holds {len(candidates)} untracked "
                    "instances; load_pose reads tracked instances as individuals. Track (and "
                    "proofread) them in SLEAP, or keep one instance per frame."
                )
            chosen = {0: candidates[0]}
        for j, inst in chosen.items():
            if hasattr(inst, "score"):  # PredictedInstance
                points = inst.numpy(scores=True)
                positions[lf.frame_idx, j] = points[:, :2]
                confidence[lf.frame_idx, j] = points[:, 2]
            else:
                positions[lf.frame_idx, j] = inst.numpy()
                confidence[lf.frame_idx, j] = np.inf  # user-labelled: always valid
    if untracked:
        warnings.warn(
            f"{where} has tracks, and {untracked} instance(s) without a track were not read "
            "(each track is one individual).", UserWarning, stacklevel=3,
        )
    names = [t.name for t in tracks] if tracks else [UNNAMED_INDIVIDUAL]
    return PoseData(positions, confidence, names, nodes, ("x", "y"), "sleap", where)


class SlpReader(Reader):
    """SLEAP ``.slp`` files (HDF5), with the one entry ``poses`` (needs sleap-io)."""

    name = "slp"
    suffixes = (".slp",)
    description = "SLEAP labels (.slp)"

    def can_read(self, head: bytes) -> bool:
        return hdf5_signature_offset(head) >= 0

    @contextlib.contextmanager
    def entries(self, path: pathlib.Path, *, trusted: bool) -> Iterator[list[Entry]]:
        def poses() -> np.ndarray:
            return read_slp(path, f"'{path}'").to_array(DEFAULT_PCUTOFF)

        yield [Entry("poses", poses)]

