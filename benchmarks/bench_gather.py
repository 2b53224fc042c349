"""The cost of one batch's windows against its floor: one ``index_select`` of the windows' rows.

A batch of the ``time`` loader (``--batch-size`` references, positives and negatives,
``Offset(5, 5)``, ``--neurons`` neurons, ``--samples`` time steps) needs ``3 x batch`` windows
of ``len(offset)`` rows each. The floor is one ``neural.index_select(0, rows)`` of those
``3 x batch x len(offset)`` rows (row order, each row ``neurons`` contiguous floats; the
row indices are computed beforehand and not timed). Timed against it, in one process,
alternating call after call, medians of the process's CPU time with one torch thread:

* ``dataset[index]``: :class:`cebra_data.TensorDataset` windows of the ``3 x batch`` indices;
* ``load_batch``: :meth:`cebra_data.TensorDataset.load_batch` of a ``BatchIndex``;
* ``iterate``: one step of iterating the loader (``get_indices`` and ``load_batch``);
* ``unfold gather (before)``: the previous gather, a contiguous ``(batch, neurons, window)``
  copy through an ``unfold`` view (``neural.unfold(0, L, 1)[start]``);
* ``CEBRA load_batch``: ``cebra.data.TensorDataset.load_batch`` (CEBRA 0.6.1) of the same
  indices, when cebra is installed.

With ``--model`` it also times one training step of CEBRA's ``offset10-model`` (three forward
passes, backward, Adam) on the windows as cebra_data returns them (a transposed view of the
row gather, as ``cebra.data`` returns them) and on the same windows made contiguous: the
layout the model is given does not change its step time.

Run: ``python benchmarks/bench_gather.py [--samples N] [--neurons N] [--batch-size N]
[--repeats N] [--model]``. The numbers depend on the machine and its load.

Example:
    >>> times = measure(num_samples=1000, num_neurons=8, batch_size=16, repeats=3)
    >>> sorted(times)[:3]
    ['dataset[index]', 'floor', 'iterate']
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from typing import Callable, Dict, Optional

import torch

import cebra_data

CLOCK: Callable[[], float] = time.process_time


def _cebra() -> Optional[object]:
    try:
        import cebra.data
    except ImportError:  # pragma: no cover - depends on the environment
        return None
    return cebra


def _interleaved(calls: Dict[str, Callable[[int], object]], repeats: int) -> Dict[str, float]:
    """Median time of each call; call ``k`` gets argument ``k`` (a fresh batch), rotated order."""
    keys = list(calls)
    times: Dict[str, list] = {key: [] for key in keys}
    for call in calls.values():
        call(0)
    for repeat in range(repeats):
        shift = repeat % len(keys)
        for key in keys[shift:] + keys[:shift]:
            begin = CLOCK()
            calls[key](repeat)
            times[key].append(CLOCK() - begin)
    return {key: statistics.median(values) for key, values in times.items()}


def measure(num_samples: int = 200_000, num_neurons: int = 120, batch_size: int = 512,
            repeats: int = 200, seed: int = 0) -> Dict[str, float]:
    """Median seconds of each way to get a batch's windows (see the module docstring).

    Every timed call reads a batch of its own, drawn beforehand by the loader, so no call
    finds its rows in the CPU cache because another one has just read them.
    """
    generator = torch.Generator().manual_seed(seed)
    neural = torch.randn(num_samples, num_neurons, generator=generator)
    time_index = torch.arange(num_samples, dtype=torch.float32)
    offset = cebra_data.Offset(5, 5)
    dataset = cebra_data.TensorDataset(neural, continuous=time_index, offset=offset)
    loader = cebra_data.ContinuousDataLoader(dataset, num_steps=2**62, batch_size=batch_size,
                                             conditional="time", seed=seed)
    stream = iter(loader)
    names = ["floor", "dataset[index]", "load_batch", "unfold gather (before)", "CEBRA load_batch"]
    batches = {name: [loader.get_indices(batch_size) for _ in range(repeats)] for name in names}
    flat = {name: [torch.cat([b.reference, b.positive, b.negative]) for b in batches[name]]
            for name in names}
    steps = torch.arange(len(offset))
    rows = [((index - offset.left)[:, None] + steps).flatten() for index in flat["floor"]]
    calls: Dict[str, Callable[[int], object]] = {
        "floor": lambda k: neural.index_select(0, rows[k]),
        "dataset[index]": lambda k: dataset[flat["dataset[index]"][k]],
        "load_batch": lambda k: dataset.load_batch(batches["load_batch"][k]),
        "iterate": lambda k: next(stream),
        "unfold gather (before)": lambda k: neural.unfold(0, len(offset), 1)[
            flat["unfold gather (before)"][k] - offset.left],
    }
    cebra = _cebra()
    if cebra is not None:
        theirs = cebra.data.TensorDataset(neural, continuous=time_index,
                                          offset=cebra.data.Offset(offset.left, offset.right))
        calls["CEBRA load_batch"] = lambda k: theirs.load_batch(batches["CEBRA load_batch"][k])
    return _interleaved(calls, repeats)


def model_steps(num_samples: int = 200_000, num_neurons: int = 120, batch_size: int = 512,
                repeats: int = 30, seed: int = 0) -> Dict[str, float]:
    """Median seconds of one training step of CEBRA's ``offset10-model`` on each window layout."""
    import cebra.models  # only here: CEBRA is an optional dependency of the benchmarks

    generator = torch.Generator().manual_seed(seed)
    neural = torch.randn(num_samples, num_neurons, generator=generator)
    dataset = cebra_data.TensorDataset(neural, continuous=torch.arange(num_samples), offset=(5, 5))
    model = cebra.models.init("offset10-model", num_neurons=num_neurons, num_units=32, num_output=8)
    optimizer = torch.optim.Adam(model.parameters())
    flat = torch.randint(5, num_samples - 5, (3 * batch_size,), generator=generator)

    def step(contiguous: bool) -> None:
        windows = dataset[flat]
        if contiguous:
            windows = windows.contiguous()
        optimizer.zero_grad()
        loss = sum(model(part).square().mean() for part in windows.split(batch_size))
        loss.backward()
        optimizer.step()

    return _interleaved({"view (cebra_data, CEBRA)": lambda k: step(False),
                         "contiguous copy": lambda k: step(True)}, repeats)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=200_000)
    parser.add_argument("--neurons", type=int, default=120)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--model", action="store_true", help="also time a model step on both layouts")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"torch {torch.__version__}, 1 torch thread, load average {os.getloadavg()[0]:.1f}")
    print(f"time loader, batch {args.batch_size}, Offset(5, 5), {args.neurons} neurons, "
          f"N = {args.samples}; medians of {args.repeats} interleaved calls (CPU time)")
    times = measure(args.samples, args.neurons, args.batch_size, args.repeats)
    floor = times["floor"]
    for key, value in times.items():
        print(f"  {key:24s} {value * 1e3:8.3f} ms   {value / floor:5.2f}x floor")
    if args.model:
        steps = model_steps(args.samples, args.neurons, args.batch_size)
        print("one training step of offset10-model (batch of 3 x "
              f"{args.batch_size}), medians of 30 interleaved steps:")
        for key, value in steps.items():
            print(f"  {key:24s} {value * 1e3:8.2f} ms")
    print(f"load average after the run {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
