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
