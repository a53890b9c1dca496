"""Checks of the cellular-sheaf theorems (theory/sheaf-*.md)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ._registry import register_legacy as register


def _graph(rng: np.random.Generator, i: int) -> tuple[str, np.ndarray, int]:
    """A random simple graph (edge list, n), sometimes disconnected or a tree or a cycle."""
    family = i % 5
    n = int(rng.integers(2, 30))
    if family == 0:
        k = int(rng.integers(n - 1, n * (n - 1) // 2 + 1))
        pairs = np.array([(a, b) for a in range(n) for b in range(a + 1, n)])
        E = pairs[rng.choice(len(pairs), size=k, replace=False)]
        label = f"G(n={n}, m={k})"
    elif family == 1:  # a tree
        parents = [int(rng.integers(0, v)) for v in range(1, n)]
        E = np.array([[p, v] for v, p in zip(range(1, n), parents, strict=True)])
        label = f"random tree n={n}"
    elif family == 2:
        E = np.array([[v, (v + 1) % n] for v in range(n)]) if n >= 3 else np.array([[0, 1]])
        label = f"cycle n={n}"
    elif family == 3:  # several components and isolated vertices
        half = max(2, n // 2)
        pairs = [[v, v + 1] for v in range(half - 1)]
        if n - half >= 2:
            pairs.append([half, n - 1])
        E = np.array(pairs)
        label = f"forest + isolated vertices n={n}"
    else:
        E = np.array([[a, b] for a in range(n) for b in range(a + 1, n)])
        label = f"complete K{n}"
    E = np.asarray(E, dtype=np.int64).reshape(-1, 2)
    flip = rng.random(len(E)) < 0.5
    E[flip] = E[flip][:, ::-1]  # orientations are arbitrary
    return label, E, n


def _nx_graph(E: np.ndarray, n: int):
    import networkx as nx

    G = nx.Graph()
    G.add_nodes_from(range(n))
    G.add_edges_from(E.tolist())
    return G


def _sheaf(rng: np.random.Generator, i: int):
    from sheaftopo.sheaf import CellularSheaf

    glabel, E, n = _graph(rng, i)
    kind = (i // 5) % 4
    seed = int(rng.integers(0, 2**31))
    if kind == 0:
        d = int(rng.integers(1, 4))
        return f"constant d={d} on {glabel}", CellularSheaf.constant(E, d, n_vertices=n)
    if kind == 1:
        dv, de = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        return f"random {dv}->{de} on {glabel}", CellularSheaf.random(E, dv, de, seed=seed,
                                                                       n_vertices=n)
    if kind == 2:
        vd = rng.integers(1, 4, n)
        ed = rng.integers(1, 4, len(E))
        return f"ragged random on {glabel}", CellularSheaf.random(E, vd, ed, seed=seed,
                                                                  n_vertices=n)
    d = int(rng.integers(1, 4))
    return f"orthogonal d={d} on {glabel}", CellularSheaf.random(
        E, d, d, seed=seed, orthogonal=True, n_vertices=n
    )


def _dense(sheaf):
    from sheaftopo.sheaf import coboundary, laplacian

    return coboundary(sheaf).toarray(), laplacian(sheaf).toarray()


def _null_dim(A: np.ndarray, rtol: float = 1e-9) -> int:
    if A.size == 0:
        return A.shape[1] if A.ndim == 2 else 0
    s = np.linalg.svd(A, compute_uv=False)
    top = s.max() if s.size else 0.0
    return A.shape[1] - int((s > rtol * max(top, 1e-300)).sum())


@register(
    "sheaf-laplacian-graph",
    theory="sheaf-laplacian.md",
    statement="identity maps: L = networkx Laplacian (d = 1) and L_G (x) I_d; L = delta^T W delta",
    kind="error",
    tolerance=1e-12,
    quick=30,
    full=1500,
)
def _laplacian_graph(rng: np.random.Generator, n: int) -> Iterator[tuple[str, float]]:
    import networkx as nx

    from sheaftopo.sheaf import CellularSheaf, coboundary, laplacian

    for i in range(n):
        glabel, E, nv = _graph(rng, i)
        G = _nx_graph(E, nv)
        d = int(rng.integers(1, 4))
        F = CellularSheaf.constant(E, d, n_vertices=nv)
        ref = np.kron(nx.laplacian_matrix(G, nodelist=range(nv)).toarray(), np.eye(d))
        err = float(np.abs(laplacian(F).toarray() - ref).max())
        yield f"constant d={d} on {glabel}", err
        label, S = _sheaf(rng, i)
        w = rng.uniform(0, 3, S.n_edges)
        D = coboundary(S).toarray()
        ref = D.T @ np.diag(np.repeat(w, S.edge_dims)) @ D
        got = laplacian(S, weights=w).toarray()
        yield f"weighted {label}", float(np.abs(got - ref).max()) / max(1.0, np.abs(ref).max())


@register(
    "sheaf-hodge",
    theory="sheaf-hodge.md",
    statement="L is symmetric PSD and ker L = ker delta = H^0 (dimensions and subspaces)",
    kind="error",
    tolerance=1e-9,
    quick=30,
    full=1500,
)
def _hodge(rng: np.random.Generator, n: int) -> Iterator[tuple[str, float]]:
    from sheaftopo.sheaf import global_sections

    for i in range(n):
        label, S = _sheaf(rng, i)
        D, L = _dense(S)
        scale = max(1.0, float(np.abs(L).max()))
        asym = float(np.abs(L - L.T).max()) / scale
        lam = np.linalg.eigvalsh(L)
        neg = max(0.0, -float(lam[0])) / scale if len(lam) else 0.0
        Q = global_sections(S)
        dim_gap = abs(Q.shape[1] - _null_dim(D)) if D.size else 0
        in_kernel = float(np.abs(D @ Q).max()) / scale if Q.size and D.size else 0.0
        yield label, max(asym, neg, float(dim_gap), in_kernel)


@register(
    "constant-sheaf-h0",
    theory="sheaf-constant-cohomology.md",
    statement="constant sheaf R^d: dim H^0 = d * components, dim H^1 = d * (m - n + components)",
    kind="error",
    tolerance=0.0,
    quick=30,
    full=1500,
)
def _constant_h0(rng: np.random.Generator, n: int) -> Iterator[tuple[str, float]]:
    import networkx as nx

    from sheaftopo.sheaf import CellularSheaf, cohomology_dimensions

    for i in range(n):
        glabel, E, nv = _graph(rng, i)
        G = _nx_graph(E, nv)
        c = nx.number_connected_components(G)
        d = int(rng.integers(1, 4))
        h0, h1 = cohomology_dimensions(CellularSheaf.constant(E, d, n_vertices=nv))
        err = abs(h0 - d * c) + abs(h1 - d * (len(E) - nv + c))
        yield f"d={d} on {glabel} ({c} components)", float(err)


@register(
    "sheaf-harmonic-extension",
    theory="sheaf-harmonic-extension.md",
    statement="harmonic extension = dense least-squares minimiser of x^T L x with x_B fixed",
    kind="error",
    tolerance=1e-7,
    quick=30,
    full=1000,
)
def _harmonic(rng: np.random.Generator, n: int) -> Iterator[tuple[str, float]]:
    from sheaftopo.sheaf import coboundary, global_sections, harmonic_extension

    for i in range(n):
        label, S = _sheaf(rng, i)
        nb = int(rng.integers(1, S.n_vertices + 1))
        B = np.sort(rng.choice(S.n_vertices, size=nb, replace=False))
        off = S.vertex_offsets
        bc = np.concatenate([np.arange(off[v], off[v + 1]) for v in B])
        interior = np.setdiff1d(np.arange(S.dim_c0), bc)
        vals = rng.standard_normal(len(bc))
        Q = global_sections(S)
        unique = Q.shape[1] == 0 or np.linalg.matrix_rank(Q[bc], tol=1e-8) == Q.shape[1]
        D = coboundary(S).toarray()
        if not unique:
            try:
                harmonic_extension(S, B, vals)
            except ValueError:
                yield f"{label}, |B|={nb}: non-unique, refused", 0.0
            else:
                yield f"{label}, |B|={nb}: non-unique but accepted", np.inf
            continue
        # dense least squares: minimise |D_I x_I + D_B x_B|
        xi = np.linalg.lstsq(D[:, interior], -D[:, bc] @ vals, rcond=None)[0] if len(
            interior
        ) else np.zeros(0)
        ref = np.zeros(S.dim_c0)
        ref[bc] = vals
        ref[interior] = xi
        got = harmonic_extension(S, B, vals, rtol=1e-12)
        yield f"{label}, |B|={nb}", float(np.abs(got - ref).max()) / max(1.0, np.abs(ref).max())


@register(
    "sheaf-diffusion-limit",
    theory="sheaf-diffusion.md",
    statement="|e^{-tL}x0 - P_H0 x0| <= e^{-t gap} |x0 - P_H0 x0|; explicit steps alike",
    kind="ratio",
    tolerance=1e-6,
    quick=30,
    full=1000,
)
def _diffusion(rng: np.random.Generator, n: int) -> Iterator[tuple[str, float]]:
    from sheaftopo.sheaf import diffuse, diffusion_steps, project_to_sections

    for i in range(n):
        label, S = _sheaf(rng, i)
        _, L = _dense(S)
        lam = np.linalg.eigvalsh(L)
        top = lam[-1] if len(lam) else 0.0
        nz = lam[lam > 1e-9 * max(top, 1e-300)]
        x0 = rng.standard_normal(S.dim_c0)
        P = project_to_sections(S, x0, rtol=1e-13)
        dist0 = float(np.linalg.norm(x0 - P))
        if len(nz) == 0 or dist0 == 0:
            continue
        gap = float(nz[0])
        # t * gap spread over [0.1, 5]; t * lambda_max capped so that
        # expm_multiply (cost ~ t |L|) stays cheap when the gap is tiny
        t = min(float(rng.uniform(0.1, 5.0)) / gap, 200.0 / top)
        xt = diffuse(S, x0, t)
        bound = np.exp(-t * gap) * dist0 + 1e-9 * np.linalg.norm(x0)
        yield f"{label}, t*gap={t * gap:.2g}", float(np.linalg.norm(xt - P)) / bound
        alpha = float(rng.uniform(0.1, 1.9)) / top
        steps = int(rng.integers(1, 60))
        xs = diffusion_steps(S, x0, alpha=alpha, n_steps=steps)
        rate = max(abs(1 - alpha * nz[0]), abs(1 - alpha * nz[-1]))
        bound = rate**steps * dist0 + 1e-9 * np.linalg.norm(x0)
        yield f"{label}, {steps} explicit steps", float(np.linalg.norm(xs - P)) / bound


@register(
    "sheaf-normalized-spectrum",
    theory="sheaf-normalized-laplacian.md",
    statement="the normalised sheaf Laplacian D^{-1/2} L D^{-1/2} has spectrum in [0, 2]",
    kind="ratio",
    tolerance=1e-9,
    quick=30,
    full=1500,
)
def _normalized(rng: np.random.Generator, n: int) -> Iterator[tuple[str, float]]:
    from sheaftopo.sheaf import laplacian

    for i in range(n):
        label, S = _sheaf(rng, i)
        w = rng.uniform(0, 3, S.n_edges) if i % 2 else None
        lam = np.linalg.eigvalsh(laplacian(S, normalized=True, weights=w).toarray())
        if len(lam) == 0:
            continue
        if lam[0] < -1e-9:
            yield f"{label}: negative eigenvalue {lam[0]:.3g}", np.inf
            continue
        yield label + (", weighted" if w is not None else ""), float(lam[-1]) / 2.0
    # tight: a bipartite graph with identity maps reaches 2
    yield "constant sheaf on an even cycle (tight)", _even_cycle_ratio()


def _even_cycle_ratio() -> float:
    from sheaftopo.sheaf import CellularSheaf, laplacian

    E = np.array([[v, (v + 1) % 6] for v in range(6)])
    return float(np.linalg.eigvalsh(laplacian(CellularSheaf.constant(E, 2), normalized=True)
                                    .toarray())[-1]) / 2.0


@register(
    "sheaf-interlacing",
    theory="sheaf-interlacing.md",
    statement="deleting an edge of stalk dim t: lambda_k(L') <= lambda_k(L) <= lambda_{k+t}(L')",
    kind="error",
    tolerance=1e-9,
    quick=30,
    full=1500,
)
def _interlacing(rng: np.random.Generator, n: int) -> Iterator[tuple[str, float]]:
    from sheaftopo.sheaf import CellularSheaf, laplacian

    for i in range(n):
        label, S = _sheaf(rng, i)
        if S.n_edges < 2:
            continue
        e = int(rng.integers(0, S.n_edges))
        keep = np.delete(np.arange(S.n_edges), e)
        tails = [S.tail_map(k) for k in keep]
        heads = [S.head_map(k) for k in keep]
        S2 = CellularSheaf(S.n_vertices, S.edges[keep], S.vertex_dims, S.edge_dims[keep],
                           np.concatenate([t.ravel() for t in tails]),
                           np.concatenate([h.ravel() for h in heads]))
        a = np.linalg.eigvalsh(laplacian(S).toarray())
        b = np.linalg.eigvalsh(laplacian(S2).toarray())
        t = int(S.edge_dims[e])
        scale = max(1.0, float(a[-1]))
        lower = float(np.max(b - a)) / scale
        upper = float(np.max(a[: len(a) - t] - b[t:])) / scale if len(a) > t else 0.0
        yield f"{label}, delete edge {e} (t={t})", max(lower, upper, 0.0)


@register(
    "connection-holonomy",
    theory="sheaf-connection-holonomy.md",
    statement="O(d) connection: tree -> dim H^0 = d; cycle -> dim H^0 = dim ker(Hol - I)",
    kind="error",
    tolerance=0.0,
    quick=30,
    full=1500,
)
def _holonomy(rng: np.random.Generator, n: int) -> Iterator[tuple[str, float]]:
    from scipy.stats import special_ortho_group

    from sheaftopo.sheaf import CellularSheaf, cohomology_dimensions

    for i in range(n):
        d = int(rng.integers(1, 5))
        nv = int(rng.integers(3, 12))
        seed = int(rng.integers(0, 2**31))
        if i % 2 == 0:
            parents = [int(rng.integers(0, v)) for v in range(1, nv)]
            E = np.array([[p, v] for v, p in zip(range(1, nv), parents, strict=True)])
            R = _rotations(d, len(E), seed)
            h0, _ = cohomology_dimensions(CellularSheaf.connection(E, R))
            yield f"tree n={nv}, d={d}", float(abs(h0 - d))
            continue
        E = np.array([[v, (v + 1) % nv] for v in range(nv)])
        R = _rotations(d, nv, seed)
        mode = i % 3
        if mode == 0 and d > 1:  # plant the identity holonomy
            hol = np.eye(d)
            for k in range(nv - 1):
                hol = R[k] @ hol
            R[-1] = np.linalg.inv(hol)
        elif mode == 1 and d >= 3:  # holonomy fixing exactly one axis
            hol = np.eye(d)
            for k in range(nv - 1):
                hol = R[k] @ hol
            rot = np.eye(d)
            rot[1:, 1:] = special_ortho_group.rvs(d - 1, random_state=seed)
            R[-1] = rot @ np.linalg.inv(hol)
        hol = np.eye(d)
        for k in range(nv):
            hol = R[k] @ hol
        expected = d - np.linalg.matrix_rank(hol - np.eye(d), tol=1e-8)
        h0, _ = cohomology_dimensions(CellularSheaf.connection(E, R))
        yield f"cycle n={nv}, d={d}, dim ker(Hol - I) = {expected}", float(abs(h0 - expected))


def _rotations(d: int, m: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    Q, R = np.linalg.qr(rng.standard_normal((m, d, d)))
    return Q * np.sign(np.diagonal(R, axis1=1, axis2=2))[:, None, :]
