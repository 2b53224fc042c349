"""Run a call in a forked child process with a memory cap and a time limit.

A crash of compiled code (a segfault) or a hang must fail a test, not end or block the
run; so loads of hostile or third-party files go through :func:`run_isolated`.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import traceback
import warnings
from collections.abc import Callable
from typing import Any

#: Address space a child may add on top of what the (forked) parent already maps.
EXTRA_MEMORY = 1 << 30


def _mapped_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _child(conn: Any, call: Callable[..., Any], args: tuple, memory: int) -> None:
    try:
        if memory:
            limit = _mapped_bytes() + memory
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = ("ok", call(*args))
        except BaseException as exc:  # report every failure to the parent
            result = ("raised", describe_error(exc))
        try:
            conn.send(result)
        except Exception as exc:  # an unpicklable result
            conn.send(("raised", describe_error(exc)))
    finally:
        os._exit(0)


def describe_error(exc: BaseException) -> dict[str, Any]:
    """A picklable description of an exception: its classes, message and last frame."""
    return {
        "type": type(exc).__name__,
        "mro": [f"{c.__module__}.{c.__name__}" for c in type(exc).__mro__],
        "message": str(exc),
        "where": "".join(traceback.format_exception(exc)[-3:])[-600:],
    }


def run_isolated(call: Callable[..., Any], *args: Any, timeout: float = 20.0,
                 memory: int = EXTRA_MEMORY) -> tuple[str, Any]:
    """Run ``call(*args)`` in a forked child.

    Returns:
        ``("ok", result)``, ``("raised", describe_error(...))``, ``("crash", exit code)``
        or ``("hang", None)`` when it ran longer than ``timeout`` seconds.
    """
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(sender, call, args, memory))
    process.start()
    sender.close()
    try:
        if receiver.poll(timeout):
            try:
                return receiver.recv()
            except EOFError:
                process.join(timeout)
                return "crash", process.exitcode
        return "hang", None
    finally:
        receiver.close()
        process.join(1.0)
        if process.is_alive():
            process.kill()
            process.join()
