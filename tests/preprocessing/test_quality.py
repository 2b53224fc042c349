"""Neuron quality (SNR, split-half reliability) and neuron selection by metadata."""

import numpy as np
import pandas as pd
import pytest
import torch

from cebra_data import DatasetCollection, DiscreteDataLoader, TensorDataset
from cebra_data.preprocessing.quality import (group_repeats, neuron_quality, signal_to_noise,
                                              split_half_reliability)

NOISE = np.array([0.25, 0.5, 1.0, 2.0, 4.0])   # signal variance 1 in every neuron


def repeated(seed=0, repeats=8, length=400, noise=NOISE, signal_scale=1.0):
    """(repeats, length, neurons): one shared signal of variance ``signal_scale**2`` plus noise."""
    rng = np.random.default_rng(seed)
    signal = signal_scale * rng.normal(size=(1, length, 1))
    return signal + noise * rng.normal(size=(repeats, length, noise.size))


def test_snr_recovers_known_signal_and_noise_levels():
    # seed 0, 8 repeats x 400 bins; true SNR = 1 / noise**2; tolerance 15 % of the truth.
    snr = signal_to_noise(repeated())
    truth = 1 / NOISE**2
    assert np.all(np.abs(snr - truth) < 0.15 * truth)
    assert np.all(np.diff(snr) < 0)


def test_reliability_orders_neurons_by_noise():
    # seed 0; 50 splits; the Spearman-Brown corrected value of an R-repeat average is
    # R * SNR / (1 + R * SNR), tolerance 0.05.
    reliability = split_half_reliability(repeated(), num_splits=50, seed=0)
    truth = 8 / NOISE**2 / (1 + 8 / NOISE**2)
    assert np.all(np.abs(reliability - truth) < 0.05)
    assert np.all(np.diff(reliability) < 0)
    rho = split_half_reliability(repeated(), num_splits=50, seed=0, spearman_brown=False)
    assert np.allclose(reliability, 2 * rho / (1 + rho))
    assert np.array_equal(rho, split_half_reliability(repeated(), num_splits=50, seed=0, spearman_brown=False))


def test_metrics_on_shuffled_neurons_still_recover_the_ordering():
    # A wrong metric (e.g. total variance) would fail here: louder neurons are the noisier ones.
    rng = np.random.default_rng(1)
    noise = rng.permutation(NOISE)
    data = repeated(seed=2, noise=noise)
    ranks = np.argsort(noise)
    assert np.array_equal(np.argsort(-signal_to_noise(data)), ranks)
    assert np.array_equal(np.argsort(-split_half_reliability(data, num_splits=30, seed=0)), ranks)


def test_snr_weights_stimuli_by_length():
    a = repeated(seed=3, repeats=4, length=100)
    b = repeated(seed=4, repeats=6, length=300)

    def terms(x):
        r = x.shape[0]
        p_tp = x.var(axis=1).mean(axis=0)
        sp = (r * x.mean(axis=0).var(axis=0) - p_tp) / (r - 1)
        return sp, p_tp - sp

    (sa, na), (sb, nb) = terms(a), terms(b)
    expected = (100 * sa + 300 * sb) / (100 * na + 300 * nb)
    assert np.allclose(signal_to_noise([a, b]), expected)
    assert np.allclose(signal_to_noise({"x": a, "y": b}), expected)
    single = repeated(seed=5, repeats=1, length=50)                 # one repeat: does not enter
    assert np.allclose(signal_to_noise([a, b, single]), expected)
    assert np.isnan(signal_to_noise(single)).all()
    assert np.isnan(split_half_reliability(single, seed=0)).all()


def test_metric_inputs_are_checked():
    with pytest.raises(ValueError, match="shape \\(repeats, time, neurons\\), but got shape \\(4, 10\\)"):
        signal_to_noise(np.zeros((4, 10)))
    bad = repeated(length=20)
    bad[0, 3, 1] = np.nan
    with pytest.raises(ValueError, match="contain NaN"):
        signal_to_noise(bad)
    with pytest.raises(ValueError, match="same number of neurons"):
        signal_to_noise([np.zeros((2, 5, 3)), np.zeros((2, 5, 4))])
    with pytest.raises(ValueError, match="num_splits should be an integer >= 1"):
        split_half_reliability(repeated(length=20), num_splits=0)


def trial_dataset(seed=0):
    """Two stimuli shown 6 times each, alternating, 5 neurons of increasing noise."""
    rng = np.random.default_rng(seed)
    movies = {"A": rng.normal(size=(80, 1)), "B": rng.normal(size=(60, 1))}
    order = ["A", "B"] * 6
    trials = [movies[s] + NOISE * rng.normal(size=(len(movies[s]), NOISE.size)) for s in order]
    meta = [{"area": a} for a in ("V1", "V1", "LM", "LM", "V1")]
    return TensorDataset.from_trials(trials, discrete=[int(s == "A") for s in order], neuron_meta=meta), order


