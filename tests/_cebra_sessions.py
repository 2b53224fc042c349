"""Child processes for tests/test_patch.py: CEBRA 0.6.1 plain and under ``patch_cebra()``.

Run as ``python tests/_cebra_sessions.py ROLE DIR`` (``patched`` runs through
``python -m cebra_data.patch``). Each role writes its findings as JSON to
``DIR/<role>.json``; the checkpoints and pickles it makes go to ``DIR`` too.

* ``plain-save``: CEBRA alone (``cebra_data`` cannot be imported). Fits the six modes,
  saves a checkpoint, its ``transform(X)`` and a bare ``Offset`` pickle.
* ``patched`` (``--seed 7``): the same fits under the patch, then loads the plain checkpoint and
  pickle, saves its own, checks the identities the patch promises and unpatches.
* ``plain-load``: CEBRA alone again; loads what ``patched`` saved. Then it imports
  ``cebra_data`` and calls ``patch_cebra()`` after ``import cebra``.

Every warning is recorded (category and message), so the test can compare the two
sides. Training uses one thread, so the two sides compute ``transform`` alike.
"""

from __future__ import annotations

import json
import pathlib
import pickle
import pickletools
import re
import sys
import warnings
from typing import Any, Dict, List

if __name__ == "__main__" and sys.argv[1].startswith("plain"):
    sys.modules["cebra_data"] = None  # CEBRA alone: `import cebra_data` raises ImportError

#: The seed the patched run is given (``python -m cebra_data.patch --seed 7``).
SEED = 7
FIRST_FIT: List[Any] = []  # the embedding of the patched run's first fit

#: The fitted model that crosses: CEBRA's offset10-model, so ``offset_`` is ``Offset(5, 5)``.
CHECKPOINT_ARGS = dict(model_architecture="offset10-model", batch_size=32, max_iterations=4,
                       output_dimension=3, num_hidden_units=8, verbose=False)


def data() -> Dict[str, Any]:
    import numpy as np

    rng = np.random.default_rng(2023)
    return {
        "X": rng.normal(size=(240, 12)).astype("float32"),
        "X2": rng.normal(size=(240, 9)).astype("float32"),
        "continuous": rng.uniform(size=(240, 2)).astype("float32"),
        "discrete": rng.integers(0, 3, size=240),
    }


def fit_six_modes(cebra: Any, facts: Dict[str, Any]) -> None:
    """``cebra.CEBRA`` in each mode: time, time_delta, discrete, mixed, multi-session, hybrid."""
    import numpy as np

    d = data()
    args = dict(model_architecture="offset1-model", batch_size=32, max_iterations=3,
                output_dimension=3, num_hidden_units=8, verbose=False)
    fits = {
        "time": (dict(conditional="time"), (d["X"],)),
        "time_delta": (dict(conditional="time_delta"), (d["X"], d["continuous"])),
        "discrete": ({}, (d["X"], d["discrete"])),
        "mixed": (dict(conditional="time_delta"), (d["X"], d["continuous"], d["discrete"])),
        "multi-session": (dict(conditional="time_delta"),
                          ([d["X"], d["X2"]], [d["continuous"], d["continuous"]])),
        "hybrid": (dict(conditional="time_delta", hybrid=True), (d["X"], d["continuous"])),
    }
    for mode, (extra, fit_args) in fits.items():
        model = cebra.CEBRA(**args, **extra).fit(*fit_args)
        embedding = model.transform(d["X"], session_id=0) if mode == "multi-session" \
            else model.transform(d["X"])
        facts[f"fit:{mode}"] = {
            "loss_finite": bool(np.isfinite(model.state_dict_["loss"]).all()),
            "steps": len(model.state_dict_["loss"]),
            "embedding": list(embedding.shape),
            "finite": bool(np.isfinite(embedding).all()),
        }


def seeded_fit(cebra: Any) -> Any:
    """One time_delta fit with torch's global generator (the model's weights) seeded alike."""
    import torch

    d = data()
    with torch.random.fork_rng():
        torch.manual_seed(1)
        return cebra.CEBRA(**CHECKPOINT_ARGS).fit(d["X"], d["continuous"]).transform(d["X"])


