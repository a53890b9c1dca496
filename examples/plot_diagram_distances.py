"""
Distances between persistence diagrams
======================================

Three distances compare persistence diagrams: the bottleneck distance (the
largest move of an optimal matching), the Wasserstein distances :math:`W_p`
(the :math:`p`-norm of the moves) and the sliced Wasserstein distance of
Carrière, Cuturi and Oudot (an average of one-dimensional transport costs over
directions of the plane: cheap, differentiable, and within a factor of two of
:math:`W_1`). This example measures all of them between the H0 diagrams of a
point cloud and of noisy copies of it, checks the stability theorem, compares
the numbers with GUDHI's, and watches the sliced distance converge as its
number of directions grows.
"""

# %%
# A cloud and its noisy copies
# ----------------------------
# 200 points on a noisy circle, and copies moved by Gaussian noise of growing
# size. The stability theorem of H0 says the bottleneck distance between the
# diagrams is at most the largest change of any pairwise distance.
import gudhi
import gudhi.wasserstein
import matplotlib.pyplot as plt
import numpy as np
from scipy.spatial.distance import pdist

from sheaftopo.persistence import bottleneck, h0_diagram, sliced_wasserstein, wasserstein

rng = np.random.default_rng(0)
angle = rng.uniform(0, 2 * np.pi, 200)
X = np.c_[np.cos(angle), np.sin(angle)] + 0.1 * rng.standard_normal((200, 2))
noise = rng.standard_normal(X.shape)
levels = np.linspace(0.0, 0.2, 9)

dgm_x = h0_diagram(X)
rows = []
for s in levels:
    Y = X + s * noise
    dgm_y = h0_diagram(Y)
    rows.append(
        (
            bottleneck(dgm_x, dgm_y),
            wasserstein(dgm_x, dgm_y, p=1.0),
            wasserstein(dgm_x, dgm_y, p=2.0),
            sliced_wasserstein(dgm_x, dgm_y, essential="drop"),
            np.abs(pdist(X) - pdist(Y)).max(),
        )
    )
d_b, w_1, w_2, sw, stability = np.array(rows).T
assert np.all(d_b <= stability + 1e-12)

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.8))
ax1.scatter(*X.T, s=6, label="X")
ax1.scatter(*(X + levels[-1] * noise).T, s=6, label=f"X + noise ($\\sigma$ = {levels[-1]:.1f})")
ax1.set_aspect("equal")
ax1.set_title("The cloud and its most perturbed copy")
ax1.legend(loc="center", fontsize=8)
ax2.plot(levels, stability, "k:", label="max $|D_X - D_Y|$ (stability bound)")
ax2.plot(levels, d_b, "o-", label="bottleneck")
ax2.plot(levels, w_2, "s-", label="Wasserstein $W_2$")
ax2.plot(levels, w_1, "^-", label="Wasserstein $W_1$")
ax2.plot(levels, sw, "d-", label="sliced Wasserstein")
ax2.set_yscale("symlog", linthresh=0.01)
ax2.set_xlabel("noise level $\\sigma$")
ax2.set_ylabel("distance between H0 diagrams")
ax2.set_title("Diagram distances as the cloud moves")
ax2.legend(fontsize=7)
fig.tight_layout()

# %%
# The bottleneck distance stays below the stability bound, and the
# Wasserstein distances grow with the number of points that move: 199 finite
# points each move a little, so :math:`W_1` sums many small moves while the
# bottleneck distance sees only the largest.
#
# The same numbers from GUDHI
# ---------------------------
# ``bottleneck`` runs GUDHI's Hera solver and refines its answer to an exact
# pairwise distance; ``wasserstein`` solves the matching problem of GUDHI's
# ``wasserstein_distance`` (essential points matched separately) with POT's
# exact solver. On this pair the numbers agree to every printed digit.
dgm_y = h0_diagram(X + levels[-1] * noise)
gudhi_b = gudhi.bottleneck_distance(dgm_x, dgm_y)
print(f"bottleneck: sheaftopo {bottleneck(dgm_x, dgm_y):.12f}  GUDHI {gudhi_b:.12f}")
gudhi_w1 = gudhi.wasserstein.wasserstein_distance(dgm_x, dgm_y, order=1, internal_p=np.inf)
print(f"W1:         sheaftopo {wasserstein(dgm_x, dgm_y, p=1.0):.12f}  GUDHI {gudhi_w1:.12f}")

# %%
# The sliced distance and its directions
# --------------------------------------
# The sliced Wasserstein distance averages over :math:`M` evenly spaced
# directions (deterministic by default); with random directions it is a Monte
# Carlo estimate. Both converge to the integral over all directions, and the
# limit is at most :math:`2 W_1` (:doc:`/theory/sliced-wasserstein-bound`).
# H0 diagrams carry one essential point each; ``essential="drop"`` leaves it
# out, which is exact when both diagrams have one.
n_dirs = np.array([1, 2, 4, 8, 16, 32, 64, 128, 256])
even = [sliced_wasserstein(dgm_x, dgm_y, n_directions=m, essential="drop") for m in n_dirs]
random = [
    sliced_wasserstein(dgm_x, dgm_y, n_directions=m, seed=1, essential="drop") for m in n_dirs
]
fig, ax = plt.subplots(figsize=(6.4, 3.6))
ax.semilogx(n_dirs, even, "o-", base=2, label="evenly spaced directions")
ax.semilogx(n_dirs, random, "s-", base=2, label="random directions (seed 1)")
ax.axhline(2 * w_1[-1], color="k", ls=":", label="$2 W_1$ (upper bound)")
ax.set_xlabel("number of directions M")
ax.set_ylabel("sliced Wasserstein")
ax.set_title(f"Sliced Wasserstein between the diagrams ($\\sigma$ = {levels[-1]:.1f})")
ax.legend()
fig.tight_layout()

# %%
# Evenly spaced directions settle after a few dozen; the default, 50, is
# what :class:`sheaftopo.torch.TopologicalAlignmentLoss` uses, which makes
# the loss and its gradient deterministic.
