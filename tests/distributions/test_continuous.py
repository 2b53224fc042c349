"""Continuous distributions: validity rules, exact time offsets and statistical shape."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
import torch

from cebra_data.datatypes import Offset
from cebra_data.distributions import (
    CEBRADistribution,
    ContinuousIndex,
    DeltaNormalDistribution,
    DirectTimedeltaDistribution,
    JointDistribution,
    Prior,
    TimeContrastive,
    TimedeltaDistribution,
)
from cebra_data.distributions.registry import CONDITIONALS, make_conditional
from cebra_data.errors import UnknownChoiceError

# Statistical tests: fixed seed, sample size and threshold; each was shown to
# fail on a deliberately broken sampler (see the *_has_power tests).
SEED = 7
DRAWS = 4000
ALPHA = 1e-4


def lattice_walk(n: int, seed: int) -> torch.Tensor:
    """Integer random walk with steps in {-1, 0, 1}: every value between min and max occurs."""
    g = torch.Generator().manual_seed(seed)
    steps = torch.randint(-1, 2, (n,), generator=g)
    return torch.cumsum(steps, 0).float()[:, None]


def test_prior_draws_only_valid_finite_rows():
    continuous = torch.arange(10.0)[:, None]
    continuous[3] = float("nan")
    valid = torch.ones(10, dtype=torch.bool)
    valid[:2] = False
    drawn = Prior(continuous, seed=SEED, valid=valid).sample_prior(2000)
    assert set(drawn.tolist()) == {2, 4, 5, 6, 7, 8, 9}
    # uniform over those 7 steps
    counts = np.bincount(drawn.numpy(), minlength=10)[[2, 4, 5, 6, 7, 8, 9]]
    assert scipy.stats.chisquare(counts).pvalue > ALPHA


def test_prior_offset_argument_keeps_full_windows():
    from cebra_data import Offset

    drawn = Prior(torch.zeros(20, 1), seed=SEED).sample_prior(3000, offset=Offset(5, 5))
    assert int(drawn.min()) == 5 and int(drawn.max()) == 15


def test_time_contrastive_positive_is_exactly_reference_plus_offset():
    n, k = 200, 10
    valid = torch.ones(n, dtype=torch.bool)
    valid[:5] = valid[-5:] = False
    valid[100] = False
    trial_ids = (torch.arange(n) >= 120).long()
    dist = TimeContrastive(num_samples=n, time_offset=k, seed=SEED, valid=valid, trial_ids=trial_ids)
    reference, positive = dist.sample_joint(DRAWS)
    assert torch.equal(positive, reference + k)
    assert bool(valid[reference].all()) and bool(valid[positive].all())
    assert torch.equal(trial_ids[reference], trial_ids[positive])
    allowed = {t for t in range(n - k) if valid[t] and valid[t + k] and trial_ids[t] == trial_ids[t + k]}
    assert set(reference.tolist()) == allowed
    assert set(dist.support.tolist()) == allowed


def test_time_contrastive_checks():
    with pytest.raises(ValueError, match="pass a continuous index or num_samples"):
        TimeContrastive()
    with pytest.raises(ValueError, match="exceed time_offset"):
        TimeContrastive(num_samples=5, time_offset=5)
    with pytest.raises(ValueError, match="num_samples=4 does not match the 5 rows"):
        TimeContrastive(torch.zeros(5, 1), num_samples=4)
    with pytest.raises(ValueError, match="No time step can be drawn"):
        TimeContrastive(num_samples=10, time_offset=3, trial_ids=torch.arange(10))


def test_time_delta_displacement_matches_empirical_differences():
    n, delta = 20_000, 10
    walk = lattice_walk(n, SEED)
    dist = TimedeltaDistribution(walk, time_delta=delta, seed=SEED)
    reference = dist.sample_prior(3 * DRAWS)
    # references far enough from the walk's extremes that every query value exists
    interior = (walk[reference, 0] >= walk.min() + delta) & (walk[reference, 0] <= walk.max() - delta)
    reference = reference[interior][:DRAWS]
    positive = dist.sample_conditional(reference)
    displacement = (walk[positive] - walk[reference])[:, 0].numpy()
    empirical = (walk[delta:] - walk[:-delta])[:, 0].numpy()
    assert len(displacement) == DRAWS
    assert scipy.stats.ks_2samp(displacement, empirical).pvalue > ALPHA


def test_time_delta_ks_has_power_against_wrong_lag():
    n, delta = 20_000, 10
    walk = lattice_walk(n, SEED)
    wrong = TimedeltaDistribution(walk, time_delta=delta // 2, seed=SEED)
    reference = wrong.sample_prior(3 * DRAWS)
    interior = (walk[reference, 0] >= walk.min() + delta) & (walk[reference, 0] <= walk.max() - delta)
    reference = reference[interior][:DRAWS]
    displacement = (walk[wrong.sample_conditional(reference)] - walk[reference])[:, 0].numpy()
    empirical = (walk[delta:] - walk[:-delta])[:, 0].numpy()
    assert scipy.stats.ks_2samp(displacement, empirical).pvalue < ALPHA


def test_time_delta_pairs_respect_trials_and_nan():
    continuous = torch.arange(12.0)[:, None]
    continuous[6] = float("nan")
    trial_ids = torch.tensor([0] * 4 + [1] * 8)
    dist = TimedeltaDistribution(continuous, time_delta=2, seed=SEED, trial_ids=trial_ids)
    # pairs (t, t+2) inside one trial, both finite: t in {0,1} and {4,5,7,8,9}, minus those touching 6
    assert dist.pair_start.tolist() == [0, 1, 5, 7, 8, 9]
    with pytest.raises(ValueError, match=r"No pair of time steps \(t, t \+ 5\)"):
        TimedeltaDistribution(continuous[:4], time_delta=5)


def test_nearest_neighbour_positives_are_valid():
    g = torch.Generator().manual_seed(SEED)
    continuous = torch.randn(500, 3, generator=g)
    continuous[::7] = float("nan")
    valid = torch.rand(500, generator=g) > 0.3
    for dist in (
        TimedeltaDistribution(continuous, time_delta=3, seed=SEED, valid=valid),
        DeltaNormalDistribution(continuous, delta=0.5, seed=SEED, valid=valid),
    ):
        reference, positive = dist.sample_joint(DRAWS)
        usable = valid & torch.isfinite(continuous).all(1)
        assert bool(usable[reference].all()) and bool(usable[positive].all())


def test_delta_normal_queries_have_requested_spread():
    g = torch.Generator().manual_seed(SEED)
    continuous = torch.rand(2000, 3, generator=g)
    delta = 0.05
    dist = DeltaNormalDistribution(continuous, delta=delta, seed=SEED)
    reference = dist.sample_prior(DRAWS)
    noise = (dist.query(reference) - continuous[reference]).double().numpy()
    assert abs(noise.mean()) < 4 * delta / np.sqrt(noise.size)
    # sum of squares / delta^2 ~ chi2(n * d)
    statistic = (noise**2).sum() / delta**2
    p = scipy.stats.chi2.sf(statistic, noise.size)
    assert ALPHA < p < 1 - ALPHA
    for column in range(3):  # each coordinate normal with sd delta
        assert scipy.stats.kstest(noise[:, column] / delta, "norm").pvalue > ALPHA


def test_delta_normal_spread_check_has_power():
    g = torch.Generator().manual_seed(SEED)
    continuous = torch.rand(2000, 3, generator=g)
    dist = DeltaNormalDistribution(continuous, delta=0.05 * 1.1, seed=SEED)  # 10 % too wide
    reference = dist.sample_prior(DRAWS)
    noise = (dist.query(reference) - continuous[reference]).double().numpy()
    p = scipy.stats.chi2.sf((noise**2).sum() / 0.05**2, noise.size)
    assert p < ALPHA


def test_delta_must_be_positive():
    with pytest.raises(ValueError, match="delta should be > 0"):
        DeltaNormalDistribution(torch.zeros(5, 1), delta=0.0)


@pytest.mark.parametrize("name", sorted(CONDITIONALS))
def test_conditional_registry_builds_every_entry(name):
    continuous = torch.randn(100, 2, generator=torch.Generator().manual_seed(0))
    dist = make_conditional(name, continuous=continuous, time_offset=5, delta=0.1, seed=0)
    reference, positive = dist.sample_joint(16)
    assert reference.shape == positive.shape == (16,)


def test_conditional_registry_errors():
    with pytest.raises(UnknownChoiceError, match="'delta_normal', 'time', 'time_delta'"):
        make_conditional("time-delta", num_samples=10)
    with pytest.raises(ValueError, match="needs a continuous index"):
        make_conditional("time_delta", num_samples=10)


# -- DirectTimedeltaDistribution and CEBRADistribution -------------------------------


def test_direct_time_delta_positive_is_the_looked_up_step_or_its_earliest_duplicate():
    continuous = lattice_walk(500, SEED)  # integer-valued walk: many repeated values
    dist = DirectTimedeltaDistribution(continuous, time_offset=3, seed=SEED)
    reference, positive = dist.sample_joint(DRAWS)
    target = reference + 3
    assert torch.equal(continuous[positive], continuous[target])
    # the earliest time step holding the target's value (the index's tie rule)
    first = {}
    for t, value in enumerate(continuous[:, 0].tolist()):
        first.setdefault(value, t)
    assert positive.tolist() == [first[v] for v in continuous[target, 0].tolist()]
    # with distinct values the positive is exactly reference + time_offset
    distinct = DirectTimedeltaDistribution(torch.randn(300, 2, generator=torch.Generator().manual_seed(1)), 4, seed=SEED)
    reference, positive = distinct.sample_joint(500)
    assert torch.equal(positive, reference + 4)


def test_direct_time_delta_accepts_integer_index_and_respects_validity():
    continuous = torch.tensor([0, 1, 2, 1, 4, 5, 6, 7])  # integers, value 1 at steps 1 and 3
    valid = torch.ones(8, dtype=torch.bool)
    valid[1] = False
    trial_ids = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    dist = DirectTimedeltaDistribution(continuous, 1, seed=SEED, valid=valid, trial_ids=trial_ids)
    assert torch.equal(dist.data[:, 0], continuous.float())
    reference, positive = dist.sample_joint(2000)
    # pairs (t, t + 1) with both ends valid and in one trial: starts 2, 4, 5, 6
    assert set(reference.tolist()) == {2, 4, 5, 6}
    assert bool(valid[positive].all())
    # reference 2 looks up step 3 (value 1): the earlier step 1 has the same value but is
    # invalid, so step 3 itself; reference 0 looks up the invalid step 1, answered by step 3
    assert dist.sample_conditional(torch.tensor([2, 0, 4])).tolist() == [3, 3, 5]


def test_direct_time_delta_is_seeded_and_checks_arguments():
    continuous = torch.randn(100, 1, generator=torch.Generator().manual_seed(0))
    first = DirectTimedeltaDistribution(continuous, 2, seed=5).sample_joint(50)
    again = DirectTimedeltaDistribution(continuous, 2, seed=5).sample_joint(50)
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    with pytest.raises(TypeError, match="NoneType"):
        DirectTimedeltaDistribution(None)
    with pytest.raises(ValueError, match="exceed time_offset"):
        DirectTimedeltaDistribution(continuous[:3], time_offset=3)
    with pytest.raises(IndexError, match=r"\[0, 98\)"):
        DirectTimedeltaDistribution(continuous, 2, seed=5).sample_conditional(torch.tensor([98]))
    with pytest.raises(TypeError):
        DirectTimedeltaDistribution(continuous, 2, "cpu")  # device and seed are keyword-only


def test_direct_time_delta_uses_an_exact_index():
    dist = DirectTimedeltaDistribution(torch.arange(10.0), time_offset=1, engine="brute", seed=0)
    assert isinstance(dist.index, ContinuousIndex) and dist.index.engine_name == "brute"
    assert isinstance(dist, TimeContrastive)


def test_cebra_distribution_is_an_abstract_joint_distribution():
    assert issubclass(CEBRADistribution, JointDistribution)
    with pytest.raises(TypeError, match="abstract"):
        CEBRADistribution()

    class Constant(CEBRADistribution):
        def sample_prior(self, num_samples):
            return torch.zeros(num_samples, dtype=torch.long)

        def sample_conditional(self, reference_idx):
            return reference_idx + 1

    reference, positive = Constant().sample_joint(3)
    assert reference.tolist() == [0, 0, 0] and positive.tolist() == [1, 1, 1]


def test_offset_is_re_exported():
    from cebra_data.distributions import continuous

    assert continuous.Offset is Offset
