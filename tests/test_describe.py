"""describe(): one summary of what a dataset holds, excludes and how it was prepared."""

import numpy as np
import pytest

import cebra_data
from cebra_data import DatasetCollection, Normalizer, TensorDataset, UnifiedDataset, split_dataset


def session():
    neural = np.ones((120, 4), dtype=np.float32)
    neural[30, 2] = np.nan
    continuous = np.linspace(0, 1, 120)
    continuous[[5, 100]] = np.nan
    return TensorDataset(
        neural, continuous=continuous, discrete=np.repeat([0, 1, 1, 2], 30), offset=(1, 2),
        trial_ids=np.repeat([0, 1, 2, 3], [50, 40, 28, 2]), neural_nan="mask",
        neuron_meta=[{"area": "V1"}, {"area": "LM", "snr": 2.0}, {}, {"depth": 3}],
    )


def test_single_session_summary():
    summary = cebra_data.describe(session())
    assert summary["kind"] == "TensorDataset" and summary["length"] == 120
    assert summary["input_dimension"] == 4 and summary["device"] == "cpu"
    assert summary["offset"] == {"left": 1, "right": 2, "length": 3}
    assert summary["continuous"] == {"dimension": 1, "missing": 2}
    assert summary["discrete"] == {"num_labels": 3, "counts": {0: 30, 1: 60, 2: 30}}
    assert summary["trials"] == {"count": 4, "min_length": 2, "max_length": 50, "mean_length": 30.0,
                                 "shorter_than_window": 1}
    # step 30 masked: windows of 29, 30, 31 touch it; labels 5 and 100 missing
    assert summary["excluded"] == {"total": 5, "missing_label": 2, "missing_neural": 1}
    ds = session()
    assert summary["sampleable"] == int(ds.sample_mask().sum())
    assert summary["neurons"]["meta_keys"] == ["area", "depth", "snr"]
    assert summary["split_part"] is None and summary["normalization"] == []
    assert isinstance(summary, dict)


def test_text_form_reports_every_exclusion():
    text = session().describe(as_text=True)
    assert str(session().describe()) == text
    lines = text.splitlines()
    assert lines[0] == "TensorDataset: 120 time steps, 4 features, Offset(1, 2) (window 3), device cpu"
    assert "  continuous index: 1 dimension(s), 2 missing (NaN)" in lines
    assert "  discrete index: 3 labels (0: 30, 1: 60, 2: 30)" in lines
    assert any("1 shorter than the window (no sample drawn from them)" in line for line in lines)
    assert any(line.startswith("  sampleable: ") and "excluded: 5 (2 missing continuous labels; windows "
               "touching 1 time steps with missing neural values)" in line for line in lines)
    assert "  neurons: 4, area, depth, snr" in lines


def test_split_normalisation_and_selection_show_up():
    rng = np.random.default_rng(0)
    ds = TensorDataset(rng.normal(2.0, 3.0, size=(500, 3)), continuous=rng.normal(size=500),
                       neuron_meta=[{"keep": True}, {"keep": False}, {"keep": True}])
    split = split_dataset(ds, (0.8, 0.2))
    scaler = Normalizer().fit(split.train)
    test = scaler.transform(split.test).select_neurons(keep=True)
    summary = test.describe()
    assert summary["split_part"] == "test" and summary["held_out"] is True
    [record] = summary["normalization"]
    assert record["method"] == "zscore" and record["fitted_on"] == "train"
    assert record["location"] == scaler.location_[[0, 2]].tolist()
    assert summary["neurons"]["source_neurons"] == [0, 2]
    text = str(summary)
    assert "  split part: 'test' (held out)" in text
    assert "normalisation: zscore of neural, fitted on train; location" in text
    assert "(selected columns [0, 2])" in text


def test_collection_summary():
    sessions = [TensorDataset(np.zeros((n, d)), discrete=np.arange(n) % 2, offset=(2, 2)) for n, d in
                [(50, 3), (70, 5)]]
    for kind in (DatasetCollection, UnifiedDataset):
        summary = kind(sessions).describe()
        assert summary["kind"] == kind.__name__ and summary["num_sessions"] == 2
        assert summary["length"] == 120 and summary["input_dimensions"] == [3, 5]
        assert summary["sampleable"] == 47 + 67 and summary["excluded"] == 0
        assert [s["length"] for s in summary["sessions"]] == [50, 70]
        text = summary.__str__()
        assert text.splitlines()[0].startswith(f"{kind.__name__}: 2 sessions, 120 time steps")
        assert "  session 1:" in text


def test_describe_rejects_other_objects():
    with pytest.raises(TypeError, match="describe expects a cebra_data.Dataset, but got ndarray"):
        cebra_data.describe(np.zeros(3))
