"""Bad input through every public name of sheaftopo.torch.sheafalign.

Each case ends in a right, finite answer or a ValueError / TypeError naming
the argument (tests/_adversarial.py judges). Training runs are tiny (three
nodes, a few dozen rows, one epoch); the process-spawning trainers are fed
only input they must refuse before any process starts.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from _adversarial import (  # noqa: E402
    BAD_SCALARS,
    bad_arrays,
    check_call,
    examples,
)

import sheaftopo.torch.sheafalign as sa  # noqa: E402

SUB = "sheafalign"


@pytest.fixture(scope="module")
def model():
    return sa.SheafAlign([4, 4, 4], embed_dim=3, hidden=8, seed=0)


@pytest.fixture(scope="module")
def views():
    rng = np.random.default_rng(0)
    return [rng.standard_normal((24, 4)) for _ in range(3)]


# ---------------------------------------------------------------- small helpers


@settings(max_examples=examples(12, 60))
@given(
    n=st.sampled_from([0, 1, 10, -1, True, 2.5, "10"]),
    bs=st.sampled_from([0, -3, 1, 4, 10**9, True, None, 2.0]),
    seed=st.sampled_from([0, -1, "0", None, 2**70]),
)
def test_batch_indices(n, bs, seed):
    status, out = check_call(
        SUB, sa.batch_indices, n, bs, seed, 0, names=("n_samples", "batch_size", "seed")
    )
    if status == "ok":
        got = np.sort(np.concatenate(out))
        np.testing.assert_array_equal(got, np.arange(n))
        assert all(len(b) >= 1 for b in out)


def test_regression_batch_indices_zero_batch_size_is_a_clear_error():
    with pytest.raises(ValueError, match="batch_size"):
        sa.batch_indices(10, 0, 0, 0)
    with pytest.raises(TypeError, match="seed"):
        sa.batch_indices(10, 2, "0", 0)


@pytest.mark.parametrize("bad", [-1, "a", 1.5, None, True])
def test_regression_node_seed_names_its_argument(bad):
    check_call(SUB, sa.node_seed, bad, 2, names="seed")
    check_call(SUB, sa.node_seed, 0, bad, names="parts")


def test_node_seed_is_deterministic_and_separates_streams():
    assert sa.node_seed(0, 1) == sa.node_seed(0, 1)
    assert len({sa.node_seed(0, i) for i in range(100)}) == 100
    assert 0 <= sa.node_seed(2**40, 7) < 2**63


@pytest.mark.parametrize(
    "source,target", [(0, 5), (-1, 1), (5, 0), (0, True), ("0", 1), (0.0, 1)]
)
def test_regression_shortest_path_out_of_range(source, target):
    edges = sa.make_graph("ring", 4)
    check_call(SUB, sa.shortest_path, edges, 4, source, target, names=("source", "target"))


def test_shortest_path_is_right_on_a_ring():
    assert sa.shortest_path(sa.make_graph("ring", 6), 6, 0, 3) == [0, 1, 2, 3]
    assert sa.shortest_path(sa.make_graph("ring", 6), 6, 2, 2) == [2]
    with pytest.raises(ValueError, match="no path"):
        sa.shortest_path(np.array([[0, 1]]), 3, 0, 2)


@pytest.mark.parametrize(
    "kind,n,kw",
    [
        ("foo", 3, {}),
        ("complete", 0, {}),
        ("complete", True, {}),
        ("complete", 2.0, {}),
        ("ring", 1, {}),
        ("star", 3, {"center": 9}),
        ("star", 3, {"center": -1}),
        ("knn", 3, {"k": -1}),
        ("knn", 3, {"k": 2}),  # knn needs views
        (None, 3, {}),
    ],
)
def test_make_graph_bad(kind, n, kw):
    check_call(SUB, sa.make_graph, kind, n, names=("kind", "n_nodes", "center", "k", "views"), **kw)


@pytest.mark.parametrize("kind", ["complete", "ring", "star"])
@pytest.mark.parametrize("n", [2, 3, 7])
def test_make_graph_is_connected_and_simple(kind, n):
    edges = sa.make_graph(kind, n)
    assert edges.shape[1] == 2
    sa.check_connected(edges, n)
    pairs = {tuple(sorted(map(int, e))) for e in edges}
    assert len(pairs) == len(edges)
    assert all(a != b for a, b in pairs)


@pytest.mark.parametrize(
    "graph,n",
    [
        (np.array([[0, 1]]), 3),
        (np.array([[0.0, 1.0]]), 2),
        ("abc", 2),
        (np.array([[0, 0]]), 1),
        (np.array([[0, 5]]), 2),
        (None, 2),
    ],
)
def test_check_connected_bad(graph, n):
    status, _ = check_call(SUB, sa.check_connected, graph, n, names=("graph", "n_nodes"))
    assert status == "error"


# ---------------------------------------------------------------- models


@pytest.mark.parametrize(
    "kw",
    [
        {"input_dims": []},
        {"input_dims": [4, -1]},
        {"input_dims": [4, 4.5]},
        {"input_dims": "44"},
        {"input_dims": [4, 4], "lam": float("nan")},
        {"input_dims": [4, 4], "beta": -1.0},
        {"input_dims": [4, 4], "gamma": float("inf")},
        {"input_dims": [4, 4], "temperature": 0},
        {"input_dims": [4, 4], "temperature": float("inf")},
        {"input_dims": [4, 4], "seed": "0"},
        {"input_dims": [4, 4], "embed_dim": 0},
        {"input_dims": [4, 4], "edge_dim": -2},
        {"input_dims": [4, 4], "hidden": 0},
        {"input_dims": [4, 4], "graph": "foo"},
        {"input_dims": [4, 4, 4], "graph": np.array([[0, 1]])},
        {"input_dims": [4, 4], "encoders": [None]},
    ],
)
def test_sheafalign_constructor_bad(kw):
    kw = dict(kw)
    dims = kw.pop("input_dims")
    status, _ = check_call(
        SUB,
        sa.SheafAlign,
        dims,
        names=("input_dims", *kw, "graph", "encoders"),
        **kw,
    )
    assert status == "error"


@pytest.mark.parametrize(
    "kw",
    [
        {"anchor": 5},
        {"anchor": -1},
        {"anchor": "nope"},
        {"embed_dim": 0},
        {"temperature": -1.0},
        {"seed": 1.5},
    ],
)
def test_single_space_baseline_bad(kw):
    status, _ = check_call(SUB, sa.SingleSpaceBaseline, [4, 4], names=tuple(kw), **kw)
    assert status == "error"


@pytest.mark.parametrize("args,kw", [((0, 3), {}), ((3, 0), {}), ((3, 3), {"hidden": -1}),
                                     ((3.0, 3), {}), ((True, 3), {})])
def test_mlp_encoder_bad(args, kw):
    status, _ = check_call(SUB, sa.MLPEncoder, *args, names=("d_in", "d_out", "hidden"), **kw)
    assert status == "error"


def test_sheaf_node_and_edge_info_come_from_the_model(model):
    # SheafNode is built by SheafAlign from validated arguments; a hand-built one
    # with a bad hyperparameter is refused too
    node = model.nodes[0]
    assert isinstance(node, sa.SheafNode)
    assert all(isinstance(e, sa.EdgeInfo) for e in node.incident)
    status, _ = check_call(
        SUB,
        sa.SheafNode,
        0,
        "x",
        sa.MLPEncoder(4, 3, hidden=4),
        3,
        node.incident,
        normalize=True,
        lam=float("nan"),
        beta=1.0,
        gamma=0.1,
        temperature=0.1,
        seed=0,
        names="lam",
    )
    assert status == "error"


# ---------------------------------------------------------------- data and training


@settings(max_examples=examples(14, 80))
@given(bad=bad_arrays((24, 4)), where=st.integers(0, 2))
def test_as_views_refuses_bad_arrays(model, views, bad, where):
    vs = [v.copy() for v in views]
    vs[where] = bad
    status, _ = check_call(SUB, sa.as_views, vs, model, names="views")
    assert status == "error"


def test_regression_as_views_overflow_says_so(model, views):
    # 1e300 is finite in float64 but not representable in the model's float32
    with pytest.raises(ValueError, match=r"views\[0\].*float32") as err:
        sa.as_views([v * 1e300 for v in views], model)
    assert "NaN" not in str(err.value)


def test_as_views_layouts_and_inputs_unchanged(model, views):
    ro = views[0].copy()
    ro.flags.writeable = False
    strided = np.repeat(views[1], 2, axis=0)[::2]
    fortran = np.asfortranarray(views[2])
    before = [ro.copy(), strided.copy(), fortran.copy()]
    out = sa.as_views([ro, strided, fortran], model)
    for t, v in zip(out, before, strict=True):
        np.testing.assert_allclose(t.double().numpy(), v, rtol=1e-6)
    for a, b in zip([ro, strided, fortran], before, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "kw",
    [
        {"epochs": 0},
        {"epochs": "1"},
        {"lr": float("nan")},
        {"lr": -1.0},
        {"lr": 1e300},
        {"batch_size": 0},
        {"batch_size": 1},
        {"weight_decay": -1.0},
        {"threads": 0},
        {"seed": "0"},
        {"callback": 3},
    ],
)
def test_train_bad_hyperparameters(model, views, kw):
    status, _ = check_call(SUB, sa.train, model, views, names=tuple(kw), **kw)
    assert status == "error"


def test_train_tiny_run_is_finite_and_deterministic(views):
    runs = []
    for _ in range(2):
        m = sa.SheafAlign([4, 4, 4], embed_dim=3, hidden=8, seed=0)
        res = sa.train(m, views, epochs=2, batch_size=8, seed=0, threads=1)
        assert isinstance(res, sa.TrainResult)
        assert np.isfinite(res.losses).all()
        runs.append(res.losses)
    np.testing.assert_array_equal(runs[0], runs[1])


def test_train_with_identical_rows_is_finite():
    # every row the same: InfoNCE has ties everywhere, the loss must stay finite
    m = sa.SheafAlign([2, 2], embed_dim=2, hidden=4, seed=0)
    X = np.ones((16, 2))
    check_call(SUB, sa.train, m, [X, X], epochs=1, batch_size=8, threads=1)


@pytest.mark.parametrize(
    "kw",
    [
        {"ks": (0,)},
        {"ks": ()},
        {"shots": (-1,)},
        {"drop_rates": (2.0,)},
        {"drop_rates": (float("nan"),)},
        {"n_repeats": 0},
        {"train_labels": None},
    ],
)
def test_evaluate_bad(model, views, kw):
    y = np.arange(24) % 3
    args = {"train_views": views, "train_labels": y}
    args.update(kw)
    status, _ = check_call(
        SUB, sa.evaluate, model, views, y, names=tuple(kw), **args
    )
    assert status == "error"


def test_evaluate_tiny_is_finite(model, views):
    y = np.arange(24) % 3
    ev = sa.evaluate(
        model, views, y, train_views=views, train_labels=y,
        ks=(1, 5), shots=(1,), drop_rates=(0.5,), n_repeats=1,
    )
    assert isinstance(ev, sa.Evaluation)
    for k in (1, 5):
        assert 0.0 <= ev.recall_instance[k] <= 1.0
    # pair_recall is NaN on its diagonal by documented convention (no pair (i, i));
    # everything off the diagonal is a finite recall
    off = ~np.eye(3, dtype=bool)
    assert np.isnan(ev.pair_recall[~off]).all()
    assert np.isfinite(ev.pair_recall[off]).all()


@pytest.mark.parametrize(
    "kw",
    [
        {"n_samples": 0},
        {"n_views": 1},
        {"noise": float("nan")},
        {"noise": -1.0},
        {"n_classes": 0},
        {"class_sep": float("inf")},
        {"seed": "0"},
        {"shared_dim": -1},
    ],
)
def test_make_pid_views_bad(kw):
    status, _ = check_call(SUB, sa.make_pid_views, names=tuple(kw), **kw)
    assert status == "error"


def test_split_and_load_views():
    data = sa.make_pid_views(60, seed=0)
    for kw in ({"test_size": 0}, {"test_size": 1.0}, {"test_size": float("nan")},
               {"names": ["zz"]}, {"names": "v0"}, {"seed": -1}):
        status, _ = check_call(
            SUB, lambda kw=kw: sa.split_views(data, **kw), names=(*kw, "view")
        )
        assert status == "error"
    _, split = check_call(SUB, sa.split_views, data, test_size=0.25, seed=0)
    assert isinstance(split, sa.MultiViewSplit)
    assert split.train[0].shape[0] + split.test[0].shape[0] == 60
    for kw in ({"dataset": "nope"}, {"test_size": 2}, {"nodes": ["zz"]}, {"seed": "0"}):
        status, _ = check_call(SUB, sa.load_views, names=(*kw, "view", "node"), **kw)
        assert status == "error"
    digits = sa.load_digits_views()
    assert all(np.isfinite(v).all() for v in digits.views.values())


# ---------------------------------------------------------------- whole runs, refused early


@pytest.mark.parametrize(
    "kw",
    [
        {"epochs": 0},
        {"fractions": (2.0,)},
        {"fractions": ()},
        {"graph": "foo"},
        {"dataset": "nope"},
        {"lr": float("nan")},
    ],
)
def test_run_experiment_refuses_before_training(kw):
    status, _ = check_call(
        SUB, sa.run_experiment, names=tuple(kw), seconds=20, **kw
    )
    assert status == "error"


@pytest.mark.parametrize(
    "kw",
    [
        {"backend": "foo"},
        {"timeout": float("nan")},
        {"timeout": -1.0},
        {"epochs": 0},
        {"threads": 0},
        {"start_method": "telepathy"},
    ],
)
def test_train_distributed_refuses_before_spawning(model, views, kw):
    status, _ = check_call(
        SUB, sa.train_distributed, model, views, names=tuple(kw), seconds=20, **kw
    )
    assert status == "error"


def test_run_node_and_results_files(model, tmp_path):
    node = model.nodes[0]
    status, _ = check_call(SUB, sa.run_node, node, torch.zeros(5, 4), epochs=-1, names="epochs")
    assert status == "error"
    status, _ = check_call(SUB, sa.run_node, "node", torch.zeros(5, 4), epochs=1, names="node")
    assert status == "error"
    with pytest.raises(FileNotFoundError, match="node 0"):
        sa.load_node_results(model, tmp_path)
    status, _ = check_call(SUB, sa.save_node_result, tmp_path, node, "result", names="result")
    assert status == "error"


@pytest.mark.parametrize(
    "argv",
    [
        ["experiment", "--epochs", "0"],
        ["experiment", "--fractions", "3"],
        ["experiment", "--lr", "nan"],
    ],
)
def test_regression_cli_bad_values_are_one_line_and_exit_2(argv, capsys):
    from sheaftopo.cli import main, sheafalign

    assert sheafalign.build_parser().parse_args(argv).command == "experiment"
    assert main(["sheafalign", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err
    assert err.startswith("sheaftopo sheafalign: error:")


@pytest.mark.parametrize("bad", BAD_SCALARS)
def test_temperature_scalars(bad):
    status, m = check_call(SUB, sa.SheafAlign, [3, 3], temperature=bad, names="temperature")
    if status == "ok":
        assert 0 < m.temperature < float("inf")
