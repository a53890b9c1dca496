"""Rendering an :class:`~sheaftopo.report.AnalysisResult`: JSON, HTML, terminal table, files.

Nothing here computes a quantity: it formats ``result.data`` and draws
``result.arrays``. :func:`write_report` writes every file into a staging
directory next to the destination and moves them into place only when all of
them are written (:mod:`._staging`), so a failure never leaves a partial report behind.
"""

from __future__ import annotations

import base64
import math
import os
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from ._config import check_result
from ._json import render_json
from ._staging import JSON_NAME
from ._text import escape as _e
from ._text import fmt

__all__ = [
    "SECTIONS",
    "print_summary",
    "render_html",
    "render_json",
    "summary_rows",
    "write_report",
]

#: (id, title) of every section of the HTML report, in order
SECTIONS: tuple[tuple[str, str], ...] = (
    ("overview", "Overview"),
    ("summary", "Summary"),
    ("persistence", "H0 persistence"),
    ("sparsification", "ToMCLIP sparsification and its error bound"),
    ("distance-alignment", "Distance-matrix alignment"),
    ("neighbourhoods", "kNN neighbourhoods"),
    ("shared-space", "Shared space"),
    ("retrieval", "Cross-modal retrieval"),
    ("distributions", "Distributions: OT, Bures-Wasserstein, MMD, modality gap"),
    ("fiber-product", "Approximate fiber product"),
    ("subspaces", "Shared and specific subspaces"),
    ("items", "Where the sets disagree: per item"),
    ("classes", "Where the sets disagree: per class"),
    ("sheaf", "Three or more modalities: the sheaf"),
    ("labels", "Labels: silhouette and NMI"),
    ("timings", "Timings"),
)

HTML_NAME = "report.html"


# ----------------------------------------------------------------------
# JSON
# ----------------------------------------------------------------------


# ----------------------------------------------------------------------
# formatting helpers
# ----------------------------------------------------------------------


def _flatten(d: Any, prefix: str = "") -> list[tuple[str, dict[str, Any]]]:
    """(dotted name, quantity) for every ``{"value": ...}`` entry, in order."""
    out: list[tuple[str, dict[str, Any]]] = []
    if not isinstance(d, dict):
        return out
    if "value" in d:
        return [(prefix, d)]
    for k, v in d.items():
        name = f"{prefix} {k}".strip() if prefix else str(k)
        out.extend(_flatten(v, name))
    return out


def _table(columns: list[str], rows: list[tuple[str, list[Any], str]]) -> str:
    """HTML table: a quantity per row (name, one cell per column, unit)."""
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    body = []
    for name, cells, unit in rows:
        tds = "".join(f"<td class='num'>{_e(fmt(c))}</td>" for c in cells)
        body.append(
            f"<tr><th scope='row'>{_e(name)}</th>{tds}<td class='unit'>{_e(unit)}</td></tr>"
        )
    return (
        f"<table><thead><tr><th>quantity</th>{head}<th>unit</th></tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _grouped(
    entries: dict[str, Any], section: str
) -> tuple[list[str], list[tuple[str, list[Any], str]], list[str]]:
    """Columns, rows and notes of one section across sets or pairs."""
    columns = list(entries)
    order: list[str] = []
    values: dict[str, dict[str, Any]] = {}
    units: dict[str, str] = {}
    notes: dict[str, str] = {}
    labels: dict[str, str] = {}
    for col, entry in entries.items():
        for name, qd in _flatten(entry.get(section, {})):
            if name not in values:
                order.append(name)
                values[name] = {}
            values[name][col] = fmt_quantity(qd) if "p_value" in qd else qd["value"]
            units[name] = qd.get("unit", "")
            labels[name] = f"{name} {ARROWS[qd['better']]}" if qd.get("better") in ARROWS else name
            if qd.get("note"):
                notes[name] = qd["note"]
    rows = [(labels[name], [values[name].get(c) for c in columns], units[name]) for name in order]
    note_lines = [f"<b>{_e(k)}</b>: {_e(v)}" for k, v in notes.items()]
    return columns, rows, note_lines


def _notes(lines: list[str]) -> str:
    if not lines:
        return ""
    return "<ul class='notes'>" + "".join(f"<li>{s}</li>" for s in lines) + "</ul>"


