"""Dataset files: entries named like TensorDataset's arguments become a dataset."""

import numpy as np
import pytest
import torch

from cebra_data import Offset, TensorDataset
from cebra_data.errors import MissingKeyError
from cebra_data.io.dataset_file import dataset_entries


def test_load_dataset_builds_a_tensor_dataset(tmp_path):
    neural = np.arange(60.0).reshape(20, 3)
    path = tmp_path / "session.npz"
    np.savez(path, neural=neural, continuous=np.linspace(0, 1, 20), discrete=np.arange(20) % 2,
             trial_ids=np.repeat([0, 1], 10), extra=np.ones(4))
    assert dataset_entries(path) == ["neural", "continuous", "discrete", "trial_ids"]
    ds = TensorDataset.from_file(path, offset=(1, 2))
    assert torch.equal(ds.neural, torch.as_tensor(neural, dtype=torch.float32))
    assert ds.continuous.shape == (20, 1) and ds.discrete.tolist() == [0, 1] * 10
    assert ds.offset == Offset(1, 2) and ds.num_trials == 2


def test_load_dataset_reads_hdf5_too(tmp_path):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "session.h5"
    with h5py.File(path, "w") as f:
        f["neural"] = np.ones((10, 2))
        f["discrete"] = np.arange(10) % 2
    assert TensorDataset.from_file(path).input_dimension == 2


@pytest.mark.parametrize("entries", [dict(continuous=np.zeros(5)), dict(neural=np.zeros((5, 2)))])
def test_load_dataset_names_what_the_file_has(tmp_path, entries):
    path = tmp_path / "incomplete.npz"
    np.savez(path, **entries)
    with pytest.raises(MissingKeyError, match=f"is not a dataset file.*but has \\['{next(iter(entries))}'\\]"):
        TensorDataset.from_file(path)


def test_read_dataset_file_gives_plain_arrays_from_one_open(tmp_path):
    from cebra_data.io import read_dataset_file

    neural = np.arange(60.0).reshape(20, 3)
    path = tmp_path / "session.npz"
    np.savez(path, extra=np.ones(4), discrete=np.arange(20) % 2, neural=neural)
    data = read_dataset_file(path)
    assert set(data) == {"path", "neural", "continuous", "discrete", "trial_ids", "entries"}
    assert data["path"] == path and data["entries"] == ["extra", "discrete", "neural"]
    np.testing.assert_array_equal(data["neural"], neural)
    np.testing.assert_array_equal(data["discrete"], np.arange(20) % 2)
    assert data["continuous"] is None and data["trial_ids"] is None
    assert isinstance(data["neural"], np.ndarray)


@pytest.mark.parametrize("entries", [dict(continuous=np.zeros(5)), dict(neural=np.zeros((5, 2)))])
def test_read_dataset_file_names_what_the_file_has(tmp_path, entries):
    from cebra_data.io import read_dataset_file
    from cebra_data.io.dataset_file import is_dataset_file

    path = tmp_path / "incomplete.npz"
    np.savez(path, **entries)
    assert not is_dataset_file(path)
    with pytest.raises(MissingKeyError, match="is not a dataset file"):
        read_dataset_file(path)


