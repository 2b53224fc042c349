r"""Per-neuron quality from repeated trials: signal-to-noise ratio and split-half reliability.

When the same stimulus is shown several times, the part of a neuron's response
that repeats is *signal* and the part that differs between repeats is *noise*.
Both metrics here estimate how much of a neuron's variance is signal, per
neuron, from ``responses``: one array of shape ``(R, T, D)`` (repeats, time
bins, neurons) per stimulus. Stimuli may differ in length ``T_s`` and in the
number of repeats ``R_s``; all repeats of one stimulus have the same length.

Notation for one stimulus ``s`` and one neuron: ``r_k(t)`` is repeat ``k`` at
time bin ``t``, ``Var_t`` the population variance over the ``T_s`` time bins
(divisor ``T_s``), and ``rbar(t) = (1/R_s) * sum_k r_k(t)`` the mean over repeats.

Signal-to-noise ratio (Sahani & Linden, 2003, "How linear are auditory cortical
responses?", NIPS 15):

.. math::

    P_{TP} = \frac{1}{R_s} \sum_k \mathrm{Var}_t(r_k), \qquad
    P_Y = \mathrm{Var}_t(\bar r), \qquad
    SP_s = \frac{R_s P_Y - P_{TP}}{R_s - 1}, \qquad
    NP_s = P_{TP} - SP_s .

``SP`` is an unbiased estimate of the variance of the repeatable response and
``NP`` of the trial-to-trial noise variance. Over stimuli both are averaged with
weights ``T_s`` (the number of time bins), and ``SNR = SP / NP``. Stimuli with
``R_s < 2`` or ``T_s < 2`` do not enter. ``SP`` can come out slightly negative
for a neuron with no signal (the estimator is unbiased, not clipped), and so can
the SNR; NaN means that no stimulus has two repeats of two bins; ``inf`` means
zero noise.

Split-half reliability: the repeats of every stimulus are shuffled and cut into
two halves of ``h_s = floor(R_s / 2)`` repeats each (with an odd ``R_s``, one
repeat sits out of that split). The mean response of each half, concatenated
over stimuli along time, gives two time courses ``a`` and ``b`` per neuron;
``rho`` is their Pearson correlation. Averaged over ``num_splits`` random splits
(seeded), ``rho`` estimates the correlation between two half-sized averages; the
Spearman-Brown correction ``2 rho / (1 + rho)`` turns it into the reliability of
the average over all repeats (``spearman_brown=False`` returns ``rho`` itself).
Stimuli with ``R_s < 2`` do not enter. A neuron that is constant in a half has
an undefined correlation (NaN).

Both are fast (vectorised over neurons) and, as the tests show, recover the
ordering of synthetic neurons with known signal and noise levels.
"""

from __future__ import annotations

from typing import Any, Dict, Hashable, List, Mapping, Optional, Sequence, Union

import numpy as np
import torch

from cebra_data._validation import check_int, check_positive_int
from cebra_data.trials import trial_starts

__all__ = [
    "group_repeats",
    "signal_to_noise",
    "split_half_reliability",
    "neuron_quality",
]

Responses = Union[np.ndarray, torch.Tensor, Sequence[Any], Mapping[Hashable, Any]]


def _as_stimuli(responses: Responses) -> List[np.ndarray]:
    """A list of float64 ``(R, T, D)`` arrays, checked for shape, width and NaN."""
    if isinstance(responses, Mapping):
        items = list(responses.values())
    elif isinstance(responses, (np.ndarray, torch.Tensor)):
        items = [responses]
    elif isinstance(responses, (list, tuple)):
        items = list(responses)
    else:
        raise TypeError(
            "responses should be an array (repeats, time, neurons), or a list or dict of such "
            f"arrays (one per stimulus), but got {type(responses).__name__}."
        )
    if not items:
        raise ValueError("responses is empty; it needs at least one stimulus.")
    arrays = []
    for s, item in enumerate(items):
        if isinstance(item, torch.Tensor):
            item = item.detach().cpu().numpy()
        array = np.asarray(item, dtype=np.float64)
        if array.ndim != 3:
            raise ValueError(
                f"the responses to stimulus {s} should have shape (repeats, time, neurons), but got "
                f"shape {array.shape}."
            )
        if not np.all(np.isfinite(array)):
            raise ValueError(
                f"the responses to stimulus {s} contain NaN or infinite values; quality metrics "
                "need complete repeats (drop or impute the affected repeats first)."
            )
        arrays.append(array)
    widths = {a.shape[2] for a in arrays}
    if len(widths) > 1:
        raise ValueError(f"every stimulus should have the same number of neurons, but got {sorted(widths)}.")
    return arrays


