"""Tests of cebra_data.masking: mask statistics, block shapes, seeding, the unmasked path, errors."""

from math import comb

import pytest
import torch

from cebra_data import BatchIndex, TensorDataset
from cebra_data.errors import UnknownChoiceError
from cebra_data.masking import (
    MASKS,
    Mask,
    MaskedMixin,
    NeuronBlockMask,
    RandomNeuronMask,
    RandomTimestepMask,
    TimeBlockMask,
)

SEED = 1234


def _dataset(n: int = 200, d: int = 12, offset=(2, 3)) -> TensorDataset:
    gen = torch.Generator().manual_seed(0)
    # strictly positive values, so a zero in a window can only come from a mask
    neural = torch.rand(n, d, generator=gen) + 1.0
    return TensorDataset(neural, continuous=torch.zeros(n, 1), offset=offset)


def _masked(mask: Mask, shape) -> torch.Tensor:
    """Boolean tensor of ``shape``: True where ``mask`` zeroes an entry."""
    return mask.apply_mask(torch.ones(shape)) == 0


def _runs(row: torch.Tensor):
    """(start, length) of every maximal run of True in a 1-D boolean tensor."""
    runs, start = [], None
    for i, value in enumerate(row.tolist() + [False]):
        if value and start is None:
            start = i
        elif not value and start is not None:
            runs.append((start, i - start))
            start = None
    return runs


def _time_block_fraction(length: int, rate: float, span: int) -> float:
    """Exact expected masked fraction of TimeBlockMask((rate, span)) on windows of ``length`` steps.

    Step t is masked unless none of the ``min(t + 1, span)`` positions that could
    start a span covering it is among the ``m`` distinct starts.
    """
    m = int(length * rate)
    total = comb(length, m)
    unmasked = sum(comb(length - min(t + 1, span), m) / total for t in range(length))
    return 1 - unmasked / length


# -- masked fractions ------------------------------------------------------------
# Sample sizes are ~1e5 Bernoulli entries (std of the mean < 0.0016), threshold 0.01:
# a sampler off by 0.01 or more in its ratio fails.


def test_random_neuron_mask_fraction_and_layout():
    masked = _masked(RandomNeuronMask(0.3, seed=SEED), (2000, 50, 4))
    assert abs(masked.float().mean().item() - 0.3) < 0.01
    # one decision per (window, neuron), held over the whole window
    assert bool((masked == masked[:, :, :1]).all())


def test_random_timestep_mask_fraction_and_layout():
    masked = _masked(RandomTimestepMask(0.2, seed=SEED), (5000, 6, 20))
    assert abs(masked.float().mean().item() - 0.2) < 0.01
    assert bool((masked == masked[:, :1, :]).all())


@pytest.mark.parametrize("ratio, neurons, expected", [(0.2, 50, 10), (0.29, 100, 29), (0.05, 10, 0)])
def test_neuron_block_mask_masks_one_contiguous_block(ratio, neurons, expected):
    masked = _masked(NeuronBlockMask(ratio, seed=SEED), (500, neurons, 3))
    assert bool((masked == masked[:, :, :1]).all())
    per_row = masked[:, :, 0]
    assert per_row.sum(dim=1).tolist() == [expected] * 500
    if expected:
        for row in per_row[:100]:
            assert [length for _, length in _runs(row)] == [expected]
        # the block start is uniform over all positions where the block fits
        starts = per_row.float().argmax(dim=1)
        assert int(starts.min()) == 0 and int(starts.max()) == neurons - expected


def test_time_block_mask_fraction_matches_exact_expectation():
    rate, span, length = 0.2, 2, 20
    masked = _masked(TimeBlockMask((rate, span), seed=SEED), (5000, 3, length))
    expected = _time_block_fraction(length, rate, span)
    assert abs(masked.float().mean().item() - expected) < 0.01
    assert bool((masked == masked[:, :1, :]).all())


