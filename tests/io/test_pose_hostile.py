"""Hostile input for the pose readers and the newer file paths, one test per class of file.

In the style of ``test_load_data.py``: every case asserts either an exact exception type
whose message names the file and the problem, or equality with the reference reader
(pandas, h5py, scipy, joblib, sleap-io, movement's conventions). All files are written in
``tmp_path``; the real DeepLabCut files of ``../shared`` are used where present.
"""

from __future__ import annotations

import json
import os
import pathlib
import pickle
import shutil
import struct
import warnings

import h5py
import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.io

import cebra_data
from cebra_data import from_movement, load_data, load_deeplabcut, load_pose
from cebra_data.errors import (
    AmbiguousPosesError,
    CorruptFileError,
    EmptyFileError,
    EmptyKeypointError,
    NonNumericDataError,
    NotPoseFileError,
    UnknownChoiceError,
    UnsupportedFileFormatError,
    UnsupportedFormatVersionError,
)
from cebra_data.io import inspect_file
from cebra_data.io.poses import detect_pose_source, read_pose
from conftest import DLC_FILES, dlc_frame, raises_naming_file

ENTRY_POINTS = {
    "load_pose": lambda p: load_pose(p),
    "load_deeplabcut": lambda p: load_deeplabcut(p),
    "load_data": lambda p: load_data(p),
}


def _dlc_csv(path: pathlib.Path, rng: np.random.Generator, frames: int = 6) -> pathlib.Path:
    values = rng.uniform(1.0, 100.0, size=(frames, 6))
    values[:, 2::3] = 0.9
    dlc_frame(values, ["nose", "tail"]).to_csv(path)
    return path


# ----------------------------------------------------------------------------- tables


@pytest.mark.skipif(not DLC_FILES, reason="shared DeepLabCut files not available")
@pytest.mark.parametrize("call", ENTRY_POINTS)
def test_a_csv_cut_in_its_last_row_is_truncated_for_every_entry_point(tmp_path, call):
    source = next(p for p in DLC_FILES if p.suffix == ".csv")
    path = tmp_path / "cut.csv"
    path.write_bytes(source.read_bytes()[:-25])  # the real file, cut inside its last row
    raises_naming_file(ENTRY_POINTS[call], path, CorruptFileError, "truncated")


@pytest.mark.parametrize("call", ENTRY_POINTS)
def test_a_ragged_row_is_refused_not_padded(tmp_path, rng, call):
    path = _dlc_csv(tmp_path / "ragged.csv", rng)
    lines = path.read_text().splitlines(keepends=True)
    lines[5] = ",".join(lines[5].split(",")[:-2]) + "\n"  # two cells short
    path.write_text("".join(lines))
    raises_naming_file(ENTRY_POINTS[call], path, CorruptFileError, "Line 6", "5 field(s)", "7")


@pytest.mark.parametrize("call", ENTRY_POINTS)
def test_a_header_without_frames_is_an_empty_file(tmp_path, rng, call):
    path = _dlc_csv(tmp_path / "zero.csv", rng)
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:3]))
    raises_naming_file(ENTRY_POINTS[call], path, EmptyFileError, "no frame")


@pytest.mark.parametrize("call", ENTRY_POINTS)
def test_a_column_named_twice_is_refused_by_every_entry_point(tmp_path, rng, call):
    columns = pd.MultiIndex.from_tuples(
        [("s", "nose", c) for c in ("x", "y", "likelihood")] * 2,
        names=["scorer", "bodyparts", "coords"])
    path = tmp_path / "twice.csv"
    pd.DataFrame(rng.uniform(0.7, 1.0, size=(4, 6)), columns=columns).to_csv(path)
    raises_naming_file(ENTRY_POINTS[call], path, CorruptFileError, "('s', 'nose', 'x')", "more than once")


