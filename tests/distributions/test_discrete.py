"""Discrete distributions: exact class probabilities for any integer labels."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
import torch

from cebra_data.distributions import Discrete, DiscreteEmpirical, DiscreteUniform
from cebra_data.distributions.registry import PRIORS, make_prior
from cebra_data.errors import UnknownChoiceError

# Statistical tests: seed 2024, 30_000 draws, reject at p < 1e-4. Each check was
# shown to fail on a deliberately wrong sampler (see test_chi_square_has_power).
SEED = 2024
DRAWS = 30_000
ALPHA = 1e-4


def counts_of(values: torch.Tensor, labels) -> np.ndarray:
    return np.array([(values == v).sum().item() for v in labels])


def imbalanced(labels, weights) -> torch.Tensor:
    return torch.tensor(sum(([v] * w for v, w in zip(labels, weights)), []))


CASES = {
    "0,5,9": ([0, 5, 9], [70, 20, 10]),
    "-3,7": ([-3, 7], [3, 97]),
    "large": ([-(10**9), 10**9, 10**12], [1, 5, 50]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_uniform_prior_gives_each_label_equal_frequency(case):
    values, weights = CASES[case]
    labels = imbalanced(values, weights)
    drawn = labels[DiscreteUniform(labels, seed=SEED).sample_prior(DRAWS)]
    counts = counts_of(drawn, values)
    assert counts.sum() == DRAWS
    assert scipy.stats.chisquare(counts).pvalue > ALPHA


@pytest.mark.parametrize("case", sorted(CASES))
def test_empirical_prior_matches_label_frequencies(case):
    values, weights = CASES[case]
    labels = imbalanced(values, weights)
    drawn = labels[DiscreteEmpirical(labels, seed=SEED).sample_prior(DRAWS)]
    expected = np.array(weights) / sum(weights) * DRAWS
    assert scipy.stats.chisquare(counts_of(drawn, values), expected).pvalue > ALPHA


def cebra_style_uniform(labels: torch.Tensor, num: int, generator) -> torch.Tensor:
    """CEBRA's interpolated-cdf 'uniform' draw (with a seeded generator): biased for {0,5,9}."""
    samples = labels.numpy()
    counts = np.bincount(samples)
    cdf = np.concatenate([[0], np.cumsum(counts)])
    u = torch.rand(num, generator=generator, dtype=torch.float64).numpy() * len(samples)
    position = np.interp(u, np.linspace(0, len(samples), len(cdf)), cdf).astype(int)
    return torch.from_numpy(np.argsort(samples, kind="stable"))[position]


def test_chi_square_has_power_against_cebra_uniform():
    # the same check rejects CEBRA's draw, which gives {0, 5, 9} about 10/50/40 %
    labels = imbalanced([0, 5, 9], [1, 1, 1])
    drawn = labels[cebra_style_uniform(labels, DRAWS, torch.Generator().manual_seed(SEED))]
    assert scipy.stats.chisquare(counts_of(drawn, [0, 5, 9])).pvalue < ALPHA


def test_positives_share_the_reference_label_and_are_uniform_within_it():
    g = torch.Generator().manual_seed(SEED)
    labels = torch.tensor([-3, 7, 10**9])[torch.randint(0, 3, (300,), generator=g)]
    dist = DiscreteUniform(labels, seed=SEED)
    reference = dist.sample_prior(DRAWS)
    positive = dist.sample_conditional(reference)
    assert torch.equal(labels[positive], labels[reference])
    # within label 7, every time step equally likely
    members = (labels == 7).nonzero().flatten()
    hits = positive[labels[reference] == 7]
    counts = np.array([(hits == m).sum().item() for m in members])
    assert counts.sum() == len(hits)
    assert scipy.stats.chisquare(counts).pvalue > ALPHA


def test_invalid_time_steps_are_never_drawn():
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 2])
    valid = torch.tensor([True, False, True, True, False, False, True])
    for cls in (DiscreteUniform, DiscreteEmpirical):
        dist = cls(labels, seed=SEED, valid=valid)
        reference = dist.sample_prior(2000)
        positive = dist.sample_conditional(reference)
        assert bool(valid[reference].all()) and bool(valid[positive].all())
    assert set(Discrete(labels, seed=0, valid=valid).sample_conditional(torch.tensor([6] * 50)).tolist()) == {6}


def test_labels_without_valid_time_step_are_not_drawn_by_uniform_prior():
    labels = torch.tensor([0, 0, 1, 2])
    valid = torch.tensor([True, True, False, True])
    drawn = labels[DiscreteUniform(labels, seed=1, valid=valid).sample_prior(3000)]
    assert set(drawn.tolist()) == {0, 2}
    assert scipy.stats.chisquare(counts_of(drawn, [0, 2])).pvalue > ALPHA


def test_conditional_on_label_values():
    labels = torch.tensor([4, -1, 4, 8])
    dist = Discrete(labels, seed=0)
    drawn = dist.sample_conditional_labels(torch.tensor([8, -1, 4, 4]))
    assert labels[drawn].tolist() == [8, -1, 4, 4]
    with pytest.raises(ValueError, match=r"label value\(s\) \[5\]"):
        dist.sample_conditional_labels(torch.tensor([5]))


def test_input_checks():
    with pytest.raises(ValueError, match="1-D"):
        Discrete(torch.zeros(3, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="non-integral"):
        Discrete(torch.tensor([0.0, 1.5]))
    assert Discrete(torch.tensor([0.0, 2.0]), seed=0).values.tolist() == [0, 2]
    with pytest.raises(ValueError, match="all 2 are marked invalid"):
        Discrete(torch.tensor([0, 1]), valid=torch.tensor([False, False]))
    with pytest.raises(ValueError, match="marked invalid"):
        Discrete(torch.tensor([0, 1]), seed=0, valid=torch.tensor([True, False])).sample_conditional(
            torch.tensor([1])
        )
    with pytest.raises(IndexError, match=r"\[0, 2\)"):
        Discrete(torch.tensor([0, 1]), seed=0).sample_conditional(torch.tensor([2]))
    with pytest.raises(ValueError, match="num_samples should be an integer >= 1"):
        DiscreteUniform(torch.tensor([0, 1]), seed=0).sample_prior(0)


@pytest.mark.parametrize("name", sorted(PRIORS))
def test_prior_registry(name):
    dist = make_prior(name, torch.tensor([0, 1, 1]), seed=0)
    assert isinstance(dist, PRIORS[name])
    assert dist.sample_prior(5).shape == (5,)


def test_unknown_prior_lists_valid_names():
    with pytest.raises(UnknownChoiceError, match="'empirical', 'uniform'"):
        make_prior("balanced", torch.tensor([0, 1]))


def test_no_valid_time_step_says_what_makes_a_step_invalid():
    with pytest.raises(ValueError, match=r"continuous label is NaN.*dataset\.describe\(\)"):
        Discrete(torch.tensor([0, 1, 0]), valid=torch.zeros(3, dtype=torch.bool))
