import warnings

import numpy as np
import pytest
import torch

from cebra_data import (BatchIndex, DatasetCollection, Offset, TensorDataset,
                        UnifiedDataset)
from cebra_data.errors import DimensionMismatchError, PrecisionWarning

RNG = np.random.default_rng(0)
NEURAL = RNG.normal(size=(50, 6)).astype(np.float32)


def test_tensor_dataset_dtypes_and_shapes():
    ds = TensorDataset(NEURAL.astype(np.float64), continuous=np.arange(50.0), discrete=np.arange(50) % 3)
    assert ds.neural.dtype == torch.float32 and ds.continuous.shape == (50, 1)
    assert ds.continuous.dtype == torch.float32 and ds.discrete.dtype == torch.long
    assert ds.offset == Offset(0, 1) and len(ds) == 50 and ds.input_dimension == 6


def test_float32_arrays_are_shared_not_copied():
    neural = NEURAL.copy()
    neural.flags.writeable = False
    ds = TensorDataset(neural, continuous=np.zeros(50, dtype=np.float32))
    assert ds.neural.data_ptr() == neural.ctypes.data


def test_integer_neural_is_converted_to_float32():
    counts = RNG.poisson(2.0, size=(50, 4))
    ds = TensorDataset(counts, discrete=np.zeros(50, dtype=int))
    assert ds.neural.dtype == torch.float32
    assert np.array_equal(ds.neural.numpy(), counts.astype(np.float32))
    with pytest.warns(UserWarning, match="beyond 2\\*\\*24: converting torch.int64 to float32 rounds"):
        TensorDataset(np.full((5, 2), 2**25 + 1), discrete=np.zeros(5, dtype=int))


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(neural=NEURAL), ValueError, "needs at least one index"),
        (dict(neural=NEURAL[:, 0], continuous=np.zeros(50)), ValueError,
         "2-D array .* but got a 1-D array of shape \\(50,\\). Reshape your data using array.reshape\\(-1, 1\\)"),
        (dict(neural=NEURAL[None], continuous=np.zeros(50)), ValueError, "but got a 3-D array"),
        (dict(neural=NEURAL, continuous=np.zeros(49)), ValueError,
         "inconsistent numbers of samples: neural=50, continuous=49"),
        (dict(neural=NEURAL, discrete=np.zeros(51, dtype=int)), ValueError,
         "inconsistent numbers of samples: neural=50, discrete=51"),
        (dict(neural=NEURAL, discrete=np.zeros(50)), TypeError,
         "discrete should hold integer labels, but got dtype torch.float64"),
        (dict(neural=NEURAL, discrete=np.zeros((50, 2), dtype=int)), ValueError,
         "discrete should be a 1-D array of integer labels"),
        (dict(neural=NEURAL, continuous=np.zeros((50, 2, 2))), ValueError,
         "continuous should be a 1-D array .* but got a 3-D array"),
        (dict(neural=np.zeros((0, 3)), continuous=np.zeros(0)), ValueError, "neural is empty"),
        (dict(neural=np.where(np.arange(300).reshape(50, 6) == 13, np.nan, NEURAL), continuous=np.zeros(50)),
         ValueError, "neural contains 1 NaN and 0 infinite values \\(first at time step 2, feature 1\\)"),
        (dict(neural=np.full((50, 6), np.inf), continuous=np.zeros(50)), ValueError, "0 NaN and 300 infinite"),
        (dict(neural=NEURAL, continuous=np.full(50, np.inf)), ValueError, "continuous contains 50 infinite"),
        (dict(neural=NEURAL.tolist(), continuous=np.zeros(50)), TypeError,
         "neural should be a numpy array, a torch.Tensor or an array-like such as a pandas DataFrame or Series, but got list"),
        (dict(neural=NEURAL.astype(str), continuous=np.zeros(50)), TypeError, "numeric array, but got an array of dtype <U"),
        (dict(neural=NEURAL, continuous=np.zeros(50), offset=Offset(30, 30)), ValueError,
         "recording has 50 samples, fewer than the 60 samples of one window"),
        (dict(neural=NEURAL, continuous=np.zeros(50), offset="5"), TypeError, "Invalid offset: offset should be a cebra_data.Offset"),
        (dict(neural=NEURAL, continuous=np.zeros(50), trial_ids=[0] * 20 + [1] * 20 + [0] * 10), ValueError,
         "contiguous block .* trial\\(s\\) \\[0\\] appear in several separate blocks"),
        (dict(neural=NEURAL, continuous=np.zeros(50), trial_ids=[0] * 10), ValueError,
         "neural=50, trial_ids=10"),
    ],
)
def test_tensor_dataset_validation_messages(kwargs, error, match):
    with pytest.raises(error, match=match):
        TensorDataset(**kwargs)


