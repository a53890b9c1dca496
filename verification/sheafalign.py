"""Checks of SheafAlign's theorems (theory/sheafalign-*.md), run on the library's code.

Each check builds the library's objects (:class:`SheafAlign`, its nodes'
``local_loss``, ``neighbour_estimates`` and ``transport``, the generator
``make_pid_views``) and compares what they return with a computation written
here from the page's formulas: the loss in plain torch, the estimates and
bounds in numpy, subspace dimensions by SVD. Registered when PyTorch imports
(SheafAlign lives in the torch adapter).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ._mutants import mutant as _mutant
from ._registry import register as _register

try:
    import torch
except ImportError:  # pragma: no cover - the checks need the torch extra
    torch = None


def _skip(*args: Any, **kwargs: Any) -> Callable[[Any], Any]:
    """Without torch, neither the checks nor their mutants are registered."""
    return lambda f: f


register = _register if torch is not None else _skip
mutant = _mutant if torch is not None else _skip

GRADIENT_PAGE = "sheafalign-decentralized-gradient.md"
MISSING_PAGE = "sheafalign-missing-modality.md"
SINGLE_PAGE = "sheafalign-single-space.md"
SHEAFALIGN = "sheaftopo.torch.sheafalign"


def _random_graph(rng: np.random.Generator, n: int, kind: str) -> list[list[int]]:
    """A connected graph on n nodes ("tree", "star", "dense"), edges oriented at random."""
    order = rng.permutation(n)
    if kind == "star":
        pairs = {(int(order[0]), int(order[k])) for k in range(1, n)}
    else:
        pairs = {(int(order[k]), int(order[rng.integers(0, k)])) for k in range(1, n)}
        if kind == "dense":
            pairs |= {(u, v) for u, v in itertools.combinations(range(n), 2)
                      if rng.random() < 0.5 and (v, u) not in pairs}
    return [[u, v] if rng.random() < 0.5 else [v, u] for u, v in sorted(pairs)]


def _identity_model(input_dims: list[int], edges: list[list[int]], edge_dims: list[int],
                    **kw: Any) -> Any:
    """A float64 SheafAlign whose encoders are identities (h_i = x_i, no normalisation)."""
    from torch import nn

    from sheaftopo.torch.sheafalign import SheafAlign

    model = SheafAlign(input_dims, edges, embed_dim=None, edge_dim=edge_dims,
                       encoders=[nn.Identity() for _ in input_dims], normalize=False, **kw)
    return model.double()


# --------------------------------------------------------------------------
# sheafalign-decentralized-gradient
# --------------------------------------------------------------------------


def _oracle_loss(model: Any, X: list[Any]) -> tuple[Any, np.ndarray]:
    """The page's L(θ) written out in torch from the parameters, and its terms (C, N, R).

    h_i = encoder(x_i) (unit rows when normalising), z_i^e = P_{i→e} h_i,
    c_e = λ mean ||z_u - z_v||^2 + β symmetric InfoNCE on cosines / τ,
    r_i^e = mean ||Q_{e→i} z_i^e - h_i||^2.
    """
    hs = []
    for node, x in zip(model.node_list(), X, strict=True):
        h = node.encoder(x)
        hs.append(h / h.norm(dim=1, keepdim=True) if model.normalize else h)
    total = hs[0].new_zeros(())
    terms = np.zeros(3)
    for k, (u, v) in enumerate(model.edges.tolist()):
        nu, nv = model.node(u), model.node(v)
        zu, zv = hs[u] @ nu.P[str(k)].T, hs[v] @ nv.P[str(k)].T
        cons = ((zu - zv) ** 2).sum(dim=1).mean()
        a, b = zu / zu.norm(dim=1, keepdim=True), zv / zv.norm(dim=1, keepdim=True)
        S = a @ b.T / model.temperature
        diag = torch.diagonal(S)
        nce = 0.5 * ((torch.logsumexp(S, 1) - diag).mean() + (torch.logsumexp(S, 0) - diag).mean())
        rec = (((zu @ nu.Q[str(k)].T - hs[u]) ** 2).sum(1).mean()
               + ((zv @ nv.Q[str(k)].T - hs[v]) ** 2).sum(1).mean())
        total = total + model.lam * cons
        terms[0] += float(cons.detach())
        if model.beta > 0:  # the library skips (and reports 0 for) a term of weight 0
            total = total + model.beta * nce
            terms[1] += float(nce.detach())
        if model.gamma > 0:
            total = total + model.gamma * rec
            terms[2] += float(rec.detach())
    return total, terms


def _grads(model: Any) -> list[Any]:
    return [p.grad.clone() if p.grad is not None else torch.zeros_like(p)
            for p in model.parameters()]


def _rel(a: list[Any], b: list[Any], floor: float) -> float:
    """Largest entry of a - b relative to the largest of b, at least ``floor``."""
    err = max(float((x - y).abs().max()) for x, y in zip(a, b, strict=True))
    return err / max(max(float(y.abs().max()) for y in b), floor, 1e-300)


def _gradient_setup(inst: dict) -> tuple[Any, list[Any]]:
    from sheaftopo.torch.sheafalign import SheafAlign

    rng = np.random.default_rng(int(inst["seed"]))
    n = int(inst["n"])
    edges = _random_graph(rng, n, inst["graph"])
    d_in = [int(x) for x in rng.integers(2, 7, n)]
    d = [int(x) for x in rng.integers(1 if inst["tiny"] else 2, 4 if inst["tiny"] else 7, n)]
    # InfoNCE alone on 1-d projections is constant (cosines +-1): its gradient is rounding
    lowest = 2 if float(inst["lam"]) == 0 and float(inst["gamma"]) == 0 else 1
    d_e = [int(rng.integers(min(lowest, d[u], d[v]), min(d[u], d[v]) + 1)) for u, v in edges]
    model = SheafAlign(d_in, edges, embed_dim=d, edge_dim=d_e, hidden=int(rng.integers(2, 9)),
                       normalize=bool(inst["normalize"]), beta=float(inst["beta"]),
                       gamma=float(inst["gamma"]), lam=float(inst["lam"]),
                       seed=int(rng.integers(0, 2**31))).double()
    with torch.no_grad():  # generic maps: Q no longer P^T, P no longer orthonormal
        for node in model.node_list():
            for maps in (node.P, node.Q):
                for p in maps.values():
                    p.add_(0.5 * torch.from_numpy(rng.standard_normal(tuple(p.shape))))
    N = int(inst["N"])
    X = [torch.from_numpy(rng.standard_normal((N, k)) * float(inst["scale"])) for k in d_in]
    if inst["duplicates"]:  # repeated items: tied InfoNCE logits
        X = [x[torch.from_numpy(rng.integers(0, max(1, N // 2), N))] for x in X]
    return model, X


def _decentralized_evaluate(inst: dict) -> tuple[float, float]:
    """Worst of: library loss vs the page's formula (value, gradient); the sum of the nodes'
    local gradients vs the oracle gradient; the nodes' shares vs the oracle terms; bytes sent."""
    model, X = _gradient_setup(inst)
    model.zero_grad(set_to_none=True)
    ref_total, ref_terms = _oracle_loss(model, X)
    ref_total.backward()
    ref = _grads(model)
    model.zero_grad(set_to_none=True)
    lib = model.loss_terms(X)
    lib.total.backward()
    central = _grads(model)
    with torch.no_grad():  # every node's projections, as its neighbours receive them
        sent = {}
        for k, node in enumerate(model.node_list()):
            h = node.embed(X[k])
            for info in node.incident:
                sent[(k, info.edge)] = node.project(info.edge, h)
    model.zero_grad(set_to_none=True)
    shares = np.zeros(3)
    for k, node in enumerate(model.node_list()):
        h = node.embed(X[k])
        mine = {info.edge: node.project(info.edge, h) for info in node.incident}
        got = {info.edge: sent[(info.other, info.edge)] for info in node.incident}
        objective, share, _ = node.local_loss(h, mine, got)
        objective.backward()
        shares += share.numpy()
    local = _grads(model)
    value = abs(float(lib.total.detach()) - float(ref_total.detach())) / max(
        abs(float(ref_total.detach())), 1e-300)
    share_err = float(np.abs(shares - ref_terms).max()) / max(float(np.abs(ref_terms).max()),
                                                              1e-300)
    N = X[0].shape[0]
    want = np.zeros(model.n_nodes, dtype=np.int64)
    for (u, v), de in zip(model.edges.tolist(), model.edge_dims, strict=True):
        want[u] += N * de * 8
        want[v] += N * de * 8
    bytes_ok = np.array_equal(model.exchange_bytes(N, 8), want)
    # a gradient that cancels to rounding (cosines of 1-d projections, say) is compared
    # at the scale 1e-6 |L| instead of its own
    floor = 1e-6 * abs(float(ref_total.detach()))
    worst = max(value, _rel(central, ref, floor), _rel(local, ref, floor), share_err) / 1e-9
    return (worst if bytes_ok else math.inf), 1.0


