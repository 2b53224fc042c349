"""Cases of the hostile sweep of the pose readers: damaged headers, disagreeing entry points.

Every file is written in ``tmp_path``. Each case asserts the exact exception type and the
fragments of its message (the file's name always), and that every entry point refuses
alike.
"""

from __future__ import annotations

import pathlib
import warnings

import numpy as np
import pytest

from cebra_data import load_data, load_deeplabcut, load_pose
from cebra_data.errors import (
    CorruptFileError,
    DataChangedWarning,
    EmptyFileError,
    MissingColumnError,
    UnsafeFileError,
)
from cebra_data.io import inspect_file
from cebra_data.io.poses import detect_pose_source
from conftest import dlc_frame, raises_naming_file

_ANIPOSE_FIELDS = ("x", "y", "z", "error", "ncams", "score")
_ANIPOSE_TAIL = [f"M_{i}{j}" for i in range(3) for j in range(3)] + \
    [f"center_{i}" for i in range(3)] + ["fnum"]


def _anipose(path: pathlib.Path, header: list[str], frames: int = 4) -> pathlib.Path:
    """An Anipose-like csv with ``header``; every cell a number, fnum counting frames."""
    lines = [",".join(header)]
    for t in range(frames):
        lines.append(",".join(str(t) if name == "fnum" else f"{t + 0.5}" for name in header))
    path.write_text("\n".join(lines) + "\n")
    return path


def _anipose_header(keypoints=("wrist", "elbow")) -> list[str]:
    return [f"{k}_{f}" for k in keypoints for f in _ANIPOSE_FIELDS] + _ANIPOSE_TAIL


# ----------------------------------------------------------------------------- Anipose header


def test_anipose_column_named_twice_is_refused(tmp_path):
    header = _anipose_header()
    header[header.index("elbow_x")] = "wrist_x"  # pandas would read it as wrist_x.1
    path = _anipose(tmp_path / "dup.csv", header)
    raises_naming_file(load_pose, path, CorruptFileError, "'wrist_x' more than once")


@pytest.mark.parametrize("old, new, fragments", [
    ("elbow_z", 'el"ow_z', ["'elbow' (has _x, _y; lacks _z)"]),
    ("wrist_x", "WRIST_x", ["'wrist' (has _y, _z; lacks _x)", "'WRIST' (has _x; lacks _y, _z)"]),
    ("wrist_z", None, ["'wrist' (has _x, _y; lacks _z)"]),
])
def test_anipose_keypoint_with_part_of_its_coordinates_is_refused(tmp_path, old, new, fragments):
    header = _anipose_header()
    if new is None:
        header.remove(old)
    else:
        header[header.index(old)] = new
    path = _anipose(tmp_path / "damaged.csv", header)
    raises_naming_file(load_pose, path, CorruptFileError, "without all of _x, _y and _z", *fragments)


def test_anipose_unknown_columns_are_named_in_a_warning(tmp_path):
    header = _anipose_header() + ["elbow_scpre", "notes"]
    path = _anipose(tmp_path / "extra.csv", header)
    with pytest.warns(DataChangedWarning, match=r"'elbow_scpre', 'notes'.*not read"):
        poses = load_pose(path)
    assert poses.shape == (4, 6)


def test_anipose_complete_header_reads_without_warning(tmp_path):
    path = _anipose(tmp_path / "good.csv", _anipose_header())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        poses = load_pose(path)
    np.testing.assert_array_equal(poses[1:, 0], np.arange(1, 4) + 0.5)  # frame 0: score 0.5


# ----------------------------------------------------------------------------- entry points agree


def _dlc_csv(path: pathlib.Path, **kwargs) -> pathlib.Path:
    values = np.tile([1.0, 2.0, 0.9, 3.0, 4.0, 0.9] * len(kwargs.get("individuals") or [0]),
                     (5, 1))
    dlc_frame(values, ["nose", "tail"], **kwargs).to_csv(path)
    return path


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_dlc_csv_with_other_delimiter_is_read_by_every_entry_point(tmp_path, delimiter):
    path = _dlc_csv(tmp_path / "comma.csv")
    other = tmp_path / "other.csv"
    other.write_text(path.read_text().replace(",", delimiter))
    assert detect_pose_source(other) == "deeplabcut"
    expected = load_deeplabcut(path)
    np.testing.assert_array_equal(load_pose(other), expected)
    np.testing.assert_array_equal(load_deeplabcut(other), expected)


def _all_raise(path, error, *fragments):
    for call in (load_pose, load_deeplabcut, load_data):
        raises_naming_file(call, path, error, *fragments)