def test_nan_continuous_labels_are_excluded_and_counted():
    continuous = np.arange(50.0)
    continuous[[3, 10, 11]] = np.nan
    ds = TensorDataset(NEURAL, continuous=continuous)
    assert ds.num_excluded == 3
    assert not ds.sample_mask()[[3, 10, 11]].any() and int(ds.sample_mask().sum()) == 47


def test_load_batch_shapes_single_session():
    ds = TensorDataset(NEURAL, continuous=np.zeros(50), offset=Offset(2, 3))
    idx = BatchIndex(torch.arange(2, 10), torch.arange(2, 18), torch.arange(2, 6))
    batch = ds.load_batch(idx)
    assert batch.reference.shape == (8, 6, 5)
    assert batch.positive.shape == (16, 6, 5)
    assert batch.negative.shape == (4, 6, 5)
    assert torch.equal(batch.reference[0], torch.as_tensor(NEURAL[0:5]).T)


def _sessions(lengths=(40, 50, 60), dims=(5, 7, 9), cdim=3):
    gen = torch.Generator().manual_seed(1)
    return [TensorDataset(torch.randn(n, d, generator=gen), continuous=torch.randn(n, cdim, generator=gen),
                          discrete=torch.arange(n) % 2)
            for n, d in zip(lengths, dims)]


def test_collection_accepts_args_list_and_generator():
    sessions = _sessions()
    for collection in (DatasetCollection(*sessions), DatasetCollection(sessions),
                       DatasetCollection(s for s in sessions)):
        assert collection.num_sessions == 3
        assert collection.session_lengths == [40, 50, 60]
        assert collection.continuous_index.shape == (150, 3)
        assert collection.discrete_index.shape == (150,)
        assert [collection.get_input_dimension(i) for i in range(3)] == [5, 7, 9]


@pytest.mark.parametrize(
    "args, error, match",
    [
        ((), ValueError, "needs at least one session"),
        ((np.zeros(3),), TypeError, "but session 0 is a ndarray"),
        (("abc",), TypeError, "but session 0 is a str"),
    ],
)
def test_collection_says_what_it_got(args, error, match):
    with pytest.raises(error, match=match):
        DatasetCollection(*args)


def test_collection_rejects_mismatched_index_dimensions():
    a, b, c = _sessions()
    c2 = TensorDataset(torch.zeros(30, 4), continuous=torch.zeros(30, 2), discrete=torch.zeros(30, dtype=torch.long))
    with pytest.raises(DimensionMismatchError, match="session 0: 3, session 1: 3, session 2: 2"):
        DatasetCollection(a, b, c2)
    no_discrete = TensorDataset(torch.zeros(30, 4), continuous=torch.zeros(30, 3))
    with pytest.raises(DimensionMismatchError, match="session\\(s\\) \\[1\\] have no discrete_index"):
        DatasetCollection(a, no_discrete)
    other = TensorDataset(torch.zeros(30, 4), continuous=torch.zeros(30, 3), discrete=torch.zeros(30, dtype=torch.long),
                          offset=Offset(2, 2))
    with pytest.raises(ValueError, match="must use one offset"):
        DatasetCollection(a, other)


