"""The documentation site: a Sphinx build with warnings as errors, and a scan of every page.

``test_site`` builds the site once (``python -m sphinx -W --keep-going -b html
-j 1 docs OUT``, skipped when Sphinx or one of its extensions is missing),
checks that the key pages exist (every API page and every public object's
page, the tutorials, one page per ``theory/*.md``, the gallery index and one
page with a figure per ``examples/plot_*.py``), and scans every built page for
raw roles (``:math:``, ``:func:``... outside code, scripts and rendered maths)
and for unresolved references (an ``xref`` with no link around it). The
scanner's own tests feed it pages that must fail.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
EXTENSIONS = ("sphinx", "numpydoc", "myst_parser", "sphinx_gallery", "pydata_sphinx_theme")
# the public units and their API pages; a re-export is documented in its home unit
UNITS = {
    "sheaftopo.persistence": "persistence",
    "sheaftopo.sheaf": "sheaf",
    "sheaftopo.fiber": "fiber",
    "sheaftopo.geometry": "geometry",
    "sheaftopo.verify": "verify",
    "sheaftopo.verify.strategies": "verify",
    "sheaftopo.distributed": "distributed",
    "sheaftopo.torch": "torch",
    "sheaftopo.torch.sheafalign": "sheafalign",
    "sheaftopo.io": "io",
    "sheaftopo.datasets": "datasets",
    "sheaftopo.report": "report",
    "sheaftopo.cli": "cli",
}
REEXPORTS = {
    ("sheaftopo.report", "DaskOptions"),
    ("sheaftopo.datasets", "PlantedSubspaces"),
    ("sheaftopo.datasets", "make_planted_subspaces"),
}

RAW_ROLE = re.compile(
    r"(?<![\w:]):(?:py:)?(?:math|func|class|meth|attr|mod|ref|obj|data|exc|term|doc)"
    r":(?=`|\s|<|$)|:py:"
)
HIDDEN = re.compile(
    r"<(script|style|pre|code)\b.*?</\1>"  # code, and MathJax/JS sources
    r"|<(span|div) class=\"math[^\"]*\">.*?</\2>",  # maths MathJax renders
    re.S,
)
XREF = re.compile(r"<(code|span)\b[^>]*class=\"[^\"]*\bxref\b[^\"]*\"[^>]*>")


def scan_page(html: str) -> list[str]:
    """Raw roles and unresolved references in one built page, each with its snippet."""
    problems = []
    for match in XREF.finditer(html):
        before = html[: match.start()]
        last_tag = before[before.rfind("<") :]
        if not last_tag.startswith("<a "):
            snippet = html[match.start() : match.start() + 160]
            problems.append(f"unresolved reference: {snippet!r}")
    visible = re.sub(r"<[^>]+>", "", HIDDEN.sub(" ", html))
    for match in RAW_ROLE.finditer(visible):
        snippet = visible[max(0, match.start() - 60) : match.end() + 60]
        problems.append(f"raw role {match.group(0)!r}: {' '.join(snippet.split())!r}")
    return problems


def scan_site(site: Path) -> list[str]:
    """``page: problem`` for every problem of every built page."""
    return [
        f"{page.relative_to(site)}: {problem}"
        for page in sorted(site.rglob("*.html"))
        for problem in scan_page(page.read_text(encoding="utf-8"))
    ]


# ---------------------------------------------------------------- the scanner
GOOD = (
    '<p>See <a class="reference internal" href="x.html#sheaftopo.persistence.mst">'
    '<code class="xref py py-func docutils literal notranslate"><span class="pre">mst()'
    '</span></code></a> and <span class="math notranslate nohighlight">\\(a:b\\)</span>.</p>'
    "<pre>:func:`literal` in a code block</pre><script>var r = ':math:';</script>"
)


def test_scanner_accepts_a_clean_page():
    assert scan_page(GOOD) == []


@pytest.mark.parametrize(
    "bad",
    [
        "<p>The bound of :func:`approximation_bound` next to the truth</p>",
        "<p>The bound of :func: approximation_bound next to the truth</p>",
        "<p>:math:`m(\\varepsilon)` grows</p>",
        "<li>a <em>:class:</em><code>Diagram</code></li>",
        "<p>see :py:func:`numpy.sort`</p>",
        '<p><code class="xref py py-func docutils literal notranslate">'
        '<span class="pre">missing()</span></code></p>',
        '<p><span class="xref std std-term">array_like</span></p>',
    ],
)
def test_scanner_rejects_raw_roles_and_unresolved_references(bad):
    problems = scan_page(GOOD + bad)
    assert len(problems) == 1, problems


# ------------------------------------------------------------- the API pages
def _documented_names() -> dict[str, set[str]]:
    """The names each API page lists in an autosummary table, per current module."""
    found: dict[str, set[str]] = {}
    for page in (DOCS / "api").glob("*.md"):
        module = None
        in_table = False
        for line in page.read_text(encoding="utf-8").splitlines():
            if m := re.match(r"^\.\. (?:current)?module:: (\S+)", line):
                module = m.group(1)
            elif line.startswith(".. autosummary::"):
                in_table = True
            elif in_table and re.match(r"^   [A-Za-z_]\w*$", line):
                found.setdefault(module, set()).add(line.strip())
            elif in_table and not line.startswith("   ") and line.strip():
                in_table = False
    return found


def test_api_pages_list_every_public_name():
    documented = _documented_names()
    missing = []
    for unit in UNITS:
        try:
            module = importlib.import_module(unit)
        except ImportError:  # the torch units need torch; the others are still checked
            continue
        missing += [
            f"docs/api/{UNITS[unit]}.md: {unit}.{name}"
            for name in module.__all__
            if (unit, name) not in REEXPORTS and name not in documented.get(unit, set())
        ]
    assert not missing, "public names no API page lists:\n" + "\n".join(missing)


# ------------------------------------------------------------------ the build
@pytest.fixture(scope="module")
def site(tmp_path_factory):
    for name in EXTENSIONS:
        pytest.importorskip(name, reason=f"the docs build needs {name} (pip install -e .[docs])")
    pytest.importorskip("torch", reason="the API pages of sheaftopo.torch need torch")
    out = tmp_path_factory.mktemp("docs")
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", "-j", "1", "-q"]
    cmd += ["-d", str(out / "doctrees"), str(DOCS), str(out / "html")]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-8000:]
    return out / "html"


def test_site_has_the_key_pages(site):
    pages = ["index.html", "auto_examples/index.html", "theory/index.html"]
    pages += [f"api/{page}.html" for page in set(UNITS.values())]
    pages += [f"tutorials/{p.stem}.html" for p in (DOCS / "tutorials").glob("*.md")]
    pages += [f"theory/{p.stem}.html" for p in (ROOT / "theory").glob("*.md") if p.stem != "README"]
    for unit in UNITS:
        module = importlib.import_module(unit)
        pages += [
            f"api/generated/{unit}.{name}.html"
            for name in module.__all__
            if (unit, name) not in REEXPORTS
        ]
    missing = [page for page in pages if not (site / page).is_file()]
    assert not missing, missing
    report = (site / "api" / "generated" / "sheaftopo.report.retrieval_recall.html").read_text(
        encoding="utf-8"
    )
    assert "retrieval_recall" in report


def test_gallery_pages_show_their_figures(site):
    examples = sorted((ROOT / "examples").glob("plot_*.py"))
    assert examples, "no gallery example in examples/"
    for example in examples:
        page = site / "auto_examples" / f"{example.stem}.html"
        assert page.is_file(), page
        html = page.read_text(encoding="utf-8")
        assert re.search(rf'<img[^>]+src="[^"]*sphx_glr_{example.stem}_\d+', html), (
            f"{page.name} shows no figure"
        )


def test_maths_is_rendered_by_mathjax(site):
    page = site / "api" / "generated" / "sheaftopo.persistence.approximation_bound.html"
    html = page.read_text(encoding="utf-8")
    assert "mathjax" in html.lower()
    assert 'class="math notranslate nohighlight"' in html


def test_no_page_has_raw_roles_or_unresolved_references(site):
    problems = scan_site(site)
    assert not problems, "\n".join(problems[:40]) + f"\n({len(problems)} in all)"