def _gradient_family(name: str, *, graph: str = "dense", tiny: bool = False,
                     weights: str = "default", N: tuple[int, int] = (4, 24),
                     scale: tuple[float, float] = (-1.0, 1.0), duplicates: bool = False,
                     normalize: bool | None = None) -> Any:
    from sheaftopo.verify import Family

    def sample(rng: np.random.Generator) -> dict:
        if weights == "default":
            beta, gamma, lam = 1.0, 0.1, 1.0
        elif weights == "random":
            beta, gamma, lam = (float(x) for x in rng.uniform(0, 2, 3))
        else:  # one term at a time
            beta, gamma, lam = np.eye(3)[int(rng.integers(3))] * rng.uniform(0.1, 2)
        return {"seed": int(rng.integers(2**31)), "n": int(rng.integers(2, 6)), "graph": graph,
                "tiny": tiny, "N": int(rng.integers(N[0], N[1] + 1)),
                "scale": float(10.0 ** rng.uniform(*scale)), "duplicates": duplicates,
                "normalize": bool(rng.random() < 0.5) if normalize is None else normalize,
                "beta": float(beta), "gamma": float(gamma), "lam": float(lam)}

    def describe(inst: dict) -> str:
        return (f"n={inst['n']} {inst['graph']} N={inst['N']} scale={inst['scale']:.2g} "
                f"normalize={inst['normalize']} beta={inst['beta']:.2f} "
                f"gamma={inst['gamma']:.2f} lam={inst['lam']:.2f}")

    return Family(name, sample, describe=describe, shrink=lambda inst: iter(()))


