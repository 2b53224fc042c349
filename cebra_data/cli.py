"""The ``cebra-data`` command line."""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

import numpy as np

__all__ = ["main"]


def _synthetic_session(seed: int, num_neurons: int, num_samples: int):
    """A rat running back and forth on a 1.6 m track, with place-cell-like neurons."""
    rng = np.random.default_rng(seed)
    t = np.arange(num_samples)
    position = 0.8 - 0.8 * np.cos(2 * np.pi * t / 400.0)
    direction = (np.gradient(position) >= 0).astype(np.int64)
    centres = rng.uniform(0, 1.6, size=num_neurons)
    rates = np.exp(-((position[:, None] - centres[None, :]) ** 2) / (2 * 0.1**2))
    spikes = rng.poisson(0.1 + 2.0 * rates).astype(np.float32)
    return spikes, position[:, None].astype(np.float32), direction


def _demo(args: argparse.Namespace) -> int:
    from cebra_data import DatasetCollection, TensorDataset

    sessions = []
    for i, (neurons, length) in enumerate(zip((60, 90, 120), (4000, 5000, 6000))):
        spikes, position, direction = _synthetic_session(args.seed + i, neurons, length)
        sessions.append(TensorDataset(spikes, continuous=position, discrete=direction))
    collection = DatasetCollection(sessions)
    print(f"Synthetic linear-track recording (seed {args.seed}):")
    print(repr(collection))
    for i, session in enumerate(collection.iter_sessions()):
        labels = session.discrete_index.bincount().tolist()
        print(f"  session {i}: {len(session)} steps, {session.input_dimension} neurons, "
              f"direction counts {labels}")
    return 0


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cebra-data",
        description="cebra_data: data layer for contrastive embedding of neural recordings.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    demo = sub.add_parser("demo", help="Run the end-to-end demo on built-in synthetic data.")
    demo.add_argument("--seed", type=int, default=0, help="Seed of the synthetic data (default 0).")
    demo.set_defaults(func=_demo)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of ``cebra-data``; returns the process exit code."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
