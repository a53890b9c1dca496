"""The MMD permutation test (sheaftopo.geometry.mmd2_test) against a brute-force oracle."""

from __future__ import annotations

import numpy as np
import pytest

from sheaftopo.geometry import MMDTest, median_bandwidth, mmd2, mmd2_test


def paired_mmd2(X, Y, bandwidth):
    """Gretton et al.'s U-statistic over pairs of items, term by term (i != j)."""
    X, Y = np.asarray(X, float), np.asarray(Y, float)
    n = len(X)

    def k(U, V):
        d2 = ((U[:, None, :] - V[None, :, :]) ** 2).sum(-1)
        return np.exp(-d2 / (2 * bandwidth**2))

    h = k(X, X) + k(Y, Y) - k(X, Y) - k(Y, X)
    return (h.sum() - np.trace(h)) / (n * (n - 1))


def oracle(X, Y, *, bandwidth, n_permutations, seed, paired=False):
    """Every permuted sample rebuilt and its statistic recomputed: (null statistics, p)."""
    X, Y = np.asarray(X, float), np.asarray(Y, float)
    n, Z = len(X), np.concatenate([X, Y])
    rng = np.random.default_rng(seed)
    if paired:
        swap = rng.random((n_permutations, n)) < 0.5
        firsts = [np.arange(n) + n * s for s in swap]
    else:
        perms = rng.permuted(np.tile(np.arange(len(Z)), (n_permutations, 1)), axis=1)
        firsts = [p[:n] for p in perms]
    stat = paired_mmd2 if paired else (lambda U, V, bandwidth: mmd2(U, V, bandwidth=bandwidth))
    null = []
    for first in firsts:
        # paired: the partner of position i of the first sample is second-sample row i
        rest = (first + n) % len(Z) if paired else np.setdiff1d(np.arange(len(Z)), first)
        null.append(stat(Z[first], Z[rest], bandwidth=bandwidth))
    null = np.array(null)
    obs = stat(X, Y, bandwidth=bandwidth)
    return null, (1 + np.count_nonzero(null >= obs)) / (1 + n_permutations)


@pytest.mark.parametrize("paired", [False, True])
@pytest.mark.parametrize("shift", [0.0, 0.3, 1.5])
def test_matches_the_brute_force_oracle(paired, shift):
    rng = np.random.default_rng(7)
    n, m = (30, 30) if paired else (30, 23)
    X = rng.normal(size=(n, 3))
    Y = rng.normal(size=(m, 3)) + shift
    bw = median_bandwidth(X, Y)
    res = mmd2_test(X, Y, bandwidth=bw, n_permutations=60, seed=11, paired=paired)
    null, p = oracle(X, Y, bandwidth=bw, n_permutations=60, seed=11, paired=paired)
    assert isinstance(res, MMDTest) and res.n_permutations == 60 and res.bandwidth == bw
    assert res.mmd2 == mmd2(X, Y, bandwidth=bw)
    if paired:
        assert res.statistic == pytest.approx(paired_mmd2(X, Y, bw), rel=0, abs=1e-14)
    else:
        assert res.statistic == mmd2(X, Y, bandwidth=bw)  # the same computation, exactly
    np.testing.assert_allclose(res.null_statistics, null, rtol=0, atol=1e-13)
    assert res.p_value == p


def test_default_bandwidth_is_the_median_heuristic_and_several_are_kept():
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(20, 2)), rng.normal(size=(25, 2))
    res = mmd2_test(X, Y, n_permutations=9)
    assert res.bandwidth == median_bandwidth(X, Y) and res.statistic == mmd2(X, Y)
    multi = mmd2_test(X, Y, bandwidth=[0.5, 2.0], n_permutations=9)
    assert multi.bandwidth == (0.5, 2.0)
    assert multi.statistic == mmd2(X, Y, bandwidth=[0.5, 2.0])


def test_clear_difference_gives_the_smallest_p_value():
    rng = np.random.default_rng(2)
    X, Y = rng.normal(size=(80, 4)), rng.normal(size=(80, 4)) + 1.0
    for paired in (False, True):
        res = mmd2_test(X, Y, n_permutations=99, seed=0, paired=paired)
        assert res.p_value == 1 / 100 and (res.null_statistics < res.statistic).all()
        assert res.statistic > 0.2


