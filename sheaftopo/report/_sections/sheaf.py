"""Section ``sheaf`` (three or more sets): the modalities as a cellular sheaf.

Being written this session (issue 18) by helper S; the step is registered so
that the plumbing can be tested.
"""

from __future__ import annotations

from .._engine import Engine
from .._steps import GroupInput, GroupStep, Section


def run(inp: GroupInput, engine: Engine) -> Section:
    return Section({})


STEP = GroupStep("sheaf", "sheaf of the modalities", run, min_sets=3)
