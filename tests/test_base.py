import numpy as np
import pytest
import torch

from cebra_data import HasDevice, Loader, Offset, TensorDataset


def _reference_expand(index, n, offset):
    """Slow reference: CEBRA's edge rule written as a plain Python loop."""
    rows = []
    for i in index.tolist():
        i = min(max(i, offset.left), n - offset.right)
        rows.append([i + j - offset.left for j in range(len(offset))])
    return torch.tensor(rows, dtype=torch.long).reshape(len(rows), len(offset))


def _reference_expand_in_trial(index, trial_ids, borders, offset):
    rows = []
    for i in index.tolist():
        t = int(trial_ids[i])
        low, high = int(borders[t]) + offset.left, int(borders[t + 1]) - offset.right
        i = min(max(i, low), high)
        rows.append([i + j - offset.left for j in range(len(offset))])
    return torch.tensor(rows, dtype=torch.long).reshape(len(rows), len(offset))


@pytest.mark.parametrize("seed", range(5))
def test_expand_index_matches_reference(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 200))
    offset = Offset(int(rng.integers(0, 6)), int(rng.integers(1, 6)))
    ds = TensorDataset(torch.zeros(n, 2), continuous=torch.zeros(n, 1), offset=offset)
    index = torch.as_tensor(rng.integers(0, n, size=300))
    expected = _reference_expand(index, n, offset)
    assert torch.equal(ds.expand_index(index), expected)
    # __getitem__ gathers exactly these rows
    neural = torch.as_tensor(rng.normal(size=(n, 3)), dtype=torch.float32)
    ds = TensorDataset(neural, continuous=torch.zeros(n, 1), offset=offset)
    windows = ds[index]
    assert windows.shape == (300, 3, len(offset))
    assert torch.equal(windows, neural[expected].permute(0, 2, 1))


def test_every_time_step_is_embedded():
    ds = TensorDataset(torch.randn(30, 4, generator=torch.Generator().manual_seed(0)),
                       continuous=torch.zeros(30), offset=Offset(5, 5))
    assert ds[torch.arange(len(ds))].shape == (30, 4, 10)


@pytest.mark.parametrize("bad", [-1, 10])
def test_expand_index_rejects_out_of_range(bad):
    ds = TensorDataset(torch.zeros(10, 2), continuous=torch.zeros(10))
    with pytest.raises(IndexError, match=f"index {bad} is out of range for a recording of 10"):
        ds.expand_index(torch.tensor([0, bad]))


def test_index_must_be_integer():
    ds = TensorDataset(torch.zeros(10, 2), continuous=torch.zeros(10))
    with pytest.raises(TypeError, match="should hold integer indices, but got dtype torch.float32"):
        ds[torch.tensor([1.0])]
    with pytest.raises(TypeError, match="Boolean masks are not indices"):
        ds[torch.ones(10, dtype=torch.bool)]


