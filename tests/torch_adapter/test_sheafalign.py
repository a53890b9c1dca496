"""SheafAlign model, baseline, single-process training, evaluation, data and bad input."""

from __future__ import annotations

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

from sheaftopo.sheaf import cohomology_dimensions, dirichlet_energy  # noqa: E402
from sheaftopo.torch import (  # noqa: E402
    SheafConsistencyLoss,
    info_nce,
    sheaf_consistency_loss,
    sheaf_reconstruction_loss,
)
from sheaftopo.torch.sheafalign import (  # noqa: E402
    SheafAlign,
    SingleSpaceBaseline,
    batch_indices,
    check_connected,
    evaluate,
    load_digits_views,
    load_views,
    make_graph,
    make_pid_views,
    split_views,
    train,
)

F64 = torch.float64


def small_views(n=48, dims=(5, 6, 7), seed=0, dtype=F64):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, 3, generator=g, dtype=dtype)
    return [
        z @ torch.randn(3, d, generator=g, dtype=dtype)
        + 0.1 * torch.randn(n, d, generator=g, dtype=dtype)
        for d in dims
    ]


def small_model(dims=(5, 6, 7), graph="complete", **kw):
    kw.setdefault("embed_dim", 6)
    kw.setdefault("hidden", 8)
    return SheafAlign(list(dims), graph, **kw).double()


class NaNAfter(nn.Module):
    """A linear encoder whose output turns NaN from its ``after``-th training call on."""

    def __init__(self, d_in, d_out, after):
        super().__init__()
        self.lin = nn.Linear(d_in, d_out)
        self.after = after
        self.calls = 0

    def forward(self, x):
        out = self.lin(x)
        if self.training:
            self.calls += 1
            if self.calls > self.after:
                out = out * float("nan")
        return out


# ----------------------------------------------------------------------------- graphs


def test_graph_kinds_and_knn_picks_the_most_similar_views():
    assert make_graph("complete", 5).shape == (10, 2)
    assert make_graph("ring", 2).tolist() == [[0, 1]]
    assert make_graph("star", 3, center=1).tolist() == [[0, 1], [1, 2]]
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((200, 4)), rng.standard_normal((200, 4))
    views = [a, a + 0.01 * rng.standard_normal(a.shape), b, b @ rng.standard_normal((4, 4))]
    assert make_graph("knn", 4, k=1, views=views).tolist() == [[0, 1], [2, 3]]
    with pytest.raises(ValueError, match="needs their data"):
        make_graph("knn", 4)


def test_disconnected_graph_is_refused_naming_the_unreachable_nodes():
    with pytest.raises(ValueError, match=r"connected: node\(s\) c, d cannot reach node a"):
        SheafAlign([3, 3, 3, 3], [[0, 1], [2, 3]], embed_dim=2, node_names="abcd")
    with pytest.raises(ValueError, match="connected"):
        check_connected(np.zeros((0, 2), dtype=int), 2)
    with pytest.raises(ValueError, match="self-loop"):
        SheafAlign([3, 3], [[0, 0], [0, 1]], embed_dim=2)
    with pytest.raises(ValueError, match="needs the data"):
        SheafAlign([3, 3], "knn", embed_dim=2)


def test_edge_dim_larger_than_node_dim_is_refused():
    with pytest.raises(ValueError, match=r"d_e = 5 .* exceeds the embedding dimension d_i = 4"):
        SheafAlign([5, 5], embed_dim=4, edge_dim=5)
    with pytest.raises(ValueError, match="exceeds"):
        SheafAlign([5, 5, 5], embed_dim=[8, 3, 8], edge_dim=4)
    m = SheafAlign([5, 5, 5], embed_dim=[8, 4, 8], hidden=4)
    assert m.edge_dims == (2, 4, 2)  # min(d_u, d_v) // 2
    assert SheafAlign([5, 5], embed_dim=8, edge_dim=0.75, hidden=4).edge_dims == (6,)
    with pytest.raises(ValueError, match="one int per edge"):
        SheafAlign([5, 5], embed_dim=8, edge_dim=[1, 2])


# ----------------------------------------------------------------------------- the loss


