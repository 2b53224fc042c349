"""HDF5Dataset over every storage layout, the slow-layout warning, external storage, and rechunk."""

from __future__ import annotations

import os
import stat
import warnings

import h5py
import numpy as np
import pytest
import torch

import cebra_data
from cebra_data import HDF5Dataset, TensorDataset, rechunk
from cebra_data.errors import (
    CorruptFileError,
    DataFileNotFoundError,
    DestinationExistsError,
    EmptyFileError,
    FileChangedError,
    MissingKeyError,
    NonNumericDataError,
    SlowLayoutWarning,
    UnsupportedCombinationError,
    UnsupportedURLError,
)
from cebra_data.file_backed import mapped_file_of

N, D = 4000, 8
OFFSET = (2, 3)


@pytest.fixture
def neural():
    return np.random.default_rng(0).normal(size=(N, D)).astype(np.float32)


def _write(path, neural, **kwargs):
    with h5py.File(path, "w") as f:
        f.create_dataset("neural", data=neural, **kwargs)
        f.create_dataset("position", data=np.linspace(0, 1, len(neural)))
    return path


def _batches(dataset, steps=3):
    loader = cebra_data.ContinuousDataLoader(dataset, num_steps=steps, batch_size=64, seed=3,
                                             conditional="time_delta")
    return list(loader)


def _same(a, b):
    for x, y in zip(_batches(a), _batches(b)):
        for field in ("reference", "positive", "negative"):
            assert torch.equal(getattr(x, field), getattr(y, field))


def test_resident_signal_is_read_once_and_samples_like_memory(tmp_path, neural):
    path = _write(tmp_path / "rec.h5", neural, chunks=(500, 2), compression="gzip")
    with warnings.catch_warnings():
        warnings.simplefilter("error", SlowLayoutWarning)  # fits the default cache: no warning
        dataset = HDF5Dataset(path, neural="neural", continuous="position", offset=OFFSET)
    assert dataset.is_chunked and dataset.neural.is_resident
    memory = TensorDataset(neural, continuous=np.linspace(0, 1, N), offset=OFFSET)
    _same(dataset, memory)
    os.utime(path, ns=(1, 1))  # a resident copy still refuses a changed file
    with pytest.raises(FileChangedError):
        dataset[torch.tensor([10])]


@pytest.mark.parametrize("kwargs", [dict(chunks=(500, 2), compression="gzip"),
                                    dict(chunks=(64, D), compression="lzf"),
                                    dict(chunks=(100, 3), shuffle=True)])
def test_streamed_blocks_are_exact_with_any_cache(tmp_path, neural, kwargs):
    path = _write(tmp_path / "rec.h5", neural, **kwargs)
    memory = TensorDataset(neural, continuous=np.linspace(0, 1, N), offset=OFFSET)
    block_bytes = kwargs["chunks"][0] * D * 4
    for cache in (0, block_bytes, 3 * block_bytes):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SlowLayoutWarning)
            dataset = HDF5Dataset(path, neural="neural", continuous="position", offset=OFFSET,
                                  chunk_cache_bytes=cache)
        assert not dataset.neural.is_resident and dataset.neural.block_rows == kwargs["chunks"][0]
        _same(dataset, memory)
        assert len(dataset.neural._blocks) <= cache // block_bytes  # the cache stays bounded


