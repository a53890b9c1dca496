r"""SheafAlign end to end: model, baseline, decentralized training, evaluation, experiments.

SheafAlign (arXiv:2510.20540) aligns modalities held by different nodes of a
communication graph without forcing them into one shared space: every edge
has its own comparison space, reached by learned restriction maps
:math:`P_{i\to e}` and left by dual maps :math:`Q_{e\to i}`. This package
holds

* the model (:class:`SheafAlign`, one :class:`SheafNode` per modality) and the
  ImageBind-style single-space baseline (:class:`SingleSpaceBaseline`);
* training in one process (:func:`train`, the simulation) and on
  ``torch.distributed`` with one process per node (:func:`train_distributed`,
  :func:`run_node` under ``torchrun``), with byte counts of what crosses edges;
* missing-modality inference, retrieval, zero/few-shot and robustness scores
  (:func:`evaluate`);
* data: mfeat, three views of scikit-learn's digits, a synthetic generator
  with a partial-information-decomposition knob (:func:`load_views`);
* the experiment behind ``sheaftopo sheafalign experiment``
  (:func:`run_experiment`; the command line is :mod:`sheaftopo.cli.sheafalign`).

It imports torch (it lives under the torch adapter).
"""

from ._baseline import SingleSpaceBaseline
from ._data import (
    DATASETS,
    MultiViewSplit,
    load_digits_views,
    load_views,
    make_pid_views,
    split_views,
)
from ._distributed import (
    DistributedTrainingError,
    NodeResult,
    PeerFailureError,
    load_node_results,
    run_node,
    save_node_result,
)
from ._evaluate import Evaluation, evaluate
from ._experiment import DEFAULT_ANCHORS, SYNTHETIC_DEFAULTS, ExperimentResult, run_experiment
from ._graph import GRAPH_KINDS, check_connected, make_graph, shortest_path
from ._launch import train_distributed
from ._model import LossTerms, SheafAlign
from ._node import EdgeInfo, MLPEncoder, SheafNode, node_seed
from ._train import NonFiniteLossError, StepInfo, TrainResult, as_views, batch_indices, train

__all__ = [
    "DATASETS",
    "DEFAULT_ANCHORS",
    "GRAPH_KINDS",
    "SYNTHETIC_DEFAULTS",
    "DistributedTrainingError",
    "EdgeInfo",
    "Evaluation",
    "ExperimentResult",
    "LossTerms",
    "MLPEncoder",
    "MultiViewSplit",
    "NodeResult",
    "NonFiniteLossError",
    "PeerFailureError",
    "SheafAlign",
    "SheafNode",
    "SingleSpaceBaseline",
    "StepInfo",
    "TrainResult",
    "as_views",
    "batch_indices",
    "check_connected",
    "evaluate",
    "load_digits_views",
    "load_node_results",
    "load_views",
    "make_graph",
    "make_pid_views",
    "node_seed",
    "run_experiment",
    "run_node",
    "save_node_result",
    "shortest_path",
    "split_views",
    "train",
    "train_distributed",
]

#: old names and what replaces them; they warn and are removed in sheaftopo 0.3
_DEPRECATED = {
    "main": "the command 'sheaftopo sheafalign' (sheaftopo.cli.main(['sheafalign', ...]))",
    "build_parser": "sheaftopo.cli.sheafalign.build_parser",
}


def __getattr__(name: str) -> object:
    """The old command-line entry points (``main``, ``build_parser``), with a DeprecationWarning.

    The SheafAlign command line is now the ``sheafalign`` subcommand of the
    ``sheaftopo`` command; these names run it until sheaftopo 0.3.
    """
    if name in _DEPRECATED:
        import warnings

        warnings.warn(
            f"sheaftopo.torch.sheafalign.{name} is deprecated and will be removed in sheaftopo "
            f"0.3; use {_DEPRECATED[name]}",
            DeprecationWarning,
            stacklevel=2,
        )
        from . import __main__ as program

        return getattr(program, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
