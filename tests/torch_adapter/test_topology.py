"""sheaftopo.torch topology: values equal the numpy kernels, gradients pass gradcheck."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from scipy.spatial.distance import cdist  # noqa: E402

from sheaftopo import persistence as P  # noqa: E402
from sheaftopo.torch import (  # noqa: E402
    ToMCLIPLoss,
    TopologicalAlignmentLoss,
    distance_matrix_loss,
    finite_h0_diagram,
    pairwise_distances,
    sliced_wasserstein,
    sparsified_h1_births,
    tomclip_loss,
    tomclip_loss_terms,
    topological_alignment_loss,
)

F64 = torch.float64


def cloud(seed, n=40, d=6, dtype=F64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=dtype)


def numpy_distances(z, metric):
    x = z.detach().numpy()
    if metric == "cosine":
        return cdist(x, x, "cosine")
    return cdist(x, x)


# ---------------------------------------------------------------------------
# forward values against sheaftopo.persistence
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_pairwise_distances_match_scipy(metric):
    z = cloud(0)
    D = pairwise_distances(z, metric=metric)
    assert torch.equal(torch.diagonal(D), torch.zeros(40, dtype=F64))
    np.testing.assert_allclose(D.numpy(), numpy_distances(z, metric), atol=1e-12)


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
@pytest.mark.parametrize("seed", range(4))
def test_exact_h0_equals_numpy_h0_diagram(metric, seed):
    z = cloud(seed, n=30 + seed)
    ours = finite_h0_diagram(z, metric=metric)
    ref = P.h0_diagram(z.numpy(), metric=metric)
    finite = ref[np.isfinite(ref[:, 1])]
    assert ours.shape == finite.shape
    np.testing.assert_allclose(ours.numpy(), finite, rtol=1e-12, atol=1e-14)


def sparsified_reference(z, lam, convention):
    """The numpy H0 diagram of the ε-graph, completed at T = max D for "exact".

    ``P.spanning_forest(graph).diagram`` of the ε-graph leaves its ``c``
    components at +inf; the "exact" convention merges ``c - 1`` of them at T (the filtration of
    theory/sparsification-bound.md), "tomclip" drops them.
    """
    D = numpy_distances(z, "euclidean")
    g = P.sparsify(D, lam=lam, convention=convention)
    ref = P.spanning_forest(g.graph).diagram
    finite = ref[np.isfinite(ref[:, 1])]
    if convention == "exact":
        merged = np.zeros((g.n_components - 1, 2))
        merged[:, 1] = D.max()
        finite = np.concatenate([finite, merged])
    return finite


@pytest.mark.parametrize("convention", ["exact", "tomclip"])
@pytest.mark.parametrize("lam", [0.0, 0.5, 1.0])
def test_sparsified_h0_and_h1_equal_numpy_sparsify(convention, lam):
    for seed in range(3):
        z = cloud(seed, n=35)
        g = P.sparsify(numpy_distances(z, "euclidean"), lam=lam, convention=convention)
        ref0 = sparsified_reference(z, lam, convention)
        ours0 = finite_h0_diagram(z, lam=lam, convention=convention)
        assert ours0.shape == ((34, 2) if convention == "exact" else ref0.shape)
        np.testing.assert_allclose(ours0.numpy(), ref0, rtol=1e-12, atol=1e-14)
        ref1 = P.h1_births(g.graph)
        ours1 = sparsified_h1_births(z, lam=lam, convention=convention)
        np.testing.assert_allclose(ours1.numpy(), ref1, rtol=1e-12, atol=1e-14)


def test_regression_sparsified_training_diagram_obeys_the_sparsification_bound():
    # issue 15: finite_h0_diagram(z, lam=...) used to drop the pairs the eps-graph leaves
    # unmerged; on three clusters with lam = 0 that diagram breaks
    # W_p(Dgm0(D), Dgm0(D^eps)) <= m (T - eps) (theory/sparsification-bound.md).
    # The training diagram is now the theorem's: those pairs die at T = max D.
    from verification.torch_losses import completed_deaths, wasserstein_deaths

    X = np.array([0.0, 0.1, 0.2, 3.0, 3.1, 10.0, 10.1, 10.2, 10.3])[:, None]
    z = torch.tensor(X, requires_grad=True)
    deaths = finite_h0_diagram(z, lam=0.0)[:, 1]
    exact = completed_deaths(X, None)[0]
    _, info = completed_deaths(X, 0.0)
    assert info["m"] == 1 and abs(info["eps"] - 5.461111111111111) < 1e-12
    np.testing.assert_allclose(deaths.detach().numpy(), [0.1] * 6 + [2.8, 10.3], atol=1e-12)
    bound = info["m"] * (info["T"] - info["eps"])  # 4.839
    assert wasserstein_deaths(exact, deaths.detach().numpy(), 1.0) <= bound  # 3.4
    dropped = deaths.detach().numpy()[:-1]
    assert wasserstein_deaths(exact, dropped, 1.0) > bound  # 6.9 in L1, 4.88 in L2
    # the death at T is differentiable through the pair realising T
    deaths[-1].backward()
    want = np.zeros_like(X)
    want[0, 0], want[-1, 0] = -1.0, 1.0
    np.testing.assert_allclose(z.grad.numpy(), want, atol=1e-15)


def test_h1_births_of_complete_graph_count():
    z = cloud(3, n=12)
    b = sparsified_h1_births(z, lam=None)
    assert b.shape == (12 * 11 // 2 - 11,)
    full = np.sort(numpy_distances(z, "euclidean")[np.triu_indices(12, 1)])
    # the births are the non-tree pairs: every pair but the n - 1 MST edges
    tree = np.sort(P.h0_diagram(z.numpy())[:-1, 1])
    np.testing.assert_allclose(np.sort(np.concatenate([b.numpy(), tree])), full, rtol=1e-12)


@pytest.mark.parametrize("kind", ["diagram", "point_cloud"])
@pytest.mark.parametrize("p", [None, 1.0, 2.0, 3.5])
def test_sliced_wasserstein_equals_numpy(kind, p):
    rng = np.random.default_rng(0)
    for n1, n2 in [(5, 5), (7, 3), (1, 9), (0, 4)]:
        if kind == "point_cloud" and min(n1, n2) == 0:
            continue
        b1, b2 = rng.random(n1), rng.random(n2)
        d1 = np.stack([b1, b1 + rng.random(n1)], 1)
        d2 = np.stack([b2, b2 + rng.random(n2)], 1)
        for kw in ({"n_directions": 7}, {"seed": 3, "n_directions": 11},
                   {"directions": [0.1, 1.0, -0.4]}):
            ref = P.sliced_wasserstein(d1, d2, kind=kind, p=p, **kw)
            ours = sliced_wasserstein(torch.tensor(d1), torch.tensor(d2), kind=kind, p=p, **kw)
            assert ours.dtype == F64
            assert abs(float(ours) - ref) <= 1e-12 * max(1.0, ref)


def test_point_cloud_kind_on_birth_points_is_scaled_1d_wasserstein():
    # (b, 0) points projected on theta are cos(theta) * b: with evenly spaced
    # directions (M >= 2) the mean of cos^2 is 1/2, so SW_2 = W_2(births) / sqrt(2).
    rng = np.random.default_rng(1)
    b1, b2 = np.sort(rng.random(8)), np.sort(rng.random(8))
    w2 = np.sqrt(np.mean((b1 - b2) ** 2))
    pts = [torch.tensor(np.stack([b, np.zeros_like(b)], 1)) for b in (b1, b2)]
    sw = sliced_wasserstein(*pts, kind="point_cloud", n_directions=50)
    assert abs(float(sw) - w2 / np.sqrt(2)) < 1e-12


def test_distance_matrix_loss_equals_sparsified_graph_difference():
    zs, zt = cloud(0, n=25), cloud(1, n=25, d=9)
    for convention in ("exact", "tomclip"):
        Gs = P.sparsify(numpy_distances(zs, "euclidean"), lam=0.5, convention=convention)
        Gt = P.sparsify(numpy_distances(zt, "euclidean"), lam=0.5, convention=convention)
        ref = np.mean((Gs.graph.toarray() - Gt.graph.toarray()) ** 2)
        ours = distance_matrix_loss(zs, zt, lam=0.5, convention=convention)
        assert abs(float(ours) - ref) < 1e-13
    raw = np.mean((numpy_distances(zs, "euclidean") - numpy_distances(zt, "euclidean")) ** 2)
    assert abs(float(distance_matrix_loss(zs, zt, lam=None)) - raw) < 1e-11


def test_topological_alignment_loss_equals_numpy_pipeline():
    zs, zt = cloud(4, n=30), cloud(5, n=30, d=3)
    for lam in (None, 0.5):
        for convention in ("exact", "tomclip"):
            def ref_diagram(z, lam=lam, convention=convention):
                if lam is not None:
                    return sparsified_reference(z, lam, convention)
                d = P.h0_diagram(z.numpy())
                return d[np.isfinite(d[:, 1])]

            ref = P.sliced_wasserstein(ref_diagram(zs), ref_diagram(zt), n_directions=50)
            ours = topological_alignment_loss(zs, zt, lam=lam, convention=convention)
            assert abs(float(ours) - ref) < 1e-12
    # dim=1: births as (b, 0) points
    gs = P.sparsify(numpy_distances(zs, "euclidean"), lam=0.5)
    gt = P.sparsify(numpy_distances(zt, "euclidean"), lam=0.5)
    bs, bt = P.h1_births(gs.graph), P.h1_births(gt.graph)
    pts = [np.stack([b, np.zeros_like(b)], 1) for b in (bs, bt)]
    import ot

    theta = -np.pi / 2 + np.pi * np.arange(50) / 50
    proj = np.stack([np.cos(theta), np.sin(theta)], 0)
    ref = ot.sliced_wasserstein_distance(pts[0], pts[1], projections=proj)
    ours = topological_alignment_loss(zs, zt, dim=1, kind="point_cloud")
    assert abs(float(ours) - float(ref)) < 1e-12


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
def test_point_cloud_losses_equal_general_sliced_wasserstein_on_points(p):
    # the one-sort shortcut for points on an axis equals the per-direction formula
    zs, zt = cloud(22, n=26), cloud(23, n=26, d=4)
    for lam in (None, 0.5):
        ds, dt = finite_h0_diagram(zs, lam=lam), finite_h0_diagram(zt, lam=lam)
        for kw in ({"n_directions": 50}, {"seed": 4}, {"directions": [0.3, -1.2]}):
            ref = P.sliced_wasserstein(ds.numpy(), dt.numpy(), kind="point_cloud", p=p, **kw)
            ours = topological_alignment_loss(zs, zt, lam=lam, kind="point_cloud", p=p, **kw)
            assert abs(float(ours) - ref) < 1e-12 * max(ref, 1.0)
            births = (sparsified_h1_births(zs, lam=0.5), sparsified_h1_births(zt, lam=0.5))
            bs, bt = (np.stack([b.numpy(), np.zeros(len(b))], 1) for b in births)
            ref1 = float(sliced_wasserstein(torch.tensor(bs), torch.tensor(bt),
                                            kind="point_cloud", p=p, **kw))
            ours1 = topological_alignment_loss(zs, zt, dim=1, kind="point_cloud", p=p, **kw)
            assert abs(float(ours1) - ref1) < 1e-12 * max(ref1, 1.0)


def test_tomclip_terms_match_their_parts_and_weights():
    zs, zt = cloud(6, n=32, d=5), cloud(7, n=32, d=5)
    t = tomclip_loss_terms(zs, zt)
    assert abs(float(t.mse) - float(((zs - zt) ** 2).mean())) < 1e-14
    assert abs(float(t.distance) - float(distance_matrix_loss(zs, zt))) < 1e-14
    h0 = topological_alignment_loss(zs, zt, convention="tomclip", kind="point_cloud")
    h1 = topological_alignment_loss(zs, zt, dim=1, convention="tomclip", kind="point_cloud")
    assert abs(float(t.h0) - float(h0)) < 1e-14
    assert abs(float(t.h1) - float(h1)) < 1e-14
    expected = float(t.mse) + 0.01 * (float(t.distance) + float(t.h0) + float(t.h1))
    assert abs(float(t.total) - expected) < 1e-14
    assert float(tomclip_loss(zs, zt)) == float(t.total)
    only = tomclip_loss_terms(zs, zt, distance_weight=0.0, h0_weight=0.0, h1_weight=0.0)
    assert float(only.total) == float(t.mse) and float(only.h0) == 0.0


# ---------------------------------------------------------------------------
# gradients
# ---------------------------------------------------------------------------


def _leaf(z):
    return z.clone().requires_grad_(True)


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_h0_gradcheck(metric):
    z = _leaf(cloud(8, n=12, d=3))
    weights = torch.linspace(0.5, 2.0, 11, dtype=F64)
    assert torch.autograd.gradcheck(
        lambda x: (finite_h0_diagram(x, metric=metric)[:, 1] * weights).sum(), (z,))


@pytest.mark.parametrize("convention", ["exact", "tomclip"])
def test_sparsified_losses_gradcheck(convention):
    zs, zt = _leaf(cloud(9, n=14, d=4)), cloud(10, n=14, d=4)
    for dim, kind in ((0, "diagram"), (0, "point_cloud"), (1, "point_cloud")):
        assert torch.autograd.gradcheck(
            lambda x, dim=dim, kind=kind: topological_alignment_loss(
                x, zt, dim=dim, kind=kind, convention=convention), (zs,))
    assert torch.autograd.gradcheck(
        lambda x: distance_matrix_loss(x, zt, convention=convention), (zs,))
    assert torch.autograd.gradcheck(
        lambda x: tomclip_loss(x, zt, convention=convention), (zs,))


def test_sliced_wasserstein_gradcheck_both_arguments():
    rng = np.random.default_rng(2)
    b = rng.random((6, 1))
    d1 = torch.tensor(np.hstack([b, b + rng.random((6, 1))]), requires_grad=True)
    b = rng.random((4, 1))
    d2 = torch.tensor(np.hstack([b, b + rng.random((4, 1))]), requires_grad=True)
    for kind, p in (("diagram", 1.0), ("diagram", 2.0), ("point_cloud", 2.0)):
        assert torch.autograd.gradcheck(
            lambda x, y, kind=kind, p=p: sliced_wasserstein(x, y, kind=kind, p=p,
                                                            n_directions=9), (d1, d2))


def test_h0_gradient_matches_finite_differences_of_numpy_diagram():
    z = cloud(11, n=10, d=3)
    x = _leaf(z)
    loss = finite_h0_diagram(x)[:, 1].square().sum()
    loss.backward()
    h = 1e-6
    base = z.numpy()
    fd = np.zeros_like(base)
    for i in range(base.shape[0]):
        for j in range(base.shape[1]):
            up, down = base.copy(), base.copy()
            up[i, j] += h
            down[i, j] -= h
            f = [np.sum(P.h0_diagram(a)[:-1, 1] ** 2) for a in (up, down)]
            fd[i, j] = (f[0] - f[1]) / (2 * h)
    np.testing.assert_allclose(x.grad.numpy(), fd, rtol=1e-6, atol=1e-7)


def test_identical_inputs_give_zero_loss_and_zero_gradient():
    z = cloud(12, n=20, d=4)
    for fn in (
        lambda a, b: topological_alignment_loss(a, b),
        lambda a, b: topological_alignment_loss(a, b, kind="point_cloud", convention="tomclip"),
        lambda a, b: topological_alignment_loss(a, b, dim=1, kind="point_cloud"),
        lambda a, b: distance_matrix_loss(a, b),
        lambda a, b: tomclip_loss(a, b),
    ):
        x = _leaf(z)
        loss = fn(x, z)
        loss.backward()
        assert float(loss.detach()) == 0.0
        assert torch.count_nonzero(x.grad) == 0


def test_coincident_points_give_finite_gradients():
    z = cloud(13, n=10, d=3)
    z[3] = z[7]
    z[5] = z[7]
    x = _leaf(z)
    tomclip_loss(x, cloud(14, n=10, d=3)).backward()
    assert bool(torch.isfinite(x.grad).all())
    x = _leaf(z)
    finite_h0_diagram(x)[:, 1].sum().backward()
    assert bool(torch.isfinite(x.grad).all())


def test_deterministic_value_and_gradient():
    zs, zt = cloud(15, n=24), cloud(16, n=24)
    grads, values = [], []
    for _ in range(2):
        x = _leaf(zs)
        loss = tomclip_loss(x, zt)
        loss.backward()
        grads.append(x.grad)
        values.append(float(loss.detach()))
    assert values[0] == values[1]
    assert torch.equal(grads[0], grads[1])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_outputs_keep_dtype(dtype):
    zs, zt = cloud(17, n=16, dtype=dtype), cloud(18, n=16, dtype=dtype)
    for out in (finite_h0_diagram(zs), sparsified_h1_births(zs), pairwise_distances(zs),
                topological_alignment_loss(zs, zt), tomclip_loss(zs, zt),
                distance_matrix_loss(zs, zt)):
        assert out.dtype == dtype and out.device == zs.device


def test_modules():
    zs, zt = cloud(19, n=16), cloud(20, n=16)
    m = ToMCLIPLoss(lam=0.5)
    assert float(m(zs, zt)) == float(tomclip_loss(zs, zt, lam=0.5))
    assert set(m.last_terms) == {"total", "mse", "distance", "h0", "h1"}
    assert "lam=0.5" in repr(m)
    t = TopologicalAlignmentLoss(lam=None, p=2.0)
    assert float(t(zs, zt)) == float(topological_alignment_loss(zs, zt, lam=None, p=2.0))


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------


def test_bad_input_errors_name_the_argument():
    z = cloud(21, n=8)
    with pytest.raises(TypeError, match=r"z must be a torch\.Tensor"):
        finite_h0_diagram(z.numpy())
    with pytest.raises(TypeError, match="floating-point"):
        finite_h0_diagram(torch.ones(4, 2, dtype=torch.int64))
    with pytest.raises(ValueError, match="at least 2 embeddings"):
        finite_h0_diagram(z[:1])
    with pytest.raises(ValueError, match="2-D tensor"):
        finite_h0_diagram(z[0])
    bad = z.clone()
    bad[2, 1] = float("nan")
    with pytest.raises(ValueError, match="z must be finite"):
        finite_h0_diagram(bad)
    with pytest.raises(ValueError, match="z_teacher must be finite"):
        tomclip_loss(z, bad)
    with pytest.raises(ValueError, match="same number of rows"):
        topological_alignment_loss(z, cloud(1, n=9))
    with pytest.raises(ValueError, match="same dtype"):
        topological_alignment_loss(z, z.float())
    with pytest.raises(ValueError, match="same shape for the MSE"):
        tomclip_loss(z, cloud(1, n=8, d=3))
    with pytest.raises(ValueError, match="dim=1 compares H1 births"):
        topological_alignment_loss(z, z, dim=1)
    with pytest.raises(ValueError, match="dim must be <= 1"):
        topological_alignment_loss(z, z, dim=2)
    with pytest.raises(ValueError, match="convention"):
        finite_h0_diagram(z, lam=0.5, convention="ripser")
    with pytest.raises(ValueError, match="zero rows with metric='cosine'"):
        finite_h0_diagram(torch.zeros(3, 2, dtype=F64), metric="cosine")
    with pytest.raises(ValueError, match="finite"):
        sliced_wasserstein(torch.tensor([[0.0, float("inf")]]), torch.tensor([[0.0, 1.0]]))
    with pytest.raises(ValueError, match=r"shape \(n_points, 2\)"):
        sliced_wasserstein(torch.zeros(3), torch.zeros(3, 2))
    with pytest.raises(ValueError, match="no points"):
        sliced_wasserstein(torch.zeros(0, 2), torch.zeros(3, 2), kind="point_cloud")
    with pytest.raises(ValueError, match="h1_weight must be >= 0"):
        tomclip_loss(z, z, h1_weight=-1.0)
    with pytest.raises(ValueError, match="needs kind='point_cloud'"):
        tomclip_loss(z, z, kind="diagram")


DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
def test_outputs_stay_on_the_input_device(device):
    zs, zt = cloud(24, n=20).to(device), cloud(25, n=20).to(device)
    x = zs.clone().requires_grad_(True)
    terms = tomclip_loss_terms(x, zt)
    terms.total.backward()
    for t in (terms.total, terms.h0, terms.h1, x.grad, finite_h0_diagram(zs),
              sparsified_h1_births(zs),
              topological_alignment_loss(zs, zt, kind="diagram", lam=None)):
        assert t.device.type == device
    ref = tomclip_loss_terms(zs.cpu(), zt.cpu())
    assert abs(float(terms.total.detach().cpu()) - float(ref.total)) < 1e-10


def test_tensors_on_different_devices_are_refused():
    z = cloud(26, n=6)
    with pytest.raises(ValueError, match="same device"):
        tomclip_loss(z, torch.empty(6, 6, dtype=F64, device="meta"))


def test_pairwise_distances_small_distances_accurate_on_the_fast_path():
    # the matrix-product path cancels for near points; those entries are
    # recomputed from differences: duplicates are exactly 0, a 1e-9 offset
    # on unit-norm points is right to ~1e-6 relative (the product path alone
    # gives ~1e-8 absolute noise, i.e. 100% error), and gradients stay finite
    import torch

    from sheaftopo.torch import pairwise_distances

    g = torch.Generator().manual_seed(0)
    z = torch.randn(64, 32, dtype=torch.float64, generator=g)
    z = z / z.norm(dim=1, keepdim=True)
    z[1] = z[0]
    z[3] = z[2] + 1e-9 * torch.randn(32, dtype=torch.float64, generator=g)
    z.requires_grad_(True)
    D = pairwise_distances(z)
    ref = torch.cdist(z.detach(), z.detach(), compute_mode="donot_use_mm_for_euclid_dist")
    assert D[0, 1].item() == 0.0 and D[1, 0].item() == 0.0
    assert abs(D[2, 3].item() - ref[2, 3].item()) <= 1e-6 * ref[2, 3].item()
    off = ~torch.eye(64, dtype=torch.bool)
    assert torch.allclose(D.detach()[off], ref[off], rtol=1e-12, atol=0)
    D.sum().backward()
    assert torch.isfinite(z.grad).all()


@pytest.mark.parametrize(("old", "new", "kwargs"), [
    ("h0_diagram", finite_h0_diagram, {}),
    ("h0_diagram", finite_h0_diagram, {"lam": 0.5, "convention": "tomclip"}),
    ("h1_births", sparsified_h1_births, {}),
    ("h1_births", sparsified_h1_births, {"lam": None, "metric": "cosine"}),
])
def test_old_names_warn_and_give_the_same_result(old, new, kwargs):
    """The names before issue 16 still work until 0.3, with a DeprecationWarning."""
    import sheaftopo.torch as stt

    z = cloud(3, n=12, d=3)
    with pytest.warns(DeprecationWarning, match=rf"{old} is renamed {new.__name__}.*0\.3"):
        fn = getattr(stt, old)
    assert fn is new
    assert old not in stt.__all__ and new.__name__ in stt.__all__
    assert torch.equal(fn(z, **kwargs), new(z, **kwargs))
    with pytest.raises(AttributeError, match="no attribute 'h2_births'"):
        stt.h2_births  # noqa: B018
