"""
SPD geometry: geodesics and the Fréchet mean
============================================

Covariance matrices are symmetric positive definite (SPD), and the straight
line between two of them is a poor path: the determinant swells in the middle
and extrapolating leaves the cone. :mod:`sheaftopo.geometry` offers the
Riemannian alternatives — the affine-invariant metric, the log-Euclidean metric
and the Bures–Wasserstein metric of Gaussian optimal transport — with their
geodesics, exponential and logarithm maps, distances and Fréchet means.

A 2 × 2 SPD matrix :math:`P` is drawn as the ellipse
:math:`\\{x : x^\\top P^{-1} x = 1\\}` (the one-standard-deviation contour of
a Gaussian with covariance :math:`P`).
"""

# %%
# Four paths between two covariances
# ----------------------------------
import matplotlib.pyplot as plt
import numpy as np

from sheaftopo.datasets import load_mfeat
from sheaftopo.geometry import local_covariances, spd_distance, spd_geodesic, spd_mean


def ellipse(ax, P, *fmt, center=(0.0, 0.0), **style):
    """Draw the ellipse x^T P^-1 x = 1 around ``center``."""
    w, V = np.linalg.eigh(P)
    angle = np.linspace(0, 2 * np.pi, 100)
    circle = np.stack([np.cos(angle), np.sin(angle)])
    ax.plot(*(V @ (np.sqrt(w)[:, None] * circle) + np.asarray(center)[:, None]), *fmt, **style)


def rotation(a):
    return np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])


P = np.diag([1.0, 0.02])  # long and thin, along x
Q = rotation(np.pi / 2.2) @ np.diag([1.0, 0.02]) @ rotation(np.pi / 2.2).T  # nearly along y
t = np.linspace(0.0, 1.0, 7)
paths = {
    "straight line (Euclidean)": (1 - t)[:, None, None] * P + t[:, None, None] * Q,
    "affine-invariant": spd_geodesic(P, Q, t, metric="affine"),
    "log-Euclidean": spd_geodesic(P, Q, t, metric="log_euclidean"),
    "Bures-Wasserstein": spd_geodesic(P, Q, t, metric="bures"),
}

fig, axes = plt.subplots(len(paths), 1, figsize=(8, 6.5), sharex=True)
for ax, (name, path) in zip(axes, paths.items(), strict=True):
    for k, M in enumerate(path):
        ellipse(ax, M, center=(2.2 * k, 0.0), color=plt.cm.viridis(k / (len(t) - 1)))
    ax.set_aspect("equal")
    ax.set_ylim(-1.1, 1.1)
    ax.set_yticks([])
    ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
axes[-1].set_xticks(2.2 * np.arange(len(t)), [f"t = {s:.2f}" for s in t])
fig.suptitle("Paths from P (t = 0) to Q (t = 1) in four geometries")
fig.tight_layout()

# %%
# The Euclidean path swells: its middle matrix is nearly a disc, with a
# determinant many times those of the ends. The affine-invariant and
# log-Euclidean geodesics keep :math:`\\log\\det` linear in t (equal
# determinants here), turning the ellipse instead of inflating it; the
# Bures–Wasserstein path, which moves Gaussians by optimal transport, lies in
# between.
fine = np.linspace(0.0, 1.0, 101)
fig, ax = plt.subplots(figsize=(6.4, 3.4))
ax.plot(
    fine, np.linalg.det((1 - fine)[:, None, None] * P + fine[:, None, None] * Q), label="Euclidean"
)
for metric, label, style in [
    ("affine", "affine-invariant", "-"),
    ("log_euclidean", "log-Euclidean (same determinants)", ":"),
    ("bures", "Bures-Wasserstein", "-"),
]:
    det = np.linalg.det(spd_geodesic(P, Q, fine, metric=metric))
    ax.plot(fine, det, style, lw=2, label=label)
ax.set_yscale("log")
ax.set_xlabel("t")
ax.set_ylabel("det of the point at t")
ax.set_title("The swelling effect")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# Along each geodesic the distance from P grows linearly,
# :math:`d(P, \\gamma(t)) = t\\, d(P, Q)`:
for metric in ["affine", "log_euclidean", "bures"]:
    d = spd_distance(P, spd_geodesic(P, Q, t, metric=metric), metric=metric)
    print(
        f"{metric:14s} d(P, gamma(t)) / d(P, Q) =",
        np.round(d / spd_distance(P, Q, metric=metric), 3),
    )

# %%
# The Fréchet mean of local covariances
# -------------------------------------
# The Fréchet mean :math:`\arg\min_M \sum_i d^2(M, P_i)` replaces the
# arithmetic mean on the SPD cone. Here the :math:`P_i` are local covariances
# of the digits: the 2,000 digits projected on the first two principal axes of
# their 76 Fourier coefficients (``fou``), and the covariance of the 10 nearest
# neighbours of 12 digits drawn at random
# (:func:`~sheaftopo.geometry.local_covariances`).
data = load_mfeat(["fou"], standardize=True)
X = data["fou"] - data["fou"].mean(axis=0)
Z = X @ np.linalg.svd(X, full_matrices=False)[2][:2].T  # 2000 x 2
chosen = np.random.default_rng(0).choice(len(Z), 12, replace=False)
covs = local_covariances(Z, k=10)[chosen]  # 12 x 2 x 2

means = {"arithmetic": covs.mean(axis=0)}
for metric, label in [
    ("affine", "affine-invariant"),
    ("log_euclidean", "log-Euclidean"),
    ("bures", "Bures-Wasserstein"),
]:
    result = spd_mean(covs, metric=metric)
    means[label] = result.mean
    print(
        f"{label:18s} converged={result.converged} after {result.n_iter} iterations, "
        f"gradient norm {result.gradient_norm:.1e}, det {np.linalg.det(result.mean):.2e}"
    )
print(f"arithmetic mean's det {np.linalg.det(means['arithmetic']):.2e}")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4.6))
ax1.scatter(*Z.T, s=2, color="lightgrey")
for C, z in zip(covs, Z[chosen], strict=True):
    ellipse(ax1, 3 * C, "C3", center=z, lw=1)  # drawn at 3 x scale to be seen
ax1.set_aspect("equal")
ax1.set_xlabel("first principal axis")
ax1.set_ylabel("second principal axis")
ax1.set_title("12 local covariances of the digits (3x scale)")
for c, C in enumerate(covs):
    ellipse(ax2, C, color="lightgrey", lw=1, label="the 12 covariances" if c == 0 else None)
for (label, M), fmt in zip(means.items(), ["k--", "C0-", "C1:", "C2-"], strict=True):
    ellipse(ax2, M, fmt, lw=2, label=f"{label} mean")
ax2.set_aspect("equal")
ax2.set_title("The covariances, centred, and their means")
ax2.legend(fontsize=8, loc="upper right")
fig.tight_layout()

# %%
# The arithmetic mean is the largest (it averages the matrices, so it swells
# like the straight line above); the affine-invariant and log-Euclidean means
# nearly coincide and keep the geometric mean of the determinants; the
# Bures–Wasserstein mean, the barycenter of the Gaussians in optimal
# transport, lies in between. The affine-invariant mean is the one that does
# not depend on the coordinates: transform every :math:`P_i` by
# :math:`A P_i A^\top` and the mean transforms the same way.
