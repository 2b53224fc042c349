"""One test per root cause of issue 12 that lives in file loading.

Each test fails without its fix: it builds the smallest file showing the defect and checks
that loading returns exactly what the underlying library holds, or raises a documented
error that names the file and says what to do.
"""

from __future__ import annotations

import pathlib
import pickle
import struct
import warnings

import h5py
import joblib
import numpy as np
import openpyxl
import pandas as pd
import pytest
import scipy.io
import scipy.sparse
import torch
from _io_files import write_mat73
from _isolated import run_isolated

from cebra_data import errors
from cebra_data.errors import DenseTooLargeError
from cebra_data.io import inspect_file, load_data, load_deeplabcut, open_entries
from conftest import dlc_frame

# ------------------------------------------------------------------ pickles


def _hostile_frame_pickle() -> bytes:
    """A DataFrame pickle whose block places its second column at position 1000000."""
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})

    class Hostile(pickle.Pickler):
        def reducer_override(self, obj: object) -> object:
            if isinstance(obj, slice):
                return np.array([0, 1_000_000], np.intp).__reduce__()
            return NotImplemented

    import io as _io

    buffer = _io.BytesIO()
    Hostile(buffer, protocol=4).dump(frame)
    return buffer.getvalue()


def _load_path(path: pathlib.Path) -> np.ndarray:
    return load_data(path)


def test_pandas_pickle_with_out_of_range_blocks_is_refused_not_crashing(tmp_path):
    path = tmp_path / "hostile.pkl"
    path.write_bytes(_hostile_frame_pickle())
    assert b"_unpickle_block" in path.read_bytes()  # (plain pickle.loads crashes on it)
    status, result = run_isolated(_load_path, path, timeout=60)
    assert status == "raised", (status, result)
    assert result["type"] == "CorruptFileError"
    assert "block placement" in result["message"] and "hostile.pkl" in result["message"]


@pytest.mark.parametrize("protocol", [0, 2, 5])
def test_pandas_objects_are_rebuilt_exactly_from_checked_layouts(tmp_path, protocol):
    frame = pd.DataFrame({"x": [1.5, 2.5, np.nan], "n": [1, 2, 3],
                          "c": pd.Categorical(["a", "b", "a"])}, index=[7, 8, 9])
    series = pd.Series([1.0, 2.0], index=["p", "q"], name="s")
    path = tmp_path / "objects.pkl"
    path.write_bytes(pickle.dumps({"frame": frame, "series": series}, protocol=protocol))
    np.testing.assert_array_equal(load_data(path, key="frame", columns=["x", "n"]),
                                  frame[["x", "n"]].to_numpy())
    np.testing.assert_array_equal(load_data(path, key="series"), series.to_numpy())


def test_categorical_codes_outside_the_categories_are_refused(tmp_path):
    categorical = pd.Categorical(["a", "b"])

    class Hostile(pickle.Pickler):
        def reducer_override(self, obj: object) -> object:
            if isinstance(obj, np.ndarray) and obj.dtype == np.int8:
                return np.array([0, 120], np.int8).__reduce__()
            return NotImplemented

    import io as _io

    buffer = _io.BytesIO()
    Hostile(buffer, protocol=4).dump(pd.Series(categorical))
    path = tmp_path / "codes.pkl"
    path.write_bytes(buffer.getvalue())
    status, result = run_isolated(_load_path, path, timeout=60)
    assert status == "raised" and result["type"] == "CorruptFileError", (status, result)
    assert "categories" in result["message"]


def _python2_array_pickle(values: np.ndarray) -> bytes:
    """The bytes Python 2 writes for ``pickle.dump(values, f, 2)``: array bytes as a str."""
    def text(s: str) -> bytes:
        return b"U" + bytes([len(s)]) + s.encode("latin-1")

    raw = values.astype("<f8").tobytes()
    return (
        b"\x80\x02cnumpy.core.multiarray\n_reconstruct\nq\x00cnumpy\nndarray\nq\x01K\x00\x85"
        + text("b") + b"\x87R(K\x01" + b"K" + bytes([len(values)]) + b"\x85"
        + b"cnumpy\ndtype\n" + text("f8") + b"K\x00K\x01\x87R(K\x03" + text("<")
        + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89"
        + b"T" + struct.pack("<I", len(raw)) + raw + b"tb."
    )


@pytest.mark.parametrize("trusted", [False, True])
def test_python2_pickles_load(tmp_path, trusted):
    values = np.array([1.0, -2.5, 1e300])  # bytes outside ASCII
    path = tmp_path / "py2.pkl"
    path.write_bytes(_python2_array_pickle(values))
    with pytest.raises(UnicodeDecodeError):
        pickle.loads(path.read_bytes())  # Python 3's default encoding fails
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # numpy.core in old pickles
        np.testing.assert_array_equal(load_data(path, trusted=trusted), values)


