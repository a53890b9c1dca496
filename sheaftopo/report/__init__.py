"""Alignment reports for embedding sets with paired rows (what ``sheaftopo analyze`` writes).

The analysis (:func:`analyze`, numbers into an :class:`AnalysisResult`) is
kept apart from the rendering (:func:`write_report`: report.json,
report.html with the figures embedded, the PNG figures). Two measures that
live nowhere else in the library are defined here: the distance-matrix
alignment and cross-modal retrieval recall, both exact and blocked.

Layout: ``_config`` (:class:`AnalysisConfig`, :class:`AnalysisResult`),
``_preprocess`` (input checks, subsamples, :func:`preprocess`), ``_sections/``
(one module per section, each declaring its step; the registry
:data:`PAIR_STEPS` and ``SET_STEPS``), ``_steps`` (how a step is declared),
``_engine`` (the ``Engine`` protocol and the in-memory engine),
``_dask_engine`` (the engine of ``dask=DaskOptions(...)``), ``_analysis``
(:func:`analyze`: the loop over the steps), ``_measures``, ``_render``,
``_figures`` (with ``_figures_items``, ``_figures_sheaf`` and ``_plotting``),
``_render_items``, ``_render_sheaf``, ``_json``, ``_text``, ``_staging``, ``_sheaf_measures``
and ``_progress``. :class:`DaskOptions` is
:class:`sheaftopo.distributed.DaskOptions`.

matplotlib, POT, GUDHI and the numba kernels are imported by the functions
that use them, not by this package.
"""

from ..distributed import DaskOptions
from ._analysis import analyze, count_steps
from ._config import AnalysisConfig, AnalysisResult
from ._figures import FIGURES, render_figures
from ._measures import (
    DistanceAlignment,
    Retrieval,
    distance_alignment,
    retrieval_recall,
    rms_pairwise_distance,
)
from ._preprocess import paired_subsample, preprocess
from ._progress import Progress
from ._render import (
    SECTIONS,
    print_summary,
    render_html,
    render_json,
    summary_rows,
    write_report,
)
from ._render_items import write_items_csv
from ._sections import PAIR_STEPS
from ._staging import staged_directory

__all__ = [
    "FIGURES",
    "PAIR_STEPS",
    "SECTIONS",
    "AnalysisConfig",
    "AnalysisResult",
    "DaskOptions",
    "DistanceAlignment",
    "Progress",
    "Retrieval",
    "analyze",
    "count_steps",
    "distance_alignment",
    "paired_subsample",
    "preprocess",
    "print_summary",
    "render_figures",
    "render_html",
    "render_json",
    "retrieval_recall",
    "rms_pairwise_distance",
    "staged_directory",
    "summary_rows",
    "write_items_csv",
    "write_report",
]
