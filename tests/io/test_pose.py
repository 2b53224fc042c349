"""load_pose on DeepLabCut, LightningPose, Anipose and movement data (no optional extras needed).

Files are the shared DeepLabCut files or written here with pandas in the tools' own layouts:
LightningPose (``lightning_pose.utils.predictions``: DeepLabCut's csv header, scorer
``"<model_type>_tracker"``, for labelled frames an extra ``set`` column) and Anipose
(``anipose.triangulate``: ``<kp>_x/_y/_z/_error/_ncams/_score``, ``M_ij``, ``center_i``,
``fnum``, written with ``index=False``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cebra_data import from_movement, load_deeplabcut, load_pose
from cebra_data.errors import (
    EmptyKeypointError,
    MissingColumnError,
    NotDeepLabCutError,
    NotPoseFileError,
    UnknownChoiceError,
)
from cebra_data.io import inspect_file
from cebra_data.io.pose_data import interpolate_gaps
from cebra_data.io.poses import detect_pose_source, read_pose
from conftest import DLC_FILES, dlc_frame


def _gappy(rng: np.random.Generator, frames: int, points: int, share: float = 0.3):
    """Positions with NaN gaps and likelihoods, every point valid at least twice."""
    values = rng.normal(100.0, 20.0, size=(frames, points, 2))
    likelihood = rng.uniform(0.0, 1.0, size=(frames, points))
    values[rng.uniform(size=(frames, points)) < share / 2] = np.nan
    likelihood[:2] = 0.95
    values[:2] = rng.normal(100.0, 20.0, size=(2, points, 2))
    return values, likelihood


def _expected_fill(raw: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """The documented gap rule with np.interp, column by column (``raw``: frames x coords)."""
    out = raw.copy()
    t = np.arange(len(raw))
    for c in range(raw.shape[1]):
        good = valid[:, c]
        out[:, c] = np.interp(t, t[good], raw[good, c])
    return out


# ----------------------------------------------------------------------------- DeepLabCut


@pytest.mark.skipif(not DLC_FILES, reason="shared DeepLabCut files not available")
@pytest.mark.parametrize("path", DLC_FILES, ids=lambda p: p.name)
def test_shared_deeplabcut_files_agree_with_load_deeplabcut_and_pandas(path):
    poses, mask = load_pose(path, return_mask=True)
    dlc, dlc_mask = load_deeplabcut(path, return_mask=True)
    assert np.array_equal(poses, dlc)
    assert np.array_equal(mask, dlc_mask[:, ::2])
    # pandas' own reading of the csv twin: same frames, same values where valid
    frame = pd.read_csv(path.with_suffix(".csv"), header=[0, 1, 2], index_col=0)
    raw = frame.to_numpy(dtype=np.float64)
    assert poses.shape == raw.shape
    finite = np.isfinite(raw)
    assert np.array_equal(np.repeat(mask, 2, axis=1), finite)
    assert np.array_equal(poses[finite], raw[finite])
    assert (not mask.all()) == ("Mackenzie" in path.name)  # Mackenzie's labels have gaps
    assert np.isfinite(poses).all()
    assert np.allclose(poses, _expected_fill(raw, finite))
    assert detect_pose_source(path) == "deeplabcut"


def test_multi_animal_deeplabcut_matches_load_deeplabcut(tmp_path, rng):
    values, likelihood = _gappy(rng, 40, 4)
    table = np.concatenate([values, likelihood[:, :, None]], axis=2).reshape(40, 12)
    frame = dlc_frame(table, ["nose", "tail"], individuals=["mouse1", "mouse2"])
    path = tmp_path / "ma.csv"
    frame.to_csv(path)
    poses, mask = load_pose(path, return_mask=True)
    dlc, dlc_mask = load_deeplabcut(path, return_mask=True)
    assert np.array_equal(poses, dlc) and np.array_equal(mask, dlc_mask[:, ::2])
    valid = np.isfinite(values).all(axis=2) & (likelihood >= 0.6)
    assert np.array_equal(mask, valid)
    flat = values.reshape(40, 8)
    assert np.allclose(poses, _expected_fill(flat, np.repeat(valid, 2, axis=1)))
    # selection and order: individuals, then keypoints
    picked = load_pose(path, keypoints=["tail", "nose"], individuals="mouse2", pcutoff=0.2)
    full = load_pose(path, pcutoff=0.2)
    assert np.array_equal(picked, full[:, [6, 7, 4, 5]])


def test_unknown_and_never_observed_names_are_named(tmp_path, rng):
    values, likelihood = _gappy(rng, 10, 2)
    likelihood[:, 1] = 0.1  # "tail" is never confident
    table = np.concatenate([values, likelihood[:, :, None]], axis=2).reshape(10, 6)
    path = tmp_path / "pose.csv"
    dlc_frame(table, ["nose", "tail"]).to_csv(path)
    with pytest.raises(MissingColumnError, match=r"'ear'.*Valid keypoints are: 'nose', 'tail'"):
        load_pose(path, keypoints=["ear"])
    with pytest.raises(MissingColumnError, match=r"'rat'.*Valid individuals are: 'individual_0'"):
        load_pose(path, individuals=["rat"])
    with pytest.raises(EmptyKeypointError, match=r"'individual_0/tail'"):
        load_pose(path)
    assert load_pose(path, keypoints="nose").shape == (10, 2)
    assert load_pose(path, pcutoff=0.05).shape == (10, 4)


def test_individuals_with_different_keypoints_read_as_load_deeplabcut(tmp_path, rng):
    frame = pd.concat([
        dlc_frame(rng.normal(size=(5, 3)), ["nose"], individuals=["mouse"]),
        dlc_frame(rng.normal(size=(5, 3)), ["corner"], individuals=["single"]),
    ], axis=1)
    frame.iloc[:, [2, 5]] = 0.9
    path = tmp_path / "unique.csv"
    frame.to_csv(path)
    # each individual contributes the keypoints it has (DeepLabCut's 'single' individual)
    np.testing.assert_array_equal(load_pose(path), load_deeplabcut(path))
    assert load_pose(path).shape == (5, 4)
    with pytest.raises(MissingColumnError, match=r"'nose' belong to none of the selected"):
        load_pose(path, individuals="single", keypoints="nose")
    assert np.array_equal(load_pose(path, individuals="single"),
                          load_deeplabcut(path, individuals=["single"]))


# ----------------------------------------------------------------------------- LightningPose


def _lightning_pose_frame(rng, frames, keypoints, model_type="heatmap"):
    """A prediction DataFrame as lightning_pose.utils.predictions builds it."""
    columns = pd.MultiIndex.from_product(
        [[f"{model_type}_tracker"], keypoints, ["x", "y", "likelihood"]],
        names=["scorer", "bodyparts", "coords"])
    values = np.zeros((frames, 3 * len(keypoints)))
    values[:, 0::3] = rng.uniform(0, 400, size=(frames, len(keypoints)))
    values[:, 1::3] = rng.uniform(0, 300, size=(frames, len(keypoints)))
    values[:, 2::3] = rng.uniform(0, 1, size=(frames, len(keypoints)))
    values[:2, 2::3] = 0.99
    return pd.DataFrame(values, columns=columns)


def test_lightning_pose_video_predictions(tmp_path, rng):
    frame = _lightning_pose_frame(rng, 30, ["paw_l", "paw_r", "nose"])
    path = tmp_path / "video_preds.csv"
    frame.to_csv(path)
    assert detect_pose_source(path) == "lightningpose"
    poses, mask = load_pose(path, return_mask=True)
    raw = frame.to_numpy()
    xy = raw[:, [c for c in range(9) if c % 3 != 2]]
    valid = raw[:, 2::3] >= 0.6
    assert np.array_equal(mask, valid)
    assert np.array_equal(poses[np.repeat(valid, 2, axis=1)], xy[np.repeat(valid, 2, axis=1)])
    assert np.allclose(poses, _expected_fill(xy, np.repeat(valid, 2, axis=1)))
    assert np.array_equal(poses, load_deeplabcut(path))


def test_lightning_pose_labelled_predictions_with_set_column(tmp_path, rng):
    frame = _lightning_pose_frame(rng, 8, ["nose", "tail"], model_type="heatmap_mhcrnn")
    frame.index = [f"labeled-data/session/img{i:03d}.png" for i in range(8)]
    frame[("set", "", "")] = np.array(["unused"] * 8)
    frame.loc[frame.index[:5], ("set", "", "")] = "train"
    path = tmp_path / "predictions.csv"
    frame.to_csv(path)
    pose = read_pose(path)
    assert (pose.source, pose.keypoints) == ("lightningpose", ["nose", "tail"])
    poses = load_pose(path, pcutoff=0.0)
    assert np.array_equal(poses, frame.iloc[:, [0, 1, 3, 4]].to_numpy(dtype=np.float64))


# ----------------------------------------------------------------------------- Anipose


def _anipose_frame(rng, frames, bodyparts):
    """A triangulation DataFrame laid out as anipose.triangulate writes it."""
    dout = pd.DataFrame()
    points = rng.normal(0.0, 10.0, size=(frames, len(bodyparts), 3))
    scores = rng.uniform(0.0, 1.0, size=(frames, len(bodyparts)))
    scores[:2] = 0.9
    ncams = np.full((frames, len(bodyparts)), 3.0)
    points[5, 0] = np.nan  # fewer than two cameras: no 3-D point, no score
    scores[5, 0] = ncams[5, 0] = np.nan
    for b, bp in enumerate(bodyparts):
        for a, axis in enumerate("xyz"):
            dout[f"{bp}_{axis}"] = points[:, b, a]
        dout[f"{bp}_error"] = rng.uniform(0, 2, size=frames)
        dout[f"{bp}_ncams"] = ncams[:, b]
        dout[f"{bp}_score"] = scores[:, b]
    for i in range(3):
        for j in range(3):
            dout[f"M_{i}{j}"] = float(i == j)
    for i in range(3):
        dout[f"center_{i}"] = 0.0
    dout["fnum"] = np.arange(frames)
    return dout, points, scores


def test_anipose_3d_csv(tmp_path, rng):
    frame, points, scores = _anipose_frame(rng, 25, ["wrist", "elbow_left", "digit_1"])
    path = tmp_path / "session.csv"
    frame.to_csv(path, index=False)
    assert detect_pose_source(path) == "anipose"
    pose = read_pose(path)
    assert pose.keypoints == ["wrist", "elbow_left", "digit_1"] and pose.space == ("x", "y", "z")
    poses, mask = load_pose(path, return_mask=True)
    assert poses.shape == (25, 9)
    valid = np.isfinite(points).all(axis=2) & (scores >= 0.6)
    assert np.array_equal(mask, valid)
    flat = points.reshape(25, 9)
    assert np.array_equal(poses[np.repeat(valid, 3, axis=1)], flat[np.repeat(valid, 3, axis=1)])
    assert np.allclose(poses, _expected_fill(flat, np.repeat(valid, 3, axis=1)))
    assert np.array_equal(load_pose(path, keypoints=["digit_1"]), poses[:, 6:9])


def test_anipose_skipped_frames_are_an_error(tmp_path, rng):
    frame, _, _ = _anipose_frame(rng, 6, ["wrist"])
    frame["fnum"] = [0, 1, 2, 4, 5, 6]
    frame.to_csv(tmp_path / "skip.csv", index=False)
    with pytest.raises(ValueError, match="fnum"):
        load_pose(tmp_path / "skip.csv")


# ----------------------------------------------------------------------------- movement


def test_from_movement_handles_any_dimension_order(rng):
    xr = pytest.importorskip("xarray", reason="xarray is part of the 'poses' extra")
    position = rng.normal(size=(20, 2, 3, 2))  # time, space, keypoints, individuals
    position[4:7, :, 1, 0] = np.nan
    confidence = rng.uniform(0.5, 1.0, size=(20, 3, 2))
    confidence[10, 2, 1] = 0.1
    confidence[11, 0, 0] = np.nan  # unrated: the position decides
    coords = {"space": ["x", "y"], "keypoints": ["a", "b", "c"], "individuals": ["m1", "m2"]}
    dataset = xr.Dataset({
        "position": (("time", "space", "keypoints", "individuals"), position),
        "confidence": (("time", "keypoints", "individuals"), confidence),
    }, coords=coords)
    poses, mask = from_movement(dataset, return_mask=True)
    reordered = dataset.transpose("individuals", "keypoints", "time", "space")
    assert np.array_equal(from_movement(reordered), poses)
    expected_valid = np.isfinite(position).all(axis=1) & ~(confidence < 0.6)
    assert np.array_equal(mask, expected_valid.transpose(0, 2, 1).reshape(20, 6))
    assert mask[11, 0] and not mask[10, 5]
    raw = position.transpose(0, 3, 2, 1).reshape(20, 12)
    assert np.allclose(poses, _expected_fill(raw, np.repeat(mask, 2, axis=1)))
    assert np.array_equal(from_movement(dataset, keypoints="c", individuals="m2"), poses[:, 10:12])
    with pytest.raises(MissingColumnError, match="Valid keypoints are: 'a', 'b', 'c'"):
        from_movement(dataset, keypoints="z")
    with pytest.raises(TypeError, match="position"):
        from_movement({"position": position})


# ----------------------------------------------------------------------------- general


def test_interpolation_matches_load_deeplabcut_exactly(tmp_path, rng):
    values, likelihood = _gappy(rng, 200, 6, share=0.6)
    table = np.concatenate([values, likelihood[:, :, None]], axis=2).reshape(200, 18)
    path = tmp_path / "pose.csv"
    dlc_frame(table, [f"k{i}" for i in range(6)]).to_csv(path)
    for pcutoff in (0.0, 0.3, 0.6, 0.9):
        assert np.array_equal(load_pose(path, pcutoff=pcutoff),
                              load_deeplabcut(path, pcutoff=pcutoff))


def test_interpolate_gaps_holds_edges_and_fills_linearly():
    values = np.array([9.0, 9.0, 2.0, 9.0, 9.0, 8.0, 9.0])[:, None, None]
    valid = np.array([False, False, True, False, False, True, False])[:, None]
    filled = interpolate_gaps(values.copy(), valid)[:, 0, 0]
    assert np.array_equal(filled, [2.0, 2.0, 2.0, 4.0, 6.0, 8.0, 8.0])


def test_files_without_poses_say_what_they_hold(tmp_path):
    import h5py

    with h5py.File(tmp_path / "neural.h5", "w") as f:
        f["spikes"] = np.zeros((3, 2))
    with pytest.raises(NotPoseFileError, match="'spikes'"):
        load_pose(tmp_path / "neural.h5")
    pd.DataFrame({"a": [1.0], "b": [2.0]}).to_csv(tmp_path / "plain.csv", index=False)
    with pytest.raises(NotPoseFileError, match="not a pose file"):
        load_pose(tmp_path / "plain.csv")
    assert issubclass(NotPoseFileError, NotDeepLabCutError)
    with pytest.raises(UnknownChoiceError, match="'anipose'"):
        load_pose(tmp_path / "plain.csv", source="openpose")


def test_source_overrides_detection(tmp_path, rng):
    frame = _lightning_pose_frame(rng, 5, ["nose"])
    frame.to_csv(tmp_path / "p.csv")
    assert read_pose(tmp_path / "p.csv", source="deeplabcut").source == "deeplabcut"
    with pytest.raises(Exception, match="p.csv"):
        load_pose(tmp_path / "p.csv", source="anipose")


def test_inspect_shows_individuals_keypoints_frames_and_gap_share(tmp_path, rng):
    frame, points, scores = _anipose_frame(rng, 10, ["wrist", "elbow"])
    path = tmp_path / "session.csv"
    frame.to_csv(path, index=False)
    poses = inspect_file(path, pcutoff=0.6)["poses"]
    assert (poses["source"], poses["frames"], poses["individuals"], poses["keypoints"]) == \
        ("anipose", 10, ["individual_0"], ["wrist", "elbow"])
    gaps = [p["gaps"] for p in poses["points"]]
    expected = (~(np.isfinite(points).all(axis=2) & (scores >= 0.6))).mean(axis=0)
    assert np.allclose(gaps, expected)
    assert "poses" not in inspect_file(tmp_path / "session.csv", key=0)
