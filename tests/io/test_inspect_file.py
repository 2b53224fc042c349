"""inspect_file: entries, default choice, NaN counts and DeepLabCut statistics."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

from _io_files import SAMPLE_X, write_sample
from cebra_data import errors
from cebra_data.io import inspect_file, load_data, supported_suffixes
from conftest import dlc_frame


@pytest.mark.parametrize("suffix", supported_suffixes())
def test_default_key_is_what_load_data_takes(suffix: str, tmp_path: pathlib.Path) -> None:
    path = write_sample(suffix, tmp_path / f"s{suffix}")
    info = inspect_file(path)
    json.dumps(info)  # a plain structure
    default = info["default_key"]
    assert [e["default"] for e in info["entries"]].count(True) == 1
    np.testing.assert_array_equal(load_data(path, key=default), load_data(path))
    chosen = next(e for e in info["entries"] if e["name"] == default)
    assert chosen["shape"] == list(SAMPLE_X.shape) and chosen["numeric"]


def test_entries_with_shape_dtype_and_nan_counts(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "s.npz"
    x = np.array([[1.0, np.nan], [np.nan, np.nan]])
    np.savez(path, labels=np.array(["a", "b"]), x=x, counts=np.arange(3))
    info = inspect_file(path)
    assert info["format"] == "npz" and info["default_key"] == "x"
    assert [(e["name"], e["shape"], e["dtype"], e["numeric"], e["nan_count"])
            for e in info["entries"]] == [
        ("labels", [2], "<U1", False, None),
        ("x", [2, 2], "float64", True, 3),
        ("counts", [3], "int64", True, 0),
    ]
    only = inspect_file(path, key="counts")
    assert [e["name"] for e in only["entries"]] == ["counts"]
    with pytest.raises(errors.MissingKeyError, match="'labels', 'x', 'counts'"):
        inspect_file(path, key="nope")


def test_table_columns_are_described(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("time,label,value\n0,a,1.5\n1,b,\n")
    entry = inspect_file(path)["entries"][0]
    assert entry["columns"] == [
        {"name": "time", "dtype": "int64", "nan_count": 0},
        {"name": "label", "dtype": "object", "nan_count": None},
        {"name": "value", "dtype": "float64", "nan_count": 1},
    ]
    assert entry["numeric"] is False and entry["nan_count"] == 1


def test_deeplabcut_statistics(tmp_path: pathlib.Path) -> None:
    likelihood = np.array([0.9, 0.5, 0.1, np.nan])
    values = np.column_stack([np.arange(4.0), [0, 1, np.nan, 3], likelihood,
                              np.arange(4.0), np.arange(4.0), np.ones(4)])
    frame = dlc_frame(values, ["nose", "tail"], individuals=None)
    path = tmp_path / "pose.h5"
    frame.to_hdf(path, key="df_with_missing", format="table")
    info = inspect_file(path, pcutoff=0.6)
    summary = info["entries"][0]["deeplabcut"]
    assert summary["bodyparts"] == ["nose", "tail"] and summary["individuals"] is None
    assert summary["frames"] == 4 and summary["has_likelihood"]
    nose, tail = summary["keypoints"]
    assert nose["below_pcutoff"] == pytest.approx(0.75)  # 0.5, 0.1 and NaN
    assert nose["missing"] == pytest.approx(0.25)
    assert tail["below_pcutoff"] == 0.0 and tail["missing"] == 0.0


def test_multi_animal_statistics(tmp_path: pathlib.Path) -> None:
    frame = dlc_frame(np.ones((3, 4)), ["nose"], individuals=["m1", "m2"], likelihood=False)
    path = tmp_path / "ma.csv"
    frame.to_csv(path)
    summary = inspect_file(path)["entries"][0]["deeplabcut"]
    assert summary["individuals"] == ["m1", "m2"] and not summary["has_likelihood"]
    assert [k["individual"] for k in summary["keypoints"]] == ["m1", "m2"]
    assert summary["keypoints"][0]["below_pcutoff"] is None


def test_unreadable_entry_is_reported_not_raised(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "o.npz"
    np.savez(path, o=np.array([None], dtype=object), x=np.ones(2))
    info = inspect_file(path)
    first, second = info["entries"]
    assert "UnsafeFileError" in first["error"] and second["nan_count"] == 0
    assert info["default_key"] == "x"


def test_inspect_shows_which_entries_load_and_why_the_others_do_not(tmp_path):
    import h5py

    path = tmp_path / "mixed.h5"
    with h5py.File(path, "w") as handle:
        handle["good"] = np.arange(6.0).reshape(3, 2)
        handle["names"] = np.array([b"a", b"b"])
        quad = h5py.h5t.IEEE_F64LE.copy()
        quad.set_size(16)
        quad.set_precision(128)
        quad.set_fields(127, 112, 15, 0, 112)
        quad.set_ebias(16383)
        h5py.h5d.create(handle.id, b"quad", quad, h5py.h5s.create_simple((2,)))
    info = inspect_file(path)
    by_name = {e["name"]: e for e in info["entries"]}
    assert by_name["good"]["readable"] and by_name["good"]["reason"] is None
    assert not by_name["names"]["readable"]
    assert "NonNumericDataError" in by_name["names"]["reason"]
    assert not by_name["quad"]["readable"] and "cannot represent" in by_name["quad"]["reason"]
    assert info["default_key"] == "good"


def test_inspect_command_lists_unloadable_entries_with_their_reason(tmp_path, capsys):
    from cebra_data import cli

    path = tmp_path / "session.npz"
    np.savez(path, labels=np.array(["a", "b"]), x=np.arange(4.0))
    assert cli.main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "1 of 2 entries can be loaded" in out
    assert "- labels: shape 2" in out
    assert "    not loadable: NonNumericDataError: Entry 'labels'" in out
    assert "* x: shape 4" in out


def test_an_entry_that_runs_out_of_memory_is_reported_as_the_loaders_report_it():
    # a corrupted size field (a table claiming 2**40 rows) ends in a MemoryError while reading
    from cebra_data.io.inspect import _describe
    from cebra_data.io.reader import Entry

    def claims_too_much():
        raise MemoryError("Unable to allocate 80.0 TiB for an array")

    info = _describe(Entry("df_with_missing/table", claims_too_much), None, 0.6)
    assert info["readable"] is False
    assert info["error"].startswith("CorruptFileError: reading it asked for more memory")
    assert "TiB" not in info["error"]
