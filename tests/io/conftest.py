"""Shared fixtures and file builders for the io tests (all files are written in tmp_path)."""

from __future__ import annotations

import pathlib
from collections.abc import Sequence
from typing import Optional

import numpy as np
import pandas as pd
import pytest

from cebra_data.errors import CebraDataError

#: The DeepLabCut files of ../shared/ (beside the checkout, as CI lays it out), else this machine's copy.
DLC_DIR = next(
    (folder for folder in (
        pathlib.Path(__file__).resolve().parents[3] / "shared" / "data" / "deeplabcut",
        pathlib.Path("/work/shared/data/deeplabcut"),
    ) if folder.is_dir()),
    pathlib.Path("/work/shared/data/deeplabcut"),
)
DLC_FILES = sorted(DLC_DIR.glob("CollectedData_*.*")) if DLC_DIR.exists() else []


def dlc_frame(
    values: np.ndarray,
    bodyparts: Sequence[str],
    *,
    individuals: Optional[Sequence[str]] = None,
    likelihood: bool = True,
    scorer: str = "DLC_resnet50",
) -> pd.DataFrame:
    """A DeepLabCut-shaped DataFrame; ``values`` has one column per (individual, bodypart, coord)."""
    coords = ["x", "y", "likelihood"] if likelihood else ["x", "y"]
    if individuals is None:
        columns = pd.MultiIndex.from_product(
            [[scorer], bodyparts, coords], names=["scorer", "bodyparts", "coords"]
        )
    else:
        columns = pd.MultiIndex.from_product(
            [[scorer], individuals, bodyparts, coords],
            names=["scorer", "individuals", "bodyparts", "coords"],
        )
    return pd.DataFrame(values, columns=columns)


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator (seed 0) for test data."""
    return np.random.default_rng(0)


def raises_naming_file(call, path: pathlib.Path, error: type, *fragments: str) -> Exception:
    """``call(path)`` raises exactly ``error`` (a cebra_data error) naming the file and every fragment."""
    with pytest.raises(CebraDataError) as info:
        call(path)
    assert type(info.value) is error, f"{type(info.value).__name__}: {info.value}"
    message = str(info.value)
    assert path.name in message, message
    for fragment in fragments:
        assert fragment in message, message
    return info.value