@pytest.mark.parametrize("compress", [0, 3])
@pytest.mark.parametrize("trusted", [False, True])
def test_joblib_file_named_pkl(tmp_path, compress, trusted):
    values = np.arange(12.0).reshape(4, 3)
    path = tmp_path / "model.pkl"
    joblib.dump({"w": values}, path, compress=compress)
    result = load_data(path, key="w", trusted=trusted)
    np.testing.assert_array_equal(result, joblib.load(path)["w"])


def test_torchscript_archive_is_explained_and_read_when_trusted(tmp_path):
    module = torch.jit.script(torch.nn.Linear(3, 2))
    path = tmp_path / "model.pt"
    torch.jit.save(module, path)
    with pytest.raises(errors.UnsafeFileError, match=r"TorchScript.*trusted=True") as info:
        load_data(path)
    assert "model.pt" in str(info.value)
    np.testing.assert_array_equal(load_data(path, key="weight", trusted=True),
                                  module.weight.detach().numpy())


def test_single_byte_corruption_inside_a_pt_tensor_is_detected(tmp_path):
    values = np.arange(64.0)
    path = tmp_path / "t.pt"
    torch.save({"x": torch.from_numpy(values)}, path)
    data = bytearray(path.read_bytes())
    position = data.find(values[40:41].tobytes())
    data[position + 6] ^= 0x01  # still a valid float: torch alone loads a different number
    path.write_bytes(bytes(data))
    with pytest.raises(errors.CorruptFileError, match=r"t\.pt.*CRC"):
        load_data(path)


# ------------------------------------------------------------------ tables


