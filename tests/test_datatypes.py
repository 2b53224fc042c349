import copy
import io
import pickle

import pytest
import torch

from cebra_data import Batch, BatchIndex, Offset


@pytest.mark.parametrize("args, left, right", [((3,), 3, 3), ((0, 1), 0, 1), ((5, 2), 5, 2)])
def test_offset_bounds_and_length(args, left, right):
    offset = Offset(*args)
    assert (offset.left, offset.right, len(offset)) == (left, right, left + right)
    assert tuple(offset) == (left, right)


@pytest.mark.parametrize(
    "args, error, match",
    [
        ((), ValueError, "one value .* or two values"),
        ((1, 2, 3), ValueError, "but got 3 values"),
        ((-1, 2), ValueError, "left bound should be >= 0, but got left=-1"),
        ((2, 0), ValueError, "right bound should be >= 1, but got right=0"),
        ((0,), ValueError, "right bound should be >= 1"),
        ((1.5, 2), TypeError, "left bound should be an integer, but got 1.5"),
        ((1, "2"), TypeError, "right bound should be an integer"),
        ((True, 2), TypeError, "should be an integer"),
    ],
)
def test_offset_rejects_bad_bounds(args, error, match):
    with pytest.raises(error, match=match):
        Offset(*args)


@pytest.mark.parametrize(
    "args, match",
    [((5, 0), "Invalid.*right"), ((0, 0), "Invalid.*right"), ((5, 5, 5), "Invalid.*number"),
     ((-2, 4), "Invalid.*bounds"), ((4, -2), "Invalid.*bounds")],
)
def test_offset_errors_keep_cebra_wording(args, match):
    # the patterns of CEBRA 0.6.1's tests/test_loader.py::test_offset
    with pytest.raises(ValueError, match=match):
        Offset(*args)


def test_offset_is_immutable_hashable_and_picklable():
    offset = Offset(2, 3)
    with pytest.raises(AttributeError, match="immutable"):
        offset.left = 4
    assert offset == Offset(2, 3) and offset != Offset(3, 2)
    assert len({Offset(2, 3), Offset(2, 3), Offset(1)}) == 2
    assert pickle.loads(pickle.dumps(offset)) == offset
    assert repr(offset) == "Offset(left=2, right=3, length=5)"


def test_offset_slices_and_mask_array():
    offset = Offset(2, 3)
    values = list(range(10))
    assert values[offset.left_slice] == [0, 1]
    assert values[offset.right_slice] == [7, 8, 9]
    assert values[offset.valid_slice] == [2, 3, 4, 5, 6]
    masked = offset.mask_array(torch.ones(10), 0)
    assert masked.tolist() == [0, 0, 1, 1, 1, 1, 1, 0, 0, 0]


def test_batch_index_defaults_and_fields():
    idx = BatchIndex(torch.tensor([1]), torch.tensor([2]), torch.tensor([3]))
    assert idx.index is None and idx.index_reversed is None
    assert idx._fields == ("reference", "positive", "negative", "index", "index_reversed")


def test_batch_to_moves_every_tensor():
    batch = Batch(torch.zeros(2, 3, 1), torch.zeros(2, 3, 1), torch.zeros(2, 3, 1),
                  index=torch.arange(4), index_reversed=torch.arange(4))
    moved = batch.to("meta")
    assert moved is batch
    assert all(getattr(batch, n).device.type == "meta" for n in Batch.__slots__)


# -- pickles: CEBRA's layout, both ways ------------------------------------------------

#: What CEBRA 0.6.1 writes for ``pickle.dumps(cebra.data.Offset(5, 5), protocol=2)``: the
#: class by name, NEWOBJ, then the slot state ``(None, {'left': 5, 'right': 5})``.
CEBRA_OFFSET_PICKLE = (
    b"\x80\x02ccebra.data.datatypes\nOffset\nq\x00)\x81q\x01N}q\x02(X\x04\x00\x00\x00leftq\x03K\x05"
    b"X\x05\x00\x00\x00rightq\x04K\x05u\x86q\x05b."
)


class _CebraNamesOurOffset(pickle.Unpickler):
    """Reads ``cebra.data.datatypes.Offset`` as ours, as under ``patch_cebra()``."""

    def find_class(self, module, name):
        if (module, name) == ("cebra.data.datatypes", "Offset"):
            return Offset
        return super().find_class(module, name)


def test_offset_reads_cebras_pickle_and_stays_immutable():
    offset = _CebraNamesOurOffset(io.BytesIO(CEBRA_OFFSET_PICKLE)).load()
    assert type(offset) is Offset and offset == Offset(5, 5)
    with pytest.raises(AttributeError, match="immutable"):
        offset.left = 1
    with pytest.raises(AttributeError, match="immutable"):
        offset.__setstate__((None, {"left": 1, "right": 1}))
    assert offset == Offset(5, 5)


def test_offset_pickles_in_cebras_layout_under_its_own_name():
    payload = pickle.dumps(Offset(5, 5), protocol=2)
    assert payload == CEBRA_OFFSET_PICKLE.replace(b"ccebra.data.datatypes\n", b"ccebra_data.datatypes\n")
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        assert pickle.loads(pickle.dumps(Offset(2, 3), protocol=protocol)) == Offset(2, 3)
    assert copy.copy(Offset(2, 3)) == Offset(2, 3) and copy.deepcopy(Offset(1)) == Offset(1)


def test_cebra_pickles_offset_the_way_we_recorded():
    cebra_data_module = pytest.importorskip("cebra.data")
    assert pickle.dumps(cebra_data_module.Offset(5, 5), protocol=2) == CEBRA_OFFSET_PICKLE


@pytest.mark.parametrize("state, error, match", [
    ((None, {"left": 1}), TypeError, "state"),
    ({"left": 1, "right": 2, "extra": 3}, TypeError, "state"),
    ("left=1", TypeError, "state"),
    ((None, {"left": -1, "right": 2}), ValueError, "left bound"),
    ((None, {"left": 1, "right": 0}), ValueError, "right bound"),
    ((None, {"left": 1.5, "right": 2}), TypeError, "integer"),
])
def test_offset_checks_an_unpickled_state(state, error, match):
    offset = Offset.__new__(Offset)
    with pytest.raises(error, match=match):
        offset.__setstate__(state)


def test_offset_loads_with_torch_weights_only(tmp_path):
    path = tmp_path / "offset.pt"
    torch.save({"offset_": Offset(5, 5)}, path)
    with torch.serialization.safe_globals([Offset]):
        assert torch.load(path, weights_only=True) == {"offset_": Offset(5, 5)}
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)  # not an allowed global without the list