def test_collection_load_batch_and_configure_for():
    collection = DatasetCollection(_sessions())

    class M:
        def __init__(self, o):
            self.o = o

        def get_offset(self):
            return self.o

    collection.configure_for(M(Offset(2, 3)))
    assert all(s.offset == Offset(2, 3) for s in collection.iter_sessions())
    collection.configure_for([M(Offset(1, 1))] * 3)
    assert collection.offset == Offset(1, 1)
    with pytest.raises(ValueError, match="one model per session \\(3\\), but got 2"):
        collection.configure_for([M(Offset(1, 1))] * 2)
    with pytest.raises(ValueError, match="disagree in their offsets"):
        collection.configure_for([M(Offset(1, 1)), M(Offset(2, 2)), M(Offset(1, 1))])
    ref = torch.tensor([[1, 2], [3, 4], [5, 6]])
    perm = torch.arange(6)
    batches = collection.load_batch(BatchIndex(ref, ref, ref, perm, perm))
    assert [b.reference.shape for b in batches] == [(2, d, 2) for d in (5, 7, 9)]
    assert all(b.index is perm for b in batches)
    assert collection[1, torch.tensor([3])].shape == (1, 7, 2)
    with pytest.raises(IndexError, match="session_id should be in 0 .. 2, but got 3"):
        collection[3, torch.tensor([0])]
    with pytest.raises(ValueError, match="one row of reference indices per session \\(3\\), but got 2"):
        collection.load_batch(BatchIndex(ref[:2], ref, ref))
    assert collection.sample_mask().shape == (150,)


def test_unified_dataset_concatenates_neurons():
    sessions = _sessions()
    unified = UnifiedDataset(sessions)
    assert unified.input_dimension == 21
    ref = torch.tensor([[1, 2], [3, 4], [5, 6]])
    batch = unified.load_batch(BatchIndex(ref, ref, ref))
    assert batch.reference.shape == (2, 21, 1)
    assert torch.equal(batch.reference[0, 5:12, 0], sessions[1].neural[3])
    with pytest.raises(TypeError, match="one model with get_offset"):
        unified.configure_for([object()])


def test_to_device_moves_datasets_and_collections():
    sessions = _sessions()
    collection = DatasetCollection(sessions).to("meta")
    assert collection.device == "meta"
    assert collection.continuous_index.device.type == "meta"
    assert all(s.neural.device.type == "meta" for s in collection.iter_sessions())
    with pytest.raises(ValueError, match="must be on one device"):
        DatasetCollection(_sessions()[0], sessions[1])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_round_trip():
    ds = TensorDataset(NEURAL, continuous=np.zeros(50), device="cuda")
    assert ds.neural.is_cuda and ds[torch.arange(3, device="cuda")].is_cuda
    assert ds.to("cpu").neural.device.type == "cpu"


# -- cebra.data's private TensorDataset._to_tensor, kept for code that calls it ---------------


@pytest.mark.parametrize(
    "array, check_dtype, dtype",
    [
        (np.zeros((4, 3)), "float", torch.float32),
        (np.arange(12).reshape(4, 3), "int", torch.int64),
        (torch.zeros(4, 3, dtype=torch.float64), "float", torch.float32),
        (torch.arange(4, dtype=torch.int32), None, torch.int64),
    ],
)
def test_to_tensor_converts_like_cebra(array, check_dtype, dtype):
    ds = TensorDataset(np.zeros((10, 2)), continuous=np.zeros((10, 1)))
    out = ds._to_tensor(array, check_dtype=check_dtype)
    assert isinstance(out, torch.Tensor) and out.dtype == dtype
    assert np.array_equal(out.numpy(), np.asarray(array))
    assert ds._to_tensor(None) is None


def test_to_tensor_checks_the_kind():
    ds = TensorDataset(np.zeros((10, 2)), continuous=np.zeros((10, 1)))
    with pytest.raises(TypeError, match="instead of int"):
        ds._to_tensor(np.zeros(3), check_dtype="int")
    with pytest.raises(TypeError, match="instead of float"):
        ds._to_tensor(np.arange(3), check_dtype="float")
    with pytest.raises(ValueError, match="check_dtype must be 'int' or 'float', got"):
        ds._to_tensor(np.zeros(3), check_dtype="double")