def test_excel_sheet_with_blank_leading_rows(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    for row, values in enumerate([["x", "y"], [1, 2.5], [3, 4.5]], start=3):
        for column, value in enumerate(values, start=1):
            sheet.cell(row, column, value)
    book.save(tmp_path / "blank.xlsx")
    np.testing.assert_array_equal(load_data(tmp_path / "blank.xlsx"), [[1, 2.5], [3, 4.5]])
    np.testing.assert_array_equal(load_data(tmp_path / "blank.xlsx", columns=["y"]),
                                  [[2.5], [4.5]])


def test_formula_without_stored_result_is_refused(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet["A1"], sheet["A2"], sheet["A3"] = 1, 2, "=A1+A2"
    book.save(tmp_path / "formula.xlsx")
    with pytest.raises(errors.NonNumericDataError, match=r"Cell A3 of sheet 'Sheet'.*save"):
        load_data(tmp_path / "formula.xlsx")


def test_excel_written_with_a_date_index_drops_the_index(tmp_path):
    frame = pd.DataFrame({"a": [1.5, 2.5], "b": [3.0, 4.0]},
                         index=pd.to_datetime(["2020-01-01", "2020-01-02"]))
    frame.to_excel(tmp_path / "indexed.xlsx")
    np.testing.assert_array_equal(load_data(tmp_path / "indexed.xlsx"), frame.to_numpy())


def test_csv_header_one_name_short_is_refused(tmp_path):
    path = tmp_path / "short.csv"
    path.write_text("x,y\n1,2,3\n4,5,6\n")
    with pytest.raises(errors.CorruptFileError, match=r"Line 2 of .*short\.csv.*3 field.*2"):
        load_data(path)


def test_csv_ragged_row_is_refused_not_padded(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("x,y,z\n1,2,3\n4,5\n7,8,9\n")
    with pytest.raises(errors.CorruptFileError, match=r"Line 3 of .*ragged\.csv.*2 field"):
        load_data(path)


def test_quoted_csv_with_consistent_rows_still_loads(tmp_path):
    path = tmp_path / "quoted.csv"
    path.write_text('"x","y"\n"1",2\n3,"4"\n')
    np.testing.assert_array_equal(load_data(path), [[1, 2], [3, 4]])


def test_columns_without_key_pick_the_table_that_has_them(tmp_path):
    frame = pd.DataFrame({"length": [5.1, 4.9], "width": [3.5, 3.0],
                          "species": ["setosa", "setosa"]})
    frame.to_csv(tmp_path / "iris.csv", index=False)
    np.testing.assert_array_equal(load_data(tmp_path / "iris.csv", columns=["width"]),
                                  frame[["width"]].to_numpy())
    with pd.ExcelWriter(tmp_path / "iris.xlsx") as writer:
        frame.to_excel(writer, sheet_name="notes", index=False, columns=["species"])
        frame.to_excel(writer, sheet_name="data", index=False)
    np.testing.assert_array_equal(
        load_data(tmp_path / "iris.xlsx", columns=["length", "width"]),
        frame[["length", "width"]].to_numpy())
    with pytest.raises(errors.NonNumericDataError, match="'species'"):
        load_data(tmp_path / "iris.csv", columns=["species"])


# ------------------------------------------------------------------ DeepLabCut


def _pose(tmp_path: pathlib.Path) -> pathlib.Path:
    values = np.arange(18.0).reshape(6, 3) / 10 + 0.1
    values[:, 2] = 0.9
    path = tmp_path / "pose.csv"
    dlc_frame(values, ["nose"]).to_csv(path)
    return path


def test_truncated_deeplabcut_csv_is_refused(tmp_path):
    path = _pose(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: data.rstrip().rfind(b",") + 2])  # cut inside the last row
    with pytest.raises(errors.CorruptFileError, match=r"pose\.csv.*truncated"):
        load_deeplabcut(path)


def test_deeplabcut_non_numeric_cell_names_the_column(tmp_path):
    path = _pose(tmp_path)
    lines = path.read_text().splitlines()
    cells = lines[5].split(",")
    cells[2] = "oops"
    lines[5] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(errors.NonNumericDataError, match=r"'nose', 'y'.*'oops'"):
        load_deeplabcut(path)


@pytest.mark.parametrize("pcutoff", [1.01, -0.5])
def test_pcutoff_outside_zero_one_is_refused(tmp_path, pcutoff):
    path = _pose(tmp_path)
    for call in (load_deeplabcut, inspect_file):
        with pytest.raises(ValueError, match=rf"between 0 and 1.*pcutoff={pcutoff}"):
            call(path, pcutoff=pcutoff)


def test_three_d_deeplabcut_z_is_not_dropped_silently(tmp_path):
    columns = pd.MultiIndex.from_product([["s"], ["nose"], ["x", "y", "z"]],
                                         names=["scorer", "bodyparts", "coords"])
    frame = pd.DataFrame(np.arange(9.0).reshape(3, 3), columns=columns)
    frame.to_csv(tmp_path / "pose3d.csv")
    with pytest.warns(UserWarning, match=r"3-D DeepLabCut.*'nose'.*z"):
        poses = load_deeplabcut(tmp_path / "pose3d.csv")
    np.testing.assert_array_equal(poses, frame.iloc[:, :2].to_numpy())


# ------------------------------------------------------------------ MATLAB and HDF5


def test_plain_hdf5_named_mat_is_not_transposed(tmp_path):
    values = np.arange(6.0).reshape(2, 3)
    with h5py.File(tmp_path / "plain.mat", "w") as handle:
        handle["x"] = values
    np.testing.assert_array_equal(load_data(tmp_path / "plain.mat"), values)


def test_mat73_objects_and_sparse_internals_are_not_data(tmp_path):
    path = write_mat73(tmp_path / "v73.mat", {"x": np.arange(4.0).reshape(2, 2)})
    dense = np.array([[0.0, 2.0, 0.0], [1.0, 0.0, 3.0]])
    csc = scipy.sparse.csc_matrix(dense)
    with h5py.File(path, "a") as handle:
        group = handle.create_group("a_sparse")
        group["data"], group["ir"], group["jc"] = csc.data, csc.indices.astype(np.uint64), \
            csc.indptr.astype(np.uint64)
        group.attrs["MATLAB_class"] = np.bytes_("double")
        group.attrs["MATLAB_sparse"] = np.uint64(2)
        obj = handle.create_dataset("a_missing", data=np.array([[3707764736], [2]], np.uint32))
        obj.attrs["MATLAB_class"] = np.bytes_("missing")
        obj.attrs["MATLAB_object_decode"] = np.int32(3)
    with open_entries(path) as (_, _, entries):
        names = [e.name for e in entries]
    assert "a_sparse/jc" not in names and "a_sparse/ir" not in names
    np.testing.assert_array_equal(load_data(path, key="a_sparse"), dense)
    with pytest.raises(errors.NonNumericDataError, match=r"MATLAB object of class 'missing'"):
        load_data(path, key="a_missing")
    np.testing.assert_array_equal(load_data(path), load_data(path, key="a_sparse"))


def _patch_mat5(data: bytes, old: bytes, new: bytes) -> bytes:
    assert data.count(old) == 1
    return data.replace(old, new)


def test_mat5_precheck_accepts_utf8_names_and_uint32_dimensions(tmp_path):
    values = np.arange(6.0).reshape(2, 3)
    path = tmp_path / "v5.mat"
    scipy.io.savemat(path, {"var": values}, do_compression=False)
    data = path.read_bytes()
    data = _patch_mat5(data, struct.pack("<II", 5, 8) + struct.pack("<ii", 2, 3),
                       struct.pack("<II", 6, 8) + struct.pack("<II", 2, 3))  # miUINT32 dims
    data = _patch_mat5(data, struct.pack("<HH", 1, 3) + b"var", struct.pack("<HH", 16, 3) + b"var")
    path.write_bytes(data)
    reference = scipy.io.loadmat(path)["var"]  # scipy reads the file
    np.testing.assert_array_equal(load_data(path, key="var"), reference)


def test_mat5_object_inside_a_struct_is_not_a_corrupt_file(tmp_path):
    path = tmp_path / "object.mat"
    obj = scipy.io.matlab.MatlabObject(np.zeros((1, 1), dtype=[("v", object)]), "myclass")
    obj[0, 0]["v"] = np.array([[1.0, 2.0]])
    scipy.io.savemat(path, {"s": {"o": obj, "x": np.arange(3.0)}})
    scipy.io.loadmat(path)  # scipy reads it
    np.testing.assert_array_equal(load_data(path, key="s/x"), [[0.0, 1.0, 2.0]])


def test_mat5_sparse_is_densified(tmp_path):
    dense = np.array([[0.0, 1.5], [2.0, 0.0], [0.0, 0.0]])
    scipy.io.savemat(tmp_path / "sparse.mat", {"sp": scipy.sparse.csc_matrix(dense)})
    np.testing.assert_array_equal(load_data(tmp_path / "sparse.mat", key="sp"), dense)


def test_sparse_too_big_to_densify_gives_a_clear_error(tmp_path):
    huge = scipy.sparse.csc_matrix(([1.0], ([0], [0])), shape=(10**7, 10**7))
    scipy.io.savemat(tmp_path / "huge.mat", {"sp": huge})
    with pytest.raises(DenseTooLargeError, match=r"huge\.mat.*sparse.*GB") as info:
        load_data(tmp_path / "huge.mat", key="sp")
    assert isinstance(info.value, MemoryError) and isinstance(info.value, errors.CebraDataError)


def _quad_file(path: pathlib.Path) -> pathlib.Path:
    with h5py.File(path, "w") as handle:
        handle["a"] = np.arange(3.0)
        quad = h5py.h5t.IEEE_F64LE.copy()
        quad.set_size(16)
        quad.set_precision(128)
        quad.set_fields(127, 112, 15, 0, 112)
        quad.set_ebias(16383)
        h5py.h5d.create(handle.id, b"quad", quad, h5py.h5s.create_simple((2,)))
        handle["z"] = np.arange(2)
    return path


def test_unrepresentable_hdf5_dataset_fails_only_when_asked_for(tmp_path):
    path = _quad_file(tmp_path / "quad.h5")
    np.testing.assert_array_equal(load_data(path, key="z"), np.arange(2))
    np.testing.assert_array_equal(load_data(path), np.arange(3.0))
    with pytest.raises(errors.NonNumericDataError, match=r"quad\.h5.*'quad'.*cannot represent"):
        load_data(path, key="quad")
    info = inspect_file(path)
    assert [e["name"] for e in info["entries"]] == ["a", "quad", "z"]


def _biff_record(kind: int, data: bytes) -> bytes:
    return struct.pack("<HH", kind, len(data)) + data


@pytest.mark.filterwarnings("ignore:The xlrd engine is deprecated")
@pytest.mark.parametrize("bof, version", [(0x0009, 2), (0x0209, 3), (0x0409, 4)])
def test_old_xls_worksheet_without_window2_is_read(tmp_path, bof, version):
    """Excel 2.x-4.x worksheets are bare BIFF streams (no OLE2 header, no WINDOW2 record)."""
    data = _biff_record(bof, struct.pack("<HH", 0, 0x0010))
    if version == 2:
        data += _biff_record(0x0004, struct.pack("<HH3sB", 0, 0, b"\0\0\0", 1) + b"x")
        data += _biff_record(0x0003, struct.pack("<HH3sd", 1, 0, b"\0\0\0", 1.5))
    else:
        data += _biff_record(0x0204, struct.pack("<HHHH", 0, 0, 0, 1) + b"x")
        data += _biff_record(0x0203, struct.pack("<HHHd", 1, 0, 0, 1.5))
    path = tmp_path / f"biff{version}.xls"
    path.write_bytes(data + _biff_record(0x000A, b""))
    assert pd.read_excel(path, engine="xlrd").to_numpy().tolist() == [[1.5]]  # xlrd reads it
    np.testing.assert_array_equal(load_data(path, columns=["x"]), [[1.5]])


def test_hdf5_of_only_external_links_says_why_it_looks_empty(tmp_path):
    with h5py.File(tmp_path / "target.h5", "w") as handle:
        handle["x"] = np.arange(3.0)
    with h5py.File(tmp_path / "links.h5", "w") as handle:
        handle["x"] = h5py.ExternalLink("target.h5", "/x")
    with pytest.raises(errors.UnsafeFileError, match=r"links\.h5.*external links.*trusted=True"):
        load_data(tmp_path / "links.h5")
