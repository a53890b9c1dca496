"""Bad input gets a clear error naming the argument; importing the subpackage stays light."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from _geometry_helpers import make_rng, random_spd

from sheaftopo.geometry import (
    covariance,
    entropic_transport,
    exact_transport,
    gaussian_wasserstein,
    knn_hausdorff,
    knn_indices,
    knn_overlap,
    label_scores,
    local_alignment,
    local_covariances,
    manifold_diagnostics,
    mmd2,
    modality_gap,
    sinkhorn_divergence,
    sliced_transport,
    spd_distance,
    spd_exp,
    spd_geodesic,
    spd_log,
    spd_mean,
    stein_divergence,
    von_neumann_divergence,
)

RNG = make_rng(99)
P = random_spd(RNG, 3)
Q = random_spd(RNG, 3)
NONSYM = P + np.triu(np.ones((3, 3)), 1) * 0.1
INDEF = np.diag([1.0, -0.5, 2.0])
SINGULAR = np.diag([1.0, 0.0, 2.0])
X = RNG.normal(size=(10, 2))
Y = RNG.normal(size=(12, 2))


def test_import_is_light():
    code = "import sys, sheaftopo.geometry; print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    mods = set(out.stdout.split())
    assert not {"ot", "sklearn", "torch", "numba", "scipy"} & mods


SPD_CALLS = [
    ("spd_distance", lambda A: spd_distance(A, Q)),
    ("spd_distance LE", lambda A: spd_distance(Q, A, metric="log_euclidean")),
    ("spd_distance BW", lambda A: spd_distance(A, Q, metric="bures")),
    ("spd_log", lambda A: spd_log(A, Q)),
    ("spd_log base", lambda A: spd_log(Q, A)),
    ("spd_exp base", lambda A: spd_exp(np.eye(3), A)),
    ("spd_geodesic", lambda A: spd_geodesic(Q, A, 0.5)),
    ("spd_mean", lambda A: spd_mean(np.stack([Q, A]))),
    ("stein", lambda A: stein_divergence(Q, A)),
    ("von_neumann", lambda A: von_neumann_divergence(A, Q)),
    ("gaussian", lambda A: gaussian_wasserstein(np.zeros(3), A, np.zeros(3), Q)),
]


@pytest.mark.parametrize(("label", "call"), SPD_CALLS, ids=[c[0] for c in SPD_CALLS])
def test_non_symmetric_indefinite_and_nan_matrices(label, call):
    with pytest.raises(ValueError, match=r"must be symmetric.*tolerance"):
        call(NONSYM)
    with pytest.raises(
        ValueError, match=r"must be symmetric positive definite.*smallest eigenvalue is -0\.5"
    ):
        call(INDEF)
    with pytest.raises(ValueError, match="must be symmetric positive definite"):
        call(SINGULAR)
    bad = Q.copy()
    bad[1, 1] = np.nan
    with pytest.raises(ValueError, match="must not contain NaN or inf"):
        call(bad)


def test_errors_name_the_argument_and_the_batch_index():
    batch = np.stack([P, P, INDEF])
    with pytest.raises(
        ValueError,
        match=r"^Q must be symmetric positive definite \(the matrix at batch index \(2,\)\)",
    ):
        spd_distance(P, batch)
    with pytest.raises(ValueError, match=r"^base must be"):
        spd_log(P, INDEF)
    with pytest.raises(ValueError, match=r"^V must be symmetric"):
        spd_exp(NONSYM, P)
    with pytest.raises(ValueError, match=r"^cov1 must be symmetric positive definite"):
        gaussian_wasserstein(np.zeros(3), INDEF, np.zeros(3), P)


def test_shapes():
    with pytest.raises(ValueError, match="square matrix or a batch"):
        spd_distance(np.ones((3, 2)), Q)
    with pytest.raises(ValueError, match="same size"):
        spd_distance(P, np.eye(2))
    with pytest.raises(ValueError, match=r"batch shapes of P \(4,\) and Q \(5,\) do not broadcast"):
        spd_distance(np.stack([P] * 4), np.stack([Q] * 5))
    with pytest.raises(ValueError, match="does not broadcast"):
        spd_geodesic(np.stack([P] * 4), Q, np.zeros(3))
    with pytest.raises(ValueError, match=r"shape \(n_matrices, n, n\)"):
        spd_mean(P)
    with pytest.raises(ValueError, match=r"init must have shape \(3, 3\)"):
        spd_mean(np.stack([P, Q]), init=np.eye(2))
    with pytest.raises(ValueError, match=r"mean1 must have shape \(\.\.\., 3\)"):
        gaussian_wasserstein(np.zeros(2), P, np.zeros(3), Q)
    with pytest.raises(TypeError, match="must hold real numbers"):
        spd_distance(P.astype(complex), Q)


def test_float32_symmetry_tolerance_is_looser():
    A = P.astype(np.float32)
    A[0, 1] += np.float32(1e-6) * np.abs(A).max()
    spd_distance(A, Q)  # float32 rounding-level asymmetry passes
    with pytest.raises(ValueError, match="symmetric"):
        spd_distance(A.astype(np.float64), Q)


WEIGHTED = [
    ("exact", lambda **kw: exact_transport(X, Y, **kw)),
    ("entropic", lambda **kw: entropic_transport(X, Y, reg=1.0, **kw)),
    ("divergence", lambda **kw: sinkhorn_divergence(X, Y, reg=1.0, **kw)),
    ("sliced", lambda **kw: sliced_transport(X, Y, **kw)),
]


@pytest.mark.parametrize(("label", "call"), WEIGHTED, ids=[c[0] for c in WEIGHTED])
def test_weights(label, call):
    a = np.full(10, 0.1)
    with pytest.raises(ValueError, match=r"a must sum to 1 .*got a sum of 2\.0.*not renormalised"):
        call(a=2 * a)
    with pytest.raises(ValueError, match=r"b must sum to 1"):
        call(b=np.full(12, 1.0))
    neg = a.copy()
    neg[[0, 1]] = [-0.1, 0.3]
    with pytest.raises(ValueError, match=r"a must be non-negative; found a\[0\] = -0\.1"):
        call(a=neg)
    nan = a.copy()
    nan[4] = np.nan
    with pytest.raises(ValueError, match="a must not contain NaN"):
        call(a=nan)
    with pytest.raises(ValueError, match=r"a must be a 1-D array of 10 weights"):
        call(a=np.full(9, 1 / 9))
    # within 1e-6 of one: accepted and divided by the sum
    near = a * (1 + 5e-7)
    assert call(a=near).cost == pytest.approx(call(a=a).cost, rel=1e-6)


def test_spd_mean_weights():
    S = np.stack([P, Q])
    with pytest.raises(ValueError, match="weights must sum to 1"):
        spd_mean(S, weights=[1.0, 1.0])
    with pytest.raises(ValueError, match="weights must be non-negative"):
        spd_mean(S, weights=[1.5, -0.5])


def test_transport_options():
    with pytest.raises(ValueError, match=r"reg must be > 0\.0; got 0\.0"):
        entropic_transport(X, Y, reg=0.0)
    with pytest.raises(ValueError, match="reg must be > 0"):
        sinkhorn_divergence(X, Y, reg=-1.0)
    with pytest.raises(ValueError, match="reg must be a finite real number"):
        entropic_transport(X, Y, reg=np.nan)
    with pytest.raises(TypeError, match="reg must be a real number"):
        entropic_transport(X, Y, reg="0.1")
    with pytest.raises(ValueError, match=r"p must be >= 1\.0"):
        exact_transport(X, Y, p=0.5)
    with pytest.raises(ValueError, match="same number of features"):
        exact_transport(X, np.ones((4, 3)))
    with pytest.raises(ValueError, match="X must not contain NaN or inf"):
        exact_transport(np.full((3, 2), np.nan), Y)
    with pytest.raises(ValueError, match="Y must be a 2-D array"):
        exact_transport(X, np.ones(3))
    with pytest.raises(ValueError, match="max_iter must be >= 1"):
        exact_transport(X, Y, max_iter=0)
    with pytest.raises(ValueError, match="tol must be > 0"):
        entropic_transport(X, Y, reg=1.0, tol=0.0)
    with pytest.raises(ValueError, match="n_projections must be >= 1"):
        sliced_transport(X, Y, n_projections=0)
    with pytest.raises(ValueError, match="seed has no effect when directions is given"):
        sliced_transport(X, Y, directions=[[1.0, 0.0]], seed=1)
    with pytest.raises(ValueError, match=r"directions must have shape \(n_directions, 2\)"):
        sliced_transport(X, Y, directions=[[1.0, 0.0, 0.0]])
    with pytest.raises(ValueError, match="directions has a zero row"):
        sliced_transport(X, Y, directions=[[1.0, 0.0], [0.0, 0.0]])
    with pytest.raises(ValueError, match="overflows"):
        exact_transport(X * 1e100, Y, p=4.0)


def test_spd_options():
    with pytest.raises(
        ValueError,
        match="metric must be one of 'affine', 'bures', 'euclidean', 'log_cholesky', "
        "'log_euclidean', 'power'; got 'euclid'",
    ):
        spd_distance(P, Q, metric="euclid")
    with pytest.raises(ValueError, match="tol must be > 0"):
        spd_mean(np.stack([P, Q]), tol=0.0)
    with pytest.raises(ValueError, match="max_iter must be >= 0"):
        spd_mean(np.stack([P, Q]), max_iter=-1)
    with pytest.raises(ValueError, match="t must be finite"):
        spd_geodesic(P, Q, np.inf)


def test_neighbour_counts():
    Z = RNG.normal(size=(6, 2))
    for fn in (
        lambda k: knn_indices(Z, k=k),
        lambda k: local_covariances(Z, k=k),
        lambda k: knn_overlap(Z, Z, k=k),
        lambda k: knn_hausdorff(Z, Z, k=k),
        lambda k: manifold_diagnostics(Z, Z, k=k),
        lambda k: local_alignment(Z, Z, k=k),
    ):
        with pytest.raises(ValueError, match=r"k must be at most n - 1 = 5 for X with 6 points"):
            fn(6)
        with pytest.raises(ValueError, match="k must be >= 1"):
            fn(0)
        with pytest.raises(TypeError, match="k must be an integer"):
            fn(2.0)


def test_diagnostics_inputs():
    with pytest.raises(ValueError, match="same number of features"):
        mmd2(np.ones((5, 2)), np.ones((5, 3)))
    with pytest.raises(ValueError, match="X and Y must each hold at least 2 samples"):
        mmd2(np.ones((1, 2)), np.ones((5, 2)))
    with pytest.raises(ValueError, match="bandwidth must be > 0"):
        mmd2(X, Y, bandwidth=0.0)
    with pytest.raises(ValueError, match="bandwidth must be > 0"):
        mmd2(X, Y, bandwidth=[1.0, -1.0])
    with pytest.raises(ValueError, match="non-empty sequence"):
        mmd2(X, Y, bandwidth=[])
    with pytest.raises(ValueError, match="median-heuristic bandwidth is 0"):
        mmd2(np.zeros((5, 2)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="same number of rows"):
        knn_overlap(X, Y, k=2)
    with pytest.raises(ValueError, match="zero row"):
        modality_gap(np.zeros((2, 2)), X)
    with pytest.raises(ValueError, match="distance 0"):
        knn_hausdorff(np.zeros((5, 2)), RNG.normal(size=(5, 2)), k=2)
    with pytest.raises(ValueError, match="between 2 and n - 1"):
        label_scores(X, np.zeros(10))
    with pytest.raises(ValueError, match="one per row"):
        label_scores(X, np.arange(9) % 2)
    with pytest.raises(ValueError, match="at least 2 samples"):
        covariance(np.ones((1, 3)))
    with pytest.raises(ValueError, match="shrinkage must be one of 'ledoit_wolf', 'oas'"):
        covariance(X, shrinkage="lw")
    with pytest.raises(ValueError, match=r"shrinkage must be <= 1\.0"):
        covariance(X, shrinkage=1.5)
    with pytest.raises(ValueError, match="divergence must be one of"):
        local_alignment(X, X, k=2, divergence="kl")