def signal_to_noise(responses: Responses) -> np.ndarray:
    """Sahani-Linden signal-to-noise ratio ``SP / NP`` of every neuron.

    See the module docstring for the exact formula.

    Args:
        responses: ``(R, T, D)`` responses to one stimulus, or a list / dict
            of such arrays, one per stimulus.

    Returns:
        A float64 array ``(D,)``.

    Raises:
        ValueError: for a wrong shape, NaN values or differing neuron counts.

    Example:
        >>> import numpy as np
        >>> from cebra_data.preprocessing.quality import signal_to_noise
        >>> rng = np.random.default_rng(0)
        >>> signal = rng.normal(size=(1, 2000, 1))              # variance 1
        >>> noise = rng.normal(size=(10, 2000, 2)) * [1.0, 2.0]  # noise variance 1 and 4
        >>> np.round(signal_to_noise(signal + noise), 1)
        array([1. , 0.2])
    """
    arrays = _as_stimuli(responses)
    width = arrays[0].shape[2]
    signal = np.zeros(width)
    noise = np.zeros(width)
    weight = 0
    for array in arrays:
        repeats, length, _ = array.shape
        if repeats < 2 or length < 2:
            continue
        total_power = array.var(axis=1).mean(axis=0)
        power_of_mean = array.mean(axis=0).var(axis=0)
        sp = (repeats * power_of_mean - total_power) / (repeats - 1)
        signal += length * sp
        noise += length * (total_power - sp)
        weight += length
    if weight == 0:
        return np.full(width, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (signal / weight) / (noise / weight)


def split_half_reliability(
    responses: Responses,
    *,
    num_splits: int = 100,
    seed: Optional[int] = None,
    spearman_brown: bool = True,
) -> np.ndarray:
    """Split-half reliability of every neuron (Spearman-Brown corrected by default).

    See the module docstring for the exact procedure.

    Args:
        responses: ``(R, T, D)`` responses to one stimulus, or a list / dict
            of such arrays, one per stimulus.
        num_splits: the number of random half splits averaged.
        seed: seed of the splits (``numpy.random.default_rng``); ``None``
            draws fresh entropy from the operating system.
        spearman_brown: apply ``2 rho / (1 + rho)`` to the mean half-split
            correlation ``rho``.

    Returns:
        A float64 array ``(D,)``; NaN where no stimulus has two repeats or a
        half's mean response is constant.

    Example:
        >>> import numpy as np
        >>> from cebra_data.preprocessing.quality import split_half_reliability
        >>> rng = np.random.default_rng(0)
        >>> signal = rng.normal(size=(1, 500, 1))
        >>> noise = rng.normal(size=(8, 500, 2)) * [0.5, 5.0]
        >>> reliability = split_half_reliability(signal + noise, seed=0)
        >>> bool(reliability[0] > 0.9 > reliability[1])
        True
    """
    arrays = [a for a in _as_stimuli(responses)]
    width = arrays[0].shape[2]
    num_splits = check_positive_int(num_splits, "num_splits")
    if seed is not None:
        seed = check_int(seed, "seed", minimum=0)
    arrays = [a for a in arrays if a.shape[0] >= 2]
    if not arrays:
        return np.full(width, np.nan)
    rng = np.random.default_rng(seed)
    correlations = np.empty((num_splits, width))
    with np.errstate(divide="ignore", invalid="ignore"):
        for j in range(num_splits):
            first, second = [], []
            for array in arrays:
                half = array.shape[0] // 2
                order = rng.permutation(array.shape[0])
                first.append(array[order[:half]].mean(axis=0))
                second.append(array[order[half: 2 * half]].mean(axis=0))
            a = np.concatenate(first) - np.concatenate(first).mean(axis=0)
            b = np.concatenate(second) - np.concatenate(second).mean(axis=0)
            correlations[j] = (a * b).sum(axis=0) / np.sqrt((a * a).sum(axis=0) * (b * b).sum(axis=0))
        rho = correlations.mean(axis=0)
        return 2 * rho / (1 + rho) if spearman_brown else rho


def group_repeats(
    dataset: Any,
    stimulus_ids: Union[Sequence[Hashable], Mapping[int, Hashable]],
) -> Dict[Hashable, np.ndarray]:
    """Collect the repeats of every stimulus of a dataset with trials.

    Args:
        dataset: a single-session dataset with ``trial_ids`` and a ``neural``
            signal (e.g. built with :meth:`~cebra_data.TensorDataset.from_trials`).
        stimulus_ids: the stimulus of every trial, one entry per trial in time
            order, or a mapping from trial id to stimulus id (as in
            :func:`cebra_data.repeat_frame_labels`).

    Returns:
        ``{stimulus_id: responses}`` with ``responses`` of shape
        ``(repeats, T_s, D)`` (float64), stimuli in order of first appearance.

    Raises:
        ValueError: without trials, if repeats of one stimulus differ in
            length, or if a repeat has missing neural values.

    Example:
        >>> import numpy as np, cebra_data
        >>> trials = [np.zeros((20, 3)), np.zeros((30, 3)), np.ones((20, 3))]
        >>> ds = cebra_data.TensorDataset.from_trials(trials, discrete=[0, 1, 0])
        >>> {k: v.shape for k, v in cebra_data.quality.group_repeats(ds, ["a", "b", "a"]).items()}
        {'a': (2, 20, 3), 'b': (1, 30, 3)}
    """
    trial_ids = getattr(dataset, "trial_ids", None)
    if trial_ids is None:
        raise ValueError(
            "group_repeats needs a dataset with trial_ids (e.g. TensorDataset.from_trials); this "
            "dataset has none."
        )
    borders = trial_starts(trial_ids)
    order = trial_ids.detach().cpu().numpy()[borders[:-1]]
    if isinstance(stimulus_ids, Mapping):
        missing = [int(t) for t in order if int(t) not in stimulus_ids]
        if missing:
            raise ValueError(f"stimulus_ids has no entry for trial(s) {missing[:5]}.")
        per_trial = [stimulus_ids[int(t)] for t in order]
    else:
        per_trial = list(stimulus_ids)
        if len(per_trial) != order.size:
            raise ValueError(
                f"stimulus_ids should have one entry per trial ({order.size}), but got {len(per_trial)}."
            )
    neural = dataset.neural.detach().cpu().numpy()
    missing_rows = getattr(dataset, "neural_missing", None)
    missing_rows = None if missing_rows is None else missing_rows.detach().cpu().numpy()
    groups: Dict[Hashable, List[np.ndarray]] = {}
    lengths: Dict[Hashable, List[int]] = {}
    for k, stimulus in enumerate(per_trial):
        start, stop = int(borders[k]), int(borders[k + 1])
        if missing_rows is not None and missing_rows[start:stop].any():
            raise ValueError(
                f"trial {int(order[k])} (stimulus {stimulus!r}) has missing neural values; quality "
                "metrics need complete repeats."
            )
        groups.setdefault(stimulus, []).append(neural[start:stop])
        lengths.setdefault(stimulus, []).append(stop - start)
    for stimulus, values in lengths.items():
        if len(set(values)) > 1:
            raise ValueError(
                f"the repeats of stimulus {stimulus!r} have different lengths {values}; repeats must "
                "cover the same frames (cut them to a common length first)."
            )
    return {stimulus: np.stack(repeats).astype(np.float64) for stimulus, repeats in groups.items()}


def neuron_quality(
    dataset: Any,
    stimulus_ids: Union[Sequence[Hashable], Mapping[int, Hashable]],
    *,
    num_splits: int = 100,
    seed: Optional[int] = None,
) -> Dict[str, np.ndarray]:
    """Signal-to-noise ratio and split-half reliability of every neuron of a dataset.

    The result plugs into :meth:`~cebra_data.TensorDataset.with_neuron_meta`,
    after which :meth:`~cebra_data.TensorDataset.select_neurons` can use the
    scores as criteria.

    Args:
        dataset: a single-session dataset with trials (see :func:`group_repeats`).
        stimulus_ids: the stimulus of every trial (see :func:`group_repeats`).
        num_splits: random half splits for the reliability.
        seed: seed of the half splits.

    Returns:
        ``{"snr": (D,), "reliability": (D,)}``, float64 arrays.

    Example:
        >>> import numpy as np, cebra_data
        >>> rng = np.random.default_rng(0)
        >>> stimulus = rng.normal(size=(60, 1))
        >>> noise = np.array([0.3, 3.0])                # neuron 0 clean, neuron 1 noisy
        >>> trials = [stimulus + noise * rng.normal(size=(60, 2)) for _ in range(6)]
        >>> ds = cebra_data.TensorDataset.from_trials(trials, discrete=[0] * 6)
        >>> scores = cebra_data.quality.neuron_quality(ds, ["movie"] * 6, seed=0)
        >>> ds = ds.with_neuron_meta(**scores)
        >>> ds.select_neurons(lambda n: n["reliability"] > 0.8).source_neurons.tolist()
        [0]
    """
    responses = group_repeats(dataset, stimulus_ids)
    return {
        "snr": signal_to_noise(responses),
        "reliability": split_half_reliability(responses, num_splits=num_splits, seed=seed),
    }
