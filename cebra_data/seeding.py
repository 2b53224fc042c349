"""Seeding: the one place where random generators are made (layer L0).

Every random draw in :mod:`cebra_data` goes through a ``torch.Generator`` that
an object owns, created by :func:`as_generator`. Nothing reads or writes a
global random state (``torch.manual_seed``, ``np.random``, ``random``). A
component that creates sub-components (a loader creating distributions, a
distribution creating a prior) gives each of them a seed drawn from its own
generator with :func:`derive_seed`, so one seed fixes the whole tree and the
order of construction fixes which child gets which stream.

Generators always live on the CPU: random numbers are drawn on the CPU and the
resulting indices moved to the device where they are used. Drawing a few
thousand integers per batch costs microseconds, and the same seed then gives
the same indices on every device.

These names are also importable from :mod:`cebra_data.distributions.base`,
where CEBRA keeps ``HasGenerator``.
"""

from __future__ import annotations

import weakref
from typing import Optional, Tuple, Union

import numpy as np
import torch

from cebra_data.device import DeviceLike, HasDevice

__all__ = ["SeedLike", "as_generator", "derive_seed", "spawn_generator", "stream_seed", "HasGenerator"]

#: What a ``seed`` argument accepts: an integer, ``None`` (fresh entropy) or a generator.
SeedLike = Union[int, None, torch.Generator]

_SEED_HIGH = 2**63 - 1

#: torch's CPU generator (a Mersenne Twister) keeps the lowest 32 bits of the seed it is
#: given: ``manual_seed(s)`` and ``manual_seed(s + 2**32)`` give the same stream. Seeds below
#: this are used as they are; larger ones are hashed to 32 bits first (see :func:`as_generator`).
TORCH_SEED_LIMIT = 2**32


def _torch_seed(seed: int) -> int:
    """The 32-bit seed torch's generator is given for ``seed`` (``seed`` itself below 2**32)."""
    if seed < TORCH_SEED_LIMIT:
        return seed
    return int(np.random.SeedSequence(seed).generate_state(1, np.uint32)[0])


def as_generator(seed: SeedLike = None) -> torch.Generator:
    """Turn ``seed`` into a ``torch.Generator``; the one place where generators are made.

    Args:
        seed: a non-negative integer below 2**64 (a new generator seeded with it),
            ``None`` (a new generator seeded from operating-system entropy, never
            from a global random state) or a ``torch.Generator`` (returned as is,
            so the caller and this object share one stream). torch's CPU generator
            keeps only 32 bits of a seed, so there are 2**32 distinct streams:
            seeds below 2**32 seed it as they are (``torch.manual_seed``'s
            streams), larger seeds are first hashed to 32 bits with numpy's
            ``SeedSequence``, so that ``seed`` and ``seed + 2**32`` do not silently
            give the same batches (two of the larger seeds share a stream with
            probability 2**-32).

    Returns:
        The generator.

    Raises:
        TypeError: if ``seed`` is neither an integer, ``None`` nor a generator.
        ValueError: if ``seed`` is a negative integer or too large for 64 bits.

    Example:
        >>> import torch
        >>> from cebra_data.seeding import as_generator
        >>> a, b = as_generator(7), as_generator(7)
        >>> bool((torch.rand(3, generator=a) == torch.rand(3, generator=b)).all())
        True
        >>> g = torch.Generator()
        >>> as_generator(g) is g
        True
    """
    if isinstance(seed, torch.Generator):
        return seed
    generator = torch.Generator()
    if seed is None:
        generator.seed()
        return generator
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(
            "seed should be a non-negative integer, None or a torch.Generator, but got "
            f"seed={seed!r} of type {type(seed).__name__}."
        )
    seed = int(seed)
    if not 0 <= seed <= 2**64 - 1:
        raise ValueError(
            f"seed should be an integer in [0, 2**64 - 1], but got seed={seed}."
        )
    generator.manual_seed(_torch_seed(seed))
    return generator


def derive_seed(generator: torch.Generator) -> int:
    """Draw a child seed (an integer in ``[0, 2**32)``, the seeds torch's generator tells apart).

    Use this to seed a sub-component: the child's stream is fixed by the
    parent's seed but independent of the parent's later draws.

    Example:
        >>> from cebra_data.seeding import as_generator, derive_seed
        >>> derive_seed(as_generator(1)) == derive_seed(as_generator(1))
        True
    """
    # the low 32 bits of a 63-bit draw: exactly the stream the full draw gave torch
    return int(torch.randint(0, _SEED_HIGH, (1,), generator=generator).item()) % TORCH_SEED_LIMIT


def spawn_generator(generator: torch.Generator) -> torch.Generator:
    """Return a new generator seeded with :func:`derive_seed` of ``generator``."""
    return as_generator(derive_seed(generator))


def stream_seed(seed: int, *keys: int) -> int:
    """A seed in ``[0, 2**32)`` derived from ``seed`` and integer ``keys`` (e.g. shard, epoch).

    Different keys give independent streams; the same ``seed`` and keys give the
    same seed in any process (numpy's ``SeedSequence`` hashing, no global state).

    Example:
        >>> from cebra_data.seeding import stream_seed
        >>> stream_seed(7, 0, 1) == stream_seed(7, 0, 1), stream_seed(7, 0, 1) == stream_seed(7, 1, 1)
        (True, False)
    """
    words = np.random.SeedSequence([int(seed), *(int(k) for k in keys)]).generate_state(2, np.uint64)
    return int(words[0] % np.uint64(_SEED_HIGH)) % TORCH_SEED_LIMIT


