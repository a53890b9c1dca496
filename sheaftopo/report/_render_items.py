"""The per-item and per-class views: their HTML sections and the per-item CSV table.

:func:`items_html` and :func:`classes_html` format ``pairs[i]["items"]`` of
report.json (computed by the ``items`` pair step); :func:`write_items_csv`
writes every pair's per-item table into one CSV file, atomically.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ._config import check_result
from ._sections.items import MEASURES
from ._text import escape as _e
from ._text import fmt

__all__ = ["CSV_COLUMNS", "classes_html", "items_html", "write_items_csv"]

#: the columns of :func:`write_items_csv`, in order
CSV_COLUMNS = ("pair", "row", "label", *MEASURES, "score", "worst")

_WORST_HEADER = (
    "#",
    "row",
    "label",
    "score",
    "kNN Jaccard",
    "rank a→b",
    "rank b→a",
    "partner distance",
    "distance residual",
)


def _items_of(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(pair key, items entry) of every pair whose items were computed."""
    return [(p["key"], p["items"]) for p in data["pairs"] if p.get("items")]


def _worst_table(items: dict[str, Any]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in _WORST_HEADER)
    body = []
    for j, w in enumerate(items["worst"], start=1):
        cells = [w["row"], w["label"], w["score"], *(w[m] for m in MEASURES)]
        tds = "".join(f"<td class='num'>{_e(fmt(c))}</td>" for c in cells)
        body.append(f"<tr><th scope='row'>{j}</th>{tds}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def items_html(data: dict[str, Any], fig: Callable[[str], str]) -> str:
    """The per-item section: how the score is defined, the projection, the worst items per pair."""
    pairs = _items_of(data)
    if not pairs:
        return "<p>No per-item scores in this result.</p>"
    n = pairs[0][1]["n_items"]["value"]
    intro = (
        f"<p>Every one of the {n} analysed items (rows) gets five measures per pair: the "
        "Jaccard index of its k nearest neighbours in the two sets (higher is better), the "
        "0-based retrieval rank of its partner both ways in the shared space (lower is "
        "better), the distance to its partner in the shared space in RMS pairwise distances "
        "of the pooled rows (lower is better), and its row of the distance-matrix residual "
        "(lower is better). The <b>score</b> (higher = worse aligned, in [0, 1]) is the mean "
        "of the item's badness percentiles in four measures (retrieval counts once, both "
        "directions half each): only the order of the items matters, so it is scale-free "
        "and robust. Rows are the original row numbers of the input; the full table of "
        "every item is written by <code>--items-csv FILE</code> (and is in report.json).</p>"
    )
    blocks = []
    for j, (key, items) in enumerate(pairs):
        open_ = " open" if j == 0 else ""
        blocks.append(
            f"<details{open_}><summary>{_e(key)}: the {len(items['worst'])} worst items"
            f"</summary>{_worst_table(items)}</details>"
        )
    return intro + fig("joint_projection.png") + "".join(blocks)


def _class_table(bc: dict[str, Any]) -> str:
    """Per class: count, recall@k both ways, kNN Jaccard, partner distance, same-class rates."""
    cols: list[tuple[str, list[Any]]] = [("items", bc["count"]["values"])]
    for way, arrow in (("recall_a_to_b", "a→b"), ("recall_b_to_a", "b→a")):
        cols += [(f"R{k} {arrow}", c["values"]) for k, c in bc[way].items()]
    cols += [
        ("kNN Jaccard", bc["knn_jaccard"]["values"]),
        ("partner distance", bc["partner_distance"]["values"]),
        ("same class a→b", bc["a_to_b"]["same_class_by_class"]["values"]),
        ("same class b→a", bc["b_to_a"]["same_class_by_class"]["values"]),
    ]
    head = "<th>class</th>" + "".join(f"<th>{_e(name)}</th>" for name, _ in cols)
    body = "".join(
        f"<tr><th scope='row'>{_e(c)}</th>"
        + "".join(f"<td class='num'>{_e(fmt(v[i]))}</td>" for _, v in cols)
        + "</tr>"
        for i, c in enumerate(bc["classes"])
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _confusion_table(
    classes: list[Any], conf: dict[str, Any], way: tuple[str, str], names: tuple[str, str]
) -> str:
    """The confusion matrix (cells shaded by their share of the row), or its top confusions.

    ``way``: ("a", "b") or ("b", "a"), the keys of ``top_confusions``;
    ``names``: the query set's and the searched set's names.
    """
    q_set, t_set = names
    q_key, t_key = way
    same = fmt(conf["same_class"]["value"])
    title = (
        f"<p>Queries from {_e(q_set)}, nearest neighbour in {_e(t_set)}: {_e(same)} of the "
        "items find an item of their own class.</p>"
    )
    if conf["matrix"] is None:
        rows = "".join(
            f"<tr><td>{_e(t[f'class_{q_key}'])}</td><td>{_e(t[f'nearest_class_{t_key}'])}</td>"
            f"<td class='num'>{t['count']}</td></tr>"
            for t in conf["top_confusions"]
        )
        return (
            f"{title}<p>{_e(conf['matrix_note'])}</p><table><thead><tr><th>class in "
            f"{_e(q_set)}</th><th>nearest class in {_e(t_set)}</th><th>items</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
        )
    head = f"<th>{_e(q_set)} \\ {_e(t_set)}</th>" + "".join(f"<th>{_e(c)}</th>" for c in classes)
    body = []
    for c, row in zip(classes, conf["matrix"], strict=True):
        total = max(sum(row), 1)
        tds = "".join(
            f"<td class='num' style='background:rgba(31,119,180,{v / total:.2f})'>{v}</td>"
            if v
            else "<td class='num'>0</td>"
            for v in row
        )
        body.append(f"<tr><th scope='row'>{_e(c)}</th>{tds}</tr>")
    return f"{title}<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def classes_html(data: dict[str, Any], fig: Callable[[str], str]) -> str:
    """The per-class section: per-class table and confusion matrices per pair (labels needed)."""
    pairs = [(key, items) for key, items in _items_of(data) if items.get("by_class")]
    if not pairs:
        return (
            "<p>The per-class view needs labels (<code>--labels FILE</code>, or "
            "<code>analyze(labels=...)</code>).</p>"
        )
    intro = (
        "<p>Per class: retrieval recall@k both ways, mean kNN Jaccard and mean partner "
        "distance of the class's items; and the cross-modal confusion matrices: row = class "
        "of a query item, column = class of its nearest neighbour in the other set (the "
        "partner itself when it ranks first). Off-diagonal mass shows which classes the two "
        "modalities confuse.</p>"
    )
    names = {p["key"]: (p["a"], p["b"]) for p in data["pairs"]}
    blocks = []
    for j, (key, items) in enumerate(pairs):
        bc = items["by_class"]
        a, b = names[key]
        open_ = " open" if j == 0 else ""
        blocks.append(
            f"<details{open_}><summary>{_e(key)}</summary>{_class_table(bc)}"
            f"{_confusion_table(bc['classes'], bc['a_to_b'], ('a', 'b'), (a, b))}"
            f"{_confusion_table(bc['classes'], bc['b_to_a'], ('b', 'a'), (b, a))}</details>"
        )
    return intro + fig("class_bars.png") + "".join(blocks)


def write_items_csv(result: Any, path: Any) -> int:
    """Write every pair's per-item table to one CSV file, atomically; return its number of rows.

    Columns: ``pair`` (the pair key, ``"a | b"``), ``row`` (the item's
    original row number, 0-based), ``label`` (empty without labels), the
    measures ``knn_jaccard``, ``rank_a_to_b``, ``rank_b_to_a``,
    ``partner_distance``, ``distance_residual`` (empty where undefined),
    ``score`` (higher = worse aligned) and ``worst`` (1 for the pair's listed
    worst items, else 0): one line per analysed item and pair. The file is
    written to a temporary file in the same directory and moved into place
    (``os.replace``), so it is either complete or untouched.

    Parameters
    ----------
    result : AnalysisResult
        What :func:`~sheaftopo.report.analyze` returned.
    path : str or os.PathLike
        The CSV file to write (its directory must exist; an existing file is replaced).

    Returns
    -------
    int
        Rows written, header excluded (analysed items times pairs).

    Raises
    ------
    TypeError
        ``result`` is not an AnalysisResult, or ``path`` is not a path.
    ValueError
        The result holds no per-item scores, ``path`` is an existing directory,
        or its directory does not exist.
    OSError
        The file cannot be written (permissions, disk full); nothing is left behind.

    Examples
    --------
    >>> import numpy as np, os, tempfile
    >>> from sheaftopo.report import AnalysisConfig, analyze, write_items_csv
    >>> A = np.random.default_rng(0).standard_normal((30, 3))
    >>> res = analyze({"a": A, "b": A + 0.1}, config=AnalysisConfig(k=3, n_eps=4))
    >>> with tempfile.TemporaryDirectory() as d:
    ...     write_items_csv(res, os.path.join(d, "items.csv"))
    30
    """
    data = check_result(result).data
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file path (str or os.PathLike); got {type(path).__name__}")
    target = Path(path)
    if target.is_dir():
        raise ValueError(f"path {str(target)!r} is a directory; give a file name such as items.csv")
    if not target.parent.is_dir():
        raise ValueError(
            f"path {str(target)!r}: the directory {str(target.parent)!r} does not exist"
        )
    pairs = _items_of(data)
    if not pairs or len(pairs) != len(data["pairs"]):
        raise ValueError(
            "result holds no per-item scores for every pair (pairs[i]['items']); it was not "
            "made by this version of sheaftopo.report.analyze"
        )
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(CSV_COLUMNS)
            n_rows = 0
            for key, items in pairs:
                writer.writerows(_csv_rows(key, items))
                n_rows += len(items["rows"]["values"])
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return n_rows


def _csv_rows(key: str, items: dict[str, Any]) -> Any:
    """The CSV lines of one pair (an iterator of tuples, one per item)."""
    rows = items["rows"]["values"]
    n = len(rows)
    labels = items["labels"] if items.get("labels") is not None else [""] * n
    cols = [
        items[m]["values"] if items[m].get("values") is not None else [""] * n for m in MEASURES
    ]
    worst = np.isin(rows, [w["row"] for w in items["worst"]]).astype(np.int64).tolist()
    return zip([key] * n, rows, labels, *cols, items["score"]["values"], worst, strict=True)
