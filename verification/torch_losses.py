"""Checks of the torch adapter's gradients (theory/h0-gradient.md, theory/spd-daleckii-krein.md).

Registered only when PyTorch imports (the adapter is an optional extra).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ._registry import register_legacy as register

try:
    import torch
except ImportError:  # pragma: no cover - the checks need the torch extra
    torch = None


def _h0_cloud(rng: np.random.Generator, i: int) -> tuple[str, np.ndarray]:
    n = int(rng.integers(4, 16))
    d = int(rng.integers(1, 5))
    family = i % 4
    if family == 0:
        return f"gaussian n={n} d={d}", rng.standard_normal((n, d))
    if family == 1:
        centres = rng.standard_normal((3, d)) * 10
        return f"clusters n={n} d={d}", centres[rng.integers(0, 3, n)] + rng.standard_normal((n, d))
    if family == 2:
        scales = 10.0 ** rng.uniform(-2, 2, d)
        return f"anisotropic n={n} d={d}", rng.standard_normal((n, d)) * scales
    s = float(10.0 ** rng.integers(-4, 5))
    return f"gaussian x {s:g} n={n} d={d}", rng.standard_normal((n, d)) * s


def _h0_gradient(rng: np.random.Generator, count: int) -> Iterator[tuple[str, float]]:
    from sheaftopo.persistence import h0_diagram as np_h0
    from sheaftopo.torch import h0_diagram

    for i in range(count):
        label, X = _h0_cloud(rng, i)
        n, d = X.shape
        w = rng.uniform(0.5, 2.0, n - 1)
        z = torch.tensor(X, requires_grad=True)
        deaths = h0_diagram(z)[:, 1]
        (torch.tensor(w) * deaths.square()).sum().backward()
        grad = z.grad.numpy()

        def f(Y: np.ndarray, w: np.ndarray = w) -> float:
            return float(np.sum(w * np.sort(np_h0(Y)[:-1, 1]) ** 2))

        h = 1e-6 * float(np.abs(X).max())
        fd = np.zeros_like(X)
        for a in range(n):
            for b in range(d):
                up, down = X.copy(), X.copy()
                up[a, b] += h
                down[a, b] -= h
                fd[a, b] = (f(up) - f(down)) / (2 * h)
        scale = max(float(np.abs(fd).max()), 1e-300)
        yield label, float(np.abs(grad - fd).max() / scale)


def _clustered_spd(rng: np.random.Generator, i: int) -> tuple[str, np.ndarray]:
    n = int(rng.integers(2, 5))
    gap = 10.0 ** -float(rng.integers(0, 13))
    base = rng.uniform(0.5, 3.0)
    lam = base + gap * np.arange(n) * rng.uniform(0.5, 1.0, n)
    if i % 3 == 0:
        lam[-1] = base * 4  # one separated eigenvalue
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return f"n={n} cluster gap {gap:.0e}", (Q * lam) @ Q.T


def _daleckii_krein(rng: np.random.Generator, count: int) -> Iterator[tuple[str, float]]:
    import mpmath

    from sheaftopo.torch import expm, invsqrtm, logm, sqrtm

    funcs = {"log": (logm, mpmath.logm), "sqrt": (sqrtm, mpmath.sqrtm),
             "invsqrt": (invsqrtm, lambda M: mpmath.inverse(mpmath.sqrtm(M))),
             "exp": (expm, mpmath.expm)}
    names = list(funcs)
    for i in range(count):
        label, A = _clustered_spd(rng, i)
        name = names[i % len(names)]
        ours, ref = funcs[name]
        n = len(A)
        E = rng.standard_normal((n, n))
        E = E + E.T
        W = rng.standard_normal((n, n))
        X = torch.tensor(A, requires_grad=True)
        (ours(X) * torch.tensor(W)).sum().backward()
        got = float((X.grad * torch.tensor(E)).sum())
        with mpmath.workdps(50):
            h = mpmath.mpf("1e-20")
            Am, Em, Wm = (mpmath.matrix(M.tolist()) for M in (A, E, W))
            up, down = ref(Am + h * Em), ref(Am - h * Em)
            exact = sum((up[a, b] - down[a, b]) * Wm[a, b]
                        for a in range(n) for b in range(n)) / (2 * h)
            scale = float(mpmath.norm(Wm) * mpmath.norm(Em)) * max(
                1.0, float(max(abs(x) for x in mpmath.eigsy(Am)[0])) ** -1.5)
        yield f"{name}, {label}", abs(got - float(exact)) / scale


if torch is not None:
    register(
        "h0-gradient",
        theory="h0-gradient.md",
        statement="autograd gradient of the H0 diagram = finite differences of the MST deaths",
        kind="error",
        tolerance=1e-5,
        quick=10,
        full=300,
    )(_h0_gradient)
    register(
        "spd-daleckii-krein",
        theory="spd-daleckii-krein.md",
        statement="guarded eigh backward = exact Frechet derivative, clustered spectra",
        kind="error",
        tolerance=1e-8,
        quick=12,
        full=400,
    )(_daleckii_krein)
