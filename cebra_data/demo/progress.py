"""Progress bars for fits that may run at the same time, on one text stream.

Every fit writes one final line when it ends (label, bar, steps, loss,
seconds). On a terminal, a live line below the finished ones shows the fits
still running and is redrawn in place; on any other stream (a file, a pipe, a
``StringIO``) only the final lines are written. Fits running in several
threads may share one :class:`Progress`: every write holds its lock.

Example:
    >>> import io
    >>> from cebra_data.demo.progress import Progress
    >>> stream = io.StringIO()
    >>> board = Progress(stream)
    >>> key = board.start("time contrastive", 4)
    >>> board.update(key, 4, 2.5)
    >>> board.finish(key, 4, 2.5, 1.0)
    >>> print(stream.getvalue().strip())
    time contrastive                   [##############################]     4/4 loss   2.500   1.0 s
"""

from __future__ import annotations

import shutil
import threading
from typing import Dict, List, Optional, TextIO

__all__ = ["Progress"]


class Progress:
    """Progress bars of one or more fits on ``stream`` (``None``: silent).

    Args:
        stream: where to write; a terminal gets a live line redrawn in place.
        width: characters of a bar.
    """

    def __init__(self, stream: Optional[TextIO], width: int = 30) -> None:
        self.stream, self.width = stream, width
        self.tty = bool(stream is not None and getattr(stream, "isatty", lambda: False)())
        self._lock = threading.Lock()
        self._running: Dict[int, List] = {}  # key -> [label, step, total, loss, redraw every]
        self._next_key = 0
        self._live = 0  # characters of the live line on the terminal

    def _bar(self, label: str, step: int, total: int, loss: float) -> str:
        filled = int(self.width * step / max(total, 1))
        bar = "#" * filled + "-" * (self.width - filled)
        return f"{label:<34} [{bar}] {step:>5}/{total} loss {loss:7.3f}"

    def _clear(self) -> None:
        if self._live:
            self.stream.write("\r" + " " * self._live + "\r")
            self._live = 0

    def _draw(self) -> None:
        if not self._running:
            return
        states = list(self._running.values())
        if len(states) == 1:
            line = self._bar(*states[0][:4])
        else:
            line = "  |  ".join(f"{label} {step}/{total}" for label, step, total, *_ in states)
        line = line[: max(10, shutil.get_terminal_size().columns - 1)]
        self.stream.write("\r" + line + " " * max(0, self._live - len(line)))
        self._live = len(line)

    def start(self, label: str, total: int) -> int:
        """Register a fit of ``total`` steps; returns its key for :meth:`update` and :meth:`finish`."""
        with self._lock:
            key = self._next_key
            self._next_key += 1
            self._running[key] = [label, 0, total, float("nan"), max(1, total // 100)]
            return key

    def update(self, key: int, step: int, loss: float) -> None:
        """Record that fit ``key`` finished ``step`` steps (redrawn on a terminal every 1 %)."""
        if not self.tty:
            return
        with self._lock:
            state = self._running[key]
            state[1], state[3] = step, loss
            if step % state[4] == 0 or step == state[2]:
                self._draw()
                self.stream.flush()

    def finish(self, key: int, step: int, loss: float, seconds: float) -> None:
        """Write fit ``key``'s final line (above the live line on a terminal)."""
        with self._lock:
            label, _, total, *_ = self._running.pop(key)
            if self.stream is None:
                return
            if self.tty:
                self._clear()
            self.stream.write(f"{self._bar(label, step, total, loss)} {seconds:5.1f} s\n")
            if self.tty:
                self._draw()
            self.stream.flush()
