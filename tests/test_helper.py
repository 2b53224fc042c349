"""cebra_data.helper: loader options, Procrustes alignment and embedding ensembles.

``TestAgainstCebra`` runs only where CEBRA 0.6.1 is installed and compares our
numbers with CEBRA's on the same inputs; everything else runs without CEBRA.
"""

import inspect
import json
import pathlib
import warnings

import joblib
import numpy as np
import pytest
import torch

import cebra_data
import cebra_data.helper as helper
from cebra_data.distributions import as_generator
from cebra_data.errors import DimensionMismatchError
from cebra_data.helper import OrthogonalProcrustesAlignment, ensemble_embeddings, get_loader_options

API_REFERENCE = pathlib.Path(__file__).parent / "data" / "cebra_0_6_1_api.json"


def normal(seed, *shape):
    """Seeded standard-normal float64 numpy array."""
    return torch.randn(*shape, generator=as_generator(seed), dtype=torch.float64).numpy()


def orthogonal(seed, dim):
    """A seeded random orthogonal matrix (QR of a normal matrix)."""
    q, r = np.linalg.qr(normal(seed, dim, dim))
    return q * np.sign(np.diag(r))


def trajectory(n=300, dim=3):
    """A smooth embedding whose neighbouring rows are close."""
    t = np.linspace(0, 4 * np.pi, n)
    columns = [np.cos(t * (k + 1) / 2) + 0.1 * k for k in range(dim)]
    return np.stack(columns, axis=1)


# --------------------------------------------------------------------------- get_loader_options


def names(options):
    return [option.__name__ for option in options]


class TestGetLoaderOptions:
    neural = torch.zeros(40, 4)
    continuous = torch.linspace(0, 1, 40)[:, None]
    discrete = torch.arange(40) % 3

    def test_single_session_options_follow_the_indices(self):
        both = cebra_data.TensorDataset(self.neural, continuous=self.continuous, discrete=self.discrete)
        assert names(get_loader_options(both)) == [
            "ContinuousDataLoader", "DiscreteDataLoader", "MixedDataLoader"]
        only_c = cebra_data.TensorDataset(self.neural, continuous=self.continuous)
        assert get_loader_options(only_c) == [cebra_data.ContinuousDataLoader]
        only_d = cebra_data.TensorDataset(self.neural, discrete=self.discrete)
        assert get_loader_options(only_d) == [cebra_data.DiscreteDataLoader]

    def test_multi_session_lists_only_the_continuous_loader_like_cebra(self):
        def session(**index):
            return cebra_data.TensorDataset(self.neural, **index)

        continuous = cebra_data.DatasetCollection(
            session(continuous=self.continuous, discrete=self.discrete),
            session(continuous=self.continuous, discrete=self.discrete))
        assert get_loader_options(continuous) == [cebra_data.ContinuousMultiSessionDataLoader]
        discrete = cebra_data.DatasetCollection(session(discrete=self.discrete),
                                                session(discrete=self.discrete))
        assert get_loader_options(discrete) == []

    def test_every_option_accepts_the_dataset(self):
        dataset = cebra_data.TensorDataset(self.neural, continuous=self.continuous, discrete=self.discrete)
        for option in get_loader_options(dataset):
            loader = option(dataset=dataset, num_steps=1, batch_size=4)
            assert loader.dataset is dataset

    @pytest.mark.parametrize("value", [None, np.zeros((3, 2)), "dataset"])
    def test_rejects_what_is_not_a_dataset(self, value):
        with pytest.raises(TypeError, match="SingleSessionDataset or a .*MultiSessionDataset.*got"):
            get_loader_options(value)


# --------------------------------------------------------------------------- alignment


