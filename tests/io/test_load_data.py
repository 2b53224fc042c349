"""load_data: every registered format, key/columns rules, and every documented error."""

from __future__ import annotations

import pathlib
import pickle
import warnings

import h5py
import numpy as np
import pandas as pd
import pytest
import torch

from _io_files import (
    COLUMNS,
    MULTI_ENTRY,
    SAMPLE_X,
    SAMPLE_Y,
    WRITERS,
    expected_y,
    write_mat73,
    write_sample,
)
from _io_xls_writer import write_xls
from cebra_data import errors
from cebra_data.io import load_data, readers, supported_suffixes


def test_every_registered_suffix_has_a_round_trip_writer() -> None:
    assert set(supported_suffixes()) == set(WRITERS)


@pytest.mark.parametrize("suffix", supported_suffixes())
def test_default_entry_is_the_first_numeric_one(suffix: str, tmp_path: pathlib.Path) -> None:
    path = write_sample(suffix, tmp_path / f"sample{suffix}")
    loaded = load_data(path)
    assert isinstance(loaded, np.ndarray) and loaded.dtype.kind in "biuf"
    np.testing.assert_array_equal(loaded, SAMPLE_X)


@pytest.mark.parametrize("suffix", sorted(MULTI_ENTRY))
def test_key_by_name_and_by_position(suffix: str, tmp_path: pathlib.Path) -> None:
    path = write_sample(suffix, tmp_path / f"sample{suffix}")
    np.testing.assert_array_equal(load_data(path, key="y"), expected_y(suffix))
    np.testing.assert_array_equal(load_data(path, key=-1), expected_y(suffix))
    x_name = "group/x" if suffix in (".h5", ".hdf", ".hdf5", ".h") else "x"
    np.testing.assert_array_equal(load_data(path, key=x_name), SAMPLE_X)
    np.testing.assert_array_equal(load_data(path, key=1), SAMPLE_X)


@pytest.mark.parametrize("suffix", supported_suffixes())
def test_missing_key_lists_the_available_keys(suffix: str, tmp_path: pathlib.Path) -> None:
    path = write_sample(suffix, tmp_path / f"sample{suffix}")
    with pytest.raises(errors.MissingKeyError, match="Available keys are: .*'") as info:
        load_data(path, key="nope")
    assert isinstance(info.value, KeyError) and isinstance(info.value, AttributeError)
    assert not str(info.value).startswith("\"")  # plain message, not KeyError's repr
    with pytest.raises(errors.MissingKeyError, match="out of range"):
        load_data(path, key=99)


@pytest.mark.parametrize("suffix", supported_suffixes())
def test_empty_file(suffix: str, tmp_path: pathlib.Path) -> None:
    path = tmp_path / f"empty{suffix}"
    path.write_bytes(b"")
    with pytest.raises(errors.EmptyFileError, match="empty"):
        load_data(path)


@pytest.mark.parametrize("suffix", supported_suffixes())
def test_truncated_file_is_reported_with_its_cause(suffix: str, tmp_path: pathlib.Path) -> None:
    path = write_sample(suffix, tmp_path / f"sample{suffix}")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    # (a csv cut inside its last row is refused too: pandas would pad the row with NaN)
    with pytest.raises(errors.CorruptFileError) as info:
        load_data(path)
    assert isinstance(info.value, ValueError)
    # either our own structural check explains it, or the library's error is chained
    own_check = any(w in str(info.value) for w in ("truncated", "corrupted", "does not look like"))
    assert own_check or info.value.__cause__ is not None