def test_one_edge_equals_the_sheaf_consistency_module():
    views = small_views(dims=(4, 6))
    model = SheafAlign(
        [4, 6], encoders=[nn.Identity(), nn.Identity()], embed_dim=None, normalize=False
    ).double()
    edge = SheafConsistencyLoss(4, 6).double()
    with torch.no_grad():
        edge.P_i.copy_(model.nodes[0].P["0"])
        edge.P_j.copy_(model.nodes[1].P["0"])
        edge.Q_i.copy_(model.nodes[0].Q["0"] + 0.1)
        edge.Q_j.copy_(model.nodes[1].Q["0"] - 0.2)
        model.nodes[0].Q["0"].add_(0.1)
        model.nodes[1].Q["0"].sub_(0.2)
    ours = model.loss_terms(views).total
    assert torch.allclose(ours, edge(views[0], views[1]), rtol=1e-12, atol=0)
    assert torch.allclose(ours, model.edge_loss(0, views), rtol=1e-12, atol=0)


@pytest.mark.parametrize("kw", [{}, {"normalize": False, "lam": 0.5, "gamma": 0.7}])
def test_terms_are_the_public_sheaf_losses_values_and_gradients(kw):
    # SheafAlign's consistency and reconstruction terms are sheaf_consistency_loss and
    # sheaf_reconstruction_loss of the model's embeddings and maps (bit for bit here),
    # and so are their gradients; the training step evaluates them on the projections
    views = small_views(dims=(5, 6, 7, 4))
    model = small_model((5, 6, 7, 4), graph=[[0, 1], [1, 2], [2, 3], [3, 0]], **kw)
    with torch.no_grad():  # move Q off its initial P^T
        for node in model.node_list():
            for Q in node.Q.values():
                Q.mul_(1.3)
    terms = model.loss_terms(views)
    hs = model.embed(views)
    cons, contr, rec = [], [], []
    for k, (u, v) in enumerate(model.edges.tolist()):
        nu, nv = model.node(u), model.node(v)
        Pu, Pv, Qu, Qv = nu.P[str(k)], nv.P[str(k)], nu.Q[str(k)], nv.Q[str(k)]
        cons.append(sheaf_consistency_loss(hs[u], hs[v], Pu, Pv))
        contr.append(info_nce(nu.project(k, hs[u]), nv.project(k, hs[v]), temperature=0.1))
        rec.append(
            sheaf_reconstruction_loss(hs[u], Pu, Qu) + sheaf_reconstruction_loss(hs[v], Pv, Qv)
        )
    public = torch.stack([torch.stack(t) for t in (cons, contr, rec)], dim=1)
    np.testing.assert_array_equal(terms.edges, public.detach().numpy())
    total = model.lam * sum(cons) + model.beta * sum(contr) + model.gamma * sum(rec)
    params = list(model.parameters())
    ours = torch.autograd.grad(terms.total, params)
    theirs = torch.autograd.grad(total, params)
    for (name, _), a, b in zip(model.named_parameters(), ours, theirs, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-15, msg=name)


def test_loss_is_the_sum_of_edge_losses_and_gradients_flow_along_edges_only():
    views = small_views(dims=(5, 6, 7, 4))
    model = small_model((5, 6, 7, 4), graph=[[0, 1], [1, 2], [2, 3]])  # a path
    total = model.loss_terms(views).total
    parts = [model.edge_loss(k, views) for k in range(3)]
    assert torch.allclose(total, sum(parts), rtol=1e-12)
    for k, (u, v) in enumerate(model.edges.tolist()):
        model.zero_grad(set_to_none=True)
        model.edge_loss(k, views).backward()
        for i, node in enumerate(model.nodes):
            grads = [p.grad for p in node.parameters()]
            if i in (u, v):
                assert any(g is not None and float(g.abs().max()) > 0 for g in grads)
            else:
                assert all(g is None for g in grads), (k, i)
    # node 0's gradient from the whole loss is its gradient from edge 0 alone
    model.zero_grad(set_to_none=True)
    model.loss_terms(views).total.backward()
    full = [p.grad.clone() for p in model.nodes[0].encoder.parameters()]
    model.zero_grad(set_to_none=True)
    model.edge_loss(0, views).backward()
    for a, b in zip(full, model.nodes[0].encoder.parameters(), strict=True):
        assert torch.allclose(a, b.grad, rtol=1e-12, atol=1e-15)


