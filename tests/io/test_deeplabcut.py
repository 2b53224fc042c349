"""load_deeplabcut: real DLC files, multi-animal and csv inputs, interpolation, errors."""

from __future__ import annotations

import pathlib

import numpy as np
import pandas as pd
import pytest

from cebra_data import errors
from cebra_data.io import load_data, load_deeplabcut
from conftest import DLC_FILES, dlc_frame

NAN = np.nan


def _hand_made() -> pd.DataFrame:
    """Two keypoints over 6 frames; 'nose' has gaps of every kind, 'tail' has none."""
    nose_x = [NAN, 1.0, 100.0, 3.0, 5.0, NAN]
    nose_y = [0.0, 2.0, 100.0, 6.0, NAN, 12.0]
    nose_p = [0.9, 0.9, 0.1, 0.9, 0.9, 0.9]
    t = np.arange(6.0)
    values = np.column_stack([nose_x, nose_y, nose_p, t, -t, np.ones(6)])
    return dlc_frame(values, ["nose", "tail"])


def test_interpolation_values_on_a_hand_made_file(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "pose.h5"
    _hand_made().to_hdf(path, key="df_with_missing", format="table")
    poses, mask = load_deeplabcut(path, pcutoff=0.6, return_mask=True)
    # frame 0: x missing; 2: likelihood 0.1; 4: y missing; 5: x missing -> interpolate between
    # the valid frames 1 and 3, and hold the nearest valid value at the edges.
    np.testing.assert_allclose(poses[:, 0], [1, 1, 2, 3, 3, 3])
    np.testing.assert_allclose(poses[:, 1], [2, 2, 4, 6, 6, 6])
    np.testing.assert_allclose(poses[:, 2], np.arange(6.0))
    np.testing.assert_allclose(poses[:, 3], -np.arange(6.0))
    np.testing.assert_array_equal(mask[:, 0], [False, True, False, True, False, False])
    assert mask[:, 1].tolist() == mask[:, 0].tolist() and mask[:, 2:].all()
    assert poses.shape == (6, 4)  # every frame kept (CEBRA drops rows that keep a NaN)


def test_pcutoff_decides_validity(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "pose.csv"
    _hand_made().to_csv(path)
    assert load_deeplabcut(path, pcutoff=0.05)[2, 0] == 100.0  # likelihood 0.1 kept
    assert load_deeplabcut(path, pcutoff=0.6)[2, 0] == 2.0
    with pytest.raises(errors.EmptyKeypointError, match=r"\(s\) 'nose' in.*pcutoff=0.95"):
        load_deeplabcut(path, pcutoff=0.95)
    for outside in (1.5, -0.1):  # a cutoff outside [0, 1] is the caller's mistake
        with pytest.raises(ValueError, match=rf"between 0 and 1, but got pcutoff={outside}"):
            load_deeplabcut(path, pcutoff=outside)
    with pytest.raises(TypeError, match="pcutoff"):
        load_deeplabcut(path, pcutoff="high")


def test_csv_and_h5_give_the_same_result(tmp_path: pathlib.Path) -> None:
    frame = _hand_made()
    frame.to_hdf(tmp_path / "p.h5", key="df_with_missing", format="table")
    frame.to_hdf(tmp_path / "fixed.h5", key="df_with_missing", format="fixed")
    frame.to_csv(tmp_path / "p.csv")
    reference = load_deeplabcut(tmp_path / "p.h5")
    np.testing.assert_array_equal(load_deeplabcut(tmp_path / "fixed.h5"), reference)
    np.testing.assert_array_equal(load_deeplabcut(tmp_path / "p.csv"), reference)
    np.testing.assert_array_equal(load_data(tmp_path / "p.csv"), reference)


def test_keypoints_order_and_unknown_keypoints(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "pose.h5"
    _hand_made().to_hdf(path, key="df_with_missing", format="table")
    both = load_deeplabcut(path)
    np.testing.assert_array_equal(load_deeplabcut(path, keypoints=["tail", "nose"]),
                                  both[:, [2, 3, 0, 1]])
    np.testing.assert_array_equal(load_data(path, columns=["tail"]), both[:, 2:])
    with pytest.raises(errors.MissingColumnError, match=r"'ear'.*Valid keypoints \(bodyparts\) are: 'nose', 'tail'"):
        load_deeplabcut(path, keypoints=["nose", "ear"])


def test_keypoint_without_any_valid_value_is_named(tmp_path: pathlib.Path) -> None:
    values = np.column_stack([np.arange(4.0), np.arange(4.0), np.full(4, NAN), np.full(4, NAN)])
    path = tmp_path / "labels.csv"
    dlc_frame(values, ["seen", "never"], likelihood=False).to_csv(path)
    with pytest.raises(errors.EmptyKeypointError, match="'never'"):
        load_deeplabcut(path)
    np.testing.assert_array_equal(load_deeplabcut(path, keypoints=["seen"]),
                                  np.column_stack([np.arange(4.0)] * 2))


def _multi_animal() -> pd.DataFrame:
    """Two mice with bodyparts (nose, tail) plus DLC's 'single' individual with 'led'."""
    rng = np.random.default_rng(7)
    mice = dlc_frame(rng.uniform(0, 100, (5, 12)), ["nose", "tail"], individuals=["m1", "m2"])
    mice.loc[:, (slice(None), slice(None), slice(None), "likelihood")] = 0.99
    led = pd.DataFrame(
        np.column_stack([np.arange(5.0), np.arange(5.0), np.ones(5)]),
        columns=pd.MultiIndex.from_product(
            [["DLC_resnet50"], ["single"], ["led"], ["x", "y", "likelihood"]],
            names=mice.columns.names),
    )
    return pd.concat([mice, led], axis=1)


@pytest.mark.parametrize("suffix", [".h5", ".csv"])
def test_multi_animal_files(suffix: str, tmp_path: pathlib.Path) -> None:
    frame = _multi_animal()
    path = tmp_path / f"ma{suffix}"
    if suffix == ".h5":
        frame.to_hdf(path, key="df_with_missing", format="table")
    else:
        frame.to_csv(path)
    everything = load_deeplabcut(path)
    assert everything.shape == (5, 2 * 5)  # m1 nose/tail, m2 nose/tail, single led
    expected = frame.xs("x", axis=1, level="coords").to_numpy()
    np.testing.assert_allclose(everything[:, 0::2], expected)
    m2_tail = load_deeplabcut(path, keypoints="tail", individuals=["m2"])
    np.testing.assert_allclose(m2_tail, frame.loc[:, ("DLC_resnet50", "m2", "tail", ["x", "y"])])
    reordered = load_deeplabcut(path, keypoints=["tail", "nose"], individuals=["m2", "m1"])
    np.testing.assert_allclose(reordered[:, :2], m2_tail)
    with pytest.raises(errors.MissingColumnError, match=r"'m3'.*'m1', 'm2', 'single'"):
        load_deeplabcut(path, individuals=["m3"])
    with pytest.raises(errors.MissingColumnError, match=r"'led'.*'nose', 'tail'"):
        load_deeplabcut(path, keypoints=["led"], individuals=["m1"])


def test_individuals_on_a_single_animal_file(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "pose.csv"
    _hand_made().to_csv(path)
    with pytest.raises(errors.MissingColumnError, match="single-animal"):
        load_deeplabcut(path, individuals=["m1"])


def test_new_labelled_data_csv_with_three_index_columns(tmp_path: pathlib.Path) -> None:
    frame = dlc_frame(np.arange(8.0).reshape(2, 4), ["a", "b"], likelihood=False)
    frame.index = pd.MultiIndex.from_tuples(
        [("labeled-data", "video", "img0.png"), ("labeled-data", "video", "img1.png")])
    path = tmp_path / "CollectedData_me.csv"
    frame.to_csv(path)
    np.testing.assert_array_equal(load_deeplabcut(path), frame.to_numpy())


def test_dlc_frame_inside_a_pickle_and_non_dlc_files(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "pose.pkl"
    _hand_made().to_pickle(path)
    assert load_deeplabcut(path).shape == (6, 4)
    other = tmp_path / "other.npy"
    np.save(other, np.zeros((3, 2)))
    with pytest.raises(errors.NotDeepLabCutError, match="'other'"):
        load_deeplabcut(other)


def test_file_without_frames(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "empty.h5"
    dlc_frame(np.empty((0, 3)), ["nose"]).to_hdf(path, key="df_with_missing", format="fixed")
    with pytest.raises(errors.EmptyFileError, match="no frames"):
        load_deeplabcut(path)


# ----------------------------------------------------------------------------- real files


@pytest.mark.skipif(not DLC_FILES, reason="DeepLabCut sample files not available")
@pytest.mark.parametrize("path", DLC_FILES, ids=[p.name for p in DLC_FILES])
def test_real_labelled_data_files_against_pandas(path: pathlib.Path) -> None:
    if path.suffix == ".h5":
        frame = pd.read_hdf(path)
    else:
        frame = pd.read_csv(path, header=[0, 1, 2], index_col=0)
    values = frame.to_numpy(dtype=np.float64)
    poses, mask = load_deeplabcut(path, return_mask=True)
    assert poses.shape == values.shape  # every frame kept
    np.testing.assert_array_equal(poses[mask], values[mask])
    np.testing.assert_array_equal(~mask, np.isnan(values))  # x and y are missing together here
    # labelled frames are independent images, but the contract is still linear in time:
    filled = frame.astype(np.float64).reset_index(drop=True).interpolate(
        method="linear", limit_direction="both").to_numpy()
    np.testing.assert_allclose(poses, filled)
    np.testing.assert_array_equal(load_data(path), poses)
    bodyparts = list(dict.fromkeys(frame.columns.get_level_values("bodyparts")))
    subset = load_deeplabcut(path, keypoints=bodyparts[::-1][:2])
    last = bodyparts.index(bodyparts[-1])
    np.testing.assert_array_equal(subset[:, :2], poses[:, 2 * last:2 * last + 2])
