"""Normalizer: statistics come only from the fitted part, never fitted on test data by accident,
NaN-aware, never in place, invertible."""


import numpy as np
import pytest
import torch

import cebra_data
from cebra_data import DatasetCollection, HeldOutFitError, Normalizer, TensorDataset, split_dataset


def drifting(n=1000, seed=0):
    """Neural mean and spread change over time, so statistics of any other part would differ."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, n)[:, None]
    neural = (5 + 20 * t + (1 + 4 * t) * rng.normal(size=(n, 4))).astype(np.float32)
    behaviour = 3 * t + rng.normal(size=(n, 2))
    return TensorDataset(neural, continuous=behaviour, discrete=np.arange(n) % 3)


def test_statistics_come_only_from_the_fitted_part():
    ds = drifting()
    train, validation, test = split_dataset(ds)
    scaler = Normalizer("zscore").fit(train)
    train_rows = ds.neural.numpy()[train.source_index.numpy()].astype(np.float64)
    assert np.allclose(scaler.location_.numpy(), train_rows.mean(axis=0), atol=1e-5)
    assert np.allclose(scaler.scale_.numpy(), train_rows.std(axis=0), atol=1e-5)
    whole = ds.neural.numpy().astype(np.float64)
    assert not np.allclose(scaler.location_.numpy(), whole.mean(axis=0), atol=0.1)
    test_z = scaler.transform(test)
    expected = (test.neural.numpy() - train_rows.mean(axis=0)) / train_rows.std(axis=0)
    assert np.allclose(test_z.neural.numpy(), expected, atol=1e-4)
    assert test_z.normalization[0]["fitted_on"] == "train" and scaler.fitted_on == "train"
    assert test_z.split_part == "test" and test_z.held_out       # the part keeps its identity
    assert float(test_z.neural.mean()) > 1.0                     # test data lie outside train's range


def test_transform_never_modifies_its_input():
    ds = drifting()
    before = ds.neural.clone()
    scaled = Normalizer().fit_transform(ds)
    assert torch.equal(ds.neural, before) and ds.normalization == ()
    assert scaled is not ds and scaled.discrete is ds.discrete and scaled.continuous is ds.continuous
    behaviour = Normalizer(target="continuous").fit_transform(ds)
    assert behaviour.neural is ds.neural and not torch.equal(behaviour.continuous, ds.continuous)


@pytest.mark.parametrize("part", ["validation", "test"])
def test_fitting_on_a_held_out_part_needs_allow_test(part):
    split = split_dataset(drifting())
    with pytest.raises(HeldOutFitError, match=f"'{part}', a held-out part .* allow_test=True"):
        Normalizer().fit(split[part])
    assert isinstance(HeldOutFitError("x"), ValueError)
    scaler = Normalizer().fit(split[part], allow_test=True)
    assert scaler.fitted_on == part
    assert scaler.transform(split.train).normalization[0]["fitted_on"] == part
    collection = DatasetCollection([split[part], split[part]])
    with pytest.raises(HeldOutFitError):
        Normalizer().fit(collection)


def test_held_out_fit_error_is_one_class_under_every_import_path():
    from cebra_data.errors import CebraDataError
    from cebra_data.errors import HeldOutFitError as from_errors
    from cebra_data.preprocessing import HeldOutFitError as from_preprocessing
    from cebra_data.preprocessing.normalization import HeldOutFitError as from_module

    assert HeldOutFitError is from_errors is from_preprocessing is from_module
    assert issubclass(HeldOutFitError, CebraDataError) and issubclass(HeldOutFitError, ValueError)


class _NotATensorDataset(cebra_data.SingleSessionDataset):
    """A valid dataset that is not a TensorDataset: Normalizer cannot build a new one from it."""

    def __init__(self):
        super().__init__()
        self.neural = torch.zeros(50, 3)

    def __len__(self):
        return 50

    @property
    def input_dimension(self):
        return 3

    def __getitem__(self, index):
        return self.neural[index].unsqueeze(-1)


def test_other_dataset_types_are_rejected_with_a_type_error():
    with pytest.raises(TypeError, match="Normalizer works on TensorDataset .* got _NotATensorDataset"):
        Normalizer().fit(_NotATensorDataset())
    scaler = Normalizer().fit(drifting())
    with pytest.raises(TypeError, match="got _NotATensorDataset"):
        scaler.transform(_NotATensorDataset())


def test_continuous_statistics_skip_nan_and_keep_it():
    behaviour = np.array([[1.0], [np.nan], [3.0], [5.0], [np.nan]])
    ds = TensorDataset(np.zeros((5, 2), dtype=np.float32) + np.arange(5)[:, None], continuous=behaviour)
    scaler = Normalizer("zscore", target="continuous").fit(ds)
    assert np.allclose(scaler.location_.numpy(), [3.0]) and np.allclose(scaler.scale_.numpy(), [np.std([1, 3, 5])])
    out = scaler.transform(ds)
    assert torch.isnan(out.continuous[[1, 4]]).all() and out.num_excluded == 2
    assert np.allclose(out.continuous[[0, 2, 3], 0].numpy(), (np.array([1, 3, 5]) - 3) / np.std([1, 3, 5]))


def test_masked_neural_rows_do_not_enter_the_statistics():
    neural = np.ones((50, 2), dtype=np.float32)
    neural[::2] = 3.0
    neural[7, 0] = np.nan                     # an odd row (value 1) whose other value is 1 too
    neural[9] = [1000.0, np.nan]
    ds = TensorDataset(neural, discrete=np.zeros(50, int), neural_nan="mask")
    scaler = Normalizer().fit(ds)
    kept = np.delete(np.where(np.arange(50) % 2 == 0, 3.0, 1.0), [7, 9])
    assert np.allclose(scaler.location_.numpy(), [kept.mean()] * 2)
    assert np.allclose(scaler.scale_.numpy(), [kept.std()] * 2)


def test_max_method_divides_by_the_largest_absolute_value():
    neural = np.array([[1.0, -8.0], [4.0, 2.0], [2.0, 0.5]], dtype=np.float32)
    scaler = Normalizer("max").fit(TensorDataset(neural, discrete=np.zeros(3, int)))
    assert scaler.location_.tolist() == [0.0, 0.0] and scaler.scale_.tolist() == [4.0, 8.0]
    out = scaler.transform(TensorDataset(neural, discrete=np.zeros(3, int)))
    assert out.neural.abs().max(dim=0).values.tolist() == [1.0, 1.0]


def test_constant_features_warn_and_are_only_centred():
    neural = np.column_stack([np.full(10, 7.0), np.arange(10.0)]).astype(np.float32)
    with pytest.warns(UserWarning, match="neural feature\\(s\\) \\[0\\] are constant"):
        scaler = Normalizer().fit(TensorDataset(neural, discrete=np.zeros(10, int)))
    assert scaler.scale_[0] == 1.0 and scaler.constant_features_ == [0]


def test_inverse_transform_restores_datasets_tensors_and_arrays():
    ds = drifting()
    scaler = Normalizer().fit(ds)
    scaled = scaler.transform(ds)
    restored = scaler.inverse_transform(scaled)
    assert torch.allclose(restored.neural, ds.neural, atol=1e-4) and restored.normalization == ()
    assert torch.allclose(scaler.inverse_transform(scaled.neural), ds.neural, atol=1e-4)
    assert np.allclose(scaler.inverse_transform(scaled.neural.numpy()), ds.neural.numpy(), atol=1e-4)
    with pytest.raises(ValueError, match="carries no normalisation of neural"):
        scaler.inverse_transform(ds)
    with pytest.raises(ValueError, match="already normalised .* normalising twice"):
        scaler.transform(scaled)


def test_collections_fit_neural_per_session_and_behaviour_pooled():
    a, b = drifting(400, seed=1), drifting(600, seed=2)
    sessions = DatasetCollection([a, b])
    neural = Normalizer().fit(sessions)
    assert isinstance(neural.location_, list) and len(neural.location_) == 2
    assert np.allclose(neural.location_[1].numpy(), b.neural.numpy().mean(axis=0), atol=1e-4)
    out = neural.transform(sessions)
    assert isinstance(out, DatasetCollection) and len(out.get_session(1).normalization) == 1
    with pytest.raises(ValueError, match="fitted on 2 sessions, but the collection has 1"):
        neural.transform(DatasetCollection([a]))
    with pytest.raises(ValueError, match="fitted per session on 2 sessions"):
        neural.transform(a)
    behaviour = Normalizer(target="continuous").fit(sessions)
    pooled = np.concatenate([a.continuous.numpy(), b.continuous.numpy()])
    assert np.allclose(behaviour.location_.numpy(), pooled.mean(axis=0), atol=1e-5)
    assert behaviour.transform(a).continuous.shape == a.continuous.shape   # one space: applies anywhere


def test_selected_neurons_keep_their_statistics():
    meta = [{"keep": k} for k in (True, False, True, False)]
    ds = TensorDataset(drifting().neural, discrete=np.zeros(1000, int), neuron_meta=meta)
    scaler = Normalizer().fit(ds)
    subset = scaler.transform(ds).select_neurons(keep=True)
    record = subset.normalization[0]
    assert torch.equal(record["location"], scaler.location_[[0, 2]])
    restored = scaler.inverse_transform(subset)
    assert torch.allclose(restored.neural, ds.neural[:, [0, 2]], atol=1e-4)


def test_bad_arguments():
    with pytest.raises(cebra_data.errors.UnknownChoiceError, match="'max', 'zscore'"):
        Normalizer("minmax")
    with pytest.raises(cebra_data.errors.UnknownChoiceError, match="'continuous', 'neural'"):
        Normalizer(target="discrete")
    with pytest.raises(RuntimeError, match="not fitted yet"):
        Normalizer().transform(drifting())
    with pytest.raises(cebra_data.errors.MissingIndexError, match="needs a continuous index"):
        Normalizer(target="continuous").fit(TensorDataset(np.zeros((5, 2)), discrete=np.zeros(5, int)))
    with pytest.raises(ValueError, match="fitted on 4 neural features, but the data has 3"):
        Normalizer().fit(drifting()).transform(TensorDataset(np.zeros((5, 3)), discrete=np.zeros(5, int)))
