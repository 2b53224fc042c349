"""The second round of ``load_data`` fast paths (issue 13).

* ``.pt``: CRC-32 of every stored zip member checked over a read-only memory map, tensors
  mapped privately by ``torch.load(mmap=True)`` (files up to 192 KiB: read once, checked and
  loaded from memory);
* ``.csv``: row widths checked on pandas' result, the line-by-line check only when pandas
  may have hidden a ragged row;
* ``.xlsx``: formula scan ruled out by substring searches;
* compressed ``.mat`` v5: plain numeric variables inflated straight into their array;
* zlib-compressed joblib files: inflated straight into the array's buffer.
"""

from __future__ import annotations

import csv
import io
import mmap
import pathlib
import struct
import warnings
import zipfile
import zlib

import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.io
import torch

from cebra_data import load_data
from cebra_data.errors import CorruptFileError, NonNumericDataError
from cebra_data.io import matlab, tabular
from cebra_data.io.safe_pickle import _ZlibStream


@pytest.fixture(params=[400, 8_000], ids=["read-in-memory", "memory-mapped"])
def values(request) -> np.ndarray:
    """19 kB and 384 kB of float64: ``.pt`` files on both sides of ``pickles._READ_LIMIT``."""
    return np.random.default_rng(13).normal(size=(request.param, 6))


# ------------------------------------------------------------------ .pt


def _member_data_span(path: pathlib.Path, suffix: str) -> tuple[int, int]:
    """Start and end of the stored bytes of the zip member whose name ends with ``suffix``."""
    data = path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        info = next(i for i in archive.infolist() if i.filename.endswith(suffix))
    name_length, extra_length = struct.unpack("<HH", data[info.header_offset + 26:
                                                          info.header_offset + 30])
    start = info.header_offset + 30 + name_length + extra_length
    return start, start + info.compress_size


@pytest.mark.parametrize("as_dict", [False, True])
def test_pt_values_equal_torch_and_writes_never_reach_the_file(tmp_path, values, as_dict):
    path = tmp_path / "t.pt"
    tensor = torch.from_numpy(values)
    torch.save({"x": tensor} if as_dict else tensor, path)
    before = path.read_bytes()
    loaded = load_data(path)
    np.testing.assert_array_equal(loaded, values)
    assert loaded.flags.writeable
    loaded[:] = -1.0
    torch.from_numpy(loaded).add_(1.0)
    assert path.read_bytes() == before
    np.testing.assert_array_equal(load_data(path), values)


def test_pt_small_files_are_read_once_and_larger_ones_mapped(tmp_path, values):
    from cebra_data.io import pickles

    path = tmp_path / "t.pt"
    torch.save(torch.from_numpy(values), path)
    zipped, torchscript, checked = pickles._check_archive(path)
    assert zipped and not torchscript
    if path.stat().st_size <= pickles._READ_LIMIT:
        assert values.shape[0] == 400 and checked == path.read_bytes()
    else:
        assert values.shape[0] == 8_000 and checked is None


def test_pt_writes_stay_private_even_when_torch_maps_shared_by_default(tmp_path, values):
    path = tmp_path / "t.pt"
    torch.save(torch.from_numpy(values), path)
    before = path.read_bytes()
    with torch.serialization.set_default_mmap_options(mmap.MAP_SHARED):
        loaded = load_data(path)
        assert torch.serialization.get_default_mmap_options() == mmap.MAP_SHARED
    loaded[:] = 0.0
    assert path.read_bytes() == before
    assert torch.serialization.get_default_mmap_options() == mmap.MAP_PRIVATE


def test_pt_legacy_format_still_loads(tmp_path, values):
    path = tmp_path / "legacy.pt"
    torch.save({"x": torch.from_numpy(values)}, path, _use_new_zipfile_serialization=False)
    np.testing.assert_array_equal(load_data(path), values)


def test_pt_flipped_byte_in_the_pickle_member_is_a_crc_error(tmp_path, values):
    path = tmp_path / "t.pt"
    torch.save({"x": torch.from_numpy(values)}, path)
    start, _ = _member_data_span(path, "data.pkl")
    data = bytearray(path.read_bytes())
    data[start + 5] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptFileError, match=r"t\.pt.*CRC-32.*data\.pkl"):
        load_data(path)


