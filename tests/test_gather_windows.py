"""Windows come from one row-order gather, with the values of the formula ``neural[expand_index(i)]``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import cebra_data
from cebra_data.file_backed import gather_windows


def _reference(neural: torch.Tensor, expanded: torch.Tensor) -> torch.Tensor:
    """``out[i, d, j] = neural[expanded[i, j], d]``, element by element through the formula."""
    return neural[expanded].permute(0, 2, 1)


@pytest.mark.parametrize("offset", [(0, 1), (1, 2), (5, 5), (0, 7)])
def test_dataset_windows_equal_the_formula(offset):
    g = torch.Generator().manual_seed(0)
    neural = torch.randn(60, 7, generator=g)
    ds = cebra_data.TensorDataset(neural, continuous=torch.rand(60, 1, generator=g), offset=offset)
    index = torch.randint(0, 60, (40,), generator=g)  # edges included: the edge rule applies
    windows = ds[index]
    assert windows.shape == (40, 7, sum(offset))
    assert torch.equal(windows, _reference(neural, ds.expand_index(index)))
    # the old gather (a contiguous copy through an unfold view) gave the same values
    start = ds.expand_index(index)[:, 0]
    assert torch.equal(windows, neural.unfold(0, sum(offset), 1)[start])


def test_load_batch_splits_one_gather_into_its_three_parts():
    g = torch.Generator().manual_seed(1)
    neural = torch.randn(80, 5, generator=g)
    ds = cebra_data.TensorDataset(neural, discrete=torch.arange(80) % 3, offset=(2, 3))
    ref, pos, neg = (torch.randint(2, 77, (n,), generator=g) for n in (8, 16, 8))
    batch = ds.load_batch(cebra_data.BatchIndex(ref, pos, neg))
    for part, index in ((batch.reference, ref), (batch.positive, pos), (batch.negative, neg)):
        assert torch.equal(part, _reference(neural, ds.expand_index(index)))
        assert part.contiguous().shape == (len(index), 5, 5)


def test_windows_inside_trials_and_of_a_memory_map(tmp_path):
    g = torch.Generator().manual_seed(2)
    neural = torch.randn(50, 4, generator=g)
    trials = torch.repeat_interleave(torch.arange(5), 10)
    ds = cebra_data.TensorDataset(neural, continuous=torch.rand(50, 1, generator=g), offset=(1, 2),
                                  trial_ids=trials)
    index = torch.arange(50)
    expanded = ds.expand_index_in_trial(index, trials, torch.arange(0, 51, 10))
    assert torch.equal(ds[index], _reference(neural, expanded))
    np.save(tmp_path / "neural.npy", neural.numpy())
    mapped = cebra_data.TensorDataset(np.load(tmp_path / "neural.npy", mmap_mode="r"),
                                      continuous=torch.rand(50, 1, generator=g), offset=(1, 2))
    assert torch.equal(mapped[index], _reference(neural, mapped.expand_index(index)))


def test_multiobjective_windows_equal_the_formula():
    g = torch.Generator().manual_seed(3)
    neural = torch.randn(40, 6, generator=g)
    ds = cebra_data.DatasetxCEBRA(neural, position=torch.rand(40, 2, generator=g))
    ds.offset = (2, 2)
    index = torch.tensor([0, 5, 39, 20])
    assert torch.equal(ds[index], _reference(neural, ds.expand_index(index)))


def test_gather_windows_of_nothing_and_of_one_step():
    signal = torch.arange(12.0).view(6, 2)
    assert gather_windows(signal, torch.zeros(0, dtype=torch.long), 3).shape == (0, 2, 3)
    assert torch.equal(gather_windows(signal, torch.tensor([4, 1]), 1), signal[[4, 1]][:, :, None])