def test_local_losses_with_detached_neighbours_give_the_global_gradient():
    views = small_views(dims=(5, 6, 7, 4))
    model = small_model((5, 6, 7, 4), graph="ring", edge_dim=[1, 2, 3, 2])
    model.zero_grad(set_to_none=True)
    model.loss_terms(views).total.backward()
    central = {n: p.grad.clone() for n, p in model.named_parameters()}
    with torch.no_grad():
        zs = {}
        for i, node in enumerate(model.nodes):
            h = node.embed(views[i])
            for info in node.incident:
                zs[(i, info.edge)] = node.project(info.edge, h)
    model.zero_grad(set_to_none=True)
    shares = torch.zeros(3, dtype=F64)
    for i, node in enumerate(model.nodes):
        h = node.embed(views[i])
        mine = {info.edge: node.project(info.edge, h) for info in node.incident}
        received = {info.edge: zs[(info.other, info.edge)] for info in node.incident}
        objective, share, bad = node.local_loss(h, mine, received)
        objective.backward()
        shares += share
        assert bad == []
    for n, p in model.named_parameters():
        assert torch.allclose(p.grad, central[n], rtol=1e-10, atol=1e-14), n
    terms = model.loss_terms(views)
    ref = torch.tensor(
        [terms.as_floats()[t] for t in ("consistency", "contrastive", "reconstruction")], dtype=F64
    )
    assert torch.allclose(shares, ref, rtol=1e-12)


def test_learned_sheaf_laplacian_energy_is_the_consistency_term():
    views = small_views(dims=(5, 6, 7))
    model = small_model(edge_dim=[2, 3, 1])
    with torch.no_grad():
        hs = model.embed(views)
        terms = model.loss_terms(views)
    F = model.to_sheaf()
    assert F.n_vertices == 3 and F.edge_dims.tolist() == [2, 3, 1]
    X = torch.cat(hs, dim=1).T.numpy()  # (dim C0, N): one cochain per sample
    energy = dirichlet_energy(F, X)
    assert np.isclose(energy.mean(), float(terms.consistency), rtol=1e-10)
    h0, h1 = cohomology_dimensions(F)
    assert h0 >= F.dim_c0 - F.dim_c1 and h1 >= 0


def test_missing_modality_estimate_and_transport_are_Q_P_h():
    views = small_views(dims=(5, 6, 7, 4))
    model = small_model((5, 6, 7, 4), graph="ring")
    with torch.no_grad():
        hs = model.embed(views)
        est = model.neighbour_estimates(0, hs)
        assert sorted(est) == [1, 3]
        e = model.edge_between(3, 0)
        ref = hs[3] @ model.nodes[3].P[str(e)].T @ model.nodes[0].Q[str(e)].T
        assert torch.allclose(est[3], ref, rtol=1e-12)
        # 0 -> 2 is two hops on the 4-ring: 0 -> 1 -> 2
        two = model.transport(0, 2, hs[0])
        one = model.nodes[1].lift(0, model.nodes[0].project(0, hs[0]))
        e12 = model.edge_between(1, 2)
        assert torch.allclose(two, model.nodes[2].lift(e12, model.nodes[1].project(e12, one)))
        a, b = model.compare(0, 2, hs[0], hs[2])
        assert a.shape == b.shape == (hs[0].shape[0], model.edge_dims[e12])
    assert model.message_dim(0, 1) == model.edge_dims[0]
    with pytest.raises(ValueError, match="not neighbours"):
        model.message_dim(0, 2)


# ----------------------------------------------------------------------------- training


def test_training_is_deterministic_lowers_the_loss_and_counts_bytes():
    views = small_views(n=100)
    a, b = small_model(edge_dim=[1, 2, 3]), small_model(edge_dim=[1, 2, 3])
    ra = train(a, views, epochs=8, batch_size=32, lr=5e-3, threads=1)
    rb = train(b, views, epochs=8, batch_size=32, lr=5e-3, threads=1)
    np.testing.assert_array_equal(ra.losses, rb.losses)
    assert ra.epoch_losses[-1] < 0.8 * ra.epoch_losses[0]
    assert ra.mode == "simulated" and ra.steps_per_epoch == 3
    # 100 rows -> batches of 34, 33, 33; node i sends batch x d_e float64 per incident edge
    sizes = [len(ix) for ix in batch_indices(100, 32, 0, 0)]
    per_node = np.array([1 + 2, 1 + 3, 2 + 3]) * 8  # d_e of the edges at each node x 8 bytes
    np.testing.assert_array_equal(ra.bytes_sent[:3], np.outer(sizes, per_node))
    assert ra.bytes_per_epoch[0] == sum(sizes) * 2 * (1 + 2 + 3) * 8
    assert (ra.control_bytes == 24).all()