def test_the_fast_crc32_is_zlibs_checksum_on_mapped_views(tmp_path):
    from cebra_data.io import pickles

    data = np.random.default_rng(1).integers(0, 256, size=3_000_001, dtype=np.uint8).tobytes()
    path = tmp_path / "bytes.bin"
    path.write_bytes(data)
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as m:
        view = memoryview(m)
        for start, stop in ((0, len(data)), (7, 1_000_003), (5, 5), (len(data) - 3, len(data))):
            assert pickles._crc32(view[start:stop]) == zlib.crc32(data[start:stop])
        view.release()


def test_without_the_fast_extra_pt_files_are_checked_by_zlib(tmp_path, values):
    import subprocess
    import sys

    good, bad = tmp_path / "good.pt", tmp_path / "bad.pt"
    torch.save({"x": torch.from_numpy(values)}, good)
    start, _ = _member_data_span(good, "data/0")
    data = bytearray(good.read_bytes())
    data[start + 3] ^= 0x10
    bad.write_bytes(bytes(data))
    np.save(tmp_path / "expected.npy", values)
    code = (
        "import sys, zlib; sys.modules['isal'] = None\n"
        "import numpy as np\n"
        "from cebra_data import load_data\n"
        "from cebra_data.io import pickles\n"
        "from cebra_data.errors import CorruptFileError\n"
        "assert pickles._crc32 is zlib.crc32\n"
        f"folder = {str(tmp_path)!r}\n"
        "np.testing.assert_array_equal(load_data(folder + '/good.pt'),"
        " np.load(folder + '/expected.npy'))\n"
        "try:\n    load_data(folder + '/bad.pt')\nexcept CorruptFileError as e:\n"
        "    assert 'CRC-32' in str(e)\nelse:\n    raise SystemExit('not refused')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr


def _save(path: pathlib.Path, values: np.ndarray, crc32: bool = True) -> None:
    """``torch.save``; with ``crc32=False`` torch writes 0 for every CRC-32 (its fast option)."""
    torch.serialization.set_crc32_options(crc32)
    try:
        torch.save({"x": torch.from_numpy(values)}, path)
    finally:
        torch.serialization.set_crc32_options(True)


def test_pt_saved_without_crc32_loads(tmp_path, values):
    path = tmp_path / "t.pt"
    _save(path, values, crc32=False)
    with zipfile.ZipFile(path) as archive:
        assert {info.CRC for info in archive.infolist()} == {0}  # what torch wrote
    np.testing.assert_array_equal(load_data(path), values)


def test_pt_with_one_zeroed_crc32_among_real_ones_is_corrupt(tmp_path, values):
    path = tmp_path / "t.pt"
    torch.save({"x": torch.from_numpy(values)}, path)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        name = next(i.filename for i in archive.infolist() if i.filename.endswith("data/0"))
        record = archive.start_dir
    # zero the CRC-32 (offset 16) of data/0's central-directory record (name at offset 46)
    while data[record + 46:record + 46 + len(name)] != name.encode():
        record = data.index(b"PK\x01\x02", record + 4)
    data[record + 16:record + 20] = b"\0\0\0\0"
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptFileError, match=r"CRC-32.*data/0"):
        load_data(path)


@pytest.mark.parametrize("crc32", [True, False])
def test_pt_member_running_past_the_end_of_the_file_is_refused(tmp_path, values, crc32):
    path = tmp_path / "t.pt"
    _save(path, values, crc32)  # without CRC-32s the sizes are still checked
    data = path.read_bytes()
    start, end = _member_data_span(path, "data/0")
    # drop the second half of the tensor's bytes; the central directory stays intact
    middle = (start + end) // 2
    path.write_bytes(data[:middle] + data[end:])
    with pytest.raises(CorruptFileError, match=r"t\.pt.*(does not verify|corrupted)"):
        load_data(path)


def test_pt_local_header_naming_another_member_is_refused(tmp_path, values):
    path = tmp_path / "t.pt"
    torch.save({"x": torch.from_numpy(values)}, path)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = next(i for i in archive.infolist() if i.filename.endswith("data/0"))
    name_start = info.header_offset + 30
    data[name_start + len(info.filename) - 1:name_start + len(info.filename)] = b"9"
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptFileError, match="names another file"):
        load_data(path)