def test_a_pose_hdf5_with_a_column_named_twice_is_refused_alike(tmp_path, rng):
    pytest.importorskip("tables")
    columns = pd.MultiIndex.from_product([["s"], ["ear", "nose"], ["x", "y", "likelihood"]],
                                         names=["scorer", "bodyparts", "coords"])
    path = tmp_path / "twice.h5"
    pd.DataFrame(rng.uniform(0.7, 1.0, (4, 6)), columns=columns).to_hdf(path, key="df")
    with h5py.File(path, "a") as f:  # 'ear' becomes a second 'nose'
        f["df/axis0_label1"][...] = 1
        f["df/block0_items_label1"][...] = 1
    with pytest.raises(Exception):
        pd.read_hdf(path)  # pandas refuses it too
    for call in ENTRY_POINTS.values():
        raises_naming_file(call, path, cebra_data.errors.UnsafeFileError, "duplicate column labels")


def test_a_multi_animal_header_with_rows_of_different_lengths(tmp_path):
    path = tmp_path / "madlc.csv"  # the header row 'scorer' lacks the index columns' cells
    path.write_text("scorer,S,S\nindividuals,,,a,a\nbodyparts,,,n,n\ncoords,,,x,y\n"
                    "labeled-data,v,img0.png,1,2\n")
    for call in ENTRY_POINTS.values():
        raises_naming_file(call, path, CorruptFileError, "header rows", "different lengths")


@pytest.mark.parametrize("call", ["load_pose", "load_data"])
def test_text_in_a_coordinate_names_the_column_and_frame(tmp_path, rng, call):
    path = _dlc_csv(tmp_path / "text.csv", rng)
    lines = path.read_text().splitlines(keepends=True)
    cells = lines[4].split(",")
    cells[4] = "abc"  # (pandas reads "n/a" and friends as missing, as DeepLabCut does)
    lines[4] = ",".join(cells)
    path.write_text("".join(lines))
    raises_naming_file(ENTRY_POINTS[call], path, NonNumericDataError, "('DLC_resnet50', 'tail', 'x')",
            "frame 1", "'abc'")


def test_a_lightningpose_set_column_is_not_read_and_does_not_block(tmp_path, rng):
    columns = pd.MultiIndex.from_product([["heatmap_tracker"], ["paw"], ["x", "y", "likelihood"]],
                                         names=["scorer", "bodyparts", "coords"])
    frame = pd.DataFrame(rng.uniform(0.7, 1.0, size=(5, 3)), columns=columns)
    frame[("set", "", "")] = ["train", "train", "test", "validation", "train"]
    frame.to_csv(tmp_path / "lp.csv")
    expected = frame.iloc[:, :2].to_numpy()
    assert read_pose(tmp_path / "lp.csv").source == "lightningpose"
    np.testing.assert_array_equal(load_pose(tmp_path / "lp.csv"), expected)
    np.testing.assert_array_equal(load_data(tmp_path / "lp.csv"), expected)
    np.testing.assert_array_equal(load_deeplabcut(tmp_path / "lp.csv"), expected)


@pytest.mark.parametrize("pcutoff", [-0.1, 1.5, float("nan")])
def test_pcutoff_outside_zero_one_is_refused_everywhere(tmp_path, rng, pcutoff):
    path = _dlc_csv(tmp_path / "p.csv", rng)
    for call in (lambda: load_pose(path, pcutoff=pcutoff),
                 lambda: load_deeplabcut(path, pcutoff=pcutoff),
                 lambda: cebra_data.io.poses.pose_summary(path, pcutoff)):
        with pytest.raises(ValueError, match="pcutoff"):
            call()


def test_a_3d_deeplabcut_file_in_load_data_suggests_only_calls_that_exist(tmp_path):
    columns = pd.MultiIndex.from_product([["dlc3d"], ["paw", "nose"], ["x", "y", "z"]],
                                         names=["scorer", "bodyparts", "coords"])
    values = np.arange(12.0).reshape(2, 6)
    values[:, 3:] = np.nan  # 'nose' never seen
    pd.DataFrame(values, columns=columns).to_hdf(tmp_path / "3d.h5", key="df_with_missing")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        error = raises_naming_file(load_data, tmp_path / "3d.h5", EmptyKeypointError, "'nose'",
                        "columns=[...]", "load_deeplabcut(path, keypoints=[...])")
    assert "pcutoff" not in str(error)  # the file has no likelihood: no cutoff to lower
    assert any("load_pose" in str(w.message) for w in caught)  # where z can be read
    with pytest.warns(UserWarning, match="3-D DeepLabCut file"):
        paw = load_data(tmp_path / "3d.h5", columns=["paw"])
    np.testing.assert_array_equal(paw, values[:, :2])


