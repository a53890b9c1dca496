"""
Verify a statement of your own
==============================

:mod:`sheaftopo.verify` is the harness behind the library's theory pages, and
it checks statements of your own just as well. A statement is a function of
an instance that returns ``(observed, bound)``; it holds when
``observed <= bound``, and its *ratio* ``observed / bound`` says how close it
comes to failing. Families generate instances — random, adversarial (ties,
duplicates, huge and tiny magnitudes) or sharp — and :func:`~sheaftopo.verify.check`,
:func:`~sheaftopo.verify.search` and :func:`~sheaftopo.verify.shrink` measure,
attack and minimise.

The statement here: moving every point of a cloud by at most :math:`\\delta`
moves its H0 persistence diagram by at most :math:`2\\delta` in the bottleneck
distance,

.. math::

    d_B\\big(\\mathrm{Dgm}_0(X), \\mathrm{Dgm}_0(Y)\\big) \\le
    2 \\max_i \\|x_i - y_i\\| ,

because every pairwise distance changes by at most :math:`2\\delta` (and H0 is
stable under such changes). Is the factor 2 needed? We check the claim with
constant 2, and try to refute it with constant 1.
"""

# %%
# The statement and its families
# ------------------------------
import matplotlib.pyplot as plt
import numpy as np

from sheaftopo.persistence import bottleneck, h0_diagram
from sheaftopo.verify import Family, Statement, check, point_clouds, search


def displacement_bound(constant):
    def evaluate(inst):
        X, Y = inst["X"], inst["Y"]
        observed = bottleneck(h0_diagram(X), h0_diagram(Y))
        delta = np.linalg.norm(X - Y, axis=1).max()
        # room for the rounding of the distances, a few ulps of the coordinates
        rounding = 16 * np.finfo(float).eps * max(np.abs(X).max(), np.abs(Y).max())
        return observed, constant * delta + rounding

    return Statement(f"d_B <= {constant:g} max displacement", evaluate)


def moved(kind):
    """Clouds of a kind, and a copy with every point moved by noise."""
    clouds = point_clouds(kind, n=(3, 25), dim=(1, 3))

    def sample(rng):
        X = clouds.sample(rng)["X"]
        step = rng.uniform(1e-3, 0.3) * (np.abs(X).max() or 1.0)
        return {"X": X, "Y": X + step * rng.standard_normal(X.shape)}

    return Family(f"{kind} + noise", sample)


def two_points_apart(rng):
    """Two points pushed apart symmetrically: the one death grows by 2 delta.

    (Pushed by more than a quarter of their distance, the bottleneck matching
    would rather send the points to the diagonal: the ratio drops below 1.)
    """
    d = rng.uniform(0.01, 0.2)
    return {"X": np.array([[0.0], [1.0]]), "Y": np.array([[-d], [1.0 + d]])}


families = [moved("gaussian"), moved("lattice"), moved("duplicates"), moved("clusters")]
sharp = Family("two points pushed apart", two_points_apart, tight=True)
claim = displacement_bound(2.0)

# %%
# Check it
# --------
# :func:`~sheaftopo.verify.check` draws 60 instances of every family (seeded
# per statement and family: the report is reproducible) and reports the
# worst ratio of each.
report = check(claim, [*families, sharp], n=60)
print(f"holds: {report.holds}, worst ratio {report.worst:.3f} ({report.worst_label})")
for fam in report.families:
    print(f"  {fam.family:26s} worst {fam.worst:.3f}  violations {fam.violations}")
print(f"worst ratio on the sharp family: {report.tight_worst():.6f}")

# %%
# The ratio of each instance shows how much room the bound leaves: the random
# families stay well below 1, and only the sharp family reaches it — the
# factor 2 cannot be improved.
rng = np.random.default_rng(0)
fig, ax = plt.subplots(figsize=(6.4, 3.6))
bins = np.linspace(0, 1.05, 43)
for fam in [*families, sharp]:
    ratios = [claim.measure(fam.sample(rng)).ratio for _ in range(60)]
    ax.hist(ratios, bins=bins, histtype="step", lw=1.5, label=fam.name)
ax.axvline(1.0, color="k", ls=":")
ax.set_xlabel("observed / bound")
ax.set_ylabel("instances")
ax.set_title("d_B <= 2 max displacement: the ratio on 60 instances per family")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# Refute the constant 1
# ---------------------
# Random sampling refutes the constant 1 on these families already (the
# worst ratios above were 0.5–0.9 of twice the displacement); a claim that is
# only slightly wrong would need more. :func:`~sheaftopo.verify.search`
# maximises the ratio: random restarts, each followed by a local search that
# keeps the moves that raise the ratio. When the best instance violates the
# statement it is shrunk — rows dropped, numbers rounded — while it stays a
# counterexample. The same search run on the true statement climbs to 1 and
# no further.
planted = displacement_bound(1.0)
print("random check of the constant 1 holds:", check(planted, families, n=30).holds)
small = moved("gaussian")
found = search(planted, small, restarts=6, steps=60)
true = search(claim, small, restarts=6, steps=60)
print(f"constant 1: worst ratio {found.worst:.3f} after {found.evaluations} evaluations")
print(f"constant 2: worst ratio {true.worst:.3f}, counterexample: {true.counterexample}")
cex = found.counterexample
print("shrunk counterexample:", {k: v.tolist() for k, v in cex.instance.items()})
print("its measurement:", cex.measurement)

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.6))
ax1.plot(np.arange(1, len(found.trace) + 1), found.trace, "o-", label="constant 1")
ax1.plot(np.arange(1, len(true.trace) + 1), true.trace, "s-", label="constant 2")
ax1.axhline(1.0, color="k", ls=":")
ax1.set_xlabel("restart")
ax1.set_ylabel("best ratio so far")
ax1.set_title("Adversarial search")
ax1.legend()
X, Y = (np.atleast_2d(cex.instance[k]) for k in ("X", "Y"))
Xp = np.c_[X[:, :1], np.zeros(len(X))] if X.shape[1] == 1 else X[:, :2]
Yp = np.c_[Y[:, :1], np.zeros(len(Y))] if Y.shape[1] == 1 else Y[:, :2]
ax2.scatter(*Xp.T, s=60, label="X")
ax2.scatter(*Yp.T, s=60, marker="x", label="Y")
for p, q in zip(Xp, Yp, strict=True):
    ax2.annotate("", q, p, arrowprops={"arrowstyle": "->", "color": "grey"})
ax2.set_title(f"The shrunk counterexample (ratio {cex.measurement.ratio:.2f})")
ax2.set_xlabel("first coordinate")
ax2.set_yticks([])
ax2.legend()
fig.tight_layout()

# %%
# The counterexample is the sharp configuration: two points that move
# towards (or away from) each other change their distance by up to twice the
# largest displacement, and the death of their H0 class with it. To make such
# a check part of a test suite, call ``claim.measure`` in a Hypothesis
# property test with ``sheaftopo.verify.strategies``; to add it to
# ``python -m verification``, write its theory page and register it (see the
# tutorial :doc:`/tutorials/verify`).
