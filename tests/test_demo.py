"""The demo: synthetic data, encoder, loss, training loop, metrics and the whole run at a tiny size."""

import ast
import dataclasses
import io
import pathlib
import sys

import numpy as np
import pytest
import torch

import cebra_data
from cebra_data import demo
from cebra_data.demo import (
    ConvEncoder,
    DemoConfig,
    FitSpec,
    consistency_r2,
    fit,
    infonce,
    knn_r2,
    make_linear_track,
    run_demo,
)
from cebra_data.demo.checks import check_float, check_int
from cebra_data.demo.data import TRACK_LENGTH
from cebra_data.demo.progress import Progress
from cebra_data.demo.training import embed_batch, multi_session_embeddings

DEMO_DIR = pathlib.Path(demo.__file__).parent

# A tiny run: three short sessions, 40 steps per fit, about five seconds on two cores.
# Under seed 0 the margins below are wide (time_delta R2 0.99 vs 0.56 shuffled,
# consistency 0.96 vs 0.36); over seeds 0..5 the smallest margins were 0.28 and 0.45.
TINY = DemoConfig(seed=0, steps=40, batch_size=64, num_samples=(500, 560, 620))
ROWS = [
    "time contrastive",
    "time_delta (position)",
    "time_delta (shuffled position)",
    "discrete (direction)",
    "mixed (position + direction)",
    "multi-session (position)",
    "multi-session (shuffled position)",
]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    return run_demo(TINY, out_dir=out, progress=None), out


# --------------------------------------------------------------------------- the package

# the public names of the former single module cebra_data/demo.py, minus the loader
# benchmark (now benchmarks/bench_loaders.py)
PUBLIC = ["DemoConfig", "Recording", "FitSpec", "FitResult", "Row", "DemoResult",
          "make_linear_track", "load_recordings", "load_nwb_recording", "ConvEncoder", "infonce", "fit", "embed",
          "knn_r2", "consistency_r2", "default_plan", "run_demo", "format_table",
          "plot_embeddings"]


def test_package_exports_the_former_public_names_from_its_modules():
    assert demo.__all__ == PUBLIC
    namespace = {}
    exec("from cebra_data.demo import *", namespace)
    assert set(PUBLIC) <= set(namespace)
    modules = {getattr(demo, name).__module__ for name in PUBLIC}
    assert modules == {"cebra_data.demo.data", "cebra_data.demo.model",
                       "cebra_data.demo.training", "cebra_data.demo.figure"}
    for name in ("benchmark_loaders", "BenchmarkRow", "format_benchmark"):
        assert not hasattr(demo, name)


