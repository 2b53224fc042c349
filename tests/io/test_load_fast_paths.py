"""The fast paths of ``load_data``: memory-mapped joblib arrays, one-pass .npy and .mat reads."""

from __future__ import annotations

import mmap
import pathlib

import joblib
import numpy as np
import pytest
import scipy.io
import torch

from cebra_data import load_data
from cebra_data.errors import CorruptFileError, UnsafeFileError
from cebra_data.io import matlab


@pytest.fixture
def values() -> np.ndarray:
    return np.random.default_rng(7).normal(size=(300, 4))


def _mapped_file(array: np.ndarray) -> bool:
    """Whether ``array`` views a memory map (follows the chain of bases)."""
    base = array
    while base is not None and not isinstance(base, mmap.mmap):
        base = getattr(base, "base", None) if not isinstance(base, memoryview) else base.obj
    return isinstance(base, mmap.mmap)


def test_uncompressed_joblib_array_is_file_backed_and_equal(tmp_path, values):
    path = tmp_path / "session.jl"
    joblib.dump({"neural": values, "label": values[:, 0]}, path)
    loaded = load_data(path)
    assert type(loaded) is np.ndarray
    assert _mapped_file(loaded)
    np.testing.assert_array_equal(loaded, joblib.load(path)["neural"])
    np.testing.assert_array_equal(load_data(path, key="label"), values[:, 0])


def test_writing_into_a_mapped_joblib_array_never_changes_the_file(tmp_path, values):
    path = tmp_path / "session.jl"
    joblib.dump(values, path)
    before = path.read_bytes()
    loaded = load_data(path)
    assert loaded.flags.writeable
    loaded[:] = -1.0
    assert path.read_bytes() == before
    np.testing.assert_array_equal(load_data(path), values)
    # a tensor of it shares the private copy, not the file
    torch.from_numpy(loaded).add_(1.0)
    assert path.read_bytes() == before


def test_mapped_joblib_array_stays_valid_after_more_loads(tmp_path, values):
    path = tmp_path / "session.jl"
    joblib.dump({"a": values, "b": 2 * values}, path)
    first = load_data(path, key="a")
    second = load_data(path, key="b")
    np.testing.assert_array_equal(first, values)
    np.testing.assert_array_equal(second, 2 * values)


def test_joblib_fortran_order_and_big_endian_arrays_are_read_as_joblib_reads_them(tmp_path, values):
    path = tmp_path / "orders.jl"
    joblib.dump({"f": np.asfortranarray(values), "big": values.astype(">f8")}, path)
    fortran = load_data(path, key="f")
    assert fortran.flags.f_contiguous
    np.testing.assert_array_equal(fortran, values)
    big_endian = load_data(path, key="big")
    assert big_endian.dtype == np.dtype("float64") and big_endian.dtype.isnative
    np.testing.assert_array_equal(big_endian, values)


@pytest.mark.parametrize("compress", [3, ("gzip", 3), ("bz2", 1), ("xz", 1)])
def test_compressed_joblib_files_still_load_into_memory(tmp_path, values, compress):
    path = tmp_path / "packed.jl"
    joblib.dump({"x": values}, path, compress=compress)
    loaded = load_data(path)
    assert not _mapped_file(loaded)
    np.testing.assert_array_equal(loaded, values)


def test_joblib_file_named_pkl_is_mapped_too(tmp_path, values):
    path = tmp_path / "session.pkl"
    joblib.dump({"x": values}, path)
    loaded = load_data(path)
    assert _mapped_file(loaded)
    np.testing.assert_array_equal(loaded, values)


def test_truncated_joblib_array_is_a_corrupt_file_error(tmp_path, values):
    path = tmp_path / "cut.jl"
    joblib.dump(values, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 800])
    with pytest.raises(CorruptFileError, match="truncated"):
        load_data(path)


def test_crafted_joblib_header_larger_than_the_file_is_refused(tmp_path, values):
    path = tmp_path / "crafted.jl"
    joblib.dump(values, path)
    data = path.read_bytes()
    # the wrapper's pickled shape (300, 4) becomes (300, 64): 16 times the bytes there are
    shape = b"M,\x01K\x04\x86"  # BININT2 300, BININT1 4, TUPLE2
    assert data.count(shape) == 1
    crafted = data.replace(shape, b"M,\x01K\x40\x86")
    path.write_bytes(crafted)
    with pytest.raises(CorruptFileError):
        load_data(path)


def test_crafted_joblib_wrapper_with_code_is_refused(tmp_path):
    path = tmp_path / "evil.jl"
    path.write_bytes(b"\x80\x04cos\nsystem\n\x8c\x04true\x85R.")
    with pytest.raises(UnsafeFileError, match="trusted=True"):
        load_data(path)


def test_npy_is_read_once_with_the_same_values_and_layout(tmp_path, values):
    for name, array in [("c", values), ("f", np.asfortranarray(values)),
                        ("big", values.astype(">f4")), ("ints", np.arange(12).reshape(3, 4))]:
        path = tmp_path / f"{name}.npy"
        np.save(path, array)
        loaded, reference = load_data(path), np.load(path)
        assert loaded.dtype == reference.dtype
        assert loaded.flags.f_contiguous == reference.flags.f_contiguous
        assert loaded.flags.writeable
        np.testing.assert_array_equal(loaded, reference)


def test_crafted_npy_header_announcing_more_data_is_refused(tmp_path, values):
    path = tmp_path / "crafted.npy"
    np.save(path, values)
    data = path.read_bytes()
    path.write_bytes(data.replace(b"(300, 4)", b"(900, 4)", 1))
    with pytest.raises(CorruptFileError, match="truncated"):
        load_data(path)


def test_npy_object_array_is_refused_without_trust(tmp_path):
    path = tmp_path / "objects.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(UnsafeFileError, match="trusted=True"):
        load_data(path, key=0)


@pytest.mark.parametrize("compressed", [False, True])
def test_mat_v5_values_equal_scipy(tmp_path, values, compressed):
    path = tmp_path / "session.mat"
    scipy.io.savemat(path, {"neural": values, "labels": np.arange(5.0)},
                     do_compression=compressed)
    reference = scipy.io.loadmat(path)
    np.testing.assert_array_equal(load_data(path), reference["neural"])
    np.testing.assert_array_equal(load_data(path, key="labels"), reference["labels"])


def test_compressed_mat_is_handed_to_scipy_inflated(tmp_path, values):
    path = tmp_path / "packed.mat"
    scipy.io.savemat(path, {"neural": values}, do_compression=True)
    sources = matlab._mat5_sources(path)
    assert all(not isinstance(source, pathlib.Path) for source in sources)
    plain = tmp_path / "plain.mat"
    scipy.io.savemat(plain, {"neural": values})
    assert matlab._mat5_sources(plain) == [plain]


def test_compressed_mat_with_a_broken_layout_is_refused(tmp_path, values):
    import struct
    import zlib

    path = tmp_path / "packed.mat"
    scipy.io.savemat(path, {"neural": values}, do_compression=True)
    data = bytearray(path.read_bytes())
    inner = bytearray(zlib.decompress(bytes(data[136:])))
    inner[16:20] = struct.pack("<I", 0x806)  # double class with a complex flag, no imaginary part
    packed = zlib.compress(bytes(inner))
    path.write_bytes(bytes(data[:128]) + struct.pack("<II", 15, len(packed)) + packed)
    with pytest.raises(CorruptFileError, match="imaginary"):
        load_data(path)
