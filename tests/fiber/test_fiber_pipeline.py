"""The paper's pipeline end to end on real images (scikit-learn's bundled digits) and texts."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from sheaftopo.fiber import (
    approximate_fiber_product,
    encode_image,
    encode_tokens,
    evaluation_embedding,
    fiber_profile,
    poly_distance,
    subspace_decomposition,
)

NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TEMPLATES = [
    "a handwritten {}",
    "the digit {}",
    "a {} written by hand",
    "an image of the number {}",
]


@pytest.fixture(scope="module")
def pipeline():
    digits = load_digits()
    images = np.rint(digits.images * (255 / 16)).astype(np.uint8)  # 8-bit intensities
    labels = digits.target
    P = encode_image(images, patch_size=4)  # four 4x4 patches: polynomials in Z_256[x]
    vocab = {"<pad>": 0}
    rng = np.random.default_rng(0)
    seqs = []
    for y in labels:
        words = TEMPLATES[rng.integers(len(TEMPLATES))].format(NAMES[y]).split()
        seqs.append([vocab.setdefault(w, len(vocab)) for w in words])
    Q = encode_tokens(seqs, vocab_size=len(vocab))  # polynomials in Z_|V|[x]
    f = evaluation_embedding(16, modulus=256, n_points=6)
    g = evaluation_embedding(Q.shape[1], modulus=len(vocab), n_points=6)
    FX, GY = f(P), g(Q)
    dec = subspace_decomposition(FX, GY, seed=0)
    F = dec.x.shared_coordinates(FX)  # both modalities in the shared space Z_s
    G = dec.y.shared_coordinates(GY)
    return {
        "P": P,
        "Q": Q,
        "f": f,
        "g": g,
        "dec": dec,
        "F": F,
        "G": G,
        "labels": labels,
        "images": images,
    }


def test_encodings_and_shared_space(pipeline):
    assert pipeline["P"].shape == (1797, 4, 16) and pipeline["P"].dtype == np.uint8
    assert pipeline["Q"].shape[0] == 1797
    dec = pipeline["dec"]
    assert dec.n_shared >= 1 and dec.correlations[0] > 0.5
    assert pipeline["F"].shape == pipeline["G"].shape == (1797, dec.n_shared)


def test_fiber_profile_recall_and_epsilon_star(pipeline):
    F, G, labels = pipeline["F"], pipeline["G"], pipeline["labels"]
    grid = np.linspace(0, 4, 41)
    prof = fiber_profile(F, G, grid, true_pairs="diagonal")
    assert (np.diff(prof.recall) >= 0).all() and (np.diff(prof.counts) >= 0).all()
    assert prof.epsilon_star == prof.true_distances.max()
    # every true pair is inside at eps* (checked on the first 400 items), not just below
    inside = approximate_fiber_product(F[:400], G[:400], prof.epsilon_star)
    assert (inside.rows == inside.cols).sum() == 400
    worst = int(np.argmax(prof.true_distances))
    assert np.linalg.norm(F[worst] - G[worst]) == pytest.approx(prof.epsilon_star, rel=1e-14)
    # the aligned product prefers pairs of the same digit over chance (1 in 10)
    small = approximate_fiber_product(F, G, 0.5)
    same = labels[small.rows] == labels[small.cols]
    assert same.mean() > 0.12
    # the true pairs are closer than unrelated pairs
    assert np.median(prof.true_distances) < np.median(np.abs(F[:, 0] - G[::-1, 0]))


def test_lipschitz_perturbation_keeps_pairs_in_the_enlarged_product(pipeline):
    f, dec, F, G = pipeline["f"], pipeline["dec"], pipeline["F"], pipeline["G"]
    rng = np.random.default_rng(1)
    images = pipeline["images"].astype(int)
    moved = np.clip(images + rng.integers(-12, 13, images.shape), 0, 255).astype(np.uint8)
    P2 = encode_image(moved, patch_size=4)
    F2 = dec.x.shared_coordinates(f(P2))
    lip = f.lipschitz * np.linalg.norm(dec.x.weights, 2)  # of P -> shared coordinates
    delta = poly_distance(pipeline["P"], P2, modulus=256)
    eps = 0.05
    prod = approximate_fiber_product(F, G, eps)
    assert prod.n_pairs > 1000
    after = np.linalg.norm(F2[prod.rows] - G[prod.cols], axis=1)
    assert (after <= eps + lip * delta[prod.rows] + 1e-12).all()
    enlarged = approximate_fiber_product(F2, G, eps + lip * delta.max())
    n = len(G)
    kept = np.isin(prod.rows * n + prod.cols, enlarged.rows * n + enlarged.cols)
    assert kept.all()