class TestOrthogonalProcrustesAlignment:
    def test_top_k_1_recovers_a_rotation_exactly(self):
        reference = normal(0, 200, 5)
        rotation = orthogonal(1, 5)
        data = reference @ rotation
        alignment = OrthogonalProcrustesAlignment(top_k=1).fit(reference, data)
        np.testing.assert_allclose(alignment.transform_matrix, rotation.T, atol=1e-10)
        np.testing.assert_allclose(alignment.transform(data), reference, atol=1e-10)
        matrix = alignment.transform_matrix
        np.testing.assert_allclose(matrix.T @ matrix, np.eye(5), atol=1e-12)

    def test_default_top_k_recovers_the_rotation_of_a_smooth_trajectory(self):
        reference = trajectory()
        rotation = orthogonal(2, 3)
        aligned = OrthogonalProcrustesAlignment().fit_transform(reference, reference @ rotation)
        # neighbours in time differ slightly, so the recovery is close, not exact
        np.testing.assert_allclose(aligned, reference, atol=1e-3)

    def test_alignment_is_equivariant_to_rotating_the_data(self):
        # polar(Q^T M) = Q^T polar(M): rotating the data first changes nothing after alignment
        reference, data = normal(3, 100, 4), normal(4, 100, 4)
        rotation = orthogonal(5, 4)
        plain = OrthogonalProcrustesAlignment().fit_transform(reference, data)
        rotated = OrthogonalProcrustesAlignment().fit_transform(reference, data @ rotation)
        np.testing.assert_allclose(rotated, plain, atol=1e-10)

    def test_labels_match_samples_of_different_lengths(self):
        t = np.linspace(0, 1, 101)
        reference = np.stack([np.cos(3 * t), np.sin(3 * t), t], axis=1)
        rotation = orthogonal(6, 3)
        data = reference[::4] @ rotation
        alignment = OrthogonalProcrustesAlignment(top_k=1).fit(reference, data, t, t[::4])
        np.testing.assert_allclose(alignment.transform(data), reference[::4], atol=1e-10)
        # wrong labels give a wrong alignment: the labels are used
        wrong = OrthogonalProcrustesAlignment(top_k=1).fit(reference, data, t, t[::-4])
        assert not np.allclose(wrong.transform(data), reference[::4], atol=1e-3)

    def test_tensors_and_1d_inputs_equal_numpy(self):
        reference, data = normal(7, 80, 3), normal(8, 80, 3)
        expected = OrthogonalProcrustesAlignment().fit_transform(reference, data)
        got = OrthogonalProcrustesAlignment().fit_transform(torch.from_numpy(reference), torch.from_numpy(data))
        np.testing.assert_array_equal(got, expected)
        one_d = OrthogonalProcrustesAlignment(top_k=1).fit_transform(reference[:, 0], -reference[:, 0])
        np.testing.assert_allclose(one_d, reference[:, :1], atol=1e-12)

    def test_float32_inputs_give_float32_results(self):
        reference = normal(9, 60, 3).astype(np.float32)
        alignment = OrthogonalProcrustesAlignment().fit(reference, reference[:, ::-1])
        assert alignment.transform_matrix.dtype == np.float32
        assert alignment.transform(reference).dtype == np.float32

    def test_large_inputs_are_matched_in_blocks_like_one_block(self, monkeypatch):
        reference, data = normal(10, 64, 3), normal(11, 50, 3)
        labels_ref, labels = normal(12, 64, 2), normal(13, 50, 2)
        whole = OrthogonalProcrustesAlignment(top_k=3).fit(reference, data, labels_ref, labels)
        monkeypatch.setattr(helper, "_DISTANCE_BLOCK_ELEMENTS", 64 * 7)  # 7 rows per block
        blocked = OrthogonalProcrustesAlignment(top_k=3).fit(reference, data, labels_ref, labels)
        np.testing.assert_array_equal(blocked.transform_matrix, whole.transform_matrix)

    def test_subsample_is_reproducible_from_the_seed(self):
        reference, data = normal(14, 400, 4), normal(15, 400, 4)

        def matrix(seed):
            alignment = OrthogonalProcrustesAlignment(subsample=1000, seed=seed)
            return alignment.fit(reference, data).transform_matrix

        np.testing.assert_array_equal(matrix(3), matrix(3))
        assert not np.allclose(matrix(3), matrix(4))
        assert not np.allclose(matrix(3), OrthogonalProcrustesAlignment().fit(reference, data).transform_matrix)
        # one integer seed: the same matrix at every fit of one object
        alignment = OrthogonalProcrustesAlignment(subsample=1000, seed=3)
        first = alignment.fit(reference, data).transform_matrix
        np.testing.assert_array_equal(alignment.fit(reference, data).transform_matrix, first)
        # a shared generator advances between fits
        shared = OrthogonalProcrustesAlignment(subsample=1000, seed=as_generator(3))
        assert not np.allclose(shared.fit(reference, data).transform_matrix,
                               shared.fit(reference, data).transform_matrix)

    def test_subsample_follows_the_documented_pair_draw(self):
        reference, data = normal(16, 30, 3), normal(17, 30, 3)
        with pytest.warns(UserWarning, match="experimental"):
            got = OrthogonalProcrustesAlignment(top_k=2, subsample=25, seed=8).fit(reference, data)
        pairs = torch.randint(0, 60, (25,), generator=as_generator(8)).numpy()
        times = np.arange(30)[:, None]
        distance = (times - times.T) ** 2
        nearest = np.argsort(distance, axis=1)[:, :2]
        x = np.repeat(data, 2, axis=0)[pairs]
        y = reference[nearest.reshape(-1)][pairs]
        u, _, vt = np.linalg.svd(x.T @ y)
        np.testing.assert_allclose(got.transform_matrix, u @ vt, atol=1e-10)

    def test_subsample_of_a_noiseless_rotation_still_recovers_it(self):
        reference = normal(18, 500, 3)
        rotation = orthogonal(19, 3)
        alignment = OrthogonalProcrustesAlignment(top_k=1, subsample=200, seed=0)
        with pytest.warns(UserWarning, match="experimental"):
            alignment.fit(reference, reference @ rotation)
        np.testing.assert_allclose(alignment.transform_matrix, rotation.T, atol=1e-10)

    def test_subsample_larger_than_the_pairs_warns_and_uses_all(self):
        reference, data = normal(20, 50, 3), normal(21, 50, 3)
        full = OrthogonalProcrustesAlignment().fit(reference, data).transform_matrix
        with pytest.warns(UserWarning, match="larger than the number of matched pairs"):
            big = OrthogonalProcrustesAlignment(subsample=251, seed=0).fit(reference, data)
        np.testing.assert_array_equal(big.transform_matrix, full)

    def test_no_warning_for_a_large_subsample(self):
        reference, data = normal(22, 400, 3), normal(23, 400, 3)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            OrthogonalProcrustesAlignment(subsample=1500, seed=0).fit(reference, data)

    @pytest.mark.parametrize("kwargs, error, message", [
        ({"top_k": 0}, ValueError, "top_k should be an integer >= 1"),
        ({"top_k": 2.0}, TypeError, "top_k should be a positive integer"),
        ({"top_k": True}, TypeError, "top_k should be a positive integer"),
        ({"subsample": 0}, ValueError, "subsample should be an integer >= 1"),
        ({"subsample": "all"}, TypeError, "subsample should be a positive integer or None"),
        ({"seed": -1}, ValueError, "seed"),
        ({"seed": 1.5}, TypeError, "seed"),
    ])
    def test_bad_parameters_fail_at_construction(self, kwargs, error, message):
        with pytest.raises(error, match=message):
            OrthogonalProcrustesAlignment(**kwargs)

    def test_seed_is_keyword_only(self):
        with pytest.raises(TypeError):
            OrthogonalProcrustesAlignment(5, None, 0)

    def test_missing_labels(self):
        reference, data = normal(24, 20, 2), normal(25, 15, 2)
        with pytest.raises(ValueError, match="different numbers of samples"):
            OrthogonalProcrustesAlignment().fit(reference, data)
        with pytest.raises(ValueError, match="got ref_label but not label"):
            OrthogonalProcrustesAlignment().fit(reference, reference, ref_label=np.arange(20))
        with pytest.raises(ValueError, match="got label but not ref_label"):
            OrthogonalProcrustesAlignment().fit(reference, data, label=np.arange(15))

    def test_inconsistent_shapes(self):
        reference, data = normal(26, 20, 2), normal(27, 15, 2)
        with pytest.raises(ValueError, match="ref_data and ref_label .* 20 and 19"):
            OrthogonalProcrustesAlignment().fit(reference, data, np.arange(19), np.arange(15))
        with pytest.raises(ValueError, match="data and label .* 15 and 14"):
            OrthogonalProcrustesAlignment().fit(reference, data, np.arange(20), np.arange(14))
        with pytest.raises(DimensionMismatchError, match="data with 3 and ref_data with 2"):
            OrthogonalProcrustesAlignment().fit(reference, normal(28, 15, 3), np.arange(20), np.arange(15))
        with pytest.raises(DimensionMismatchError, match="label with 2 and ref_label with 1"):
            OrthogonalProcrustesAlignment().fit(reference, data, np.arange(20), np.zeros((15, 2)))
        with pytest.raises(ValueError, match="at least top_k=5 samples, but got 4"):
            OrthogonalProcrustesAlignment().fit(reference[:4], data, np.arange(4), np.arange(15))

    def test_bad_values(self):
        reference = normal(29, 20, 2)
        broken = reference.copy()
        broken[3, 1] = np.nan
        with pytest.raises(ValueError, match="data should be finite, but 1 of its rows"):
            OrthogonalProcrustesAlignment().fit(reference, broken)
        with pytest.raises(TypeError, match="numpy array or a torch tensor.*list"):
            OrthogonalProcrustesAlignment().fit(reference, reference.tolist())
        with pytest.raises(ValueError, match="1-D or 2-D .* 3-D"):
            OrthogonalProcrustesAlignment().fit(reference, reference[:, :, None])
        with pytest.raises(TypeError, match="numeric array.*dtype <U"):
            OrthogonalProcrustesAlignment().fit(reference, np.full((20, 2), "a"))

    def test_transform_before_fit_and_with_other_features(self):
        alignment = OrthogonalProcrustesAlignment()
        with pytest.raises(ValueError, match="not fitted yet"):
            alignment.transform(np.zeros((3, 2)))
        alignment.fit(normal(30, 20, 2), normal(31, 20, 2))
        with pytest.raises(DimensionMismatchError, match="should have 2 features .* got 3"):
            alignment.transform(np.zeros((3, 3)))


