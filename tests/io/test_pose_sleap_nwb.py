"""load_pose on SLEAP (.slp, analysis .h5) and NWB files written by sleap-io and pynwb + ndx-pose.

Compared against the libraries' own readings (sleap-io's ``Labels.numpy``, pynwb's series).
Skipped with a reason when the optional extra ``poses`` is not installed.
"""

from __future__ import annotations

import sys
import warnings

import h5py
import numpy as np
import pytest

from cebra_data import load_data, load_pose
from cebra_data.errors import (
    CorruptFileError,
    MissingDependencyError,
    NonNumericDataError,
    NotPoseFileError,
)
from cebra_data.io import inspect_file
from cebra_data.io.poses import detect_pose_source, read_pose


def _expected_fill(raw, valid):
    out = raw.copy()
    t = np.arange(len(raw))
    for c in range(raw.shape[1]):
        out[:, c] = np.interp(t, t[valid[:, c]], raw[valid[:, c], c])
    return out


# ----------------------------------------------------------------------------- SLEAP


@pytest.fixture
def sio():
    return pytest.importorskip("sleap_io", reason="sleap-io (extra 'sleap') is not installed")


def _labels(sio, rng, frames=30, tracked=True):
    skeleton = sio.Skeleton(["head", "thorax", "abdomen"])
    video = sio.Video(filename="session.mp4", open_backend=False)
    tracks = [sio.Track("female"), sio.Track("male")] if tracked else []
    labelled = []
    for f in range(frames):
        instances = []
        for track in tracks or [None]:
            points = rng.uniform(0, 500, size=(3, 2))
            if rng.uniform() < 0.2:
                points[rng.integers(3)] = np.nan
            scores = rng.uniform(0.0, 1.0, size=3)
            if f < 2:
                scores[:] = 0.95
            instances.append(sio.PredictedInstance.from_numpy(
                points, skeleton=skeleton, point_scores=scores, score=1.0, track=track))
        if f == 7:  # a user-labelled instance overrides the prediction of its track
            instances.append(sio.Instance.from_numpy(np.full((3, 2), 42.0), skeleton=skeleton,
                                                     track=tracks[0] if tracks else None))
            if not tracks:
                instances = instances[1:]
        if f != 12:  # frame 12 has no labelled frame at all
            labelled.append(sio.LabeledFrame(video=video, frame_idx=f, instances=instances))
    return sio.Labels(labelled, videos=[video], skeletons=[skeleton], tracks=tracks)


@pytest.mark.parametrize("tracked", [True, False])
def test_slp_matches_sleap_io_reading(tmp_path, rng, sio, tracked):
    path = tmp_path / "predictions.slp"
    _labels(sio, rng, tracked=tracked).save(str(path))
    assert detect_pose_source(path) == "sleap"
    reading = sio.load_slp(str(path), open_videos=False).numpy(return_confidence=True)
    frames, n_tracks = reading.shape[:2]
    raw = reading[..., :2].reshape(frames, -1).astype(np.float64)
    poses, mask = load_pose(path, return_mask=True)
    assert poses.shape == (frames, n_tracks * 3 * 2) == (30, (2 if tracked else 1) * 6)
    valid = np.isfinite(reading[..., :2]).all(axis=3) & (reading[..., 2] >= 0.6)
    valid[7, 0] = True  # the user-labelled instance (sleap-io's confidence 1.0): always valid
    assert np.array_equal(mask, valid.reshape(frames, -1))
    assert not mask[12].any()  # the missing frame is a gap, kept
    xy = np.repeat(mask, 2, axis=1)
    # sleap-io's numpy() rounds to float32; the file (and load_pose) keeps float64
    assert np.array_equal(poses.astype(np.float32)[xy], reading[..., :2].reshape(frames, -1)[xy])
    assert np.allclose(poses, _expected_fill(raw, xy))
    assert np.array_equal(poses[7, :6], np.full(6, 42.0, dtype=np.float32))
    pose = read_pose(path)
    assert pose.individuals == (["female", "male"] if tracked else ["individual_0"])
    assert pose.keypoints == ["head", "thorax", "abdomen"]
    if tracked:
        assert np.array_equal(load_pose(path, keypoints="abdomen", individuals="male"),
                              poses[:, 10:12])


