"""Communication graphs between modalities: complete, ring, star, k-nearest, or given."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..._core.graphs import as_graph_edges
from ..._validation import check_choice, check_int

__all__ = ["GRAPH_KINDS", "check_connected", "make_graph", "shortest_path"]

#: Graph kinds :func:`make_graph` builds.
GRAPH_KINDS = ("complete", "ring", "star", "knn")


def _linear_cka(X: np.ndarray, Y: np.ndarray) -> float:
    """Linear centred kernel alignment of two paired data sets (rows paired)."""
    X = X - X.mean(axis=0)
    Y = Y - Y.mean(axis=0)
    cross = np.linalg.norm(X.T @ Y) ** 2
    norm = np.linalg.norm(X.T @ X) * np.linalg.norm(Y.T @ Y)
    return float(cross / norm) if norm > 0 else 0.0


def make_graph(
    kind: str,
    n_nodes: int,
    *,
    k: int = 2,
    center: int = 0,
    views: Sequence[Any] | None = None,
    max_samples: int = 1000,
) -> np.ndarray:
    """The edge list of a communication graph between ``n_nodes`` modalities.

    Parameters
    ----------
    kind : {"complete", "ring", "star", "knn"}
        ``"complete"``: every pair. ``"ring"``: i -- i+1 (mod n); two nodes give
        one edge. ``"star"``: ``center`` -- every other node. ``"knn"``: every
        node joined to the ``k`` modalities whose data are most similar to its
        own (linear centred kernel alignment of the paired rows, on at most
        ``max_samples`` rows), symmetrised; needs ``views``.
    n_nodes : int
        At least 2.
    k : int, default 2
        Neighbours per node of the ``"knn"`` graph (1 <= k < n_nodes).
    center : int, default 0
        Hub of the ``"star"`` graph.
    views : sequence of array_like, shape (n_samples, d_i) each, optional
        The nodes' (training) data, paired by row; only for ``"knn"``.
    max_samples : int, default 1000
        Rows used by the similarity of ``"knn"`` (the first ones).

    Returns
    -------
    ndarray of int64, shape (m, 2)
        Edges ``(u, v)`` with ``u < v``, sorted; the orientation is the
        sheaf's (u is the tail).

    Examples
    --------
    >>> from sheaftopo.torch.sheafalign import make_graph
    >>> make_graph("ring", 4).tolist()
    [[0, 1], [0, 3], [1, 2], [2, 3]]
    >>> make_graph("star", 4, center=2).tolist()
    [[0, 2], [1, 2], [2, 3]]
    >>> len(make_graph("complete", 6))
    15
    """
    kind = check_choice(kind, "kind", GRAPH_KINDS)
    n = check_int(n_nodes, "n_nodes", minimum=2)
    pairs: set[tuple[int, int]] = set()
    if kind == "complete":
        pairs = {(i, j) for i in range(n) for j in range(i + 1, n)}
    elif kind == "ring":
        pairs = {(min(i, (i + 1) % n), max(i, (i + 1) % n)) for i in range(n)}
    elif kind == "star":
        c = check_int(center, "center", minimum=0, maximum=n - 1)
        pairs = {(min(c, i), max(c, i)) for i in range(n) if i != c}
    else:
        k = check_int(k, "k", minimum=1, maximum=n - 1)
        if views is None:
            raise ValueError(
                "a 'knn' graph joins each modality to the k most similar ones and needs their "
                "data: pass views=[X_0, ..., X_{n-1}]"
            )
        if len(views) != n:
            raise ValueError(f"views must hold one array per node ({n}); got {len(views)}")
        rows = check_int(max_samples, "max_samples", minimum=2)
        arrays = [np.asarray(v, dtype=np.float64)[:rows] for v in views]
        counts = {a.shape[0] for a in arrays}
        if len(counts) != 1:
            raise ValueError(f"views must have paired rows; got row counts {sorted(counts)}")
        S = np.full((n, n), -np.inf)
        for i in range(n):
            for j in range(i + 1, n):
                S[i, j] = S[j, i] = _linear_cka(arrays[i], arrays[j])
        for i in range(n):
            # most similar first, ties broken by the lower index (S[i, i] = -inf comes last)
            nearest = [int(j) for j in np.lexsort((np.arange(n), -S[i]))[:k]]
            pairs.update((min(i, j), max(i, j)) for j in nearest)
    return np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)


def _adjacency(edges: np.ndarray, n: int) -> list[list[int]]:
    adj: list[list[int]] = [[] for _ in range(n)]
    for u, v in edges.tolist():
        adj[u].append(v)
        adj[v].append(u)
    return [sorted(a) for a in adj]


def check_connected(graph: Any, n_nodes: int, *, names: Sequence[str] | None = None) -> np.ndarray:
    """Validate a communication graph: simple, on ``n_nodes`` nodes, connected.

    Returns the (m, 2) int64 edge list. A disconnected graph raises
    ``ValueError`` naming the nodes that cannot reach node 0: alignment only
    propagates along edges, so separate components would live in unrelated
    spaces.

    Examples
    --------
    >>> from sheaftopo.torch.sheafalign import check_connected
    >>> check_connected([[0, 1], [1, 2]], 3).shape
    (2, 2)
    >>> check_connected([[0, 1]], 3)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: graph must be connected: node(s) 2 cannot reach node 0 ...
    """
    n = check_int(n_nodes, "n_nodes", minimum=1)
    if hasattr(graph, "nodes") and hasattr(graph, "edges"):
        edges, m_nodes, _ = as_graph_edges(graph)
        if m_nodes != n:
            raise ValueError(f"graph must have {n} nodes (one per modality); it has {m_nodes}")
    else:
        arr = np.asarray(graph)
        if arr.size == 0:
            arr = np.zeros((0, 2), dtype=np.int64)
        edges, _, _ = as_graph_edges(arr, n)
    adj = _adjacency(edges, n)
    seen = np.zeros(n, dtype=bool)
    seen[0] = True
    queue = deque([0])
    while queue:
        u = queue.popleft()
        for v in adj[u]:
            if not seen[v]:
                seen[v] = True
                queue.append(v)
    if not seen.all():
        missing = np.flatnonzero(~seen).tolist()
        label = ", ".join(str(names[i]) if names else str(i) for i in missing)
        first = names[0] if names else "0"
        raise ValueError(
            f"graph must be connected: node(s) {label} cannot reach node {first} "
            f"({len(edges)} edges on {n} nodes); SheafAlign aligns modalities only along edges, "
            "so separate components would never share a comparison space"
        )
    return edges


def shortest_path(edges: np.ndarray, n: int, source: int, target: int) -> list[int]:
    """Nodes of a shortest path from ``source`` to ``target`` (breadth first, lowest index first).

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.torch.sheafalign import make_graph, shortest_path
    >>> shortest_path(make_graph("ring", 6), 6, 0, 3)
    [0, 1, 2, 3]
    """
    n = check_int(n, "n", minimum=1)
    source = check_int(source, "source", minimum=0, maximum=n - 1)
    target = check_int(target, "target", minimum=0, maximum=n - 1)
    edges, _, _ = as_graph_edges(edges, n, "edges")
    adj = _adjacency(edges, n)
    parent = [-1] * n
    parent[source] = source
    queue = deque([source])
    while queue:
        u = queue.popleft()
        if u == target:
            break
        for v in adj[u]:
            if parent[v] < 0:
                parent[v] = u
                queue.append(v)
    if parent[target] < 0:
        raise ValueError(f"no path from node {source} to node {target}")
    path = [target]
    while path[-1] != source:
        path.append(parent[path[-1]])
    return path[::-1]