def test_slow_layout_warns_once_with_cost_and_fix(tmp_path, neural, monkeypatch):
    import cebra_data.file_datasets as module

    path = _write(tmp_path / "rec.h5", neural, chunks=(1000, 1), compression="gzip")
    # the estimate is timed; fix it so that the test does not depend on the machine's load
    monkeypatch.setattr(module, "_memory_seconds", lambda sample, rows: 0.001)
    monkeypatch.setattr(module, "_stream_seconds", lambda node, rows, seconds, length: 0.0021)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SlowLayoutWarning)  # 0.53x the memory rate: not slow enough
        monkeypatch.setattr(module, "_stream_seconds", lambda node, rows, seconds, length: 0.0019)
        HDF5Dataset(path, neural="neural", continuous="position", offset=(5, 5), chunk_cache_bytes=0)
    monkeypatch.setattr(module, "_stream_seconds", lambda node, rows, seconds, length: 0.0021)
    with pytest.warns(SlowLayoutWarning) as record:
        HDF5Dataset(path, neural="neural", continuous="position", offset=(5, 5), chunk_cache_bytes=0)
    assert len(record) == 1
    message = str(record[0].message)
    assert "gzip chunks of (1000, 1)" in message and "about 2 ms per batch of 512" in message
    assert "2x the 1.0 ms of the same batch in memory" in message
    assert f"cebra-data rechunk {path} OUT.h5 --dataset /neural" in message
    assert "category=cebra_data.errors.SlowLayoutWarning" in message
    assert record[0].filename == __file__  # points at the caller's line


def test_rechunked_file_is_memory_mapped_and_equal(tmp_path, neural):
    source = _write(tmp_path / "rec.h5", neural, chunks=(1000, 1), compression="gzip")
    assert rechunk(source, tmp_path / "fast.h5") == ["/neural"]  # position is contiguous
    with warnings.catch_warnings():
        warnings.simplefilter("error", SlowLayoutWarning)
        fast = HDF5Dataset(tmp_path / "fast.h5", neural="neural", continuous="position", offset=OFFSET,
                           chunk_cache_bytes=0)
    assert not fast.is_chunked and mapped_file_of(fast.neural) is not None
    _same(fast, TensorDataset(neural, continuous=np.linspace(0, 1, N), offset=OFFSET))


def test_rechunk_keeps_structure_links_and_references(tmp_path):
    source = tmp_path / "in.h5"
    with h5py.File(source, "w") as f:
        table = f.create_group("general/table")
        table.attrs["names"] = ["a", "b"]
        table.create_dataset("x", data=np.arange(5), chunks=(2,), compression="gzip")
        data = f.create_dataset("acq/data", data=np.arange(40, dtype="i2").reshape(20, 2),
                                chunks=(5, 1), compression="lzf")
        data.attrs["table"] = table.ref
        data.attrs["unit"] = "uV"
        f.create_dataset("acq/refs", data=[table.ref, data.ref, h5py.Reference()], dtype=h5py.ref_dtype)
        pair = np.dtype([("start", "i4"), ("series", h5py.ref_dtype)])
        f.create_dataset("acq/pairs", data=np.array([(3, data.ref)], dtype=pair))
        f["acq/alias"] = data  # a second hard link
        f["acq/soft"] = h5py.SoftLink("/general/table")
        f["acq/elsewhere"] = h5py.ExternalLink("other.h5", "/x")
        f.create_dataset("text", data="hello")
    out = tmp_path / "out.h5"
    names = rechunk(source, out, dtype="float32")
    assert len(names) == 2 and names[0] in ("/acq/data", "/acq/alias") and names[1] == "/general/table/x"
    with h5py.File(out) as f:
        data = f["acq/data"]
        assert data.chunks is None and data.compression is None and data.dtype == np.float32
        assert np.array_equal(data[()], np.arange(40).reshape(20, 2))
        assert data.attrs["unit"] == "uV" and f[data.attrs["table"]].name == "/general/table"
        refs = f["acq/refs"][()]
        assert f[refs[0]].id == f["general/table"].id and f[refs[1]].id == data.id and not refs[2]
        assert f[f["acq/pairs"][0]["series"]].id == data.id
        assert f["acq/alias"].id == data.id
        assert f.get("acq/soft", getlink=True).path == "/general/table"
        assert f.get("acq/elsewhere", getlink=True).filename == "other.h5"
        assert list(f["general/table"].attrs["names"]) == ["a", "b"] and f["text"][()] == b"hello"
    with pytest.raises(DestinationExistsError, match="overwrite=True"):
        rechunk(source, out)
    with pytest.raises(MissingKeyError, match="'nope' does not exist"):
        rechunk(source, tmp_path / "x.h5", "nope", overwrite=True)
    with pytest.raises(ValueError, match="destination is the source"):
        rechunk(source, source)
    with pytest.raises(DataFileNotFoundError):
        rechunk(tmp_path / "missing.h5", out)
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".partial")]