def test_analysis_h5_matches_slp_in_every_layout(tmp_path, rng, sio):
    labels = _labels(sio, rng)
    labels.save(str(tmp_path / "p.slp"))
    expected, expected_mask = load_pose(tmp_path / "p.slp", return_mask=True)
    for preset in ("matlab", "standard"):
        path = tmp_path / f"p.{preset}.analysis.h5"
        sio.save_analysis_h5(labels, str(path), preset=preset)
        assert detect_pose_source(path) == "sleap-analysis"
        poses, mask = load_pose(path, return_mask=True)
        assert np.array_equal(poses, expected) and np.array_equal(mask, expected_mask)
        own = sio.load_analysis_h5(str(path)).numpy()
        assert read_pose(path).positions.shape[:2] == own.shape[:2]
        assert np.allclose(read_pose(path).positions, own, equal_nan=True)
        # load_data does not guess an entry (the first array is track_occupancy, not poses)
        with pytest.raises(NonNumericDataError, match="SLEAP analysis file.*load_pose"):
            load_data(path)
        assert load_data(path, key="tracks").size == own.size  # an explicit key still reads


def test_slp_through_inspect(tmp_path, rng, sio):
    path = tmp_path / "p.slp"
    _labels(sio, rng).save(str(path))
    info = inspect_file(path)
    assert info["format"] == "sleap"
    assert info["poses"]["individuals"] == ["female", "male"]
    assert info["poses"]["frames"] == 30
    gaps = np.array([p["gaps"] for p in info["poses"]["points"]])
    assert np.allclose(gaps, 1 - load_pose(path, return_mask=True)[1].mean(axis=0))


def test_untracked_instances_beside_tracks_are_reported(tmp_path, rng, sio):
    labels = _labels(sio, rng)
    skeleton = labels.skeletons[0]
    labels.labeled_frames[3].instances.append(
        sio.PredictedInstance.from_numpy(np.ones((3, 2)), skeleton=skeleton,
                                         point_scores=np.ones(3), score=1.0))
    labels.save(str(tmp_path / "p.slp"))
    with pytest.warns(UserWarning, match="1 instance"):
        load_pose(tmp_path / "p.slp")


def test_several_untracked_instances_per_frame_are_an_error(tmp_path, rng, sio):
    labels = _labels(sio, rng, tracked=False)
    skeleton = labels.skeletons[0]
    labels.labeled_frames[3].instances.append(
        sio.PredictedInstance.from_numpy(np.ones((3, 2)), skeleton=skeleton,
                                         point_scores=np.ones(3), score=1.0))
    labels.save(str(tmp_path / "p.slp"))
    with pytest.raises(ValueError, match="Frame 3 .* 2 untracked instances"):
        load_pose(tmp_path / "p.slp")


def test_slp_without_sleap_io_names_the_extra(tmp_path, rng, sio, monkeypatch):
    _labels(sio, rng).save(str(tmp_path / "p.slp"))
    monkeypatch.setitem(sys.modules, "sleap_io", None)
    with pytest.raises(MissingDependencyError, match=r"cebra_data\[sleap\]"):
        load_pose(tmp_path / "p.slp")


# ----------------------------------------------------------------------------- NWB


@pytest.fixture
def nwb():
    pynwb = pytest.importorskip("pynwb", reason="pynwb (extra 'poses') is not installed")
    ndx_pose = pytest.importorskip("ndx_pose", reason="ndx-pose (extra 'poses') is not installed")
    return pynwb, ndx_pose


