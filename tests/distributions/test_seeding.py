"""Seeding: one helper, derived child seeds, no global random state, reproducible across processes."""

from __future__ import annotations

import hashlib
import random
import subprocess
import sys

import numpy as np
import pytest
import torch

from cebra_data.distributions import (
    DeltaNormalDistribution,
    DiscreteUniform,
    MixedTimeDeltaDistribution,
    TimeContrastive,
    TimedeltaDistribution,
    as_generator,
    derive_seed,
)


def build_all(seed):
    g = torch.Generator().manual_seed(0)  # fixed data, independent of the sampling seed
    continuous = torch.randn(400, 2, generator=g)
    labels = torch.randint(-2, 3, (400,), generator=g)
    return [
        TimeContrastive(num_samples=400, time_offset=4, seed=seed),
        TimedeltaDistribution(continuous, time_delta=4, seed=seed),
        DeltaNormalDistribution(continuous, delta=0.2, seed=seed),
        DiscreteUniform(labels, seed=seed),
        MixedTimeDeltaDistribution(labels, continuous, time_delta=4, seed=seed),
    ]


def stream(seed) -> str:
    digest = hashlib.sha256()
    for dist in build_all(seed):
        for _ in range(3):
            reference = dist.sample_prior(64)
            digest.update(reference.numpy().tobytes())
            digest.update(dist.sample_conditional(reference).numpy().tobytes())
    return digest.hexdigest()


SCRIPT = (
    "import sys; sys.path.insert(0, {path!r}); "
    "from test_seeding import stream; print(stream(1234))"
)


def test_same_seed_same_stream_across_processes():
    import os

    here = os.path.dirname(__file__)
    outputs = [
        subprocess.run(
            [sys.executable, "-c", SCRIPT.format(path=here)],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
        for _ in range(2)
    ]
    assert outputs[0] == outputs[1] == stream(1234)


def test_different_seeds_differ_and_none_is_fresh_entropy():
    assert stream(1) != stream(2)
    assert stream(None) != stream(None)


def test_sampling_leaves_global_random_state_untouched():
    torch_state = torch.get_rng_state()
    numpy_state = np.random.get_state()
    python_state = random.getstate()
    stream(5)
    stream(None)
    assert torch.equal(torch.get_rng_state(), torch_state)
    after = np.random.get_state()
    assert after[0] == numpy_state[0] and np.array_equal(after[1], numpy_state[1]) and after[2:] == numpy_state[2:]
    assert random.getstate() == python_state


def test_as_generator_contract():
    g = torch.Generator()
    assert as_generator(g) is g
    assert torch.equal(torch.rand(4, generator=as_generator(3)), torch.rand(4, generator=as_generator(3)))
    with pytest.raises(TypeError, match="seed should be a non-negative integer, None or a torch.Generator"):
        as_generator(1.5)
    with pytest.raises(ValueError, match=r"seed should be an integer in \[0, 2\*\*64 - 1\]"):
        as_generator(-1)


@pytest.mark.parametrize("seed", [0, 5, 2**32 - 1, 2**63 - 1])
def test_seeds_that_torch_would_confuse_give_different_streams(seed):
    # torch's CPU generator keeps 32 bits of a seed: manual_seed(s) == manual_seed(s + 2**32)
    def draw(generator):
        return torch.randint(0, 2**62, (8,), generator=generator)

    assert torch.equal(draw(torch.Generator().manual_seed(seed % 2**32)),
                       draw(torch.Generator().manual_seed(seed % 2**32 + 2**32)))
    bigger = seed + 2**32 if seed + 2**32 < 2**64 else seed - 2**32
    assert not torch.equal(draw(as_generator(seed)), draw(as_generator(bigger)))
    if seed < 2**32:  # small seeds keep torch's (and torch.manual_seed's) streams
        assert torch.equal(draw(as_generator(seed)), draw(torch.Generator().manual_seed(seed)))
    assert torch.equal(draw(as_generator(2**64 - 1)), draw(as_generator(2**64 - 1)))


def test_derived_seeds_are_the_32_bits_torch_uses():
    parent = as_generator(11)
    seeds = [derive_seed(parent) for _ in range(200)]
    assert all(0 <= s < 2**32 for s in seeds) and len(set(seeds)) == 200


def test_children_derive_from_parent():
    parent = as_generator(9)
    first, second = derive_seed(parent), derive_seed(parent)
    assert first != second
    again = as_generator(9)
    assert [derive_seed(again), derive_seed(again)] == [first, second]


def test_shared_generator_is_one_stream():
    labels = torch.arange(10) % 2
    shared = torch.Generator().manual_seed(0)
    a = DiscreteUniform(labels, seed=shared)
    b = DiscreteUniform(labels, seed=shared)
    first = a.sample_prior(8)
    second = b.sample_prior(8)  # continues the same stream, so differs from a fresh copy
    fresh = DiscreteUniform(labels, seed=torch.Generator().manual_seed(0))
    assert torch.equal(fresh.sample_prior(8), first)
    assert not torch.equal(second, first)


def test_no_unseeded_random_call_in_the_sampling_code():
    import ast
    import inspect

    import cebra_data.distributions as package
    import cebra_data.single_session as loaders

    random_functions = {"rand", "randn", "randint", "randperm", "multinomial", "normal", "bernoulli", "poisson"}
    modules = [loaders] + [
        __import__(f"cebra_data.distributions.{name}", fromlist=["_"])
        for name in ("base", "continuous", "discrete", "index", "mixed", "registry")
    ]
    offenders = []
    for module in modules:
        tree = ast.parse(inspect.getsource(module))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                if node.value.id in {"random"} or (node.value.id == "np" and node.attr == "random"):
                    offenders.append(f"{module.__name__}:{node.lineno}")
                if node.value.id == "torch" and node.attr in {"manual_seed", "seed"}:
                    offenders.append(f"{module.__name__}:{node.lineno}")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr in random_functions and isinstance(node.func.value, ast.Name) \
                        and node.func.value.id == "torch":
                    if not any(keyword.arg == "generator" for keyword in node.keywords):
                        offenders.append(f"{module.__name__}:{node.lineno}")
    assert offenders == [], offenders
    assert package.__all__  # the package imports cleanly