def _figure(name: str, png: bytes | None, caption: str) -> str:
    if png is None:
        return ""
    b64 = base64.b64encode(png).decode("ascii")
    return (
        f"<figure><img alt='{_e(name)}' src='data:image/png;base64,{b64}'>"
        f"<figcaption>{_e(caption)}</figcaption></figure>"
    )


def _texts(entries: dict[str, Any], section: str, keys: tuple[str, ...]) -> list[str]:
    out = []
    for col, entry in entries.items():
        sec = entry.get(section, {})
        for k in keys:
            if isinstance(sec, dict) and isinstance(sec.get(k), str):
                out.append(f"<b>{_e(col)}</b> {_e(k)}: {_e(sec[k])}")
    return out


# ----------------------------------------------------------------------
# summary
# ----------------------------------------------------------------------

#: (label, path inside a pair entry, which direction is better) of the terminal / HTML summary;
#: every column is free of the sets' scales and of the number of rows, but recall@k (chance
#: level k / n). The fiber product enters as the fraction of all n^2 pairs within the distance
#: that holds 90% of the true pairs (its eps* is a distance in the shared space's units, the
#: maximum over the items, growing with n)
SUMMARY: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("SW(H0) rel.", ("persistence", "sliced_wasserstein_relative"), "lower"),
    ("bottleneck(H0)", ("persistence", "bottleneck"), "lower"),
    ("dist. corr.", ("distance_alignment", "correlation"), "higher"),
    ("kNN overlap", ("neighbourhoods", "overlap"), "higher"),
    ("R@1 a→b", ("retrieval", "recall_a_to_b", "@1"), "higher"),
    ("R@10 a→b", ("retrieval", "recall_a_to_b", "@10"), "higher"),
    ("MMD²", ("distributions", "mmd_paired"), "lower"),
    ("FP frac.@90%", ("fiber_product", "at_eps_recall_90", "pair_fraction"), "lower"),
)

#: the arrow after a column label, by better direction
ARROWS = {"higher": "↑", "lower": "↓"}

#: the summary's legend line
SUMMARY_LEGEND = (
    "↑ higher is better, ↓ lower is better; MMD² with its permutation p-value; R@k: chance "
    "level k/n; FP frac.@90%: fraction of all n² pairs within the distance holding 90% of "
    "the true pairs (fiber product)"
)

#: what replaces each non-ASCII character of the summary on a stream that cannot encode it
_ASCII = str.maketrans(
    {"↑": "(+)", "↓": "(-)", "→": "->", "²": "^2", "ε": "eps", "—": "-", "\u2212": "-", "∞": "inf"}
)


def _quantity(d: Any, path: tuple[str, ...]) -> Any:
    for k in path:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def _get(d: Any, path: tuple[str, ...]) -> Any:
    d = _quantity(d, path)
    return d.get("value") if isinstance(d, dict) else d


def fmt_quantity(qd: Any) -> str:
    """A reported quantity's value for humans, with its p-value when it has one."""
    if not isinstance(qd, dict):
        return fmt(qd)
    text = fmt(qd.get("value"))
    p = qd.get("p_value")
    if isinstance(p, float) and math.isfinite(p):
        text += f" (p={p:.2g})"
    return text


def summary_rows(result: Any, *, ascii: bool = False) -> tuple[list[str], list[list[str]]]:
    """Header and rows (strings) of the short per-pair summary table.

    Every column label ends in its better direction (↑ higher, ↓ lower is
    better); MMD² shows its permutation p-value. ``ascii=True`` writes the
    labels in ASCII ("(+)", "(-)", "MMD^2", "a->b").

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.report import AnalysisConfig, analyze, summary_rows
    >>> rng = np.random.default_rng(0)
    >>> A = rng.normal(size=(60, 4))
    >>> res = analyze({"a": A, "b": A + 0.01 * rng.normal(size=(60, 4))},
    ...               config=AnalysisConfig(k=5, dense_max_points=40, n_permutations=9))
    >>> header, rows = summary_rows(res, ascii=True)
    >>> header[:3]
    ['pair', 'SW(H0) rel. (-)', 'bottleneck(H0) (-)']
    >>> rows[0][0], header[7]
    ('a | b', 'MMD^2 (-)')
    """
    check_result(result)
    if not isinstance(ascii, (bool, np.bool_)):
        raise TypeError(
            f"ascii must be True or False; got {ascii!r} of type {type(ascii).__name__}"
        )
    header = ["pair", *[f"{label} {ARROWS[better]}" for label, _, better in SUMMARY]]
    rows = []
    for p in result.data["pairs"]:
        rows.append([p["key"], *[fmt_quantity(_quantity(p, path)) for _, path, _ in SUMMARY]])
    if ascii:
        header = [_to_ascii(h) for h in header]
        rows = [[_to_ascii(c) for c in r] for r in rows]
    return header, rows