# ----------------------------------------------------------------------------- detection


@pytest.mark.parametrize("spelling,source", [
    ("DeepLabCut", "deeplabcut"), ("LightningPose", "lightningpose"), ("Lightning Pose",
                                                                       "lightningpose"),
    ("SLEAP", "sleap"), ("Anipose", "anipose"), ("NWB", "nwb"), ("SLEAP_analysis",
                                                                 "sleap-analysis")])
def test_source_names_are_case_insensitive_with_movements_spellings(spelling, source):
    from cebra_data.io.poses.detect import check_source

    assert check_source(spelling) == source


def test_source_deeplabcut_and_lightningpose_read_each_other(tmp_path, rng):
    path = _dlc_csv(tmp_path / "p.csv", rng)
    np.testing.assert_array_equal(load_pose(path, source="DeepLabCut"), load_pose(path))
    assert read_pose(path, source="LightningPose").source == "lightningpose"
    with pytest.raises(UnknownChoiceError, match="'deeplabcut'"):
        load_pose(path, source="dlc3d")
    with pytest.raises(TypeError, match="source"):
        load_pose(path, source=3)


def _analysis_file(path: pathlib.Path) -> pathlib.Path:
    with h5py.File(path, "w") as f:
        f["tracks"] = np.arange(12.0).reshape(1, 2, 2, 3)  # (tracks, xy, nodes, frames)
        f["point_scores"] = np.full((1, 2, 3), 0.9)
        f["node_names"] = np.array([b"head", b"tail"])
        f["track_names"] = np.array([b"mouse"])
        f["track_occupancy"] = np.ones((3, 1), dtype=np.uint8)
    return path


@pytest.mark.parametrize("source", ["sleap", "sleap-analysis", "nwb", "anipose"])
def test_a_wrong_source_says_what_the_file_is(tmp_path, rng, source):
    for path, actual in ((_dlc_csv(tmp_path / "p.csv", rng), "deeplabcut"),
                         (_analysis_file(tmp_path / "a.h5"), "sleap-analysis")):
        if source == actual:
            continue
        raises_naming_file(lambda p: load_pose(p, source=source), path, NotPoseFileError,
                f"source={source!r}", f"source={actual!r}")


def test_content_decides_whatever_the_suffix(tmp_path, rng):
    dlc = _dlc_csv(tmp_path / "p.csv", rng)
    analysis = _analysis_file(tmp_path / "a.h5")
    frame = pd.DataFrame({"nose_x": [1.0, 2.0], "nose_y": [3.0, 4.0], "nose_z": [5.0, 6.0]})
    frame.to_csv(tmp_path / "ani.csv", index=False)
    dlc_frame(rng.uniform(0.7, 1.0, (3, 3)), ["nose"]).to_hdf(tmp_path / "d.h5", key="df")
    for original, renamed in ((dlc, "p.txt"), (analysis, "a.bin"), (tmp_path / "ani.csv", "a.dat"),
                              (tmp_path / "d.h5", "d.slp")):
        copy = shutil.copy(original, tmp_path / renamed)
        assert detect_pose_source(copy) == detect_pose_source(original)
        np.testing.assert_array_equal(load_pose(copy), load_pose(original))


# ----------------------------------------------------------------------------- HDF5 pose files