# -- inputs that used to be misread (issue 12) -------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint16, np.uint32, np.uint64])
def test_wide_unsigned_neural_data_keeps_its_values(dtype):
    counts = (np.arange(60) * 997 % 50_000).astype(dtype).reshape(20, 3)
    ds = TensorDataset(counts, continuous=np.zeros(20))
    np.testing.assert_array_equal(ds.neural.numpy(), counts.astype(np.float32))
    torch_counts = torch.from_numpy(counts.astype(np.int64)).to(torch.uint16 if dtype == np.uint16 else torch.int64)
    assert TensorDataset(torch_counts, continuous=np.zeros(20)).neural.dtype == torch.float32


def test_negative_strides_and_float32_overflow_are_handled():
    x = np.arange(40, dtype=np.float32).reshape(20, 2)[::-1]
    np.testing.assert_array_equal(TensorDataset(x, continuous=np.zeros(20)).neural.numpy(), x)
    with pytest.raises(ValueError, match="beyond float32's largest"):
        TensorDataset(np.full((20, 2), 1e300), continuous=np.zeros(20))


@pytest.mark.parametrize("labels, before, after", [
    (1.7e9 + np.arange(200.0), 200, 3),                   # absolute Unix time stamps, 1 s apart
    (2.0**24 + np.arange(100.0), 100, 51),                # integer codes stored as floats, beyond 2**24
    (1000.0 + np.arange(5000) * 1e-5, 5000, 820),         # a fine signal on a large offset
])
def test_float64_labels_that_float32_would_change_warn(labels, before, after):
    with pytest.warns(PrecisionWarning, match=f"merges {before} distinct values into {after}"):
        TensorDataset(np.zeros((len(labels), 2)), continuous=labels)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TensorDataset(np.zeros((len(labels), 2)), continuous=labels - labels[0])


def test_int64_labels_beyond_float32_warn_naming_int64_and_round_once():
    # 2**53 + 2**29 + 1 rounds to 2**53 + 2**30 directly, but to 2**53 via float64 (twice rounded)
    big = np.array([2**53 + 2**29 + 1, 2**53 + 1, 2**53 + 3, 5] * 5, dtype=np.int64)
    with pytest.warns(PrecisionWarning, match=r"continuous has integer values up to 9007199791611905, "
                      r"beyond 2\*\*24: converting torch\.int64 to torch\.float32 rounds 15 of them and "
                      r"merges 4 distinct values into 3 \(column 0\)") as record:
        ds = TensorDataset(np.zeros((20, 2)), continuous=big)
    assert "float64" not in str(record[0].message)
    assert ds.continuous_index[:4, 0].tolist() == torch.from_numpy(big[:4]).to(torch.float32).tolist()
    assert ds.continuous_index[0, 0].item() == 2.0**53 + 2.0**30


def test_integer_labels_that_float32_rounds_without_merging_still_warn():
    labels = np.array([2**24 + 1, 2**25 + 1, 3, 4] * 5, dtype=np.int64)  # rounded, still distinct
    with pytest.warns(PrecisionWarning, match=r"converting torch\.int64 to torch\.float32 rounds 10 of them\. "):
        TensorDataset(np.zeros((20, 2)), continuous=labels)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TensorDataset(np.zeros((15, 2)), continuous=np.array([2**24, 2**24 + 2, -2**24] * 5))  # exact


@pytest.mark.parametrize("make", [
    lambda rng: rng.uniform(0, 1.6, size=(10_000, 1)),        # the README's position
    lambda rng: rng.uniform(0, 1.6, size=(1_000_000, 1)),     # dense: many float32 merges
    lambda rng: rng.normal(size=(200_000, 3)) * 50,           # 3-D behaviour
    lambda rng: np.arange(108_000)[:, None] / 30.0,          # time stamps of an hour at 30 Hz
    lambda rng: np.cumsum(rng.normal(size=(100_000, 2)) * 1e-4, axis=0),  # a slow random walk
])
def test_ordinary_float64_behaviour_converts_without_a_warning(make):
    labels = make(np.random.default_rng(0))
    merged = np.unique(labels.astype(np.float32)).size < np.unique(labels).size
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dataset = TensorDataset(np.zeros((len(labels), 1), np.float32), continuous=labels)
    np.testing.assert_array_equal(dataset.continuous_index.numpy(), labels.astype(np.float32).reshape(len(labels), -1))
    if labels.shape[0] == 1_000_000:
        assert merged  # the case the old rule warned about: values a float32 step apart merge


