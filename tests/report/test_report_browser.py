"""report.html in a real browser: headless Chromium renders it from a file, without a server.

A copy of the report gets a small script that, once the page has loaded, writes
into the DOM (a ``<pre id="check">`` holding JSON) every section with the length
of its text and, for every image, whether it decoded. Chromium's ``--dump-dom``
prints the DOM after load; the test reads the JSON back. Skipped where no
Chromium is installed (the system package ``chromium`` on Debian).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from sheaftopo.report import FIGURES, SECTIONS, AnalysisConfig, analyze, write_report

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
BROWSER = next((path for name in BROWSERS if (path := shutil.which(name))), None)

pytestmark = pytest.mark.skipif(BROWSER is None, reason="no Chromium installed")

CHECK = """<script>
window.addEventListener("load", function () {
  var sections = Array.from(document.querySelectorAll("section")).map(function (s) {
    var title = s.querySelector("h2");
    return {id: s.id, title: title ? title.textContent : null,
            body: s.textContent.length - (title ? title.textContent.length : 0)};
  });
  var images = Array.from(document.images).map(function (img) {
    return {alt: img.alt, decoded: img.complete && img.naturalWidth > 0,
            width: img.naturalWidth, height: img.naturalHeight};
  });
  var pre = document.createElement("pre");
  pre.id = "check";
  pre.textContent = JSON.stringify({sections: sections, images: images});
  document.body.appendChild(pre);
});
</script>"""


@pytest.fixture(scope="module")
def report_page(paired, tmp_path_factory):
    """A real report of three sets with labels: every section and every figure applies."""
    A, B, labels = paired
    rng = np.random.default_rng(0)
    C = A[:, :5] + 0.5 * rng.normal(size=(len(A), 5))
    cfg = AnalysisConfig(k=5, dense_max_points=60, n_permutations=9)
    result = analyze({"img": A, "txt": B, "aud": C}, labels=labels, config=cfg)
    out = tmp_path_factory.mktemp("browser") / "report"
    out.mkdir()
    write_report(result, out)
    return out / "report.html"


def render(page, tmp_path):
    """The check's JSON, from the DOM Chromium dumps after loading a copy of ``page``."""
    text = page.read_text(encoding="utf-8")
    assert text.count("</body>") == 1
    copy = tmp_path / "checked.html"
    copy.write_text(text.replace("</body>", CHECK + "</body>"), encoding="utf-8")
    cmd = [
        BROWSER,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=5000",
        "--dump-dom",
        copy.as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    found = re.search(r'<pre id="check">(.*?)</pre>', proc.stdout, re.S)
    assert found, f"no check in the dumped DOM (exit {proc.returncode}): {proc.stderr[-2000:]}"
    return json.loads(html.unescape(found.group(1)))


def test_every_section_and_figure_renders_in_a_browser(report_page, tmp_path):
    check = render(report_page, tmp_path)
    sections = {s["id"]: s for s in check["sections"]}
    for sid, title in SECTIONS:
        assert sid in sections, f"section {sid} missing"
        assert sections[sid]["title"] == title
        assert sections[sid]["body"] > 20, f"section {sid} is empty"
    images = {img["alt"]: img for img in check["images"]}
    assert set(images) == set(FIGURES)  # three sets with labels: every figure applies
    for name, img in images.items():
        assert img["decoded"], f"{name} did not decode"
        assert img["width"] > 100 and img["height"] > 100, name


def test_the_report_is_self_contained(report_page):
    text = report_page.read_text(encoding="utf-8")
    external = re.findall(r"""(?:src|href)\s*=\s*["']?\s*((?:https?:)?//[^"'\s>]*)""", text, re.I)
    assert not external, external
    assert not re.search(r"url\(\s*['\"]?\s*(?:https?:)?//", text, re.I)
    assert not re.search(r"<(?:link|iframe|object|embed)\b", text, re.I)
    assert not re.search(r"<script\b[^>]*\bsrc\s*=", text, re.I)
    srcs = re.findall(r"<img\b[^>]*\bsrc\s*=\s*'([^']*)'", text)
    assert len(srcs) == len(FIGURES)
    assert all(s.startswith("data:image/png;base64,") for s in srcs)