def _to_ascii(text: str) -> str:
    return text.translate(_ASCII).encode("ascii", "replace").decode("ascii")


def _can_encode(stream: Any, texts: list[str]) -> bool:
    """Whether ``stream`` can write every text (no encoding: it takes str, so yes)."""
    import codecs

    enc = getattr(stream, "encoding", None)
    if not isinstance(enc, str):
        return True
    try:
        codecs.lookup(enc)
        "".join(texts).encode(enc)
    except (LookupError, UnicodeError):
        return False
    return True


def print_summary(result: Any, stream: TextIO | None = None) -> None:
    """Print the summary table (rich when importable, aligned text otherwise), then its legend.

    On a stream whose encoding cannot write the arrows and symbols (e.g.
    ASCII) the table is written in ASCII (see :func:`summary_rows`).
    """
    import sys

    stream = sys.stdout if stream is None else stream
    header, rows = summary_rows(result)
    legend = SUMMARY_LEGEND
    if not _can_encode(stream, [*header, *(c for r in rows for c in r), legend]):
        header, rows = summary_rows(result, ascii=True)
        legend = _to_ascii(legend)
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        for r in [header, *rows]:
            print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)), file=stream)
        print(legend, file=stream)
        return
    table = Table(title="sheaftopo analyze: alignment summary", caption=legend)
    for i, h in enumerate(header):
        table.add_column(h, justify="left" if i == 0 else "right")
    for r in rows:
        table.add_row(*r)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    Console(file=stream, width=max(80, sum(w + 3 for w in widths) + 1)).print(table)


