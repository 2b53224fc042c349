"""The loaders' fast paths draw exactly what the public, checked calls draw.

Loaders call ``_sample_batch`` / ``_sample_conditional_trusted`` (no re-checks of the
references they drew, a gap-free support drawn as ``randint(start, end)``). These tests
build two distributions from the same seed and compare the fast path with the public
calls, for gap-free and gapped supports, so that a fast path can never change a stream.
"""

from __future__ import annotations

import pytest
import torch

from cebra_data import DatasetCollection, TensorDataset
from cebra_data.distributions import DiscreteEmpirical, DiscreteUniform, TimeContrastive
from cebra_data.distributions.multisession import DiscreteMultisessionSampler, invert_index


def _valid(n: int, gaps: bool) -> torch.Tensor:
    valid = torch.ones(n, dtype=torch.bool)
    valid[:5] = valid[-5:] = False
    if gaps:
        valid[100:130] = False
        valid[400] = False
    return valid


@pytest.mark.parametrize("gaps", [False, True])
@pytest.mark.parametrize("num_negatives", [64, 17])
def test_time_batch_equals_prior_then_conditional(gaps, num_negatives):
    n = 1000
    fast = TimeContrastive(num_samples=n, time_offset=10, seed=3, valid=_valid(n, gaps))
    slow = TimeContrastive(num_samples=n, time_offset=10, seed=3, valid=_valid(n, gaps))
    assert (fast._support_start is None) == gaps
    for _ in range(3):
        reference, positive, negative = fast._sample_batch(64, num_negatives)
        drawn = slow.sample_prior(64 + num_negatives)
        assert torch.equal(reference, drawn[:64])
        assert torch.equal(negative, drawn[64:])
        assert torch.equal(positive, slow.sample_conditional(drawn[:64]))
    # every reference and its positive are valid time steps
    valid = _valid(n, gaps)
    assert bool(valid[reference].all()) and bool(valid[positive].all())


def test_gap_free_prior_is_the_support_gather():
    """randint(start, end) is support[randint(0, len)]: the shortcut changes no value."""
    n = 2000
    support = torch.arange(5, n - 15)
    generator = torch.Generator().manual_seed(11)
    expected = support[torch.randint(0, len(support), (4096,), generator=generator)]
    prior = TimeContrastive(num_samples=n, time_offset=10, seed=11, valid=_valid(n, False))
    assert torch.equal(prior.support, support)
    assert torch.equal(prior.sample_prior(4096), expected)


@pytest.mark.parametrize("cls", [DiscreteEmpirical, DiscreteUniform])
def test_discrete_trusted_conditional_equals_checked(cls):
    labels = torch.tensor([0, 3, 3, 7, 7, 7, -2] * 50)
    valid = torch.ones(len(labels), dtype=torch.bool)
    valid[::9] = False
    fast, slow = cls(labels, seed=5, valid=valid), cls(labels, seed=5, valid=valid)
    for _ in range(3):
        reference = fast.sample_prior(128)
        assert torch.equal(reference, slow.sample_prior(128))
        positive = fast._sample_conditional_trusted(reference)
        assert torch.equal(positive, slow.sample_conditional(reference))
        assert torch.equal(labels[positive], labels[reference])
        assert bool(valid[positive].all())


def test_discrete_checked_conditional_still_refuses_invalid_references():
    labels = torch.arange(20) % 2
    valid = torch.ones(20, dtype=torch.bool)
    valid[3] = False
    with pytest.raises(ValueError, match="marked invalid"):
        DiscreteEmpirical(labels, seed=0, valid=valid).sample_conditional(torch.tensor([3]))


def _sessions():
    return DatasetCollection([
        TensorDataset(torch.zeros(n, 4), discrete=(torch.arange(n) // 7) % 3, offset=(2, 3))
        for n in (90, 120, 150)
    ])


def test_multisession_discrete_trusted_equals_checked():
    fast = DiscreteMultisessionSampler(_sessions(), seed=2)
    slow = DiscreteMultisessionSampler(_sessions(), seed=2)
    labels = [session.discrete_index for session in _sessions().iter_sessions()]
    for _ in range(3):
        reference = fast.sample_prior(32)
        assert torch.equal(reference, slow.sample_prior(32))
        positive, index, reverse = fast._sample_conditional_trusted(reference)
        expected = slow.sample_conditional(reference)
        assert torch.equal(positive, expected[0])
        assert torch.equal(index, expected[1]) and torch.equal(reverse, expected[2])
        assert torch.equal(reverse, invert_index(index))
        # the positive of each reference carries its label, in the session it was sent to
        reference_labels = torch.stack([l[r] for l, r in zip(labels, reference)])
        positive_labels = torch.stack([l[p] for l, p in zip(labels, positive)])
        assert torch.equal(fast.mix(reference_labels, index), positive_labels)
        # references have full windows: the prior drew from offset.left .. len - offset.right
        for r, session in zip(reference, _sessions().iter_sessions()):
            assert int(r.min()) >= 2 and int(r.max()) <= len(session) - 3


def test_multisession_prior_shortcut_equals_support_gather():
    sampler = DiscreteMultisessionSampler(_sessions(), seed=4)
    assert torch.equal(sampler._support_first, torch.tensor([2, 2, 2]))  # one run per session
    gathered = DiscreteMultisessionSampler(_sessions(), seed=4)
    gathered._support_first = None  # force the gather from the support
    for _ in range(3):
        assert torch.equal(sampler.sample_prior(500), gathered.sample_prior(500))
