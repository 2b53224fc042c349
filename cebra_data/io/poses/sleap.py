"""SLEAP files: labels and predictions (``.slp``) and analysis exports (``.h5``).

``.slp`` files are read with `sleap-io <https://io.sleap.ai>`_, the optional extra
``sleap`` (``pip install "cebra_data[sleap]"``), imported only when such a file is read.
Videos are not opened. Reading runs no code stored in the file (its metadata is JSON).
Before sleap-io sees the file, its ``metadata`` is checked: a file without
``format_id`` was written by a SLEAP older than sleap-io reads
(:class:`~cebra_data.errors.UnsupportedFormatVersionError`), a file whose metadata JSON
does not parse or lacks its skeletons is corrupted
(:class:`~cebra_data.errors.CorruptFileError`); any error while sleap-io reads is a
``CorruptFileError`` naming the file.

Tracks are the individuals, in the file's track order. In each frame a track's
user-labelled instance is preferred over its predicted one (the rule of sleap-io's
``Labels.numpy`` and of SLEAP's analysis export); user-labelled points have no score and
are always valid. A file without tracks must hold at most one instance per frame (one
unnamed individual). Frames run from 0 to the last labelled frame, or to the end of the
video when the file knows its length.

SLEAP's analysis ``.h5`` (``sleap-convert --format analysis`` or sleap-io's
``save_analysis_h5``) stores ``tracks`` (by default ``(tracks, xy, nodes, frames)``, the
layout named by the dataset's ``dims`` attribute when present), ``point_scores``,
``node_names`` and ``track_names``; it is read with h5py only. Points with a position
and no score are user-labelled and always valid.

:class:`SlpReader` is a :class:`~cebra_data.io.reader.Reader` for ``.slp`` files whose one
entry, ``poses``, is the gap-filled ``(frames, individuals * keypoints * 2)`` array of
:func:`~cebra_data.load_pose` with the default cutoff; it is not registered, so
:func:`~cebra_data.io.load_data` does not open ``.slp`` files (``inspect`` says so).
"""

from __future__ import annotations

import contextlib
import json
import pathlib
import warnings
from collections.abc import Iterator
from typing import Any

import h5py
import numpy as np

from cebra_data.errors import (
    DataChangedWarning,
    AmbiguousPosesError,
    CorruptFileError,
    MissingDependencyError,
    EmptyFileError,
    NotPoseFileError,
    UnsafeFileError,
    UnsupportedFormatVersionError,
)
from cebra_data.io.hdf5 import has_external_links, hdf5_signature_offset
from cebra_data.io.poses.data import SLEAP_EXTRA, UNNAMED_INDIVIDUAL, PoseData
from cebra_data.io.poses.deeplabcut import DEFAULT_PCUTOFF
from cebra_data.io.reader import Entry, Reader, is_numeric_dtype, listing
from cebra_data.io.registry import register_suffix_hint, translated_errors

__all__ = ["SlpReader", "check_slp_metadata", "read_sleap_analysis", "read_slp"]


register_suffix_hint(
    ".slp", "SLEAP .slp files hold poses: read them with cebra_data.load_pose(path)."
)


def check_slp_metadata(path: pathlib.Path, where: str) -> None:
    """Check the ``metadata`` of a ``.slp`` file before sleap-io reads it.

    Raises:
        NotPoseFileError: the file has no ``metadata`` group (it is no SLEAP file).
        UnsupportedFormatVersionError: the metadata has no ``format_id`` (a file of an old
            SLEAP, which sleap-io cannot read).
        CorruptFileError: the metadata JSON is missing, does not parse, or has no
            skeletons.
    """
    with h5py.File(path, "r") as file:
        metadata = file.get("metadata")
        if not isinstance(metadata, h5py.Group):
            raise NotPoseFileError(f"{where} is not a SLEAP labels file: it has no 'metadata'.")
        if "format_id" not in metadata.attrs:
            raise UnsupportedFormatVersionError(
                f"{where} was written by an old SLEAP (its metadata has no 'format_id'), a "
                "version sleap-io cannot read (it fails with KeyError: 'format_id'). Open the "
                "file in SLEAP and save it again, or export its poses with sleap-convert "
                "--format analysis, then load that file."
            )
        raw = metadata.attrs.get("json")
        if raw is None:
            raise CorruptFileError(f"The metadata of {where} has no 'json' attribute.")
        text = raw.decode("utf-8", errors="replace") if isinstance(raw, (bytes, np.bytes_)) \
            else str(raw)
        try:
            parsed = json.loads(text)
        except ValueError as exc:
            raise CorruptFileError(
                f"The metadata JSON of {where} does not parse ({exc}); the file is corrupted."
            ) from exc
        if not isinstance(parsed, dict) or not isinstance(parsed.get("skeletons"), list) \
                or not isinstance(parsed.get("nodes"), list):
            raise CorruptFileError(
                f"The metadata JSON of {where} has no lists of 'skeletons' and 'nodes'; the "
                "file is corrupted."
            )