def _truncated(path: pathlib.Path) -> pathlib.Path:
    data = path.read_bytes()
    cut = path.with_name("cut_" + path.name)
    cut.write_bytes(data[: len(data) // 2])
    return cut


def test_truncated_hdf5_of_each_tracker_is_corrupt_not_no_poses(tmp_path, rng):
    dlc_frame(rng.uniform(0.7, 1.0, (40, 3)), ["nose"]).to_hdf(tmp_path / "d.h5", key="df")
    files = [tmp_path / "d.h5", _analysis_file(tmp_path / "a.h5")]
    for path in files:
        cut = _truncated(path)
        raises_naming_file(load_pose, cut, CorruptFileError, "truncated")
        raises_naming_file(detect_pose_source, cut, CorruptFileError)
        raises_naming_file(inspect_file, cut, CorruptFileError)


def test_malformed_analysis_dims_and_shapes(tmp_path):
    path = _analysis_file(tmp_path / "a.h5")
    with h5py.File(path, "a") as f:
        f["tracks"].attrs["dims"] = "[track, xy"  # not JSON
    raises_naming_file(load_pose, path, CorruptFileError, "'dims'", "JSON")
    with h5py.File(path, "a") as f:
        f["tracks"].attrs["dims"] = json.dumps(["track", "xy", "node", "time"])
    raises_naming_file(load_pose, path, CorruptFileError, "dimensions", "'frame'")
    path = _analysis_file(tmp_path / "b.h5")
    with h5py.File(path, "a") as f:
        del f["node_names"]
        f["node_names"] = np.array([b"head", b"head"])
    raises_naming_file(load_pose, path, CorruptFileError, "'head'", "twice")


def test_analysis_file_equals_its_datasets(tmp_path):
    path = _analysis_file(tmp_path / "a.h5")
    pose = read_pose(path)
    with h5py.File(path) as f:
        expected = np.transpose(f["tracks"][()], (3, 0, 2, 1))
    np.testing.assert_array_equal(pose.positions, expected)
    assert pose.individuals == ["mouse"] and pose.keypoints == ["head", "tail"]


@pytest.fixture
def slp(tmp_path):
    sio = pytest.importorskip("sleap_io")
    skeleton = sio.Skeleton(["head", "tail"])
    video = sio.Video(filename="v.mp4", open_backend=False)
    track = sio.Track("mouse")
    frames = [sio.LabeledFrame(video=video, frame_idx=i, instances=[
        sio.PredictedInstance.from_numpy(np.array([[i, i], [5.0, 5.0]]), skeleton=skeleton,
                                         point_scores=np.array([0.9, 0.9]), score=1.0,
                                         track=track)]) for i in range(4)]
    path = tmp_path / "p.slp"
    sio.Labels(frames, videos=[video], skeletons=[skeleton], tracks=[track]).save(str(path))
    return path


def test_slp_equals_sleap_io(slp):
    import sleap_io

    expected = sleap_io.load_slp(str(slp), open_videos=False).numpy()  # (frames, tracks, nodes, 2)
    np.testing.assert_array_equal(read_pose(slp).positions, expected)


def test_slp_without_format_id_and_with_malformed_metadata(slp, tmp_path):
    old = shutil.copy(slp, tmp_path / "old.slp")
    with h5py.File(old, "a") as f:
        del f["metadata"].attrs["format_id"]
    raises_naming_file(load_pose, old, UnsupportedFormatVersionError, "format_id", "save it again")
    bad = shutil.copy(slp, tmp_path / "bad.slp")
    with h5py.File(bad, "a") as f:
        f["metadata"].attrs["json"] = np.bytes_(b'{"skeletons": [')
    raises_naming_file(load_pose, bad, CorruptFileError, "metadata JSON", "does not parse")
    odd = shutil.copy(slp, tmp_path / "odd.slp")
    with h5py.File(odd, "a") as f:
        f["metadata"].attrs["json"] = np.bytes_(json.dumps({"skeletons": {}}).encode())
    raises_naming_file(load_pose, odd, CorruptFileError, "'skeletons'")
    cut = _truncated(slp)
    raises_naming_file(load_pose, cut, CorruptFileError)


def test_slp_and_analysis_files_in_inspect_name_what_load_data_does(slp, tmp_path):
    error = raises_naming_file(load_data, slp, UnsupportedFileFormatError, "load_pose")
    info = inspect_file(slp)
    assert info["default_key"] is None and "load_pose" in info["default_reason"]
    assert info["poses"]["frames"] == 4
    analysis = _analysis_file(tmp_path / "a.h5")
    error = raises_naming_file(load_data, analysis, NonNumericDataError, "SLEAP analysis")
    info = inspect_file(analysis)
    assert info["default_key"] is None and str(error) in info["default_reason"]
    np.testing.assert_array_equal(load_data(analysis, key="tracks"),
                                  h5py.File(analysis)["tracks"][()])


def test_several_untracked_instances_are_ambiguous(tmp_path):
    sio = pytest.importorskip("sleap_io")
    skeleton = sio.Skeleton(["head"])
    video = sio.Video(filename="v.mp4", open_backend=False)
    frame = sio.LabeledFrame(video=video, frame_idx=0, instances=[
        sio.Instance.from_numpy(np.array([[float(k), 1.0]]), skeleton=skeleton) for k in (1, 2)])
    path = tmp_path / "two.slp"
    sio.Labels([frame], videos=[video], skeletons=[skeleton]).save(str(path))
    raises_naming_file(load_pose, path, AmbiguousPosesError, "2 untracked instances")


def test_nwb_pose_files_truncated_or_plain(tmp_path):
    pytest.importorskip("ndx_pose")
    with h5py.File(tmp_path / "plain.nwb", "w") as f:
        f["x"] = np.zeros(3)
    raises_naming_file(load_pose, tmp_path / "plain.nwb", NotPoseFileError)
    raises_naming_file(lambda p: load_pose(p, source="NWB"), tmp_path / "plain.nwb", NotPoseFileError,
            "source='nwb'")


# ----------------------------------------------------------------------------- other formats


def _mat_element(kind: int, data: bytes) -> bytes:
    return struct.pack("<II", kind, len(data)) + data + b"\0" * (-len(data) % 8)


def _mat_matrix(*parts: bytes) -> bytes:
    return _mat_element(14, b"".join(parts))


def _mat_double(name: str, array: np.ndarray) -> bytes:
    array = np.atleast_2d(np.asarray(array, dtype=np.float64))
    return _mat_matrix(_mat_element(6, struct.pack("<II", 6, 0)),
                       _mat_element(5, struct.pack("<2i", *array.shape)),
                       _mat_element(1, name.encode()), _mat_element(9, array.tobytes("F")))


def _mat_object(name: str, matlab_class: str) -> bytes:
    """A MATLAB class object as MATLAB writes one (mxOPAQUE, type MCOS, a uint32 reference)."""
    reference = _mat_matrix(_mat_element(6, struct.pack("<II", 13, 0)),
                            _mat_element(5, struct.pack("<2i", 6, 1)), _mat_element(1, b""),
                            _mat_element(6, np.array([0xDD000000, 2, 1, 1, 1, 1], "<u4").tobytes()))
    return _mat_matrix(_mat_element(6, struct.pack("<II", 17, 0)), _mat_element(1, name.encode()),
                       _mat_element(1, b"MCOS"), _mat_element(1, matlab_class.encode()), reference)


def _mat_struct(name: str, fields: dict[str, bytes]) -> bytes:
    names = b"".join(k.encode().ljust(32, b"\0") for k in fields)
    return _mat_matrix(_mat_element(6, struct.pack("<II", 2, 0)),
                       _mat_element(5, struct.pack("<2i", 1, 1)), _mat_element(1, name.encode()),
                       _mat_element(5, struct.pack("<i", 32)), _mat_element(1, names),
                       *fields.values())


def test_matlab_class_objects_are_skipped_and_explained(tmp_path):
    x = np.arange(6.0).reshape(2, 3)
    path = tmp_path / "labels.mat"
    header = b"MATLAB 5.0 MAT-file, test".ljust(116, b" ") + b"\0" * 8 + b"\x00\x01IM"
    path.write_bytes(header + _mat_double("x", x) + _mat_object("history", "table")
                     + _mat_struct("s", {"pos": _mat_double("", 2 * x),
                                         "joints": _mat_object("", "string")})
                     + _mat_double("y", np.ones((1, 1))))
    reference = scipy.io.loadmat(path)
    for key, expected in (("x", reference["x"]), ("s/pos", reference["s"][0, 0]["pos"]),
                          ("y", reference["y"])):
        np.testing.assert_array_equal(load_data(path, key=key), expected)
    np.testing.assert_array_equal(load_data(path), reference["x"])
    names = {e["name"]: e["dtype"] for e in inspect_file(path)["entries"]}
    assert names["history"] == "MATLAB object of class 'table'"
    assert names["s/joints"] == "MATLAB object of class 'string'"
    for key, cls in (("history", "'table'"), ("s/joints", "'string'")):
        raises_naming_file(lambda p: load_data(p, key=key), path, NonNumericDataError, key, cls,
                "table2array", "-v7.3")


def test_legacy_pandas_encoding_pickled_none_reads_as_pandas_does(tmp_path):
    pytest.importorskip("tables")
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [4.0, 5.0, 6.0]})
    path = tmp_path / "legacy.h5"
    frame.to_hdf(path, key="df")
    with h5py.File(path, "a") as f:
        f["df"].attrs["encoding"] = np.bytes_(pickle.dumps(None, protocol=0))
    np.testing.assert_array_equal(load_data(path), pd.read_hdf(path).to_numpy())
    from cebra_data.load import read_hdf

    np.testing.assert_array_equal(read_hdf(path).to_numpy(),
                                  pd.read_hdf(path).to_numpy())