def global_name(payload: bytes) -> str:
    """The first class a pickle names (``module.name``)."""
    strings: List[str] = []
    for opcode, argument, _ in pickletools.genops(payload):
        if opcode.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE"):
            strings.append(argument)
        if opcode.name == "STACK_GLOBAL":
            return ".".join(strings[-2:])
        if opcode.name == "GLOBAL":
            return argument.replace(" ", ".")
    return ""


def save_side(cebra: Any, directory: pathlib.Path, side: str, facts: Dict[str, Any]) -> None:
    import numpy as np

    d = data()
    model = cebra.CEBRA(**CHECKPOINT_ARGS).fit(d["X"], d["continuous"])
    model.save(directory / f"{side}.pt")
    np.save(directory / f"{side}.npy", model.transform(d["X"]))
    payload = pickle.dumps(model.offset_)
    (directory / f"offset-{side}.pkl").write_bytes(pickle.dumps(cebra.data.Offset(3, 4)))
    facts["saved_offset"] = {"global": global_name(payload), "repr": repr(model.offset_)}


def load_side(cebra: Any, directory: pathlib.Path, side: str, facts: Dict[str, Any]) -> None:
    import numpy as np
    import torch
    from cebra.integrations.sklearn.cebra import CEBRA_LOAD_SAFE_GLOBALS

    d = data()
    model = cebra.CEBRA.load(directory / f"{side}.pt")
    expected = np.load(directory / f"{side}.npy")
    facts["loaded"] = {
        # where the class's code lives (its __module__ is cebra.data.datatypes on both sides)
        "offset_code": type(model.offset_).__len__.__module__,
        "offset": [model.offset_.left, model.offset_.right],
        "transform_equal": bool(np.array_equal(model.transform(d["X"]), expected)),
    }
    with torch.serialization.safe_globals(CEBRA_LOAD_SAFE_GLOBALS):
        checkpoint = torch.load(directory / f"{side}.pt", weights_only=True)
    offset = checkpoint["state"]["offset_"]
    facts["weights_only"] = {"offset_is_cebra_data_offset": offset.__class__ is cebra.data.Offset,
                             "offset": [offset.left, offset.right]}
    bare = pickle.loads((directory / f"offset-{side}.pkl").read_bytes())
    facts["bare_pickle"] = {"is_cebra_data_offset": type(bare) is cebra.data.Offset,
                            "offset_code": type(bare).__len__.__module__,
                            "offset": [bare.left, bare.right]}
    try:
        bare.left = 9
        facts["bare_pickle"]["mutable"] = True
    except AttributeError:
        facts["bare_pickle"]["mutable"] = False