def _load_labels(path: pathlib.Path, where: str) -> Any:
    """The file's ``sleap_io.Labels`` (videos not opened), its metadata checked first."""
    try:
        import sleap_io
    except ImportError as exc:
        raise MissingDependencyError(
            f"Reading the SLEAP file '{path}' needs sleap-io, the optional extra 'sleap': "
            f"{SLEAP_EXTRA}"
        ) from exc
    check_slp_metadata(path, where)
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
        AmbiguousPosesError: instances of several videos or skeletons, or several
            untracked instances in one frame.
        UnsupportedFormatVersionError, CorruptFileError: see :func:`check_slp_metadata`;
            any error while sleap-io reads the file is a ``CorruptFileError``.
    """
    with translated_errors(path, "SLEAP labels (.slp)"):
        return _slp_poses(_load_labels(path, where), where)


def _slp_poses(labels: Any, where: str) -> PoseData:
    frames = [lf for lf in labels.labeled_frames if len(lf.instances)]
    if not frames:
        raise NotPoseFileError(
            f"{where} is a SLEAP file without poses: it holds {len(labels.skeletons)} "
            f"skeleton(s), {len(labels.videos)} video(s), {len(labels.tracks)} track(s) and "
            f"{len(labels.labeled_frames)} labelled frame(s) with no instances."
        )
    videos = list(dict.fromkeys(lf.video for lf in frames))
    if len(videos) > 1:
        raise AmbiguousPosesError(
            f"{where} holds instances of {len(videos)} videos "
            f"({listing([getattr(v, 'filename', str(v)) for v in videos])}); load_pose reads "
            "one video's poses. Split the file per video with sleap-io first."
        )
    skeletons = list(dict.fromkeys(inst.skeleton for lf in frames for inst in lf.instances))
    if len(skeletons) > 1:
        raise AmbiguousPosesError(
            f"{where} uses {len(skeletons)} skeletons; load_pose needs one skeleton."
        )
    skeleton = skeletons[0]
    nodes = [node.name for node in skeleton.nodes]
    tracks = list(labels.tracks)
    first, last = min(lf.frame_idx for lf in frames), max(lf.frame_idx for lf in frames)
    if first < 0:
        raise CorruptFileError(f"{where} labels frame {first}; frame numbers start at 0.")
    n_frames = max(last + 1, _video_length(videos[0]))
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
                elif inst.track not in tracks:
                    raise CorruptFileError(
                        f"An instance in frame {lf.frame_idx} of {where} belongs to a track "
                        "that the file's track list does not hold."
                    )
                else:
                    chosen[tracks.index(inst.track)] = inst  # user instances come last: win
        else:
            candidates = list(lf.user_instances) or list(lf.predicted_instances)
            if len(candidates) > 1:
                raise AmbiguousPosesError(
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
            "(each track is one individual).", DataChangedWarning, stacklevel=5,
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



# ----------------------------------------------------------------------------- analysis .h5

_MATLAB_ORDER = ("track", "xy", "node", "frame")
_LEGACY_ORDER = ("frame", "node", "xy", "track")


def _decoded(values: np.ndarray) -> list[str]:
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values]


def _axes(file: h5py.File, dataset: h5py.Dataset, wanted: tuple[str, ...], where: str) -> list[int]:
    """Axis positions of ``wanted`` names in ``dataset`` (from its ``dims`` or the file's layout)."""
    if "dims" in dataset.attrs:
        raw = dataset.attrs["dims"]
        try:
            dims = json.loads(raw.decode("utf-8") if isinstance(raw, (bytes, np.bytes_))
                              else str(raw))
        except ValueError as exc:
            raise CorruptFileError(
                f"The 'dims' attribute of the dataset {dataset.name!r} in {where} is not a "
                f"JSON list of dimension names ({exc})."
            ) from exc
    else:
        order = _MATLAB_ORDER if bool(file.attrs.get("transpose", True)) else _LEGACY_ORDER
        dims = [d for d in order if d in wanted]
    if not isinstance(dims, list) or sorted(map(str, dims)) != sorted(wanted) \
            or len(dims) != dataset.ndim:
        raise CorruptFileError(
            f"The dataset {dataset.name!r} of {where} has dimensions {dims!r} and shape "
            f"{dataset.shape}; expected the dimensions {list(wanted)!r}."
        )
    if not is_numeric_dtype(dataset.dtype):
        raise CorruptFileError(
            f"The dataset {dataset.name!r} of {where} has dtype {dataset.dtype}; expected "
            "numbers."
        )
    return [dims.index(w) for w in wanted]


def read_sleap_analysis(path: pathlib.Path, where: str, *, trusted: bool = False) -> PoseData:
    """A SLEAP analysis HDF5 file as :class:`PoseData` (read with h5py).

    Individuals are the tracks (``track_names``); a file without track names holds one
    unnamed individual.

    Args:
        path: The file.
        where: The file, for messages.
        trusted: Follow HDF5 external links (into other files); as in
            :func:`~cebra_data.io.load_data`, they are refused otherwise.

    Raises:
        NotPoseFileError: the file lacks ``tracks`` or ``node_names``.
        UnsafeFileError: the file holds an external link and ``trusted`` is false.
        EmptyFileError: the file has no track or no node (no poses to read).
        CorruptFileError: the datasets' dimensions, dtypes or names disagree, or the file
            cannot be read.
    """
    with translated_errors(path, "SLEAP analysis (.h5)"), h5py.File(path, "r") as file:
        if not trusted and has_external_links(file):
            raise UnsafeFileError(
                f"{where} holds HDF5 external links, which point into other files; they are "
                "followed only with trusted=True (a crafted link can read any file on this "
                "machine). If you trust the file, pass trusted=True."
            )
        missing = [n for n in ("tracks", "node_names") if not isinstance(file.get(n), h5py.Dataset)]
        if missing:
            raise NotPoseFileError(
                f"{where} is not a SLEAP analysis file: it has no dataset {listing(missing)}."
            )
        return _analysis_poses(file, where)


def _analysis_poses(file: h5py.File, where: str) -> PoseData:
    tracks = file["tracks"]
    locations = np.transpose(tracks[()], _axes(file, tracks, ("frame", "track", "node", "xy"),
                                               where)).astype(np.float64)
    if locations.shape[3] != 2:
        raise CorruptFileError(
            f"The tracks of {where} have {locations.shape[3]} coordinates per point; SLEAP "
            "stores 2 (x, y)."
        )
    confidence = None
    if "point_scores" in file:
        scores = file["point_scores"]
        confidence = np.transpose(
            scores[()], _axes(file, scores, ("frame", "track", "node"), where)
        ).astype(np.float64)
        if confidence.shape != locations.shape[:3]:
            raise CorruptFileError(
                f"The point_scores of {where} have shape {confidence.shape} (frames, tracks, "
                f"nodes) but its tracks have {locations.shape[:3]}."
            )
        # user-labelled points have no score (NaN): like SLEAP's own reading, always valid
        unscored = np.isnan(confidence) & np.isfinite(locations).all(axis=3)
        confidence[unscored] = np.inf
    nodes = _decoded(np.atleast_1d(file["node_names"][()]))
    names = _decoded(np.atleast_1d(file["track_names"][()])) if "track_names" in file else []
    n_tracks = locations.shape[1]
    if not names:
        names = [UNNAMED_INDIVIDUAL] if n_tracks == 1 else [f"track_{i}" for i in range(n_tracks)]
    if len(names) != n_tracks or len(nodes) != locations.shape[2]:
        raise CorruptFileError(
            f"{where} names {len(names)} tracks and {len(nodes)} nodes, but its tracks dataset "
            f"holds {n_tracks} tracks and {locations.shape[2]} nodes."
        )
    if n_tracks == 0 or locations.shape[2] == 0:
        raise EmptyFileError(
            f"{where} is a SLEAP analysis file without poses: its tracks dataset holds "
            f"{n_tracks} track(s) and {locations.shape[2]} node(s)."
        )
    for what, labels in (("track", names), ("node", nodes)):
        twice = sorted({n for n in labels if labels.count(n) > 1})
        if twice:
            raise CorruptFileError(f"{where} names the {what}(s) {listing(twice)} twice.")
    return PoseData(locations, confidence, names, nodes, ("x", "y"), "sleap-analysis", where)
