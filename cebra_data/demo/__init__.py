"""The end-to-end demo behind ``cebra-data demo``: data, encoder, loss, training, metrics.

The demo fits a small contrastive encoder on batches drawn by each of the
package's loaders and reports, per loader, how fast the data layer produced
batches and how good the resulting embedding is. Everything the command does
is importable from here, so it can be tested and reused piece by piece:

* :func:`make_linear_track` -- deterministic synthetic recordings of a rat on a
  1.6 m linear track (place-cell-like neurons with direction-dependent tuning,
  Poisson spike counts), one :class:`Recording` per session.
* :class:`ConvEncoder` -- a small 1-D convolutional encoder whose receptive
  field is ten time steps (``get_offset()`` is ``Offset(5, 5)``), initialised
  from an explicit ``torch.Generator``.
* :func:`infonce` -- the InfoNCE loss with cosine similarity and a temperature.
* :func:`fit` -- the training loop over a loader (single- or multi-session),
  timing the data layer separately from the model.
* :func:`knn_r2` and :func:`consistency_r2` -- position decoding on a held-out
  part of each recording and cross-session consistency.
* :func:`run_demo` -- all fits of the default plan (side by side in threads,
  one per CPU core) and their table, :func:`format_table` and
  :func:`plot_embeddings` to present them.

The code is split by job: :mod:`cebra_data.demo.data` (configuration and
recordings), :mod:`cebra_data.demo.model` (encoder, loss, embedding),
:mod:`cebra_data.demo.training` (training loop, metrics, the plan and the
run, the table), :mod:`cebra_data.demo.progress` (progress bars of fits
running at the same time) and :mod:`cebra_data.demo.figure`. The demo sits above the
data layer and uses only its public API. The loader throughput benchmark
that used to live here is the script ``benchmarks/bench_loaders.py``.

Randomness: the synthetic data come from ``numpy.random.default_rng(seed)``,
every model is initialised from its own seeded ``torch.Generator`` and every
loader gets its own seed derived from ``seed``; no global random state is read
or written, so the same seed prints the same table however many fits run at
once (up to floating-point differences between machines).

Example:
    >>> from cebra_data.demo import DemoConfig, make_linear_track
    >>> sessions = make_linear_track(DemoConfig(num_samples=(300, 320, 340)))
    >>> [r.neural.shape for r in sessions]
    [(300, 60), (320, 90), (340, 120)]
    >>> sessions[0].continuous.shape, sorted(set(sessions[0].discrete.tolist()))
    ((300, 1), [0, 1])
"""

from cebra_data.demo.data import (
    TRACK_LENGTH,  # noqa: F401 (importable from here, as before)
    DemoConfig,
    Recording,
    load_nwb_recording,
    load_recordings,
    make_linear_track,
)
from cebra_data.demo.figure import plot_embeddings
from cebra_data.demo.model import ConvEncoder, embed, infonce
from cebra_data.demo.training import (
    DemoResult,
    FitResult,
    FitSpec,
    Row,
    consistency_r2,
    default_plan,
    fit,
    format_table,
    knn_r2,
    run_demo,
)

__all__ = [
    "DemoConfig",
    "Recording",
    "FitSpec",
    "FitResult",
    "Row",
    "DemoResult",
    "make_linear_track",
    "load_recordings",
    "load_nwb_recording",
    "ConvEncoder",
    "infonce",
    "fit",
    "embed",
    "knn_r2",
    "consistency_r2",
    "default_plan",
    "run_demo",
    "format_table",
    "plot_embeddings",
]
