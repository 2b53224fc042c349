"""MixedTimeDeltaDistribution: positives share the label and follow the time-delta query."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
import torch

from cebra_data.distributions import (
    ConditionalIndex,
    ConfigurableDistribution,
    DiscreteUniform,
    Mixed,
    MixedTimeDeltaDistribution,
    TimedeltaDistribution,
)
from cebra_data.distributions import mixed as mixed_module
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


# -- Mixed -----------------------------------------------------------------------


def test_mixed_prior_makes_every_label_equally_likely():
    labels, continuous = make_data()
    mixed = Mixed(labels, continuous, seed=SEED)
    drawn = mixed.sample_prior(DRAWS)
    assert drawn.shape == (DRAWS,)
    counts = np.array([(labels[drawn] == v).sum().item() for v in (-5, 2, 40)])
    assert scipy.stats.chisquare(counts, np.full(3, DRAWS / 3)).pvalue > ALPHA


def test_mixed_conditional_discrete_draws_uniformly_within_the_value():
    labels, continuous = make_data()
    mixed = Mixed(labels, continuous, seed=SEED)
    values = torch.tensor([40, -5] * (DRAWS // 2))
    drawn = mixed.sample_conditional_discrete(values)
    assert drawn.shape == values.shape
    assert torch.equal(labels[drawn], values)
    # uniform over the time steps labelled 40
    steps = (labels == 40).nonzero().flatten()
    picked = drawn[values == 40]
    counts = np.array([(picked == t).sum().item() for t in steps.tolist()])
    assert scipy.stats.chisquare(counts).pvalue > ALPHA
    with pytest.raises(ValueError, match=r"label value\(s\) \[7\]"):
        mixed.sample_conditional_discrete(torch.tensor([7]))


def test_mixed_searches_are_exact():
    labels, continuous = make_data(400)
    valid = torch.ones(400, dtype=torch.bool)
    valid[::3] = False
    mixed = Mixed(labels, continuous, seed=SEED, valid=valid)
    g = torch.Generator().manual_seed(1)
    queries = torch.randn(50, 2, generator=g)
    query_labels = torch.tensor([-5, 2, 40])[torch.randint(0, 3, (50,), generator=g)]
    index = ConditionalIndex(labels, continuous, valid=valid)
    both = mixed.sample_conditional(query_labels, queries)
    assert torch.equal(both, index.search(queries, discrete=query_labels))
    assert torch.equal(labels[both], query_labels)
    anywhere = mixed.sample_conditional_continuous(queries)
    assert torch.equal(anywhere, index.search(queries))
    assert bool(valid[both].all()) and bool(valid[anywhere].all())
    assert bool(valid[mixed.sample_prior(500)].all())
    assert bool(valid[mixed.sample_conditional_discrete(query_labels)].all())


def test_mixed_is_seeded_and_accepts_integer_index():
    labels = torch.tensor([0, 0, 1, 1, 1])
    positions = torch.tensor([0, 4, 0, 2, 4])  # integer continuous index
    first = Mixed(labels, positions, seed=3)
    second = Mixed(labels, positions, seed=3)
    assert torch.equal(first.sample_prior(100), second.sample_prior(100))
    assert torch.equal(first.conditional.continuous[:, 0], positions.float())
    assert first.sample_conditional(torch.tensor([0, 1]), torch.tensor([[3.0], [3.0]])).tolist() == [1, 3]


def test_mixed_errors():
    labels, continuous = make_data(50)
    with pytest.raises(ValueError, match=r"discrete \(49 samples\) and continuous \(50 samples\)"):
        Mixed(labels[:49], continuous)
    with pytest.raises(TypeError, match="integer labels"):
        Mixed(continuous[:, 0].numpy().astype("complex64"), continuous)
    with pytest.raises(TypeError):
        Mixed(labels, continuous, "cpu")  # device, seed, valid and engine are keyword-only


# -- ConfigurableDistribution and re-exports ------------------------------------------


def test_configurable_distribution_refuses_to_ignore_configuration():
    distribution = ConfigurableDistribution()
    with pytest.raises(NotImplementedError, match="prior 'uniform' was not applied"):
        distribution.configure_prior("uniform")
    with pytest.raises(NotImplementedError, match="make_prior"):
        distribution.configure_prior()
    with pytest.raises(NotImplementedError, match="make_conditional"):
        distribution.configure_conditional()


def test_mixed_module_re_exports_as_cebra():
    assert mixed_module.DiscreteUniform is DiscreteUniform
    assert mixed_module.TimedeltaDistribution is TimedeltaDistribution
    assert mixed_module.ConditionalIndex is ConditionalIndex