@register("sheafalign-decentralized-gradient", theory=GRADIENT_PAGE, kind="identity",
          quick=2, full=10)
def _decentralized_gradient() -> tuple[Any, list[Any]]:
    from sheaftopo.verify import Statement

    families = [
        _gradient_family("random graphs, default weights"),
        _gradient_family("random weights", weights="random"),
        _gradient_family("one term at a time (beta, gamma or lam alone)", weights="single"),
        _gradient_family("stars, d_e = 1..3", graph="star", tiny=True, weights="random"),
        _gradient_family("N = 2 (smallest InfoNCE batch)", graph="tree", N=(2, 2)),
        _gradient_family("duplicated items (tied InfoNCE logits)", duplicates=True,
                         weights="random"),
        _gradient_family("inputs scaled 1e-6..1e6, unnormalised", scale=(-6.0, 6.0),
                         normalize=False, weights="random"),
    ]
    statement = Statement(
        "sheafalign-decentralized-gradient",
        _decentralized_evaluate,
        rtol=0.0,
        description="SheafAlign.loss_terms = the page's L (value, gradient); sum of the nodes' "
        "local_loss gradients (neighbour projections as constants) = grad L; shares sum to "
        "the terms; exchange_bytes = N sum_{e at i} d_e * 8 (relative 1e-9, bytes exact)",
    )
    return statement, families


# --------------------------------------------------------------------------
# sheafalign-missing-modality
# --------------------------------------------------------------------------


def _rms(X: np.ndarray) -> float:
    """((1/N) sum_n ||x_n||^2)^(1/2), computed on X / max|X| (no overflow)."""
    top = float(np.abs(X).max()) if X.size else 0.0
    return top * math.sqrt(float(np.mean(np.sum((X / top) ** 2, axis=1)))) if top > 0 else 0.0