# --------------------------------------------------------------------------- ensembles


class TestEnsembleEmbeddings:
    def test_rotated_copies_ensemble_like_plain_copies(self):
        first, second = normal(40, 120, 3), normal(41, 120, 3)
        plain = ensemble_embeddings([first, second])
        rotated = ensemble_embeddings([first, second @ orthogonal(42, 3)])
        np.testing.assert_allclose(rotated, plain, atol=1e-10)

    def test_is_the_mean_of_the_first_and_the_aligned_others(self):
        embeddings = [normal(43 + i, 90, 4) for i in range(3)]
        expected = (embeddings[0] + sum(
            OrthogonalProcrustesAlignment().fit_transform(embeddings[0], e) for e in embeddings[1:])) / 3
        np.testing.assert_allclose(ensemble_embeddings(embeddings), expected, atol=1e-12)
        np.testing.assert_array_equal(ensemble_embeddings(embeddings[:1]), embeddings[0])

    def test_rotations_of_a_trajectory_average_back_to_it(self):
        reference = trajectory()
        copies = [reference] + [reference @ orthogonal(50 + i, 3) for i in range(3)]
        np.testing.assert_allclose(ensemble_embeddings(copies), reference, atol=1e-3)

    def test_parallel_equals_sequential(self):
        embeddings = [normal(60 + i, 70, 3) for i in range(3)]
        sequential = ensemble_embeddings(embeddings)
        # threads: the same joblib.Parallel code path without ~15 s of worker start-up
        with joblib.parallel_config(backend="threading"):
            parallel = ensemble_embeddings(embeddings, n_jobs=2)
        np.testing.assert_allclose(parallel, sequential, atol=1e-12)

    def test_labels_are_passed_to_the_alignment(self):
        t = np.linspace(0, 1, 60)
        first, second = normal(70, 60, 3), normal(69, 60, 3)
        same = ensemble_embeddings([first, second], labels=[t, t])
        shuffled = ensemble_embeddings([first, second], labels=[t, t[::-1]])
        np.testing.assert_allclose(same, ensemble_embeddings([first, second]), atol=1e-12)
        assert not np.allclose(shuffled, same, atol=1e-3)

    def test_post_norm_gives_unit_rows(self):
        joint = ensemble_embeddings([normal(71, 50, 3), normal(72, 50, 3)], post_norm=True)
        np.testing.assert_allclose(np.linalg.norm(joint, axis=1), 1.0)
        with pytest.raises(ValueError, match=r"norm zero, but 10 rows .*\(first: row 0\)"):
            ensemble_embeddings([np.zeros((10, 2)), np.zeros((10, 2))], post_norm=True)

    def test_tensors_are_accepted(self):
        embeddings = [normal(73, 40, 2), normal(74, 40, 2)]
        np.testing.assert_array_equal(
            ensemble_embeddings([torch.from_numpy(e) for e in embeddings]), ensemble_embeddings(embeddings))

    def test_bad_input(self):
        e = normal(75, 30, 2)
        with pytest.raises(ValueError, match="at least one embedding"):
            ensemble_embeddings([])
        with pytest.raises(ValueError, match=r"embeddings\[0\] has shape \(30, 2\) and embeddings\[1\] has shape \(29, 2\)"):
            ensemble_embeddings([e, e[:29]])
        with pytest.raises(ValueError, match="one entry per embedding \\(2\\), but got 1"):
            ensemble_embeddings([e, e], labels=[None])
        for n_jobs in (None, 1.0, True):
            with pytest.raises(ValueError, match="n_jobs should be an integer"):
                ensemble_embeddings([e, e], n_jobs=n_jobs)
        with pytest.raises(TypeError, match="list of arrays"):
            ensemble_embeddings(e)


