"""Loader streams recorded before the architecture refactor (issue 10), and how to rebuild them.

``python tests/_streams.py`` (from the repository root) rewrites
``tests/data/recorded_streams.npz``; do that only when a change to a stream is
deliberate and documented. ``tests/test_recorded_streams.py`` checks that every
loader still draws exactly these indices.
"""

from __future__ import annotations

import pathlib
from typing import Callable, Dict, List

import numpy as np
import torch

import cebra_data

PATH = pathlib.Path(__file__).parent / "data" / "recorded_streams.npz"
STEPS = 3
BATCH = 16


def _generator() -> torch.Generator:
    return torch.Generator().manual_seed(1234)


def _single(offset=(2, 3)) -> cebra_data.TensorDataset:
    g = _generator()
    n = 300
    return cebra_data.TensorDataset(
        torch.randn(n, 6, generator=g),
        continuous=torch.rand(n, 2, generator=g),
        discrete=torch.arange(n) % 3,
        offset=offset,
    )


def _sessions(kind=cebra_data.DatasetCollection):
    g = _generator()
    sessions = [
        cebra_data.TensorDataset(
            torch.randn(n, c, generator=g),
            continuous=torch.rand(n, 2, generator=g),
            discrete=torch.arange(n) % 3,
            offset=(2, 3),
        )
        for n, c in [(200, 5), (260, 7), (230, 4)]
    ]
    return kind(sessions)


def _contrastive():
    g = _generator()
    ds = cebra_data.DatasetxCEBRA(torch.randn(250, 6, generator=g), position=torch.rand(250, 2, generator=g))
    ds.offset = (2, 3)
    loader = cebra_data.ContrastiveMultiObjectiveLoader(ds, num_steps=STEPS, batch_size=BATCH, seed=5)
    loader.add_config({"distribution": "time", "kwargs": {"time_offset": 4}})
    loader.add_config({"distribution": "time_delta", "kwargs": {"time_delta": 3, "label_name": "position"}})
    loader.add_config({"distribution": "delta_normal", "kwargs": {"delta": 0.2, "label_name": "position"}})
    return loader


def _supervised():
    g = _generator()
    ds = cebra_data.DatasetxCEBRA(torch.randn(250, 6, generator=g), speed=torch.rand(250, 1, generator=g))
    return cebra_data.SupervisedMultiObjectiveLoader(
        ds, num_steps=STEPS, batch_size=BATCH, seed=6, labels=["speed"]
    )


C = cebra_data
LOADERS: Dict[str, Callable[[], cebra_data.Loader]] = {
    "discrete_empirical": lambda: C.DiscreteDataLoader(_single(), num_steps=STEPS, batch_size=BATCH, prior="empirical", seed=1),
    "discrete_uniform": lambda: C.DiscreteDataLoader(_single(), num_steps=STEPS, batch_size=BATCH, prior="uniform", seed=2),
    "continuous_time": lambda: C.ContinuousDataLoader(_single(), num_steps=STEPS, batch_size=BATCH, conditional="time", time_offset=4, seed=3),
    "continuous_time_delta": lambda: C.ContinuousDataLoader(_single(), num_steps=STEPS, batch_size=BATCH, conditional="time_delta", time_offset=3, seed=4),
    "continuous_delta_normal": lambda: C.ContinuousDataLoader(_single(), num_steps=STEPS, batch_size=BATCH, conditional="delta_normal", delta=0.2, seed=5),
    "mixed": lambda: C.MixedDataLoader(_single(), num_steps=STEPS, batch_size=BATCH, time_offset=2, seed=6),
    "mixed_empirical": lambda: C.MixedDataLoader(_single(), num_steps=STEPS, batch_size=BATCH, prior="empirical", seed=7),
    "hybrid": lambda: C.HybridDataLoader(_single(), num_steps=STEPS, batch_size=BATCH, time_offset=3, seed=8),
    "full": lambda: C.FullDataLoader(_single(), num_steps=STEPS, conditional="time", time_offset=3, seed=9),
    "multi_session": lambda: C.MultiSessionLoader(_sessions(), num_steps=STEPS, batch_size=BATCH, time_offset=3, seed=10),
    "continuous_multi_time_delta": lambda: C.ContinuousMultiSessionDataLoader(_sessions(), num_steps=STEPS, batch_size=BATCH, time_offset=2, seed=11),
    "continuous_multi_time": lambda: C.ContinuousMultiSessionDataLoader(_sessions(), num_steps=STEPS, batch_size=BATCH, conditional="time", time_offset=2, seed=12),
    "discrete_multi": lambda: C.DiscreteMultiSessionDataLoader(_sessions(), num_steps=STEPS, batch_size=BATCH, seed=13),
    "mixed_multi": lambda: C.MixedMultiSessionDataLoader(_sessions(), num_steps=STEPS, batch_size=BATCH, time_offset=2, seed=14),
    "unified": lambda: C.UnifiedLoader(_sessions(C.UnifiedDataset), num_steps=STEPS, batch_size=BATCH, time_offset=2, seed=15),
    "contrastive_multiobjective": _contrastive,
    "supervised_multiobjective": _supervised,
}


def _flatten(prefix: str, value, out: Dict[str, np.ndarray]) -> None:
    if value is None:
        return
    if isinstance(value, (list, tuple)):
        for i, part in enumerate(value):
            _flatten(f"{prefix}.{i}", part, out)
        return
    out[prefix] = np.asarray(torch.as_tensor(value).cpu())


def stream(name: str) -> Dict[str, np.ndarray]:
    """The first ``STEPS`` batch indices of loader ``name``, flattened to named arrays."""
    loader = LOADERS[name]()
    out: Dict[str, np.ndarray] = {}
    for step in range(STEPS):
        if name == "full":
            index = loader.get_indices()
        else:
            index = loader.get_indices(BATCH)
        for field in ("reference", "positive", "negative", "index", "index_reversed"):
            _flatten(f"{name}/{step}/{field}", getattr(index, field, None), out)
    return out


def names() -> List[str]:
    return list(LOADERS)


if __name__ == "__main__":
    recorded: Dict[str, np.ndarray] = {}
    for loader_name in LOADERS:
        recorded.update(stream(loader_name))
    np.savez_compressed(PATH, **recorded)
    print(f"wrote {len(recorded)} arrays to {PATH}")
