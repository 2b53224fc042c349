"""Loaders in torch DataLoader workers and across torch.distributed ranks.

Every loader is an IterableDataset: the ``num_steps`` batches are split among
workers and ranks, each shard drawing its own stream derived from (seed, shard),
so no batch is drawn twice and the same seed gives the same batches.
"""

from __future__ import annotations

import os
import pathlib
import socket
import time

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing

import cebra_data

N = 400
STEPS = 6
BATCH = 32


def _dataset() -> cebra_data.TensorDataset:
    # neural[t, 0] == t: a window's first value names the time step it starts at
    g = torch.Generator().manual_seed(0)
    neural = torch.cat([torch.arange(N, dtype=torch.float32)[:, None], torch.randn(N, 3, generator=g)], 1)
    return cebra_data.TensorDataset(neural, continuous=torch.rand(N, 2, generator=g), offset=(2, 3))


def _loader(seed=7, **kwargs) -> cebra_data.ContinuousDataLoader:
    return cebra_data.ContinuousDataLoader(_dataset(), num_steps=STEPS, batch_size=BATCH,
                                           conditional="time_delta", seed=seed, **kwargs)


def _starts(batch) -> tuple:
    """The time steps of a batch's reference windows, as a hashable key."""
    return tuple((batch.reference[:, 0, 0] + 2).long().tolist())


def _run(loader, workers: int, context=None) -> list:
    data = torch.utils.data.DataLoader(loader, batch_size=None, num_workers=workers,
                                       multiprocessing_context=context)
    return [_starts(batch) for batch in data]


def test_loaders_are_iterable_datasets():
    assert isinstance(_loader(), torch.utils.data.IterableDataset)


@pytest.mark.parametrize("workers", [1, 2])
def test_workers_split_the_steps_without_repeating_a_batch(workers):
    batches = _run(_loader(), workers)
    assert len(batches) == STEPS  # exactly num_steps in total, not num_steps per worker
    assert len(set(batches)) == STEPS  # no batch drawn twice
    assert batches == _run(_loader(), workers)  # the same seed and W: the same batches


def test_one_process_keeps_the_loaders_own_stream():
    # outside workers and ranks, iterating is the loader's plain stream (unchanged by sharding)
    assert _run(_loader(), 0) == [_starts(b) for b in _loader()]


def test_spawned_workers_with_the_default_sharing_strategy():
    assert torch.multiprocessing.get_sharing_strategy() in torch.multiprocessing.get_all_sharing_strategies()
    batches = _run(_loader(), 2, context="spawn")
    assert len(batches) == STEPS and len(set(batches)) == STEPS
    assert batches == _run(_loader(), 2)  # spawn and fork draw the same stream


def test_set_epoch_gives_each_epoch_its_own_reproducible_stream():
    loader = _loader()
    loader.set_epoch(0)
    epoch0 = _run(loader, 2)
    loader.set_epoch(1)
    epoch1 = _run(loader, 2)
    loader.set_epoch(0)
    assert _run(loader, 2) == epoch0
    assert not set(epoch0) & set(epoch1)


@pytest.mark.parametrize("epoch", [2**63, 2**70, -1])
def test_set_epoch_out_of_range_names_epoch_and_the_range(epoch):
    # 2**63 reached the shared int64 slot and failed there ("Overflow when unpacking long long")
    with pytest.raises(ValueError, match=rf"epoch should be an integer in \[0, 2\*\*63 - 1\], but got epoch={epoch}\."):
        _loader().set_epoch(epoch)
    with pytest.raises(ValueError, match=r"epoch should be an integer in \[0, 2\*\*63 - 1\]"):
        cebra_data.seeding.SharedEpoch().set(epoch)


@pytest.mark.parametrize("epoch", [True, 1.0, "1", None])
def test_set_epoch_refuses_non_integers(epoch):
    with pytest.raises(TypeError, match=f"epoch should be an integer, but got epoch={epoch!r} of type"):
        _loader().set_epoch(epoch)
    with pytest.raises(TypeError, match=f"epoch should be an integer, but got epoch={epoch!r} of type"):
        cebra_data.seeding.SharedEpoch().set(epoch)


def test_set_epoch_accepts_the_largest_epoch():
    loader = _loader()
    loader.set_epoch(2**63 - 1)
    assert loader._epoch.get() == 2**63 - 1
    assert len(list(loader)) == STEPS