# ------------------------------------------------------------------ .csv


def _write(path: pathlib.Path, text: str) -> pathlib.Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize("text, line, count, width", [
    ("1,2,3\n4,5,6\n7,8\n9,10,11\n", 3, 2, 3),        # short row: pandas pads with NaN
    ("1,2,3\n4,5,6\n7,8,9,10\n9,10,11\n", 3, 4, 3),   # long row: pandas refuses
    ("1,2,3\n4,5,6\n7,8,\n9,10,11\n", None, None, None),  # an empty last field is fine
])
def test_csv_row_widths_are_checked_in_one_pass(tmp_path, text, line, count, width):
    path = _write(tmp_path / "r.csv", text)
    if line is None:
        loaded = load_data(path)
        assert loaded.shape == (4, 3) and np.isnan(loaded[2, 2])
        return
    with pytest.raises(CorruptFileError,
                       match=rf"Line {line} of .*r\.csv.* has {count} field\(s\) but the first "
                             rf"row has {width}"):
        load_data(path)


def test_csv_header_one_name_short_is_refused_with_its_hint(tmp_path):
    # pandas reads this with a warning and drops the last column (index_col=False)
    path = _write(tmp_path / "h.csv", "x,y\n1,2,3\n4,5,6\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no pandas warning may leak either
        with pytest.raises(CorruptFileError, match=r"Line 2 .*header is one name shorter"):
            load_data(path)


def test_csv_short_row_with_index_column_is_refused(tmp_path):
    path = _write(tmp_path / "i.csv", ",x,y\n0,1,2\n1,3\n2,5,6\n")
    with pytest.raises(CorruptFileError, match=r"Line 3 .*has 2 field\(s\)"):
        load_data(path)
    good = _write(tmp_path / "j.csv", ",x,y\n0,1,2\n1,3,4\n")
    np.testing.assert_array_equal(load_data(good), [[1, 2], [3, 4]])


def test_csv_quoted_numbers_and_text_columns_read_as_before(tmp_path):
    path = _write(tmp_path / "q.csv", 'name,x,y\n"a,b",1,"2.5"\n"c\nd",3,4.5\n')
    np.testing.assert_array_equal(load_data(path, columns=["x", "y"]), [[1, 2.5], [3, 4.5]])
    ragged = _write(tmp_path / "qr.csv", 'name,x,y\n"a,b",1,2\n"c",3\n')
    with pytest.raises(CorruptFileError, match=r"Line 3 .*has 2 field\(s\)"):
        load_data(ragged, columns=["x"])


def test_csv_blank_lines_and_crlf_are_not_ragged_rows(tmp_path):
    path = tmp_path / "b.csv"
    path.write_bytes(b"1,2\r\n\r\n3,4\r\n   \r\n5,6\r\n")
    np.testing.assert_array_equal(load_data(path), [[1, 2], [3, 4], [5, 6]])


@pytest.mark.parametrize("sample", [
    "1,2,3\n4,5,6", "a b c\n1 2 3", "x|y\n1|2", "'a','b'\n1,2", "single\n1\n2", "",
    '"x,y",z\n1,2',
])
def test_sniffing_shortcut_answers_as_the_sniffer(sample):
    try:
        expected = csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        expected = ","
    assert tabular._sniff_delimiter(sample) == expected


def test_semicolon_and_tab_files_are_still_sniffed(tmp_path):
    np.testing.assert_array_equal(load_data(_write(tmp_path / "s.csv", "1;2\n3;4\n")),
                                  [[1, 2], [3, 4]])
    np.testing.assert_array_equal(load_data(_write(tmp_path / "t.csv", "1\t2\n3\t4\n")),
                                  [[1, 2], [3, 4]])


# ------------------------------------------------------------------ .xlsx


def _minimal_xlsx(path: pathlib.Path, sheet_xml: str) -> None:
    """A workbook skeleton with one sheet, enough for the formula scan."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("xl/workbook.xml",
                         '<workbook><sheets><sheet name="Data" sheetId="1" r:id="rId1"/>'
                         "</sheets></workbook>")
        archive.writestr("xl/_rels/workbook.xml.rels",
                         '<Relationships><Relationship Id="rId1" '
                         'Target="worksheets/sheet1.xml"/></Relationships>')
        archive.writestr("xl/worksheets/sheet1.xml", sheet_xml)


@pytest.mark.parametrize("cell, refused", [
    ('<x:c r="B2"><x:f>A1*2</x:f></x:c>', True),         # prefixed formula, no result
    ('<c r="B2"><f>A1*2</f></c>', True),                 # plain formula, no result
    ('<x:c r="B2"><x:f>A1*2</x:f><x:v>4</x:v></x:c>', False),  # result stored
    ('<c r="B2"><v>4</v></c>', False),                   # no formula at all
])
def test_formula_scan_with_and_without_namespace_prefixes(tmp_path, cell, refused):
    path = tmp_path / "f.xlsx"
    _minimal_xlsx(path, f"<worksheet><sheetData><row>{cell}</row></sheetData></worksheet>")
    if refused:
        with pytest.raises(NonNumericDataError, match="Cell B2 .* holds a formula"):
            tabular._check_formulas(path, "Data", "sheet 'Data'")
    else:
        tabular._check_formulas(path, "Data", "sheet 'Data'")


# ------------------------------------------------------------------ compressed .mat


def test_compressed_mat_numeric_variables_match_scipy_in_dtype_shape_and_layout(tmp_path):
    rng = np.random.default_rng(3)
    variables = {
        "a": rng.normal(size=(7, 5)), "b": np.arange(24, dtype=np.int16).reshape(2, 3, 4),
        "c": np.ones((3, 2), np.float32), "d": np.array([[True, False]]),
        "e": rng.normal(size=(2, 2)) + 1j, "f": np.arange(5, dtype=np.uint64),
        "g": np.zeros((0, 3)), "h": np.array(3.0), "s": "text",
    }
    path = tmp_path / "many.mat"
    scipy.io.savemat(path, variables, do_compression=True)
    reference = scipy.io.loadmat(path)
    sources = matlab._mat5_sources(path)
    direct = {name for source in sources if isinstance(source, dict) for name in source}
    assert direct == {"a", "b", "c", "f", "h"}  # the plain numeric ones
    for name in variables:
        if name == "s":
            continue
        loaded = load_data(path, key=name)
        assert loaded.dtype == reference[name].dtype, name
        assert loaded.shape == reference[name].shape, name
        assert loaded.flags.f_contiguous == reference[name].flags.f_contiguous, name
        np.testing.assert_array_equal(loaded, reference[name])
    # variables keep the file's order when direct and scipy-read ones alternate
    from cebra_data.io import open_entries
    with open_entries(path) as (_, _, entries):
        assert [e.name for e in entries] == list(variables)


def test_directly_read_mat_array_is_writable_and_private(tmp_path, values):
    path = tmp_path / "w.mat"
    scipy.io.savemat(path, {"x": values}, do_compression=True)
    before = path.read_bytes()
    loaded = load_data(path)
    assert loaded.flags.writeable
    loaded[:] = 0.0
    assert path.read_bytes() == before
    np.testing.assert_array_equal(load_data(path), values)


def test_non_native_byte_order_is_left_to_scipy():
    foreign = ">" if np.little_endian else "<"
    assert matlab._plain_numeric(memoryview(b""), foreign) is None


def test_compressed_mat_announcing_the_wrong_size_gives_the_old_error(tmp_path, values):
    path = tmp_path / "lie.mat"
    scipy.io.savemat(path, {"x": values}, do_compression=True)
    data = bytearray(path.read_bytes())
    inner = bytearray(zlib.decompress(bytes(data[136:])))
    inner[4:8] = struct.pack("<I", len(inner) - 8 + 64)  # claims 64 more bytes than it holds
    packed = zlib.compress(bytes(inner))
    path.write_bytes(bytes(data[:128]) + struct.pack("<II", 15, len(packed)) + packed)
    with pytest.raises(CorruptFileError, match="claims"):
        load_data(path)


def test_truncated_compressed_mat_is_refused(tmp_path, values):
    path = tmp_path / "cut.mat"
    scipy.io.savemat(path, {"x": values}, do_compression=True)
    data = path.read_bytes()
    packed = data[136:136 + (len(data) - 136) // 2]
    path.write_bytes(data[:128] + struct.pack("<II", 15, len(packed)) + packed)
    with pytest.raises(CorruptFileError):
        load_data(path)


# ------------------------------------------------------------------ zlib joblib


@pytest.mark.parametrize("payload", [bytes(3_000_000), b"abc",
                                     np.random.default_rng(5).bytes(2_500_000)])
def test_zlib_stream_gives_exactly_the_inflated_bytes(payload):
    packed = zlib.compress(payload, 3)
    for trailing in (b"", b"not zlib"):
        stream = io.BufferedReader(_ZlibStream(io.BytesIO(packed + trailing)))
        out = bytearray()
        while chunk := stream.read(700_001):
            out += chunk
        assert bytes(out) == payload
    cut = io.BufferedReader(_ZlibStream(io.BytesIO(packed[:len(packed) // 2])))
    assert len(cut.read()) < len(payload)


def test_zlib_joblib_arrays_equal_joblib_and_truncation_is_reported(tmp_path):
    big = np.random.default_rng(8).normal(size=(60_000, 5))  # several MiB: many pieces
    path = tmp_path / "z.jl"
    joblib.dump({"x": big, "y": np.arange(10)}, path, compress=3)
    np.testing.assert_array_equal(load_data(path), big)
    np.testing.assert_array_equal(load_data(path, key="y"), np.arange(10))
    data = path.read_bytes()
    (tmp_path / "cut.jl").write_bytes(data[:len(data) // 2])
    with pytest.raises(CorruptFileError, match="truncated"):
        load_data(tmp_path / "cut.jl")


def test_table_of_numpy_and_nullable_columns_gives_nan_for_missing_values():
    from cebra_data.io.reader import Table

    nullable = pd.DataFrame({"a": pd.array([1, None, 3], dtype="Int64"), "b": [0.5, 1.5, 2.5]})
    taken = Table.from_frame(nullable).take()
    assert taken.dtype == np.float64
    np.testing.assert_array_equal(taken, [[1, 0.5], [np.nan, 1.5], [3, 2.5]])
    plain = pd.DataFrame({"a": [1, 2, 3], "b": [0.5, np.nan, 2.5]})
    taken = Table.from_frame(plain).take()
    np.testing.assert_array_equal(taken, [[1, 0.5], [2, np.nan], [3, 2.5]])
    np.testing.assert_array_equal(Table.from_frame(plain).take([0]), [[1], [2], [3]])
    assert Table.from_frame(plain).take([0]).dtype == np.int64


# ------------------------------------------------------------------ row-width check


def _first_ragged_by_lines(data: bytes, sep: bytes, width: int):
    """The line-by-line definition: first non-blank line of splitlines() with another width."""
    for number, line in enumerate(data.splitlines(), 1):
        if line.strip() and line.count(sep) + 1 != width:
            return number, line.count(sep) + 1
    return None


@pytest.mark.parametrize("block", [1 << 24, 3, 7])
def test_vectorised_width_check_finds_the_same_line_as_the_line_by_line_one(monkeypatch, block):
    from cebra_data.io import reader

    monkeypatch.setattr(reader, "_WIDTH_BLOCK", block)  # blocks cut inside the text too
    rng = np.random.default_rng(21)
    alphabet = [b"1", b",", b"\n", b" ", b"\t", b"2", b"\n", b"\r"]
    for _ in range(1500):
        data = b"".join(alphabet[i] for i in rng.integers(0, len(alphabet), rng.integers(0, 40)))
        width = int(rng.integers(1, 4))
        for sep in (b",", b"\t"):
            assert reader._first_ragged_line(data, sep, width) == \
                _first_ragged_by_lines(data, sep, width), (data, sep, width)


def test_missing_final_line_end_is_still_refused_where_required(tmp_path):
    from cebra_data.io.reader import check_row_widths

    path = tmp_path / "cut.csv"
    path.write_bytes(b"1,2\n3,4")
    with pytest.raises(CorruptFileError, match="ends in the middle of a row"):
        check_row_widths(path, ",", 2, require_final_newline=True)
    path.write_bytes(b"1,2\n3,4\n")
    check_row_widths(path, ",", 2, require_final_newline=True)
    path.write_bytes(b" \n\t")  # blank text: nothing cut
    check_row_widths(path, ",", 2, require_final_newline=True)