def _nwb_file(pynwb, ndx_pose, path, rng, frames=40, space=2, with_pose=True):
    import datetime

    nwbfile = pynwb.NWBFile(
        session_description="poses", identifier="mouse-1",
        session_start_time=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc))
    subject = pynwb.file.Subject(subject_id="mouse-1", species="Mus musculus")
    nwbfile.subject = subject
    behavior = nwbfile.create_processing_module("behavior", "behaviour")
    truth = {}
    if with_pose:
        nodes = ["snout", "left_ear", "tail_base"]
        skeleton = ndx_pose.Skeleton(name="mouse_skeleton", nodes=nodes,
                                     edges=np.array([[0, 1], [0, 2]], dtype="uint8"),
                                     subject=subject)
        series = []
        for name in reversed(nodes):  # stored order differs from the skeleton's
            data = rng.uniform(0, 100, size=(frames, space))
            data[rng.uniform(size=frames) < 0.1] = np.nan
            confidence = rng.uniform(0, 1, size=frames)
            confidence[:2] = 0.9
            truth[name] = (data, confidence)
            series.append(ndx_pose.PoseEstimationSeries(
                name=name, data=data, confidence=confidence, unit="pixels",
                reference_frame="top left", rate=30.0))
        behavior.add(ndx_pose.Skeletons(skeletons=[skeleton]))
        behavior.add(ndx_pose.PoseEstimation(
            name="PoseEstimation", pose_estimation_series=series, skeleton=skeleton,
            source_software="DeepLabCut", description="estimated"))
    else:
        behavior.add(pynwb.behavior.Position(spatial_series=pynwb.behavior.SpatialSeries(
            name="position", data=np.zeros((5, 2)), reference_frame="origin", rate=10.0)))
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwbfile)
    return truth


@pytest.mark.parametrize("space", [2, 3])
def test_nwb_poses_match_pynwb_reading(tmp_path, rng, nwb, space):
    pynwb, ndx_pose = nwb
    path = tmp_path / "session.nwb"
    _nwb_file(pynwb, ndx_pose, path, rng, space=space)
    assert detect_pose_source(path) == "nwb"
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        container = io.read().processing["behavior"]["PoseEstimation"]
        own = {name: (np.asarray(s.data[()]), np.asarray(s.confidence[()]))
               for name, s in container.pose_estimation_series.items()}
    pose = read_pose(path)
    assert pose.keypoints == ["snout", "left_ear", "tail_base"]  # the skeleton's order
    assert pose.individuals == ["PoseEstimation"] and len(pose.space) == space
    poses, mask = load_pose(path, return_mask=True)
    raw = np.concatenate([own[k][0] for k in pose.keypoints], axis=1)
    valid = np.stack([np.isfinite(own[k][0]).all(axis=1) & (own[k][1] >= 0.6)
                      for k in pose.keypoints], axis=1)
    assert np.array_equal(mask, valid)
    cells = np.repeat(valid, space, axis=1)
    assert np.array_equal(poses[cells], raw[cells])
    assert np.allclose(poses, _expected_fill(raw, cells))


def test_nwb_without_poses_says_what_it_holds(tmp_path, rng, nwb):
    pynwb, ndx_pose = nwb
    path = tmp_path / "neural.nwb"
    _nwb_file(pynwb, ndx_pose, path, rng, with_pose=False)
    with pytest.raises(NotPoseFileError, match="SpatialSeries"):
        load_pose(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert "poses" not in inspect_file(path)


def test_nwb_without_pynwb_names_the_extra(tmp_path, rng, nwb, monkeypatch):
    pynwb, ndx_pose = nwb
    path = tmp_path / "session.nwb"
    _nwb_file(pynwb, ndx_pose, path, rng)
    monkeypatch.setitem(sys.modules, "ndx_pose", None)
    with pytest.raises(MissingDependencyError, match=r"cebra_data\[poses\]"):
        load_pose(path)


def test_a_truncated_or_mangled_nwb_pose_file_is_corrupt(tmp_path, rng, nwb):
    pynwb, ndx_pose = nwb
    path = tmp_path / "session.nwb"
    _nwb_file(pynwb, ndx_pose, path, rng)
    data = path.read_bytes()
    (tmp_path / "cut.nwb").write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFileError, match="cut.nwb"):
        load_pose(tmp_path / "cut.nwb")
    with h5py.File(path, "a") as f:  # a series whose data is text
        node = f["processing/behavior/PoseEstimation/snout"]
        del node["data"]
        node["data"] = np.array([b"a", b"b"])
    with pytest.raises(CorruptFileError, match="session.nwb"):
        load_pose(path)