@pytest.mark.parametrize("rows, fragments", [
    (2, ["'scorer', 'bodyparts'", "truncated inside its header"]),
    (2.5, ["header rows", "different lengths"]),
])
def test_dlc_csv_cut_in_its_header_is_corrupt_for_every_entry_point(tmp_path, rows, fragments):
    lines = _dlc_csv(tmp_path / "full.csv").read_text().splitlines(keepends=True)
    cut = "".join(lines[:int(rows)])
    if rows != int(rows):
        cut += lines[int(rows)][:len(lines[int(rows)]) // 2]
    path = tmp_path / "cut.csv"
    path.write_text(cut)
    _all_raise(path, CorruptFileError, *fragments)


def test_dlc_csv_cut_in_its_first_row_is_empty_for_every_entry_point(tmp_path):
    text = _dlc_csv(tmp_path / "full.csv").read_text()
    path = tmp_path / "cut.csv"
    path.write_text(text[:30])
    _all_raise(path, EmptyFileError, "no data rows")


def test_dlc_csv_with_a_nul_byte_is_corrupt_for_every_entry_point(tmp_path):
    data = bytearray(_dlc_csv(tmp_path / "full.csv").read_bytes())
    data[40] = 0
    path = tmp_path / "nul.csv"
    path.write_bytes(bytes(data))
    _all_raise(path, CorruptFileError, "does not look like a CSV")


def test_plain_csv_with_a_scorer_column_is_still_a_table(tmp_path):
    path = tmp_path / "scores.csv"
    path.write_text("scorer,value\n1,2\n3,4\n")
    np.testing.assert_array_equal(load_data(path), [[1, 2], [3, 4]])


# ----------------------------------------------------------------------------- DeepLabCut header


def _edit_csv_header(source: pathlib.Path, path: pathlib.Path, row: int, column: int,
                     value: str) -> pathlib.Path:
    lines = source.read_text().splitlines(keepends=True)
    cells = lines[row].rstrip("\n").split(",")
    cells[column] = value
    lines[row] = ",".join(cells) + "\n"
    path.write_text("".join(lines))
    return path


def _all_refuse(path, error, *fragments):
    for call in (load_pose, load_deeplabcut, load_data):
        raises_naming_file(call, path, error, *fragments)


@pytest.mark.parametrize("individuals, label", [(None, "'nose'"), (["m1"], "'m1/nose'")])
def test_dlc_keypoint_without_likelihood_is_refused(tmp_path, individuals, label):
    full = _dlc_csv(tmp_path / "full.csv", individuals=individuals)
    lines = full.read_text().splitlines(keepends=True)
    drop = 3  # the column of the first keypoint's likelihood (after the index column)
    path = tmp_path / "nolik.csv"
    path.write_text("".join(",".join(c for k, c in enumerate(line.rstrip("\n").split(","))
                                     if k != drop) + "\n" for line in lines))
    _all_refuse(path, CorruptFileError, f"likelihood columns for some keypoints but not for {label}")


def test_lightningpose_keypoint_without_likelihood_is_refused(tmp_path):
    full = _dlc_csv(tmp_path / "full.csv", scorer="heatmap_tracker")
    path = _edit_csv_header(full, tmp_path / "lp.csv", 2, 6, "likelihoop")
    _all_refuse(path, CorruptFileError, "but not for 'tail'")


@pytest.mark.parametrize("individuals", [None, ["m1", "m2"]])
def test_dlc_coordinates_of_two_scorers_are_refused(tmp_path, individuals):
    full = _dlc_csv(tmp_path / "full.csv", individuals=individuals)
    path = _edit_csv_header(full, tmp_path / "flip.csv", 0, 3, "DLC_resfet50")
    _all_refuse(path, CorruptFileError, "2 scorers", "'DLC_resnet50', 'DLC_resfet50'")


def test_lightningpose_set_column_under_its_own_scorer_is_read(tmp_path):
    full = _dlc_csv(tmp_path / "full.csv", scorer="heatmap_tracker")
    lines = full.read_text().splitlines()
    extra = [",set", ",", ","] + [",train"] * (len(lines) - 3)
    path = tmp_path / "lp_set.csv"
    path.write_text("\n".join(a + b for a, b in zip(lines, extra)) + "\n")
    np.testing.assert_array_equal(load_pose(path), load_deeplabcut(full))
    np.testing.assert_array_equal(load_deeplabcut(path), load_deeplabcut(full))


# ----------------------------------------------------------------------------- SLEAP analysis


def _analysis(path: pathlib.Path, tracks: int = 2, nodes: int = 3, frames: int = 5,
              link: bool = False) -> pathlib.Path:
    """A SLEAP analysis file in its default layout (tracks, xy, nodes, frames)."""
    import h5py
    values = np.arange(tracks * 2 * nodes * frames, dtype=np.float64).reshape(
        tracks, 2, nodes, frames)
    with h5py.File(path, "w") as file:
        if link:
            other = path.with_name("other.h5")
            with h5py.File(other, "w") as target:
                target["tracks"] = values
            file["tracks"] = h5py.ExternalLink(other.name, "tracks")
        else:
            file["tracks"] = values
        file["node_names"] = np.array([f"n{i}".encode() for i in range(nodes)], dtype="S")
        file["track_names"] = np.array([f"t{i}".encode() for i in range(tracks)], dtype="S")
    return path


@pytest.mark.parametrize("tracks, nodes, fragment", [
    (0, 3, "0 track(s) and 3 node(s)"), (2, 0, "2 track(s) and 0 node(s)")])
def test_sleap_analysis_without_tracks_or_nodes_is_empty(tmp_path, tracks, nodes, fragment):
    path = _analysis(tmp_path / "empty.analysis.h5", tracks, nodes)
    raises_naming_file(load_pose, path, EmptyFileError, "without poses", fragment)


def test_sleap_analysis_external_link_needs_trusted(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = _analysis(tmp_path / "linked.analysis.h5", link=True)
    raises_naming_file(load_pose, path, UnsafeFileError, "external links", "trusted=True")
    expected = load_pose(_analysis(tmp_path / "plain.analysis.h5"))
    np.testing.assert_array_equal(load_pose(path, trusted=True), expected)
    info = inspect_file(path)
    assert info["poses"]["error"].startswith("UnsafeFileError"), info["poses"]


# ----------------------------------------------------------------------------- arguments


def _both(path, **kwargs):
    return [lambda p: load_pose(p, **kwargs), lambda p: load_deeplabcut(p, **kwargs)]


@pytest.mark.parametrize("argument, value, fragment", [
    ("keypoints", [], "keypoints=[] selects nothing"),
    ("individuals", [], "individuals=[] selects nothing"),
    ("keypoints", ["nose", "tail", "nose"], "keypoints= names 'nose' more than once"),
    ("individuals", ["m2", "m2"], "individuals= names 'm2' more than once"),
])
def test_empty_or_repeating_selection_is_a_value_error(tmp_path, argument, value, fragment):
    path = _dlc_csv(tmp_path / "multi.csv", individuals=["m1", "m2"])
    for call in _both(path, **{argument: value}):
        with pytest.raises(ValueError) as info:
            call(path)
        assert type(info.value) is ValueError and fragment in str(info.value), info.value


@pytest.mark.parametrize("flag", [True, np.True_])
def test_return_mask_takes_python_and_numpy_bools(tmp_path, flag):
    path = _dlc_csv(tmp_path / "single.csv")
    assert len(load_pose(path, return_mask=flag)) == 2
    assert len(load_deeplabcut(path, return_mask=flag)) == 2


@pytest.mark.parametrize("flag", ["yes", 1, None])
def test_return_mask_refuses_other_values(tmp_path, flag):
    path = _dlc_csv(tmp_path / "single.csv")
    for call in _both(path, return_mask=flag):
        with pytest.raises(TypeError, match="return_mask should be True or False"):
            call(path)


# ----------------------------------------------------------------------------- unique bodyparts


def _dlc_multi_with_single(path: pathlib.Path) -> pathlib.Path:
    """DeepLabCut's multi-animal layout: two mice and the individual 'single' (unique parts)."""
    import pandas as pd
    columns = [("DLC_dlcrnetms5", i, b, c) for i in ("mouse1", "mouse2")
               for b in ("snout", "tail") for c in ("x", "y", "likelihood")]
    columns += [("DLC_dlcrnetms5", "single", "box", c) for c in ("x", "y", "likelihood")]
    rng = np.random.default_rng(0)
    values = rng.uniform(0, 100, (6, len(columns)))
    values[:, 2::3] = 0.9
    index = pd.MultiIndex.from_tuples(columns, names=["scorer", "individuals", "bodyparts",
                                                      "coords"])
    pd.DataFrame(values, columns=index).to_hdf(path, key="df_with_missing")
    return path


@pytest.mark.parametrize("kwargs, width", [
    ({}, 10), ({"keypoints": ["snout"]}, 4), ({"individuals": ["single"]}, 2),
    ({"individuals": ["mouse2", "single"]}, 6)])
def test_dlc_unique_bodyparts_read_like_load_deeplabcut(tmp_path, kwargs, width):
    pytest.importorskip("tables")
    path = _dlc_multi_with_single(tmp_path / "multi.h5")
    poses, mask = load_pose(path, return_mask=True, **kwargs)
    assert poses.shape == (6, width) and mask.shape == (6, width // 2)
    np.testing.assert_array_equal(poses, load_deeplabcut(path, **kwargs))


def test_dlc_unique_bodyparts_named_individual_without_the_keypoints(tmp_path):
    pytest.importorskip("tables")
    path = _dlc_multi_with_single(tmp_path / "multi.h5")
    for call in _both(path, individuals=["mouse1", "single"], keypoints=["snout"]):
        raises_naming_file(call, path, MissingColumnError, "'single'", "none of the selected keypoints")