def test_hdf5_array_dtype_is_listed_as_the_array_key_reads(tmp_path):
    path = tmp_path / "array.h5"
    with h5py.File(path, "w") as f:
        # an HDF5 array type: 5 elements of 3 floats each (numpy would expand it at once)
        dataset = f.create_dataset("a", shape=(5,), dtype=np.dtype(("<f8", (3,))))
        dataset[...] = np.arange(15.0).reshape(5, 3)
        assert dataset.dtype.subdtype is not None
        f["text"] = np.array([b"x"])
    from cebra_data.io import open_entries

    with open_entries(path) as (_, _, entries):  # as listed, before anything is read
        assert (entries[0].numeric, entries[0].shape, entries[0].dtype) == (True, (5, 3),
                                                                            "float64")
    with h5py.File(path) as f:
        np.testing.assert_array_equal(load_data(path), f["a"][()])


def test_v73_char_array_of_three_dimensions_reads_as_strings(tmp_path):
    path = tmp_path / "chars.mat"
    words = [["ab", "cd"], ["ef", "gh"]]  # MATLAB char array of shape (2, 2, 2)
    codes = np.array([[[ord(c) for c in w] for w in row] for row in words], dtype=np.uint16)
    with h5py.File(path, "w", userblock_size=512) as f:
        f["c"] = codes.T
        f["c"].attrs["MATLAB_class"] = np.bytes_("char")
        f["x"] = np.ones((3, 2))
        f["x"].attrs["MATLAB_class"] = np.bytes_("double")
    with open(path, "r+b") as handle:
        handle.write(b"MATLAB 7.3 MAT-file".ljust(116, b" ") + b"\0" * 8 + b"\x00\x02IM")
    raises_naming_file(lambda p: load_data(p, key="c"), path, NonNumericDataError, "'c'", "<U2")
    from cebra_data.io import open_entries

    with open_entries(path) as (_, _, entries):
        strings = next(e for e in entries if e.name == "c").value()
    np.testing.assert_array_equal(strings, np.array(words))


