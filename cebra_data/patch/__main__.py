"""``python -m cebra_data.patch [--seed S] SCRIPT [ARGS...]``: run an unchanged CEBRA script on cebra_data.

The script runs as ``python SCRIPT ARGS...`` would run it (``__name__ == "__main__"``,
``sys.argv == [SCRIPT, *ARGS]``, the script's folder first on ``sys.path``), with
:func:`cebra_data.patch_cebra` applied before its first line. ``-m MODULE [ARGS...]``
runs a module instead, as ``python -m MODULE`` would (e.g. ``-m pytest tests``).
``-c CODE [ARGS...]`` runs a program passed as a string, as ``python -c`` would.
``--seed S`` is ``patch_cebra(seed=S)``: the loaders of ``cebra.CEBRA.fit`` draw
repeatable batches.
"""

from __future__ import annotations

import importlib.util
import os
import runpy
import sys
from typing import List, Optional

from cebra_data.patch.hook import patch_cebra

__all__ = ["main"]

USAGE = """\
usage: python -m cebra_data.patch [--seed S] SCRIPT [ARGS...]
       python -m cebra_data.patch [--seed S] -m MODULE [ARGS...]
       python -m cebra_data.patch [--seed S] -c CODE [ARGS...]

Run SCRIPT (or MODULE, or CODE) unchanged, with CEBRA's data layer answered by cebra_data
(cebra_data.patch_cebra(seed=S) is called before the script's first line; with a
seed, the loaders that cebra.CEBRA.fit builds draw repeatable batches)."""


def main(argv: Optional[List[str]] = None) -> int:
    """Run the script or module named in ``argv`` (default ``sys.argv[1:]``) under the patch.

    Returns:
        The exit status when there is nothing to run (0 for ``-h``, 2 for a usage
        error or a missing script). A script's own ``sys.exit`` ends the process as usual.
    """
    args = sys.argv[1:] if argv is None else list(argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE, file=sys.stdout if args else sys.stderr)
        return 0 if args else 2
    seed = None
    if args[0] == "--seed":
        if len(args) < 3 or not args[1].isdigit():
            print("python -m cebra_data.patch: --seed needs a non-negative integer and then the "
                  f"script to run\n\n{USAGE}", file=sys.stderr)
            return 2
        seed, args = int(args[1]), args[2:]
    if args[0] in ("-m", "-c") and len(args) < 2:
        what = "the name of a module" if args[0] == "-m" else "the code"
        print(f"python -m cebra_data.patch: {args[0]} needs {what} to run\n\n{USAGE}",
              file=sys.stderr)
        return 2
    if args[0] == "-m":
        module, rest = args[1], args[2:]
        # only the top-level package is looked up: finding a submodule would import its
        # package, which may import cebra before the patch is in place
        top = module.partition(".")[0]
        if not top.isidentifier() or importlib.util.find_spec(top) is None:
            print(f"python -m cebra_data.patch: No module named {top!r}", file=sys.stderr)
            return 1
        sys.argv = [module, *rest]
        patch_cebra(seed)
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        return 0
    if args[0] == "-c":
        code, rest = args[1], args[2:]
        sys.argv = ["-c", *rest]
        sys.path[0] = ""
        patch_cebra(seed)
        namespace = {"__name__": "__main__", "__builtins__": __builtins__}
        exec(compile(code, "<string>", "exec"), namespace)  # what ``python -c`` runs
        return 0
    script, rest = args[0], args[1:]
    if not os.path.isfile(script):
        print(f"python -m cebra_data.patch: can't open file {script!r}: no such file", file=sys.stderr)
        return 2
    sys.argv = [script, *rest]
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    patch_cebra(seed)
    runpy.run_path(script, run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