@pytest.mark.parametrize("rate, span", [(0.2, 2), (0.1, 5), (0.3, 1)])
def test_time_block_mask_masks_contiguous_spans(rate, span):
    length = 30
    num_starts = int(length * rate)
    masked = _masked(TimeBlockMask((rate, span), seed=SEED), (300, 2, length))[:, 0, :]
    for row in masked:
        runs = _runs(row)
        assert 1 <= len(runs) <= num_starts
        for start, run in runs:
            # a run is a union of spans: at least one span long unless cut by the window's end
            assert run >= span or start + run == length
        # every masked step is covered by a span of ``span`` steps, so the count is bounded
        assert int(row.sum()) <= num_starts * span
    # any step can be masked, the first and the last included
    assert bool(masked.any(dim=0).all())


def test_time_block_mask_with_no_start_keeps_everything():
    masked = _masked(TimeBlockMask((0.2, 3), seed=SEED), (10, 2, 4))  # floor(4 * 0.2) = 0
    assert not bool(masked.any())


def test_ratio_choices_from_list_and_range():
    assert RandomNeuronMask((0.1, 0.5, 0.1)).choices == (0.1, 0.2, 0.3, 0.4, 0.5)
    assert RandomNeuronMask((0.0, 0.3, 0.2)).choices == (0.0, 0.2)
    assert NeuronBlockMask([0.25, 0.5]).choices == (0.25, 0.5)
    # each batch draws one ratio from the list, and every ratio is drawn
    mask = NeuronBlockMask([0.25, 0.5], seed=SEED)
    counts = {int(_masked(mask, (1, 8, 1)).sum()) for _ in range(50)}
    assert counts == {2, 4}


# -- the mixin ---------------------------------------------------------------------


def test_unmasked_path_returns_the_identical_tensor():
    ds = _dataset()
    windows = ds[torch.arange(5, 50)]
    assert ds.masks == ()
    assert ds.apply_mask(windows) is windows
    index = BatchIndex(torch.arange(5, 15), torch.arange(20, 30), torch.arange(40, 50))
    batch = ds.load_batch(index)
    assert torch.equal(batch.reference, ds[index.reference])
    assert torch.equal(batch.negative, ds[index.negative])


def test_clear_masks_restores_the_unmasked_path():
    ds = _dataset()
    ds.set_masks({"RandomNeuronMask": 0.5}, seed=SEED)
    windows = ds[torch.arange(5, 50)]
    assert ds.apply_mask(windows) is not windows
    ds.clear_masks()
    assert ds.apply_mask(windows) is windows


def test_load_batch_masks_reference_positive_and_negative():
    ds = _dataset()
    ds.set_masks({"RandomNeuronMask": 0.5}, seed=SEED)
    index = BatchIndex(torch.arange(5, 105), torch.arange(6, 106), torch.arange(7, 107))
    batch = ds.load_batch(index)
    for part, idx in zip(batch, index[:3]):
        assert part.shape == (100, 12, 5)
        zero = part == 0
        assert 0.4 < zero.float().mean().item() < 0.6
        # kept entries are the data, untouched
        assert torch.equal(part[~zero], ds[idx][~zero])


def test_apply_mask_does_not_modify_its_input_and_keeps_2d_shape():
    ds = _dataset()
    ds.set_masks({"RandomTimestepMask": 0.5}, seed=SEED)
    windows = ds[torch.arange(5, 50)]
    before = windows.clone()
    masked = ds.apply_mask(windows)
    assert torch.equal(windows, before)
    assert bool((masked == 0).any())
    single = ds.apply_mask(windows[0])
    assert single.shape == windows[0].shape


def test_masks_are_deterministic_under_a_seed():
    def stream(seed):
        ds = _dataset()
        ds.set_masks(
            {"RandomNeuronMask": [0.2, 0.4], "RandomTimestepMask": 0.2,
             "NeuronBlockMask": (0.1, 0.5, 0.1), "TimeBlockMask": (0.2, 2)},
            seed=seed,
        )
        windows = ds[torch.arange(5, 100)]
        return [ds.apply_mask(windows) for _ in range(8)]

    first, again, other = stream(7), stream(7), stream(8)
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not all(torch.equal(a, b) for a, b in zip(first, other))


