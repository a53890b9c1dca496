"""sheaftopo.torch sheaf losses and InfoNCE: against explicit references and sheaftopo.sheaf."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sheaftopo.sheaf import CellularSheaf, dirichlet_energy, laplacian  # noqa: E402
from sheaftopo.torch import (  # noqa: E402
    InfoNCELoss,
    SheafConsistencyLoss,
    info_nce,
    laplacian_tensor,
    sheaf_consistency_loss,
    sheaf_energy,
    sheaf_reconstruction_loss,
)

F64 = torch.float64


def rand(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64)


def test_consistency_equals_explicit_sum_over_edges_and_samples():
    E, N = 3, 7
    h_i, h_j = rand(E, N, 4, seed=1), rand(E, N, 5, seed=2)
    P_i, P_j = rand(E, 2, 4, seed=3), rand(E, 2, 5, seed=4)
    ref = 0.0
    for e in range(E):
        for n in range(N):
            r = P_i[e] @ h_i[e, n] - P_j[e] @ h_j[e, n]
            ref += float(r @ r)
    assert abs(float(sheaf_consistency_loss(h_i, h_j, P_i, P_j)) - ref / N) < 1e-10
    assert abs(float(sheaf_consistency_loss(h_i, h_j, P_i, P_j, reduction="sum")) - ref) < 1e-9


def test_reconstruction_equals_explicit_and_vanishes_for_left_inverse():
    h, P = rand(6, 4, seed=5), rand(3, 4, seed=6)
    Q = rand(4, 3, seed=7)
    ref = sum(float(((Q @ P @ h[n]) - h[n]).square().sum()) for n in range(6)) / 6
    assert abs(float(sheaf_reconstruction_loss(h, P, Q)) - ref) < 1e-10
    # square invertible P with Q = P^-1 reconstructs exactly
    Psq = rand(4, 4, seed=8) + 4 * torch.eye(4, dtype=F64)
    assert float(sheaf_reconstruction_loss(h, Psq, torch.linalg.inv(Psq))) < 1e-20


def test_sheaf_losses_gradcheck():
    h_i, h_j = rand(5, 3, seed=9).requires_grad_(), rand(5, 2, seed=10).requires_grad_()
    P_i, P_j = rand(2, 3, seed=11).requires_grad_(), rand(2, 2, seed=12).requires_grad_()
    Q = rand(3, 2, seed=13).requires_grad_()
    assert torch.autograd.gradcheck(sheaf_consistency_loss, (h_i, h_j, P_i, P_j))
    assert torch.autograd.gradcheck(sheaf_reconstruction_loss, (h_i, P_i, Q))


def test_energy_equals_numpy_dirichlet_energy_and_gradient_is_2Lx():
    sheaf = CellularSheaf.random(np.array([[0, 1], [1, 2], [2, 0], [2, 3]]), 3, 2, seed=0)
    x = rand(sheaf.dim_c0, seed=14)
    L = laplacian_tensor(sheaf)
    assert abs(float(sheaf_energy(x, L)) - dirichlet_energy(sheaf, x.numpy())) < 1e-12
    assert abs(float(sheaf_energy(x, sheaf)) - dirichlet_energy(sheaf, x.numpy())) < 1e-12
    X = rand(sheaf.dim_c0, 3, seed=15)
    assert abs(float(sheaf_energy(X, L)) - dirichlet_energy(sheaf, X.numpy()).sum()) < 1e-11
    xl = x.clone().requires_grad_()
    sheaf_energy(xl, L).backward()
    np.testing.assert_allclose(xl.grad.numpy(), 2 * (laplacian(sheaf) @ x.numpy()), rtol=1e-12)
    assert torch.autograd.gradcheck(lambda v: sheaf_energy(v, L), (xl,))
    w = [1.0, 2.0, 0.5, 3.0]
    np.testing.assert_allclose(laplacian_tensor(sheaf, weights=w).to_dense().numpy(),
                               laplacian(sheaf, weights=w).toarray())


def test_info_nce_equals_explicit_formula():
    za, zb = rand(6, 4, seed=16), rand(6, 4, seed=17)
    a = za / za.norm(dim=1, keepdim=True)
    b = zb / zb.norm(dim=1, keepdim=True)
    S = (a @ b.T).numpy() / 0.1
    ref = 0.0
    for i in range(6):
        ref -= S[i, i] - math.log(np.exp(S[i]).sum())
        ref -= S[i, i] - math.log(np.exp(S[:, i]).sum())
    ref /= 12
    assert abs(float(info_nce(za, zb)) - ref) < 1e-10
    assert torch.autograd.gradcheck(lambda x, y: info_nce(x, y, temperature=0.5),
                                    (za.clone().requires_grad_(), zb.clone().requires_grad_()))


def test_info_nce_module_learnable_temperature():
    za, zb = rand(6, 4, seed=18), rand(6, 4, seed=19)
    fixed = InfoNCELoss(0.2)
    learn = InfoNCELoss(0.2, learnable=True)
    assert abs(fixed.temperature - 0.2) < 1e-15
    assert abs(float(fixed(za, zb)) - float(info_nce(za, zb, temperature=0.2))) < 1e-12
    out = learn(za, zb)
    assert abs(float(out.detach()) - float(info_nce(za, zb, temperature=0.2))) < 1e-12
    out.backward()
    assert learn.log_scale.grad is not None and float(learn.log_scale.grad) != 0.0


def test_sheaf_edge_module_terms_and_training_step():
    edge = SheafConsistencyLoss(6, 4, seed=1).double()
    h_i, h_j = rand(32, 6, seed=20), rand(32, 4, seed=21)
    expected = (sheaf_consistency_loss(h_i, h_j, edge.P_i, edge.P_j)
                + info_nce(h_i @ edge.P_i.T, h_j @ edge.P_j.T)
                + 0.1 * (sheaf_reconstruction_loss(h_i, edge.P_i, edge.Q_i)
                         + sheaf_reconstruction_loss(h_j, edge.P_j, edge.Q_j)))
    assert abs(float(edge(h_i, h_j).detach()) - float(expected.detach())) < 1e-10
    # P is initialised with orthonormal rows and Q = P^T, so Q P is a projection
    QP = (edge.Q_i @ edge.P_i).detach()
    assert torch.allclose(QP @ QP, QP, atol=1e-6)
    opt = torch.optim.SGD(edge.parameters(), lr=0.05)
    before = float(edge(h_i, h_j).detach())
    for _ in range(20):
        opt.zero_grad()
        edge(h_i, h_j).backward()
        opt.step()
    assert float(edge(h_i, h_j).detach()) < before


def test_bad_input():
    h, P = rand(4, 3), rand(2, 3)
    with pytest.raises(ValueError, match=r"P_j must have shape \(\.\.\., d_out, 5\)"):
        sheaf_consistency_loss(h, rand(4, 5), P, rand(2, 3))
    with pytest.raises(ValueError, match="same edge space"):
        sheaf_consistency_loss(h, h, P, rand(3, 3))
    with pytest.raises(ValueError, match="same samples"):
        sheaf_consistency_loss(h, rand(5, 3), P, P)
    with pytest.raises(ValueError, match="same dtype"):
        sheaf_consistency_loss(h, h, P, P.float())
    with pytest.raises(ValueError, match="map back to the node space"):
        sheaf_reconstruction_loss(h, P, rand(4, 2))
    with pytest.raises(ValueError, match="reduction"):
        sheaf_reconstruction_loss(h, P, P.T, reduction="max")
    with pytest.raises(TypeError, match="CellularSheaf"):
        sheaf_energy(rand(3), np.eye(3))
    with pytest.raises(ValueError, match="one row per entry of x"):
        sheaf_energy(rand(4), torch.eye(3, dtype=F64))
    with pytest.raises(ValueError, match="same number of rows"):
        info_nce(rand(4, 3), rand(5, 3))
    with pytest.raises(ValueError, match="same embedding dimension"):
        info_nce(rand(4, 3), rand(4, 2))
    with pytest.raises(ValueError, match="temperature must be > 0"):
        info_nce(rand(4, 3), rand(4, 3), temperature=0.0)
    with pytest.raises(ValueError, match="zero row"):
        info_nce(torch.zeros(3, 2, dtype=F64), rand(3, 2))
    with pytest.raises(ValueError, match="at least 2 embeddings"):
        info_nce(rand(1, 3), rand(1, 3))
