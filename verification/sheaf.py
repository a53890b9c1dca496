"""Checks of the cellular-sheaf theorems (theory/sheaf-*.md), with their mutants.

Every check measures the library against oracles written here from the
definitions: the coboundary assembled densely from the restriction maps,
L = δᵀWδ as a dense product, kernels and ranks from ``numpy``/``scipy`` SVDs
and eigendecompositions, components from networkx, sections of a connection
by transporting frames along the graph. None of them calls the function it
checks. Instances come from :func:`sheaftopo.verify.sheaves_on_graphs` (random,
orthogonal, near-identity, constant and rank-deficient maps on random graphs,
trees, cycles, forests with isolated vertices and complete graphs) and from
local families: ragged stalks with tied, duplicated and zero maps, edges
scaled by 10^(+-3) (condition numbers up to ~1e12, near-sections under the
kernel tolerance), tied and zero edge weights, connections whose holonomy is
within 1e-12..1e-5 of the identity (the spectral gap in the label), and the
sharp families of the bounds. Each page's mutants follow its check.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ._mutants import mutant
from ._registry import register

EPS = float(np.finfo(float).eps)

# --------------------------------------------------------------------------
# instances: dicts {"edges", "n_vertices", "tail", "head"} (+ "w", ...)
# --------------------------------------------------------------------------


def _maps(inst: dict, key: str) -> list[np.ndarray]:
    if inst.get("maps") == "constant":  # the sheaf is CellularSheaf.constant: identities
        return [np.eye(_constant_dim(inst))] * len(inst["edges"])
    return [np.asarray(M, dtype=float) for M in inst[key]]


def _project(inst: dict) -> dict:
    """Keep a moved instance valid (adversarial search moves every float array):
    weights >= 0, alpha lambda_max in [0.05, 1.95], t gap > 0, rotations orthogonal."""
    out = dict(inst)
    if "w" in out:
        out["w"] = np.maximum(np.asarray(out["w"], dtype=float), 0.0)
    if "alpha" in out:
        out["alpha"] = float(np.clip(out["alpha"], 0.05, 1.95))
    if "tgap" in out:
        out["tgap"] = float(np.clip(out["tgap"], 0.01, 50.0))
    if "R" in out:  # the nearest orthogonal matrices; the planted dimension is lost
        U, _, Vt = np.linalg.svd(np.asarray(out["R"], dtype=float))
        out["R"], out["fixed"] = U @ Vt, None
    return out


def _dims(inst: dict) -> tuple[np.ndarray, np.ndarray]:
    """Vertex and edge stalk dimensions read off the maps (isolated vertices: 1)."""
    E = np.asarray(inst["edges"], dtype=np.int64).reshape(-1, 2)
    vd = np.ones(int(inst["n_vertices"]), dtype=np.int64)
    tails, heads = _maps(inst, "tail"), _maps(inst, "head")
    for (a, b), T, H in zip(E, tails, heads, strict=True):
        vd[a], vd[b] = T.shape[1], H.shape[1]
    ed = np.array([T.shape[0] for T in tails], dtype=np.int64)
    if inst.get("maps") == "constant":  # CellularSheaf.constant: R^d on isolated vertices too
        vd[:] = _constant_dim(inst)
    return vd, ed


def _constant_dim(inst: dict) -> int:
    return int(inst["d"]) if "d" in inst else int(np.shape(inst["tail"])[-1])


def _offsets(sizes: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)


def _delta(inst: dict) -> np.ndarray:
    """The coboundary, densely from its definition: (δx)_e = F_head x_v - F_tail x_u."""
    E = np.asarray(inst["edges"], dtype=np.int64).reshape(-1, 2)
    vd, ed = _dims(inst)
    vo, eo = _offsets(vd), _offsets(ed)
    D = np.zeros((int(eo[-1]), int(vo[-1])))
    for e, ((a, b), T, H) in enumerate(zip(E, _maps(inst, "tail"), _maps(inst, "head"),
                                           strict=True)):
        D[eo[e]:eo[e + 1], vo[a]:vo[a + 1]] -= T
        D[eo[e]:eo[e + 1], vo[b]:vo[b + 1]] += H
    return D


def _weights(inst: dict) -> np.ndarray:
    m = len(inst["edges"])
    return np.asarray(inst["w"], dtype=float) if "w" in inst else np.ones(m)


def _dense_laplacian(inst: dict) -> np.ndarray:
    """δᵀ W δ as a dense product."""
    D = _delta(inst)
    _, ed = _dims(inst)
    return D.T @ (np.repeat(_weights(inst), ed)[:, None] * D)


def _sheaf(inst: dict) -> Any:
    from sheaftopo.sheaf import CellularSheaf

    if inst.get("maps") == "constant":
        return CellularSheaf.constant(np.asarray(inst["edges"]).reshape(-1, 2),
                                      _constant_dim(inst),
                                      n_vertices=int(inst["n_vertices"]))
    return CellularSheaf.from_maps(np.asarray(inst["edges"]).reshape(-1, 2),
                                   list(_maps(inst, "tail")), list(_maps(inst, "head")),
                                   n_vertices=int(inst["n_vertices"]))


def _with_note(describe: Callable[[dict], str]) -> Callable[[dict], str]:
    """A describe that appends what the statement noted on the instance (a gap, a cond)."""
    if getattr(describe, "notes", False):
        return describe

    def label(inst: dict) -> str:
        note = inst.get("note", "")
        return describe(inst) + (f", {note}" if note else "")

    label.notes = True  # type: ignore[attr-defined]
    return label


def _graph_family_describe(inst: dict) -> str:
    vd, ed = _dims(inst)
    return (f"{inst.get('maps', 'ragged')} maps on {inst.get('graph', 'random')} graph, "
            f"n={inst['n_vertices']} m={len(inst['edges'])} d_v<={vd.max(initial=1)} "
            f"d_e<={ed.max(initial=0)}")


def _random_graph(rng: np.random.Generator, n: int) -> np.ndarray:
    """A random simple graph, sometimes with isolated vertices, edges randomly oriented."""
    pairs = np.array([(a, b) for a in range(n) for b in range(a + 1, n)], dtype=np.int64)
    if not len(pairs):
        return np.zeros((0, 2), dtype=np.int64)
    k = int(rng.integers(0, len(pairs) + 1))
    E = pairs[rng.choice(len(pairs), size=k, replace=False)].reshape(-1, 2)
    flip = rng.random(len(E)) < 0.5
    E[flip] = E[flip][:, ::-1]
    return E


def _ragged_sample(rng: np.random.Generator) -> dict:
    """Ragged stalks; some maps zero, rank one, or duplicated from another edge (ties)."""
    n = int(rng.integers(1, 9))
    E = _random_graph(rng, n)
    vd = rng.integers(1, 4, n)
    tails, heads = [], []
    for a, b in E:
        de = int(rng.integers(1, 4))
        T = rng.standard_normal((de, vd[a])) / math.sqrt(vd[a])
        H = rng.standard_normal((de, vd[b])) / math.sqrt(vd[b])
        r = rng.random()
        if r < 0.15:
            T = np.zeros_like(T)
        elif r < 0.3:
            T = np.outer(rng.standard_normal(de), rng.standard_normal(vd[a]))
        elif r < 0.45 and tails and tails[-1].shape == T.shape:
            T = tails[-1].copy()  # a tie: the same map on two edges
        if rng.random() < 0.2 and T.shape == H.shape:
            H = T.copy()
        tails.append(T)
        heads.append(H)
    return {"edges": E, "n_vertices": n, "tail": tails, "head": heads, "maps": "ragged",
            "graph": "random"}


def _keeping_stalks(shrink: Callable[[dict], Iterator[dict]]) -> Callable[[dict], Iterator[dict]]:
    """Only the shrink candidates whose vertex stalks are unchanged (cochains stay valid:
    a vertex losing its last edge would fall back to R^1)."""
    def keep(inst: dict) -> Iterator[dict]:
        vd = _dims(inst)[0]
        for cand in shrink(inst):
            if np.array_equal(_dims(cand)[0], vd):
                yield cand

    return keep


def _ragged_shrink(inst: dict) -> Iterator[dict]:
    for e in range(len(inst["edges"])):
        keep = [i for i in range(len(inst["edges"])) if i != e]
        yield {**inst, "edges": np.asarray(inst["edges"])[keep],
               "tail": [inst["tail"][i] for i in keep], "head": [inst["head"][i] for i in keep]}


def _ragged_perturb(inst: dict, rng: np.random.Generator, step: float) -> dict:
    def move(Ms: list) -> list:
        return [M + step * rng.standard_normal(M.shape) for M in Ms]

    return {**inst, "tail": move(inst["tail"]), "head": move(inst["head"])}


def _ragged(name: str = "ragged sheaves (zero, rank-one and tied maps)") -> Any:
    from sheaftopo.verify import Family

    return Family(name, _ragged_sample, describe=_with_note(_graph_family_describe),
                  shrink=_ragged_shrink, perturb=_ragged_perturb, project=_project)


def _tied_weights(rng: np.random.Generator, m: int) -> np.ndarray:
    """Edge weights with ties and zeros: drawn from {0, 1, 2.5} or uniform on [0, 3]."""
    w = rng.uniform(0, 3, m)
    tie = rng.random(m) < 0.5
    w[tie] = rng.choice([0.0, 1.0, 2.5], int(tie.sum()))
    return w


def _weighted(fam: Any, name: str | None = None) -> Any:
    """The same family with tied and zero edge weights ``"w"`` added."""
    from sheaftopo.verify import Family

    def sample(rng: np.random.Generator) -> dict:
        inst = fam.sample(rng)
        return {**inst, "w": _tied_weights(rng, len(inst["edges"]))}

    def shrink(inst: dict) -> Iterator[dict]:
        for cand in fam.shrink({k: v for k, v in inst.items() if k != "w"}):
            keep = len(cand["edges"])
            if keep == len(inst["edges"]):
                yield {**cand, "w": inst["w"]}
            else:  # an edge was dropped: find which by comparing the edge lists
                E, C = np.asarray(inst["edges"]), np.asarray(cand["edges"])
                drop = next((i for i in range(len(C)) if not np.array_equal(E[i], C[i])),
                            len(C))
                yield {**cand, "w": np.delete(inst["w"], drop)}

    return Family(name or f"{fam.name}, tied/zero weights", sample,
                  describe=_with_note(fam.describe), shrink=shrink, perturb=fam.perturb,
                  project=_project)


def _generated(maps: str, graph: str = "mixed", **kw: Any) -> Any:
    """:func:`sheaftopo.verify.sheaves_on_graphs` with the statement's notes in the label."""
    from dataclasses import replace

    from sheaftopo.verify import sheaves_on_graphs

    fam = sheaves_on_graphs(maps, graph=graph, **kw)
    return replace(fam, describe=_with_note(fam.describe), project=_project)


