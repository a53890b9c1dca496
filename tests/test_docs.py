"""The documentation site builds with ``mkdocs build --strict`` (skipped without mkdocs)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_mkdocs_build_strict(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    pytest.importorskip("material")
    site = tmp_path / "site"
    out = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    for page in (
        "tutorials/analyze/index.html",
        "tutorials/verify/index.html",
        "tutorials/training/index.html",
        "tutorials/sheaves/index.html",
        "api/io/index.html",
        "api/report/index.html",
        "api/cli/index.html",
    ):
        assert (site / page).is_file(), page
    api = (site / "api" / "report" / "index.html").read_text(encoding="utf-8")
    assert "retrieval_recall" in api and "distance_alignment" in api