class HasGenerator(HasDevice):
    """Base for every object that draws random numbers.

    Owns a CPU ``torch.Generator`` made by :func:`as_generator` and offers
    the few draws the samplers need, each passing ``generator=`` explicitly and
    moving the result to :attr:`device`.

    Args:
        device: the device of the returned tensors.
        seed: see :func:`as_generator`.

    Example:
        >>> from cebra_data.seeding import HasGenerator
        >>> a, b = HasGenerator(seed=3), HasGenerator(seed=3)
        >>> bool((a.randint(0, 100, (5,)) == b.randint(0, 100, (5,))).all())
        True
    """

    def __init__(self, device: DeviceLike = "cpu", seed: SeedLike = None) -> None:
        HasDevice.__init__(self, device)
        self._seed = None if isinstance(seed, torch.Generator) else seed
        self._generator = as_generator(seed)

    @property
    def generator(self) -> torch.Generator:
        """The generator every draw of this object uses."""
        return self._generator

    @property
    def seed(self) -> Optional[int]:
        """The integer seed given at construction (``None`` for entropy or a shared generator)."""
        return self._seed

    def child_seed(self) -> int:
        """A seed for a sub-component, drawn from :attr:`generator`."""
        return derive_seed(self._generator)

    def randint(self, low: int, high: int, size: Tuple[int, ...]) -> torch.Tensor:
        """Integers uniform in ``[low, high)``, shape ``size``, on :attr:`device`."""
        out = torch.randint(low, high, size, generator=self._generator)
        return out.to(self.device)

    def randperm(self, n: int) -> torch.Tensor:
        """A uniformly random permutation of ``0 .. n - 1`` on :attr:`device`."""
        return torch.randperm(n, generator=self._generator).to(self.device)

    def randn(self, size: Tuple[int, ...], dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Standard normal numbers of shape ``size`` on :attr:`device`."""
        return torch.randn(size, generator=self._generator, dtype=dtype).to(self.device)

    def choice(self, candidates: torch.Tensor, num_samples: int) -> torch.Tensor:
        """Draw ``num_samples`` entries of ``candidates`` uniformly, with replacement."""
        pick = torch.randint(0, len(candidates), (num_samples,), generator=self._generator)
        # index_select, not candidates[pick]: the same values, several times faster on the CPU
        return candidates.index_select(0, pick.to(candidates.device))


__all__ += ["SharedEpoch"]


class SharedEpoch:
    """An epoch number in memory shared with ``DataLoader`` worker processes.

    A loader in ``DataLoader(loader, num_workers=W, persistent_workers=True)`` is copied
    into each worker once, when the workers start; a plain attribute set later in the
    main process (by ``set_epoch``) never reaches those copies. This holder keeps the
    number in a slot of a shared-memory tensor: forked workers map the same memory, and
    spawned ones receive it through torch's shared-memory pickling, so a
    :meth:`set` in the main process is what every worker :meth:`get` s at its next
    iteration. Slots come from pools of :data:`POOL_SIZE` (one shared segment each)
    and return to them when the holder is collected.

    Example:
        >>> from cebra_data.seeding import SharedEpoch
        >>> epoch = SharedEpoch()
        >>> epoch.get() is None
        True
        >>> epoch.set(3)
        >>> epoch.get()
        3
    """

    #: Slots per shared-memory pool.
    POOL_SIZE = 1024
    _pool: Optional[torch.Tensor] = None
    _free: "list[int]" = []

    def __init__(self) -> None:
        if not SharedEpoch._free:
            SharedEpoch._pool = torch.full((self.POOL_SIZE,), -1, dtype=torch.int64)
            SharedEpoch._pool.share_memory_()
            SharedEpoch._free = list(range(self.POOL_SIZE - 1, -1, -1))
        self._slots = SharedEpoch._pool
        self._index = SharedEpoch._free.pop()
        self._slots[self._index] = -1
        weakref.finalize(self, SharedEpoch._release, self._slots, self._index)

    @staticmethod
    def _release(slots: torch.Tensor, index: int) -> None:
        if slots is SharedEpoch._pool:  # slots of older pools go with their pool
            SharedEpoch._free.append(index)

    def get(self) -> Optional[int]:
        """The epoch last :meth:`set` in any process sharing it, or ``None`` if never set."""
        value = int(self._slots[self._index])
        return None if value < 0 else value

    #: The largest epoch a slot holds (a signed 64-bit integer).
    MAX_EPOCH = 2**63 - 1

    def set(self, epoch: int) -> None:
        """Set the epoch, an integer in ``[0, MAX_EPOCH]``, for every process sharing this holder.

        Raises:
            TypeError: for a value that is not an integer (``bool`` included).
            ValueError: for an integer outside ``[0, 2**63 - 1]``.
        """
        if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)):
            raise TypeError(f"epoch should be an integer, but got epoch={epoch!r} of type {type(epoch).__name__}.")
        if not 0 <= int(epoch) <= self.MAX_EPOCH:
            raise ValueError(f"epoch should be an integer in [0, 2**63 - 1], but got epoch={int(epoch)}.")
        self._slots[self._index] = int(epoch)