def _missing_model(inst: dict) -> Any:
    """A star SheafAlign: node 0 holds h_j, nodes 1..k the sources, maps from the instance."""
    k, dj, di = inst["H"].shape[0], inst["hj"].shape[1], inst["H"].shape[2]
    de = inst["P"].shape[1]
    edges = [[0, t + 1] if inst["tail"][t] else [t + 1, 0] for t in range(k)]
    model = _identity_model([dj] + [di] * k, edges, [de] * k, beta=0.0)
    with torch.no_grad():
        for t in range(k):
            e = str(model.edge_between(0, t + 1))
            model.node(0).P[e].copy_(torch.from_numpy(inst["Pj"][t]))
            model.node(0).Q[e].copy_(torch.from_numpy(inst["Q"][t]))
            model.node(t + 1).P[e].copy_(torch.from_numpy(inst["P"][t]))
            model.node(t + 1).Q[e].copy_(torch.from_numpy(inst["Qi"][t]))
    return model


def _missing_evaluate(inst: dict) -> tuple[float, float]:
    """(RMS error of the library's estimate, the page's bound), in units of ||h_j||_RMS.

    The estimate is the mean over the available sources of
    ``SheafAlign.neighbour_estimates`` (each also checked against
    Q_{e→j} P_{i→e} h_i computed here, and against ``transport``); the bound
    mean_i (||Q||_2 C^(1/2) + R^(1/2)) is computed here. An estimate that
    differs from the independent one by more than 1e-10 (relative) is a
    violation on its own (observed = inf).
    """
    H, P, Pj, Q, hj = inst["H"], inst["P"], inst["Pj"], inst["Q"], inst["hj"]
    k = H.shape[0]
    avail = [t for t in range(k) if inst["avail"][t]]
    model = _missing_model(inst)
    with torch.no_grad():
        hs = model.embed([torch.from_numpy(hj)] + [torch.from_numpy(h) for h in H])
        est = model.neighbour_estimates(0, hs)
        if sorted(est) != list(range(1, k + 1)):
            return math.inf, 1.0
        ours = {t: est[t + 1].numpy() for t in range(k)}
        hop = model.transport(1, 0, hs[1]).numpy()
        two = model.transport(1, 2, hs[1]).numpy() if k >= 2 else None
    scale = max(float(np.abs(hj).max()), 1e-300)
    ident = 0.0
    for t in range(k):
        want = H[t] @ P[t].T @ Q[t].T
        ident = max(ident, float(np.abs(ours[t] - want).max()) / max(float(np.abs(want).max()),
                                                                     scale))
    ident = max(ident, float(np.abs(hop - ours[0]).max()) / max(float(np.abs(hop).max()), 1e-300))
    if two is not None:  # leaf 1 -> centre -> leaf 2: Q_{e2→2} P_{0→e2} Q_{e1→0} P_{1→e1} h_1
        want2 = H[0] @ P[0].T @ Q[0].T @ Pj[1].T @ inst["Qi"][1].T
        ident = max(ident, float(np.abs(two - want2).max()) / max(float(np.abs(want2).max()),
                                                                  1e-300))
    if inst["evaluate"]:  # Evaluation.missing_nmse_nodes: all neighbours' estimates averaged
        ident = max(ident, _evaluate_nmse_error(model, inst))
    # both sides in units of ||h_j||_RMS, so that rounding is judged at the data's scale
    unit = max(_rms(hj), 1e-300)
    observed = _rms(np.mean([ours[t] for t in avail], axis=0) - hj) / unit
    bound = float(np.mean([
        np.linalg.norm(Q[t], 2) * _rms(H[t] @ P[t].T - hj @ Pj[t].T)
        + _rms(hj @ Pj[t].T @ Q[t].T - hj) for t in avail])) / unit
    if ident > 1e-10:
        return math.inf, 1.0
    return observed, bound