def test_bad_training_input_names_the_node():
    model = small_model()
    X = small_views()
    with pytest.raises(ValueError, match=r"node 1 \('1'\) has no data"):
        train(model, [X[0], None, X[2]])
    with pytest.raises(ValueError, match="has no data"):
        train(model, [X[0], X[1][:0], X[2]])
    with pytest.raises(ValueError, match=r"mismatched sample counts .*'1': 40"):
        train(model, [X[0], X[1][:40], X[2]])
    with pytest.raises(ValueError, match="must have 6 features"):
        train(model, [X[0], X[0], X[2]])
    bad = X[2].clone()
    bad[3, 1] = float("nan")
    with pytest.raises(ValueError, match="finite"):
        train(model, [X[0], X[1], bad])
    with pytest.raises(ValueError, match="one array per node"):
        train(model, X[:2])
    with pytest.raises(ValueError, match="unknown node"):
        train(model, {"0": X[0], "x": X[1]})
    with pytest.raises(ValueError, match="epochs"):
        train(model, X, epochs=0)


def test_nan_loss_stops_training_naming_the_step_and_term():
    views = small_views(n=64)
    encoders = [None, NaNAfter(6, 6, after=3), None]
    model = SheafAlign([5, 6, 7], encoders=encoders, embed_dim=6, hidden=8).double()
    seen = []
    with pytest.raises(
        FloatingPointError,
        match=r"epoch 0, step 3 \(global step 3\): the "
        r"consistency term of the loss is nan \(first on edge 0 \(0, 1\), whose "
        r"consistency is nan; non-finite embeddings at node\(s\) '1'\)",
    ):
        train(model, views, epochs=5, batch_size=16, callback=seen.append)
    assert [s.global_step for s in seen] == [0, 1, 2]  # no step after the failing one
    assert encoders[1].calls == 0  # the caller's encoder was copied, not used


def test_custom_encoders_are_copied_and_their_dimension_read():
    lin = nn.Linear(5, 3)
    before = copy.deepcopy(lin.state_dict())
    with pytest.raises(ValueError, match="embed_dim is needed"):
        SheafAlign([5, 6], encoders=[lin, None], embed_dim=None)
    model = SheafAlign([5, 6], encoders=[lin, nn.Linear(6, 4)], embed_dim=None)
    assert model.embed_dims == (3, 4) and model.edge_dims == (1,)
    train(model, small_views(dims=(5, 6), dtype=torch.float32), epochs=2, batch_size=16)
    for k, v in lin.state_dict().items():
        assert torch.equal(v, before[k])
    with pytest.raises(ValueError, match=r"encoders\[0\] outputs dimension 3; embed_dim says 8"):
        SheafAlign([5, 6], encoders=[lin, None], embed_dim=8)
    with pytest.raises(ValueError, match="failed on a batch of shape"):
        SheafAlign([7, 6], encoders=[lin, None], embed_dim=3)
    with pytest.raises(TypeError, match=r"nn\.Module"):
        SheafAlign([5, 6], encoders=["linear", None])


def test_baseline_starts_from_the_same_encoders_and_aligns_to_the_anchor():
    sheaf = SheafAlign([5, 6, 7], embed_dim=6, hidden=8, seed=3)
    base = SingleSpaceBaseline([5, 6, 7], embed_dim=6, hidden=8, seed=3, anchor=2)
    for node, enc in zip(sheaf.nodes, base.encoders, strict=True):
        for (k, v), (k2, v2) in zip(
            node.encoder.state_dict().items(), enc.state_dict().items(), strict=True
        ):
            assert k == k2 and torch.equal(v, v2)
    views = small_views(dtype=torch.float32)
    hs = base.embed(views)
    ref = info_nce(hs[0], hs[2]) + info_nce(hs[1], hs[2])
    assert torch.allclose(base.loss_terms(views).total, ref)
    assert base.edges.tolist() == [[2, 0], [2, 1]]
    # star traffic: each modality sends its embedding, the anchor sends its own twice
    assert base.exchange_bytes(10, 4).tolist() == [240, 240, 480]
    with pytest.raises(ValueError, match="anchor must name a node"):
        SingleSpaceBaseline([5, 6], anchor="x")


