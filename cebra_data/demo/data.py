"""The demo's data: its configuration and the recordings it fits.

:func:`make_linear_track` simulates the default recordings, a rat on a 1.6 m
linear track; :func:`load_recordings` reads the user's own files instead.
Either way the result is a list of :class:`Recording` objects, one per session.

Example:
    >>> from cebra_data.demo.data import DemoConfig, make_linear_track
    >>> rat = make_linear_track(DemoConfig(num_samples=(300, 320, 340)))[1]
    >>> rat.name, rat.neural.shape, rat.continuous.shape, rat.discrete.shape
    ('rat 2', (320, 90), (320, 1), (320,))
"""

from __future__ import annotations

import dataclasses
import os
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

from cebra_data import Offset, TensorDataset, load_data
from cebra_data.demo.checks import check_float, check_int

__all__ = ["TRACK_LENGTH", "DemoConfig", "Recording", "make_linear_track", "load_recordings",
           "load_nwb_recording"]

TRACK_LENGTH = 1.6
"""Length of the synthetic linear track, in metres."""


@dataclasses.dataclass(frozen=True)
class DemoConfig:
    """Every size and hyper-parameter of the demo.

    The defaults are the command's: three sessions of 60, 90 and 120 neurons,
    300 training steps of 128 references per fit, the fits two at a time on
    two CPU cores (one torch thread each), the whole demo in well under a
    minute. Tests shrink ``num_samples`` and ``steps``.

    Attributes:
        seed: seeds the synthetic data, every model initialisation and every
            loader (each with its own derived seed).
        steps: training steps (batches) per fit.
        batch_size: references per batch (per session for multi-session fits).
        num_neurons: neurons of each synthetic session.
        num_samples: time steps of each synthetic session (25 ms bins).
        test_fraction: the final part of every recording held out for decoding.
        num_units: hidden channels of the encoder.
        output_dimension: dimension of the embedding (on the unit sphere).
        temperature: InfoNCE temperature.
        learning_rate: Adam learning rate.
        time_offset: ``time_offset`` of the loaders (time steps between a
            reference and its positive for ``"time"``, the lag of the empirical
            behaviour changes for ``"time_delta"``).
        neighbours: ``k`` of the kNN position decoder.
        bins: number of position bins for the consistency metric.
        device: torch device for models and data.
        single_session: which session the single-session fits use.
        threads: torch CPU threads while the demo runs (restored afterwards);
            ``None`` leaves torch's setting alone. One thread per fit is the
            fastest for this small model, and robust on a busy machine.
        jobs: fits that run at the same time, each in its own thread; ``None``
            runs one per available CPU core (divided by ``threads``; one when
            ``threads`` is ``None``). The table does not depend on it.
    """

    seed: int = 0
    steps: int = 300
    batch_size: int = 128
    num_neurons: Tuple[int, ...] = (60, 90, 120)
    num_samples: Tuple[int, ...] = (3000, 3600, 4200)
    test_fraction: float = 0.2
    num_units: int = 32
    output_dimension: int = 3
    temperature: float = 0.5
    learning_rate: float = 3e-3
    time_offset: int = 10
    neighbours: int = 15
    bins: int = 20
    device: str = "cpu"
    single_session: int = -1
    threads: Optional[int] = 1
    jobs: Optional[int] = None

    def __post_init__(self) -> None:
        check_int(self.seed, "seed", minimum=0)
        check_int(self.steps, "steps", minimum=1)
        check_int(self.batch_size, "batch_size", minimum=1)
        check_int(self.num_units, "num_units", minimum=1)
        check_int(self.output_dimension, "output_dimension", minimum=1)
        check_int(self.neighbours, "neighbours", minimum=1)
        check_int(self.bins, "bins", minimum=2)
        check_int(self.time_offset, "time_offset", minimum=1)
        check_float(self.temperature, "temperature", strictly_positive=True)
        check_float(self.learning_rate, "learning_rate", strictly_positive=True)
        if self.threads is not None:
            check_int(self.threads, "threads", minimum=1)
        if self.jobs is not None:
            check_int(self.jobs, "jobs", minimum=1)
        fraction = check_float(self.test_fraction, "test_fraction", strictly_positive=True)
        if fraction >= 1:
            raise ValueError(f"test_fraction should be in (0, 1), but got test_fraction={fraction}.")
        if len(self.num_neurons) != len(self.num_samples) or not self.num_neurons:
            raise ValueError(
                "num_neurons and num_samples should give one value per session, but got "
                f"{len(self.num_neurons)} and {len(self.num_samples)} values."
            )
        for value in (*self.num_neurons, *self.num_samples):
            check_int(value, "num_neurons/num_samples", minimum=1)


