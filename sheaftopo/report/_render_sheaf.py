"""HTML of the sheaf section (three or more sets): the graph figure, the edges, the worst items."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._text import escape as _e
from ._text import fmt

__all__ = ["sheaf_html"]

_INTRO = (
    "The sets are the vertices of a graph (every pair of sets unless a graph was given). "
    "Every edge gets a comparison space of dimension k_e (its canonical correlations at or "
    "above max(threshold, chance), at most {cap}) and restriction maps learned in closed form "
    "(sheaftopo.sheaf.learn_sheaf: canonical correlation analysis, whitened maps). "
    "<b>Inconsistency</b> of an edge: mean over items of ||F_v x_v - F_u x_u||² / (2 k_e), "
    "0 = the two sets agree exactly in the comparison space, 1 = uncorrelated (lower is "
    "better; agreement = 1 - inconsistency). <b>Pair-specific</b> directions: the pair's "
    "significant canonical directions that no other set sees (canonical correlation with all "
    "the other sets below max(threshold, chance)). <b>Approximate global sections</b>: "
    "readouts of every set whose items agree across every edge (eigenvalue = 1 - their mean "
    "correlation over the edges; counted when below {tol} and the readouts correlate at the "
    "threshold or above on every edge)."
)


def _cells(cells: list[Any]) -> str:
    return "".join(f"<td class='num'>{_e(fmt(c))}</td>" for c in cells)


def _table(head: list[str], rows: list[list[Any]]) -> str:
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join(f"<tr><th scope='row'>{_e(r[0])}</th>{_cells(r[1:])}</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _edges_table(sheaf: dict[str, Any]) -> str:
    head = [
        "edge",
        "k_e",
        "inconsistency (lower better)",
        "agreement (higher better)",
        "top canonical corr.",
        "chance corr.",
        "pair-specific dims",
        "least seen by others",
    ]
    rows = []
    for e in sheaf["edges"]:
        rho = e["canonical_correlations"]["values"]
        rows.append(
            [
                e["key"],
                e["edge_dim"]["value"],
                e["inconsistency"]["value"],
                e["agreement"]["value"],
                rho[0] if rho else None,
                e["chance_correlation"]["value"],
                e["pair_specific"]["value"],
                e["least_seen"]["value"],
            ]
        )
    return _table(head, rows)


def _items_table(sheaf: dict[str, Any]) -> str:
    head = ["row", "label", "inconsistency (lower better)", "worst edge", "its share"]
    rows = [
        [
            w["row"],
            "—" if w["label"] is None else w["label"],
            w["inconsistency"]["value"],
            w["edge"],
            w["edge_share"]["value"],
        ]
        for w in sheaf["items"]["worst"]
    ]
    return _table(head, rows)


def _sections_text(sheaf: dict[str, Any]) -> str:
    g = sheaf["global_sections"]
    pairs = zip(
        g["smallest_eigenvalues"]["values"], g["weakest_edge_correlations"]["values"], strict=True
    )
    eig = ", ".join(f"{fmt(v)} ({fmt(w)})" for v, w in pairs)
    return (
        f"<p>Approximate global sections: <b>{g['dimension']['value']}</b> (eigenvalue below "
        f"{fmt(g['tolerance']['value'])} and every edge's readouts correlated at the threshold "
        f"or above). Smallest eigenvalues (weakest edge correlation): {_e(eig)}. Mean edge "
        f"inconsistency {_e(fmt(sheaf['inconsistency']['value']))}; median item inconsistency "
        f"{_e(fmt(sheaf['items']['median']['value']))}.</p>"
    )


def sheaf_html(data: dict[str, Any], fig: Callable[[str], str]) -> str:
    """The body of the HTML section ``sheaf``.

    Parameters
    ----------
    data : dict
        report.json's tree (:attr:`AnalysisResult.data`); its ``"sheaf"`` entry
        is None with fewer than three sets.
    fig : callable
        ``fig(name)`` gives the ``<figure>`` HTML of a drawn figure ("" when
        not drawn).

    Returns
    -------
    str
        HTML: one sentence with fewer than three sets; otherwise the
        definitions, the graph figure, a table per edge, the global sections
        and the worst items.

    Raises
    ------
    TypeError
        ``data`` is not a dict or ``fig`` not callable.

    References
    ----------
    .. [1] SheafAlign, arXiv:2510.20540 (2025).

    Examples
    --------
    >>> from sheaftopo.report._render_sheaf import sheaf_html
    >>> sheaf_html({"sheaf": None, "sets": {"a": {}, "b": {}}}, lambda name: "")
    '<p>This section needs three or more sets; this report has 2.</p>'
    """
    if not isinstance(data, dict):
        raise TypeError(
            f"data must be the report's dict (AnalysisResult.data); got {type(data).__name__}"
        )
    if not callable(fig):
        raise TypeError(f"fig must be callable (figure name -> HTML); got {type(fig).__name__}")
    sheaf = data.get("sheaf")
    if sheaf is None:
        n = len(data.get("sets", {}))
        return f"<p>This section needs three or more sets; this report has {n}.</p>"
    settings = sheaf["settings"]
    intro = _INTRO.format(
        cap=settings["max_edge_dim"]["value"],
        tol=fmt(sheaf["global_sections"]["tolerance"]["value"]),
    )
    graph = sheaf["graph"]
    kind = "every pair of sets" if graph["complete"] else "the graph given"
    return (
        f"<p>{intro}</p><p>Graph: {_e(kind)}, {graph['n_edges']['value']} edges.</p>"
        + fig("sheaf_graph.png")
        + "<h3>Edges</h3>"
        + _edges_table(sheaf)
        + "<h3>Global sections</h3>"
        + _sections_text(sheaf)
        + "<h3>Most inconsistent items</h3>"
        + "<p>Item inconsistency: the mean over the edges of ||(δx)_e||² / (2 k_e) (the "
        "item's Dirichlet energy with weights 1 / (2 m k_e)); rows are the original row "
        "numbers.</p>" + _items_table(sheaf)
    )
