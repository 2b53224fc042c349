"""Reading an NWB file by URL: bytes transferred, requests, time and failures, per library.

Run: ``python benchmarks/bench_remote.py [--ephys-mb 205] [--stall-limit 40]`` (about a minute,
plus the stall checks). It writes a real-shaped NWB session with a large chunked
ElectricalSeries (int16, 64 channels, 1 MB chunks) in a temporary directory, serves it from a
local threaded HTTP server with byte ranges (``tests/io/_range_server.py``; nothing leaves the
machine) and, for each way of opening the URL, reads the 850 x 2 position series through pynwb
(what ``read_timeseries`` does) and, separately, 20 MB of the ElectricalSeries through h5py:

* ``remfile`` (``remfile.File(url)``, its defaults), if it is installed;
* fsspec's HTTP file with its default cache (``readahead``, 5 MB blocks);
* fsspec's HTTP file with ``blockcache`` of 128 KiB blocks;
* cebra_data (:func:`cebra_data.io.remote.open_url`: one probe, then fsspec's blockcache of
  128 KiB blocks for small reads and one range request per read of 1 MiB or more).

Each is read directly and through a redirect (302, as DANDI's asset URLs). Reported: bytes the
server sent as a share of the file, requests, redirects followed, wall time (best of
``--repeat``). Then the failures, for each library: a 404, a refused connection and a server
that accepts the connection and never answers, each timed (a call still running after
``--stall-limit`` seconds is reported as hanging and left behind in a daemon thread).
"""

from __future__ import annotations

import argparse
import builtins
import functools
import os
import pathlib
import platform
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

import h5py
import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "io"))

from _nwb_sessions import EPHYS, write_session  # noqa: E402
from _range_server import RangeServer, SilentServer, refused_url  # noqa: E402

from cebra_data.io import remote  # noqa: E402
from cebra_data.io.nwb import open_nwb  # noqa: E402

POS = "processing/behavior/Position/position"
print = functools.partial(builtins.print, flush=True)  # progress shows while the stall checks wait


def _fsspec(cache: str, block: int | None = None, timeout: float | None = None) -> Callable[[str], Any]:
    def opener(url: str) -> Any:
        import aiohttp
        import fsspec

        client = {} if timeout is None else {
            "timeout": aiohttp.ClientTimeout(sock_connect=timeout, sock_read=timeout)}
        fs = fsspec.filesystem("http", skip_instance_cache=True, client_kwargs=client)
        options = {"cache_type": cache}
        if block:
            options["block_size"] = block
        return fs.open(url, "rb", **options)
    return opener


def _remfile(url: str) -> Any:
    import remfile

    return remfile.File(url)


class _Ours:
    """Marks cebra_data's own opener (open_nwb / open_url) in the table."""


def read_position(opener: Any, url: str) -> np.ndarray:
    import pynwb

    if opener is _Ours:
        with open_nwb(url) as nwb:
            return nwb.timeseries(POS, False)[0]
    with h5py.File(opener(url), "r") as handle, \
            pynwb.NWBHDF5IO(file=handle, mode="r", load_namespaces=True) as io:
        nwbfile = io.read()
        return np.asarray(nwbfile.processing["behavior"]["Position"]["position"].data[()])


def read_slice(opener: Any, url: str) -> np.ndarray:
    if opener is _Ours:
        with remote.open_url(url) as handle, h5py.File(handle, "r") as file:
            return file[EPHYS + "/data"][:160_000]
    with h5py.File(opener(url), "r") as file:
        return file[EPHYS + "/data"][:160_000]


def measure(server: RangeServer, size: int, read: Callable, opener: Any, url: str,
            repeat: int) -> tuple[float, int, int, float]:
    best = float("inf")
    for _ in range(repeat):
        server.reset()
        start = time.perf_counter()
        read(opener, url)
        best = min(best, time.perf_counter() - start)
    return 100 * server.bytes_sent / size, server.requests, server.redirects, best