def test_rechunked_nwb_file_still_reads_with_pynwb(tmp_path):
    pynwb = pytest.importorskip("pynwb")
    import datetime

    from hdmf.backends.hdf5 import H5DataIO

    nwb = pynwb.NWBFile(session_description="s", identifier="i",
                        session_start_time=datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc))
    device = nwb.create_device("probe")
    group = nwb.create_electrode_group("shank", description="d", location="CA1", device=device)
    for _ in range(4):
        nwb.add_electrode(group=group, location="CA1")
    region = nwb.create_electrode_table_region([0, 1, 2, 3], "all")
    values = np.random.default_rng(1).normal(size=(300, 4)).astype(np.float32)
    nwb.add_acquisition(pynwb.ecephys.ElectricalSeries(
        name="ephys", data=H5DataIO(values, compression="gzip", chunks=(50, 2)), electrodes=region,
        rate=30.0))
    with pynwb.NWBHDF5IO(tmp_path / "in.nwb", "w") as io:
        io.write(nwb)
    rechunk(tmp_path / "in.nwb", tmp_path / "out.nwb", "acquisition/ephys/data")
    with pynwb.NWBHDF5IO(tmp_path / "out.nwb", "r") as io:
        read = io.read()
        series = read.acquisition["ephys"]
        assert np.array_equal(series.data[()], values) and series.data.chunks is None
        assert len(series.electrodes.table) == 4 and series.electrodes.data[()].tolist() == [0, 1, 2, 3]


def test_cli_rechunk(tmp_path, neural, capsys):
    from cebra_data.cli import main

    source = _write(tmp_path / "rec.h5", neural, chunks=(100, 4), compression="gzip")
    assert main(["rechunk", str(source), str(tmp_path / "fast.h5"), "--dataset", "neural"]) == 0
    assert "rewritten contiguous and uncompressed: /neural" in capsys.readouterr().out
    assert main(["rechunk", str(source), str(tmp_path / "fast.h5")]) == 1
    assert "overwrite" in capsys.readouterr().err
    assert main(["rechunk", str(source), str(tmp_path / "f32.h5"), "--dtype", "float32"]) == 0
    with h5py.File(tmp_path / "f32.h5") as f:
        assert f["neural"].dtype == np.float32 and f["neural"].chunks is None


@pytest.mark.parametrize("float32", [True, False])
def test_external_raw_storage_is_watched(tmp_path, neural, float32, monkeypatch):
    values = neural if float32 else (neural * 100).astype(np.int32)
    raw = tmp_path / "raw.bin"
    values.tofile(raw)
    path = tmp_path / "ext.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("neural", shape=values.shape, dtype=values.dtype,
                         external=[("raw.bin", 0, values.nbytes)])
    monkeypatch.chdir(tmp_path)  # HDF5 finds relative external files from the current directory
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SlowLayoutWarning)  # int32, streamed: slow, and said so
        dataset = HDF5Dataset(path, neural="neural", continuous=np.zeros(N), offset=OFFSET,
                              chunk_cache_bytes=0)
    assert dataset.is_chunked != float32  # float32 in one external file: memory-mapped
    memory = TensorDataset(values.astype(np.float32), continuous=np.zeros(N), offset=OFFSET)
    index = torch.tensor([5, 2000, 3990])
    monkeypatch.chdir(tmp_path.parent)  # reads keep using the file that was checked
    assert torch.equal(dataset[index], memory[index])
    with open(raw, "r+b") as handle:  # rewritten in place: same size, new time stamp
        handle.write(b"\0" * 16)
    os.utime(raw, ns=(10**9, 10**9))
    with pytest.raises(FileChangedError, match="raw.bin"):
        dataset[index]
    raw.unlink()
    with pytest.raises(DataFileNotFoundError, match="raw.bin"):
        HDF5Dataset(path, neural="neural", continuous=np.zeros(N))