def _scaled(fam: Any) -> Any:
    """The family with every edge's maps multiplied by 10^u, u uniform in [-3, 3]:
    Laplacians with condition numbers up to ~1e12 and gaps far below lambda_max."""
    from sheaftopo.verify import Family

    def sample(rng: np.random.Generator) -> dict:
        inst = fam.sample(rng)
        c = 10.0 ** rng.uniform(-3, 3, len(inst["edges"]))
        return {**inst, "tail": [M * k for M, k in zip(_maps(inst, "tail"), c, strict=True)],
                "head": [M * k for M, k in zip(_maps(inst, "head"), c, strict=True)],
                "maps": "scaled"}

    return Family(f"{fam.name}, edges scaled by 1e-3..1e3", sample,
                  describe=_with_note(_graph_family_describe), shrink=_ragged_shrink,
                  perturb=_ragged_perturb, project=_project)


def _standard_families(weighted: bool = False) -> list:
    """Every kind of maps of the public generator, ragged stalks, and badly scaled edges."""
    fams = [_generated(k) for k in ("random", "orthogonal", "near-identity", "constant",
                                    "rank-deficient")]
    fams.append(_ragged())
    fams.append(_scaled(_generated("random")))
    return [_weighted(f) for f in fams] if weighted else fams


def _cut_ambiguous(values: np.ndarray, cut: float, factor: float = 100.0) -> bool:
    """Whether some value lies within ``factor`` of ``cut`` (a rank decision too close to call)."""
    return bool(np.any((values > cut / factor) & (values < cut * factor)))


# --------------------------------------------------------------------------
# sheaf-laplacian.md
# --------------------------------------------------------------------------


def _nx_laplacian(inst: dict, d: int) -> np.ndarray:
    """networkx's weighted graph Laplacian ⊗ I_d (the constant sheaf's Laplacian)."""
    import networkx as nx

    G = nx.Graph()
    G.add_nodes_from(range(int(inst["n_vertices"])))
    for (a, b), w in zip(np.asarray(inst["edges"]).reshape(-1, 2), _weights(inst), strict=True):
        G.add_edge(int(a), int(b), weight=float(w))
    LG = nx.laplacian_matrix(G, nodelist=range(int(inst["n_vertices"])), weight="weight")
    return np.kron(LG.toarray(), np.eye(d))


@register("sheaf-laplacian-graph", theory="sheaf-laplacian.md", kind="identity",
          quick=4, full=50)
def _laplacian_graph() -> tuple:
    from sheaftopo.verify import Statement

    def evaluate(inst: dict) -> tuple[float, float]:
        from sheaftopo.sheaf import coboundary, laplacian

        F = _sheaf(inst)
        w = _weights(inst)
        D = _delta(inst)
        L = _dense_laplacian(inst)
        top = max((np.abs(M).max(initial=0.0) for M in _maps(inst, "tail") + _maps(inst, "head")),
                  default=0.0)
        scale_d = max(top, 1e-300)
        scale_l = max(float(np.abs(L).max(initial=0.0)), float(w.max(initial=0.0)) * top**2,
                      1e-300)
        err = float(np.abs(coboundary(F).toarray() - D).max(initial=0.0)) / scale_d
        err = max(err, float(np.abs(laplacian(F, weights=w).toarray() - L).max(initial=0.0))
                  / scale_l)
        if inst.get("maps") == "constant":
            d = int(F.vertex_dims[0])
            ref = _nx_laplacian(inst, d)
            err = max(err, float(np.abs(laplacian(F, weights=w).toarray() - ref).max(initial=0))
                      / scale_l)
        return err, 1e-12

    st = Statement("sheaf-laplacian-graph", evaluate, rtol=0.0,
                   description="coboundary = dense δ from the maps; L(w) = dense δᵀWδ; constant "
                               "sheaf: L = networkx weighted Laplacian ⊗ I_d (relative error)")
    return st, _standard_families(weighted=True)


def _transposed(sheaf: Any) -> Any:
    """The same graph with every (square) restriction map transposed."""
    from sheaftopo.sheaf import CellularSheaf

    if not sheaf.n_edges or not sheaf.is_uniform or sheaf.tail_maps.shape[1] != \
            sheaf.tail_maps.shape[2]:
        return sheaf
    return CellularSheaf.from_maps(sheaf.edges, sheaf.tail_maps.transpose(0, 2, 1),
                                   sheaf.head_maps.transpose(0, 2, 1),
                                   n_vertices=sheaf.n_vertices)


def _head_negated(sheaf: Any) -> Any:
    from sheaftopo.sheaf import CellularSheaf

    return CellularSheaf(sheaf.n_vertices, sheaf.edges, sheaf.vertex_dims, sheaf.edge_dims,
                         sheaf.layout.tail, -sheaf.layout.head)


def _without_last_edge(sheaf: Any) -> Any:
    from sheaftopo.sheaf import CellularSheaf

    if not sheaf.n_edges:
        return sheaf
    m = sheaf.n_edges - 1
    return CellularSheaf(sheaf.n_vertices, sheaf.edges[:m], sheaf.vertex_dims,
                         sheaf.edge_dims[:m],
                         np.concatenate([sheaf.tail_map(e).ravel() for e in range(m)] + [[]]),
                         np.concatenate([sheaf.head_map(e).ravel() for e in range(m)] + [[]]))