def test_float_trial_ids_are_named_as_trial_ids():
    with pytest.raises(TypeError, match="trial_ids should hold integer labels"):
        TensorDataset(np.zeros((20, 2)), continuous=np.zeros(20), trial_ids=np.zeros(20))


# --- pandas and other array-likes --------------------------------------------------------


class _ArrayLike:
    """Anything with ``__array__`` (as xarray, h5py or array-API objects)."""

    def __init__(self, values):
        self.values = values

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.values, dtype=dtype)


def test_pandas_inputs_give_the_values_numpy_gives():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    neural = pd.DataFrame(rng.poisson(1.0, size=(300, 4)), columns=list("abcd"))
    behaviour = pd.DataFrame({"x": rng.uniform(size=300), "y": rng.integers(0, 5, size=300)},
                             index=np.arange(1000, 1300))  # the index is not used
    labels = pd.Series(rng.integers(0, 3, size=300), name="trial type")
    ds = TensorDataset(neural, continuous=behaviour, discrete=labels, offset=(2, 3))
    reference = TensorDataset(neural.to_numpy(), continuous=behaviour.to_numpy(),
                              discrete=labels.to_numpy(), offset=(2, 3))
    assert torch.equal(ds.neural, reference.neural)
    assert torch.equal(ds.continuous_index, reference.continuous_index)
    assert torch.equal(ds.discrete_index, reference.discrete_index)
    assert ds.discrete_categories is None
    other = TensorDataset(_ArrayLike(neural.to_numpy()), continuous=_ArrayLike(behaviour.to_numpy()))
    assert torch.equal(other.neural, reference.neural)


def test_nullable_pandas_columns_keep_their_missing_values_as_nan():
    pd = pytest.importorskip("pandas")
    behaviour = pd.Series([0.1, None, 0.3, 0.4] * 5, dtype="Float64")
    ds = TensorDataset(np.zeros((20, 2)), continuous=behaviour)
    assert torch.isnan(ds.continuous_index[1::4]).all() and ds.num_excluded == 5
    counts = pd.Series(np.arange(20), dtype="Int64")
    assert torch.equal(TensorDataset(pd.DataFrame({"n": counts}), discrete=counts).discrete_index,
                       torch.arange(20))


@pytest.mark.parametrize("dtype, values", [("Int64", [1, None, 2, 3]), ("boolean", [True, None, False, True])])
@pytest.mark.parametrize("argument", ["discrete", "trial_ids"])
def test_nullable_pandas_labels_with_na_are_reported_as_missing_labels(dtype, values, argument):
    pd = pytest.importorskip("pandas")
    labels = pd.Series(values * 5, dtype=dtype)
    kwargs = {"discrete": labels} if argument == "discrete" else {"continuous": np.zeros(20), "trial_ids": labels}
    # it said "should hold integer labels, but got dtype torch.float64 ... labels.astype(int)"
    with pytest.raises(ValueError, match=rf"^{argument} has 5 missing labels \(pd\.NA in a pandas column of "
                                         rf"dtype {dtype}\); a discrete index needs a label at every time step\.$"):
        TensorDataset(np.zeros((20, 2)), **kwargs)
    with pytest.raises(ValueError, match="discrete has 5 missing labels"):
        TensorDataset(np.zeros((20, 2)), discrete=pd.DataFrame({"label": labels}))


def test_float_discrete_labels_with_nan_name_the_missing_labels():
    pd = pytest.importorskip("pandas")
    for labels in (np.array([1.0, np.nan, 2.0, 3.0] * 5), pd.Series([1.0, np.nan, 2.0, 3.0] * 5)):
        with pytest.raises(TypeError, match="should hold integer labels, .* It also has 5 NaN values, missing labels"):
            TensorDataset(np.zeros((20, 2)), discrete=labels)


