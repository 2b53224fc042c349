"""cebra_data.load (CEBRA's cebra.data.load): load and read_hdf over the safe readers."""

from __future__ import annotations

import inspect
import pathlib
import pickle

import numpy as np
import pandas as pd
import pytest

from cebra_data import errors
from cebra_data.load import load, read_hdf

DLC_H5 = next(
    (path for path in (
        pathlib.Path(__file__).resolve().parents[2] / "shared/data/deeplabcut/CollectedData_Mackenzie.h5",
        pathlib.Path("/work/shared/data/deeplabcut/CollectedData_Mackenzie.h5"),
    ) if path.exists()),
    pathlib.Path("/work/shared/data/deeplabcut/CollectedData_Mackenzie.h5"),
)


class _Boom:
    def __reduce__(self):  # unpickling this would call print (stands for any code)
        return (print, ("code ran",))


def test_signatures_match_cebra_0_6_1() -> None:
    assert list(inspect.signature(load).parameters) == ["file", "key", "columns"]
    assert list(inspect.signature(read_hdf).parameters)[:2] == ["filename", "key"]


def test_load_keys_columns_and_cebra_exception_types(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "data.npz"
    np.savez(path, neural=np.arange(6.0).reshape(3, 2), trial=np.ones(3))
    np.testing.assert_array_equal(load(path), np.arange(6.0).reshape(3, 2))
    np.testing.assert_array_equal(load(path, key="trial"), np.ones(3))
    np.testing.assert_array_equal(load(path, columns=[1]), [[1.0], [3.0], [5.0]])
    with pytest.raises(AttributeError, match="'nope'"):
        load(path, key="nope")
    odd = tmp_path / "data.txt"
    odd.write_text("1")
    with pytest.raises(OSError, match=r"\.txt"):
        load(odd)


def test_load_never_runs_pickled_code(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "evil.pkl"
    with open(path, "wb") as handle:
        pickle.dump({"x": _Boom()}, handle)
    with pytest.raises(errors.UnsafeFileError):
        load(path)
    assert "code ran" not in capsys.readouterr().out


@pytest.mark.parametrize("fmt", ["fixed", "table"])
def test_read_hdf_returns_the_dataframe_pandas_returns(fmt: str, tmp_path: pathlib.Path) -> None:
    columns = pd.MultiIndex.from_product([["me"], ["nose", "tail"], ["x", "y", "likelihood"]],
                                         names=["scorer", "bodyparts", "coords"])
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.random((5, 6)), columns=columns, index=np.arange(10, 15))
    path = tmp_path / "pose.h5"
    frame.to_hdf(path, key="df_with_missing", format=fmt)
    frame.astype({("me", "tail", "x"): np.int64}).to_hdf(path, key="other", format=fmt)
    got = read_hdf(path, key="df_with_missing")
    pd.testing.assert_frame_equal(got, pd.read_hdf(path, key="df_with_missing"))
    pd.testing.assert_frame_equal(read_hdf(path, "other"), pd.read_hdf(path, "other"))
    with pytest.raises(ValueError, match="2 pandas objects"):
        read_hdf(path)
    with pytest.raises(KeyError, match="'nope'.*'/df_with_missing', '/other'"):
        read_hdf(path, key="nope")


@pytest.mark.skipif(not DLC_H5.exists(), reason="DeepLabCut sample files not available")
def test_read_hdf_on_a_deeplabcut_file_matches_pandas() -> None:
    pd.testing.assert_frame_equal(read_hdf(DLC_H5), pd.read_hdf(DLC_H5))


def test_read_hdf_string_index_and_series(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "series.h5"
    pd.Series([1.0, 2.0], index=["a", "b"], name=None).to_hdf(path, key="s")
    pd.testing.assert_series_equal(read_hdf(path), pd.read_hdf(path), check_names=False)
    frame = pd.DataFrame({"v": [1.0, 2.0]}, index=pd.Index(["img0.png", "img1.png"], name="f"))
    frame.to_hdf(tmp_path / "named.h5", key="df", format="table")
    pd.testing.assert_frame_equal(read_hdf(tmp_path / "named.h5"), frame)


def test_read_hdf_text_columns_need_trust(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "mixed.h5"
    frame = pd.DataFrame({"name": ["a", "b"], "v": [1.0, 2.0]})
    frame.to_hdf(path, key="df", format="table")
    with pytest.raises(errors.NonNumericDataError, match="'name'.*trusted=True"):
        read_hdf(path)
    pd.testing.assert_frame_equal(read_hdf(path, trusted=True), pd.read_hdf(path))
