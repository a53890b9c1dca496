"""Polynomial rings Z_n[x]: encodings, batched arithmetic against sympy, embeddings."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from sheaftopo.fiber import (
    MAX_MODULUS,
    PolynomialEmbedding,
    encode_image,
    encode_tokens,
    evaluation_embedding,
    is_unit,
    poly_add,
    poly_degree,
    poly_distance,
    poly_eval,
    poly_mul,
    poly_reduce,
    poly_sub,
    projection_embedding,
    unit_inverse,
)

X = sympy.symbols("x")
MODULI = st.one_of(
    st.sampled_from([2, 3, 4, 256, 257, 1000, 2**31 - 1, 2**31]), st.integers(2, 5000)
)


def _sympy_poly(coeffs):
    # sympy wants descending coefficients; ours are ascending
    return sympy.Poly(list(reversed([int(c) for c in coeffs])), X, domain="ZZ")


def _sympy_coeffs(poly, n, length):
    """Ascending coefficients of a sympy integer polynomial, reduced mod n, padded."""
    desc = [int(c) % n for c in poly.all_coeffs()]
    asc = list(reversed(desc))
    return asc + [0] * (length - len(asc))


@st.composite
def ring_pair(draw):
    n = draw(MODULI)
    lp = draw(st.integers(1, 12))
    lq = draw(st.integers(1, 12))
    P = draw(st.lists(st.integers(0, n - 1), min_size=lp, max_size=lp))
    Q = draw(st.lists(st.integers(0, n - 1), min_size=lq, max_size=lq))
    return n, P, Q


@settings(max_examples=150)
@given(ring_pair())
def test_mul_add_sub_equal_sympy(args):
    n, P, Q = args
    sp, sq = _sympy_poly(P), _sympy_poly(Q)
    L = max(len(P), len(Q))
    assert poly_add(P, Q, modulus=n).tolist() == _sympy_coeffs(sp + sq, n, L)
    assert poly_sub(P, Q, modulus=n).tolist() == _sympy_coeffs(sp - sq, n, L)
    assert poly_mul(P, Q, modulus=n).tolist() == _sympy_coeffs(sp * sq, n, len(P) + len(Q) - 1)


@settings(max_examples=100)
@given(ring_pair(), st.lists(st.integers(0, 2**31 - 1), min_size=1, max_size=5))
def test_eval_equals_sympy_and_is_a_ring_homomorphism(args, raw_points):
    n, P, Q = args
    pts = [p % n for p in raw_points]
    sp = _sympy_poly(P)
    got = poly_eval(P, pts, modulus=n)
    assert got.tolist() == [int(sp.eval(a)) % n for a in pts]
    # (P + Q)(a) = P(a) + Q(a), (PQ)(a) = P(a) Q(a) in Z_n
    pa, qa = poly_eval(P, pts, modulus=n), poly_eval(Q, pts, modulus=n)
    assert np.array_equal(poly_eval(poly_add(P, Q, modulus=n), pts, modulus=n), (pa + qa) % n)
    prod = [(int(a) * int(b)) % n for a, b in zip(pa, qa, strict=True)]
    assert poly_eval(poly_mul(P, Q, modulus=n), pts, modulus=n).tolist() == prod


def test_large_modulus_long_products_do_not_overflow():
    n = MAX_MODULUS
    rng = np.random.default_rng(0)
    P = rng.integers(n - 1000, n, 300)  # every product near 2**62
    Q = rng.integers(n - 1000, n, 250)
    ref = _sympy_coeffs(_sympy_poly(P) * _sympy_poly(Q), n, 549)
    assert poly_mul(P, Q, modulus=n).tolist() == ref
    a = n - 1
    assert int(poly_eval(P, a, modulus=n)) == int(_sympy_poly(P).eval(a)) % n


def test_batched_broadcasting_matches_row_by_row():
    rng = np.random.default_rng(1)
    n = 256
    P = rng.integers(0, n, (4, 3, 7))
    Q = rng.integers(0, n, (3, 5))  # broadcasts against the (4, 3) batch
    R = poly_mul(P, Q, modulus=n)
    S = poly_add(P, Q, modulus=n)
    E = poly_eval(P, [0, 3, 255], modulus=n)
    assert R.shape == (4, 3, 11) and S.shape == (4, 3, 7) and E.shape == (4, 3, 3)
    for i in range(4):
        for j in range(3):
            assert np.array_equal(R[i, j], poly_mul(P[i, j], Q[j], modulus=n))
            assert np.array_equal(S[i, j], poly_add(P[i, j], Q[j], modulus=n))
            assert np.array_equal(E[i, j], poly_eval(P[i, j], [0, 3, 255], modulus=n))
    assert poly_eval(P, 5, modulus=n).shape == (4, 3)


def test_inputs_are_not_modified():
    P = np.array([200, 100], dtype=np.uint8)
    Q = np.array([100, 200], dtype=np.int64)
    poly_mul(P, Q, modulus=256)
    poly_add(P, Q, modulus=256)
    assert P.tolist() == [200, 100] and Q.tolist() == [100, 200]


def test_zero_divisors_make_the_degree_drop():
    # (1 + 128x)(1 + 2x) = 1 + 130x + 256x^2 = 1 + 130x over Z_256
    R = poly_mul([1, 128], [1, 2], modulus=256)
    assert R.tolist() == [1, 130, 0] and int(poly_degree(R)) == 1
    # over a prime modulus the degree adds up
    R = poly_mul([1, 128], [1, 2], modulus=257)
    assert int(poly_degree(R)) == 2
    # x^2 = (x + 128)^2 over Z_256: factorisation is not unique
    assert poly_mul([128, 1], [128, 1], modulus=256).tolist() == [0, 0, 1]
    assert poly_degree([[0, 0], [0, 1], [5, 0]]).tolist() == [-1, 1, 0]


def test_reduce_maps_integers_into_the_ring():
    assert poly_reduce([-1, 256, 1000, -257], modulus=256).tolist() == [255, 0, 232, 255]
    assert poly_reduce(np.array([2**64 - 1], dtype=np.uint64), modulus=256).tolist() == [255]
    assert poly_reduce([2**80 + 3], modulus=7).tolist() == [(2**80 + 3) % 7]


@pytest.mark.parametrize("n", [256, 257, 1000, 2**31 - 1])
def test_units_and_inverses_match_sympy(n):
    rng = np.random.default_rng(n % 1000)
    a = rng.integers(0, n, 200)
    mask = is_unit(a, modulus=n)
    assert mask.tolist() == [sympy.gcd(int(v), n) == 1 for v in a]
    units = a[mask]
    inv = unit_inverse(units, modulus=n)
    assert inv.tolist() == [int(sympy.mod_inverse(int(v), n)) for v in units]
    assert ((units.astype(object) * inv.astype(object)) % n == 1).all()


def test_non_units_have_no_inverse():
    with pytest.raises(ValueError, match=r"128 is not a unit of Z_256 \(gcd with 256 is 128\)"):
        unit_inverse([3, 128], modulus=256)
    with pytest.raises(ValueError, match="not a unit"):
        unit_inverse(0, modulus=7)
    assert int(unit_inverse(3, modulus=7)) == 5


# -- bad input ---------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, -5])
def test_modulus_below_two_is_refused(n):
    with pytest.raises(ValueError, match="modulus must be >= 2"):
        poly_add([0], [0], modulus=n)
    with pytest.raises(ValueError, match="vocab_size must be >= 2"):
        encode_tokens([0], vocab_size=n)


def test_modulus_type_and_upper_limit():
    with pytest.raises(TypeError, match="modulus must be an integer"):
        poly_mul([1], [1], modulus=2.5)
    with pytest.raises(TypeError, match="modulus must be an integer"):
        poly_mul([1], [1], modulus=True)
    with pytest.raises(ValueError, match="<= 2\\*\\*31"):
        poly_mul([1], [1], modulus=2**31 + 1)


def test_coefficients_outside_the_ring_are_refused():
    with pytest.raises(ValueError, match=r"outside the ring Z_256: P\[1\] = 256"):
        poly_mul([1, 256], [1], modulus=256)
    with pytest.raises(ValueError, match=r"Q\[0, 0\] = -1"):
        poly_add([[1]], [[-1]], modulus=5)
    with pytest.raises(ValueError, match="points has a coefficient outside"):
        poly_eval([1, 2], [7], modulus=7)
    with pytest.raises(TypeError, match="integer array; got dtype float64"):
        poly_add([1.0], [1], modulus=5)
    with pytest.raises(TypeError, match="integer array"):
        poly_add(np.array([True]), [1], modulus=5)
    with pytest.raises(ValueError, match="at least one coefficient"):
        poly_mul(np.zeros((3, 0), dtype=int), [1], modulus=5)


# -- encodings ---------------------------------------------------------------


def test_encode_image_patches_in_row_major_order():
    img = np.arange(48, dtype=np.uint8).reshape(6, 8)
    P = encode_image(img, patch_size=(3, 4))
    assert P.shape == (4, 12) and P.dtype == np.uint8
    assert np.array_equal(P[0], img[:3, :4].ravel())
    assert np.array_equal(P[1], img[:3, 4:].ravel())
    assert np.array_equal(P[2], img[3:, :4].ravel())
    assert np.array_equal(encode_image(img), img.reshape(1, 48))
    batch = np.stack([img, 255 - img])
    B = encode_image(batch, patch_size=2)
    assert B.shape == (2, 12, 4)
    assert np.array_equal(B[1], encode_image(255 - img, patch_size=2))


def test_encode_image_bad_input():
    with pytest.raises(TypeError, match="float64"):
        encode_image(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="outside the ring Z_256"):
        encode_image(np.full((4, 4), 300, dtype=np.int16))
    with pytest.raises(ValueError, match="must divide the image size"):
        encode_image(np.zeros((5, 4), dtype=np.uint8), patch_size=2)
    with pytest.raises(ValueError, match="at least 2 dimension"):
        encode_image(np.zeros(4, dtype=np.uint8))
    with pytest.raises(ValueError, match="patch_size must be >= 1"):
        encode_image(np.zeros((4, 4), dtype=np.uint8), patch_size=0)


def test_encode_tokens_pads_ragged_sequences_and_checks_ids():
    T = encode_tokens([[3, 1, 4, 1, 5], [9, 2], np.array([6])], vocab_size=10)
    assert T.tolist() == [[3, 1, 4, 1, 5], [9, 2, 0, 0, 0], [6, 0, 0, 0, 0]]
    assert encode_tokens(np.array([1, 2, 3]), vocab_size=4).tolist() == [1, 2, 3]
    with pytest.raises(ValueError, match=r"tokens\[1\] has a coefficient outside the ring Z_10"):
        encode_tokens([[1, 2], [3, 10]], vocab_size=10)
    with pytest.raises(ValueError, match="outside the ring Z_50"):
        encode_tokens([[1, -2]], vocab_size=50)


# -- embeddings --------------------------------------------------------------


def test_evaluation_embedding_is_real_evaluation_of_the_lifted_polynomial():
    f = evaluation_embedding(4, [-0.5, 0.0, 0.25, 1.0], modulus=256)
    P = np.array([[1, 2, 3, 4], [255, 0, 0, 255]])
    expected = np.stack([np.polynomial.polynomial.polyval(f.matrix[:, 1], p / 256) for p in P])
    assert np.allclose(f(P), expected, rtol=1e-14, atol=0)
    default = evaluation_embedding(16, modulus=256, n_points=5)
    assert default.matrix.shape == (5, 16) and np.all(np.abs(default.matrix[:, 1]) < 1)


def test_embeddings_are_lipschitz_with_the_stated_constant():
    rng = np.random.default_rng(3)
    for f in (
        evaluation_embedding(16, modulus=256, n_points=6),
        projection_embedding(16, 8, modulus=256, seed=0),
    ):
        assert f.lipschitz == pytest.approx(np.linalg.svd(f.matrix)[1][0], rel=1e-12)
        P = rng.integers(0, 256, (500, 4, 16))
        Q = np.clip(P + rng.integers(-40, 41, P.shape), 0, 255)
        moved = np.linalg.norm(f(P) - f(Q), axis=1)
        bound = f.lipschitz * poly_distance(P, Q, modulus=256)
        assert (moved <= bound * (1 + 1e-12)).all()
        # the constant is nearly attained by some perturbation direction
        assert (moved / bound).max() > 0.2


def test_embedding_shapes_and_errors():
    f = evaluation_embedding(4, modulus=10, n_points=3)
    assert f(np.zeros((7, 4), dtype=int)).shape == (7, 3)
    assert f(np.zeros((7, 2, 4), dtype=int)).shape == (7, 6)
    with pytest.raises(ValueError, match="4 coefficients per polynomial"):
        f(np.zeros((7, 5), dtype=int))
    with pytest.raises(ValueError, match="outside the ring Z_10"):
        f(np.full((2, 4), 10))
    with pytest.raises(ValueError, match="points must not contain NaN"):
        evaluation_embedding(4, [np.nan], modulus=10)
    with pytest.raises(ValueError, match="same shape"):
        poly_distance(np.zeros((2, 3), int), np.zeros((3, 3), int), modulus=5)
    g1 = projection_embedding(5, 3, modulus=7, seed=4)
    g2 = projection_embedding(5, 3, modulus=7, seed=4)
    assert np.array_equal(g1.matrix, g2.matrix) and not g1.matrix.flags.writeable


# ----------------------------------------------------------------------
# regressions (issue 14)
# ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "points", [["a", "b"], np.array([1.0 + 1j]), np.array([0.5], dtype=object), [[0.5]], []]
)
def test_regression_evaluation_embedding_refuses_non_real_points(points):
    # issue 14: strings, objects and complex numbers were accepted (complex silently cast)
    with pytest.raises((TypeError, ValueError), match="points"):
        evaluation_embedding(3, points, modulus=5)


def test_regression_embeddings_never_overflow():
    # issue 14: evaluation at 1e300 gave a matrix of inf; scale=1e300 gave 1e300 entries
    with pytest.raises(ValueError, match="points and n_coeffs"):
        evaluation_embedding(400, [1e300], modulus=5)
    with pytest.raises(ValueError, match="points and n_coeffs"):
        evaluation_embedding(2000, [1.5], modulus=5)
    f = evaluation_embedding(30, [1e-300, 2.0], modulus=5)  # tiny powers underflow to 0: exact
    assert f.matrix[0, 1] == 1e-300 and f.matrix[0, 2] == 0.0 and f.matrix[1, -1] == 2.0**29
    P = np.full((1, 30), 4)
    assert f(P)[0, 1] == pytest.approx(0.8 * (2.0**30 - 1), rel=1e-14)
    with pytest.raises(ValueError, match="scale"):
        projection_embedding(3, 2, modulus=5, scale=1e300)
    with pytest.raises(ValueError, match=r"scale .* subnormal"):
        projection_embedding(3, 2, modulus=5, scale=1e-320)
    g = projection_embedding(3, 2, modulus=5, scale=1e-250, seed=0)
    ref = projection_embedding(3, 2, modulus=5, scale=1.0, seed=0)
    assert np.allclose(g.matrix / 1e-250, ref.matrix, rtol=1e-14)
    assert np.isfinite(g.lipschitz) and g.lipschitz == pytest.approx(ref.lipschitz * 1e-250)
    with pytest.raises(ValueError, match="GiB"):
        evaluation_embedding(10**7, modulus=5, n_points=10**7)
    with pytest.raises(ValueError, match="GiB"):
        projection_embedding(10**7, 10**7, modulus=5)


def test_regression_polynomial_embedding_validates_its_fields():
    A = np.arange(6.0).reshape(2, 3)
    emb = PolynomialEmbedding(A, 7)
    A[0, 0] = 99.0  # the embedding holds its own read-only copy
    assert emb.matrix[0, 0] == 0.0 and not emb.matrix.flags.writeable
    with pytest.raises(ValueError, match="matrix must be finite"):
        PolynomialEmbedding(np.array([[np.nan]]), 7)
    with pytest.raises(TypeError, match="matrix must hold real numbers"):
        PolynomialEmbedding(np.array([["a"]]), 7)
    with pytest.raises(ValueError, match="matrix must be a non-empty 2-D"):
        PolynomialEmbedding(np.zeros(3), 7)
    with pytest.raises(ValueError, match="matrix gives an embedding matrix too large"):
        PolynomialEmbedding(np.full((2, 2), 1e308), 7)
    with pytest.raises(TypeError, match="modulus must be an integer"):
        PolynomialEmbedding(A, 7.0)
    with pytest.raises(ValueError, match="modulus must be >= 2"):
        PolynomialEmbedding(A, -3)
    with pytest.raises(TypeError, match="description must be a string"):
        PolynomialEmbedding(A, 7, description=3)


def test_regression_ring_functions_name_their_arguments():
    with pytest.raises(ValueError, match="P must be a rectangular integer array"):
        poly_add([[1, 2], [3]], [1], modulus=5)
    with pytest.raises(ValueError, match="tokens must be a rectangular"):
        encode_tokens([np.array([1, 2]), 3], vocab_size=5)
    with pytest.raises(ValueError, match="P and Q must have batch shapes"):
        poly_add(np.zeros((2, 3), int), np.zeros((3, 3), int), modulus=5)
    with pytest.raises(ValueError, match="P and Q must have batch shapes"):
        poly_mul(np.zeros((2, 3), int), np.zeros((3, 2), int), modulus=5)
    with pytest.raises(ValueError, match="GiB"):
        poly_mul(np.zeros((10**5, 1, 2), int), np.zeros((1, 10**5, 2), int), modulus=5)
    for bad in (True, 2.0, "7", None, np.float64(7.0)):
        with pytest.raises(TypeError, match="modulus"):
            poly_reduce([1], modulus=bad)
    for bad in (-(2**40), 1, 0, 2**31 + 1, 10**100):
        with pytest.raises(ValueError, match="modulus"):
            unit_inverse([1], modulus=bad)
    for fn in (is_unit, unit_inverse):
        assert fn([], modulus=7).shape == (0,)
    big = np.array([2**31 - 2, 1], dtype=object)
    assert unit_inverse(big, modulus=2**31 - 1).tolist() == [2**31 - 2, 1]
    assert poly_reduce(np.array([10**40, -(10**40)], dtype=object), modulus=7).tolist() == [
        10**40 % 7,
        -(10**40) % 7,
    ]
    with pytest.raises(TypeError, match="P must hold integers"):
        poly_degree(np.array([1, "a"], dtype=object))
    with pytest.raises(TypeError, match="image must be an integer array"):
        encode_image(np.zeros((2, 2), dtype=bool))
