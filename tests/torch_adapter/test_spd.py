"""sheaftopo.torch SPD functions: values against scipy/pyRiemann/POT, finite gradients at ties."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import scipy.linalg as sla  # noqa: E402

from sheaftopo.torch import (  # noqa: E402
    expm,
    invsqrtm,
    logm,
    spd_distance,
    sqrtm,
    stein_divergence,
)

F64 = torch.float64


def random_spd(rng, n, batch=(), cond=10.0):
    A = rng.standard_normal((*batch, n, n))
    Qm, _ = np.linalg.qr(A)
    lam = np.exp(rng.uniform(0, np.log(cond), size=(*batch, n)))
    return (Qm * lam[..., None, :]) @ np.swapaxes(Qm, -1, -2)


def sym_leaf(A):
    return torch.tensor(A, dtype=F64, requires_grad=True)


def sym(X):
    """gradcheck perturbs single entries; the functions take symmetric input."""
    return 0.5 * (X + X.mT)


@pytest.mark.parametrize("fn,ref", [(logm, sla.logm), (sqrtm, sla.sqrtm),
                                    (expm, sla.expm),
                                    (invsqrtm, lambda A: np.linalg.inv(sla.sqrtm(A)))])
def test_matrix_functions_match_scipy(fn, ref):
    rng = np.random.default_rng(0)
    A = random_spd(rng, 5, batch=(3,))
    out = fn(torch.tensor(A)).numpy()
    for k in range(3):
        np.testing.assert_allclose(out[k], np.real(ref(A[k])), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("fn", [logm, sqrtm, expm, invsqrtm])
def test_matrix_function_gradcheck(fn):
    rng = np.random.default_rng(1)
    A = sym_leaf(random_spd(rng, 4, batch=(2,)))
    W = torch.tensor(rng.standard_normal((2, 4, 4)))
    assert torch.autograd.gradcheck(lambda X: (fn(X) * W).sum(), (A,))


@pytest.mark.parametrize("fn", [logm, sqrtm, expm, invsqrtm])
def test_gradient_finite_and_exact_at_repeated_eigenvalues(fn):
    # d/dA tr f(A) = f'(A): at A = c I (all eigenvalues equal) it is f'(c) I.
    derivative = {logm: lambda c: 1 / c, sqrtm: lambda c: 0.5 / np.sqrt(c),
                  expm: np.exp, invsqrtm: lambda c: -0.5 * c ** -1.5}[fn]
    for c in (1.0, 2.5):
        A = (c * torch.eye(4, dtype=F64)).requires_grad_(True)
        torch.diagonal(fn(A)).sum().backward()
        np.testing.assert_allclose(A.grad.numpy(), derivative(c) * np.eye(4), rtol=1e-12)
    # a partially repeated spectrum, against central differences
    A0 = np.diag([1.0, 1.0, 1.0 + 1e-9, 3.0])
    Q, _ = np.linalg.qr(np.random.default_rng(2).standard_normal((4, 4)))
    A0 = Q @ A0 @ Q.T
    E = np.random.default_rng(3).standard_normal((4, 4))
    E = E + E.T
    W = np.random.default_rng(4).standard_normal((4, 4))
    A = sym_leaf(A0)
    (fn(A) * torch.tensor(W)).sum().backward()
    assert bool(torch.isfinite(A.grad).all())
    h = 1e-6
    up = (fn(torch.tensor(A0 + h * E)) * torch.tensor(W)).sum()
    down = (fn(torch.tensor(A0 - h * E)) * torch.tensor(W)).sum()
    fd = float(up - down) / (2 * h)
    assert abs(float((A.grad * torch.tensor(E)).sum()) - fd) < 1e-6 * max(1, abs(fd))


def test_distances_match_pyriemann_and_pot():
    pyriemann = pytest.importorskip("pyriemann")
    try:
        from pyriemann.geometry.distance import distance_logeuclid, distance_riemann
    except ImportError:  # pyRiemann < 0.12
        from pyriemann.utils.distance import distance_logeuclid, distance_riemann

    import ot

    rng = np.random.default_rng(5)
    Ps, Qs = random_spd(rng, 6, batch=(4,)), random_spd(rng, 6, batch=(4,))
    ai = spd_distance(torch.tensor(Ps), torch.tensor(Qs))
    le = spd_distance(torch.tensor(Ps), torch.tensor(Qs), metric="log_euclidean")
    bw = spd_distance(torch.tensor(Ps), torch.tensor(Qs), metric="bures")
    for k in range(4):
        assert abs(float(ai[k]) - distance_riemann(Ps[k], Qs[k])) < 1e-10
        assert abs(float(le[k]) - distance_logeuclid(Ps[k], Qs[k])) < 1e-10
        ref = float(ot.gaussian.bures_wasserstein_distance(
            np.zeros(6), np.zeros(6), Ps[k], Qs[k]))
        assert abs(float(bw[k]) - ref) < 1e-8  # POT's sqrtm is less accurate than ours
    assert pyriemann is not None


def test_affine_invariance_and_squared():
    rng = np.random.default_rng(6)
    P_, Q_ = random_spd(rng, 5), random_spd(rng, 5)
    A = rng.standard_normal((5, 5))
    d = float(spd_distance(torch.tensor(P_), torch.tensor(Q_)))
    d2 = float(spd_distance(torch.tensor(A @ P_ @ A.T), torch.tensor(A @ Q_ @ A.T)))
    assert abs(d - d2) < 1e-9
    sq = float(spd_distance(torch.tensor(P_), torch.tensor(Q_), squared=True))
    assert abs(sq - d * d) < 1e-10
    s1 = float(stein_divergence(torch.tensor(P_), torch.tensor(Q_)))
    s2 = float(stein_divergence(torch.tensor(A @ P_ @ A.T), torch.tensor(A @ Q_ @ A.T)))
    assert abs(s1 - s2) < 1e-9


def test_stein_matches_logdet_formula():
    rng = np.random.default_rng(7)
    P_, Q_ = random_spd(rng, 4), random_spd(rng, 4)
    ref = (np.linalg.slogdet((P_ + Q_) / 2)[1]
           - 0.5 * (np.linalg.slogdet(P_)[1] + np.linalg.slogdet(Q_)[1]))
    assert abs(float(stein_divergence(torch.tensor(P_), torch.tensor(Q_))) - ref) < 1e-12


@pytest.mark.parametrize("metric", ["affine", "log_euclidean", "bures"])
def test_distance_gradcheck_and_zero_gradient_at_equality(metric):
    rng = np.random.default_rng(8)
    P_, Q_ = sym_leaf(random_spd(rng, 4, batch=(2,))), sym_leaf(random_spd(rng, 4, batch=(2,)))
    assert torch.autograd.gradcheck(
        lambda a, b: spd_distance(sym(a), sym(b), metric=metric).sum(), (P_, Q_))
    assert torch.autograd.gradcheck(
        lambda a, b: spd_distance(sym(a), sym(b), metric=metric, squared=True).sum(), (P_, Q_))
    # at P = Q (and at the identity, a fully repeated spectrum): zero value, zero gradient
    for base in (P_.detach(), torch.eye(4, dtype=F64).expand(2, 4, 4)):
        X = base.clone().requires_grad_(True)
        out = spd_distance(X, base, metric=metric, squared=True).sum()
        out.backward()
        assert float(out.detach()) < 1e-13  # Bures: cancellation of traces, ~eps * tr P
        assert bool(torch.isfinite(X.grad).all()) and float(X.grad.abs().max()) < 1e-7
        X = base.clone().requires_grad_(True)
        spd_distance(X, base, metric=metric).sum().backward()
        assert bool(torch.isfinite(X.grad).all())


def test_stein_gradcheck():
    rng = np.random.default_rng(9)
    P_, Q_ = sym_leaf(random_spd(rng, 3)), sym_leaf(random_spd(rng, 3))
    assert torch.autograd.gradcheck(lambda a, b: stein_divergence(sym(a), sym(b)), (P_, Q_))


def test_broadcasting_batches():
    rng = np.random.default_rng(10)
    P_ = torch.tensor(random_spd(rng, 3, batch=(4, 1)))
    Q_ = torch.tensor(random_spd(rng, 3, batch=(5,)))
    assert spd_distance(P_, Q_).shape == (4, 5)


def test_bad_input():
    rng = np.random.default_rng(11)
    P_ = torch.tensor(random_spd(rng, 3))
    with pytest.raises(ValueError, match="P must be symmetric"):
        spd_distance(P_ + torch.triu(torch.ones(3, 3, dtype=F64), 1), P_)
    with pytest.raises(ValueError, match="Q must be positive definite"):
        spd_distance(P_, -P_)
    with pytest.raises(ValueError, match=r"batch index \(1,\)"):
        spd_distance(torch.stack([P_, -P_]), P_)
    with pytest.raises(ValueError, match="same size"):
        spd_distance(P_, torch.eye(2, dtype=F64))
    with pytest.raises(ValueError, match="do not broadcast"):
        spd_distance(P_.expand(2, 3, 3), P_.expand(3, 3, 3))
    with pytest.raises(ValueError, match="square matrices"):
        logm(torch.ones(2, 3, dtype=F64))
    with pytest.raises(ValueError, match="positive definite A"):
        logm(-torch.eye(2, dtype=F64))
    with pytest.raises(ValueError, match="finite"):
        sqrtm(torch.full((2, 2), float("nan"), dtype=F64))
    with pytest.raises(ValueError, match="metric"):
        spd_distance(P_, P_, metric="stein")
    with pytest.raises(TypeError, match="floating-point"):
        logm(torch.eye(2, dtype=torch.int64))


@pytest.mark.parametrize("divergence", ["stein", "affine", "log_euclidean", "bures",
                                        "von_neumann"])
@pytest.mark.parametrize("shrinkage", ["ledoit_wolf", "oas", 0.2])
def test_local_alignment_loss_equals_geometry(divergence, shrinkage):
    from sheaftopo.geometry import local_alignment
    from sheaftopo.torch import local_alignment_loss

    rng = np.random.default_rng(12)
    X = rng.standard_normal((30, 4))
    Y = X @ rng.standard_normal((4, 4)) + 0.3 * rng.standard_normal((30, 4))
    ref = local_alignment(X, Y, k=6, divergence=divergence, shrinkage=shrinkage).mean
    ours = local_alignment_loss(torch.tensor(X), torch.tensor(Y), k=6, divergence=divergence,
                                shrinkage=shrinkage)
    assert abs(float(ours) - ref) < 1e-10 * max(1.0, ref)


def test_local_alignment_loss_gradcheck_and_zero_at_equality():
    from sheaftopo.torch import local_alignment_loss

    rng = np.random.default_rng(13)
    X = torch.tensor(rng.standard_normal((12, 3)), requires_grad=True)
    Y = torch.tensor(rng.standard_normal((12, 3)), requires_grad=True)
    for divergence in ("stein", "affine", "von_neumann"):
        assert torch.autograd.gradcheck(
            lambda a, b, dv=divergence: local_alignment_loss(a, b, k=5, divergence=dv,
                                                             shrinkage=0.3), (X, Y))
    Z = X.detach().clone().requires_grad_(True)
    out = local_alignment_loss(Z, X.detach() + 1.0, k=5)
    out.backward()
    assert float(out.detach()) < 1e-12 and float(Z.grad.abs().max()) < 1e-8
    with pytest.raises(ValueError, match="same dimension"):
        local_alignment_loss(X, Y[:, :2], k=3)
    with pytest.raises(ValueError, match="k"):
        local_alignment_loss(X, Y, k=12)
    with pytest.raises(ValueError, match="not all positive definite"):
        local_alignment_loss(torch.tensor(rng.standard_normal((12, 6))),
                             torch.tensor(rng.standard_normal((12, 6))), k=2, shrinkage=None)
