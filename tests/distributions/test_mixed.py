"""MixedTimeDeltaDistribution: positives share the label and follow the time-delta query."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
import torch

from cebra_data.distributions import ConditionalIndex, MixedTimeDeltaDistribution
from cebra_data.errors import UnknownChoiceError

SEED = 3
DRAWS = 6000
ALPHA = 1e-4


def make_data(n: int = 3000):
    g = torch.Generator().manual_seed(SEED)
    labels = torch.tensor([-5, 2, 40])[torch.randint(0, 3, (n,), generator=g)]
    labels[: n // 2] = 2  # label 2 dominates
    continuous = torch.randn(n, 2, generator=g).cumsum(0) * 0.1
    return labels, continuous


def test_positives_share_labels_and_are_exact_neighbours_of_the_query():
    labels, continuous = make_data()
    valid = torch.ones(len(labels), dtype=torch.bool)
    valid[:10] = False
    dist = MixedTimeDeltaDistribution(labels, continuous, time_delta=5, seed=SEED, valid=valid)
    reference = dist.sample_prior(DRAWS)
    positive = dist.sample_conditional(reference)
    assert torch.equal(labels[positive], labels[reference])
    assert bool(valid[reference].all()) and bool(valid[positive].all())
    # replaying the generator state reproduces the query; its answer is the same-label nearest neighbour
    replay = MixedTimeDeltaDistribution(labels, continuous, time_delta=5, seed=SEED, valid=valid)
    replay.sample_prior(DRAWS)
    query = replay.query(reference)
    index = ConditionalIndex(labels, continuous, valid=valid)
    assert torch.equal(index.search(query, discrete=labels[reference]), positive)


@pytest.mark.parametrize("prior", ["uniform", "empirical"])
def test_prior_choice(prior):
    labels, continuous = make_data()
    dist = MixedTimeDeltaDistribution(labels, continuous, time_delta=5, seed=SEED, prior=prior)
    drawn = labels[dist.sample_prior(DRAWS)]
    counts = np.array([(drawn == v).sum().item() for v in (-5, 2, 40)])
    if prior == "uniform":
        expected = np.full(3, DRAWS / 3)
    else:
        expected = np.array([(labels == v).sum().item() for v in (-5, 2, 40)]) / len(labels) * DRAWS
    assert scipy.stats.chisquare(counts, expected).pvalue > ALPHA


def test_errors():
    labels, continuous = make_data(50)
    with pytest.raises(UnknownChoiceError, match="'empirical', 'uniform'"):
        MixedTimeDeltaDistribution(labels, continuous, prior="balanced")
    with pytest.raises(ValueError, match=r"discrete \(49 samples\) and continuous \(50 samples\)"):
        MixedTimeDeltaDistribution(labels[:49], continuous)