# ----------------------------------------------------------------------
# HTML
# ----------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;
max-width:1100px;color:#222;line-height:1.45;padding:0 1em}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.8em 0;font-size:.9em}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}td.unit{color:#666}
thead th{background:#f3f3f3}figure{margin:1em 0}img{max-width:100%}
figcaption{color:#555;font-size:.9em}.notes{color:#444;font-size:.88em}
nav a{margin-right:.8em}code{background:#f4f4f4;padding:0 .2em}
"""


def _section(sid: str, title: str, body: str) -> str:
    return f"<section id='{sid}'><h2>{_e(title)}</h2>{body}</section>"


def _overview(data: dict[str, Any]) -> str:
    inp = data["inputs"]
    rows = []
    for s in inp["sets"]:
        rows.append(
            f"<tr><td>{_e(s['name'])}</td><td>{_e(s['source'])}</td>"
            f"<td class='num'>{s['n_rows']['value']}</td>"
            f"<td class='num'>{s['n_dims']['value']}</td>"
            f"<td>{_e(s['dtype'])}</td></tr>"
        )
    sets = (
        "<table><thead><tr><th>set</th><th>source</th><th>rows</th><th>dims</th><th>dtype</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    sub = inp["subsample"]
    n, na = inp["n_rows"]["value"], inp["n_rows_analysed"]["value"]
    if sub["applied"]:
        sub_txt = (
            f"{na} of {n} rows analysed: a random subsample with seed {sub['seed']} "
            f"(the same rows of every set; indices in report.json)."
        )
    else:
        sub_txt = f"All {n} rows analysed (no subsample)."
    dense = inp["dense_subsample"]
    extra = [
        "ToMCLIP sparsification and its bound, exact OT and MMD use "
        f"{dense['size']['value']} of the analysed rows"
        + (" (a seeded subsample, the same rows of every set)" if dense["applied"] else "")
    ]
    labels = inp["labels"]
    lab = (
        "No labels given."
        if labels is None
        else f"Labels from {_e(labels['source'])}: {labels['n_classes']['value']} classes."
    )
    params = "".join(
        f"<tr><th scope='row'>{_e(k)}</th><td>{_e(v)}</td></tr>"
        for k, v in data["parameters"].items()
    )
    meta = data["meta"]
    dist = meta.get("distributed")
    if dist is not None:
        sub_txt += (
            f" On Dask ({dist['scheduler']}), on all {dist['on_dask']['n_points']} rows: "
            + "; ".join(dist["on_dask"]["measures"])
            + f". Everything else on the {dist['on_subsample']['n_points']} analysed rows."
        )
    return (
        f"{sets}<p>{_e(sub_txt)} {'; '.join(_e(x) for x in extra)}. {lab}</p>"
        "<p>Dimension-free quantities (persistence, distance alignment, kNN neighbourhoods, "
        "subspaces, labels) are computed on each set as given; cross-modal quantities "
        "(retrieval, distributions, fiber product) in the shared space of each pair "
        "(see <a href='#shared-space'>Shared space</a>).</p>"
        f"<details><summary>Parameters</summary><table>{params}</table></details>"
        f"<p>sheaftopo {_e(meta['sheaftopo_version'])}, seed {_e(meta['seed'])}, "
        f"created {_e(meta['created'])}.</p>"
    )


def _summary_html(result: Any) -> str:
    header, rows = summary_rows(result)
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + f"<th scope='row'>{_e(r[0])}</th>"
        + "".join(f"<td class='num'>{_e(c)}</td>" for c in r[1:])
        + "</tr>"
        for r in rows
    )
    return (
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        f"<p class='notes'>{_e(SUMMARY_LEGEND)}.</p>"
    )


def _by_set(data: dict[str, Any], section: str) -> str:
    cols, rows, notes = _grouped(data["sets"], section)
    if not rows:
        return ""
    return _table(cols, rows) + _notes(notes)


def _by_pair(data: dict[str, Any], section: str, texts: tuple[str, ...] = ()) -> str:
    entries = {p["key"]: p for p in data["pairs"]}
    cols, rows, notes = _grouped(entries, section)
    table = _table(cols, rows) if rows else ""
    return table + _notes(_texts(entries, section, texts) + notes)


_INTRO = {
    "persistence": (
        "H0 persistence of the Vietoris-Rips filtration of each set, read off its exact "
        "minimum spanning tree (sheaftopo.persistence.mst): every death is an MST edge "
        "length (every birth is 0). Between sets: SW(H0) rel. compares the shapes of the two "
        "death distributions (each scaled to unit total persistence; 0 to 1, free of scale "
        "and of the number of points); the bottleneck distance, the largest single mismatch "
        "of a death after dividing each diagram by its set's RMS pairwise distance s; the raw "
        "sliced Wasserstein distance sums over all points and grows with their number."
    ),
    "sparsification": (
        "ToMCLIP keeps the pairs at distance at most ε = mean - λ·std of the pairwise "
        "distances (sheaftopo.persistence.sparsify). The theorem bounds the W2 distance "
        "between the exact H0 diagram and the sparsified one by m(ε)^{1/2} (T - ε); the "
        "true W2 is computed next to it (approximation_bound)."
    ),
    "distance-alignment": (
        "Do the two sets put the same items at proportional distances? Correlation and "
        "RMS error of the two scale-normalised distance matrices over all pairs i < j "
        "(sheaftopo.report.distance_alignment), exact and blocked."
    ),
    "neighbourhoods": (
        "The k-nearest-neighbour graph of each set, compared point by point (sheaftopo.geometry)."
    ),
    "shared-space": (
        "Cross-modal quantities need both sets in one space: the raw space when the "
        "dimensions agree, otherwise a CCA space fitted on the analysed rows."
    ),
    "retrieval": (
        "Row i of one set queries every row of the other in the shared space; recall@k is "
        "the fraction of queries whose partner ranks among the top k "
        "(sheaftopo.report.retrieval_recall). Exact ties count for the partner."
    ),
    "distributions": (
        "The two point clouds as distributions in the shared space (sheaftopo.geometry)."
    ),
    "fiber-product": (
        "The approximate fiber product {(i, j) : ‖f(a_i) - g(b_j)‖ ≤ ε} of the two sets in "
        "the shared space (sheaftopo.fiber): how many pairs it holds as ε grows, how many "
        "true pairs (i, i) it contains, and ε*, the smallest ε that contains them all."
    ),
    "subspaces": (
        "Decomposition of the two sets into a shared subspace and modality-specific ones "
        "(sheaftopo.fiber): principal angles between the modalities and the variance each "
        "part explains."
    ),
    "labels": (
        "With labels: how well each set separates the classes (silhouette) and how well a "
        "clustering of it recovers them (NMI) (sheaftopo.geometry)."
    ),
}


def render_html(result: Any, figures: dict[str, bytes]) -> str:
    """The self-contained HTML report: every section, every figure inline (base64 PNG)."""
    from ._figures import FIGURES
    from ._render_items import classes_html, items_html
    from ._render_sheaf import sheaf_html

    data = check_result(result).data
    if not isinstance(figures, dict) or not all(
        isinstance(k, str) and isinstance(v, bytes) for k, v in figures.items()
    ):
        raise TypeError("figures must be a dict of file name to PNG bytes (render_figures)")

    def fig(name: str) -> str:
        return _figure(name, figures.get(name), FIGURES[name][1])

    intro = {k: f"<p>{_e(v)}</p>" for k, v in _INTRO.items()}
    body = {
        "overview": _overview(data),
        "summary": _summary_html(result),
        "persistence": intro["persistence"]
        + "<h3>Per set</h3>"
        + _by_set(data, "persistence")
        + "<h3>Between sets</h3>"
        + _by_pair(data, "persistence")
        + fig("death_cdfs.png"),
        "sparsification": intro["sparsification"] + _by_set(data, "sparsification"),
        "distance-alignment": intro["distance-alignment"] + _by_pair(data, "distance_alignment"),
        "neighbourhoods": intro["neighbourhoods"]
        + _by_pair(data, "neighbourhoods")
        + fig("knn_overlap.png"),
        "shared-space": intro["shared-space"]
        + _by_pair(data, "shared_space", texts=("kind", "description")),
        "retrieval": intro["retrieval"] + _by_pair(data, "retrieval", texts=("metric",)),
        "distributions": intro["distributions"] + _by_pair(data, "distributions"),
        "fiber-product": intro["fiber-product"]
        + _by_pair(data, "fiber_product")
        + fig("epsilon_profiles.png"),
        "subspaces": intro["subspaces"] + _by_pair(data, "subspaces") + fig("principal_angles.png"),
        "items": items_html(data, fig),
        "classes": classes_html(data, fig),
        "sheaf": sheaf_html(data, fig),
        "labels": intro["labels"]
        + (_by_set(data, "labels") if data["inputs"]["labels"] else "<p>No labels given.</p>"),
        "timings": _timings(data),
    }
    nav = "".join(f"<a href='#{sid}'>{_e(title)}</a>" for sid, title in SECTIONS)
    sections = "".join(_section(sid, title, body[sid]) for sid, title in SECTIONS)
    names = ", ".join(result.set_names)
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>sheaftopo alignment report: {_e(names)}</title><style>{_CSS}</style></head>"
        f"<body><h1>Alignment report: {_e(names)}</h1><nav>{nav}</nav>{sections}</body></html>\n"
    )


def _timings(data: dict[str, Any]) -> str:
    t = data["timings"]
    rows = "".join(
        f"<tr><th scope='row'>{_e(k)}</th><td class='num'>{fmt(v['value'])}</td></tr>"
        for k, v in t["steps"].items()
    )
    return (
        f"<p>Analysis: {fmt(t['total']['value'])} s in all.</p>"
        f"<table><thead><tr><th>step</th><th>seconds</th></tr></thead><tbody>{rows}</tbody>"
        "</table>"
    )


# ----------------------------------------------------------------------
# files
# ----------------------------------------------------------------------


def write_report(result: Any, directory: Any) -> dict[str, str]:
    """Write report.json, report.html and the PNG figures into ``directory``.

    Writes directly (use :func:`staged_directory` for an all-or-nothing
    write). Returns the written files, name to description.
    """
    from ._figures import FIGURES, render_figures

    check_result(result)
    if not isinstance(directory, (str, os.PathLike)):
        raise TypeError(f"directory must be a path; got {type(directory).__name__}")
    d = Path(directory)
    figures = render_figures(result)
    files = {name: FIGURES[name][1] for name in figures}
    files[HTML_NAME] = "the report: every section, figures embedded"
    files[JSON_NAME] = "every number, with units and the parameters used"
    for name, png in figures.items():
        (d / name).write_bytes(png)
    (d / HTML_NAME).write_text(render_html(result, figures), encoding="utf-8")
    (d / JSON_NAME).write_text(render_json(result, files=files), encoding="utf-8")
    return files
