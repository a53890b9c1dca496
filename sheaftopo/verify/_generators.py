"""Public instance families: point clouds, SPD pairs, sheaves on graphs, diagrams, embeddings.

Every family is a :class:`~sheaftopo.verify.Family` whose instances are dicts
of arrays, so the generic perturbation and shrinking apply; families with a
constraint (SPD matrices, diagrams above the diagonal) also project moves back
onto it. The adversarial kinds are the point of the exercise: exact ties,
duplicates, clusters, huge and tiny scales, ill-conditioned and clustered
spectra.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._validation import check_choice, check_int, check_real
from ._statement import Family

__all__ = ["diagrams", "paired_embeddings", "point_clouds", "sheaves_on_graphs", "spd_pairs"]

Range = tuple[int, int]


def _check_range(value: Any, name: str, low: int) -> Range:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (int(value), int(value))
    try:
        a, b = value
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} must be an int or a pair (low, high) of ints; got {value!r}"
        ) from None
    a, b = check_int(a, f"{name}[0]", minimum=low), check_int(b, f"{name}[1]", minimum=low)
    if a > b:
        raise ValueError(f"{name} must satisfy low <= high; got {value!r}")
    return a, b


def _draw(rng: np.random.Generator, r: Range) -> int:
    return int(rng.integers(r[0], r[1] + 1))


# --------------------------------------------------------------------------
# point clouds
# --------------------------------------------------------------------------

_CLOUD_KINDS = (
    "gaussian",
    "clusters",
    "duplicates",
    "lattice",
    "collinear",
    "scaled",
    "offset",
    "sphere",
    "tight-clusters",
)


def _cloud(kind: str, rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    if kind == "gaussian":
        return rng.standard_normal((n, d))
    if kind == "clusters":
        k = int(rng.integers(2, 6))
        centres = rng.standard_normal((k, d)) * 20
        return centres[rng.integers(0, k, n)] + rng.standard_normal((n, d))
    if kind == "duplicates":
        base = rng.standard_normal((max(1, n // 3), d))
        return base[rng.integers(0, len(base), n)]
    if kind == "lattice":
        side = max(2, math.ceil(n ** (1 / max(1, min(d, 3)))))
        axes = [np.arange(side, dtype=float)] * min(d, 3)
        g = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, min(d, 3))
        g = g[rng.permutation(len(g))[:n]]
        return np.hstack([g, np.zeros((len(g), d - g.shape[1]))])
    if kind == "collinear":
        t = np.sort(rng.uniform(0, 10, n))
        return t[:, None] * rng.standard_normal(d)[None, :]
    if kind == "scaled":
        return rng.standard_normal((n, d)) * float(10.0 ** rng.integers(-150, 151))
    if kind == "offset":
        return rng.standard_normal((n, d)) + float(10.0 ** rng.integers(2, 7))
    if kind == "sphere":
        X = rng.standard_normal((n, d))
        return X / np.linalg.norm(X, axis=1, keepdims=True).clip(1e-300)
    spread = float(10.0 ** rng.integers(-9, -3))  # tight clusters far from the origin
    centres = rng.standard_normal((3, d)) * 1e3
    return centres[rng.integers(0, 3, n)] + rng.standard_normal((n, d)) * spread


def point_clouds(
    kind: str = "mixed", *, n: int | Range = (3, 60), dim: int | Range = (1, 8)
) -> Family:
    """Point clouds ``{"X": (n, dim) array}``, random and adversarial.

    Parameters
    ----------
    kind : str
        One of ``"gaussian"``, ``"clusters"``, ``"duplicates"`` (repeated
        rows), ``"lattice"`` (integer grid: exact distance ties),
        ``"collinear"``, ``"scaled"`` (magnitudes 1e-150 to 1e150),
        ``"offset"`` (far from the origin), ``"sphere"``, ``"tight-clusters"``
        (spread 1e-9 to 1e-4 around centres at 1e3), or ``"mixed"`` (a kind
        drawn per instance).
    n, dim : int or (low, high), keyword-only
        Number of points and dimension, drawn uniformly in the closed range.

    Returns
    -------
    Family

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.verify import point_clouds
    >>> fam = point_clouds("lattice", n=9, dim=2)
    >>> fam.sample(np.random.default_rng(0))["X"].shape
    (9, 2)
    """
    kind = check_choice(kind, "kind", ("mixed", *_CLOUD_KINDS))
    nr, dr = _check_range(n, "n", 1), _check_range(dim, "dim", 1)

    def sample(rng: np.random.Generator) -> dict:
        k = _CLOUD_KINDS[int(rng.integers(len(_CLOUD_KINDS)))] if kind == "mixed" else kind
        X = _cloud(k, rng, _draw(rng, nr), _draw(rng, dr))
        return {"X": X, "kind": k}

    def describe(inst: dict) -> str:
        X = inst["X"]
        return f"{inst.get('kind', kind)} n={X.shape[0]} d={X.shape[1]}"

    return Family(f"point clouds ({kind})", sample, describe=describe)


# --------------------------------------------------------------------------
# SPD pairs
# --------------------------------------------------------------------------

_SPD_KINDS = ("random", "clustered", "near-equal", "commuting", "scaled")


def _spd_from_spectrum(rng: np.random.Generator, lam: np.ndarray) -> np.ndarray:
    Q, _ = np.linalg.qr(rng.standard_normal((len(lam), len(lam))))
    P = (Q * lam) @ Q.T
    return 0.5 * (P + P.T)


def _spectrum(rng: np.random.Generator, d: int, cond: float, clustered: bool) -> np.ndarray:
    """Eigenvalues in [cond^-1/2, cond^1/2], both ends attained when d >= 2."""
    half = 0.5 * math.log(cond)
    if clustered:  # two tight clusters at the ends: nearly repeated eigenvalues
        ends = np.where(rng.random(d) < 0.5, -half, half)
        logs = ends + rng.normal(0, 1e-8, d)
    else:
        logs = rng.uniform(-half, half, d)
    if d >= 2:
        logs[0], logs[1] = -half, half
    return np.exp(logs)


def spd_pairs(kind: str = "mixed", *, dim: int | Range = (1, 8), cond: float = 1e4) -> Family:
    r"""Pairs ``{"P", "Q"}`` of SPD matrices with condition number up to ``cond``.

    Parameters
    ----------
    kind : str
        ``"random"`` (log-uniform spectra, the extremes attained so the
        condition number is ``cond``), ``"clustered"`` (eigenvalues in two
        clusters of width 1e-8: nearly repeated), ``"near-equal"`` (Q = P +
        a perturbation of relative size 1e-6), ``"commuting"`` (shared
        eigenvectors), ``"scaled"`` (both multiplied by :math:`10^k`,
        :math:`|k| \le 100`), or ``"mixed"``.
    dim : int or (low, high), keyword-only
    cond : float, keyword-only
        Largest condition number, >= 1 (e.g. 1e12 for the ill-conditioned
        regime).

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.verify import spd_pairs
    >>> inst = spd_pairs("random", dim=4, cond=1e12).sample(np.random.default_rng(1))
    >>> float(np.linalg.cond(inst["P"])) > 1e11
    True
    """
    kind = check_choice(kind, "kind", ("mixed", *_SPD_KINDS))
    dr = _check_range(dim, "dim", 1)
    cond = check_real(cond, "cond", low=1.0)

    def sample(rng: np.random.Generator) -> dict:
        k = _SPD_KINDS[int(rng.integers(len(_SPD_KINDS)))] if kind == "mixed" else kind
        d = _draw(rng, dr)
        if k == "commuting":
            Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
            a, b = _spectrum(rng, d, cond, False), _spectrum(rng, d, cond, False)
            P, R = (Q * a) @ Q.T, (Q * b) @ Q.T
            return {"P": 0.5 * (P + P.T), "Q": 0.5 * (R + R.T), "kind": k, "cond": cond}
        P = _spd_from_spectrum(rng, _spectrum(rng, d, cond, k == "clustered"))
        if k == "near-equal":
            E = rng.standard_normal((d, d)) * 1e-6 * float(np.linalg.eigvalsh(P)[0])
            R = P + 0.5 * (E + E.T)
        else:
            R = _spd_from_spectrum(rng, _spectrum(rng, d, cond, k == "clustered"))
        if k == "scaled":
            s = float(10.0 ** rng.integers(-100, 101))
            P, R = P * s, R * s
        return {"P": P, "Q": R, "kind": k, "cond": cond}

    def project(inst: dict) -> dict | None:
        out = dict(inst)
        for key in ("P", "Q"):
            A = 0.5 * (inst[key] + inst[key].T)
            lam, U = np.linalg.eigh(A)
            top = float(lam.max())
            if not top > 0:
                return None
            lam = np.clip(lam, top / cond, None)
            out[key] = 0.5 * ((U * lam) @ U.T + ((U * lam) @ U.T).T)
        return out

    def describe(inst: dict) -> str:
        cp = float(np.linalg.cond(inst["P"]))
        return f"{inst.get('kind', kind)} d={inst['P'].shape[0]} cond(P)={cp:.2g}"

    return Family(f"SPD pairs ({kind}, cond<={cond:g})", sample, describe=describe, project=project)


# --------------------------------------------------------------------------
# persistence diagrams
# --------------------------------------------------------------------------

_DIAGRAM_KINDS = ("random", "near-diagonal", "ties", "perturbed", "empty-vs-random")


def _diagram(rng: np.random.Generator, m: int, kind: str) -> np.ndarray:
    if kind == "ties":
        pts = rng.integers(0, 3, (m, 2)).astype(float)
        b, d = pts.min(1), pts.max(1)
        return np.stack([b, d], 1)
    b = rng.uniform(-1, 1, m)
    life = rng.exponential(0.5, m)
    if kind == "near-diagonal":
        life *= 1e-6
    return np.stack([b, b + life], 1)


def diagrams(kind: str = "mixed", *, n: int | Range = (0, 25)) -> Family:
    """Pairs ``{"A", "B"}`` of finite persistence diagrams (rows birth <= death).

    Parameters
    ----------
    kind : str
        ``"random"``, ``"near-diagonal"`` (lifetimes ~1e-6), ``"ties"``
        (integer coordinates: repeated points and equal costs),
        ``"perturbed"`` (B a small perturbation of A), ``"empty-vs-random"``,
        or ``"mixed"``.
    n : int or (low, high), keyword-only
        Points per diagram.
    """
    kind = check_choice(kind, "kind", ("mixed", *_DIAGRAM_KINDS))
    nr = _check_range(n, "n", 0)

    def sample(rng: np.random.Generator) -> dict:
        k = _DIAGRAM_KINDS[int(rng.integers(len(_DIAGRAM_KINDS)))] if kind == "mixed" else kind
        m1, m2 = _draw(rng, nr), _draw(rng, nr)
        if k == "perturbed":
            A = _diagram(rng, m1, "random")
            B = A + rng.normal(0, 1e-3, A.shape)
        elif k == "empty-vs-random":
            A, B = np.zeros((0, 2)), _diagram(rng, max(m2, 1), "random")
        else:
            A, B = _diagram(rng, m1, k), _diagram(rng, m2, k)
        return project({"A": A, "B": B, "kind": k})

    def project(inst: dict) -> dict:
        out = dict(inst)
        for key in ("A", "B"):
            D = np.asarray(inst[key], dtype=float).reshape(-1, 2)
            out[key] = np.stack([D[:, 0], np.maximum(D[:, 0], D[:, 1])], 1)
        return out

    def shrink(inst: dict):
        for key in ("A", "B"):
            for i in range(len(inst[key])):
                yield {**inst, key: np.delete(inst[key], i, axis=0)}
        # a point of each diagram at once: matched pairs often only go together
        for i in range(len(inst["A"])):
            for j in range(len(inst["B"])):
                yield {
                    **inst,
                    "A": np.delete(inst["A"], i, axis=0),
                    "B": np.delete(inst["B"], j, axis=0),
                }
        for digits in (1, 2, 3):
            yield {**inst, **{k: np.round(inst[k], digits) for k in ("A", "B")}}

    def describe(inst: dict) -> str:
        return f"{inst.get('kind', kind)} |A|={len(inst['A'])} |B|={len(inst['B'])}"

    return Family(f"diagrams ({kind})", sample, describe=describe, shrink=shrink, project=project)


# --------------------------------------------------------------------------
# sheaves on graphs
# --------------------------------------------------------------------------

_GRAPH_KINDS = ("gnm", "tree", "cycle", "forest", "complete")


def _graph(rng: np.random.Generator, kind: str, n: int) -> np.ndarray:
    pairs = np.array([(a, b) for a in range(n) for b in range(a + 1, n)], dtype=np.int64)
    if kind == "gnm" and len(pairs):
        k = int(rng.integers(max(1, n - 1), len(pairs) + 1))
        E = pairs[rng.choice(len(pairs), size=k, replace=False)]
    elif kind == "tree":
        E = np.array([[int(rng.integers(0, v)), v] for v in range(1, n)], dtype=np.int64)
    elif kind == "cycle":
        E = np.array([[v, (v + 1) % n] for v in range(n)] if n >= 3 else [[0, 1]][: n - 1])
    elif kind == "forest":
        half = max(1, n // 2)
        E = np.array([[v, v + 1] for v in range(half - 1)], dtype=np.int64)
    else:
        E = pairs
    E = np.asarray(E, dtype=np.int64).reshape(-1, 2)
    flip = rng.random(len(E)) < 0.5
    E[flip] = E[flip][:, ::-1]
    return E


def _orthogonal(rng: np.random.Generator, m: int, d: int) -> np.ndarray:
    Q, R = np.linalg.qr(rng.standard_normal((m, d, d)))
    return Q * np.sign(np.diagonal(R, axis1=1, axis2=2))[:, None, :]


def sheaves_on_graphs(
    maps: str = "random",
    *,
    graph: str = "mixed",
    n_vertices: int | Range = (2, 10),
    stalk_dim: int | Range = (1, 3),
    edge_dim: int | Range | None = None,
) -> Family:
    """Sheaves on graphs as ``{"edges", "n_vertices", "tail", "head"}``.

    ``tail[e]`` is the restriction map from the tail vertex of edge ``e`` to
    the edge stalk (``edge_dim x stalk_dim``), ``head[e]`` from the head; build
    the sheaf with ``CellularSheaf.from_maps(edges, tail, head,
    n_vertices=n_vertices)``.

    Parameters
    ----------
    maps : str
        ``"random"`` (Gaussian, variance 1/d), ``"orthogonal"`` (an
        O(d)-bundle: a connection), ``"near-identity"`` (orthogonal maps
        within 1e-12 to 1e-6 of the identity: holonomy near the identity, tiny
        spectral gaps), ``"constant"`` (identities), ``"rank-deficient"`` (maps of rank
        one), or ``"mixed"``.
    graph : str, keyword-only
        ``"gnm"``, ``"tree"``, ``"cycle"``, ``"forest"`` (several components,
        isolated vertices), ``"complete"``, or ``"mixed"``.
    n_vertices, stalk_dim, edge_dim : int or (low, high), keyword-only
        ``edge_dim`` defaults to ``stalk_dim`` (square maps, needed for
        ``"orthogonal"``, ``"near-identity"`` and ``"constant"``).
    """
    kinds = ("random", "orthogonal", "near-identity", "constant", "rank-deficient")
    maps = check_choice(maps, "maps", ("mixed", *kinds))
    graph = check_choice(graph, "graph", ("mixed", *_GRAPH_KINDS))
    vr, sr = _check_range(n_vertices, "n_vertices", 1), _check_range(stalk_dim, "stalk_dim", 1)
    er = None if edge_dim is None else _check_range(edge_dim, "edge_dim", 1)

    def sample(rng: np.random.Generator) -> dict:
        mk = kinds[int(rng.integers(len(kinds)))] if maps == "mixed" else maps
        gk = _GRAPH_KINDS[int(rng.integers(len(_GRAPH_KINDS)))] if graph == "mixed" else graph
        n = _draw(rng, vr)
        E = _graph(rng, gk, n)
        m, d = len(E), _draw(rng, sr)
        de = (
            d if er is None or mk in ("orthogonal", "near-identity", "constant") else _draw(rng, er)
        )
        if mk == "random":
            tail = rng.standard_normal((m, de, d)) / math.sqrt(d)
            head = rng.standard_normal((m, de, d)) / math.sqrt(d)
        elif mk == "orthogonal":
            tail, head = _orthogonal(rng, m, d), _orthogonal(rng, m, d)
        elif mk == "near-identity":
            # Cayley transforms (I - A)^-1 (I + A) of skew A with |A| ~ 1e-12 .. 1e-6
            size = 10.0 ** rng.uniform(-12, -6, (m, 1, 1))
            A = rng.standard_normal((m, d, d)) * size
            skew = A - np.swapaxes(A, 1, 2)
            eye = np.broadcast_to(np.eye(d), (m, d, d))
            tail = (
                np.asarray(np.linalg.solve(eye - skew, eye + skew), dtype=np.float64)
                if m
                else np.zeros((0, d, d))
            )
            head = eye.copy()
        elif mk == "constant":
            tail = np.broadcast_to(np.eye(d), (m, d, d)).copy()
            head = tail.copy()
        else:
            u, v = rng.standard_normal((m, de, 1)), rng.standard_normal((m, 1, d))
            tail, head = u @ v, rng.standard_normal((m, de, d)) / math.sqrt(d)
        return {"edges": E, "n_vertices": n, "tail": tail, "head": head, "maps": mk, "graph": gk}

    def describe(inst: dict) -> str:
        t = inst["tail"]
        return (
            f"{inst.get('maps', maps)} maps on {inst.get('graph', graph)} graph, "
            f"n={inst['n_vertices']} m={len(inst['edges'])} d_e={t.shape[1]} "
            f"d_v={t.shape[2]}"
        )

    def shrink(inst: dict):
        for e in range(len(inst["edges"])):
            yield {**inst, **{k: np.delete(inst[k], e, axis=0) for k in ("edges", "tail", "head")}}
        yield from (
            {**inst, "tail": np.round(inst["tail"], p), "head": np.round(inst["head"], p)}
            for p in (0, 1, 2)
        )

    return Family(
        f"sheaves ({maps} maps, {graph} graphs)", sample, describe=describe, shrink=shrink
    )


# --------------------------------------------------------------------------
# paired embeddings
# --------------------------------------------------------------------------

_PAIR_KINDS = ("aligned", "rotated", "shared-specific", "independent", "duplicates")


def paired_embeddings(
    kind: str = "mixed",
    *,
    n: int | Range = (5, 80),
    dim: int | Range = (2, 16),
    noise: float = 0.1,
) -> Family:
    """Paired embeddings ``{"X": (n, d), "Y": (n, d)}`` of two modalities.

    Row i of X and row i of Y embed the same object.

    Parameters
    ----------
    kind : str
        ``"aligned"`` (Y = X + noise), ``"rotated"`` (Y = X Q + noise, Q
        orthogonal), ``"shared-specific"`` (a shared subspace plus a private
        one per modality), ``"independent"`` (no relation), ``"duplicates"``
        (repeated objects), or ``"mixed"``.
    n, dim : int or (low, high), keyword-only
    noise : float, keyword-only
        Standard deviation of the added noise, >= 0.
    """
    kind = check_choice(kind, "kind", ("mixed", *_PAIR_KINDS))
    nr, dr = _check_range(n, "n", 1), _check_range(dim, "dim", 1)
    noise = check_real(noise, "noise", low=0.0)

    def sample(rng: np.random.Generator) -> dict:
        k = _PAIR_KINDS[int(rng.integers(len(_PAIR_KINDS)))] if kind == "mixed" else kind
        m, d = _draw(rng, nr), _draw(rng, dr)
        X = rng.standard_normal((m, d))
        if k == "duplicates":
            X = X[rng.integers(0, max(1, m // 3), m)]
        if k in ("aligned", "duplicates"):
            Y = X.copy()
        elif k == "rotated":
            Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
            Y = X @ Q
        elif k == "shared-specific":
            s = max(1, d // 2)
            Z = rng.standard_normal((m, s))
            basis_x, _ = np.linalg.qr(rng.standard_normal((d, d)))
            basis_y, _ = np.linalg.qr(rng.standard_normal((d, d)))
            X = np.hstack([Z, rng.standard_normal((m, d - s))]) @ basis_x
            Y = np.hstack([Z, rng.standard_normal((m, d - s))]) @ basis_y
        else:
            Y = rng.standard_normal((m, d))
        Y = Y + noise * rng.standard_normal(Y.shape)
        return {"X": X, "Y": Y, "kind": k}

    def describe(inst: dict) -> str:
        return f"{inst.get('kind', kind)} n={inst['X'].shape[0]} d={inst['X'].shape[1]}"

    return Family(f"paired embeddings ({kind})", sample, describe=describe)
