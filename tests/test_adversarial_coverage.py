"""Every public function and every user-constructed class is in the bad-input suite.

The bad-input suite lives in ``tests/*/test_*_adversarial.py`` (machinery in
``tests/_adversarial.py``). A name added to a subpackage's ``__all__`` without
a bad-input test fails here, so the promise "every public function ends in a
right answer or a clear error" cannot silently stop covering new code.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest

TESTS = Path(__file__).parent

MODULES = (
    "sheaftopo.sheaf",
    "sheaftopo.persistence",
    "sheaftopo.fiber",
    "sheaftopo.geometry",
    "sheaftopo.torch",
    "sheaftopo.torch.sheafalign",
    "sheaftopo.distributed",
    "sheaftopo.report",
    "sheaftopo.io",
    "sheaftopo.datasets",
    "sheaftopo.verify",
)

#: public classes users never construct with their own input: results handed
#: back by the functions, and exception types. Their *fields* are checked for
#: NaN wherever a bad-input case returns one (tests/_adversarial.assert_finite).
RESULTS_AND_ERRORS = {
    # exceptions
    "NotConvergedError", "EmbeddingFileError", "DistributedTrainingError",
    "NonFiniteLossError", "PeerFailureError",
    # result objects
    "RestrictionFit", "SheafLayout", "SheafSpectrum", "CohomologyDimensions", "SpanningForest",
    "SparsificationBound",
    "SparsifiedGraph", "Subsample", "FiberProduct", "FiberProfile", "ModalitySubspaces",
    "PlantedSubspaces", "RandomPairFraction", "SubspaceDecomposition", "LabelScores",
    "LocalAlignment", "ManifoldDiagnostics", "SPDMean", "TransportResult", "ToMCLIPTerms",
    "FiberProductFiles", "AnalysisResult", "DistanceAlignment", "Retrieval", "MultiViewData",
    "EdgeInfo", "Evaluation", "ExperimentResult", "LossTerms", "NodeResult", "StepInfo",
    "TrainResult", "MultiViewSplit",
    "Counterexample", "FamilyResult", "Measurement", "Report", "SearchResult",
}


def _public_callables():
    if importlib.util.find_spec("torch") is None:  # pragma: no cover - torch is a test extra
        modules = [m for m in MODULES if not m.startswith("sheaftopo.torch")]
    else:
        modules = list(MODULES)
    for name in modules:
        mod = importlib.import_module(name)
        for attr in getattr(mod, "__all__", ()):
            obj = getattr(mod, attr)
            if inspect.isfunction(obj) or (
                inspect.isclass(obj) and attr not in RESULTS_AND_ERRORS
            ):
                yield name, attr


def _suite_text() -> str:
    files = sorted(TESTS.glob("*/test_*_adversarial.py"))
    assert files, "no bad-input test modules found"
    return "\n".join(f.read_text() for f in files)


def test_every_public_callable_has_bad_input_cases():
    text = _suite_text()
    missing = [
        f"{mod}.{attr}"
        for mod, attr in _public_callables()
        if not re.search(rf"\b{re.escape(attr)}\b", text)
    ]
    assert not missing, (
        "public names with no case in tests/*/test_*_adversarial.py: " + ", ".join(missing)
    )


def test_allow_list_names_only_existing_result_classes():
    # a renamed or removed result class must leave the allow-list too
    pytest.importorskip("torch")
    public = set()
    for name in MODULES:
        mod = importlib.import_module(name)
        public.update(
            attr for attr in getattr(mod, "__all__", ()) if inspect.isclass(getattr(mod, attr))
        )
    assert RESULTS_AND_ERRORS <= public, sorted(RESULTS_AND_ERRORS - public)
