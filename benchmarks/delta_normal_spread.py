"""The statistic of CEBRA's test ``test_new_delta_normal_with_multidimensional_index[0.01-True]``.

That test draws 100,000 uniform points in 3-D, 1,000 references from
``DeltaNormalDistribution(delta=0.01)`` and their positives, and asserts that the standard
deviation of ``continuous[positive] - continuous[reference]`` is within 10 % of ``delta``.
This script computes that ratio (std / delta) for CEBRA 0.6.1's sampler and for ours on the
same data, ``--draws`` times, and prints its mean, its spread and how often it falls outside
[0.9, 1.1] (the test's failures). The data and our sampler are seeded; CEBRA's sampler draws
from torch's global generator, which is seeded here inside ``torch.random.fork_rng``.

    python benchmarks/delta_normal_spread.py [--draws 100]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

DELTA = 0.01


def ratios(draws: int) -> dict:
    import cebra.distributions as theirs

    import cebra_data.distributions as ours

    found = {"CEBRA 0.6.1": [], "cebra_data": []}
    data_stream = torch.Generator().manual_seed(123)
    for draw in range(draws):
        continuous = torch.rand(100_000, 3, generator=data_stream)
        with torch.random.fork_rng():
            torch.manual_seed(1000 + draw)
            theirs_dist = theirs.DeltaNormalDistribution(delta=DELTA, continuous=continuous)
            reference = theirs_dist.sample_prior(1000)
            positive = theirs_dist.sample_conditional(reference)
        found["CEBRA 0.6.1"].append((continuous[positive] - continuous[reference]).std().item() / DELTA)
        ours_dist = ours.DeltaNormalDistribution(delta=DELTA, continuous=continuous, seed=1000 + draw)
        reference = ours_dist.sample_prior(1000)
        positive = ours_dist.sample_conditional(reference)
        found["cebra_data"].append((continuous[positive] - continuous[reference]).std().item() / DELTA)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=100)
    options = parser.parse_args()
    torch.set_num_threads(1)
    print(f"std(positive - reference) / delta, delta={DELTA}, {options.draws} draws (same data for both)")
    for name, values in ratios(options.draws).items():
        values = np.asarray(values)
        outside = int((np.abs(values - 1) > 0.1).sum())
        print(f"{name:<12} mean {values.mean():.4f}  sd {values.std():.4f}  "
              f"outside [0.9, 1.1]: {outside}/{len(values)}")


if __name__ == "__main__":
    main()
