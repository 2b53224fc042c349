"""File-backed neural data: memory-mapped .npy files and HDF5Dataset.

A file-backed dataset must sample exactly like the in-memory TensorDataset of
the same arrays (same batches, value for value), never copy the file (into
memory or into a pickle), never write to it, and fail clearly when the file
changes or disappears underneath it.
"""

from __future__ import annotations

import os
import pickle
import warnings

import h5py
import numpy as np
import pytest
import torch

import cebra_data
from cebra_data import HDF5Dataset, TensorDataset
from cebra_data._validation import check_neural
from cebra_data.errors import DataFileNotFoundError, FileChangedError, MissingKeyError, SlowLayoutWarning
from cebra_data.file_backed import mapped_file_of

N, D = 600, 6
OFFSET = (3, 4)


@pytest.fixture
def arrays():
    rng = np.random.default_rng(0)
    neural = rng.normal(size=(N, D)).astype(np.float32)
    continuous = np.cumsum(rng.normal(size=(N, 2)), axis=0)
    discrete = rng.integers(0, 4, size=N)
    return neural, continuous, discrete


@pytest.fixture
def npy(tmp_path, arrays):
    path = tmp_path / "neural.npy"
    np.save(path, arrays[0])
    return path


@pytest.fixture
def h5(tmp_path, arrays):
    neural, continuous, discrete = arrays
    path = tmp_path / "rec.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("contiguous", data=neural)
        f.create_dataset("chunked/gzip", data=neural, chunks=(32, D), compression="gzip")
        f.create_dataset("chunked/plain", data=neural, chunks=(50, 3))
        f.create_dataset("behaviour/position", data=continuous)
        f.create_dataset("behaviour/labels", data=discrete)
    return path


def _reference(arrays):
    neural, continuous, discrete = arrays
    return TensorDataset(neural, continuous=continuous, discrete=discrete, offset=OFFSET)