def test_no_global_random_state_is_used():
    state = torch.random.get_rng_state()
    ds = _dataset()
    ds.set_masks({name: (0.2, 2) if name == "TimeBlockMask" else 0.3 for name in MASKS}, seed=1)
    for _ in range(5):
        ds.apply_mask(ds[torch.arange(5, 60)])
    assert torch.equal(torch.random.get_rng_state(), state)


def test_every_configured_mask_is_used():
    ds = _dataset(d=10)
    ds.set_masks({"RandomTimestepMask": 0.3, "NeuronBlockMask": 0.5}, seed=SEED)
    windows = ds[torch.arange(5, 45)]
    kinds = set()
    for _ in range(40):
        zero = ds.apply_mask(windows) == 0
        per_neuron = zero[:, :, 0].sum(dim=1)
        kinds.add("block" if bool((per_neuron == 5).all()) else "time")
    assert kinds == {"block", "time"}


def test_set_masks_replaces_same_name_and_keeps_others():
    ds = _dataset()
    ds.set_masks({"RandomNeuronMask": 0.3, "TimeBlockMask": (0.2, 2)}, seed=SEED)
    ds.set_masks({"RandomNeuronMask": 0.6})
    assert [type(m).__name__ for m in ds.masks] == ["TimeBlockMask", "RandomNeuronMask"]
    assert ds.masks[1].mask_ratio == 0.6
    ds.set_masks(None)
    assert len(ds.masks) == 2


def test_masks_are_per_dataset():
    first, second = _dataset(), _dataset()
    first.set_masks({"RandomNeuronMask": 0.3}, seed=SEED)
    assert second.masks == ()
    assert MaskedMixin().masks == ()


# -- errors ----------------------------------------------------------------------


def test_unknown_mask_name_lists_the_valid_ones():
    ds = _dataset()
    with pytest.raises(UnknownChoiceError, match="RandomNeuronMask.*TimeBlockMask") as info:
        ds.set_masks({"RandomNeuronMask": 0.3, "GaussianNoise": 0.1})
    assert isinstance(info.value, ValueError)
    assert sorted(info.value.valid) == sorted(MASKS)
    assert ds.masks == ()  # nothing changed


@pytest.mark.parametrize("cls", [RandomNeuronMask, RandomTimestepMask, NeuronBlockMask])
@pytest.mark.parametrize(
    "value, error",
    [
        (0.0, ValueError),
        (1.0, ValueError),
        (-0.1, ValueError),
        (1.5, ValueError),
        (float("nan"), ValueError),
        ([], ValueError),
        ([0.2, 1.2], ValueError),
        ((0.1, 0.5), ValueError),
        ((0.5, 0.1, 0.1), ValueError),
        ((0.1, 0.5, 0.0), ValueError),
        ((0.1, 0.5, 0.6), ValueError),
        ((0.1, 1.5, 0.1), ValueError),
        ("0.3", TypeError),
        (True, TypeError),
        (None, TypeError),
        ([0.2, "0.3"], TypeError),
    ],
)
def test_bad_ratio_values(cls, value, error):
    with pytest.raises(error, match=cls.__name__):
        cls(value)


@pytest.mark.parametrize(
    "value, error",
    [
        (0.2, TypeError),
        ((0.2,), TypeError),
        ([0.2, 2], TypeError),
        ((0.2, 2, 1), TypeError),
        ((1.2, 2), ValueError),
        ((0.0, 2), ValueError),
        ((0.2, 0), ValueError),
        ((0.2, 2.5), TypeError),
        ((0.2, True), TypeError),
    ],
)
def test_bad_time_block_values(value, error):
    with pytest.raises(error, match="TimeBlockMask"):
        TimeBlockMask(value)


