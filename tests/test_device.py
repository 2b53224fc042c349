"""A device the machine lacks is refused where the user names it, with what is available."""

import numpy as np
import pytest
import torch

import cebra_data
from cebra_data.device import available_devices, normalize_device
from cebra_data.errors import DeviceUnavailableError

MISSING = [name for name, present in [
    ("cuda", torch.cuda.is_available()),
    ("cuda:7", torch.cuda.device_count() > 7),
    ("mps", getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()),
] if not present]


@pytest.mark.parametrize("device", MISSING)
def test_a_missing_device_is_a_clear_error_at_construction(device):
    with pytest.raises(DeviceUnavailableError, match=rf"device='{device}' is not available on this "
                                                      r"machine: .*Available devices: 'cpu'"):
        cebra_data.TensorDataset(np.zeros((10, 2)), continuous=np.zeros(10), device=device)


@pytest.mark.parametrize("device", MISSING)
def test_a_missing_device_is_a_clear_error_when_moving(device):
    dataset = cebra_data.TensorDataset(np.zeros((10, 2)), continuous=np.zeros(10))
    with pytest.raises(DeviceUnavailableError, match="is not available"):
        dataset.to(device)
    assert dataset.device == "cpu" and dataset.neural.device.type == "cpu"  # nothing moved


def test_the_error_is_catchable_as_torch_and_as_a_bad_argument():
    assert issubclass(DeviceUnavailableError, RuntimeError) and issubclass(DeviceUnavailableError, ValueError)


@pytest.mark.skipif(torch.version.cuda is not None, reason="this torch has CUDA")
def test_a_cpu_only_torch_is_named_as_the_reason():
    with pytest.raises(DeviceUnavailableError, match=r"built without CUDA"):
        normalize_device("cuda:0")


def test_available_devices_start_with_the_cpu_and_are_accepted():
    found = available_devices()
    assert found[0] == "cpu"
    assert [normalize_device(d) for d in found] == found
    assert normalize_device("meta") == "meta"


def test_meta_device_is_refused_where_values_are_needed_and_moving_there_still_works():
    import numpy as np

    import cebra_data
    from cebra_data.errors import DeviceUnavailableError

    neural = np.random.default_rng(0).normal(size=(60, 3)).astype(np.float32)
    labels, trials = np.arange(60) % 3, np.arange(60) // 10
    with pytest.raises(DeviceUnavailableError, match="building a TensorDataset cannot work on "
                                                     "device='meta'.*Available devices: 'cpu'"):
        cebra_data.TensorDataset(neural, discrete=labels, device="meta")
    dataset = cebra_data.TensorDataset(neural, discrete=labels, trial_ids=trials)
    loader = cebra_data.DiscreteDataLoader(dataset, num_steps=1, batch_size=4, seed=0)
    with pytest.raises(DeviceUnavailableError, match="a loader cannot work on device='meta'"):
        loader.to("meta")
    assert loader.device == "cpu"  # refused before anything moved
    moved = dataset.to("meta")
    assert moved.neural.device.type == "meta"
    assert "discrete_labels=?, trials=?" in repr(moved) and "device='meta'" in repr(moved)
    with pytest.raises(DeviceUnavailableError, match="a loader cannot work on device='meta'"):
        cebra_data.DiscreteDataLoader(moved, num_steps=1, batch_size=4)