def test_virtual_datasets_are_refused_with_the_fix(tmp_path, neural):
    _write(tmp_path / "part.h5", neural)
    layout = h5py.VirtualLayout(shape=neural.shape, dtype=neural.dtype)
    layout[:] = h5py.VirtualSource(str(tmp_path / "part.h5"), "neural", shape=neural.shape)
    with h5py.File(tmp_path / "vds.h5", "w") as f:
        f.create_virtual_dataset("neural", layout)
    with pytest.raises(UnsupportedCombinationError, match="virtual dataset.*cebra-data rechunk"):
        HDF5Dataset(tmp_path / "vds.h5", neural="neural", continuous=np.zeros(N))
    rechunk(tmp_path / "vds.h5", tmp_path / "real.h5")
    real = HDF5Dataset(tmp_path / "real.h5", neural="neural", continuous=np.zeros(N))
    assert not real.is_chunked and torch.equal(real[torch.tensor([7])],
                                               TensorDataset(neural, continuous=np.zeros(N))[torch.tensor([7])])


def test_external_storage_in_pieces_is_refused_with_the_fix(tmp_path, neural):
    half = neural.nbytes // 2
    neural.tofile(tmp_path / "raw.bin")
    with h5py.File(tmp_path / "ext.h5", "w") as f:
        f.create_dataset("neural", shape=neural.shape, dtype=neural.dtype,
                         external=[(str(tmp_path / "raw.bin"), 0, half),
                                   (str(tmp_path / "raw.bin"), half, half)])
    with pytest.raises(UnsupportedCombinationError, match="2 pieces.*cebra-data rechunk"):
        HDF5Dataset(tmp_path / "ext.h5", neural="neural", continuous=np.zeros(N))


# --- rechunk on truncated, damaged, empty, mislabelled or hostile input: named errors, no output ---


def _no_output(folder, out=None):
    assert not [p for p in os.listdir(folder) if p.endswith(".partial")]
    assert out is None or not os.path.exists(out)


def _gzip_file(path, neural):
    return _write(path, neural, chunks=(500, D), compression="gzip")


@pytest.mark.parametrize("keep", [8, 0.001, 0.5, 0.99])
def test_rechunk_truncated_file_is_a_corrupt_file_error(tmp_path, neural, keep):
    whole = _gzip_file(tmp_path / "whole.h5", neural).read_bytes()
    cut = tmp_path / "cut.h5"
    cut.write_bytes(whole[: keep if isinstance(keep, int) else int(len(whole) * keep)])
    for datasets in (None, "neural"):
        with pytest.raises(CorruptFileError, match=r"'.*cut\.h5' cannot be opened as HDF5: it is truncated"):
            rechunk(cut, tmp_path / "out.h5", datasets)
    _no_output(tmp_path, tmp_path / "out.h5")


def test_rechunk_damaged_superblock_is_a_corrupt_file_error(tmp_path, neural):
    data = bytearray(_gzip_file(tmp_path / "in.h5", neural).read_bytes())
    data[8:40] = b"\xff" * 32  # the signature stays, the superblock behind it does not
    (tmp_path / "in.h5").write_bytes(bytes(data))
    with pytest.raises(CorruptFileError, match=r"in\.h5' cannot be opened as HDF5.*superblock"):
        rechunk(tmp_path / "in.h5", tmp_path / "out.h5")
    _no_output(tmp_path, tmp_path / "out.h5")