def test_npy_header_with_a_negative_dimension(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((3, 4)))
    data = (tmp_path / "a.npy").read_bytes().replace(b"(3, 4)", b"(3,-4)")
    (tmp_path / "neg.npy").write_bytes(data)
    raises_naming_file(load_data, tmp_path / "neg.npy", CorruptFileError, "(3, -4)", "negative dimension")


def test_csv_text_column_is_named(tmp_path):
    pd.DataFrame({"a": [1.0, 2.0], "name": ["x", "y"]}).to_csv(tmp_path / "t.csv", index=False)
    raises_naming_file(load_data, tmp_path / "t.csv", NonNumericDataError, "'name'", "columns=[...]")
    np.testing.assert_array_equal(load_data(tmp_path / "t.csv", columns=["a"]), [[1.0], [2.0]])


def test_joblib_python2_pickles_trusted_or_not(tmp_path):
    folder = pathlib.Path(joblib.__file__).parent / "test" / "data"
    source = folder / "joblib_0.10.0_pickle_py27_np17.pkl"
    if not source.exists():
        pytest.skip("joblib's test data is not installed")
    path = shutil.copy(source, tmp_path / "py27.jl")
    with pytest.raises(ValueError, match="python 2"):
        joblib.load(path)  # joblib refuses
    outcomes = []
    for trusted in (False, True):  # joblib's refusal is no longer "corrupted"
        with pytest.raises(NonNumericDataError, match="holds a list") as info:
            load_data(path, key=0, trusted=trusted)
        outcomes.append(str(info.value))
    assert outcomes[0] == outcomes[1]


