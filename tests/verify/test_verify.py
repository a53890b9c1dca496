"""sheaftopo.verify: statements, families, check, search, shrink, generators, strategies."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings

from sheaftopo.verify import (
    Family,
    Statement,
    check,
    diagrams,
    paired_embeddings,
    point_clouds,
    search,
    sheaves_on_graphs,
    shrink,
    spd_pairs,
    strategies,
)

# a true statement (AM-GM) and planted false ones


def _amgm(x):
    return math.sqrt(x["a"] * x["b"]), (x["a"] + x["b"]) / 2


AMGM = Statement("am-gm", _amgm)
POSITIVE = Family("positive pairs", lambda rng: {"a": rng.uniform(0, 1), "b": rng.uniform(0, 1)})

# false, but only far in the tail of the family: |sin a| <= 0.999 with a ~ N(0, 0.3)
SINE = Statement("sine", lambda x: (abs(math.sin(float(x["a"][0]))), 0.999))
NARROW = Family("narrow normal", lambda rng: {"a": rng.normal(0, 0.3, 1)})


def diameter_at_most_one(x):
    X = x["X"]
    D = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
    return float(D.max()), 1.0


def test_measure_conventions():
    m = AMGM.measure({"a": 0.25, "b": 1.0})
    assert m.holds and m.ratio == pytest.approx(0.5 / 0.625)
    zero = Statement("zero", lambda x: (x, 0.0))
    assert zero.measure(0.0).ratio == 0.0 and zero.measure(0.0).holds
    bad = zero.measure(1e-300)
    assert bad.ratio == math.inf and not bad.holds
    nan = Statement("nan", lambda x: (math.nan, 1.0)).measure(None)
    assert math.isnan(nan.ratio) and not nan.holds and nan.error
    boom = Statement("boom", lambda x: 1 / 0).measure(None)
    assert not boom.holds and "ZeroDivisionError" in boom.error
    tol = Statement("tol", lambda x: (1.0 + 1e-12, 1.0))
    assert tol.measure(None).holds  # within the default rtol
    assert not Statement("strict", lambda x: (1.0 + 1e-12, 1.0), rtol=0.0).measure(None).holds


def test_check_true_statement_reports_worst_and_families():
    rep = check(AMGM, [POSITIVE, Family("equal", lambda rng: {"a": 0.5, "b": 0.5}, tight=True)],
                n=100)
    assert rep.holds and rep.instances == 200 and rep.counterexample is None
    assert rep.worst == pytest.approx(1.0)  # attained on the equal family: AM-GM is sharp
    assert [f.family for f in rep.families] == ["positive pairs", "equal"]
    assert rep.tight_worst() == pytest.approx(1.0) and rep.families[0].worst < 1.0


def test_check_is_reproducible_and_families_are_independent():
    a = check(AMGM, POSITIVE, n=20, seed=3)
    b = check(AMGM, [Family("other", lambda rng: {"a": 1.0, "b": 2.0}), POSITIVE], n=20, seed=3)
    assert a.worst == b.families[1].worst and a.worst_label == b.families[1].worst_label
    assert check(AMGM, POSITIVE, n=20, seed=4).worst != a.worst


def test_check_finds_and_shrinks_a_planted_false_statement():
    claim = Statement("diameter <= 1", diameter_at_most_one)
    clouds = point_clouds("gaussian", n=(10, 20), dim=(2, 4))
    rep = check(claim, clouds, n=5)
    assert not rep.holds and rep.violations == 5
    cex = rep.counterexample
    assert cex is not None and not cex.measurement.holds
    assert cex.instance["X"].shape[0] == 2  # two points are all a counterexample needs
    assert cex.shrink_steps > 0 and cex.measurement.ratio > 1


def test_stop_on_violation():
    rep = check(Statement("d", diameter_at_most_one), point_clouds("gaussian", n=(5, 9)), n=50,
                stop_on_violation=True, shrink_counterexample=False)
    assert rep.instances == 1 and rep.violations == 1 and rep.counterexample is None


def test_search_finds_what_sampling_misses():
    assert check(SINE, NARROW, n=200).holds  # random sampling never reaches a = pi/2
    res = search(SINE, NARROW, restarts=4, steps=60, seed=1)
    assert res.worst > 1 and abs(abs(res.worst_instance["a"][0]) % math.pi - math.pi / 2) < 0.05
    assert len(res.trace) == 4 and list(res.trace) == sorted(res.trace)
    assert res.counterexample is not None and not res.counterexample.measurement.holds


def test_search_gradient_ascent_through_torch():
    torch = pytest.importorskip("torch")
    claim = Statement(
        "sine",
        SINE.evaluate,
        torch_ratio=lambda t: torch.abs(torch.sin(t["a"][0])) / 0.999,
    )
    res = search(claim, NARROW, restarts=1, steps=0, gradient_steps=200, learning_rate=0.05)
    assert res.worst > 1
    with pytest.raises(ValueError, match="torch_ratio"):
        search(SINE, NARROW, gradient_steps=5)


def test_search_on_a_true_sharp_statement_approaches_one():
    res = search(AMGM, POSITIVE, restarts=3, steps=80)
    assert 0.999 < res.worst <= 1 + 1e-12 and res.counterexample is None


def test_shrink_refuses_an_instance_that_holds():
    with pytest.raises(ValueError, match="violate"):
        shrink(AMGM, {"a": 0.2, "b": 0.3})


def test_validation_names_the_argument():
    with pytest.raises(TypeError, match="statement"):
        check("am-gm", POSITIVE)
    with pytest.raises(TypeError, match="families"):
        check(AMGM, [POSITIVE, "x"])
    with pytest.raises(ValueError, match="n must be >= 1"):
        check(AMGM, POSITIVE, n=0)
    with pytest.raises(ValueError, match="step_size"):
        search(AMGM, POSITIVE, step_size=0.0)
    with pytest.raises(TypeError, match="evaluate"):
        Statement("x", 3)
    with pytest.raises(ValueError, match="rtol"):
        Statement("x", _amgm, rtol=-1.0)
    with pytest.raises(TypeError, match="sample"):
        Family("x", None)
    with pytest.raises(ValueError, match="kind"):
        point_clouds("nope")
    with pytest.raises(ValueError, match="n must satisfy"):
        point_clouds(n=(5, 2))
    with pytest.raises(TypeError, match="dim"):
        point_clouds(dim="x")
    with pytest.raises(ValueError, match="cond"):
        spd_pairs(cond=0.5)


# --------------------------------------------------------------------------
# generators and strategies draw valid instances
# --------------------------------------------------------------------------


def _assert_spd_pair(inst, cond):
    for key in ("P", "Q"):
        A = inst[key]
        assert np.array_equal(A, A.T)
        lam = np.linalg.eigvalsh(A / np.abs(A).max())
        assert lam[0] > 0 and lam[-1] / lam[0] <= cond * (1 + 1e-6)


@pytest.mark.parametrize("kind", ["random", "clustered", "near-equal", "commuting", "scaled"])
def test_spd_pairs_are_spd_with_the_condition_number(kind):
    fam = spd_pairs(kind, dim=(2, 6), cond=1e12)
    rng = np.random.default_rng(0)
    for _ in range(10):
        inst = fam.sample(rng)
        _assert_spd_pair(inst, 1e12 * 1.01)
        moved = fam.moved(inst, rng, 0.5)
        _assert_spd_pair(moved, 1e12 * 1.01)
    if kind == "random":
        lam = np.linalg.eigvalsh(inst["P"])
        assert lam[-1] / lam[0] > 1e11


@pytest.mark.parametrize("maps", ["random", "orthogonal", "near-identity", "constant",
                                  "rank-deficient"])
def test_sheaves_build(maps):
    from sheaftopo.sheaf import CellularSheaf

    fam = sheaves_on_graphs(maps, edge_dim=(1, 3))
    rng = np.random.default_rng(1)
    for _ in range(10):
        inst = fam.sample(rng)
        S = CellularSheaf.from_maps(inst["edges"], inst["tail"], inst["head"],
                                    n_vertices=inst["n_vertices"])
        assert S.n_edges == len(inst["edges"])
        if maps in ("orthogonal", "near-identity"):
            T = inst["tail"]
            assert np.allclose(T @ np.swapaxes(T, 1, 2), np.eye(T.shape[1]), atol=1e-12)


def test_clouds_diagrams_and_pairs():
    rng = np.random.default_rng(2)
    for fam in (point_clouds(), diagrams(), paired_embeddings()):
        for _ in range(40):
            inst = fam.sample(rng)
            for v in inst.values():
                if isinstance(v, np.ndarray):
                    assert np.isfinite(v).all()
    lat = point_clouds("lattice", n=16, dim=2).sample(rng)["X"]
    D = np.sqrt(((lat[:, None] - lat[None]) ** 2).sum(-1))
    assert len(np.unique(D[np.triu_indices(16, 1)])) < 16 * 15 // 2  # ties
    d = diagrams("ties", n=10).sample(rng)
    assert (d["A"][:, 1] >= d["A"][:, 0]).all()
    p = paired_embeddings("rotated", n=7, dim=3, noise=0.0).sample(rng)
    assert p["X"].shape == p["Y"].shape == (7, 3)


@settings(max_examples=40, deadline=None)
@given(strategies.spd_pairs(dim=(1, 5), cond=1e8))
def test_strategy_spd_pairs(inst):
    _assert_spd_pair(inst, 1e8 * 1.01)


@settings(max_examples=40, deadline=None)
@given(strategies.sheaves_on_graphs())
def test_strategy_sheaves_build(inst):
    from sheaftopo.sheaf import CellularSheaf

    CellularSheaf.from_maps(inst["edges"], inst["tail"], inst["head"],
                            n_vertices=inst["n_vertices"])


@settings(max_examples=40, deadline=None)
@given(strategies.point_clouds(), strategies.diagrams(), strategies.paired_embeddings())
def test_strategies_draw_valid_instances(cloud, dgms, pair):
    assert np.isfinite(cloud["X"]).all() and cloud["X"].ndim == 2
    for D in (dgms["A"], dgms["B"]):
        assert D.shape[1] == 2 and (D[:, 1] >= D[:, 0]).all()
    assert pair["X"].shape == pair["Y"].shape


@settings(max_examples=60, deadline=None)
@given(strategies.point_clouds(n=(2, 12), dim=(1, 3)))
def test_one_statement_serves_families_and_strategies(cloud):
    # H0 stability at zero perturbation: d_B(Dgm X, Dgm X) = 0 <= 0
    from sheaftopo.persistence import bottleneck, h0_diagram

    claim = Statement("self-distance", lambda x: (bottleneck(h0_diagram(x["X"]),
                                                             h0_diagram(x["X"])), 0.0))
    assert claim.measure(cloud).holds