def attempt(call: Callable[[], Any], limit: float) -> str:
    outcome: dict[str, Any] = {}

    def run() -> None:
        start = time.perf_counter()
        try:
            call()
            outcome["text"] = "no error"
        except BaseException as exc:  # report whatever the library raises
            kind = type(exc)
            flags = "".join(f", {name}" for name, base in
                            (("OSError", OSError), ("FileNotFoundError", FileNotFoundError),
                             ("ConnectionError", ConnectionError)) if isinstance(exc, base))
            message = " ".join(str(exc).split())[:110]
            outcome["text"] = f"{kind.__module__}.{kind.__name__} [{flags[2:] or 'not OSError'}]: {message}"
        outcome["seconds"] = time.perf_counter() - start

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(limit)
    if thread.is_alive():
        return f"still hanging after {limit:g} s"
    return f"{outcome['seconds']:6.2f} s  {outcome['text']}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ephys-mb", type=float, default=205.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--stall-limit", type=float, default=40.0)
    args = parser.parse_args()
    try:
        import remfile  # noqa: F401
        have_remfile = True
    except ImportError:
        have_remfile = False
    openers = ([("remfile (defaults)", _remfile)] if have_remfile else []) + [
        ("fsspec readahead 5 MB (default)", _fsspec("readahead")),
        ("fsspec blockcache 128 KiB", _fsspec("blockcache", 128 * 1024)),
        ("cebra_data open_url", _Ours),
    ]
    with tempfile.TemporaryDirectory() as folder:
        path = pathlib.Path(folder) / "session.nwb"
        write_session(path, ephys_mb=args.ephys_mb)
        size = path.stat().st_size
        print(f"NWB file of {size / 1e6:.1f} MB ({args.ephys_mb:g} MB ElectricalSeries in 1 MB "
              f"chunks); {platform.machine()}, {os.cpu_count()} cores, load average "
              f"{os.getloadavg()[0]:.1f}; best of {args.repeat}")
        if not have_remfile:
            print("(remfile is not installed: pip install remfile to compare it)")
        with RangeServer({"session.nwb": path}) as server:
            for title, read in (("position 850 x 2 through pynwb", read_position),
                                ("20 MB of the ElectricalSeries through h5py", read_slice)):
                print(f"\n{title}")
                print(f"{'opener':34s} {'via':9s} {'% of file':>9s} {'requests':>8s} "
                      f"{'redirects':>9s} {'seconds':>8s}")
                for name, opener in openers:
                    for via in ("direct", "redirect"):
                        url = server.url("session.nwb") if via == "direct" \
                            else server.redirect_url("session.nwb")
                        share, requests, redirects, seconds = measure(
                            server, size, read, opener, url, args.repeat)
                        print(f"{name:34s} {via:9s} {share:9.2f} {requests:8d} {redirects:9d} "
                              f"{seconds:8.2f}")
            missing = server.base + "/files/missing.nwb"
            print("\nfailures (time to fail, error)")
            failing = ([("remfile", _remfile)] if have_remfile else []) + [
                ("fsspec (no timeout)", _fsspec("blockcache", 128 * 1024)),
                ("fsspec (ClientTimeout 2 s)", _fsspec("blockcache", 128 * 1024, timeout=2.0)),
            ]
            with SilentServer() as silent:
                cases = (("404", missing), ("refused", refused_url()), ("stalled", silent.url()))
                for name, opener in failing:
                    for case, url in cases:
                        print(f"{name:28s} {case:8s} {attempt(lambda: opener(url), args.stall_limit)}")
                os.environ.setdefault(remote.TIMEOUT_ENV, "2")
                for case, url in cases:
                    print(f"{'cebra_data (timeout 2 s)':28s} {case:8s} "
                          f"{attempt(lambda: read_position(_Ours, url), args.stall_limit)}")


if __name__ == "__main__":
    main()
