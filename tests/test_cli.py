"""The ``cebra-data`` command: every subcommand as a real process, its output and its exit codes."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from cebra_data import cli
from cebra_data.demo import DemoConfig, make_linear_track


BENCH_LOADERS = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "bench_loaders.py"


def run(*args, cwd=None, command=("-m", "cebra_data")):
    """Run ``python -m cebra_data ARGS`` (or another ``command``) and return the completed process."""
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    return subprocess.run([sys.executable, *map(str, command), *map(str, args)],
                          capture_output=True, text=True, timeout=300, cwd=cwd, env=env)


def assert_one_line_error(process, *fragments, prog="cebra-data"):
    assert process.returncode == 1, process.stderr
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1, process.stderr
    assert lines[0].startswith(f"{prog}: error: ")
    assert "Traceback" not in process.stderr
    for fragment in fragments:
        assert fragment in lines[0]


# --------------------------------------------------------------------------- help


@pytest.mark.parametrize("command", [[], ["demo"], ["inspect"]])
def test_help_on_every_subcommand(command, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main([*command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: cebra-data")
    for option in {"demo": ["--steps", "--batch-size", "--seed", "--samples", "--out", "--device",
                            "--threads", "--jobs", "--neural", "--behavior", "--neural-key",
                            "--behavior-key", "--quiet"],
                   "inspect": ["--key", "--json"]}.get("".join(command), ["demo", "inspect"]):
        assert option in out


def test_demo_defaults_are_the_demo_configs():
    """The command's defaults and DemoConfig's (which the docs describe) cannot drift apart."""
    args = cli.build_parser().parse_args(["demo"])
    config = DemoConfig()
    assert (args.steps, args.batch_size, args.seed, args.threads, args.jobs) == (
        config.steps, config.batch_size, config.seed, config.threads, config.jobs)
    assert args.samples == config.num_samples[0]
    assert [round(args.samples * f) for f in (1.0, 1.2, 1.4)] == list(config.num_samples)


def test_bench_is_no_longer_a_subcommand(capsys):
    """The loader benchmark moved to benchmarks/bench_loaders.py."""
    assert "bench" not in cli.build_parser().format_help()
    with pytest.raises(SystemExit) as info:
        cli.main(["bench"])
    assert info.value.code == 2
    assert "invalid choice: 'bench'" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["demo", "--steps", "0"])
    assert info.value.code == 2
    assert "expected a positive integer" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        cli.main([])
    assert info.value.code == 2


# --------------------------------------------------------------------------- demo


def test_demo_prints_every_row_and_writes_the_figure(tmp_path):
    out = tmp_path / "figures"
    process = run("demo", "--steps", 3, "--batch-size", 16, "--samples", 300, "--out", out)
    assert process.returncode == 0, process.stderr
    for row in ["time contrastive", "time_delta (position)", "time_delta (shuffled position)",
                "discrete (direction)", "mixed (position + direction)",
                "multi-session (position)", "multi-session (shuffled position)"]:
        assert f"\n{row} " in process.stdout
    assert "batches/s" in process.stdout and "consistency R2" in process.stdout
    assert f"Figure written to {out / 'embeddings.png'}" in process.stdout
    assert (out / "embeddings.png").stat().st_size > 0
    assert "Total time:" in process.stdout
    # progress bars go to stderr, one finished line per fit
    assert process.stderr.count("3/3") == 7


def test_demo_on_user_files(tmp_path):
    recording = make_linear_track(DemoConfig(num_samples=(400, 420, 440)))[0]
    np.savez(tmp_path / "session.npz", spikes=recording.neural, other=np.zeros(3))
    np.save(tmp_path / "position.npy", recording.continuous)
    process = run("demo", "--neural", tmp_path / "session.npz", "--neural-key", "spikes",
                  "--behavior", tmp_path / "position.npy", "--steps", 2, "--batch-size", 16,
                  "--out", tmp_path, "--quiet")
    assert process.returncode == 0, process.stderr
    assert "1 session(s) from files: session.npz (60 x 400)" in process.stdout
    assert "time_delta (shuffled behaviour)" in process.stdout
    assert "multi-session" not in process.stdout.split("\n\n")[1]
    assert process.stderr == ""


def test_demo_user_errors_are_one_line(tmp_path, capsys):
    np.save(tmp_path / "neural.npy", np.zeros((50, 4), np.float32))
    np.save(tmp_path / "short.npy", np.ones((5, 2), np.float32))
    assert_one_line_error(run("demo", "--neural", tmp_path / "missing.npy", "--behavior",
                              tmp_path / "neural.npy"), "missing.npy")
    for args, fragment in [
        (["--neural", tmp_path / "neural.npy"], "--neural and --behavior go together"),
        (["--device", "not-a-device"], "--device should name a torch device"),
        (["--neural", tmp_path / "short.npy", "--behavior", tmp_path / "short.npy", "--steps", "1"],
         "short.npy (5 time steps) cannot be fitted by the demo: "),
    ]:
        assert cli.main(["demo", "--quiet", "--out", str(tmp_path), *map(str, args)]) == 1
        err = capsys.readouterr().err
        assert err.startswith("cebra-data: error: ") and fragment in err
        assert len(err.strip().splitlines()) == 1


def test_demo_refuses_too_few_samples_in_the_parser(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["demo", "--samples", "57"])
    assert exit_info.value.code == 2
    assert f"expected at least {cli.MIN_SAMPLES} time steps" in capsys.readouterr().err


def test_demo_checks_its_output_folder_before_fitting(tmp_path, capsys, monkeypatch):
    from cebra_data.demo import training

    def no_fits(*args, **kwargs):
        raise AssertionError("the fits ran before the output folder was checked")

    monkeypatch.setattr(training, "_run_all", no_fits)
    blocker = tmp_path / "taken"
    blocker.write_text("a file, not a folder")
    for out in (blocker, blocker / "sub"):
        assert cli.main(["demo", "--quiet", "--out", str(out)]) == 1
        err = capsys.readouterr().err
        assert err.startswith("cebra-data: error: ") and len(err.strip().splitlines()) == 1
        assert f"cannot write the figure into the folder '{out}'" in err
    assert not list(tmp_path.glob("**/.cebra_data_demo_*"))


# --------------------------------------------------------------------------- inspect


def _write_deeplabcut_csv(path):
    header = ["scorer" + ",DLC_resnet50" * 6,
              "bodyparts,nose,nose,nose,tail,tail,tail",
              "coords,x,y,likelihood,x,y,likelihood"]
    nose = [0.9, 0.95, 0.2, 0.99, 0.1, 0.97, 0.99, 0.98, 0.3, 0.99]  # 3 of 10 below 0.6
    body = [f"{i},{i:.1f},{2 * i:.1f},{nose[i]},{5 + i:.1f},1.0,0.99" for i in range(10)]
    path.write_text("\n".join(header + body) + "\n")


def test_inspect_deeplabcut_file(tmp_path):
    path = tmp_path / "video1DLC_resnet50.csv"
    _write_deeplabcut_csv(path)
    process = run("inspect", path)
    assert process.returncode == 0, process.stderr
    lines = process.stdout.splitlines()
    assert lines[0] == f"{path}  (csv)"
    assert "load_data reads entry 'video1DLC_resnet50' when no key is given" in lines
    assert "    individuals: (single animal)" in lines
    assert "    bodyparts: nose, tail" in lines
    assert [line.split() for line in lines if line.startswith("    nose") or
            line.startswith("    tail")] == [["nose", "30.0%", "0.0%"], ["tail", "0.0%", "0.0%"]]



def test_inspect_json_and_pcutoff(tmp_path, capsys):
    path = tmp_path / "video1DLC_resnet50.csv"
    _write_deeplabcut_csv(path)
    assert cli.main(["inspect", str(path), "--pcutoff", "0.96", "--json"]) == 0
    keypoints = json.loads(capsys.readouterr().out)["entries"][0]["deeplabcut"]["keypoints"]
    assert [k["below_pcutoff"] for k in keypoints] == [0.5, 0.0]


def test_inspect_lists_entries_default_and_nan(tmp_path, capsys):
    path = tmp_path / "session.npz"
    np.savez(path, position=np.array([[0.1], [np.nan], [0.3]]), names=np.array(["a", "b", "c"]))
    assert cli.main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "* position: shape 3x1, dtype float64, NaN 1" in out
    assert "- names: shape 3, dtype <U1, not numeric" in out
    assert cli.main(["inspect", str(path), "--key", "position", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert [e["name"] for e in info["entries"]] == ["position"]


def test_inspect_describes_a_dataset_file(tmp_path, capsys):
    path = tmp_path / "session.npz"
    continuous = np.arange(100.0)
    continuous[7] = np.nan
    np.savez(path, neural=np.zeros((100, 5)), continuous=continuous,
             discrete=np.arange(100) % 3, trial_ids=np.repeat([0, 1], 50))
    assert cli.main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "As a dataset" in out
    assert "trials: 2" in out and "excluded: 1" in out and "3 labels" in out
    assert cli.main(["inspect", str(path), "--json"]) == 0
    dataset = json.loads(capsys.readouterr().out)["dataset"]
    assert dataset["sampleable"] == 99 and dataset["trials"]["count"] == 2
    np.savez(tmp_path / "plain.npz", position=np.zeros(3))
    assert cli.main(["inspect", str(tmp_path / "plain.npz")]) == 0
    assert "As a dataset" not in capsys.readouterr().out


def test_inspect_errors_are_one_line(tmp_path, capsys):
    assert_one_line_error(run("inspect", tmp_path / "missing.npy"), "missing.npy")
    (tmp_path / "broken.npy").write_bytes(b"\x93NUMPY garbage")
    assert_one_line_error(run("inspect", tmp_path / "broken.npy"))
    (tmp_path / "data.xyz").write_text("1 2 3")
    np.savez(tmp_path / "ok.npz", a=np.zeros(3))
    for args, fragments in [([tmp_path / "data.xyz"], [".xyz", ".npy"]),
                            ([tmp_path / "ok.npz", "--key", "nope"], ["nope", "'a'"])]:
        assert cli.main(["inspect", *map(str, args)]) == 1
        err = capsys.readouterr().err
        assert err.startswith("cebra-data: error: ") and len(err.strip().splitlines()) == 1
        assert all(fragment in err for fragment in fragments)


# --------------------------------------------------------------------------- the loader benchmark script


needs_script = pytest.mark.skipif(not BENCH_LOADERS.exists(),
                                  reason="benchmarks/ is not part of this installation")


@needs_script
def test_bench_loaders_script_has_the_former_bench_options():
    process = run("--help", command=[BENCH_LOADERS])
    assert process.returncode == 0, process.stderr
    assert process.stdout.startswith("usage: bench_loaders.py")
    for option in ["--samples", "--neurons", "--batch-size", "--steps", "--seed", "--device",
                   "--threads"]:
        assert option in process.stdout


@needs_script
def test_bench_loaders_script_prints_every_loader():
    process = run("--samples", 600, "--neurons", 8, "--batch-size", 16, "--steps", 2,
                  command=[BENCH_LOADERS])
    assert process.returncode == 0, process.stderr
    assert "600 time steps x 8 neurons (multi-session: 3 sessions of 200 steps)" in process.stdout
    table = process.stdout.split("\n\n", 1)[1].splitlines()
    assert table[0].split() == ["loader", "setup", "s", "indices", "ms", "gather", "ms",
                                "batches/s"]
    names = [line.split()[0] for line in table[2:]]
    assert names == ["ContinuousDataLoader"] * 3 + [
        "DiscreteDataLoader", "MixedDataLoader", "HybridDataLoader",
        "ContinuousMultiSessionDataLoader", "DiscreteMultiSessionDataLoader",
        "MixedMultiSessionDataLoader", "UnifiedLoader"]
    assert all(float(line.split()[-1]) > 0 for line in table[2:])


@needs_script
@pytest.mark.parametrize("args, fragment", [
    (["--samples", 10], "num_samples should be at least 33"),
    (["--device", "not-a-device"], "--device should name a torch device"),
])
def test_bench_loaders_script_errors_are_one_line(args, fragment):
    assert_one_line_error(run(*args, command=[BENCH_LOADERS]), fragment, prog="bench_loaders.py")


@needs_script
def test_bench_loaders_script_usage_error_exits_2():
    process = run("--steps", 0, command=[BENCH_LOADERS])
    assert process.returncode == 2
    assert "expected a positive integer, got '0'" in process.stderr


def test_key_error_messages_lose_their_quotes():
    assert cli._message(KeyError("no such column")) == "no such column"
    assert cli._message(ValueError("two\nlines")) == "two lines"


def test_version_from_the_installed_metadata(capsys):
    import importlib.metadata

    import cebra_data

    installed = importlib.metadata.version("cebra_data")
    assert cebra_data.__version__ == installed
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"cebra-data {installed}"
    out = subprocess.run([sys.executable, "-m", "cebra_data", "--version"], capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == f"cebra-data {installed}"


def test_demo_help_names_the_output_folder(capsys):
    with pytest.raises(SystemExit):
        cli.main(["demo", "--help"])
    assert "./cebra_data_demo/embeddings.png" in " ".join(capsys.readouterr().out.split())