def test_group_repeats_and_neuron_quality_on_a_dataset():
    ds, order = trial_dataset()
    groups = group_repeats(ds, order)
    assert list(groups) == ["A", "B"] and groups["A"].shape == (6, 80, 5) and groups["B"].shape == (6, 60, 5)
    scores = neuron_quality(ds, order, num_splits=30, seed=0)
    assert np.all(np.diff(scores["snr"]) < 0) and np.all(np.diff(scores["reliability"]) < 0)
    annotated = ds.with_neuron_meta(**scores)
    good = annotated.select_neurons(lambda n: n["snr"] > 2.0)          # true SNRs 16, 4, 1, 1/4, 1/16
    assert good.source_neurons.tolist() == [0, 1]
    good_v1 = annotated.select_neurons(lambda n: n["reliability"] > 0.5, area="V1")
    assert good_v1.source_neurons.tolist() == [0, 1]
    assert ds.neuron_meta[0] == {"area": "V1"}                     # the input keeps its metadata


def test_group_repeats_errors():
    ds, order = trial_dataset()
    with pytest.raises(ValueError, match="one entry per trial \\(12\\), but got 3"):
        group_repeats(ds, ["A", "B", "A"])
    with pytest.raises(ValueError, match="repeats of stimulus 'A' have different lengths \\[80, 60"):
        group_repeats(ds, ["A"] * 12)
    with pytest.raises(ValueError, match="needs a dataset with trial_ids"):
        group_repeats(TensorDataset(np.zeros((10, 2)), discrete=np.zeros(10, int)), ["A"])


# -- selection -------------------------------------------------------------------------------------

META = [
    {"area": "V1", "depth": 100, "snr": 0.9},
    {"area": "V1", "depth": 300},
    {"area": "LM", "depth": 200, "snr": 0.7},
    {"area": "V1", "depth": 500, "snr": 0.1},
]


def meta_dataset(meta=META, n=60):
    neural = np.tile(np.arange(len(meta), dtype=np.float32), (n, 1))  # column j holds value j
    return TensorDataset(neural, discrete=np.arange(n) % 2, neuron_meta=meta)


def test_select_by_attribute_and_predicate():
    ds = meta_dataset()
    v1 = ds.select_neurons(area="V1")
    assert v1.source_neurons.tolist() == [0, 1, 3] and v1.neural[0].tolist() == [0.0, 1.0, 3.0]
    assert [m["depth"] for m in v1.neuron_meta] == [100, 300, 500]
    deep = ds.select_neurons(lambda n: n["depth"] >= 200)
    assert deep.source_neurons.tolist() == [1, 2, 3]
    both = ds.select_neurons(lambda n: n["snr"] > 0.5, area="V1")    # neuron 1 has no snr: not selected
    assert both.source_neurons.tolist() == [0]
    nested = deep.select_neurons(area="V1")                          # source columns compose
    assert nested.source_neurons.tolist() == [1, 3]
    assert ds.input_dimension == 4 and len(ds.neuron_meta) == 4      # the input is unchanged
    batch = next(iter(DiscreteDataLoader(v1, num_steps=1, batch_size=8, seed=0)))
    assert batch.reference.shape == (8, 3, 1) and (batch.reference[:, :, 0] == torch.tensor([0.0, 1.0, 3.0])).all()


def test_selection_from_a_dataframe():
    ds = meta_dataset(pd.DataFrame(META))                            # missing snr becomes NaN there
    assert ds.select_neurons(lambda n: n["snr"] > 0.5).source_neurons.tolist() == [0, 2]


def test_selection_errors_are_explicit():
    ds = meta_dataset()
    with pytest.raises(KeyError, match="no neuron has the metadata key\\(s\\) \\['aera'\\]; available keys: 'area', 'depth', 'snr'"):
        ds.select_neurons(aera="V1")
    with pytest.raises(KeyError, match="predicate raised KeyError for every neuron"):
        ds.select_neurons(lambda n: n["quality"] > 1)
    with pytest.raises(ValueError, match="matched none of the 4 neurons"):
        ds.select_neurons(area="RSP")
    with pytest.raises(ValueError, match="needs a predicate and/or attribute=value"):
        ds.select_neurons()
    with pytest.raises(ValueError, match="needs per-neuron metadata"):
        TensorDataset(np.zeros((5, 2)), discrete=np.zeros(5, int)).select_neurons(area="V1")
    with pytest.raises(ValueError, match="describe every neuron \\(neural has 4 features\\), but got 3"):
        TensorDataset(np.zeros((5, 4)), discrete=np.zeros(5, int), neuron_meta=META[:3])
    with pytest.raises(TypeError, match="entry 1 is a str"):
        meta_dataset([{}, "V1", {}, {}])
    with pytest.raises(ValueError, match="column 'snr' should have one value per neuron \\(4\\), but got 2"):
        ds.with_neuron_meta(snr=[1, 2])


def test_sessions_with_different_metadata_keys():
    a = meta_dataset()
    b = TensorDataset(np.zeros((40, 3)), discrete=np.arange(40) % 2,
                      neuron_meta=[{"area": "V1", "layer": 4}, {"layer": 2}, {"area": "LM"}])
    sessions = DatasetCollection([a, b])
    v1 = sessions.select_neurons(area="V1")
    assert [s.source_neurons.tolist() for s in v1.iter_sessions()] == [[0, 1, 3], [0]]
    with pytest.raises(ValueError, match="leaves session\\(s\\) \\[0\\] without neurons"):
        sessions.select_neurons(layer=4)                             # session 0 has no 'layer' key
    with pytest.raises(KeyError, match="no neuron has the metadata key"):
        sessions.select_neurons(colour="red")
    assert v1.describe()["sessions"][1]["neurons"]["meta_keys"] == ["area", "layer"]