def test_exact_ties_count_whatever_the_rounding():
    # identical partners: every swap leaves the samples as they are, so every permuted
    # statistic ties with the observed one (whatever the summation order) and p = 1
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 5)) * 1e3
    res = mmd2_test(X, X.copy(), n_permutations=49, seed=0, paired=True)
    assert res.p_value == 1.0
    # duplicated rows, constant columns, float32
    Xd = np.repeat(rng.normal(size=(10, 3)), 3, axis=0).astype(np.float32)
    Xd[:, 1] = 7.0
    res = mmd2_test(Xd, Xd[::-1].copy(), n_permutations=19, seed=0, paired=True)
    assert res.p_value == 1.0


def test_paired_rows_need_the_swap_permutations():
    # a noisy copy: the same distribution. Random splits separate partners, which sit
    # closer to each other than to anything else, so the observed split (partners always
    # apart) looks extreme; swapping partners keeps them apart and is calibrated
    rng = np.random.default_rng(4)
    X = rng.normal(size=(150, 3))
    Y = X + 0.05 * rng.normal(size=X.shape)
    assert mmd2_test(X, Y, n_permutations=99, seed=0).p_value == 1.0
    res = mmd2_test(X, Y, n_permutations=99, seed=0, paired=True)
    assert 0.05 < res.p_value < 1.0
    # mmd2 counts the partners' cross terms: far below 0; the paired statistic is not biased
    biased = mmd2(X, Y)
    assert biased < -0.25 * 2.0 / len(X) and abs(res.statistic) < 0.1 * abs(biased)


def test_paired_statistic_is_unbiased_where_mmd2_is_not():
    # independent draws of paired rows from one distribution: mean of the paired statistic
    # about 0 (within its standard error), mmd2 clearly below 0
    rng = np.random.default_rng(9)
    paired_stats, plain = [], []
    for _ in range(60):
        X = rng.normal(size=(40, 2))
        Y = X + 0.2 * rng.normal(size=X.shape)
        Y = Y / np.sqrt(1.04)  # the same marginal N(0, I) as X
        res = mmd2_test(X, Y, bandwidth=1.0, n_permutations=1, paired=True)
        paired_stats.append(res.statistic)
        plain.append(mmd2(X, Y, bandwidth=1.0))
    se = np.std(paired_stats) / np.sqrt(len(paired_stats))
    assert abs(np.mean(paired_stats)) < 3 * se
    assert np.mean(plain) < -10 * se


def test_unpaired_p_values_are_calibrated_under_the_null():
    rng = np.random.default_rng(5)
    ps = np.array(
        [
            mmd2_test(
                rng.normal(size=(15, 2)), rng.normal(size=(12, 2)), n_permutations=39, seed=s
            ).p_value
            for s in range(150)
        ]
    )
    assert 0.4 < ps.mean() < 0.6
    assert np.mean(ps <= 0.1) < 0.2


def test_seed_reproduces_and_generators_are_accepted():
    rng = np.random.default_rng(6)
    X, Y = rng.normal(size=(20, 2)), rng.normal(size=(20, 2)) + 0.2
    a = mmd2_test(X, Y, n_permutations=30, seed=5)
    b = mmd2_test(X, Y, n_permutations=30, seed=np.random.default_rng(5))
    np.testing.assert_array_equal(a.null_statistics, b.null_statistics)
    assert a.p_value == b.p_value


def test_inputs_are_not_mutated_and_read_only_works():
    rng = np.random.default_rng(8)
    X, Y = rng.normal(size=(12, 3)), rng.normal(size=(12, 3))
    X.flags.writeable = False
    Y0 = Y.copy()
    mmd2_test(X, Y, n_permutations=5, paired=True)
    np.testing.assert_array_equal(Y, Y0)


def test_bad_arguments_name_themselves():
    X = np.arange(12.0).reshape(6, 2)
    with pytest.raises(ValueError, match="same number of rows"):
        mmd2_test(X, X[:4], paired=True)
    with pytest.raises(ValueError, match="n_permutations must be >= 1"):
        mmd2_test(X, X, n_permutations=0)
    with pytest.raises(TypeError, match="n_permutations must be an integer"):
        mmd2_test(X, X, n_permutations=9.5)
    with pytest.raises(TypeError, match="paired must be True or False"):
        mmd2_test(X, X, paired="yes")
    with pytest.raises(ValueError, match="seed must be a non-negative"):
        mmd2_test(X, X, seed=-1)
    with pytest.raises(ValueError, match="at least 2 samples"):
        mmd2_test(X[:1], X)
