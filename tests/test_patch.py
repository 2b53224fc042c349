"""``patch_cebra()`` with the real CEBRA 0.6.1, in child processes (tests/_cebra_sessions.py).

Three processes run in turn, sharing one folder:

1. ``plain-save``: CEBRA alone (``cebra_data`` cannot be imported). ``cebra.CEBRA``
   fits in the six modes, a fitted model is saved with ``model.save`` (CEBRA's default
   sklearn backend), with its ``transform(X)`` and a bare pickle of an ``Offset``.
2. ``patched``, run as ``python -m cebra_data.patch --seed 7 tests/_cebra_sessions.py``: the same
   fits, then the plain checkpoint and pickle are loaded, a checkpoint and pickle of its
   own are saved, the identities of the patch are recorded and the patch is undone. It
   runs with warnings as errors, except for the warnings run 1 recorded (those CEBRA
   gives alone on the same calls): any other warning fails it.
3. ``plain-load``: CEBRA alone again, loading what run 2 saved; then ``patch_cebra()``
   after ``import cebra``.

Together about 25 s on a 2-core machine (most of it importing torch and CEBRA).
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
from typing import Any, Dict

import pytest

pytest.importorskip("cebra")

pytestmark = pytest.mark.slow

SESSIONS = pathlib.Path(__file__).with_name("_cebra_sessions.py")
MODES = ["time", "time_delta", "discrete", "mixed", "multi-session", "hybrid"]


def _run(arguments: list, role: str, directory: pathlib.Path) -> Dict[str, Any]:
    result = subprocess.run([sys.executable, *arguments, role, str(directory)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{role} failed:\n{result.stdout}\n{result.stderr}"
    return json.loads((directory / f"{role}.json").read_text())


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Dict[str, Any]]:
    directory = tmp_path_factory.mktemp("cebra-sessions")
    plain = [str(SESSIONS)]
    patched = ["-m", "cebra_data.patch", "--seed", "7", str(SESSIONS)]
    return {
        "plain-save": _run(plain, "plain-save", directory),
        "patched": _run(patched, "patched", directory),
        "plain-load": _run(plain, "plain-load", directory),
    }


@pytest.mark.parametrize("mode", MODES)
def test_cebra_trains_in_each_mode_under_the_patch(runs, mode):
    for role in ("plain-save", "patched"):
        fit = runs[role][f"fit:{mode}"]
        assert fit == {"loss_finite": True, "steps": 3, "embedding": [240, 3], "finite": True}, role


def test_the_patched_run_gave_no_warning_that_cebra_alone_does_not_give(runs):
    # the patched run turns every other warning into an error (see the module docstring);
    # here: it ran to the end, and it recorded none of its own
    assert runs["patched"]["warnings"] == []
    assert "unpatched" in runs["patched"]


def test_cebra_data_and_distributions_are_cebra_datas_modules(runs):
    aliases = runs["patched"]["aliases"]
    assert "cebra.data" in aliases and "cebra.distributions.index" in aliases
    assert all(aliases.values()), {name for name, same in aliases.items() if not same}


def test_cebras_loaders_are_cebra_datas(runs):
    assert runs["patched"]["loaders"] == {"load_data": True, "load_deeplabcut": True,
                                          "integrations": True}


def test_cebra_io_has_device_recognises_our_objects_and_keeps_cebras_class(runs):
    assert runs["patched"]["has_device"] == {
        "dataset": True, "loader": True, "subclass": True, "cebra_class_kept": True,
        "solver": True, "not_a_tensor": True, "tracked_child": True,
    }


def test_solver_to_still_moves_its_model_and_criterion(runs):
    assert runs["patched"]["solver_to"] == {"tracked": ["criterion", "model"],
                                            "moved": ["criterion", "model"], "device": "cpu"}


def test_a_patch_seed_makes_cebras_fits_repeat(runs):
    seeded = runs["patched"]["seeded"]
    assert seeded["first_fit_repeats"] and seeded["next_fit_differs"]
    assert "in effect with seed=7, but got seed=8" in seeded["other_seed"]


def test_runner_runs_the_script_with_its_arguments_under_the_patch(runs):
    runner = runs["patched"]["runner"]
    assert runner["is_patched"] is True
    assert runner["argv"][0] == "patched" and len(runner["argv"]) == 2


@pytest.mark.parametrize("saved, loaded, code", [
    ("plain-save", "patched", "cebra_data.datatypes"),
    ("patched", "plain-load", "cebra.data.datatypes"),
])
def test_checkpoints_cross_with_the_same_transform(runs, saved, loaded, code):
    assert runs[saved]["saved_offset"]["global"] == "cebra.data.datatypes.Offset"
    facts = runs[loaded]
    assert facts["loaded"] == {"offset_code": code, "offset": [5, 5], "transform_equal": True}
    # torch.load(weights_only=True) with CEBRA's own list of safe globals
    assert facts["weights_only"] == {"offset_is_cebra_data_offset": True, "offset": [5, 5]}


@pytest.mark.parametrize("loaded, code, mutable", [
    ("patched", "cebra_data.datatypes", False),  # ours, immutable
    ("plain-load", "cebra.data.datatypes", True),  # CEBRA's, which has plain slots
])
def test_bare_offset_pickles_cross(runs, loaded, code, mutable):
    assert runs[loaded]["bare_pickle"] == {"is_cebra_data_offset": True, "offset_code": code,
                                           "offset": [3, 4], "mutable": mutable}


def test_unpatch_restores_cebra_for_later_imports(runs):
    assert runs["patched"]["unpatched"] == {
        "cebra_modules_left": [], "is_patched": False, "cebra_data_is_not_cebra": True,
        "offset_module": "cebra.data.datatypes", "ours_pickles_as": "cebra_data.datatypes.Offset",
    }


def test_patch_after_import_cebra_says_to_patch_first(runs):
    message = runs["plain-load"]["patch_after_import"]
    assert message.startswith("CebraAlreadyImportedError: cebra_data.patch_cebra() must run before")
    assert "python -m cebra_data.patch" in message


# -- the runner's own errors (no CEBRA needed) ------------------------------------------


def test_runner_usage_and_missing_script(tmp_path, capsys):
    from cebra_data.patch.__main__ import main

    assert main([]) == 2
    assert "usage: python -m cebra_data.patch [--seed S] SCRIPT" in capsys.readouterr().err
    assert main(["-h"]) == 0
    assert main(["-m"]) == 2
    assert "needs the name of a module" in capsys.readouterr().err
    assert main([str(tmp_path / "missing.py")]) == 2
    assert "can't open file" in capsys.readouterr().err
    assert main(["--seed", "x", "script.py"]) == 2
    assert "--seed needs a non-negative integer" in capsys.readouterr().err
    assert main(["-c"]) == 2
    assert "-c needs the code to run" in capsys.readouterr().err


@pytest.mark.parametrize("module", ["no_such_module_for_cebra_data", "no_such_module_x.sub", "1x"])
def test_runner_names_a_missing_module_without_a_traceback_or_patching(module):
    result = subprocess.run(
        [sys.executable, "-m", "cebra_data.patch", "-m", module], capture_output=True, text=True,
        timeout=120)
    assert result.returncode == 1
    top = module.partition(".")[0]
    assert result.stderr.strip() == f"python -m cebra_data.patch: No module named {top!r}"


def test_runner_runs_code_given_with_c_under_the_patch():
    code = ("import sys; from cebra_data.patch.hook import cebra_is_patched; "
            "print(sys.argv, cebra_is_patched(), __name__)")
    result = subprocess.run([sys.executable, "-m", "cebra_data.patch", "-c", code, "a", "b"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['-c', 'a', 'b'] True __main__"


@pytest.mark.parametrize("seed, error", [(-1, ValueError), ("7", TypeError), (1.5, TypeError)])
def test_patch_checks_its_seed_before_patching(seed, error):
    import cebra_data

    with pytest.raises(error):
        cebra_data.patch_cebra(seed=seed)
    assert not cebra_data.cebra_is_patched()