def test_multi_session_and_multiobjective_loaders_shard_too():
    g = torch.Generator().manual_seed(1)
    sessions = [cebra_data.TensorDataset(torch.randn(n, 4, generator=g), continuous=torch.rand(n, 2, generator=g))
                for n in (200, 260)]
    multi = cebra_data.ContinuousMultiSessionDataLoader(cebra_data.DatasetCollection(sessions), num_steps=4,
                                                        batch_size=16, seed=3)
    data = torch.utils.data.DataLoader(multi, batch_size=None, num_workers=2)
    keys = [tuple(tuple(b.reference[:, 0, 0].tolist()) for b in batches) for batches in data]
    assert len(keys) == 4 and len(set(keys)) == 4
    ds = cebra_data.DatasetxCEBRA(torch.randn(300, 4, generator=g), position=torch.rand(300, 2, generator=g))
    contrastive = cebra_data.ContrastiveMultiObjectiveLoader(ds, num_steps=4, batch_size=16, seed=3)
    contrastive.add_config({"distribution": "time", "kwargs": {"time_offset": 2}})
    data = torch.utils.data.DataLoader(contrastive, batch_size=None, num_workers=2)
    keys = [tuple(b.reference.flatten()[:8].tolist()) for b in data]
    assert len(keys) == 4 and len(set(keys)) == 4


def test_explicit_rank_and_world_size():
    first, second = _loader(rank=0, world_size=2), _loader(rank=1, world_size=2)
    a, b = [_starts(x) for x in first], [_starts(x) for x in second]
    assert len(a) == len(b) == STEPS // 2 and not set(a) & set(b)
    assert a == [_starts(x) for x in _loader(rank=0, world_size=2)]
    with pytest.raises(ValueError, match="rank and world_size go together"):
        _loader(rank=0)
    with pytest.raises(ValueError, match="rank should be in 0 .. world_size - 1 = 1"):
        _loader(rank=2, world_size=2)


def test_full_data_loader_shards_are_disjoint_and_cover_every_reference():
    full = [cebra_data.FullDataLoader(_dataset(), num_steps=1, conditional="time", seed=0,
                                      rank=r, world_size=3).get_indices() for r in range(3)]
    every = cebra_data.FullDataLoader(_dataset(), num_steps=1, conditional="time", seed=0).get_indices()
    shards = [set(index.reference.tolist()) for index in full]
    assert sum(len(s) for s in shards) == len(every.reference)
    assert set().union(*shards) == set(every.reference.tolist())
    assert max(len(s) for s in shards) - min(len(s) for s in shards) <= 1
    for index in full:  # negatives are a permutation of the rank's own references
        assert sorted(index.negative.tolist()) == sorted(index.reference.tolist())


# -- two real ranks: gloo on 127.0.0.1, started by torch.multiprocessing.spawn -----------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rank_main(rank: int, world_size: int, port: int, out: str) -> None:
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world_size, timeout=__import__("datetime").timedelta(seconds=60))
    try:
        batches = [_starts(b) for b in _loader()]
        full = cebra_data.FullDataLoader(_dataset(), num_steps=1, conditional="time", seed=0).get_indices()
        torch.save({"batches": batches, "full": full.reference.tolist()}, os.path.join(out, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


def test_two_gloo_ranks_draw_different_reproducible_batches(tmp_path: pathlib.Path):
    results = []
    for run in range(2):
        out = tmp_path / f"run{run}"
        out.mkdir()
        context = torch.multiprocessing.spawn(_rank_main, args=(2, _free_port(), str(out)), nprocs=2,
                                              join=False)
        deadline = time.monotonic() + 120
        while not context.join(timeout=1):
            if time.monotonic() > deadline:
                for process in context.processes:
                    process.kill()
                pytest.fail("the two gloo ranks did not finish within 120 s")
        results.append([torch.load(out / f"rank{r}.pt") for r in range(2)])
    first, second = results
    assert first == second  # the same seed: the same batches on every run
    a, b = first[0]["batches"], first[1]["batches"]
    assert len(a) == len(b) == STEPS // 2 and not set(a) & set(b)
    every = cebra_data.FullDataLoader(_dataset(), num_steps=1, conditional="time", seed=0).get_indices()
    full0, full1 = set(first[0]["full"]), set(first[1]["full"])
    assert not full0 & full1 and full0 | full1 == set(every.reference.tolist())


@pytest.mark.parametrize("context", ["fork", "spawn"])
def test_set_epoch_reaches_persistent_workers(context):
    # persistent workers keep their copy of the loader from one epoch to the next: the
    # epoch must reach them anyway (it lives in shared memory), or every epoch repeats
    loader = _loader()
    data = torch.utils.data.DataLoader(loader, batch_size=None, num_workers=2,
                                       persistent_workers=True, multiprocessing_context=context)
    persistent = []
    for epoch in range(3):
        loader.set_epoch(epoch)
        persistent.append(sorted(_starts(batch) for batch in data))
    assert len({tuple(e) for e in persistent}) == 3  # three epochs, three streams
    fresh = []
    for epoch in range(3):  # workers started anew for each epoch: the same streams
        loader = _loader()
        loader.set_epoch(epoch)
        fresh.append(sorted(_run(loader, 2)))
    assert persistent == fresh
