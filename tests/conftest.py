"""Shared pytest configuration.

Hypothesis runs derandomized by default so that the suite (and CI, which runs
the README's test command) is reproducible: the same examples every run. Set
``HYPOTHESIS_PROFILE=explore`` to search with fresh random examples and many
more of them; add anything it finds as an explicit regression test.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("default", derandomize=True, deadline=None)
settings.register_profile("explore", derandomize=False, deadline=None, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