def patched_only(cebra: Any, facts: Dict[str, Any]) -> None:
    """The identities of the patch, CEBRA's device bookkeeping, then unpatch."""
    import importlib

    import cebra.integrations.deeplabcut
    import cebra.io
    import cebra.solver
    import cebra_data
    import cebra_data.load
    import torch
    from cebra_data.patch.hook import ALIASES

    facts["runner"] = {"argv": sys.argv[1:], "is_patched": cebra_data.cebra_is_patched()}
    facts["aliases"] = {name: importlib.import_module(name) is importlib.import_module(target)
                        for name, target in ALIASES.items()}
    facts["loaders"] = {
        "load_data": cebra.load_data is cebra_data.load.load,
        "load_deeplabcut": cebra.load_deeplabcut is cebra_data.load_deeplabcut,
        "integrations": cebra.integrations.deeplabcut.load_deeplabcut is cebra_data.load_deeplabcut,
    }
    d = data()
    dataset = cebra_data.TensorDataset(d["X"], continuous=d["continuous"])
    loader = cebra_data.ContinuousDataLoader(dataset, num_steps=1, batch_size=8, seed=0)

    class Holder(cebra.io.HasDevice):
        pass

    holder = Holder("cpu")
    holder.dataset = dataset
    holder.to("cpu")
    original = cebra.io.HasDevice.__mro__[1]
    facts["has_device"] = {
        "dataset": isinstance(dataset, cebra.io.HasDevice),
        "loader": isinstance(loader, cebra.io.HasDevice),
        "subclass": issubclass(cebra_data.TensorDataset, cebra.io.HasDevice),
        "cebra_class_kept": original.__module__ == "cebra.io" and original.__name__ == "HasDevice"
        and cebra.solver.Solver.__mro__.count(original) == 1,
        "solver": issubclass(cebra.solver.SingleSessionSolver, cebra.io.HasDevice),
        "not_a_tensor": not isinstance(torch.zeros(1), cebra.io.HasDevice),
        "tracked_child": "dataset" in holder._children and holder.dataset.device == "cpu",
    }
    model = cebra.models.init("offset1-model", 12, 8, 3)
    criterion = cebra.models.criterions.LearnableCosineInfoNCE(temperature=1.0)  # has a parameter
    solver = cebra.solver.SingleSessionSolver(
        model=model, criterion=criterion,
        optimizer=torch.optim.Adam([*model.parameters(), *criterion.parameters()]))
    moved: List[str] = []
    for name in ("model", "criterion"):
        module = getattr(solver, name)
        module_to = module.to
        object.__setattr__(module, "to", lambda device, _n=name, _to=module_to: (moved.append(_n), _to(device))[1])
    solver.to("cpu")
    facts["solver_to"] = {"tracked": sorted(solver._modules), "moved": sorted(moved),
                          "device": solver.device}
    # the loaders' seeds: the first fit after patch_cebra(seed=7) repeats, the next differs
    import numpy as np

    second = seeded_fit(cebra)
    cebra_data.unpatch_cebra()
    cebra_data.patch_cebra(seed=SEED)
    import cebra as repatched

    again = seeded_fit(repatched)
    try:
        cebra_data.patch_cebra(seed=SEED + 1)
        other_seed = "no error"
    except ValueError as err:
        other_seed = str(err)
    facts["seeded"] = {
        "first_fit_repeats": bool(np.array_equal(again, FIRST_FIT[0])),
        "next_fit_differs": not np.array_equal(second, FIRST_FIT[0]),
        "other_seed": other_seed,
    }
    cebra_data.unpatch_cebra()
    left = [n for n in sys.modules if n == "cebra" or n.startswith("cebra.")]
    import cebra.data as plain_data

    facts["unpatched"] = {
        "cebra_modules_left": left,
        "is_patched": cebra_data.cebra_is_patched(),
        "cebra_data_is_not_cebra": plain_data is not cebra_data,
        "offset_module": plain_data.Offset.__module__,
        "ours_pickles_as": global_name(pickle.dumps(cebra_data.Offset(1, 2))),
    }


def patch_after_import(facts: Dict[str, Any]) -> None:
    del sys.modules["cebra_data"]
    import cebra_data

    try:
        cebra_data.patch_cebra()
        facts["patch_after_import"] = "no error"
    except cebra_data.errors.CebraAlreadyImportedError as err:
        facts["patch_after_import"] = f"{type(err).__name__}: {err}"


def main() -> None:
    import torch

    torch.set_num_threads(1)
    role, directory = sys.argv[1], pathlib.Path(sys.argv[2])
    facts: Dict[str, Any] = {}
    with warnings.catch_warnings(record=True) as caught:
        if role == "patched":
            # -W error, except for the warnings CEBRA gives alone on the same calls
            warnings.simplefilter("error")
            plain = json.loads((directory / "plain-save.json").read_text())
            for message in plain["warnings"]:
                warnings.filterwarnings("ignore", message=re.escape(message) + "$")
        else:
            warnings.simplefilter("always")
        with torch.random.fork_rng():
            torch.manual_seed(0)  # CEBRA draws its weights and batches from torch's global stream
            import cebra

            if role == "plain-save":
                fit_six_modes(cebra, facts)
                save_side(cebra, directory, "plain", facts)
                load_side(cebra, directory, "plain", facts)  # CEBRA's own warnings when loading
            elif role == "patched":
                FIRST_FIT.append(seeded_fit(cebra))
                fit_six_modes(cebra, facts)
                load_side(cebra, directory, "plain", facts)
                save_side(cebra, directory, "patched", facts)
                patched_only(cebra, facts)
            elif role == "plain-load":
                load_side(cebra, directory, "patched", facts)
                patch_after_import(facts)
            else:
                raise SystemExit(f"unknown role {role!r}")
    facts["warnings"] = sorted({str(w.message) for w in caught})
    (directory / f"{role}.json").write_text(json.dumps(facts, indent=1))


if __name__ == "__main__":
    main()
