"""HDF5Dataset over every storage layout, the slow-layout warning, external storage, and rechunk."""

from __future__ import annotations

import os
import warnings

import h5py
import numpy as np
import pytest
import torch

import cebra_data
from cebra_data import HDF5Dataset, TensorDataset, rechunk
from cebra_data.errors import (
    DataFileNotFoundError,
    DestinationExistsError,
    FileChangedError,
    MissingKeyError,
    SlowLayoutWarning,
    UnsupportedCombinationError,
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