def _evaluate_nmse_error(model: Any, inst: dict) -> float:
    """Relative error of ``evaluate(...).missing_nmse_nodes["model"][0]`` (node j's NMSE of
    the mean of every neighbour's estimate) against sum ||mean_i Q P h_i - h_j||^2 /
    sum ||h_j - mean h_j||^2 computed here."""
    from sheaftopo.torch.sheafalign import evaluate

    H, P, Q, hj = inst["H"], inst["P"], inst["Q"], inst["hj"]
    views = [hj, *H]
    labels = np.arange(len(hj)) % 2
    ev = evaluate(model, views, labels, train_views=views, train_labels=labels, ks=(1,),
                  shots=(1,), drop_rates=(0.5,), n_repeats=1)
    mean = np.mean([H[t] @ P[t].T @ Q[t].T for t in range(len(H))], axis=0)
    c = max(float(np.abs(hj).max()), 1e-300)
    want = float(np.sum(((mean - hj) / c) ** 2) / max(np.sum(((hj - hj.mean(0)) / c) ** 2),
                                                        1e-300))
    return abs(ev.missing_nmse_nodes["model"][0] - want) / max(want, 1e-300)


def _missing_family(name: str, kind: str, *, one_source: bool = False,
                    tight: bool = False, through_evaluate: bool = False) -> Any:
    """Star instances: ``kind`` is "arbitrary", "consistent-ls" (least-squares Q*) or
    "consistent-random" (random Q); sources 1..4, d_e <= min(d_i, d_j)."""
    from sheaftopo.verify import Family

    def sample(rng: np.random.Generator) -> dict:
        k = int(rng.integers(1, 5))
        N = int(rng.integers(4 if through_evaluate else 2, 120))
        dj, di = int(rng.integers(1, 7)), int(rng.integers(1, 7))
        de = int(rng.integers(1, min(dj, di) + 1))
        s = float(10.0 ** rng.uniform(-3, 3))
        hj = rng.standard_normal((N, dj)) * s
        Pj = rng.standard_normal((k, de, dj))
        P = rng.standard_normal((k, de, di))
        Q = rng.standard_normal((k, dj, de))
        if kind == "arbitrary":
            H = rng.standard_normal((k, N, di)) * s * rng.uniform(0.1, 10)
        else:  # consistent: P_i h_i = P_j h_j on every item (P_i has full row rank)
            H = np.stack([(np.linalg.pinv(P[t]) @ (Pj[t] @ hj.T)).T for t in range(k)])
            if kind == "consistent-ls":  # Q* = S P_j^T (P_j S P_j^T)^+, S = h_j^T h_j / N
                S = hj.T @ hj / N
                Q = np.stack([S @ Pj[t].T @ np.linalg.pinv(Pj[t] @ S @ Pj[t].T)
                              for t in range(k)])
        avail = np.zeros(k, dtype=np.int64)
        if one_source:
            avail[int(rng.integers(k))] = 1
        else:
            avail[rng.random(k) < 0.6] = 1
            avail[int(rng.integers(k))] = 1
        return {"hj": hj, "H": H, "P": P, "Pj": Pj, "Q": Q,
                "Qi": rng.standard_normal((k, di, de)), "avail": avail,
                "tail": rng.integers(0, 2, k), "evaluate": int(through_evaluate)}

    def describe(inst: dict) -> str:
        k, N, di = inst["H"].shape
        return (f"sources={k} available={int(inst['avail'].sum())} N={N} d_j="
                f"{inst['hj'].shape[1]} d_i={di} d_e={inst['P'].shape[1]} "
                f"scale={float(np.abs(inst['hj']).max()):.2g}")

    return Family(name, sample, describe=describe, tight=tight)


@register("sheafalign-missing-modality", theory=MISSING_PAGE, kind="bound", quick=3,
          full=60, tight_delta=1e-6)
def _missing_modality() -> tuple[Any, list[Any]]:
    from sheaftopo.verify import Statement

    families = [
        _missing_family("arbitrary data and maps", "arbitrary"),
        _missing_family("arbitrary, also through evaluate()", "arbitrary",
                        through_evaluate=True),
        _missing_family("consistent edges, random dual maps", "consistent-random"),
        _missing_family("consistent edges, least-squares dual maps", "consistent-ls"),
        _missing_family("consistent edges, one available source", "consistent-random",
                        one_source=True, tight=True),
    ]
    statement = Statement(
        "sheafalign-missing-modality",
        _missing_evaluate,
        rtol=1e-9,
        atol=1e-12,
        description="RMS error of the mean of SheafAlign.neighbour_estimates over the "
        "available sources <= mean (||Q_j||_2 C^(1/2) + R^(1/2)); the estimates and "
        "transport equal Q P h computed independently (1e-10)",
    )
    return statement, families