@dataclasses.dataclass
class Recording:
    """One session: neural activity and its behaviour labels.

    Attributes:
        neural: ``(N, neurons)`` float32 signal (spike counts for the synthetic data).
        continuous: ``(N, d)`` float32 continuous behaviour (position), or ``None``.
        discrete: ``(N,)`` int64 discrete behaviour (running direction), or ``None``.
        name: a short label for tables and figures.
    """

    neural: np.ndarray
    continuous: Optional[np.ndarray]
    discrete: Optional[np.ndarray]
    name: str

    def dataset(self, offset: Offset, device: str = "cpu") -> TensorDataset:
        """The recording as a :class:`~cebra_data.TensorDataset` with every label it has.

        Args:
            offset: the window the dataset serves (the model's ``get_offset()``).
            device: torch device of the dataset's tensors.

        Returns:
            A dataset of ``neural`` with ``continuous`` and ``discrete`` as
            its indices (those that are not ``None``).
        """
        return TensorDataset(self.neural, continuous=self.continuous, discrete=self.discrete,
                             offset=offset, device=device)


def _trajectory(rng: np.random.Generator, num_samples: int) -> Tuple[np.ndarray, np.ndarray]:
    """Back-and-forth runs on the track: position (m) and running direction (1 = outbound)."""
    position = np.empty(num_samples, dtype=np.float64)
    direction = np.empty(num_samples, dtype=np.int64)
    t, here, outbound = 0, 0.0, True
    while t < num_samples:
        pause = int(rng.integers(5, 25))  # licking at the reward site
        run = int(rng.integers(70, 140))  # one traversal, 1.75 to 3.5 s at 25 ms per bin
        stop = min(t + pause, num_samples)
        position[t:stop] = here
        direction[t:stop] = int(outbound)
        t = stop
        target = TRACK_LENGTH if outbound else 0.0
        phase = (1 - np.cos(np.pi * np.arange(1, run + 1) / run)) / 2
        stop = min(t + run, num_samples)
        position[t:stop] = here + (target - here) * phase[: stop - t]
        direction[t:stop] = int(outbound)
        t, here, outbound = stop, target, not outbound
    return position, direction


def _session(rng: np.random.Generator, num_neurons: int, num_samples: int, name: str) -> Recording:
    position, direction = _trajectory(rng, num_samples)
    # place fields: a centre, a width and a peak rate per neuron; a third of the
    # neurons remap (another centre) on the return run, the rest are modulated
    # by direction through a gain
    centre_out = rng.uniform(0, TRACK_LENGTH, num_neurons)
    remaps = rng.random(num_neurons) < 1 / 3
    centre_back = np.where(remaps, rng.uniform(0, TRACK_LENGTH, num_neurons), centre_out)
    width = rng.uniform(0.08, 0.2, num_neurons)
    peak = rng.uniform(0.3, 1.2, num_neurons)  # spikes per 25 ms bin
    gain_out = np.where(remaps, 1.0, rng.uniform(0.3, 1.0, num_neurons))
    gain_back = np.where(remaps, 1.0, 1.3 - gain_out)
    outbound = direction[:, None] == 1
    centre = np.where(outbound, centre_out, centre_back)
    gain = np.where(outbound, gain_out, gain_back)
    rate = 0.03 + peak * gain * np.exp(-0.5 * ((position[:, None] - centre) / width) ** 2)
    spikes = rng.poisson(rate).astype(np.float32)
    return Recording(spikes, position[:, None].astype(np.float32), direction, name)


def make_linear_track(config: Optional[DemoConfig] = None) -> List[Recording]:
    """Synthetic sessions of a rat running back and forth on a 1.6 m linear track.

    Each session has its own trajectory (runs of random duration with pauses at
    the ends) and its own neurons: place-cell-like tuning to position, modulated
    or remapped by running direction, with Poisson spike counts in 25 ms bins.
    Labels: ``continuous`` is the position in metres ``(N, 1)``, ``discrete``
    the running direction (1 outbound, 0 back).

    Args:
        config: sizes and seed (default :class:`DemoConfig`).

    Returns:
        One :class:`Recording` per entry of ``config.num_neurons``. The same
        seed gives the same arrays on every machine.
    """
    config = config or DemoConfig()
    children = np.random.SeedSequence(config.seed).spawn(len(config.num_neurons))
    return [
        _session(np.random.default_rng(child), neurons, samples, f"rat {i + 1}")
        for i, (child, neurons, samples) in enumerate(
            zip(children, config.num_neurons, config.num_samples)
        )
    ]


