"""sheaftopo.torch OT losses: values equal sheaftopo.geometry; gradients through the plan."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sheaftopo import geometry  # noqa: E402
from sheaftopo.torch import sinkhorn_divergence, transport_loss  # noqa: E402

F64 = torch.float64


def clouds(seed, n=12, m=9, d=3):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.standard_normal((m, d)) + 0.5


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
def test_values_equal_geometry(p):
    X, Y = clouds(0)
    a = np.full(12, 1 / 12)
    b = np.random.default_rng(1).dirichlet(np.ones(9))
    x, y = torch.tensor(X), torch.tensor(Y)
    ref = geometry.exact_transport(X, Y, a=a, b=b, p=p).cost
    assert abs(float(transport_loss(x, y, a=a, b=torch.tensor(b), p=p)) - ref) < 1e-10
    ref = geometry.entropic_transport(X, Y, reg=0.5, p=p).cost
    assert abs(float(transport_loss(x, y, reg=0.5, p=p)) - ref) < 1e-10
    ref = geometry.sinkhorn_divergence(X, Y, reg=0.5, p=p).cost
    # p = 1 self-transport: the zero diagonal of C(x, x) is computed to ~sqrt(eps)|x| by
    # the Gram identity (numpy) and cdist (torch), which the entropic term sees
    tol = 1e-8 if p == 1.0 else 1e-10
    assert abs(float(sinkhorn_divergence(x, y, reg=0.5, p=p)) - ref) < tol


def test_exact_gradient_is_plan_weighted_displacement():
    X, Y = clouds(2, n=6, m=6)
    x = torch.tensor(X, requires_grad=True)
    transport_loss(x, torch.tensor(Y)).backward()
    plan = geometry.exact_transport(X, Y, return_plan=True).plan
    expected = 2 * (X * plan.sum(1)[:, None] - plan @ Y)
    np.testing.assert_allclose(x.grad.numpy(), expected, atol=1e-12)


def test_gradcheck_exact_and_directional_derivative_entropic():
    X, Y = clouds(3, n=7, m=5)
    x, y = torch.tensor(X, requires_grad=True), torch.tensor(Y, requires_grad=True)
    assert torch.autograd.gradcheck(lambda u, v: transport_loss(u, v), (x, y))
    # entropic: the envelope gradient is exact at convergence; check one random
    # direction against central differences (each gradcheck entry is a solve)
    E = torch.tensor(np.random.default_rng(9).standard_normal(X.shape))
    h = 1e-5
    for fn in (lambda u: transport_loss(u, y.detach(), reg=1.0, tol=1e-11),
               lambda u: sinkhorn_divergence(u, y.detach(), reg=1.0, tol=1e-11)):
        u = x.detach().clone().requires_grad_(True)
        fn(u).backward()
        fd = (float(fn(x.detach() + h * E)) - float(fn(x.detach() - h * E))) / (2 * h)
        assert abs(float((u.grad * E).sum()) - fd) < 1e-6 * max(1.0, abs(fd))


def test_sinkhorn_divergence_identical_inputs_zero_with_zero_gradient():
    X, _ = clouds(4)
    x = torch.tensor(X, requires_grad=True)
    out = sinkhorn_divergence(x, torch.tensor(X), reg=0.2)
    out.backward()
    assert abs(float(out.detach())) < 1e-10
    # zero up to the Sinkhorn tolerance (the self-transport plan is symmetric to ~tol)
    assert float(x.grad.abs().max()) < 1e-5


def test_dtype_and_bad_input():
    X, Y = clouds(5)
    out = transport_loss(torch.tensor(X, dtype=torch.float32), torch.tensor(Y, dtype=torch.float32))
    assert out.dtype == torch.float32
    with pytest.raises(ValueError, match="same dimension"):
        transport_loss(torch.tensor(X), torch.tensor(Y[:, :2]))
    with pytest.raises(ValueError, match="reg must be > 0"):
        transport_loss(torch.tensor(X), torch.tensor(Y), reg=0.0)
    with pytest.raises(ValueError, match="same dtype"):
        transport_loss(torch.tensor(X), torch.tensor(Y, dtype=torch.float32))
    with pytest.raises(ValueError, match="x must be finite"):
        transport_loss(torch.tensor(X) * float("nan"), torch.tensor(Y))
    with pytest.raises(ValueError):  # weights that do not sum to one (geometry's policy)
        transport_loss(torch.tensor(X), torch.tensor(Y), a=np.ones(12))