# --------------------------------------------------------------------------
# sheafalign-single-space
# --------------------------------------------------------------------------


def _basis(X: np.ndarray) -> np.ndarray:
    """Orthonormal basis of the column space of X (rank by a relative 1e-9 cut)."""
    U, s, _ = np.linalg.svd(X, full_matrices=False)
    return U[:, s > 1e-9 * s[0]] if len(s) and s[0] > 0 else U[:, :0]


def _intersection(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Orthonormal basis of span(A) ∩ span(B), A and B orthonormal: principal cosines = 1."""
    if not A.shape[1] or not B.shape[1]:
        return A[:, :0]
    Y, c, _ = np.linalg.svd(A.T @ B)
    return A @ Y[:, : int((c > 1 - 1e-8).sum())]


def _pid_views(inst: dict) -> list[np.ndarray]:
    from sheaftopo.torch.sheafalign import make_pid_views

    data = make_pid_views(int(inst["N"]), int(inst["v"]), shared_dim=int(inst["ds"]),
                          pairwise_dim=int(inst["dp"]), unique_dim=int(inst["du"]),
                          extra_dim=int(inst["dx"]), noise=0.0,
                          class_sep=float(inst["sep"]), seed=int(inst["seed"]))
    return [np.asarray(data[f"v{a}"], dtype=np.float64) for a in range(int(inst["v"]))]


def _single_space_evaluate(inst: dict) -> tuple[float, float]:
    """Dimension mismatches (exact) and the consistency of a perfectly aligned sheaf edge.

    On ``make_pid_views`` data (noise 0), by SVD: every view spans
    dim s + (v - 1) dim r + dim u; two views' spans meet in dim s + dim r
    (statement 3); the anchor-aligned spans of two non-anchor views meet in
    dim s (statements 2 and 4: nothing without s). Then a SheafAlign with
    identity encoders and, on edge {a, b}, the restriction maps of the
    common span: its ``loss_terms`` consistency and ``compare`` must vanish.
    """
    X = _pid_views(inst)
    v, ds, dp, du = (int(inst[k]) for k in ("v", "ds", "dp", "du"))
    alpha = int(inst["anchor"]) % v
    bases = [_basis(x) for x in X]
    errors = [abs(B.shape[1] - (ds + (v - 1) * dp + du)) for B in bases]
    common = {}
    for a, b in itertools.combinations(range(v), 2):
        common[(a, b)] = _intersection(bases[a], bases[b])
        errors.append(abs(common[(a, b)].shape[1] - (ds + dp)))
    others = [a for a in range(v) if a != alpha]
    for i, j in itertools.combinations(others, 2):
        ai = common[tuple(sorted((i, alpha)))]
        aj = common[tuple(sorted((j, alpha)))]
        errors.append(abs(_intersection(ai, aj).shape[1] - ds))
    if max(errors) > 0 or ds + dp == 0:
        return float(max(errors)), 0.5  # a dimension off by one or more
    # the sheaf edge (a, b) with the restriction maps of the common span
    a, b = (int(x) for x in np.sort(np.random.default_rng(int(inst["seed"])).choice(
        v, 2, replace=False)))
    C = common[(a, b)]
    maps = [np.linalg.lstsq(X[t], C, rcond=None)[0].T for t in (a, b)]  # X_t F_t^T = C
    dims = [x.shape[1] for x in X]
    edges = [[a, b]] + [[a, c] for c in range(v) if c not in (a, b)]
    model = _identity_model(dims, edges, [ds + dp] + [1] * (len(edges) - 1), beta=0.0,
                            gamma=0.0)
    with torch.no_grad():
        model.node(a).P["0"].copy_(torch.from_numpy(maps[0]))
        model.node(b).P["0"].copy_(torch.from_numpy(maps[1]))
        views = [torch.from_numpy(x) for x in X]
        hs = model.embed(views)
        za, zb = model.compare(a, b, hs[a], hs[b])
        consistency = float(model.loss_terms(views).edges[0, 0])
    # C has orthonormal columns: each side's projections have mean squared norm (ds + dp) / N
    level = (ds + dp) / X[0].shape[0]
    gap = float(((za - zb) ** 2).sum(1).mean()) / level
    return math.sqrt(max(gap, consistency, 0.0) / level), 1e-10


def _pid_family(name: str, *, shared: bool, views: tuple[int, int] = (3, 5)) -> Any:
    from sheaftopo.verify import Family

    def sample(rng: np.random.Generator) -> dict:
        v = int(rng.integers(views[0], views[1] + 1))
        return {"seed": int(rng.integers(2**31)), "v": v,
                "ds": int(rng.integers(1, 3)) if shared else 0,
                "dp": int(rng.integers(1, 4)), "du": int(rng.integers(0, 3)),
                "dx": int(rng.integers(0, 4)), "N": int(rng.integers(60, 120)),
                "sep": float(rng.choice([0.0, 1.0, 3.0])), "anchor": int(rng.integers(v))}

    def describe(inst: dict) -> str:
        return (f"views={inst['v']} shared={inst['ds']} pairwise={inst['dp']} "
                f"unique={inst['du']} extra={inst['dx']} N={inst['N']} anchor={inst['anchor']}")

    return Family(name, sample, describe=describe, shrink=lambda inst: iter(()))


@register("sheafalign-single-space", theory=SINGLE_PAGE, kind="identity", quick=4, full=60)
def _single_space() -> tuple[Any, list[Any]]:
    from sheaftopo.verify import Statement

    families = [
        _pid_family("no shared component (statement 2)", shared=False),
        _pid_family("with a shared component (statement 4)", shared=True),
        _pid_family("two views only (no anchor pair)", shared=True, views=(2, 2)),
    ]
    statement = Statement(
        "sheafalign-single-space",
        _single_space_evaluate,
        rtol=0.0,
        description="make_pid_views (noise 0): pair spans meet in dim s + dim r, "
        "anchor-aligned spans of two other views in dim s; a SheafAlign edge with the "
        "common span's maps has zero consistency and compare() gap (1e-10 relative RMS)",
    )
    return statement, families


# --------------------------------------------------------------------------
# mutants
# --------------------------------------------------------------------------


@mutant("exchange_bytes counts tail edges only", page=GRADIENT_PAGE,
        target=f"{SHEAFALIGN}:SheafAlign.exchange_bytes", quick=True)
def _bytes_tails(original: Any) -> Any:
    def exchange_bytes(self: Any, batch_size: int, itemsize: int) -> np.ndarray:
        out = np.zeros(self.n_nodes, dtype=np.int64)
        for (u, _), de in zip(self.edges.tolist(), self.edge_dims, strict=True):
            out[u] += batch_size * de * itemsize
        return out

    return exchange_bytes


@mutant("local loss drops the reconstruction term", page=GRADIENT_PAGE,
        target=f"{SHEAFALIGN}:SheafNode.local_loss")
def _local_no_reconstruction(original: Any) -> Any:
    def local_loss(self: Any, h: Any, projections: Any, received: Any) -> Any:
        gamma = self.gamma
        self.gamma = 0.0
        try:
            return original(self, h, projections, received)
        finally:
            self.gamma = gamma

    return local_loss


@mutant("local loss compares a node's projection with itself", page=GRADIENT_PAGE,
        target=f"{SHEAFALIGN}:SheafNode.local_loss")
def _local_self(original: Any) -> Any:
    return lambda self, h, projections, received: original(self, h, projections, projections)


@mutant("consistency averaged over the edge dimensions, not summed", page=GRADIENT_PAGE,
        target=f"{SHEAFALIGN}:SheafNode.coupling")
def _coupling_mean(original: Any) -> Any:
    def coupling(self: Any, z_tail: Any, z_head: Any) -> Any:
        cons, contr = original(self, z_tail, z_head)
        return cons / z_tail.shape[1], contr

    return coupling


@mutant("dual map replaced by the restriction map transposed", page=MISSING_PAGE,
        target=f"{SHEAFALIGN}:SheafNode.lift")
def _lift_transposed(original: Any) -> Any:
    return lambda self, edge, z: z @ self.P[str(edge)]


@mutant("neighbour estimates skip the last neighbour", page=MISSING_PAGE,
        target=f"{SHEAFALIGN}:SheafAlign.neighbour_estimates", quick=True)
def _estimates_off_by_one(original: Any) -> Any:
    def neighbour_estimates(self: Any, j: int, hs: Any) -> dict:
        out = original(self, j, hs)
        return {i: out[i] for i in sorted(out)[:-1]}

    return neighbour_estimates


@mutant("neighbour estimate projects with the receiver's restriction map", page=MISSING_PAGE,
        target=f"{SHEAFALIGN}:SheafAlign.neighbour_estimates")
def _estimates_wrong_map(original: Any) -> Any:
    def neighbour_estimates(self: Any, j: int, hs: Any) -> dict:
        out = {}
        for info in self.node(j).incident:
            h = hs[info.other]
            P = self.node(j).P[str(info.edge)]
            z = h @ P.T if h.shape[1] == P.shape[1] else h[:, : P.shape[0]]
            out[info.other] = self.node(j).lift(info.edge, z)
        return out

    return neighbour_estimates


@mutant("evaluate reports the per-neighbour NMSE as the averaged estimate's",
        page=MISSING_PAGE, target=f"{SHEAFALIGN}:evaluate")
def _evaluate_swapped(original: Any) -> Any:
    def evaluate(*args: Any, **kw: Any) -> Any:
        ev = original(*args, **kw)
        nodes = ev.missing_nmse_nodes
        nodes["model"], nodes["model_single"] = nodes["model_single"], nodes["model"]
        return ev

    return evaluate


@mutant("transport stops one hop early", page=MISSING_PAGE,
        target=f"{SHEAFALIGN}:SheafAlign.transport")
def _transport_short(original: Any) -> Any:
    def transport(self: Any, i: int, j: int, h_i: Any) -> Any:
        from sheaftopo.torch.sheafalign import shortest_path

        path = shortest_path(self.edges, self.n_nodes, i, j)
        return original(self, i, path[-2], h_i) if len(path) > 2 else h_i

    return transport


@mutant("make_pid_views ignores noise=0 (adds its default 0.1)", page=SINGLE_PAGE,
        target=f"{SHEAFALIGN}:make_pid_views", quick=True)
def _pid_noise(original: Any) -> Any:
    return lambda *args, **kw: original(*args, **{**kw, "noise": 0.1})


@mutant("make_pid_views drops shared_dim", page=SINGLE_PAGE,
        target=f"{SHEAFALIGN}:make_pid_views")
def _pid_no_shared(original: Any) -> Any:
    def make(*args: Any, **kw: Any) -> Any:
        kw["unique_dim"] = kw.get("unique_dim", 4) + kw.get("shared_dim", 0)
        return original(*args, **{**kw, "shared_dim": 0})

    return make


@mutant("make_pid_views swaps pairwise_dim and unique_dim", page=SINGLE_PAGE,
        target=f"{SHEAFALIGN}:make_pid_views")
def _pid_swapped(original: Any) -> Any:
    def make(*args: Any, **kw: Any) -> Any:
        kw["pairwise_dim"], kw["unique_dim"] = kw.get("unique_dim", 4), kw.get("pairwise_dim", 4)
        return original(*args, **kw)

    return make


@mutant("make_pid_views shuffles the rows of the last view (pairing lost)", page=SINGLE_PAGE,
        target=f"{SHEAFALIGN}:make_pid_views")
def _pid_shuffled(original: Any) -> Any:
    def make(*args: Any, **kw: Any) -> Any:
        data = original(*args, **kw)
        last = sorted(data.views)[-1]
        rows = np.random.default_rng(0).permutation(len(data.views[last]))
        data.views[last] = data.views[last][rows]
        return data

    return make


@mutant("compare uses the tail's restriction map for both ends", page=SINGLE_PAGE,
        target=f"{SHEAFALIGN}:SheafAlign.compare")
def _compare_same_map(original: Any) -> Any:
    def compare(self: Any, i: int, j: int, h_i: Any, h_j: Any) -> Any:
        a, _ = original(self, i, j, h_i, h_j)
        e = self.edge_between(i, j)
        P = self.node(i).P[str(e)]
        b = h_j @ P.T if h_j.shape[1] == P.shape[1] else h_j[:, : P.shape[0]]
        return a, b

    return compare
