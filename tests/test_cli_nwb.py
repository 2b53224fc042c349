"""``cebra-data inspect`` and ``cebra-data demo --nwb`` on an NWB file, local and by URL."""

from __future__ import annotations

import pathlib
import sys

import pytest

from cebra_data import cli

pytest.importorskip("pynwb")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "io"))
from _nwb_sessions import POS, TRIALS, write_session  # noqa: E402
from _range_server import RangeServer  # noqa: E402


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli_nwb") / "session.nwb"
    write_session(path)
    return path


def test_inspect_lists_series_units_and_intervals_with_the_paths_to_pass(session, capsys):
    with RangeServer({"session.nwb": session}) as server:
        for source in (str(session), server.redirect_url("session.nwb")):
            assert cli.main(["inspect", source]) == 0
            out = capsys.readouterr().out
            assert f"{source}  (nwb)" in out
            assert f"* {POS}: shape 850x2, dtype float64, NaN 0" in out
            assert "SpatialSeries: 50 Hz (rate), 0 .. 16.98 s" in out
            assert "units table: 4 units, 445 spikes" in out
            assert ("read it with spike_counts(path, bin_size) or TensorDataset.from_nwb(path, "
                    "neural='units', bin_size=...)") in out
            assert ("interval table intervals/trials: 8 intervals, 1 .. 16.5 s; columns: "
                    "stimulus (text), correct (boolean), choice (integer)") in out
            assert ("use it with trials='intervals/trials', discrete='intervals/trials/<column>' "
                    "with <column> one of stimulus, correct, choice") in out
            assert "interval table intervals/epochs: 2 intervals" in out
            assert "Not usable as a dataset file" not in out


def test_demo_on_an_nwb_url(session, tmp_path, capsys):
    with RangeServer({"session.nwb": session}) as server:
        url = server.url("session.nwb")
        assert cli.main(["demo", "--nwb", url, "--neural", "units", "--bin-size", "0.05",
                         "--behavior", POS, "--discrete", f"{TRIALS}/stimulus", "--trials", TRIALS,
                         "--steps", "2", "--batch-size", "16", "--jobs", "1", "--quiet",
                         "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "1 session(s) from files: session.nwb (4 x 240)" in out
    for row in ("time contrastive", "time_delta (behaviour)", "discrete (label)",
                "mixed (behaviour + label)"):
        assert f"\n{row} " in out
    assert (tmp_path / "embeddings.png").stat().st_size > 0


@pytest.mark.parametrize("args, fragment", [
    (["--bin-size", "0.1"], "--bin-size goes only with --nwb"),
    (["--nwb", "x.nwb"], "--nwb needs one --neural"),
    (["--nwb", "SESSION", "--neural", "units", "--bin-size", "0.1"],
     "--nwb needs --behavior and/or --discrete"),
    (["--nwb", "SESSION", "--neural", "units", "--behavior", POS], "pass bin_size="),
])
def test_demo_nwb_errors_are_one_line(session, tmp_path, capsys, args, fragment):
    args = [str(session) if a == "SESSION" else a for a in args]
    assert cli.main(["demo", "--quiet", "--out", str(tmp_path), *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith("cebra-data: error: ") and fragment in err and len(err.splitlines()) == 1