def _imports(path):
    """Every (module, name) a file imports, including imports inside functions."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from ((alias.name, None) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: relative import"
            yield from ((node.module, alias.name) for alias in node.names)


@pytest.mark.parametrize("path", sorted(DEMO_DIR.glob("*.py")) + [
    DEMO_DIR.parents[1] / "benchmarks" / "bench_loaders.py"], ids=lambda p: p.name)
def test_demo_and_loader_benchmark_import_only_public_names(path):
    """The demo sits above the data layer: no private module, no private name."""
    if not path.exists():
        pytest.skip(f"{path} is not in this installation")
    for module, name in _imports(path):
        if not module.startswith("cebra_data"):
            continue
        assert not any(part.startswith("_") for part in module.split(".")), (path.name, module)
        assert name is None or not name.startswith("_"), (path.name, module, name)


# --------------------------------------------------------------------------- the whole run


def test_tiny_run_has_every_row_with_numbers(tiny_run):
    result, _ = tiny_run
    assert [row.name for row in result.rows] == ROWS
    for row in result.rows:
        assert row.note == ""
        assert row.batches_per_second > 0
        assert np.isfinite(row.final_loss) and np.isfinite(row.decoding_r2)
        assert (row.consistency is not None) == row.name.startswith("multi-session")
    table = demo.format_table(result)
    for name in ROWS:
        assert name in table
    assert table.splitlines()[0].split() == ["loader", "batches/s", "final", "loss", "decoding",
                                             "R2", "consistency", "R2"]


def test_behaviour_informed_fit_decodes_position_better_than_shuffled(tiny_run):
    result, _ = tiny_run
    informed = result.row("time_delta (position)").decoding_r2
    shuffled = result.row("time_delta (shuffled position)").decoding_r2
    assert informed > 0.9
    assert informed > shuffled + 0.2


def test_multi_session_consistency_beats_shuffled_baseline(tiny_run):
    result, _ = tiny_run
    aligned = result.row("multi-session (position)").consistency
    shuffled = result.row("multi-session (shuffled position)").consistency
    assert aligned > 0.7
    assert aligned > shuffled + 0.2


def test_figure_is_written_as_png(tiny_run):
    result, out = tiny_run
    assert result.figure == str(out / "embeddings.png")
    with open(result.figure, "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"


def test_same_seed_same_table():
    config = DemoConfig(seed=3, steps=3, batch_size=16, num_samples=(200, 220, 240))
    plan = [FitSpec("time_delta (position)", cebra_data.ContinuousDataLoader, {"conditional": "time_delta"}),
            FitSpec("multi-session (position)", cebra_data.ContinuousMultiSessionDataLoader,
                    multi_session=True)]
    first = run_demo(config, progress=None, plan=plan)
    second = run_demo(config, progress=None, plan=plan)
    for a, b in zip(first.rows, second.rows):
        assert a.final_loss == b.final_loss
        assert a.decoding_r2 == b.decoding_r2
        np.testing.assert_array_equal(a.embeddings[0], b.embeddings[0])


def test_table_does_not_depend_on_how_many_fits_run_at_once():
    """Fits in parallel threads draw from their own generators: the same rows as one by one."""
    config = DemoConfig(seed=1, steps=4, batch_size=16, num_samples=(200, 220, 240), jobs=1)
    plan = [FitSpec("time_delta (position)", cebra_data.ContinuousDataLoader,
                    {"conditional": "time_delta"}),
            FitSpec("discrete (direction)", cebra_data.DiscreteDataLoader),
            FitSpec("multi-session (position)", cebra_data.ContinuousMultiSessionDataLoader,
                    {"conditional": "time_delta"}, multi_session=True)]
    serial = run_demo(config, progress=None, plan=plan)
    parallel = run_demo(dataclasses.replace(config, jobs=3), progress=None, plan=plan)
    assert [row.name for row in parallel.rows] == [spec.name for spec in plan]
    for a, b in zip(serial.rows, parallel.rows):
        assert (a.final_loss, a.decoding_r2, a.consistency) == (b.final_loss, b.decoding_r2,
                                                                b.consistency)
        for x, y in zip(a.embeddings, b.embeddings):
            np.testing.assert_array_equal(x, y)


def test_an_error_in_a_parallel_fit_reaches_the_caller():
    config = DemoConfig(steps=2, batch_size=8, num_samples=(150, 160, 170), jobs=2)
    plan = [FitSpec("time contrastive", cebra_data.ContinuousDataLoader, {"conditional": "time"}),
            FitSpec("broken", cebra_data.ContinuousDataLoader, {"conditional": "no such thing"})]
    with pytest.raises(ValueError, match="no such thing"):
        run_demo(config, progress=None, plan=plan)


def test_fit_times_the_data_layer_with_the_given_clock():
    recording = make_linear_track(DemoConfig(num_samples=(300, 320, 340)))[0]
    model = ConvEncoder(60, generator=torch.Generator().manual_seed(0))
    loader = cebra_data.ContinuousDataLoader(recording.dataset(model.get_offset()), num_steps=5,
                                             batch_size=16, conditional="time", seed=0)
    ticks = iter(range(1000))  # every reading one second later: one second per batch
    result = fit(model, loader, clock=lambda: float(next(ticks)))
    assert result.data_seconds == 5 and result.batches_per_second == 1


def test_embed_batch_equals_three_forward_passes():
    recording = make_linear_track(DemoConfig(num_samples=(300, 320, 340)))[0]
    model = ConvEncoder(60, generator=torch.Generator().manual_seed(0))
    loader = cebra_data.ContinuousDataLoader(recording.dataset(model.get_offset()), num_steps=1,
                                             batch_size=16, conditional="time", seed=0)
    batch = next(iter(loader))
    separate = [batch.reference, batch.positive, batch.negative]
    copies = cebra_data.Batch(*(part.clone() for part in separate))  # not one tensor any more
    for candidate in (batch, copies):
        for joint, alone in zip(embed_batch(model, candidate), separate):
            torch.testing.assert_close(joint, model(alone))


def test_progress_on_a_terminal_shows_the_running_fits_and_ends_with_final_lines():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    board = Progress(stream)
    first, second = board.start("first fit", 10), board.start("second fit", 20)
    board.update(first, 5, 1.0)
    assert stream.getvalue().endswith("first fit 5/10  |  second fit 0/20")
    board.finish(first, 10, 0.5, 2.0)
    board.update(second, 20, 0.25)
    board.finish(second, 20, 0.25, 3.0)
    final = [line.strip() for line in stream.getvalue().split("\n") if "loss" in line]
    assert final[0].endswith("10/10 loss   0.500   2.0 s") and "first fit" in final[0]
    assert final[1].endswith("20/20 loss   0.250   3.0 s") and "second fit" in final[1]
    assert stream.getvalue().endswith("3.0 s\n")  # no live line left behind


def test_global_random_state_is_untouched():
    torch_state = torch.random.get_rng_state()
    numpy_state = np.random.get_state()[1].copy()
    config = DemoConfig(steps=2, batch_size=8, num_samples=(150, 160, 170))
    run_demo(config, progress=None,
             plan=[FitSpec("time contrastive", cebra_data.ContinuousDataLoader, {"conditional": "time"})])
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_state)


def test_threads_are_restored():
    before = torch.get_num_threads()
    config = DemoConfig(steps=1, batch_size=8, num_samples=(150, 160, 170), threads=1)
    run_demo(config, progress=None,
             plan=[FitSpec("time contrastive", cebra_data.ContinuousDataLoader, {"conditional": "time"})])
    assert torch.get_num_threads() == before


def test_missing_matplotlib_degrades_with_a_note(tmp_path, monkeypatch):
    for module in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, module, None)
    config = DemoConfig(steps=2, batch_size=8, num_samples=(150, 160, 170))
    plan = [FitSpec("time contrastive", cebra_data.ContinuousDataLoader, {"conditional": "time"})]
    result = run_demo(config, out_dir=tmp_path, progress=None, plan=plan)
    assert result.figure is None
    assert "matplotlib is not installed" in result.figure_note
    assert not (tmp_path / "embeddings.png").exists()


def test_progress_bar_reports_every_fit():
    stream = io.StringIO()
    config = DemoConfig(steps=3, batch_size=8, num_samples=(150, 160, 170))
    run_demo(config, progress=stream,
             plan=[FitSpec("time contrastive", cebra_data.ContinuousDataLoader, {"conditional": "time"})])
    line = stream.getvalue().strip()
    assert line.startswith("time contrastive") and "3/3" in line and "#" * 30 in line


# --------------------------------------------------------------------------- synthetic data


def test_linear_track_is_deterministic_and_has_the_described_structure():
    config = DemoConfig(num_samples=(800, 900, 1000))
    sessions = make_linear_track(config)
    again = make_linear_track(config)
    other = make_linear_track(DemoConfig(seed=1, num_samples=(800, 900, 1000)))
    assert [r.neural.shape for r in sessions] == [(800, 60), (900, 90), (1000, 120)]
    for a, b in zip(sessions, again):
        np.testing.assert_array_equal(a.neural, b.neural)
        np.testing.assert_array_equal(a.continuous, b.continuous)
    assert not np.array_equal(sessions[0].neural, other[0].neural)
    for r in sessions:
        position, direction = r.continuous[:, 0], r.discrete
        assert r.neural.dtype == np.float32 and np.all(r.neural == np.round(r.neural))
        assert position.min() >= 0 and position.max() <= TRACK_LENGTH + 1e-6
        step = np.diff(position)
        moving = np.abs(step) > 1e-6
        # while running, the direction label is the sign of the movement
        np.testing.assert_array_equal(direction[1:][moving], (step[moving] > 0).astype(int))
        assert position.max() > 1.5 and position.min() < 0.1  # full laps
        # place-cell tuning: the mean rate depends on position
        bins = np.digitize(position, np.linspace(0, 1.6, 9))
        rates = np.array([r.neural[bins == b].mean(axis=0) for b in np.unique(bins)])
        assert rates.std(axis=0).mean() > 0.05


# --------------------------------------------------------------------------- encoder and loss


def test_encoder_window_output_and_seeded_init():
    model = ConvEncoder(7, generator=torch.Generator().manual_seed(5))
    same = ConvEncoder(7, generator=torch.Generator().manual_seed(5))
    other = ConvEncoder(7, generator=torch.Generator().manual_seed(6))
    assert model.get_offset() == cebra_data.Offset(5, 5)
    windows = torch.randn(4, 7, 10, generator=torch.Generator().manual_seed(0))
    out = model(windows)
    assert out.shape == (4, 3)
    torch.testing.assert_close(out.norm(dim=1), torch.ones(4))
    torch.testing.assert_close(out, same(windows))
    assert not torch.allclose(out, other(windows))
    # the receptive field is exactly the window: ten steps in, one out
    assert model.net(windows).shape[-1] == 1
    with pytest.raises(RuntimeError):
        model(torch.randn(4, 7, 9, generator=torch.Generator().manual_seed(0)))


def test_infonce_values():
    gen = torch.Generator().manual_seed(0)
    constant = torch.nn.functional.normalize(torch.ones(16, 3), dim=1)
    assert float(infonce(constant, constant, constant)) == pytest.approx(np.log(16), abs=1e-5)
    reference = torch.nn.functional.normalize(torch.randn(16, 3, generator=gen), dim=1)
    negative = torch.nn.functional.normalize(torch.randn(16, 3, generator=gen), dim=1)
    aligned = infonce(reference, reference, negative, temperature=0.1)
    opposite = infonce(reference, -reference, negative, temperature=0.1)
    assert float(aligned) < float(opposite)
    assert float(opposite - aligned) == pytest.approx(2 / 0.1, rel=1e-5)


def test_multi_session_positives_are_lined_up_with_their_references():
    """With index_reversed, positive k belongs to reference k (a wrong mix would scramble them)."""
    sessions = []
    for n, phase in ((300, 0.0), (400, 1.0)):
        position = np.sin(np.arange(n) / 15 + phase).astype(np.float32)
        neural = np.stack([position, np.zeros(n, np.float32)], axis=1)
        sessions.append(cebra_data.TensorDataset(neural, continuous=position[:, None],
                                                 offset=(5, 5)))
    loader = cebra_data.ContinuousMultiSessionDataLoader(
        cebra_data.DatasetCollection(sessions), num_steps=1, batch_size=64, time_offset=1, seed=0)
    batches = next(iter(loader))

    def centre(windows):  # the window's centre value of channel 0 as a 1-D "embedding"
        return windows[:, 0, 5:6]

    reference, positive, _ = multi_session_embeddings([centre, centre], batches)
    aligned = float((reference - positive).abs().median())
    unmixed = torch.cat([centre(b.positive) for b in batches])
    scrambled = float((reference - unmixed).abs().median())
    assert aligned < 0.1  # one time step moves the position by at most 1/15
    assert scrambled > 5 * aligned


# --------------------------------------------------------------------------- metrics


def test_knn_r2_leaves_rows_with_missing_labels_out_of_decoder_and_score():
    angle = np.linspace(0, 3, 400)
    embedding = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    label = angle.copy()
    clean = knn_r2(embedding[::2], label[::2], embedding[1::2], label[1::2], 2)
    label[10:30] = np.nan  # missing in both parts
    scored = knn_r2(embedding[::2], label[::2], embedding[1::2], label[1::2], 2)
    assert np.isfinite(scored) and scored > 0.99 and abs(scored - clean) < 0.01
    assert np.isnan(knn_r2(embedding[::2], np.full(200, np.nan), embedding[1::2], label[1::2]))


def test_knn_r2_is_high_for_an_informative_embedding_and_low_for_noise():
    rng = np.random.default_rng(0)
    label = rng.uniform(0, 1.6, 600)
    informative = np.stack([np.cos(label * 2), np.sin(label * 2), np.zeros_like(label)], axis=1)
    noise = rng.normal(size=(600, 3))
    assert knn_r2(informative[:400], label[:400], informative[400:], label[400:], 5) > 0.99
    assert knn_r2(noise[:400], label[:400], noise[400:], label[400:], 5) < 0.2


def test_consistency_r2():
    rng = np.random.default_rng(0)
    labels = [rng.uniform(0, 1.6, (500, 1)) for _ in range(3)]
    base = [np.hstack([np.cos(y), np.sin(y), y ** 2]) for y in labels]
    mixing = rng.normal(size=(3, 3))
    linear = [base[0], base[1] @ mixing, base[2] @ mixing.T + 1]
    assert consistency_r2(linear, labels, bins=20) > 0.99
    unrelated = [rng.normal(size=(500, 3)) for _ in range(3)]
    assert consistency_r2(unrelated, labels, bins=20) < 0.5
    with pytest.raises(ValueError, match="at least two sessions"):
        consistency_r2(linear[:1], labels[:1])
    apart = [rng.uniform(0, 0.5, (100, 1)), rng.uniform(1.0, 1.6, (100, 1))]
    assert np.isnan(consistency_r2([np.hstack([y, y, y]) for y in apart], apart, bins=4))


@pytest.mark.parametrize("kwargs, error, match", [
    ({"steps": 0}, ValueError, r"steps should be an integer >= 1, but got steps=0\."),
    ({"steps": 2.0}, TypeError, r"steps should be an integer, but got steps=2\.0 of type float\."),
    ({"seed": True}, TypeError, "seed should be an integer"),
    ({"seed": -1}, ValueError, r"seed should be an integer >= 0, but got seed=-1\."),
    ({"bins": 1}, ValueError, "bins should be an integer >= 2"),
    ({"temperature": 0.0}, ValueError, r"temperature should be > 0, but got temperature=0\.0\."),
    ({"learning_rate": float("nan")}, ValueError, "learning_rate should be finite"),
    ({"learning_rate": "fast"}, TypeError, "learning_rate should be a real number"),
    ({"test_fraction": 1.0}, ValueError, "test_fraction"),
    ({"num_neurons": (10, 20), "num_samples": (100,)}, ValueError, "one value per session"),
    ({"num_samples": (100, 0, 100)}, ValueError, "num_neurons/num_samples"),
    ({"threads": 0}, ValueError, "threads"),
    ({"jobs": 0}, ValueError, r"jobs should be an integer >= 1, but got jobs=0\."),
])
def test_config_validation(kwargs, error, match):
    with pytest.raises(error, match=match):
        DemoConfig(**kwargs)


def test_checks_accept_integer_like_values_and_reject_booleans():
    assert check_int(np.int64(4), "steps", minimum=1) == 4
    assert type(check_int(torch.tensor(4), "steps")) is int
    for value in (True, np.bool_(True), torch.tensor(True), 4.0, "4"):
        with pytest.raises(TypeError, match="steps should be an integer"):
            check_int(value, "steps")
    assert check_float(np.float32(0.5), "temperature", strictly_positive=True) == 0.5
    assert check_float(-1, "offset") == -1.0
    with pytest.raises(TypeError, match="temperature should be a real number"):
        check_float(True, "temperature")
    with pytest.raises(ValueError, match="should be > 0"):
        check_float(-1.0, "temperature", strictly_positive=True)
    with pytest.raises(TypeError, match="num_neurons should be an integer"):
        ConvEncoder(7.0)


# --------------------------------------------------------------------------- user files


def test_run_on_user_files(tmp_path):
    sessions = make_linear_track(DemoConfig(num_samples=(300, 320, 340)))
    neural, behaviour = [], []
    for i, r in enumerate(sessions[:2]):
        np.save(tmp_path / f"neural{i}.npy", r.neural)
        np.save(tmp_path / f"position{i}.npy", r.continuous)
        neural.append(tmp_path / f"neural{i}.npy")
        behaviour.append(tmp_path / f"position{i}.npy")
    np.save(tmp_path / "direction.npy", sessions[0].discrete)
    recordings = demo.load_recordings(neural, behaviour)
    assert [r.neural.shape[1] for r in recordings] == [60, 90]
    assert recordings[0].continuous.shape == (300, 1) and recordings[0].discrete is None
    labels = demo.load_recordings(neural[:1], [tmp_path / "direction.npy"])[0]
    assert labels.continuous is None and labels.discrete.dtype == np.int64
    config = DemoConfig(steps=2, batch_size=8)
    result = run_demo(config, recordings=recordings, progress=None, behaviour="behaviour")
    assert [row.name for row in result.rows] == [
        "time contrastive", "time_delta (behaviour)", "time_delta (shuffled behaviour)",
        "multi-session (behaviour)", "multi-session (shuffled behaviour)"]
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        demo.load_recordings(neural[:1], behaviour[1:])
    with pytest.raises(ValueError, match="one --behavior file per --neural file"):
        demo.load_recordings(neural, behaviour[:1])


# --------------------------------------------------------------------------- training on other loaders


@pytest.mark.parametrize("options", [{"batch_size": None}, {"batch_size": 32, "hybrid": True}],
                         ids=["full-batch", "hybrid"])
def test_fit_trains_with_full_batch_and_hybrid_loaders(options):
    from cebra_data.sklearn import SklearnDataset, make_loader

    recording = make_linear_track(DemoConfig(num_samples=(300, 320, 340)))[0]
    model = ConvEncoder(60, generator=torch.Generator().manual_seed(0))
    dataset = SklearnDataset(recording.neural, (recording.continuous,))
    dataset.configure_for(model)
    loader = make_loader(dataset, num_steps=3, time_offsets=5, seed=0, **options)
    before = [p.detach().clone() for p in model.parameters()]
    result = fit(model, loader)
    assert len(result.losses) == 3 and all(np.isfinite(result.losses))
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    if options.get("hybrid"):  # two InfoNCE terms: about twice log(batch) at the start
        assert result.losses[0] > 1.5 * np.log(32)