def test_old_module_paths_still_import():
    from cebra_data.io.deeplabcut import DEFAULT_PCUTOFF, load_deeplabcut as old
    from cebra_data.io.pose_data import PoseData
    from cebra_data.io.pose_files import pose_from_deeplabcut_table
    from cebra_data.io.nwb_pose import read_nwb_poses
    from cebra_data.io.sleap import read_slp

    assert old is cebra_data.load_deeplabcut and DEFAULT_PCUTOFF == 0.6
    assert PoseData is cebra_data.io.poses.data.PoseData
    assert pose_from_deeplabcut_table is cebra_data.io.poses.table.pose_from_deeplabcut_table
    assert read_slp is cebra_data.io.poses.sleap.read_slp
    assert read_nwb_poses is cebra_data.io.poses.nwb.read_nwb_poses


def test_from_movement_checks_pcutoff():
    xr = pytest.importorskip("xarray")
    dataset = xr.Dataset({"position": (("time", "space", "keypoints", "individuals"),
                                       np.zeros((2, 2, 1, 1)))})
    with pytest.raises(ValueError, match="pcutoff"):
        from_movement(dataset, pcutoff=-1.0)


@pytest.mark.parametrize("change, error, message", [
    ({"position": np.zeros((2, 2, 1, 1)).astype(str)}, TypeError, "'position' variable .* real numbers"),
    ({"position": np.zeros((2, 2, 1, 1), complex)}, TypeError, "'position' variable .* real numbers"),
    ({"confidence": (("time", "individuals"), np.ones((2, 1)))}, ValueError,
     r"'confidence' variable .* \(missing 'keypoints'\)"),
    ({"position": (("time", "space", "keypoints", "individuals", "view"), np.zeros((2, 2, 1, 1, 1)))},
     ValueError, r"'position' variable .* \(not expected: 'view'\)"),
    ({"space": ["x", "x"]}, ValueError, "names the space 'x' more than once"),
])
def test_from_movement_names_the_variable_at_fault(change, error, message):
    xr = pytest.importorskip("xarray")
    dims = ("time", "space", "keypoints", "individuals")
    variables = {"position": (dims, np.zeros((2, 2, 1, 1)))}
    coords = {"space": ["x", "y"]}
    for name, value in change.items():
        if name == "space":
            coords["space"] = value
        else:
            variables[name] = value if isinstance(value, tuple) else (dims, value)
    with pytest.raises(error, match=message):
        from_movement(xr.Dataset(variables, coords=coords))


def test_configure_for_a_model_without_an_offset(rng):
    class Model:
        def get_offset(self):
            return None

    sessions = [cebra_data.TensorDataset(rng.normal(size=(30, 2)).astype("float32"),
                                         continuous=rng.normal(size=(30, 1))) for _ in range(2)]
    collection = cebra_data.DatasetCollection(sessions)
    before = collection.offset
    with pytest.raises(TypeError, match="returned None"):
        collection.configure_for(Model())
    assert collection.offset == before
    with pytest.raises(TypeError, match="returned None"):
        collection.configure_for([Model(), Model()])


def test_untrusted_files_stay_untouched(tmp_path, rng):
    path = _dlc_csv(tmp_path / "p.csv", rng)
    before = os.stat(path).st_mtime_ns, path.read_bytes()
    load_pose(path), inspect_file(path), read_pose(path)
    assert (os.stat(path).st_mtime_ns, path.read_bytes()) == before