def _on_sheaf(change: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A mutant maker: the original function applied to a changed sheaf."""
    def make(original: Any) -> Any:
        def wrong(sheaf: Any, *args: Any, **kwargs: Any) -> Any:
            return original(change(sheaf), *args, **kwargs)

        return wrong

    return make


@mutant("laplacian ignores the weights", page="sheaf-laplacian.md",
        target="sheaftopo.sheaf:laplacian", quick=True)
def _m_lap_weights(original: Any) -> Any:
    return lambda sheaf, **kw: original(sheaf, **{k: v for k, v in kw.items() if k != "weights"})


mutant("laplacian of the transposed restriction maps", page="sheaf-laplacian.md",
       target="sheaftopo.sheaf:laplacian")(_on_sheaf(_transposed))
mutant("coboundary sign flipped on the head side", page="sheaf-laplacian.md",
       target="sheaftopo.sheaf:coboundary")(_on_sheaf(_head_negated))
def _m_drop_last(original: Any) -> Any:
    """The Laplacian of the sheaf without its last edge (and that edge's weight)."""
    def wrong(sheaf: Any, *, weights: Any = None, **kw: Any) -> Any:
        w = None if weights is None else np.asarray(weights, dtype=float)[: sheaf.n_edges - 1]
        return original(_without_last_edge(sheaf), weights=w, **kw)

    return wrong


mutant("laplacian drops the last edge", page="sheaf-laplacian.md",
       target="sheaftopo.sheaf:laplacian")(_m_drop_last)


@mutant("laplacian off-diagonal blocks with the wrong sign", page="sheaf-laplacian.md",
        target="sheaftopo.sheaf:laplacian")
def _m_lap_sign(original: Any) -> Any:
    import scipy.sparse as sp

    def wrong(sheaf: Any, **kw: Any) -> Any:
        L = original(sheaf, **kw).toarray()
        off = sheaf.vertex_offsets
        mask = np.zeros_like(L, dtype=bool)
        for v in range(sheaf.n_vertices):
            mask[off[v]:off[v + 1], off[v]:off[v + 1]] = True
        return sp.csr_array(np.where(mask, L, -L))

    return wrong


# --------------------------------------------------------------------------
# sheaf-hodge.md
# --------------------------------------------------------------------------

KERNEL_TOL = 1e-10  # the library's documented kernel rule: eigenvalue <= tol * lambda_max


def _kernel_oracle(D: np.ndarray, tol: float = KERNEL_TOL) -> tuple[np.ndarray, np.ndarray, bool]:
    """(basis of ker δ, singular values, ambiguous) by a dense SVD of δ.

    A direction is in the kernel when σ² <= tol σ_max² (the library's rule on the
    eigenvalues σ² of L); ``ambiguous`` when some σ² is within a factor 100 of the cut.
    """
    import scipy.linalg as sla

    n = D.shape[1]
    if D.shape[0] == 0 or not np.any(D):
        return np.eye(n), np.zeros(0), False
    _, s, Vt = sla.svd(D, full_matrices=True)
    s_full = np.zeros(n)
    s_full[: len(s)] = s
    cut = tol * s_full.max() ** 2
    lam = s_full**2
    return Vt[lam <= cut].T, lam, _cut_ambiguous(lam, cut)


def _subspace_gap(Q: np.ndarray, N: np.ndarray) -> float:
    """Spectral-norm distance between the orthogonal projectors onto span Q and span N."""
    if Q.shape[1] == 0 and N.shape[1] == 0:
        return 0.0
    P = Q @ Q.T - N @ N.T
    return float(np.linalg.norm(P, 2))


def _spectral_gap_note(lam: np.ndarray, h0: int) -> tuple[float, str]:
    """(relative gap λ_{h0+1}/λ_max, a label) of the oracle eigenvalues of L."""
    lam = np.sort(lam)
    top = float(lam[-1]) if len(lam) else 0.0
    gap = float(lam[h0]) / top if top > 0 and len(lam) > h0 else 1.0
    return gap, f"gap={gap:.2g}"


@register("sheaf-hodge", theory="sheaf-hodge.md", kind="identity", quick=4, full=50)
def _hodge() -> tuple:
    from sheaftopo.verify import Statement

    def evaluate(inst: dict) -> tuple[float, float]:
        from sheaftopo.sheaf import cohomology_dimensions, global_sections, laplacian

        F = _sheaf(inst)
        D = _delta(inst)
        L = laplacian(F).toarray()
        scale = float(np.abs(L).max(initial=0.0)) or 1.0
        n = L.shape[0]
        asym = float(np.abs(L - L.T).max(initial=0.0)) / scale
        mu, W = np.linalg.eigh(0.5 * (L + L.T)) if n else (np.zeros(0), np.zeros((0, 0)))
        neg = max(0.0, -float(mu[0])) / scale if n else 0.0
        N, lam, ambiguous = _kernel_oracle(D)
        gap, note = _spectral_gap_note(lam, N.shape[1])
        inst["note"] = note + (" (ambiguous rank)" if ambiguous else "")
        Q = global_sections(F)
        h0, h1 = cohomology_dimensions(F)
        ratios = [asym / (8 * n * EPS + 1e-300), neg / (8 * n * EPS + 1e-300)]
        KL = W[:, mu <= KERNEL_TOL * max(float(mu.max(initial=0.0)), 0.0)]  # ker of our L
        if Q.shape[1]:
            ratios.append(float(np.abs(Q.T @ Q - np.eye(Q.shape[1])).max()) / 1e-10)
        if not ambiguous:
            rank = n - N.shape[1]
            # dimensions are integers: any difference is a violation
            ratios.append(2.0 * (abs(Q.shape[1] - N.shape[1]) + abs(h0 - N.shape[1])
                                 + abs(h1 - (F.dim_c1 - rank)) + abs(KL.shape[1] - N.shape[1])))
            # Davis-Kahan: the kernel is accurate to ~ n eps lambda_max / gap
            dk = 1e-6 + 1e3 * n * EPS / max(gap, 1e-300)
            ratios.append(_subspace_gap(Q, N) / dk)
            if KL.shape[1] == N.shape[1]:
                ratios.append(_subspace_gap(KL, N) / dk)
        else:  # only the defining property of what was returned
            top = float(lam.max(initial=0.0))
            ratios.append(float(np.linalg.norm(D @ Q, 2)) ** 2 / (100 * KERNEL_TOL * top + 1e-300)
                          if Q.shape[1] else 0.0)
        return max(ratios), 1.0

    st = Statement("sheaf-hodge", evaluate, rtol=0.0,
                   description="L symmetric PSD; ker L (dense eigh of our L, global_sections, "
                               "cohomology_dimensions) = ker δ by SVD of the dense δ; the sections "
                               "span ker δ (projector distance <= Davis-Kahan bound / gap); "
                               "dim H¹ = dim C¹ - rank δ")
    return st, _standard_families()


def _dims_shifted(dh0: int, dh1: int, minus_h0: bool = False) -> Callable[[Any], Any]:
    """Mutant maker: cohomology_dimensions with (h0 + dh0, h1 + dh1 [- h0]), same type."""
    def make(original: Any) -> Any:
        from sheaftopo.sheaf import CohomologyDimensions

        def wrong(sheaf: Any, **kw: Any) -> Any:
            c = original(sheaf, **kw)
            h1 = c[1] + dh1 - (c[0] if minus_h0 else 0)
            return CohomologyDimensions(c[0] + dh0, h1, zero_max=c.zero_max,
                                        nonzero_min=c.nonzero_min, tol=c.tol, method=c.method)

        return wrong

    return make


mutant("dim H^0 off by one", page="sheaf-hodge.md", target="sheaftopo.sheaf:cohomology_dimensions",
       quick=True)(_dims_shifted(1, 1))
mutant("dim H^1 = dim C^1 - dim C^0 (forgets H^0)", page="sheaf-hodge.md",
       target="sheaftopo.sheaf:cohomology_dimensions")(_dims_shifted(0, 0, minus_h0=True))


@mutant("global sections are the top eigenvectors", page="sheaf-hodge.md",
        target="sheaftopo.sheaf:global_sections")
def _m_hodge_top(original: Any) -> Any:
    def wrong(sheaf: Any, **kw: Any) -> Any:
        from sheaftopo.sheaf import laplacian

        Q = original(sheaf, **kw)
        _, V = np.linalg.eigh(laplacian(sheaf).toarray())
        return V[:, V.shape[1] - Q.shape[1]:]

    return wrong


@mutant("global sections drop a basis vector", page="sheaf-hodge.md",
        target="sheaftopo.sheaf:global_sections")
def _m_hodge_drop(original: Any) -> Any:
    return lambda sheaf, **kw: original(sheaf, **kw)[:, 1:]


mutant("kernel of the transposed-map Laplacian", page="sheaf-hodge.md",
       target="sheaftopo.sheaf:laplacian")(_on_sheaf(_transposed))
mutant("global sections of the transposed-map sheaf", page="sheaf-hodge.md",
       target="sheaftopo.sheaf:global_sections")(_on_sheaf(_transposed))


# --------------------------------------------------------------------------
# sheaf-constant-cohomology.md
# --------------------------------------------------------------------------


def _graphs_sample(rng: np.random.Generator) -> dict:
    """A simple graph with 1-12 vertices: random, empty, a forest with isolated vertices,
    a cycle or complete; d = 1-3."""
    n = int(rng.integers(1, 13))
    kind = ("random", "empty", "forest", "cycle", "complete")[int(rng.integers(5))]
    if kind == "empty" or n == 1:
        E = np.zeros((0, 2), dtype=np.int64)
    elif kind == "forest":
        E = np.array([[int(rng.integers(0, v)), v] for v in range(1, n)
                      if rng.random() < 0.6], dtype=np.int64).reshape(-1, 2)
    elif kind == "cycle" and n >= 3:
        E = np.array([[v, (v + 1) % n] for v in range(n)], dtype=np.int64)
    elif kind == "complete":
        E = np.array([(a, b) for a in range(n) for b in range(a + 1, n)], dtype=np.int64)
    else:
        E = _random_graph(rng, n)
    d = int(rng.integers(1, 4))
    eye = np.broadcast_to(np.eye(d), (len(E), d, d)).copy()
    return {"edges": E, "n_vertices": n, "tail": eye, "head": eye.copy(), "maps": "constant",
            "graph": kind, "d": d}


@register("constant-sheaf-h0", theory="sheaf-constant-cohomology.md", kind="identity",
          quick=12, full=300)
def _constant_h0() -> tuple:
    import networkx as nx

    from sheaftopo.verify import Family, Statement

    def evaluate(inst: dict) -> tuple[float, float]:
        from sheaftopo.sheaf import CellularSheaf, cohomology_dimensions

        n, d = int(inst["n_vertices"]), int(inst["d"])
        E = np.asarray(inst["edges"], dtype=np.int64).reshape(-1, 2)
        G = nx.Graph()
        G.add_nodes_from(range(n))
        G.add_edges_from(E.tolist())
        c = nx.number_connected_components(G)
        inst["note"] = f"c={c} d={d}"
        h0, h1 = cohomology_dimensions(CellularSheaf.constant(E, d, n_vertices=n))
        return float(abs(h0 - d * c) + abs(h1 - d * (len(E) - n + c))), 0.5

    def describe(inst: dict) -> str:
        return (f"{inst['graph']} graph n={inst['n_vertices']} m={len(inst['edges'])}, "
                f"{inst.get('note', '')}")

    st = Statement("constant-sheaf-h0", evaluate, rtol=0.0,
                   description="constant sheaf R^d: dim H⁰ = d·c, dim H¹ = d·(m - n + c), "
                               "c = networkx components (exact integers)")
    return st, [Family("graphs: random, empty, forests with isolated vertices, cycles, "
                       "complete", _graphs_sample, describe=describe, shrink=_ragged_shrink)]


mutant("constant-sheaf dim H^0 off by one", page="sheaf-constant-cohomology.md",
       target="sheaftopo.sheaf:cohomology_dimensions", quick=True)(_dims_shifted(-1, -1))


@mutant("constant sheaf ignores its dimension", page="sheaf-constant-cohomology.md",
        target="sheaftopo.sheaf:CellularSheaf.constant")
def _m_const_dim(original: Any) -> Any:
    f = original.__func__

    def wrong(cls: Any, graph: Any, dim: int = 1, **kw: Any) -> Any:
        return f(cls, graph, 1, **kw)

    return classmethod(wrong)


mutant("dim H^1 without the components (d(m - n))", page="sheaf-constant-cohomology.md",
       target="sheaftopo.sheaf:cohomology_dimensions")(_dims_shifted(0, 0, minus_h0=True))


# --------------------------------------------------------------------------
# sheaf-harmonic-extension.md
# --------------------------------------------------------------------------


def _with_boundary(fam: Any) -> Any:
    """The family with a boundary set B (empty to all vertices) and values x_B added."""
    from sheaftopo.verify import Family

    def sample(rng: np.random.Generator) -> dict:
        inst = fam.sample(rng)
        n = int(inst["n_vertices"])
        nb = int(rng.integers(0, n + 1))
        B = np.sort(rng.choice(n, size=nb, replace=False)).astype(np.int64)
        vd, _ = _dims(inst)
        vals = rng.standard_normal(int(vd[B].sum()))
        if rng.random() < 0.3 and len(vals):
            vals = np.round(vals)  # ties and zeros among the boundary values
        return {**inst, "boundary": B, "values": vals}

    return Family(f"{fam.name}, random boundary", sample, describe=_with_note(fam.describe),
                  shrink=_keeping_stalks(fam.shrink), perturb=fam.perturb, project=_project)


def _coords(vd: np.ndarray, vertices: np.ndarray) -> np.ndarray:
    off = _offsets(vd)
    return np.concatenate([np.arange(off[v], off[v + 1]) for v in vertices] + [
        np.zeros(0, dtype=np.int64)]).astype(np.int64)


@register("sheaf-harmonic-extension", theory="sheaf-harmonic-extension.md", kind="identity",
          quick=4, full=50)
def _harmonic() -> tuple:
    from sheaftopo.verify import Statement

    def evaluate(inst: dict) -> tuple[float, float]:
        from sheaftopo.sheaf import harmonic_extension

        F = _sheaf(inst)
        D = _delta(inst)
        vd, _ = _dims(inst)
        B, vals = np.asarray(inst["boundary"], dtype=np.int64), np.asarray(inst["values"])
        bc = _coords(vd, B)
        interior = np.setdiff1d(np.arange(D.shape[1]), bc)
        DI, DB = D[:, interior], D[:, bc]
        s = np.linalg.svd(DI, compute_uv=False) if DI.size else np.zeros(0)
        s_all = np.zeros(len(interior))
        s_all[: len(s)] = s
        top = float(np.linalg.svd(D, compute_uv=False).max(initial=0.0)) if D.size else 0.0
        # a section vanishing on B <=> a (numerically) zero singular value of δ_I;
        # the library's rule is the kernel tolerance on eigenvalues of L
        lam, cut = s_all**2, KERNEL_TOL * top**2
        nullity = int((lam <= cut).sum()) if top > 0 else len(interior)
        kept = s_all[lam > cut]
        cond = float(top / kept.min()) if len(kept) else 1.0
        inst["note"] = f"|B|={len(B)} cond(δ_I)={cond:.2g}"
        if top > 0 and _cut_ambiguous(lam, cut):
            inst["note"] += " (ambiguous uniqueness: not compared)"
            return 0.0, 1.0
        if nullity:
            try:
                harmonic_extension(F, B, vals)
            except ValueError:
                return 0.0, 1.0
            inst["note"] += f", {nullity} sections vanish on B but accepted"
            return 1e6, 1.0
        x = harmonic_extension(F, B, vals, rtol=1e-13)
        xI = (np.linalg.lstsq(DI, -DB @ vals, rcond=None)[0] if len(interior)
              else np.zeros(0))
        ref = np.zeros(D.shape[1])
        ref[bc], ref[interior] = vals, xI
        size = max(1.0, float(np.abs(ref).max(initial=0.0)))
        boundary_err = float(np.abs(x[bc] - vals).max(initial=0.0))
        # both solutions are accurate to ~ eps cond(δ_I)^2 relative (CG on L_II, lstsq)
        tol = 1e-9 + 1e-13 * cond**2
        energy = float(np.sum((D @ x) ** 2))
        best = float(np.sum((D @ ref) ** 2))
        return max(boundary_err / (EPS * size),
                   float(np.abs(x - ref).max()) / size / tol,
                   (energy - best) / (1e-9 * best + 1e-12 * top**2 * size**2 + 1e-300)), 1.0

    st = Statement("sheaf-harmonic-extension", evaluate, rtol=0.0,
                   description="x_B = values exactly; x = dense least-squares minimiser of "
                               "|δx|² with x_B fixed (relative error <= 1e-9 + 1e-13 cond(δ_I)²); "
                               "energy not above the oracle's; refused iff a section vanishes on B")
    return st, [_with_boundary(f) for f in _standard_families()]


@mutant("harmonic extension ignores the boundary values", page="sheaf-harmonic-extension.md",
        target="sheaftopo.sheaf:harmonic_extension", quick=True)
def _m_harm_zero(original: Any) -> Any:
    def wrong(sheaf: Any, boundary: Any, values: Any, **kw: Any) -> Any:
        return original(sheaf, boundary, np.zeros_like(np.asarray(values, dtype=float)), **kw)

    return wrong


@mutant("harmonic extension with L_IB's sign flipped", page="sheaf-harmonic-extension.md",
        target="sheaftopo.sheaf:harmonic_extension")
def _m_harm_sign(original: Any) -> Any:
    def wrong(sheaf: Any, boundary: Any, values: Any, **kw: Any) -> Any:
        values = np.asarray(values, dtype=float)
        x = original(sheaf, boundary, -values, **kw)
        b = np.asarray(boundary, dtype=np.int64)
        bc = _coords(np.asarray(sheaf.vertex_dims), b)
        x[bc] = values
        return x

    return wrong


@mutant("harmonic extension accepts non-unique problems", page="sheaf-harmonic-extension.md",
        target="sheaftopo.sheaf:harmonic_extension")
def _m_harm_accept(original: Any) -> Any:
    def wrong(sheaf: Any, boundary: Any, values: Any, **kw: Any) -> Any:
        try:
            return original(sheaf, boundary, values, **kw)
        except ValueError:
            x = np.zeros(sheaf.dim_c0)
            x[_coords(np.asarray(sheaf.vertex_dims), np.asarray(boundary, np.int64))] = values
            return x

    return wrong


@mutant("harmonic extension solved to rtol 1e-2", page="sheaf-harmonic-extension.md",
        target="sheaftopo.sheaf:harmonic_extension")
def _m_harm_loose(original: Any) -> Any:
    def wrong(sheaf: Any, boundary: Any, values: Any, **kw: Any) -> Any:
        return original(sheaf, boundary, values, **{**kw, "rtol": 1e-2})

    return wrong


# --------------------------------------------------------------------------
# sheaf-diffusion.md
# --------------------------------------------------------------------------


def _complete_constant_sample(rng: np.random.Generator) -> dict:
    """The constant sheaf R^d on K_n: every nonzero eigenvalue of L equals n (the sharp case)."""
    n, d = int(rng.integers(2, 9)), int(rng.integers(1, 4))
    E = np.array([(a, b) for a in range(n) for b in range(a + 1, n)], dtype=np.int64)
    eye = np.broadcast_to(np.eye(d), (len(E), d, d)).copy()
    return {"edges": E, "n_vertices": n, "tail": eye, "head": eye.copy(), "maps": "constant",
            "graph": "complete", "d": d}


def _with_flow(fam: Any, name: str | None = None, tight: bool = False) -> Any:
    """The family with x0, t·gap in [0.1, 5], alpha·lambda_max in (0.1, 1.9), 1-60 steps
    (the sharp family: alpha·lambda_max away from 1 and at most 10 steps)."""
    from sheaftopo.verify import Family

    def sample(rng: np.random.Generator) -> dict:
        inst = fam.sample(rng)
        vd, _ = _dims(inst)
        x0 = rng.standard_normal(int(vd.sum()))
        if rng.random() < 0.2:
            x0 = np.round(x0)  # ties and exact zeros
        if tight:  # alpha lambda_max in (0.1, 0.5) or (1.5, 1.9), k <= 10: rho >= 0.5 and
            # rho^k >= 1e-3 stays far above the rounding room of the bound
            u = float(rng.uniform(0.1, 0.5))
            return {**inst, "x0": x0, "tgap": float(rng.uniform(0.1, 5.0)),
                    "alpha": u if rng.random() < 0.5 else 2.0 - u,
                    "steps": int(rng.integers(1, 11))}
        return {**inst, "x0": x0, "tgap": float(rng.uniform(0.1, 5.0)),
                "alpha": float(rng.uniform(0.1, 1.9)), "steps": int(rng.integers(1, 61))}

    return Family(name or f"{fam.name}, random x0", sample, describe=_with_note(fam.describe),
                  shrink=_keeping_stalks(fam.shrink), perturb=fam.perturb, project=_project,
                  tight=tight)


def _flow_oracle(inst: dict) -> dict | None:
    """The dense-eigh oracle of a flow instance: P x0, the gap, lambda_max, the noise tau.

    Eigenvalues below the rounding noise tau = 64 N eps lambda_max of a dense eigh count as
    zero; the bounds then cover their (at most t tau, resp. k alpha tau) motion. None when
    x0 is (numerically) a section or L = 0: nothing to bound.
    """
    lam, V = np.linalg.eigh(_dense_laplacian(inst))
    x0 = np.asarray(inst["x0"], dtype=float)
    if not len(lam) or lam[-1] <= 0:
        inst["note"] = "L = 0"
        return None
    top, nx0 = float(lam[-1]), float(np.linalg.norm(x0))
    tau = 64 * len(lam) * EPS * top
    zero = lam <= tau
    c = V.T @ x0
    P = V[:, zero] @ c[zero]
    dist0 = float(np.linalg.norm(x0 - P))
    if zero.all() or dist0 <= 1e-12 * nx0:
        inst["note"] = "x0 is a section"
        return None
    gamma = float(lam[~zero][0])
    inst["note"] = f"gap={gamma / top:.2g}"
    return {"x0": x0, "P": P, "gamma": gamma, "top": top, "tau": tau, "dist0": dist0,
            "nx0": nx0, "eig": (lam, V)}


def _flow_families() -> list:
    from sheaftopo.verify import Family

    fams = [_with_flow(f) for f in _standard_families()]
    fams.append(_with_flow(Family("constant sheaf on K_n", _complete_constant_sample,
                                  describe=_graph_family_describe, shrink=lambda i: iter(())),
                           name="constant sheaf on K_n (all nonzero eigenvalues equal), "
                                "random x0", tight=True))
    return fams


@register("sheaf-diffusion-limit", theory="sheaf-diffusion.md", kind="bound", quick=4,
          full=40, tight_delta=1e-6)
def _diffusion() -> tuple:
    from sheaftopo.verify import Statement

    def evaluate(inst: dict) -> tuple[float, float]:
        from sheaftopo.sheaf import diffuse, project_to_sections

        F = _sheaf(inst)
        o = _flow_oracle(inst)
        x0 = np.asarray(inst["x0"], dtype=float)
        if o is None:  # x(t) must stay put
            err = float(np.linalg.norm(diffuse(F, x0, 1.0) - x0))
            return err / (1e-9 * float(np.linalg.norm(x0)) + 1e-300), 1.0
        t = float(inst["tgap"]) / o["gamma"]
        drift = t * o["tau"]
        bound = (math.exp(-t * o["gamma"]) * o["dist0"] * (1 + drift)
                 + (drift + 1e-12) * o["nx0"])
        ratio = float(np.linalg.norm(diffuse(F, x0, t) - o["P"])) / bound
        # the projection (the t -> infinity limit) by CG from 0 (rtol 1e-12, 100 N steps:
        # cond(L) reaches 1e12 here) removes a component of eigenvalue lam to
        # ~ rtol lmax / lam: compared where lam > 1e3 tau (below, whether
        # a direction is a section is a matter of rounding); it never grows x0
        lam, V = o["eig"]
        hi = lam > 1e3 * o["tau"]
        Px = project_to_sections(F, x0, rtol=1e-12, maxiter=100 * len(x0))
        err = float(np.linalg.norm(V[:, hi].T @ (Px - o["P"])))
        tol = (1e-9 + 1e-9 * o["top"] / float(lam[hi][0])) * o["nx0"] if hi.any() else 1.0
        grow = float(np.linalg.norm(Px)) / (o["nx0"] * (1 + 1e-9))
        return max(ratio, err / tol, grow), 1.0

    st = Statement("sheaf-diffusion-limit", evaluate, rtol=1e-9,
                   description="|e^{-tL}x0 - P x0| <= e^{-t gap}|x0 - P x0|, t gap in [0.1, 5], "
                               "P = dense-eigh projection onto H⁰ (project_to_sections agrees "
                               "to 1e-9 + 1e-9 λ_max/λ)")
    return st, _flow_families()


@register("sheaf-diffusion-explicit", theory="sheaf-diffusion.md", kind="bound", quick=4,
          full=40, tight_delta=1e-6)
def _diffusion_explicit() -> tuple:
    from sheaftopo.verify import Statement

    def evaluate(inst: dict) -> tuple[float, float]:
        from sheaftopo.sheaf import diffusion_steps

        F = _sheaf(inst)
        o = _flow_oracle(inst)
        x0 = np.asarray(inst["x0"], dtype=float)
        k = int(inst["steps"])
        if o is None:
            err = float(np.linalg.norm(diffusion_steps(F, x0, n_steps=k) - x0))
            return err / (1e-9 * float(np.linalg.norm(x0)) + 1e-300), 1.0
        alpha = float(inst["alpha"]) / o["top"]
        rho = max(abs(1 - alpha * o["gamma"]), abs(1 - alpha * o["top"]))
        drift = k * alpha * o["tau"]
        bound = rho**k * o["dist0"] * (1 + drift) + (drift + 1e-12) * o["nx0"]
        xs = diffusion_steps(F, x0, alpha=alpha, n_steps=k)
        ratio = float(np.linalg.norm(xs - o["P"])) / bound
        try:  # beyond 2 / lambda_max the scheme diverges: it must be refused
            diffusion_steps(F, x0, alpha=2.01 / o["top"], n_steps=k)
        except ValueError:
            return ratio, 1.0
        inst["note"] += ", alpha = 2.01/lambda_max accepted"
        return max(ratio, 1e6), 1.0

    st = Statement("sheaf-diffusion-explicit", evaluate, rtol=1e-9,
                   description="k steps x <- x - alpha L x, alpha lambda_max in (0.1, 1.9), "
                               "k <= 60: |x_k - P x0| <= rho^k |x0 - P x0|, "
                               "rho = max(|1 - alpha gap|, |1 - alpha lambda_max|); "
                               "alpha = 2.01 / lambda_max refused")
    return st, _flow_families()


@mutant("diffusion runs for time 2t", page="sheaf-diffusion.md",
        target="sheaftopo.sheaf:diffuse", quick=True)
def _m_diff_2t(original: Any) -> Any:
    return lambda sheaf, x0, t, **kw: original(sheaf, x0, 2 * t, **kw)


@mutant("explicit diffusion step alpha/2", page="sheaf-diffusion.md",
        target="sheaftopo.sheaf:diffusion_steps")
def _m_diff_half(original: Any) -> Any:
    def wrong(sheaf: Any, x0: Any, *, alpha: Any = None, **kw: Any) -> Any:
        return original(sheaf, x0, alpha=None if alpha is None else alpha / 2, **kw)

    return wrong


@mutant("explicit diffusion does one step fewer", page="sheaf-diffusion.md",
        target="sheaftopo.sheaf:diffusion_steps")
def _m_diff_fewer(original: Any) -> Any:
    def wrong(sheaf: Any, x0: Any, *, n_steps: int, **kw: Any) -> Any:
        return original(sheaf, x0, n_steps=max(n_steps - 1, 0), **kw)

    return wrong


@mutant("explicit diffusion accepts alpha >= 2/lambda_max", page="sheaf-diffusion.md",
        target="sheaftopo.sheaf:diffusion_steps")
def _m_diff_unguarded(original: Any) -> Any:
    def wrong(sheaf: Any, x0: Any, *, alpha: Any = None, n_steps: int, **kw: Any) -> Any:
        try:
            return original(sheaf, x0, alpha=alpha, n_steps=n_steps, **kw)
        except ValueError:  # run the diverging steps anyway
            from sheaftopo.sheaf import laplacian

            L, x = laplacian(sheaf), np.array(x0, dtype=float)
            for _ in range(n_steps):
                x = x - alpha * (L @ x)
            return x

    return wrong


@mutant("diffusion returns x0", page="sheaf-diffusion.md", target="sheaftopo.sheaf:diffuse")
def _m_diff_const(original: Any) -> Any:
    return lambda sheaf, x0, t, **kw: np.array(x0, dtype=float)


@mutant("projection onto sections returns x", page="sheaf-diffusion.md",
        target="sheaftopo.sheaf:project_to_sections")
def _m_proj_id(original: Any) -> Any:
    return lambda sheaf, x, **kw: np.array(x, dtype=float)


# --------------------------------------------------------------------------
# sheaf-normalized-laplacian.md
# --------------------------------------------------------------------------


def _pinv_sqrt(B: np.ndarray, rtol: float = 1e-12) -> tuple[np.ndarray, float]:
    """(B^{+1/2}, condition number of the kept part) of a symmetric PSD block; the
    condition number is inf when an eigenvalue is within a factor 100 of the cut
    (whether it is kept is then a matter of rounding)."""
    mu, U = np.linalg.eigh(B)
    top = float(mu.max(initial=0.0))
    keep = mu > rtol * top if top > 0 else np.zeros(len(mu), dtype=bool)
    inv = np.where(keep, 1.0 / np.sqrt(np.where(keep, mu, 1.0)), 0.0)
    cond = top / float(mu[keep].min()) if keep.any() else 1.0
    if top > 0 and _cut_ambiguous(mu, rtol * top):
        cond = math.inf
    return (U * inv) @ U.T, cond


def _bipartite_sample(rng: np.random.Generator) -> dict:
    """The constant sheaf on a bipartite graph (even cycle, tree, complete bipartite, grid),
    tied/zero weights off a spanning tree: lambda_max of the normalised Laplacian is 2."""
    kind = ("even cycle", "tree", "complete bipartite", "grid")[int(rng.integers(4))]
    if kind == "even cycle":
        n = 2 * int(rng.integers(1, 6)) + 2
        E = np.array([[v, (v + 1) % n] for v in range(n)], dtype=np.int64)
    elif kind == "tree":
        n = int(rng.integers(2, 11))
        E = np.array([[int(rng.integers(0, v)), v] for v in range(1, n)], dtype=np.int64)
    elif kind == "complete bipartite":
        a, b = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        n = a + b
        E = np.array([(i, a + j) for i in range(a) for j in range(b)], dtype=np.int64)
    else:
        r, c = int(rng.integers(2, 4)), int(rng.integers(2, 4))
        n = r * c
        E = np.array([(i * c + j, i * c + j + 1) for i in range(r) for j in range(c - 1)]
                     + [(i * c + j, (i + 1) * c + j) for i in range(r - 1) for j in range(c)],
                     dtype=np.int64)
    d = int(rng.integers(1, 4))
    eye = np.broadcast_to(np.eye(d), (len(E), d, d)).copy()
    w = rng.choice([1.0, 2.5], len(E)) if rng.random() < 0.5 else rng.uniform(0.1, 3, len(E))
    return {"edges": E, "n_vertices": n, "tail": eye, "head": eye.copy(), "maps": "constant",
            "graph": kind, "d": d, "w": w}


@register("sheaf-normalized-spectrum", theory="sheaf-normalized-laplacian.md", kind="bound",
          quick=4, full=60, tight_delta=1e-9)
def _normalized() -> tuple:
    from sheaftopo.verify import Family, Statement

    def evaluate(inst: dict) -> tuple[float, float]:
        from sheaftopo.sheaf import laplacian

        F = _sheaf(inst)
        w = _weights(inst)
        Nlib = laplacian(F, weights=w, normalized=True).toarray()
        if not Nlib.size:
            return 0.0, 1.0
        L = _dense_laplacian(inst)
        vo = _offsets(_dims(inst)[0])
        S = np.zeros_like(L)
        cond = 1.0
        for v in range(len(vo) - 1):
            sl = slice(vo[v], vo[v + 1])
            S[sl, sl], c = _pinv_sqrt(L[sl, sl])
            cond = max(cond, c)
        ref = S @ L @ S
        lam = np.linalg.eigvalsh(0.5 * (Nlib + Nlib.T))
        n = len(lam)
        if math.isinf(cond):  # kept or cut by rounding: entries of size up to 1/eps^(1/2)
            inst["note"] = "a D_v eigenvalue at the pinv cut: not judged"
            return 0.0, 1.0
        inst["note"] = f"cond(D_v)<={cond:.2g}"
        # D^{+1/2} of a block of condition number cond is accurate to eps cond relative, and
        # S_p B S_q then to eps cond^2 absolute: the rounding room of both claims
        room = 8 * n * EPS * cond**2
        ident = float(np.abs(Nlib - ref).max()) / room
        return max(float(lam[-1]) / (2.0 * (1 + room)), -float(lam[0]) / room, ident), 1.0

    st = Statement("sheaf-normalized-spectrum", evaluate, rtol=1e-12,
                   description="λ_max(D^{+1/2} L D^{+1/2}) <= 2 and λ_min >= 0; the matrix = the "
                               "dense S L S, S the blockwise pinv square root; rounding room "
                               "8 n eps cond(D_v)^2 in all three")
    fams = _standard_families(weighted=True)
    fams.append(Family("constant sheaf on bipartite graphs, tied weights", _bipartite_sample,
                       describe=_with_note(_graph_family_describe), shrink=lambda i: iter(()),
                       project=_project,
                       tight=True))
    return st, fams


def _normalized_by(power: float) -> Callable[[Any], Any]:
    """Mutant maker: the 'normalised' Laplacian D^{-power} L D^{-power} (blockwise pinv)."""
    def make(original: Any) -> Any:
        import scipy.sparse as sp

        def wrong(sheaf: Any, *, weights: Any = None, normalized: bool = False, **kw: Any) -> Any:
            L = original(sheaf, weights=weights, **kw).toarray()
            if not normalized:
                return sp.csr_array(L)
            off = sheaf.vertex_offsets
            S = np.zeros_like(L)
            for v in range(sheaf.n_vertices):
                sl = slice(off[v], off[v + 1])
                half, _ = _pinv_sqrt(L[sl, sl])
                S[sl, sl] = np.linalg.matrix_power(half, round(2 * power))
            return sp.csr_array(S @ L @ S)

        return wrong

    return make


mutant("normalized Laplacian with D^-1 instead of D^-1/2", page="sheaf-normalized-laplacian.md",
       target="sheaftopo.sheaf:laplacian", quick=True)(_normalized_by(1.0))


@mutant("normalized flag ignored", page="sheaf-normalized-laplacian.md",
        target="sheaftopo.sheaf:laplacian")
def _m_norm_flag(original: Any) -> Any:
    return lambda sheaf, **kw: original(sheaf, **{k: v for k, v in kw.items()
                                                  if k != "normalized"})


mutant("normalized Laplacian ignores the weights", page="sheaf-normalized-laplacian.md",
       target="sheaftopo.sheaf:laplacian")(_m_lap_weights)


@mutant("normalized Laplacian without the pseudo-inverse cut", page="sheaf-normalized-laplacian.md",
        target="sheaftopo.sheaf:laplacian")
def _m_norm_cut(original: Any) -> Any:
    return lambda sheaf, **kw: original(sheaf, **{**kw, "pinv_rtol": 0.0})


# --------------------------------------------------------------------------
# sheaf-interlacing.md
# --------------------------------------------------------------------------


def _with_deleted_edge(fam: Any) -> Any:
    from sheaftopo.verify import Family

    def sample(rng: np.random.Generator) -> dict:
        for _ in range(100):
            inst = fam.sample(rng)
            if len(inst["edges"]):
                return {**inst, "e": int(rng.integers(len(inst["edges"])))}
        raise RuntimeError(f"{fam.name} drew no edge in 100 tries")

    return Family(f"{fam.name}, one edge deleted", sample, describe=_with_note(fam.describe),
                  shrink=lambda inst: iter(()), perturb=fam.perturb, project=_project)


def _isolated_edge_sample(rng: np.random.Generator) -> dict:
    """Edge e alone in its component (maps scaled 3-30x) next to a random sheaf.

    Deleting e moves t = d_e eigenvalues from 0 to above the other component's
    spectrum, which both Laplacians share: lambda_k(L) = lambda_{k+t}(L') at every
    shared eigenvalue mu (and lambda_{k+t+1}(L') > mu when mu is simple), so the
    shift t is attained and cannot be reduced.
    """
    inst = _ragged_sample(rng)
    n = int(inst["n_vertices"])
    da, db = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    de = int(rng.integers(1, min(da + db, 4) + 1))
    s = float(rng.uniform(3, 30)) * (1 + len(inst["edges"]))
    T, H = rng.standard_normal((de, da)) * s, rng.standard_normal((de, db)) * s
    pos = int(rng.integers(0, len(inst["edges"]) + 1))
    E = np.insert(np.asarray(inst["edges"]).reshape(-1, 2), pos, [n, n + 1], axis=0)
    tails, heads = list(inst["tail"]), list(inst["head"])
    tails.insert(pos, T)
    heads.insert(pos, H)
    return {"edges": E, "n_vertices": n + 2, "tail": tails, "head": heads, "maps": "ragged",
            "graph": "random + an isolated edge", "e": pos}


def _interlacing_ratio(a: np.ndarray, b: np.ndarray, t: int, slack: float) -> tuple[float, float]:
    """(upper, lower): max_k lambda_k(L) / lambda_{k+t}(L') and max_k lambda_k(L') / lambda_k(L),
    each denominator plus ``slack``."""
    a, b = np.sort(a), np.sort(b)
    lower = float(np.max(b / (a + slack)))
    upper = float(np.max(a[: len(a) - t] / (b[t:] + slack))) if len(a) > t else 0.0
    return upper, lower


@register("sheaf-interlacing", theory="sheaf-interlacing.md", kind="bound", quick=4, full=60,
          tight_delta=1e-6)
def _interlacing() -> tuple:
    from sheaftopo.verify import Family, Statement

    def evaluate(inst: dict) -> tuple[float, float]:
        from sheaftopo.sheaf import CellularSheaf, laplacian

        F = _sheaf(inst)
        e = int(inst["e"])
        keep = [i for i in range(len(inst["edges"])) if i != e]
        vd, ed = _dims(inst)  # F' from the instance: same vertex stalks, edge e gone
        tails, heads = _maps(inst, "tail"), _maps(inst, "head")
        F2 = CellularSheaf(len(vd), np.asarray(inst["edges"]).reshape(-1, 2)[keep], vd, ed[keep],
                           np.concatenate([tails[i].ravel() for i in keep] + [[]]),
                           np.concatenate([heads[i].ravel() for i in keep] + [[]]))
        L, L2 = laplacian(F).toarray(), laplacian(F2).toarray()
        a, b = np.linalg.eigvalsh(L), np.linalg.eigvalsh(L2)
        # the hypothesis: L - L' is edge e's rank-t update δ_eᵀδ_e (dense, from its maps)
        eo = _offsets(ed)
        De = _delta(inst)[eo[e]:eo[e + 1]]
        update = float(np.abs(L - L2 - De.T @ De).max()) / (
            1e-13 * max(float(np.abs(_dense_laplacian(inst)).max()), 1e-300))
        t = int(F.edge_dims[e])
        slack = 64 * len(a) * EPS * max(float(a[-1]), 1e-300)
        upper, lower = _interlacing_ratio(a, b, t, slack)
        inst["note"] = f"t={t}, monotone ratio {lower:.3g}"
        # the rank-t half is the statement's ratio; the monotone half must hold too
        return max(upper, update) if lower <= 1 + 1e-9 else max(upper, lower, update), 1.0

    st = Statement("sheaf-interlacing", evaluate, rtol=1e-9,
                   description="deleting edge e (stalk dim t): ratio max_k λ_k(L)/λ_{k+t}(L') "
                               "<= 1, and λ_k(L') <= λ_k(L) (a violation of either fails); "
                               "L - L' = δ_eᵀδ_e from e's maps (error <= 1e-13 |L|)")
    fams = [_with_deleted_edge(f) for f in _standard_families()]
    fams.append(Family("an isolated edge deleted next to a random sheaf (shift t attained)",
                       _isolated_edge_sample, describe=_with_note(_graph_family_describe),
                       shrink=lambda i: iter(()), perturb=_ragged_perturb, project=_project,
                       tight=True))
    return st, fams


mutant("laplacian drops the last edge (edge-deleted sheaf wrong by one edge)",
       page="sheaf-interlacing.md", target="sheaftopo.sheaf:laplacian",
       quick=True)(_m_drop_last)


@mutant("edge stalk dimension off by one (interlacing shift t+1)", page="sheaf-interlacing.md",
        target="sheaftopo.sheaf:CellularSheaf.edge_dims")
def _m_inter_shift_up(original: Any) -> Any:
    return property(lambda self: original.fget(self) + 1)


@mutant("edge stalk dimension off by one (interlacing shift t-1)", page="sheaf-interlacing.md",
        target="sheaftopo.sheaf:CellularSheaf.edge_dims")
def _m_inter_shift_down(original: Any) -> Any:
    return property(lambda self: original.fget(self) - 1)


@mutant("laplacian counts the first edge twice", page="sheaf-interlacing.md",
        target="sheaftopo.sheaf:laplacian")
def _m_inter_double(original: Any) -> Any:
    def wrong(sheaf: Any, *, weights: Any = None, **kw: Any) -> Any:
        w = np.ones(sheaf.n_edges) if weights is None else np.array(weights, dtype=float)
        if len(w):
            w[0] *= 2
        return original(sheaf, weights=w, **kw)

    return wrong


# --------------------------------------------------------------------------
# sheaf-connection-holonomy.md
# --------------------------------------------------------------------------


def _haar(rng: np.random.Generator, m: int, d: int) -> np.ndarray:
    """m Haar-random orthogonal d x d matrices (determinant +-1)."""
    Q, R = np.linalg.qr(rng.standard_normal((m, d, d)))
    return Q * np.sign(np.diagonal(R, axis1=1, axis2=2))[:, None, :]


def _near_identity(rng: np.random.Generator, m: int, d: int, lo: float, hi: float
                   ) -> np.ndarray:
    """m rotations within theta of I, theta log-uniform in [lo, hi]: Cayley transforms
    (I - theta K / 2)^{-1} (I + theta K / 2) of random unit skew matrices K."""
    A = rng.standard_normal((m, d, d))
    K = A - A.transpose(0, 2, 1)
    K /= np.maximum(np.linalg.norm(K, 2, axis=(1, 2)), 1e-300)[:, None, None]
    theta = np.exp(rng.uniform(np.log(lo), np.log(hi), m))[:, None, None] / 2
    eye = np.eye(d)
    return np.linalg.solve(eye - theta * K, eye + theta * K)


def _planted_holonomy(rng: np.random.Generator, d: int, fixed: int, lo: float, hi: float
                      ) -> np.ndarray:
    """An orthogonal matrix fixing exactly ``fixed`` axes, its other rotation angles in [lo, hi]
    (a reflection -1 takes the last axis when d - fixed is odd)."""
    Q = _haar(rng, 1, d)[0]
    H = np.eye(d)
    j = fixed
    while j + 1 < d:
        a = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
        H[j:j + 2, j:j + 2] = [[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]]
        j += 2
    if j < d:
        H[j, j] = -1.0
    return Q @ H @ Q.T


def _connection_sample(graph: str, transports: str, holonomy: str) -> Callable:
    """Sampler of connections: ``{"edges", "n_vertices", "R", "fixed", "theta"}``.

    ``fixed`` is the exact dim ker(Hol − I) when planted (None: computed by SVD).
    Edges are randomly reversed; a reversed edge carries R^T (the same transport).
    """
    def sample(rng: np.random.Generator) -> dict:
        d = int(rng.integers(2 if holonomy in ("resolvable", "near-identity") else 1, 5))
        n = int(rng.integers(2, 11)) if graph == "tree" else int(rng.integers(3, 11))
        if graph == "tree":
            E = np.array([[int(rng.integers(0, v)), v] for v in range(1, n)], dtype=np.int64)
        else:
            E = np.array([[v, (v + 1) % n] for v in range(n)], dtype=np.int64)
        m = len(E)
        lo, hi = {"near-identity": (1e-12, 1e-6)}.get(holonomy, (0.5, math.pi))
        if holonomy == "resolvable":  # angle phi: relative gap about sin(phi / 2n)^2
            phi = 2 * n * math.asin(math.sqrt(10 ** rng.uniform(-11.5, -10.3)))
            lo, hi = phi, 2 * phi
        R = (_near_identity(rng, m, d, 1e-12, 1e-6) if transports == "near-identity"
             else _haar(rng, m, d))
        fixed = None
        if graph == "cycle" and holonomy != "random":
            fixed = {"identity": d, "one axis": 1}.get(holonomy)
            if fixed is None:  # near the identity: a rotation fixes d mod 2 axes
                fixed = d % 2
            if holonomy == "one axis" and d == 1:
                fixed = 0
            H = _planted_holonomy(rng, d, fixed, lo, hi)
            P = np.eye(d)
            for k in range(m - 1):
                P = R[k] @ P
            R[-1] = H @ P.T
        flip = rng.random(m) < 0.5
        E[flip] = E[flip][:, ::-1]
        R[flip] = R[flip].transpose(0, 2, 1)
        return {"edges": E, "n_vertices": n, "R": R, "fixed": fixed, "graph": graph,
                "holonomy": holonomy, "transports": transports, "d": d}

    return sample


def _connection_inst(inst: dict) -> dict:
    """The connection as a general sheaf instance: tail R_e, head I."""
    R = np.asarray(inst["R"])
    eye = np.broadcast_to(np.eye(R.shape[-1]), R.shape).copy()
    return {"edges": inst["edges"], "n_vertices": inst["n_vertices"], "tail": R, "head": eye}


def _transported_frames(inst: dict) -> tuple[np.ndarray, np.ndarray]:
    """(X, Hol): the frame of vertex 0 transported along a spanning tree, X of shape
    (n d, d); Hol the transport once round the cycle from vertex 0 (I on a tree), similar
    to R_{n-1} ... R_0. The sections are X c with Hol c = c."""
    E, R = np.asarray(inst["edges"]), np.asarray(inst["R"])
    n, d = int(inst["n_vertices"]), R.shape[-1]
    frames: dict[int, np.ndarray] = {0: np.eye(d)}
    hol = np.eye(d)
    pending = list(range(len(E)))
    while pending:
        progress = []
        for e in pending:
            (u, v), Re = E[e], R[e]
            if u in frames and v not in frames:
                frames[v] = Re @ frames[u]  # x_v = R_e x_u
            elif v in frames and u not in frames:
                frames[u] = Re.T @ frames[v]
            elif u in frames and v in frames:  # the cycle's closing edge: x_v = R_e x_u
                hol = frames[v].T @ Re @ frames[u]  # sections: x_0 = c with hol c = c
            else:
                continue
            progress.append(e)
        if not progress:
            break
        pending = [e for e in pending if e not in progress]
    X = np.concatenate([frames[v] for v in range(n)])
    return X, hol


@register("sheaf-connection-holonomy", theory="sheaf-connection-holonomy.md", kind="identity",
          quick=3, full=25)
def _holonomy() -> tuple:
    from sheaftopo.verify import Family, Statement

    def evaluate(inst: dict) -> tuple[float, float]:
        from sheaftopo.sheaf import CellularSheaf, cohomology_dimensions, global_sections

        F = CellularSheaf.connection(inst["edges"], inst["R"], n_vertices=inst["n_vertices"])
        X, hol = _transported_frames(inst)
        d = hol.shape[0]
        if inst["fixed"] is not None:
            U, _, _ = np.linalg.svd(hol - np.eye(d))
            exact = int(inst["fixed"])
            kernel = U[:, d - exact:]  # left = right singular space of hol - I (normal)
        else:
            _, s, Vt = np.linalg.svd(hol - np.eye(d))
            if _cut_ambiguous(s, 1e-7, 1e3):
                inst["note"] = "holonomy too close to fixing an axis: not compared"
                return 0.0, 1.0
            exact = int((s <= 1e-7).sum())
            kernel = Vt[d - exact:].T
        lam = np.linalg.eigvalsh(_dense_laplacian(_connection_inst(inst)))
        top = float(lam[-1])
        rel = lam / top
        nrel = 4 * len(lam) * EPS  # rounding noise of the dense eigenvalues, relative
        gap = float(rel[exact]) if exact < len(rel) else 1.0  # smallest nonzero, exact
        numerical = int((rel <= KERNEL_TOL).sum())  # the library's default rule
        inst["note"] = f"dim ker(Hol-I)={exact}, spectral gap={gap:.2g}"
        ratios = []
        c = cohomology_dimensions(F)
        if not _cut_ambiguous(rel, KERNEL_TOL):
            ratios.append(2.0 * abs(c[0] - numerical))
            if numerical < len(rel) and c.nonzero_min is not None:
                ratios.append(abs(c.nonzero_min - rel[numerical])
                              / (1e-6 * rel[numerical] + nrel))
        if gap > 1e2 * nrel:  # resolvable: a tolerance between the noise and the gap
            tau = math.sqrt(nrel * gap)
            h0 = cohomology_dimensions(F, tol=tau)[0]
            Q = global_sections(F, tol=tau)
            N = np.linalg.qr(X @ kernel)[0] if exact else np.zeros((len(X), 0))
            ratios.append(2.0 * (abs(h0 - exact) + abs(Q.shape[1] - exact)))
            if Q.shape[1] == exact:
                ratios.append(_subspace_gap(Q, N) / (1e-8 + 10 * nrel / gap))
        else:
            inst["note"] += f" (below rounding: numerical dim {numerical})"
            Q = global_sections(F)
            if Q.shape[1] == d:  # the near-sections: the transported frames, to O(angle)
                N = np.linalg.qr(X)[0]
                angle = float(np.linalg.norm(hol - np.eye(d), 2))
                ratios.append(_subspace_gap(Q, N) / (1e-8 + 10 * angle))
        return max(ratios, default=0.0), 1.0

    def describe(inst: dict) -> str:
        return (f"{inst['graph']} n={inst['n_vertices']} d={inst['d']}, {inst['transports']} "
                f"transports, {inst['holonomy']} holonomy, {inst.get('note', '')}")

    st = Statement("sheaf-connection-holonomy", evaluate, rtol=0.0,
                   description="O(d) connection: dim H⁰ = d on trees, dim ker(Hol - I) on cycles "
                               "(where the gap is resolvable, with tol between rounding and "
                               "gap); sections = transported frames (projector distance <= "
                               "noise/gap); default-tol dimension and reported gap = dense eigh")
    none: Callable[[dict], Iterator[dict]] = lambda inst: iter(())  # noqa: E731
    specs = [("tree", "haar", "random", "trees, Haar O(d) transports"),
             ("tree", "near-identity", "random", "trees, transports within 1e-12..1e-6 of I"),
             ("cycle", "haar", "random", "cycles, random holonomy"),
             ("cycle", "haar", "identity", "cycles, planted identity holonomy"),
             ("cycle", "haar", "one axis", "cycles, holonomy fixing exactly one axis"),
             ("cycle", "haar", "resolvable",
              "cycles, holonomy ~1e-5 from I, d >= 2 (gap 3e-12..5e-11: under the default tol)"),
             ("cycle", "near-identity", "near-identity",
              "cycles, d >= 2, transports and holonomy within 1e-12..1e-6 of I")]
    fams = [Family(label, _connection_sample(g, t, h), describe=describe, shrink=none,
                   project=_project)
            for g, t, h, label in specs]
    return st, fams


@mutant("connection with transposed rotations", page="sheaf-connection-holonomy.md",
        target="sheaftopo.sheaf:CellularSheaf.connection", quick=True)
def _m_conn_transpose(original: Any) -> Any:
    f = original.__func__

    def wrong(cls: Any, graph: Any, rotations: Any, **kw: Any) -> Any:
        return f(cls, graph, np.asarray(rotations).transpose(0, 2, 1), **kw)

    return classmethod(wrong)


@mutant("connection ignores the rotations", page="sheaf-connection-holonomy.md",
        target="sheaftopo.sheaf:CellularSheaf.connection")
def _m_conn_const(original: Any) -> Any:
    f = original.__func__

    def wrong(cls: Any, graph: Any, rotations: Any, **kw: Any) -> Any:
        R = np.asarray(rotations, dtype=float)
        return f(cls, graph, np.broadcast_to(np.eye(R.shape[-1]), R.shape).copy(), **kw)

    return classmethod(wrong)


mutant("holonomy dim H^0 off by one", page="sheaf-connection-holonomy.md",
       target="sheaftopo.sheaf:cohomology_dimensions")(_dims_shifted(1, 1))


@mutant("cohomology ignores the kernel tolerance", page="sheaf-connection-holonomy.md",
        target="sheaftopo.sheaf:cohomology_dimensions")
def _m_conn_tol(original: Any) -> Any:
    return lambda sheaf, **kw: original(sheaf, **{k: v for k, v in kw.items() if k != "tol"})
