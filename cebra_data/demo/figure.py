"""The demo's figure: every fit's held-out embedding, coloured by behaviour.

Example:
    >>> import pathlib
    >>> from types import SimpleNamespace
    >>> import numpy as np
    >>> from cebra_data.demo.figure import plot_embeddings
    >>> angle = np.linspace(0, 6, 100)
    >>> ring = SimpleNamespace(name="ring", embeddings=[np.stack([np.cos(angle), np.sin(angle)], 1)],
    ...                        colours=[angle])
    >>> path = plot_embeddings([ring], tmp_path)
    >>> pathlib.Path(path).read_bytes()[:4]
    b'\\x89PNG'
"""

from __future__ import annotations

import math
import os
from typing import Any, Sequence, Union

import numpy as np

__all__ = ["plot_embeddings"]


def plot_embeddings(rows: Sequence[Any], out_dir: Union[str, os.PathLike],
                    behaviour: str = "position") -> str:
    """Write ``embeddings.png``: each fit's held-out embedding, coloured by behaviour.

    Multi-session fits show every session in one panel (consistent sessions
    overlap). Uses matplotlib's object API (no global pyplot state), imported
    here so the rest of the demo works without it.

    Args:
        rows: the fits to draw, e.g. the :class:`~cebra_data.demo.Row` objects
            of a :class:`~cebra_data.demo.DemoResult`: anything with ``name``,
            ``embeddings`` (one ``(N, dim)`` array per session) and
            ``colours`` (one ``(N,)`` array per session). Rows without
            embeddings are skipped.
        out_dir: the directory to write into (created if needed).
        behaviour: the colour bar's label.

    Returns:
        The path of the written file.

    Raises:
        ModuleNotFoundError: if matplotlib is not installed.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    drawn = [row for row in rows if row.embeddings]
    columns = min(4, max(1, len(drawn)))
    lines = max(1, math.ceil(len(drawn) / columns))
    figure = Figure(figsize=(3.6 * columns + 1, 3.6 * lines))
    FigureCanvasAgg(figure)
    low = min((float(np.min(c)) for row in drawn for c in row.colours), default=0.0)
    high = max((float(np.max(c)) for row in drawn for c in row.colours), default=1.0)
    scatter = None
    for i, row in enumerate(drawn):
        three_d = row.embeddings[0].shape[1] >= 3
        axes = figure.add_subplot(lines, columns, i + 1, projection="3d" if three_d else None)
        for embedding, colour in zip(row.embeddings, row.colours):
            coords = [embedding[:, j] for j in range(min(3, embedding.shape[1]))]
            if len(coords) == 1:
                coords.append(np.zeros_like(coords[0]))
            scatter = axes.scatter(*coords, c=colour, cmap="viridis", vmin=low, vmax=high, s=2,
                                   linewidths=0)
        axes.set_title(row.name, fontsize=10)
        axes.set_xticks([])
        axes.set_yticks([])
        if three_d:
            axes.set_zticks([])
    if scatter is not None:
        figure.colorbar(scatter, ax=figure.axes, shrink=0.6, label=behaviour)
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(os.fspath(out_dir), "embeddings.png")
    figure.savefig(path, dpi=100, bbox_inches="tight")
    return path