def load_recordings(
    neural: Sequence[Union[str, os.PathLike]],
    behavior: Sequence[Union[str, os.PathLike]],
    neural_key: Optional[str] = None,
    behavior_key: Optional[str] = None,
) -> List[Recording]:
    """Load one :class:`Recording` per pair of files through :func:`cebra_data.load_data`.

    The behaviour file's array becomes the discrete index if it holds integers
    in one column (e.g. trial types), else the continuous index (every column,
    as float32).

    Args:
        neural: one neural file per session (time steps x neurons).
        behavior: one behaviour file per neural file, of the same length.
        neural_key: the entry to read from every neural file (``None``: the
            one :func:`cebra_data.load_data` picks by default).
        behavior_key: the entry to read from every behaviour file.

    Returns:
        One :class:`Recording` per pair, named after its neural file.

    Raises:
        ValueError: for a different number of neural and behaviour files, for
            files of different lengths, or a neural array that is not 2-D.
        OSError, KeyError, TypeError: from :func:`cebra_data.load_data` for a
            missing, unreadable or non-numeric file or an unknown key.
    """
    if len(neural) != len(behavior):
        raise ValueError(
            f"Pass one --behavior file per --neural file, but got {len(neural)} neural and "
            f"{len(behavior)} behavior files."
        )
    recordings = []
    for i, (neural_path, behavior_path) in enumerate(zip(neural, behavior)):
        signal = np.asarray(load_data(neural_path, key=neural_key))
        labels = np.asarray(load_data(behavior_path, key=behavior_key))
        if signal.ndim != 2:
            raise ValueError(
                f"{neural_path} should hold a 2-D array (time steps, neurons), but holds shape "
                f"{signal.shape}."
            )
        if len(signal) != len(labels):
            raise ValueError(
                "Found input variables with inconsistent numbers of samples: "
                f"[{len(signal)}, {len(labels)}] ({neural_path} and {behavior_path})."
            )
        if labels.dtype.kind in "iub" and (labels.ndim == 1 or labels.shape[1] == 1):
            continuous, discrete = None, labels.reshape(-1).astype(np.int64)
        else:
            continuous = labels.reshape(len(labels), -1).astype(np.float32)
            discrete = None
        recordings.append(
            Recording(signal.astype(np.float32, copy=False), continuous, discrete,
                      os.path.basename(os.fspath(neural_path)) or f"session {i + 1}")
        )
    return recordings


def load_nwb_recording(
    source: Union[str, os.PathLike],
    neural: str,
    behavior: Optional[Sequence[str]] = None,
    discrete: Optional[str] = None,
    *,
    bin_size: Optional[float] = None,
    trials: Optional[str] = None,
) -> Recording:
    """One :class:`Recording` from an NWB file or URL, through ``TensorDataset.from_nwb``.

    The behaviour is put on the neural clock as :meth:`~cebra_data.TensorDataset.from_nwb`
    does; the time steps it excludes (no behaviour there) are left out, so the demo's fits,
    which know no trials or gaps, see only labelled steps (with ``trials``, only the steps
    inside the intervals).

    Args:
        source: the NWB file's path, or its ``http(s)://`` URL.
        neural: object path of the neural series, or ``"units"`` (with ``bin_size``).
        behavior: object paths of continuous behaviour series (columns concatenated).
        discrete: a series of integer labels or an interval column
            (``"intervals/trials/<column>"``).
        bin_size: seconds per spike-count bin, for ``neural="units"``.
        trials: an interval table; only the steps inside its intervals are used.

    Returns:
        The recording, named after the file (the last part of a URL's path).

    Raises:
        ValueError: neither ``behavior`` nor ``discrete`` (the table scores how well they
            decode), or what :meth:`~cebra_data.TensorDataset.from_nwb` raises.
    """
    behavior = list(behavior) if behavior else []
    if not behavior and discrete is None:
        raise ValueError(
            "--nwb needs --behavior and/or --discrete: the demo's table scores how well the "
            "embedding decodes them."
        )
    dataset = TensorDataset.from_nwb(source, neural=neural, continuous=behavior or None,
                                     discrete=discrete, bin_size=bin_size, trials=trials)
    keep = np.ones(len(dataset), dtype=bool)
    continuous = None
    if behavior:
        continuous = dataset.continuous_index.cpu().numpy().astype(np.float32)
        keep = ~np.isnan(continuous).any(axis=1)
        continuous = continuous[keep]
    labels = dataset.discrete_index.cpu().numpy()[keep] if discrete is not None else None
    signal = dataset.neural.cpu().numpy()[keep].astype(np.float32, copy=False)
    name = os.path.basename(os.fspath(source).split("?", 1)[0].rstrip("/")) or "NWB session"
    return Recording(signal, continuous, labels, name)
