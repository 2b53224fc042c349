"""A real-shaped NWB session written with pynwb: sorted units, trials, position, and (optionally)
a large chunked ElectricalSeries that a reader of the behaviour must not download.

Used by ``tests/io/test_nwb_remote.py``, ``tests/io/test_nwb_intervals.py`` and
``benchmarks/bench_remote.py``.
"""

from __future__ import annotations

import datetime
from typing import Any

import numpy as np

POS = "processing/behavior/Position/position"
EPHYS = "acquisition/ElectricalSeries"
TRIALS = "intervals/trials"
EPOCHS = "intervals/epochs"
#: Trials: 1.0 .. 2.5 s, 3.0 .. 4.5 s, ... (1.5 s each, 0.5 s between them).
N_TRIALS = 8
STIMULI = ("left", "right", "left", "none", "right", "left", "none", "right")
CORRECT = (True, False, True, True, False, True, False, True)
CHOICE = (2, 1, 2, 0, 1, 2, 0, 1)


def trial_times(n: int = N_TRIALS) -> tuple[np.ndarray, np.ndarray]:
    start = 1.0 + 2.0 * np.arange(n)
    return start, start + 1.5


def write_session(path: Any, *, seed: int = 0, ephys_mb: float = 0.0, nan_spikes: bool = False,
                  overlapping_epochs: bool = False) -> dict[str, Any]:
    """Write the session; returns the truth (spikes, position, trial columns).

    ``ephys_mb`` adds an int16 ElectricalSeries of about that many MB (64 channels, chunks of
    8192 samples = 1 MB) before the behaviour, as an acquisition system writes it.
    """
    import pynwb
    from hdmf.backends.hdf5 import H5DataIO
    from pynwb.behavior import Position, SpatialSeries
    from pynwb.ecephys import ElectricalSeries

    rng = np.random.default_rng(seed)
    nwb = pynwb.NWBFile(session_description="real-shaped session", identifier=f"session-{seed}",
                        session_start_time=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc))
    duration = 2.0 * N_TRIALS + 1.0
    spikes = [np.sort(rng.uniform(0.0, duration, size=n)) for n in (120, 45, 80, 200)]
    if nan_spikes:
        spikes[1] = spikes[1].copy()
        spikes[1][[3, 7]] = np.nan
    nwb.add_unit_column("quality", "curation label")
    for unit_id, times, quality in zip((2, 5, 8, 13), spikes, ("good", "mua", "good", "good")):
        nwb.add_unit(spike_times=times, id=unit_id, quality=quality)
    nwb.add_trial_column("stimulus", "cue side")
    nwb.add_trial_column("correct", "whether the choice was right")
    nwb.add_trial_column("choice", "lick port")
    start, stop = trial_times()
    for i in range(N_TRIALS):
        nwb.add_trial(start_time=start[i], stop_time=stop[i], stimulus=STIMULI[i],
                      correct=CORRECT[i], choice=CHOICE[i])
    nwb.add_epoch(start_time=0.0, stop_time=8.0, tags=["first half"])
    nwb.add_epoch(start_time=7.0 if overlapping_epochs else 8.0, stop_time=duration,
                  tags=["second half"])
    if ephys_mb:
        device = nwb.create_device(name="probe")
        group = nwb.create_electrode_group("shank", description="shank 0", location="CA1",
                                           device=device)
        for _ in range(64):
            nwb.add_electrode(group=group, location="CA1")
        region = nwb.create_electrode_table_region(list(range(64)), "all electrodes")
        samples = int(ephys_mb * 1e6) // (64 * 2)
        voltage = rng.integers(-2000, 2000, size=(samples, 64), dtype=np.int16)
        nwb.add_acquisition(ElectricalSeries(
            name="ElectricalSeries", data=H5DataIO(voltage, chunks=(8192, 64)), electrodes=region,
            rate=30_000.0, starting_time=0.0))
    behavior = nwb.create_processing_module("behavior", "tracked position")
    position = np.cumsum(rng.normal(scale=0.01, size=(int(duration * 50), 2)), axis=0)
    behavior.add(Position(spatial_series=SpatialSeries(
        name="position", data=position, reference_frame="arena corner", rate=50.0,
        starting_time=0.0)))
    with pynwb.NWBHDF5IO(path, "w") as io:
        io.write(nwb)
    return {"spikes": spikes, "position": position}