def _streamed(h5, neural, cache, **labels):
    """An HDF5Dataset read per batch (its signal does not fit in ``cache`` bytes)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SlowLayoutWarning)
        dataset = HDF5Dataset(h5, neural=neural, offset=OFFSET, chunk_cache_bytes=cache, **labels)
    assert dataset.is_chunked and not dataset.neural.is_resident
    return dataset


def _file_datasets(npy, h5, arrays):
    _, continuous, discrete = arrays
    return {
        # streamed: blocks of 32 rows, cache of 2 blocks (evicts), no cache; row runs
        "h5-gzip-lru": _streamed(h5, "chunked/gzip", 2 * 32 * D * 4, continuous=continuous, discrete=discrete),
        "h5-gzip-nocache": _streamed(h5, "chunked/gzip", 0, continuous=continuous, discrete=discrete),
        "h5-chunked-runs": _streamed(h5, "chunked/plain", 0, continuous=continuous, discrete=discrete),
        "npy": TensorDataset(np.load(npy, mmap_mode="r"), continuous=continuous, discrete=discrete, offset=OFFSET),
        "h5-contiguous": HDF5Dataset(h5, neural="contiguous", continuous="behaviour/position",
                                     discrete="behaviour/labels", offset=OFFSET),
        "h5-gzip": HDF5Dataset(h5, neural="chunked/gzip", continuous=continuous, discrete=discrete, offset=OFFSET),
        "h5-chunked": HDF5Dataset(h5, neural="chunked/plain", continuous="behaviour/position",
                                  discrete=discrete, offset=OFFSET),
    }


LOADERS = {
    "discrete": lambda ds: cebra_data.DiscreteDataLoader(ds, num_steps=3, batch_size=40, seed=5),
    "continuous-time": lambda ds: cebra_data.ContinuousDataLoader(ds, num_steps=3, batch_size=40, seed=5,
                                                                  conditional="time"),
    "continuous-delta": lambda ds: cebra_data.ContinuousDataLoader(ds, num_steps=3, batch_size=40, seed=5,
                                                                   conditional="time_delta"),
    "mixed": lambda ds: cebra_data.MixedDataLoader(ds, num_steps=3, batch_size=40, seed=5),
    "hybrid": lambda ds: cebra_data.HybridDataLoader(ds, num_steps=3, batch_size=40, seed=5),
    "full": lambda ds: cebra_data.FullDataLoader(ds, num_steps=2, seed=5),
}


def _assert_same_batches(a, b):
    batches_a, batches_b = list(a), list(b)
    assert len(batches_a) == len(batches_b) > 0
    for x, y in zip(batches_a, batches_b):
        if isinstance(x, cebra_data.BatchIndex):  # FullDataLoader yields indices, as in CEBRA
            assert all(torch.equal(getattr(x, f), getattr(y, f)) for f in ("reference", "positive", "negative"))
            x, y = a.dataset.load_batch(x), b.dataset.load_batch(y)
        for field in ("reference", "positive", "negative"):
            tx, ty = getattr(x, field), getattr(y, field)
            assert tx.dtype == ty.dtype == torch.float32
            assert torch.equal(tx, ty), field


@pytest.mark.parametrize("loader", sorted(LOADERS))
def test_file_backed_datasets_sample_exactly_like_memory(npy, h5, arrays, loader):
    for name, dataset in _file_datasets(npy, h5, arrays).items():
        _assert_same_batches(LOADERS[loader](dataset), LOADERS[loader](_reference(arrays)))


def test_windows_equal_memory_including_edges_and_repeats(npy, h5, arrays):
    memory = _reference(arrays)
    index = torch.tensor([0, 1, 599, 300, 300, 301, 2, 598])  # edges clamp, repeats and overlaps
    for name, dataset in _file_datasets(npy, h5, arrays).items():
        windows = dataset[index]
        assert windows.shape == (8, D, 7), name
        assert torch.equal(windows, memory[index]), name


def test_memmap_is_not_copied(npy, arrays):
    mapped = np.load(npy, mmap_mode="r")
    dataset = TensorDataset(mapped, continuous=arrays[1])
    assert mapped_file_of(dataset.neural) is not None
    # the tensor views the mapped file itself, not a copy in memory
    storage = dataset.neural.untyped_storage()
    assert storage.nbytes() == N * D * 4
    assert not TensorDataset(arrays[0], continuous=arrays[1]).neural.data_ptr() == dataset.neural.data_ptr()


def test_row_range_of_a_memmap_stays_file_backed(npy, arrays):
    part = np.load(npy, mmap_mode="r")[100:250]
    dataset = TensorDataset(part, continuous=arrays[1][100:250])
    assert mapped_file_of(dataset.neural) is not None
    assert torch.equal(dataset.neural, torch.from_numpy(arrays[0][100:250]))


def test_non_contiguous_memmap_is_refused(npy, arrays):
    with pytest.raises(ValueError, match="not C-contiguous"):
        TensorDataset(np.load(npy, mmap_mode="r")[:, ::2], continuous=arrays[1])


def test_float64_memmap_warns_that_it_is_loaded(tmp_path, arrays):
    path = tmp_path / "f64.npy"
    np.save(path, arrays[0].astype(np.float64))
    with pytest.warns(UserWarning, match="loads the whole array into memory"):
        dataset = TensorDataset(np.load(path, mmap_mode="r"), continuous=arrays[1])
    assert mapped_file_of(dataset.neural) is None
    assert torch.equal(dataset.neural, torch.from_numpy(arrays[0]))


def test_writes_never_reach_the_file(npy, h5, arrays):
    before = npy.read_bytes()
    for mode in ("r", "r+", "c"):
        dataset = TensorDataset(np.load(npy, mmap_mode=mode), continuous=arrays[1])
        dataset.neural[0, 0] = 123.0  # a private copy-on-write page of this process
        assert float(dataset.neural[0, 0]) == 123.0
    assert npy.read_bytes() == before
    h5_before = h5.read_bytes()
    contiguous = HDF5Dataset(h5, neural="contiguous", continuous="behaviour/position")
    contiguous.neural[5] = -1.0
    assert h5.read_bytes() == h5_before


def test_pickle_sends_a_file_reference_not_the_data(npy, h5, arrays):
    index = torch.arange(10, 60)
    memory = _reference(arrays)
    for name, dataset in _file_datasets(npy, h5, arrays).items():
        data = pickle.dumps(dataset)
        # the labels are in it, the neural data (N * D * 4 bytes) are not
        assert len(data) < len(pickle.dumps(memory)) - N * D * 4, name
        copy = pickle.loads(data)
        assert torch.equal(copy[index], memory[index]), name


def test_in_memory_dataset_still_pickles_by_value(arrays):
    dataset = _reference(arrays)
    assert len(pickle.dumps(dataset)) > N * D * 4
    assert mapped_file_of(pickle.loads(pickle.dumps(dataset)).neural) is None


def test_replace_keeps_the_file_mapping(npy, arrays):
    dataset = TensorDataset(np.load(npy, mmap_mode="r"), continuous=arrays[1])
    copy = dataset.replace(offset=cebra_data.Offset(2, 2))
    assert mapped_file_of(copy.neural) is not None


@pytest.mark.parametrize("kind", ["npy", "h5-contiguous", "h5-gzip"])
def test_a_changed_file_is_a_clear_error(npy, h5, arrays, kind):
    dataset = _file_datasets(npy, h5, arrays)[kind]
    path = npy if kind == "npy" else h5
    dataset[torch.tensor([10])]
    with open(path, "ab") as f:
        f.write(b"\0" * 16)
    with pytest.raises(FileChangedError, match="changed underneath it"):
        dataset[torch.tensor([10])]


def test_a_truncated_file_is_an_error_not_a_crash(npy, arrays):
    dataset = TensorDataset(np.load(npy, mmap_mode="r"), continuous=arrays[1])
    os.truncate(npy, 256)
    with pytest.raises(FileChangedError, match="size differs"):
        dataset[torch.tensor([500])]


def test_a_removed_file_is_a_clear_error(npy, h5, arrays):
    datasets = _file_datasets(npy, h5, arrays)
    os.remove(npy)
    os.remove(h5)
    for name, dataset in datasets.items():
        with pytest.raises(FileChangedError, match="disappeared"):
            dataset[torch.tensor([10])]



def test_unpickling_a_changed_file_is_a_clear_error(npy, arrays):
    data = pickle.dumps(TensorDataset(np.load(npy, mmap_mode="r"), continuous=arrays[1]))
    os.remove(npy)
    with pytest.raises(FileChangedError, match="disappeared"):
        pickle.loads(data)


def test_hdf5_errors(tmp_path, h5, arrays):
    with pytest.raises(DataFileNotFoundError, match="no such file"):
        HDF5Dataset(tmp_path / "missing.h5", neural="contiguous", continuous=arrays[1])
    with pytest.raises(MissingKeyError, match="'chunked/plain', 'contiguous'") as info:
        HDF5Dataset(h5, neural="spikes", continuous=arrays[1])
    assert "'spikes' does not exist" in str(info.value) and "behaviour/position" in str(info.value)
    with pytest.raises(MissingKeyError, match="is a group"):
        HDF5Dataset(h5, neural="chunked", continuous=arrays[1])
    with pytest.raises(MissingKeyError, match="continuous='behaviour/speed'"):
        HDF5Dataset(h5, neural="contiguous", continuous="behaviour/speed")
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        HDF5Dataset(h5, neural="chunked/gzip", continuous=arrays[1][:10])
    with pytest.raises(ValueError, match="at least one index"):
        HDF5Dataset(h5, neural="chunked/gzip")
    with pytest.raises(TypeError, match="path of a dataset"):
        HDF5Dataset(h5, neural=arrays[0], continuous=arrays[1])


@pytest.mark.parametrize("chunks", [None, (4, 2)])
def test_hdf5_wrong_shape_and_values(tmp_path, chunks):
    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("flat", data=np.zeros(20, np.float32), chunks=None if chunks is None else (4,))
        bad = np.zeros((20, 2), np.float32)
        bad[13, 1] = np.nan
        f.create_dataset("nan", data=bad, chunks=chunks)
    with pytest.raises(ValueError, match="2-D array"):
        HDF5Dataset(path, neural="flat", continuous=np.zeros(20))
    with pytest.raises(ValueError, match=r"1 NaN and 0 infinite values \(first at time step 13, feature 1\)"):
        HDF5Dataset(path, neural="nan", continuous=np.zeros(20))


def test_chunked_dataset_refuses_whole_array_operations(h5, arrays):
    dataset = HDF5Dataset(h5, neural="chunked/gzip", continuous=arrays[1])
    assert dataset.is_chunked
    with pytest.raises(TypeError, match="read per batch"):
        dataset.neural.mean()


def test_hdf5_handles_are_per_process(h5, arrays):
    dataset = _streamed(h5, "chunked/gzip", 0, continuous=arrays[1])
    dataset[torch.tensor([10])]
    rows = dataset.neural
    rows._pid = -1  # as after a fork: the inherited handle must not be used
    old = rows._handle
    assert torch.equal(dataset[torch.tensor([50])], _reference(arrays)[torch.tensor([50])])
    assert rows._handle is not old


@pytest.mark.parametrize("context", ["fork", "spawn"])
def test_dataloader_workers_read_the_file(npy, h5, arrays, context):
    memory = _reference(arrays)
    for name in ("npy", "h5-gzip"):
        dataset = _file_datasets(npy, h5, arrays)[name]
        loader = cebra_data.ContinuousDataLoader(dataset, num_steps=4, batch_size=16, seed=2)
        expected = cebra_data.ContinuousDataLoader(memory, num_steps=4, batch_size=16, seed=2)
        kwargs = dict(batch_size=None, num_workers=2, multiprocessing_context=context)
        got = list(torch.utils.data.DataLoader(loader, **kwargs))
        want = list(torch.utils.data.DataLoader(expected, **kwargs))
        assert len(got) == 4
        for x, y in zip(got, want):
            assert torch.equal(x.reference, y.reference) and torch.equal(x.negative, y.negative)


def test_to_device_keeps_the_file_and_moves_batches(npy, arrays):
    dataset = TensorDataset(np.load(npy, mmap_mode="r"), continuous=arrays[1])
    neural = dataset.neural
    assert dataset.to("cpu") is dataset
    assert dataset.neural is neural and mapped_file_of(dataset.neural) is not None


def test_pin_memory_dataloader(npy, h5, arrays):
    for name, dataset in _file_datasets(npy, h5, arrays).items():
        loader = cebra_data.ContinuousDataLoader(dataset, num_steps=2, batch_size=8, seed=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # without an accelerator torch warns that pinning is off
            batches = list(torch.utils.data.DataLoader(loader, batch_size=None, pin_memory=True))
        expected = list(cebra_data.ContinuousDataLoader(_reference(arrays), num_steps=2, batch_size=8, seed=1))
        assert len(batches) == 2 and batches[0].reference.shape == (8, D, 7), name
        assert all(torch.equal(b.reference, e.reference) for b, e in zip(batches, expected)), name


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_moves_gathered_batches_not_the_file(npy, h5, arrays):
    memory = _reference(arrays)
    for name, dataset in _file_datasets(npy, h5, arrays).items():
        dataset.to("cuda")
        assert dataset.continuous.is_cuda
        assert not isinstance(dataset.neural, torch.Tensor) or not dataset.neural.is_cuda
        windows = dataset[torch.tensor([5, 300])]
        assert windows.is_cuda and torch.equal(windows.cpu(), memory[torch.tensor([5, 300])])
        loader = cebra_data.ContinuousDataLoader(dataset.to("cpu"), num_steps=1, batch_size=8, seed=0)
        batch = next(iter(torch.utils.data.DataLoader(loader, batch_size=None, pin_memory=True)))
        assert batch.reference.is_pinned()


def test_check_neural_blocks_match_whole_array_results(monkeypatch):
    import cebra_data._validation as validation

    values = np.random.default_rng(1).normal(size=(50, 3)).astype(np.float32)
    values[17, 2] = np.nan
    values[33, 0] = np.nan
    monkeypatch.setattr(validation, "CHECK_BLOCK_ELEMENTS", 6)  # blocks of 2 rows
    with pytest.raises(ValueError, match=r"2 NaN and 0 infinite values \(first at time step 17, feature 2\)"):
        check_neural(values)
    masked, rows = check_neural(values, "mask")
    assert rows.nonzero().flatten().tolist() == [17, 33]
    assert float(masked[17, 2]) == 0.0 and np.isnan(values[17, 2])  # the input is not written to
    values[40, 1] = np.inf
    with pytest.raises(ValueError, match=r"2 NaN and 1 infinite values \(first at time step 17"):
        check_neural(values, "mask")
    big = np.zeros((9, 2), dtype=np.int64)
    big[7, 1] = -(2**25)
    with pytest.warns(UserWarning, match="up to 33554432"):
        check_neural(big)