def test_rechunk_damaged_group_index_is_a_corrupt_file_error(tmp_path, neural, capsys):
    from cebra_data.cli import main

    path = _gzip_file(tmp_path / "in.h5", neural)
    data = bytearray(path.read_bytes())
    at = data.find(b"TREE")  # the root group's B-tree
    data[at:at + 4] = b"XXXX"
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptFileError, match=r"in\.h5' is damaged.*list of its objects.*B-tree"):
        rechunk(path, tmp_path / "out.h5")
    with pytest.raises(CorruptFileError, match=r"in\.h5' is damaged.*'neural'.*B-tree"):
        rechunk(path, tmp_path / "out.h5", "neural")
    assert main(["rechunk", str(path), str(tmp_path / "out.h5")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "in.h5' is damaged" in err and "Traceback" not in err
    _no_output(tmp_path, tmp_path / "out.h5")


def test_rechunk_damaged_chunk_names_file_and_dataset(tmp_path, neural):
    path = _gzip_file(tmp_path / "in.h5", neural)
    with h5py.File(path) as f:
        chunk = f["neural"].id.get_chunk_info(3)
    data = bytearray(path.read_bytes())
    data[chunk.byte_offset + 10:chunk.byte_offset + 60] = b"\xff" * 50  # gzip cannot decode it
    path.write_bytes(bytes(data))
    for datasets in (None, "neural"):
        with pytest.raises(CorruptFileError, match=r"in\.h5' is damaged.*dataset '/neural'.*filter"):
            rechunk(path, tmp_path / "out.h5", datasets)
    _no_output(tmp_path, tmp_path / "out.h5")


def test_rechunk_empty_or_mislabelled_input(tmp_path):
    (tmp_path / "empty.h5").write_bytes(b"")
    with pytest.raises(EmptyFileError, match=r"empty\.h5' is empty \(0 bytes\)"):
        rechunk(tmp_path / "empty.h5", tmp_path / "out.h5")
    (tmp_path / "text.nwb").write_text("not hdf5\n" * 20)
    with pytest.raises(CorruptFileError, match=r"text\.nwb' is not an HDF5"):
        rechunk(tmp_path / "text.nwb", tmp_path / "out.h5")
    (tmp_path / "folder.h5").mkdir()
    with pytest.raises(DataFileNotFoundError, match=r"folder\.h5' is a directory"):
        rechunk(tmp_path / "folder.h5", tmp_path / "out.h5")
    _no_output(tmp_path, tmp_path / "out.h5")


def test_rechunk_named_dataset_without_values(tmp_path):
    path = tmp_path / "in.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("rows0", shape=(0, 4), dtype="f4", chunks=(10, 4), maxshape=(None, 4))
        f.create_dataset("null", data=h5py.Empty("f4"))
        f.create_dataset("text", data=np.array([b"a", b"bc"]))
        f.create_dataset("neural", data=np.ones((20, 4), "f4"), chunks=(5, 4))
    for name, shape in (("rows0", r"shape \(0, 4\)"), ("null", r"no dataspace")):
        with pytest.raises(EmptyFileError, match=rf"'{name}' of '.*in\.h5' holds no values \({shape}"):
            rechunk(path, tmp_path / "out.h5", name)
    with pytest.raises(NonNumericDataError, match=r"'text' of '.*in\.h5' has dtype \|S2"):
        rechunk(path, tmp_path / "out.h5", "text")
    _no_output(tmp_path, tmp_path / "out.h5")
    # not named, they are copied as they are (not rewritten)
    assert rechunk(path, tmp_path / "out.h5") == ["/neural"]
    with h5py.File(tmp_path / "out.h5") as f:
        assert f["rows0"].shape == (0, 4) and f["rows0"].chunks == (10, 4)
        assert isinstance(f["null"][()], h5py.Empty)


def test_rechunk_bad_output_location_names_the_output(tmp_path, neural, monkeypatch):
    import errno

    source = _gzip_file(tmp_path / "in.h5", neural)
    missing = tmp_path / "nodir" / "out.h5"
    with pytest.raises(DataFileNotFoundError, match=r"cannot write '.*nodir/out\.h5': the folder .* does not exist"):
        rechunk(source, missing)
    (tmp_path / "file").write_bytes(b"x")
    with pytest.raises(DataFileNotFoundError, match=r"cannot write '.*file/out\.h5'.*is not a folder"):
        rechunk(source, tmp_path / "file" / "out.h5")
    (tmp_path / "outdir").mkdir()
    with pytest.raises(DestinationExistsError, match=r"'.*outdir' is a directory"):
        rechunk(source, tmp_path / "outdir", overwrite=True)
    assert os.path.isdir(tmp_path / "outdir")

    real_open = os.open

    def read_only(path, *args, **kwargs):  # what a read-only file system answers
        if str(path).endswith(".partial"):
            raise OSError(errno.EROFS, "Read-only file system")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only)
    with pytest.raises(OSError, match=r"cannot write '.*ro\.h5'.*Read-only file system") as info:
        rechunk(source, tmp_path / "ro.h5")
    assert info.value.errno == errno.EROFS and ".partial" not in str(info.value)
    _no_output(tmp_path, tmp_path / "ro.h5")


def test_rechunk_output_gets_the_permissions_of_a_new_file(tmp_path, neural):
    source = tmp_path / "in.h5"
    with h5py.File(source, "w") as handle:
        handle.create_dataset("neural", data=neural, chunks=(64, neural.shape[1]), compression="gzip")
    old = os.umask(0o022)
    try:
        rechunk(source, tmp_path / "out.h5")
        os.umask(0o077)
        rechunk(source, tmp_path / "private.h5")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "out.h5").st_mode) == 0o644
    assert stat.S_IMODE(os.stat(tmp_path / "private.h5").st_mode) == 0o600