def test_bad_value_in_set_masks_changes_nothing():
    ds = _dataset()
    ds.set_masks({"RandomNeuronMask": 0.3}, seed=SEED)
    with pytest.raises(ValueError, match="RandomTimestepMask"):
        ds.set_masks({"NeuronBlockMask": 0.2, "RandomTimestepMask": 2.0})
    assert [type(m).__name__ for m in ds.masks] == ["RandomNeuronMask"]


def test_set_masks_needs_a_mapping():
    with pytest.raises(TypeError, match="dict of mask name"):
        _dataset().set_masks(["RandomNeuronMask"])


@pytest.mark.parametrize(
    "data, error, match",
    [
        (torch.ones(4, 3, 2, dtype=torch.long), TypeError, "floating-point"),
        (torch.ones(2, 4, 3, 2), ValueError, "3D tensor"),
        (torch.ones(5), ValueError, "3D tensor"),
        ([[1.0]], TypeError, "torch.Tensor"),
    ],
)
def test_apply_mask_rejects_bad_data(data, error, match):
    ds = _dataset()
    ds.set_masks({"RandomNeuronMask": 0.3}, seed=SEED)
    with pytest.raises(error, match=match):
        ds.apply_mask(data)


def test_apply_mask_checks_chunk_size():
    ds = _dataset()
    ds.set_masks({"RandomNeuronMask": 0.3}, seed=SEED)
    with pytest.raises(ValueError, match="chunk_size"):
        ds.apply_mask(ds[torch.arange(5, 10)], chunk_size=0)


# -- cebra.data's error types and wording ----------------------------------------------


@pytest.mark.parametrize(
    "value, match",
    [
        (0.2, "sampled_rate.*masked_seq_len"),
        ([0.2, 10], "sampled_rate.*masked_seq_len"),
        ((-2, 10), "between.*0.0.*1.0"),
        ((2, 10), "between.*0.0.*1.0"),
        ((0.2, -10), "integer.*greater"),
        ((0.2, 5.5), "integer.*greater"),
    ],
)
def test_time_block_mask_errors_are_also_cebras_assertion_errors(value, match):
    # cebra.data checks masking values with ``assert``: code catching AssertionError keeps working
    with pytest.raises(AssertionError, match=match) as info:
        MaskedMixin().set_masks({"TimeBlockMask": value})
    assert isinstance(info.value, (TypeError, ValueError))


@pytest.mark.parametrize("value", [1.5, [0.2, 0.0], (0.5, 0.1, 0.1), "0.3"])
def test_ratio_mask_errors_are_also_assertion_errors(value):
    with pytest.raises(AssertionError):
        MaskedMixin().set_masks({"RandomNeuronMask": value})


def test_apply_mask_errors_keep_cebras_wording_and_types():
    mixin = MaskedMixin()
    mixin.set_masks({"RandomNeuronMask": 0.5}, seed=SEED)
    with pytest.raises(ValueError, match="Data must be a 3D tensor"):
        mixin.apply_mask(torch.ones(10, 20, 30, 40))
    # cebra.data raises ValueError for a non-float batch; we raised TypeError: it is both
    with pytest.raises(ValueError, match="Data must be a float32 tensor") as info:
        mixin.apply_mask(torch.ones((10, 20, 30), dtype=torch.int32))
    assert isinstance(info.value, TypeError)


def test_private_masks_list_as_in_cebra():
    mixin = MaskedMixin()
    assert mixin._masks == []
    mixin.set_masks({"NeuronBlockMask": 0.5, "RandomTimestepMask": 0.3}, seed=SEED)
    assert [type(m).__name__ for m in mixin._masks] == ["NeuronBlockMask", "RandomTimestepMask"]
    mixin._masks.clear()  # a copy: the configuration does not change behind set_masks' back
    assert len(mixin.masks) == 2