def test_unknown_suffix_lists_supported_ones(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "data.parquet"
    path.write_bytes(b"PAR1")
    with pytest.raises(errors.UnsupportedFileFormatError, match=r"'\.npy'.*'\.xlsx'") as info:
        load_data(path)
    assert isinstance(info.value, OSError) and isinstance(info.value, ValueError)


def test_missing_file_and_directory(tmp_path: pathlib.Path) -> None:
    with pytest.raises(FileNotFoundError, match="No such file"):
        load_data(tmp_path / "absent.npy")
    with pytest.raises(errors.DataFileNotFoundError, match="is a directory"):
        load_data(tmp_path)


def test_content_that_contradicts_the_suffix(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "fake.h5"
    np.save(tmp_path / "real.npy", SAMPLE_X)
    path.write_bytes((tmp_path / "real.npy").read_bytes())
    with pytest.raises(errors.CorruptFileError, match="does not look like a HDF5 file"):
        load_data(path)


def test_argument_types_are_checked(tmp_path: pathlib.Path) -> None:
    path = write_sample(".npz", tmp_path / "s.npz")
    with pytest.raises(TypeError, match="key should be"):
        load_data(path, key=1.5)
    with pytest.raises(TypeError, match="columns should be"):
        load_data(path, columns={"a": 1})
    with pytest.raises(TypeError, match="trusted"):
        load_data(path, trusted="yes")


def test_non_numeric_entry_and_file_without_numbers(tmp_path: pathlib.Path) -> None:
    path = write_sample(".npz", tmp_path / "s.npz")
    with pytest.raises(errors.NonNumericDataError, match="not numeric") as info:
        load_data(path, key="names")
    assert isinstance(info.value, TypeError)
    only_text = tmp_path / "text.npz"
    np.savez(only_text, names=np.array(["a"]), more=np.array(["b"]))
    with pytest.raises(errors.NonNumericDataError, match="'names'.*'more'"):
        load_data(only_text)


# ----------------------------------------------------------------------------- columns


def test_columns_select_by_header_name_in_the_order_asked(tmp_path: pathlib.Path) -> None:
    for suffix in (".csv", ".xlsx", ".xls"):
        path = write_sample(suffix, tmp_path / f"s{suffix}")
        key = None if suffix == ".csv" else "x"
        np.testing.assert_array_equal(load_data(path, key=key, columns=["c", "a"]),
                                      SAMPLE_X[:, [2, 0]])
        np.testing.assert_array_equal(load_data(path, key=key, columns="b"), SAMPLE_X[:, [1]])
        with pytest.raises(errors.MissingColumnError, match=r"'zz'.*Available columns are: 'a', 'b', 'c'"):
            load_data(path, key=key, columns=["a", "zz"])


def test_columns_on_plain_arrays_are_positions(tmp_path: pathlib.Path) -> None:
    path = write_sample(".npy", tmp_path / "s.npy")
    np.testing.assert_array_equal(load_data(path, columns=[2, 0]), SAMPLE_X[:, [2, 0]])
    with pytest.raises(errors.MissingColumnError, match="positions 0..2"):
        load_data(path, columns=["a"])


def test_dataframe_in_pickle_with_mixed_columns(tmp_path: pathlib.Path) -> None:
    frame = pd.DataFrame({"t": ["u", "v", "w"], "a": [1.0, 2.0, 3.0], "b": [1, 2, 3]})
    path = tmp_path / "frame.pkl"
    frame.to_pickle(path)
    with pytest.raises(errors.NonNumericDataError, match="no numeric array"):
        load_data(path)
    np.testing.assert_array_equal(load_data(path, key=0, columns=["b", "a"]),
                                  [[1, 1], [2, 2], [3, 3]])
    with pytest.raises(errors.NonNumericDataError, match=r"'t'.*numeric columns are: 'a', 'b'"):
        load_data(path, key=0, columns=["t", "a"])


def test_nullable_integers_become_float_with_nan(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "nullable.pkl"
    pd.DataFrame({"a": pd.array([1, None, 3], dtype="Int64")}).to_pickle(path)
    loaded = load_data(path)
    assert loaded.dtype == np.float64
    np.testing.assert_array_equal(loaded[:, 0], [1.0, np.nan, 3.0])


# ----------------------------------------------------------------------------- csv


def test_csv_header_is_not_data_and_index_column_is_dropped(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "with_index.csv"
    pd.DataFrame(SAMPLE_X, columns=COLUMNS).to_csv(path)  # writes ",a,b,c" and an index column
    loaded = load_data(path)
    assert loaded.shape == SAMPLE_X.shape  # CEBRA returns 9 rows (header as data) x 4 columns
    np.testing.assert_array_equal(loaded, SAMPLE_X)


def test_csv_without_header_and_with_semicolons(tmp_path: pathlib.Path) -> None:
    plain = tmp_path / "plain.csv"
    np.savetxt(plain, SAMPLE_X, delimiter=",")
    np.testing.assert_array_equal(load_data(plain), SAMPLE_X)
    semicolon = tmp_path / "semi.csv"
    semicolon.write_text("a;b\n1.5;2\n3;4\n")
    np.testing.assert_array_equal(load_data(semicolon, columns=["b"]), [[2.0], [4.0]])


def test_csv_with_pandas_default_column_labels_keeps_them_as_data_and_warns(
    tmp_path: pathlib.Path,
) -> None:
    plain = tmp_path / "range.csv"
    pd.DataFrame(SAMPLE_X).to_csv(plain, index=False)  # first row "0,1,2": ambiguous
    with pytest.warns(UserWarning, match=r"range.csv' reads 0, 1, \.\.\., 2.*kept as data.*\[1:\]"):
        loaded = load_data(plain)
    np.testing.assert_array_equal(loaded, np.vstack([[0, 1, 2], SAMPLE_X]))
    indexed = tmp_path / "range_index.csv"
    pd.DataFrame(SAMPLE_X).to_csv(indexed)  # first row ",0,1,2" plus an index column
    with pytest.warns(UserWarning, match=r"\[1:, 1:\]"):
        loaded = load_data(indexed)
    np.testing.assert_array_equal(loaded[1:, 1:], SAMPLE_X)
    np.testing.assert_array_equal(loaded[0], [np.nan, 0, 1, 2])
    np.testing.assert_array_equal(loaded[1:, 0], np.arange(len(SAMPLE_X)))
    counting = tmp_path / "counting.csv"
    counting.write_text("0,1,2\n0,1,2\n5,6,7\n")  # repeated rows are plainly data: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_data(counting).shape == (3, 3)


def _write_table(path: pathlib.Path, values: np.ndarray) -> None:
    if path.suffix == ".csv":
        pd.DataFrame(values).to_csv(path, header=False, index=False)
    elif path.suffix == ".xlsx":
        pd.DataFrame(values).to_excel(path, header=False, index=False)
    else:
        write_xls(path, {"plain": values.tolist()})


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".xls"])
def test_a_first_row_of_numbers_is_never_dropped(suffix: str, tmp_path: pathlib.Path) -> None:
    # CEBRA's own fixture: np.arange rows continue the first row "0, 1, ..., 99" in equal
    # steps, so it is plainly data (no warning, as CEBRA gives none).
    values = np.arange(1000).reshape(10, 100)
    path = tmp_path / f"plain{suffix}"
    _write_table(path, values)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = load_data(path)
    np.testing.assert_array_equal(loaded, values)
    # the same first row above rows that do not continue it may be pandas' column labels
    values[2] = values[2][::-1]
    ambiguous = tmp_path / f"ambiguous{suffix}"
    _write_table(ambiguous, values)
    with pytest.warns(UserWarning, match=r"reads 0, 1, \.\.\., 99.*kept as data"):
        loaded = load_data(ambiguous)
    np.testing.assert_array_equal(loaded, values)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_first_rows_of_numbers_with_gaps_are_data_without_a_warning(
    suffix: str, tmp_path: pathlib.Path
) -> None:
    rows = [[5.0, np.nan, 7.0], [1.0, 2.0, 3.0]]  # an empty cell does not make a header
    path = tmp_path / f"gaps{suffix}"
    if suffix == ".csv":
        path.write_text("5,,7\n1,2,3\n")
    else:
        pd.DataFrame(rows).to_excel(path, header=False, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = load_data(path)
    np.testing.assert_array_equal(loaded, rows)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".xls"])
def test_a_text_header_over_numbers_is_still_a_header(suffix: str, tmp_path: pathlib.Path) -> None:
    path = tmp_path / f"named{suffix}"
    if suffix == ".csv":
        path.write_text("t,0\n1,2\n3,4\n")  # one label is a number: the row is still text
    elif suffix == ".xlsx":
        pd.DataFrame([[1, 2], [3, 4]], columns=["t", 0]).to_excel(path, index=False)
    else:
        write_xls(path, {"named": [["t", 0], [1, 2], [3, 4]]})
    np.testing.assert_array_equal(load_data(path), [[1, 2], [3, 4]])
    np.testing.assert_array_equal(load_data(path, columns=["t"]), [[1], [3]])


def test_csv_with_only_a_header_or_blank_lines(tmp_path: pathlib.Path) -> None:
    header_only = tmp_path / "header.csv"
    header_only.write_text("a,b\n")
    with pytest.raises(errors.EmptyFileError):
        load_data(header_only)
    blank = tmp_path / "blank.csv"
    blank.write_text("\n\n  \n")
    with pytest.raises(errors.EmptyFileError):
        load_data(blank)


def test_binary_content_in_a_csv(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "binary.csv"
    path.write_bytes(b"\x00\x01\x02" * 10)
    with pytest.raises(errors.CorruptFileError, match="CSV"):
        load_data(path)


# ----------------------------------------------------------------------------- Excel


def test_excel_sheets_by_name_and_position_and_index_column(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame(SAMPLE_X, columns=COLUMNS).to_excel(writer, sheet_name="indexed")
        pd.DataFrame(SAMPLE_X).to_excel(writer, sheet_name="plain", index=False, header=False)
    np.testing.assert_array_equal(load_data(path, key="indexed"), SAMPLE_X)
    np.testing.assert_array_equal(load_data(path, key=1), SAMPLE_X)
    with pytest.raises(errors.MissingKeyError, match="'indexed', 'plain'"):
        load_data(path, key="Sheet1")


def test_xls_workbook(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "old.xls"
    write_xls(path, {"first": [["t", "v"], [0, 1.5], [1, 2.5]]})
    np.testing.assert_array_equal(load_data(path, columns=["v"]), [[1.5], [2.5]])


# ----------------------------------------------------------------------------- HDF5


def test_hdf5_nested_paths_and_group_hint(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "nested.h5"
    with h5py.File(path, "w") as handle:
        handle["session/neural/raw"] = SAMPLE_X
        handle["session/behavior"] = SAMPLE_Y
    np.testing.assert_array_equal(load_data(path, key="/session/neural/raw"), SAMPLE_X)
    with pytest.raises(errors.MissingKeyError, match="'session/neural' is a group; its entries are: 'session/neural/raw'"):
        load_data(path, key="session/neural")


@pytest.mark.parametrize("layout", ["fixed", "table"])
def test_pandas_hdf_frames_are_read_without_pytables(layout: str, tmp_path: pathlib.Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / f"{layout}.h5"
    frame = pd.DataFrame({"a": [1.0, 2.0, np.nan], "b": [1, 2, 3], "t": ["x", "y", "z"]})
    frame.to_hdf(path, key="frame", format=layout)
    pd.Series([4.0, 5.0]).to_hdf(path, key="series", format="fixed")
    import sys

    monkeypatch.setitem(sys.modules, "tables", None)  # PyTables must not be needed
    np.testing.assert_array_equal(load_data(path, key="frame", columns=["b", "a"]),
                                  [[1.0, 1.0], [2.0, 2.0], [3.0, np.nan]])
    np.testing.assert_array_equal(load_data(path, key="series"), [4.0, 5.0])
    with pytest.raises(errors.NonNumericDataError, match="'t'"):
        load_data(path, key="frame")


def test_pandas_table_with_data_columns(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "datacols.h5"
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [3, 4], "c": [5.0, 6.0]})
    frame.to_hdf(path, key="f", format="table", data_columns=["b"])
    np.testing.assert_array_equal(load_data(path), frame.to_numpy())
    np.testing.assert_array_equal(load_data(path, columns=["c", "b"]), [[5.0, 3.0], [6.0, 4.0]])


def test_pandas_layout_needing_pytables_requires_trust(tmp_path: pathlib.Path) -> None:
    pytest.importorskip("tables")
    path = tmp_path / "blosc.h5"
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    frame.to_hdf(path, key="f", format="table", complib="blosc", complevel=5)
    with pytest.raises(errors.UnsafeFileError, match="filter .*trusted=True"):
        load_data(path)
    np.testing.assert_array_equal(load_data(path, trusted=True), frame.to_numpy())


def _evil_attribute(marker: pathlib.Path) -> np.bytes_:
    class Payload:
        def __reduce__(self) -> tuple:
            import os

            return (os.system, (f"touch {marker}",))

    return np.bytes_(pickle.dumps(Payload(), protocol=0))


def test_pickled_hdf5_attributes_never_run(tmp_path: pathlib.Path) -> None:
    marker = tmp_path / "marker"
    path = tmp_path / "crafted.h5"
    pd.DataFrame({"a": [1.0, 2.0]}).to_hdf(path, key="f", format="table")
    with h5py.File(path, "a") as handle:
        handle["f"].attrs["unused"] = _evil_attribute(marker)
    np.testing.assert_array_equal(load_data(path), [[1.0], [2.0]])
    with h5py.File(path, "a") as handle:
        handle["f"].attrs["non_index_axes"] = _evil_attribute(marker)
    with pytest.raises(errors.UnsafeFileError, match="posix.system|os.system"):
        load_data(path)
    assert not marker.exists()


def test_pandas_read_hdf_would_run_the_same_attribute(tmp_path: pathlib.Path) -> None:
    """Why pandas HDF groups are decoded with h5py: PyTables unpickles attributes on read."""
    pytest.importorskip("tables")
    marker = tmp_path / "marker"
    path = tmp_path / "crafted.h5"
    pd.DataFrame({"a": [1.0, 2.0]}).to_hdf(path, key="f", format="fixed")
    with h5py.File(path, "a") as handle:
        handle["f"].attrs["unused"] = _evil_attribute(marker)
    pd.read_hdf(path, "f")
    assert marker.exists()


# ----------------------------------------------------------------------------- MATLAB


def test_matlab_v73_is_read_in_matlab_shape(tmp_path: pathlib.Path) -> None:
    path = write_mat73(
        tmp_path / "v73.mat",
        {"x": SAMPLE_X, "flag": np.array([[True, False, True]])},
        struct={"pos": SAMPLE_X[:, :2]},
        text={"label": "trial"},
    )
    np.testing.assert_array_equal(load_data(path, key="x"), SAMPLE_X)
    np.testing.assert_array_equal(load_data(path, key="s/pos"), SAMPLE_X[:, :2])
    flag = load_data(path, key="flag")
    assert flag.dtype == bool and flag.shape == (1, 3)
    with pytest.raises(errors.NonNumericDataError):
        load_data(path, key="label")
    with pytest.raises(errors.MissingKeyError, match="'flag', 'label', 's/pos', 'x'"):
        load_data(path, key="#refs#")


def test_matlab_v5_struct_fields_use_the_same_paths(tmp_path: pathlib.Path) -> None:
    import scipy.io

    path = tmp_path / "v5.mat"
    scipy.io.savemat(path, {"s": {"pos": SAMPLE_X[:, :2]}, "label": "trial"})
    np.testing.assert_array_equal(load_data(path), SAMPLE_X[:, :2])
    np.testing.assert_array_equal(load_data(path, key="s/pos"), SAMPLE_X[:, :2])


@pytest.mark.parametrize("offset, value", [(145, 0x08), (176, 73)],
                         ids=["complex-flag-without-imaginary-part", "unknown-data-type"])
def test_corrupted_mat_v5_is_rejected_before_scipy(offset: int, value: int,
                                                   tmp_path: pathlib.Path) -> None:
    """scipy 1.17's compiled reader segfaults on an unknown data type, and on a complex flag
    without an imaginary part when another variable follows; neither may reach it."""
    import scipy.io

    path = tmp_path / "x.mat"
    scipy.io.savemat(path, {"x": SAMPLE_X})
    data = bytearray(path.read_bytes())
    assert data[176] == 9  # the real part's tag: miDOUBLE
    data[offset] |= value
    path.write_bytes(bytes(data))
    with pytest.raises(errors.CorruptFileError, match="MAT-file is corrupted"):
        load_data(path)


# ----------------------------------------------------------------------------- numpy, torch


def test_object_arrays_need_trust(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "objects.npy"
    np.save(path, np.array([1.0, "a"], dtype=object), allow_pickle=True)
    with pytest.raises(errors.NonNumericDataError, match=r"'objects' \(object\)"):
        load_data(path)  # not picked by default: its header says it is not numeric
    with pytest.raises(errors.UnsafeFileError, match="allow_pickle"):
        load_data(path, key=0)
    with pytest.raises(errors.NonNumericDataError, match="dtype object"):
        load_data(path, key=0, trusted=True)
    archive = tmp_path / "objects.npz"
    np.savez(archive, o=np.array([None], dtype=object), x=SAMPLE_X)
    np.testing.assert_array_equal(load_data(archive), SAMPLE_X)  # object member skipped
    with pytest.raises(errors.UnsafeFileError):
        load_data(archive, key="o")


def test_torch_model_needs_trust(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "model.pt"
    torch.save(torch.nn.Linear(2, 3), path)
    with pytest.raises(errors.UnsafeFileError, match="weights_only"):
        load_data(path)
    with pytest.raises(errors.NonNumericDataError, match="Linear"):
        load_data(path, trusted=True)


def test_torch_state_dict_and_plain_tensor(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "weights.pt"
    layer = torch.nn.Linear(2, 3)
    torch.save(layer.state_dict(), path)
    np.testing.assert_array_equal(load_data(path, key="bias"), layer.bias.detach().numpy())
    single = tmp_path / "single.pth"
    torch.save(torch.ones(4, dtype=torch.bfloat16), single)
    np.testing.assert_array_equal(load_data(single), np.ones(4, dtype=np.float32))


def test_registry_readers_have_unique_names_and_cheap_magic_checks() -> None:
    names = [r.name for r in readers()]
    assert len(names) == len(set(names))
    for reader in readers():
        assert isinstance(reader.can_read(b""), bool)


def test_unknown_npy_version_names_the_file(tmp_path):
    from cebra_data import load_data
    from cebra_data.errors import CorruptFileError

    path = tmp_path / "broken.npy"
    path.write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(CorruptFileError, match="broken.npy' is not a readable .npy file: .*version"):
        load_data(path)