# ----------------------------------------------------------------------------- evaluation


def test_evaluation_of_a_perfectly_aligned_shared_space():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 30)
    X = rng.standard_normal((4, 6))[y] * 3 + rng.standard_normal((120, 6))
    shared = nn.Linear(6, 5)
    base = SingleSpaceBaseline([6, 6, 6], encoders=[shared] * 3, embed_dim=5)
    ev = evaluate(
        base, [X[60:]] * 3, y[60:], train_views=[X[:60]] * 3, train_labels=y[:60], drop_rates=(0.5,)
    )
    assert ev.recall_instance == {1: 1.0, 5: 1.0, 10: 1.0}  # identical embeddings
    assert ev.recall_label[1] == 1.0
    assert ev.missing_nmse["model"] < 1e-20 and ev.missing_nmse["mean"] > 0.5
    assert ev.message_numbers == 5 and ev.embedding_numbers == 5
    # every view identical: dropping views and filling from the others changes nothing
    assert ev.robustness["model"][0.5] == ev.robustness["model"][0.0]
    assert np.isnan(ev.pair_recall[0, 0, 0]) and ev.pair_recall[0, 1, 0] == 1.0
    assert set(ev.as_dict()) >= {"recall_instance", "robustness", "missing_nmse"}


def test_evaluation_scores_are_in_range_and_label_recall_dominates():
    views = small_views(n=90)
    y = np.arange(90) % 3
    model = small_model(graph="star")
    ev = evaluate(
        model,
        [v[45:] for v in views],
        y[45:],
        train_views=[v[:45] for v in views],
        train_labels=y[:45],
        ks=(1, 3),
    )
    for k in (1, 3):
        assert 0 <= ev.recall_instance[k] <= ev.recall_label[k] <= 1
    assert ev.recall_instance[1] <= ev.recall_instance[3]
    assert 0 <= ev.zero_shot <= 1 and set(ev.few_shot) == {1, 5}
    assert ev.message_numbers == 3  # d_e = 6 // 2
    with pytest.raises(ValueError, match="one label per row"):
        evaluate(model, views, y[:10], train_views=views, train_labels=y)


# ----------------------------------------------------------------------------- data


def test_pid_generator_plants_pairwise_shared_and_unique_components():
    d = make_pid_views(
        300, 3, shared_dim=1, pairwise_dim=2, unique_dim=3, extra_dim=0, noise=0.0, seed=1
    )
    X0, X1, X2 = (d[f"v{i}"] for i in range(3))
    assert X0.shape == (300, 1 + 2 * 2 + 3)

    def common(A, B):  # dimension of the intersection of the column spaces
        return (
            np.linalg.matrix_rank(A)
            + np.linalg.matrix_rank(B)
            - np.linalg.matrix_rank(np.hstack([A, B]))
        )

    assert common(X0, X1) == 1 + 2  # shared + their pairwise block
    assert common(X1, X2) == 1 + 2
    three = np.linalg.matrix_rank(np.hstack([X0, X1, X2]))
    assert three == 1 + 3 * 2 + 3 * 3
    with pytest.raises(ValueError, match="cannot all be 0"):
        make_pid_views(10, shared_dim=0, pairwise_dim=0, unique_dim=0)


def test_splits_are_stratified_and_standardised_with_training_statistics():
    s = split_views(make_pid_views(400, seed=2), test_size=0.25, seed=0)
    assert len(s.y_train) == 300 and len(s.y_test) == 100
    np.testing.assert_allclose(s.train[0].mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(s.train[0].std(axis=0), 1, atol=1e-12)
    assert abs(float(s.test[0].mean())) > 1e-6  # test data not re-centred
    digits = load_digits_views()
    assert digits.n_samples == 1797 and digits["middle"].shape[1] == 16
    mf = load_views("mfeat", nodes=["zer", "mor"], test_size=0.5)
    assert mf.names == ("zer", "mor") and mf.input_dims == (47, 6)
    assert np.bincount(mf.y_test).tolist() == [100] * 10
    with pytest.raises(ValueError, match="nodes must be one of"):
        load_views("mfeat", nodes=["nope"])