def test_rechunk_full_disk_names_the_output_and_leaves_nothing(tmp_path, neural):
    import subprocess
    import sys

    resource = pytest.importorskip("resource")
    source = _gzip_file(tmp_path / "in.h5", np.tile(neural, (4, 1)))  # 512 kB uncompressed
    script = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        f"resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, {resource.RLIM_INFINITY}))\n"
        "from cebra_data import rechunk\n"
        "try:\n"
        "    rechunk(sys.argv[1], sys.argv[2])\n"
        "except OSError as error:\n"
        "    print(type(error).__name__, error)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(source), str(tmp_path / "out.h5")],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.stdout.startswith("OSError rechunk: writing "), done.stdout + done.stderr
    assert f"{str(tmp_path / 'out.h5')!r} failed" in done.stdout and ".partial" not in done.stdout
    _no_output(tmp_path, tmp_path / "out.h5")


def test_rechunk_argument_types(tmp_path, neural):
    source = _gzip_file(tmp_path / "in.h5", neural)
    (tmp_path / "keep.h5").write_bytes(b"precious")
    with pytest.raises(TypeError, match="overwrite should be True or False, but got 'no'"):
        rechunk(source, tmp_path / "keep.h5", overwrite="no")
    assert (tmp_path / "keep.h5").read_bytes() == b"precious"
    for datasets in (3, [None], {"neural": 1}, [b"neural"], "neural".split() + [7]):
        with pytest.raises(TypeError, match="datasets should be None, a dataset path"):
            rechunk(source, tmp_path / "out.h5", datasets)
    with pytest.raises(ValueError, match=r"datasets=\[\] names no dataset"):
        rechunk(source, tmp_path / "out.h5", [])
    with pytest.raises(TypeError, match="the source should be a path"):
        rechunk(None, tmp_path / "out.h5")
    with pytest.raises(TypeError, match="the destination should be a path"):
        rechunk(source, 3)
    with pytest.raises(ValueError, match="the destination is an empty path"):
        rechunk(source, "")
    url = "http://127.0.0.1:1/x.h5"
    with pytest.raises(UnsupportedURLError, match=f"local files only, but the source is the URL '{url}'"):
        rechunk(url, tmp_path / "out.h5")
    _no_output(tmp_path, tmp_path / "out.h5")
    assert rechunk(source, tmp_path / "out.h5", ("neural",), overwrite=np.True_) == ["/neural"]


def _virtual(tmp_path, neural, source_name):
    layout = h5py.VirtualLayout(shape=neural.shape, dtype=neural.dtype)
    layout[:] = h5py.VirtualSource(source_name, "neural", shape=neural.shape)
    with h5py.File(tmp_path / "vds.h5", "w") as f:
        f.create_virtual_dataset("neural", layout, fillvalue=0)
    return tmp_path / "vds.h5"