@pytest.mark.parametrize("trials", [False, True])
def test_a_single_integer_index_of_any_kind_gives_one_window(trials):
    neural = torch.randn(50, 4, generator=torch.Generator().manual_seed(0))
    ds = TensorDataset(neural, continuous=torch.zeros(50), offset=Offset(2, 3),
                       trial_ids=torch.arange(50) // 10 if trials else None)
    expected = ds[5]
    assert expected.shape == (1, 4, 5)
    # a 0-d tensor said "index should be 1-D" while ds[5] worked
    for index in (torch.tensor(5), torch.tensor(5, dtype=torch.int32), np.int64(5), np.array(5)):
        assert torch.equal(ds[index], expected)
    with pytest.raises(TypeError, match="should hold integer indices, but got dtype torch.float32"):
        ds[torch.tensor(5.0)]
    with pytest.raises(TypeError, match="Boolean masks are not indices"):
        ds[torch.tensor(True)]
    with pytest.raises(IndexError, match="index 50 is out of range for a recording of 50"):
        ds[torch.tensor(50)]
    with pytest.raises(ValueError, match=r"index should be 1-D, but got shape \(1, 1\)"):
        ds[torch.tensor([[5]])]


@pytest.mark.parametrize("seed", range(5))
def test_expand_index_in_trial_matches_reference(seed):
    rng = np.random.default_rng(seed)
    offset = Offset(int(rng.integers(0, 4)), int(rng.integers(1, 4)))
    lengths = rng.integers(len(offset), 40, size=int(rng.integers(1, 8)))
    borders = torch.as_tensor(np.concatenate([[0], np.cumsum(lengths)]))
    trial_ids = torch.as_tensor(np.repeat(np.arange(len(lengths)), lengths))
    n = int(borders[-1])
    ds = TensorDataset(torch.zeros(n, 2), continuous=torch.zeros(n), offset=offset)
    index = torch.as_tensor(rng.integers(0, n, size=200))
    expected = _reference_expand_in_trial(index, trial_ids, borders, offset)
    out = ds.expand_index_in_trial(index, trial_ids, borders)
    assert torch.equal(out, expected)
    assert torch.equal(trial_ids[out].min(1).values, trial_ids[out].max(1).values)


def test_expand_index_in_trial_rejects_short_trial():
    ds = TensorDataset(torch.zeros(10, 2), continuous=torch.zeros(10), offset=Offset(2, 2))
    trial_ids = torch.tensor([0, 0, 0, 1, 1, 1, 1, 1, 1, 1])
    with pytest.raises(ValueError, match="lies in trial 0 of 3 samples, which is shorter than the window of 4"):
        ds.expand_index_in_trial(torch.tensor([1]), trial_ids, torch.tensor([0, 3, 10]))
    with pytest.raises(ValueError, match="describe only 1 trials"):
        ds.expand_index_in_trial(torch.tensor([5]), trial_ids, torch.tensor([0, 3]))


def test_sample_mask_marks_full_windows_only():
    ds = TensorDataset(torch.zeros(20, 2), continuous=torch.zeros(20), offset=Offset(3, 2))
    mask = ds.sample_mask()
    assert mask.nonzero().flatten().tolist() == list(range(3, 19))
    trial = TensorDataset(torch.zeros(12, 2), continuous=torch.zeros(12), offset=Offset(1, 2),
                          trial_ids=[0] * 5 + [1] * 7)
    assert trial.sample_mask().nonzero().flatten().tolist() == [1, 2, 3, 6, 7, 8, 9, 10]


class _Model:
    def __init__(self, offset):
        self._offset = offset

    def get_offset(self):
        return self._offset


def test_configure_for_takes_model_offset():
    ds = TensorDataset(torch.zeros(20, 2), continuous=torch.zeros(20))
    ds.configure_for(_Model(Offset(4, 6)))
    assert ds.offset == Offset(4, 6)
    with pytest.raises(TypeError, match="with a get_offset"):
        ds.configure_for(object())
    with pytest.raises(ValueError, match="recording has 20 samples, fewer than the 30 samples"):
        ds.configure_for(_Model(Offset(15, 15)))


def test_has_device_moves_nested_tensors():
    class Holder(HasDevice):
        def __init__(self):
            super().__init__("cpu")
            self.a = torch.zeros(2)
            self.nested = {"b": [torch.zeros(1)], "c": 3}

    holder = Holder().to("meta")
    assert holder.device == "meta"
    assert holder.a.device.type == "meta" and holder.nested["b"][0].device.type == "meta"
    assert holder.nested["c"] == 3
    with pytest.raises(ValueError, match="should name a torch device"):
        holder.to("not-a-device")
    with pytest.raises(TypeError, match="device should be a string"):
        holder.to(3)


class _FixedLoader(Loader):
    def get_indices(self, num_samples=None):
        from cebra_data import BatchIndex

        idx = torch.arange(num_samples)
        return BatchIndex(idx, idx, idx)


def test_loader_validates_and_iterates():
    ds = TensorDataset(torch.zeros(20, 2), continuous=torch.zeros(20))
    loader = _FixedLoader(ds, num_steps=3, batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and len(batches) == 3
    assert batches[0].reference.shape == (4, 2, 1)
    with pytest.raises(ValueError, match="num_steps should be an integer >= 1, but got num_steps=0"):
        _FixedLoader(ds, num_steps=0, batch_size=4)
    with pytest.raises(TypeError, match="num_steps should be an integer, but got num_steps=None"):
        _FixedLoader(ds, batch_size=4)
    with pytest.raises(ValueError, match="batch_size should be an integer >= 1, but got batch_size=-2"):
        _FixedLoader(ds, num_steps=1, batch_size=-2)
    with pytest.raises(TypeError, match="dataset should be a cebra_data.Dataset .* but got ndarray"):
        _FixedLoader(np.zeros(3), num_steps=1, batch_size=2)
    with pytest.raises(ValueError, match="seed should be an integer >= 0"):
        _FixedLoader(ds, num_steps=1, batch_size=2, seed=-1)
    assert _FixedLoader(ds, num_steps=1, batch_size=2).device == "cpu"
