"""Torch functions that share a name with a numpy function mirror it: signature and value.

A torch function named like a public function of :mod:`sheaftopo.persistence`,
:mod:`~sheaftopo.sheaf`, :mod:`~sheaftopo.geometry` or :mod:`~sheaftopo.fiber`
takes the same parameters (names, kinds, defaults, order) and computes the
same quantity (a scalar tensor where numpy returns a float). The only
differences allowed are listed in :data:`NAMESAKES`, each with its reason; a
torch function computing something else carries another name
(``finite_h0_diagram``, ``sparsified_h1_births``).
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import sheaftopo.torch as stt  # noqa: E402
from sheaftopo import fiber, geometry, persistence, sheaf  # noqa: E402

F64 = torch.float64

#: torch name -> (its numpy namesake, torch-only parameters, numpy-only parameters);
#: every extra parameter maps to the reason it exists on one side only.
NAMESAKES = {
    "sliced_wasserstein": (persistence.sliced_wasserstein, {}, {}),
    "spd_distance": (
        geometry.spd_distance,
        {},
        {
            "power": "the torch adapter differentiates the affine-invariant, log-Euclidean and "
            "Bures metrics only; metric='power' (and so power=) is numpy's"
        },
    ),
    "stein_divergence": (geometry.stein_divergence, {}, {}),
    "sinkhorn_divergence": (
        geometry.sinkhorn_divergence,
        {},
        {
            "return_plan": "the torch function returns the divergence (the numpy result's "
            "cost) as a differentiable scalar; the plan comes from the numpy function"
        },
    ),
}

#: numpy names a torch name may shadow while their deprecation runs: geometry's point-cloud
#: sliced_wasserstein is renamed sliced_transport (issue 16); the torch one is the diagram one
LEAVING = {("geometry", "sliced_wasserstein")}

UNITS = {"persistence": persistence, "sheaf": sheaf, "geometry": geometry, "fiber": fiber}


def test_every_namesake_is_listed():
    """A new torch name equal to a numpy one must be added (and mirrored) here."""
    for name in stt.__all__:
        for unit, module in UNITS.items():
            if name not in getattr(module, "__all__", ()) or (unit, name) in LEAVING:
                continue
            assert name in NAMESAKES, f"sheaftopo.torch.{name} shadows sheaftopo.{unit}.{name}"
            assert NAMESAKES[name][0] is getattr(module, name), (name, unit)


def test_renamed_functions_are_not_namesakes():
    """The torch H0 / H1 functions return other quantities, so they carry other names."""
    for name in ("finite_h0_diagram", "sparsified_h1_births"):
        assert name in stt.__all__
    for old in ("h0_diagram", "h1_births"):
        assert old not in stt.__all__ and old in persistence.__all__


@pytest.mark.parametrize("name", sorted(NAMESAKES))
def test_signatures_agree(name):
    np_fn, torch_only, numpy_only = NAMESAKES[name]
    ours = inspect.signature(getattr(stt, name)).parameters
    theirs = inspect.signature(np_fn).parameters
    assert set(ours) - set(theirs) == set(torch_only)
    assert set(theirs) - set(ours) == set(numpy_only)
    shared = [p for p in ours if p in theirs]
    assert shared == [p for p in theirs if p in ours], "same order"
    for p in shared:
        assert ours[p].kind == theirs[p].kind, (name, p)
        assert ours[p].default == theirs[p].default, (name, p)
    for p in torch_only:  # a call written for numpy works unchanged
        assert ours[p].kind is inspect.Parameter.KEYWORD_ONLY
        assert ours[p].default is not inspect.Parameter.empty


def _spd(rng, batch, n):
    A = rng.normal(size=(*batch, n, n))
    return A @ np.swapaxes(A, -1, -2) + n * np.eye(n)


@pytest.mark.parametrize("metric", ["affine", "log_euclidean", "bures"])
def test_spd_distance_values(metric):
    rng = np.random.default_rng(0)
    P, Q = _spd(rng, (3,), 4), _spd(rng, (3,), 4)
    ref = geometry.spd_distance(P, Q, metric=metric)
    ours = stt.spd_distance(torch.tensor(P), torch.tensor(Q), metric=metric)
    np.testing.assert_allclose(ours.numpy(), ref, rtol=1e-10)
    squared = stt.spd_distance(torch.tensor(P), torch.tensor(Q), metric=metric, squared=True)
    np.testing.assert_allclose(squared.numpy(), ref**2, rtol=1e-10)


def test_stein_divergence_values():
    rng = np.random.default_rng(1)
    P, Q = _spd(rng, (2, 3), 3), _spd(rng, (3,), 3)
    ref = geometry.stein_divergence(P, Q)
    ours = stt.stein_divergence(torch.tensor(P), torch.tensor(Q))
    np.testing.assert_allclose(ours.numpy(), ref, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("p", [1.0, 2.0])
def test_sinkhorn_divergence_values(p):
    rng = np.random.default_rng(2)
    X, Y = rng.normal(size=(12, 2)), rng.normal(size=(9, 2)) + 0.5
    a = np.full(12, 1 / 12)
    ref = geometry.sinkhorn_divergence(X, Y, reg=0.5, a=a, p=p).cost
    ours = stt.sinkhorn_divergence(torch.tensor(X), torch.tensor(Y), reg=0.5, a=a, p=p)
    assert abs(float(ours) - ref) <= 1e-8 * max(abs(ref), 1.0)
    by_keyword = stt.sinkhorn_divergence(X=torch.tensor(X), Y=torch.tensor(Y), reg=0.5, a=a, p=p)
    assert torch.equal(by_keyword, ours)


def test_sinkhorn_divergence_old_keywords_warn_and_give_the_same_result():
    rng = np.random.default_rng(3)
    x, y = torch.tensor(rng.normal(size=(8, 2))), torch.tensor(rng.normal(size=(7, 2)))
    new = stt.sinkhorn_divergence(x, y, reg=0.3)
    with pytest.warns(DeprecationWarning) as caught:
        old = stt.sinkhorn_divergence(x=x, y=y, reg=0.3)
    assert [str(w.message).split(" of ")[0] for w in caught] == [
        "the argument 'x'",
        "the argument 'y'",
    ]
    assert "is renamed 'X', as in its numpy namesake" in str(caught[0].message)
    assert "removed in sheaftopo 0.3" in str(caught[0].message)
    assert torch.equal(old, new)
    with pytest.raises(TypeError, match="both 'x'"):
        stt.sinkhorn_divergence(y, x=x, X=x, reg=0.3)


def _diagram(rng, n, essential=0):
    b = rng.uniform(0, 1, n)
    d = np.column_stack([b, b + rng.uniform(0, 1, n)])
    return np.vstack(
        [d, np.column_stack([rng.uniform(0, 1, essential), np.full(essential, np.inf)])]
    )


@pytest.mark.parametrize("kind", ["diagram", "point_cloud"])
@pytest.mark.parametrize(
    "settings", [{}, {"seed": 3}, {"directions": [0.2, -1.1, 0.7]}, {"n_directions": 7, "p": 3.0}]
)
@pytest.mark.parametrize("essential", [0, 2])
def test_sliced_wasserstein_values(kind, settings, essential):
    rng = np.random.default_rng(4)
    d1, d2 = _diagram(rng, 6, essential), _diagram(rng, 6 if kind == "diagram" else 9, essential)
    mode = "drop" if essential else "raise"
    ref = persistence.sliced_wasserstein(d1, d2, kind=kind, essential=mode, **settings)
    t1 = torch.tensor(d1, requires_grad=True)
    ours = stt.sliced_wasserstein(t1, torch.tensor(d2), kind=kind, essential=mode, **settings)
    assert abs(float(ours.detach()) - ref) <= 1e-12 * max(ref, 1.0)
    ours.backward()
    assert bool(torch.isfinite(t1.grad).all())
    if essential:  # no gradient reaches the dropped rows
        assert bool((t1.grad[-essential:] == 0).all())


def test_sliced_wasserstein_essential_errors_as_numpy():
    rng = np.random.default_rng(5)
    d1, d2 = _diagram(rng, 4, 1), _diagram(rng, 4, 2)
    with pytest.raises(ValueError, match=r"dgm1 must be finite.*essential='drop'"):
        stt.sliced_wasserstein(torch.tensor(d1), torch.tensor(d2))
    for fn, a, b in (
        (persistence.sliced_wasserstein, d1, d2),
        (stt.sliced_wasserstein, torch.tensor(d1), torch.tensor(d2)),
    ):
        with pytest.raises(ValueError, match=r"dgm1 has 1 essential point.*dgm2 has 2"):
            fn(a, b, essential="drop")
    nan = torch.tensor(d1).clone()
    nan[0, 0] = float("nan")
    with pytest.raises(ValueError, match="dgm1 must be finite"):
        stt.sliced_wasserstein(nan, torch.tensor(d1), essential="drop")
    with pytest.raises(ValueError, match="essential"):
        stt.sliced_wasserstein(torch.tensor(d1), torch.tensor(d1), essential="keep")