@pytest.mark.parametrize("relative", [False, True])
def test_rechunk_virtual_dataset_with_a_missing_source(tmp_path, neural, monkeypatch, relative):
    _write(tmp_path / "part.h5", neural)
    vds = _virtual(tmp_path, neural, "part.h5" if relative else str(tmp_path / "part.h5"))
    monkeypatch.chdir(tmp_path.parent)  # a relative source is found next to the virtual file
    assert rechunk(vds, tmp_path / "real.h5") == ["/neural"]
    with h5py.File(tmp_path / "real.h5") as f:
        assert not f["neural"].is_virtual and np.array_equal(f["neural"][()], neural)
    (tmp_path / "part.h5").unlink()
    with pytest.raises(DataFileNotFoundError, match=r"virtual dataset '/neural' of '.*vds\.h5' takes "
                                                    r"values from 'neural' in '.*part\.h5', which does not exist"):
        rechunk(vds, tmp_path / "zeros.h5")
    with h5py.File(tmp_path / "part.h5", "w") as f:  # the file is back, without the dataset
        f.create_dataset("other", data=neural)
    with pytest.raises(MissingKeyError, match=r"'/neural' of '.*vds\.h5' takes values from 'neural' in "
                                              r"'.*part\.h5', which has no such dataset"):
        rechunk(vds, tmp_path / "zeros.h5")
    with h5py.File(tmp_path / "part.h5", "w") as f:  # a shorter source: the rest would be zeros
        f.create_dataset("neural", data=neural[:10])
    with pytest.raises(CorruptFileError, match=r"'/neural' of '.*vds\.h5' maps 32000 values of "
                                               r"'neural' in '.*part\.h5', but that dataset has shape \(10, 8\)"):
        rechunk(vds, tmp_path / "zeros.h5")
    _no_output(tmp_path, tmp_path / "zeros.h5")


def test_rechunk_external_raw_file_missing_or_truncated(tmp_path, neural):
    raw = tmp_path / "raw.bin"
    neural.tofile(raw)
    path = tmp_path / "ext.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("neural", shape=neural.shape, dtype=neural.dtype,
                         external=[(str(raw), 0, h5py.h5f.UNLIMITED)])
    assert rechunk(path, tmp_path / "copy.h5") == ["/neural"]
    with h5py.File(tmp_path / "copy.h5") as f:
        assert not f["neural"].external and np.array_equal(f["neural"][()], neural)
    raw.write_bytes(neural.tobytes()[:1000])
    with pytest.raises(CorruptFileError, match=r"'/neural' of '.*ext\.h5' stores its values in the external "
                                               r"raw file '.*raw\.bin', which is truncated: it has 1000 bytes"):
        rechunk(path, tmp_path / "out.h5")
    raw.unlink()
    with pytest.raises(DataFileNotFoundError, match=r"'/neural' of '.*ext\.h5' stores its values in the "
                                                    r"external raw file '.*raw\.bin', which does not exist"):
        rechunk(path, tmp_path / "out.h5", "neural")
    _no_output(tmp_path, tmp_path / "out.h5")


def test_rechunk_copy_is_exact(tmp_path):
    path = tmp_path / "in.h5"
    rng = np.random.default_rng(2)
    with h5py.File(path, "w") as f:
        a = f.create_dataset("a", data=rng.integers(-2**15, 2**15, (300, 3), dtype="i2"), chunks=(7, 2),
                             compression="gzip", fillvalue=-1)
        a.attrs["unit"], a.attrs["scale"] = "uV", np.float32(0.5)
        f.create_dataset("b", data=rng.random(50) > 0.5, chunks=(8,))
        f.create_dataset("c", data=np.float64(3.25))
    assert rechunk(path, tmp_path / "out.h5", ["a", "/b", "c"]) == ["/a", "/b", "/c"]
    with h5py.File(path) as f, h5py.File(tmp_path / "out.h5") as g:
        for name in ("a", "b", "c"):
            assert g[name].dtype == f[name].dtype and g[name].shape == f[name].shape
            assert np.array_equal(g[name][()], f[name][()]) and g[name].chunks is None
        assert g["a"].fillvalue == -1 and g["a"].attrs["unit"] == "uV"
        assert g["a"].attrs["scale"] == np.float32(0.5) and g["a"].attrs["scale"].dtype == np.float32