# --------------------------------------------------------------------------- CEBRA's API reference


def cebra_reference():
    return json.loads(API_REFERENCE.read_text())["modules"]["cebra.data.helper"]


def test_every_public_name_of_cebra_data_helper_exists():
    reference = cebra_reference()
    assert [name for name in reference["public_names"] if not hasattr(helper, name)] == []


@pytest.mark.parametrize("name, ours, recorded", [
    ("ensemble_embeddings", ensemble_embeddings, lambda ref: ref["parameters"]),
    ("get_loader_options", get_loader_options, lambda ref: ref["parameters"]),
    ("OrthogonalProcrustesAlignment", OrthogonalProcrustesAlignment, lambda ref: ref["init_parameters"]),
    ("OrthogonalProcrustesAlignment.fit", OrthogonalProcrustesAlignment.fit,
     lambda ref: ref["public_methods_defined_here"]["fit"]["parameters"]),
    ("OrthogonalProcrustesAlignment.transform", OrthogonalProcrustesAlignment.transform,
     lambda ref: ref["public_methods_defined_here"]["transform"]["parameters"]),
    ("OrthogonalProcrustesAlignment.fit_transform", OrthogonalProcrustesAlignment.fit_transform,
     lambda ref: ref["public_methods_defined_here"]["fit_transform"]["parameters"]),
])
def test_signatures_extend_cebras_with_keyword_only_parameters(name, ours, recorded):
    reference = cebra_reference()["objects"][name.split(".")[0]]
    theirs = recorded(reference)
    params = list(inspect.signature(ours).parameters.values())
    head = [(p.name, p.kind.name, repr(p.default) if p.default is not p.empty else None)
            for p in params[:len(theirs)]]
    assert head == [(p["name"], p["kind"], p.get("default")) for p in theirs]
    assert all(p.kind is p.KEYWORD_ONLY for p in params[len(theirs):])


