"""Numerical verification of the theorems in ``theory/``.

Every theorem page has a check here, registered by name. A check draws seeded
random and adversarial instances, measures each one (the ratio observed/bound,
or an error against an oracle) and the harness reports the worst. Run

    python -m verification              # every check, full size
    python -m verification --quick      # every check, small (what the tests run)
    python -m verification NAME [NAME]  # some checks
    python -m verification --list
    python -m verification --jobs 2     # checks in parallel processes
    python -m verification --mutants    # every mutant of the library must be killed

The exit status is non-zero when any check is violated.
"""

from ._mutants import MUTANTS, Mutant, MutantResult, applied, mutant, run_mutant, run_mutants
from ._registry import REGISTRY, Check, CheckResult, register, run, run_check

# importing the check modules registers their checks
from . import persistence as _persistence  # noqa: F401  isort: skip
from . import sheaf as _sheaf  # noqa: F401  isort: skip
from . import sheaf_learning as _sheaf_learning  # noqa: F401  isort: skip
from . import fiber as _fiber  # noqa: F401  isort: skip
from . import geometry as _geometry  # noqa: F401  isort: skip
from . import torch_losses as _torch_losses  # noqa: F401  isort: skip
from . import sheafalign as _sheafalign  # noqa: F401  isort: skip

__all__ = [
    "MUTANTS",
    "REGISTRY",
    "Check",
    "CheckResult",
    "Mutant",
    "MutantResult",
    "applied",
    "mutant",
    "register",
    "run",
    "run_check",
    "run_mutant",
    "run_mutants",
]