def test_nullable_pandas_neural_and_continuous_na_count_as_nan():
    pd = pytest.importorskip("pandas")
    frames = pd.Series([1, None, 2, 3] * 5, dtype="Int64")
    ds = TensorDataset(np.zeros((20, 2)), continuous=frames)  # NA: a missing label, excluded from sampling
    assert torch.isnan(ds.continuous_index[1::4]).all() and ds.num_excluded == 5
    # booleans are no continuous labels, with or without NA (NA made them float64 before)
    for flags in (pd.Series([True, None, False, True] * 5, dtype="boolean"), pd.Series([True, False] * 10)):
        with pytest.raises(TypeError, match=r"continuous should hold real numbers .* dtype (boolean|bool)"):
            TensorDataset(np.zeros((20, 2)), continuous=flags)
    counts = pd.DataFrame({"a": pd.Series([1, None, 2, 3] * 5, dtype="Int64"), "b": np.arange(20)})
    with pytest.raises(ValueError, match=r"neural contains 5 NaN and 0 infinite values \(first at time step 1, feature 0\)"):
        TensorDataset(counts, continuous=np.zeros(20))
    masked = TensorDataset(counts, continuous=np.zeros(20), neural_nan="mask")
    assert masked.num_missing_neural == 5 and not bool(masked.sample_mask()[1::4].any())


@pytest.mark.parametrize("kind", ["object", "string", "category", "numpy"])
def test_text_labels_become_codes_with_their_categories_kept(kind):
    pd = pytest.importorskip("pandas")
    words = ["right", "left", "left", "right", "stop"] * 10
    labels = np.array(words) if kind == "numpy" else pd.Series(words, dtype=kind)
    ds = TensorDataset(np.zeros((50, 2)), discrete=labels)
    categories = ds.discrete_categories
    assert sorted(categories) == ["left", "right", "stop"]
    decoded = [categories[code] for code in ds.discrete_index.tolist()]
    assert decoded == words  # equal labels, equal codes; each code maps back to its label
    split = ds.replace(offset=Offset(1, 1))
    assert split.discrete_categories == categories


def test_a_categorical_keeps_its_own_category_order_and_unused_categories():
    pd = pytest.importorskip("pandas")
    labels = pd.Categorical(["b", "a", "b"] * 4, categories=["b", "a", "c"])
    ds = TensorDataset(np.zeros((12, 2)), discrete=labels)
    assert ds.discrete_categories == ("b", "a", "c")
    assert ds.discrete_index.tolist() == [0, 1, 0] * 4


@pytest.mark.parametrize("labels, error, match", [
    (["a", None, "b"] * 4, ValueError, "1 missing labels|4 missing labels"),
    (np.array(["a", 1, "b"] * 4, dtype=object), TypeError, "mixes labels of kinds int, str"),
])
def test_text_labels_with_gaps_or_mixed_kinds_are_refused(labels, error, match):
    pd = pytest.importorskip("pandas")
    if isinstance(labels, list):
        labels = pd.Series(labels)
    with pytest.raises(error, match=match):
        TensorDataset(np.zeros((12, 2)), discrete=labels)


def test_sessions_whose_text_labels_were_coded_apart_cannot_be_collected():
    pd = pytest.importorskip("pandas")
    first = TensorDataset(np.zeros((12, 2)), discrete=pd.Series(["a", "b"] * 6))
    second = TensorDataset(np.zeros((12, 3)), discrete=pd.Series(["b", "c"] * 6))
    with pytest.raises(DimensionMismatchError, match="coded separately"):
        DatasetCollection(first, second)
    shared = ["a", "b", "c"]
    DatasetCollection(
        TensorDataset(np.zeros((12, 2)), discrete=pd.Categorical(["a", "b"] * 6, categories=shared)),
        TensorDataset(np.zeros((12, 3)), discrete=pd.Categorical(["b", "c"] * 6, categories=shared)),
    )


def test_non_numeric_dataframe_columns_are_named():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"x": np.arange(10.0), "name": ["a"] * 10})
    with pytest.raises(TypeError, match=r"column\(s\) 'name'"):
        TensorDataset(np.zeros((10, 2)), continuous=frame)