# --------------------------------------------------------------------------- side by side with CEBRA


class TestAgainstCebra:
    """Our results equal CEBRA's on the same inputs (runs where ``cebra`` is installed)."""

    @pytest.fixture(autouse=True)
    def cebra_helper(self):
        pytest.importorskip("cebra")
        import cebra.data.helper

        self.theirs = cebra.data.helper

    @pytest.mark.parametrize("top_k", [1, 4, 5, 10])
    @pytest.mark.parametrize("dtype", [np.float64, np.float32])
    def test_alignment_by_time(self, top_k, dtype):
        reference = normal(100 + top_k, 150, 6).astype(dtype)
        data = normal(200 + top_k, 150, 6).astype(dtype)
        theirs = self.theirs.OrthogonalProcrustesAlignment(top_k=top_k).fit_transform(reference, data)
        ours = OrthogonalProcrustesAlignment(top_k=top_k).fit_transform(reference, data)
        assert ours.dtype == theirs.dtype
        tolerance = 1e-10 if dtype == np.float64 else 1e-4
        np.testing.assert_allclose(ours, theirs, atol=tolerance, rtol=0)

    @pytest.mark.parametrize("label_dim", [1, 3])
    def test_alignment_with_labels_of_different_lengths(self, label_dim):
        reference, data = normal(300, 200, 4), normal(301, 130, 4)
        ref_label, label = normal(302, 200, label_dim), normal(303, 130, label_dim)
        if label_dim == 1:
            ref_label, label = ref_label[:, 0], label[:, 0]
        theirs = self.theirs.OrthogonalProcrustesAlignment(top_k=7)
        ours = OrthogonalProcrustesAlignment(top_k=7)
        np.testing.assert_allclose(
            ours.fit_transform(reference, data, ref_label, label),
            theirs.fit_transform(reference, data, ref_label, label), atol=1e-10, rtol=0)
        np.testing.assert_allclose(ours.transform_matrix, theirs._transform, atol=1e-10, rtol=0)

    def test_alignment_with_integer_labels_and_ties(self):
        reference, data = normal(310, 90, 3), normal(311, 60, 3)
        ref_label, label = np.arange(90) % 9, np.arange(60) % 9  # many exact ties
        ours = OrthogonalProcrustesAlignment(top_k=6).fit_transform(reference, data, ref_label, label)
        theirs = self.theirs.OrthogonalProcrustesAlignment(top_k=6).fit_transform(
            reference, data, ref_label, label)
        np.testing.assert_allclose(ours, theirs, atol=1e-10, rtol=0)

    def test_alignment_with_the_same_subsample(self, monkeypatch):
        reference, data = normal(320, 300, 4), normal(321, 300, 4)
        top_k, subsample, seed = 5, 1200, 11
        drawn = torch.randint(0, 300 * top_k, (subsample,), generator=as_generator(seed)).numpy()

        def choice(n, size):
            assert (n, size) == (300 * top_k, subsample)
            return drawn

        monkeypatch.setattr(self.theirs.np.random, "choice", choice)
        theirs = self.theirs.OrthogonalProcrustesAlignment(top_k, subsample).fit_transform(reference, data)
        ours = OrthogonalProcrustesAlignment(top_k, subsample, seed=seed).fit_transform(reference, data)
        np.testing.assert_allclose(ours, theirs, atol=1e-10, rtol=0)

    @pytest.mark.parametrize("post_norm", [False, True])
    @pytest.mark.parametrize("n_jobs", [0, 2])
    def test_ensemble(self, post_norm, n_jobs):
        embeddings = [normal(330 + i, 100, 5) for i in range(4)]
        with joblib.parallel_config(backend="threading"):
            ours = ensemble_embeddings(embeddings, post_norm=post_norm, n_jobs=n_jobs)
            theirs = self.theirs.ensemble_embeddings(embeddings, post_norm=post_norm, n_jobs=n_jobs)
        np.testing.assert_allclose(ours, theirs, atol=1e-10, rtol=0)

    def test_ensemble_with_labels(self):
        embeddings = [normal(340 + i, 80, 3) for i in range(3)]
        labels = [normal(350 + i, 80, 2) for i in range(3)]
        np.testing.assert_allclose(ensemble_embeddings(embeddings, labels),
                                   self.theirs.ensemble_embeddings(embeddings, labels), atol=1e-10, rtol=0)

    def test_loader_options(self):
        import cebra.data

        neural = torch.zeros(30, 2)
        index = {"continuous": torch.linspace(0, 1, 30)[:, None], "discrete": torch.arange(30) % 2}
        ours = get_loader_options(cebra_data.TensorDataset(neural, **index))
        theirs = self.theirs.get_loader_options(cebra.data.TensorDataset(neural, **index))
        assert names(ours) == names(theirs) == [
            "ContinuousDataLoader", "DiscreteDataLoader", "MixedDataLoader"]
        ours = get_loader_options(cebra_data.DatasetCollection(
            cebra_data.TensorDataset(neural, **index), cebra_data.TensorDataset(neural, **index)))
        theirs = self.theirs.get_loader_options(cebra.data.DatasetCollection(
            cebra.data.TensorDataset(neural, **index), cebra.data.TensorDataset(neural, **index)))
        assert names(ours) == names(theirs) == ["ContinuousMultiSessionDataLoader"]

    def test_cebra_fails_where_a_tensor_dataset_has_one_index(self):
        # a documented difference: CEBRA's TensorDataset raises for the missing index,
        # so its get_loader_options cannot list the options that we list
        import cebra.data

        dataset = cebra.data.TensorDataset(torch.zeros(30, 2), continuous=torch.zeros(30, 1))
        with pytest.raises(NotImplementedError):
            self.theirs.get_loader_options(dataset)
        ours = cebra_data.TensorDataset(torch.zeros(30, 2), continuous=torch.zeros(30, 1))
        assert names(get_loader_options(ours)) == ["ContinuousDataLoader"]


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda a: a.fit(np.zeros((20, 4)), np.zeros((20, 6))), "Invalid.*data"),
        (lambda a: a.fit(np.zeros((20, 4)), np.zeros((30, 4)), np.zeros((30, 1)), np.zeros((30, 1))),
         "Mismatched.*data.*labels"),
        (lambda a: a.fit(np.zeros((20, 4)), np.zeros((30, 4)), np.zeros((20, 1)), np.zeros((20, 1))),
         "Mismatched.*data.*labels"),
        (lambda a: a.fit(np.zeros((1, 4)), np.zeros((30, 4)), np.zeros((1, 1)), np.zeros((30, 1))),
         "Invalid.*reference.*data"),
        (lambda a: ensemble_embeddings([np.zeros((20, 4))] * 2, n_jobs=None), "Invalid.*n_jobs"),
        (lambda a: ensemble_embeddings([np.zeros((20, 4)), np.zeros((30, 4))]), "Inconsistent.*embeddings"),
    ],
)
def test_errors_keep_cebras_wording(call, match):
    # CEBRA's own tests (and users' handlers) match these words
    with pytest.raises(ValueError, match=match):
        call(OrthogonalProcrustesAlignment())
