"""cebra_data.align: behaviour resampled on another clock, never extrapolated."""

import numpy as np
import pytest
import torch

from cebra_data import align
from cebra_data.align import coverage


def _position(seed=0):
    """A 30 Hz position signal starting at 0.5 s, and 15 Hz target times from 0 s."""
    rng = np.random.default_rng(seed)
    times = 0.5 + np.arange(90) / 30.0
    values = np.cumsum(rng.normal(size=(90, 2)), axis=0)
    targets = np.arange(60) / 15.0
    return values, times, targets


def test_linear_equals_numpy_interp_inside_and_nan_outside():
    values, times, targets = _position()
    out = align(values, times, targets)
    inside = (targets >= times[0]) & (targets <= times[-1])
    assert inside.any() and (~inside).any()
    for column in range(2):
        np.testing.assert_allclose(out[inside, column], np.interp(targets[inside], times, values[:, column]))
    assert np.isnan(out[~inside]).all()


def test_range_ends_are_covered_and_nothing_is_extrapolated():
    times = np.array([1.0, 2.0, 3.0])
    out = align(np.array([10.0, 20.0, 30.0]), times, [0.999, 1.0, 3.0, 3.001])
    np.testing.assert_array_equal(np.isnan(out), [True, False, False, True])
    np.testing.assert_array_equal(out[1:3], [10.0, 30.0])


def test_nearest_and_previous_for_labels():
    times = np.array([0.0, 1.0, 2.0, 3.0])
    labels = np.array([5, 6, 7, 8])
    targets = np.array([0.4, 0.5, 0.6, 2.99, 3.0, 3.5, -0.1])
    nearest = align(labels, times, targets, method="nearest")
    previous = align(labels, times, targets, method="previous")
    np.testing.assert_array_equal(nearest[:5], [5, 5, 6, 8, 8])  # a tie goes to the earlier sample
    np.testing.assert_array_equal(previous[:5], [5, 5, 5, 7, 8])
    assert np.isnan(nearest[5:]).all() and np.isnan(previous[5:]).all()


def test_max_gap_leaves_long_gaps_uncovered():
    times = np.array([0.0, 1.0, 5.0, 6.0])
    values = np.array([0.0, 1.0, 5.0, 6.0])
    targets = np.array([0.5, 1.0, 3.0, 5.0, 5.5])
    out = align(values, times, targets, max_gap=2.0)
    np.testing.assert_array_equal(np.isnan(out), [False, False, True, False, False])
    np.testing.assert_array_equal(coverage(times, targets, max_gap=2.0), ~np.isnan(out))
    assert not np.isnan(align(values, times, targets)).any()  # no max_gap: bridged


def test_missing_samples_stay_missing():
    out = align(np.array([0.0, np.nan, 2.0, 3.0]), [0.0, 1.0, 2.0, 3.0], [0.5, 1.5, 2.5])
    np.testing.assert_array_equal(np.isnan(out), [True, True, False])


def test_shapes_and_torch_input():
    times = torch.arange(10, dtype=torch.float64)
    assert align(torch.zeros(10), times, [1.5]).shape == (1,)
    assert align(np.zeros((10, 3, 2)), times, [1.5, 2.5]).shape == (2, 3, 2)


@pytest.mark.parametrize("times, message", [
    ([0.0, 2.0, 1.0], "strictly increasing"),
    ([0.0, 1.0, 1.0], "strictly increasing"),
    ([0.0, np.nan, 2.0], "finite"),
    ([0.0, np.inf, 2.0], "finite"),
    ([[0.0, 1.0, 2.0]], "1-D"),
])
def test_bad_times_are_rejected(times, message):
    with pytest.raises(ValueError, match=message):
        align(np.zeros(3), times, [0.5])


def test_other_errors():
    with pytest.raises(ValueError, match="same length"):
        align(np.zeros(4), [0.0, 1.0, 2.0], [0.5])
    with pytest.raises(ValueError, match="target_times should be finite"):
        align(np.zeros(3), [0.0, 1.0, 2.0], [0.5, np.nan])
    with pytest.raises(ValueError, match="method"):
        align(np.zeros(3), [0.0, 1.0, 2.0], [0.5], method="cubic")
    with pytest.raises(ValueError, match="max_gap"):
        align(np.zeros(3), [0.0, 1.0, 2.0], [0.5], max_gap=0)
    with pytest.raises(ValueError, match="infinite"):
        align(np.array([0.0, np.inf, 1.0]), [0.0, 1.0, 2.0], [0.5])
    with pytest.raises(ValueError, match="2\\*\\*53"):
        align(np.array([0, 2**60, 1]), [0.0, 1.0, 2.0], [0.5], method="nearest")
    with pytest.raises(TypeError, match="real numbers"):
        align(np.array(["a", "b", "c"]), [0.0, 1.0, 2.0], [0.5])


def test_integer_nanosecond_clocks_keep_every_nanosecond():
    # float64 keeps integers exactly only to 2**53: Unix nanoseconds (1.7e18) lose 256 ns
    start = 1_700_000_000_000_000_000
    times = start + np.arange(100, dtype=np.int64) * 1_000
    values = np.arange(100.0)
    np.testing.assert_allclose(align(values, times, times + 1), np.r_[values[:-1] + 0.001, np.nan])
    np.testing.assert_array_equal(align(values, times, times[:3] + 500), [0.5, 1.5, 2.5])
    unsigned = times.astype(np.uint64)
    np.testing.assert_array_equal(align(values, unsigned, unsigned[:3] + 500), [0.5, 1.5, 2.5])
    assert coverage(times, np.array([start - 1, start, start + 99_000, start + 99_001])).tolist() == \
        [False, True, True, False]
    with pytest.raises(ValueError, match=r"times\[1\] = 1700000000000000001 follows times\[0\] = "
                                         r"1700000000000000002"):
        align(np.arange(2.0), np.array([start + 2, start + 1]), np.array([start]))


def test_large_integer_clock_beside_a_float_clock_is_refused():
    times = 2**60 + np.arange(10, dtype=np.int64)
    with pytest.raises(ValueError, match="times holds integers beyond 2\\*\\*53.*other clock holds floats"):
        align(np.arange(10.0), times, times.astype(float))
    with pytest.raises(ValueError, match="span .* more than the 2\\*\\*53"):
        align(np.arange(2.0), np.array([-(2**60), 2**60]), np.array([0]))


def test_align_takes_pandas_clocks_and_values():
    pd = pytest.importorskip("pandas")
    times = np.array([0.0, 1.0, 2.0])
    frame = pd.DataFrame({"x": [0.0, 2.0, 4.0]})
    np.testing.assert_array_equal(align(frame, pd.Series(times), pd.Index([0.5, 1.5])),
                                  align(frame.to_numpy(), times, [0.5, 1.5]))
