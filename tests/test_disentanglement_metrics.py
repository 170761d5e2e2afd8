"""metrics/disentanglement.py beyond MIG: SAP, DCI and the FactorVAE score on synthetic codes of known
structure (one dim per factor, a rotation of those, pure noise, unused extra dims), DCI's entropies against
a hand count, and the (model, ds) suite on a stand-in model whose codes are its images."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import data
import models
from metrics.disentanglement import (
    CONTINUOUS_BINS,
    SPREAD_METRICS,
    dci_from_codes,
    dci_from_importance,
    disentanglement_suite,
    factor_classes,
    factor_vae_score_from_codes,
    mig,
    mig_from_codes,
    sap_from_codes,
    sap_score_matrix,
    seed_spread,
    suite_scores,
)

SIZES = (3, 4, 5, 6)
CHANCE = float(np.mean([1 / s for s in SIZES]))  # accuracy of guessing a uniform factor, averaged over factors
# Lighter than the defaults so each test takes well under a second or two on a loaded CPU.
DCI = {"n_estimators": 20}
VOTES = {"n_train": 2000, "n_eval": 1000}


def grid_factors(sizes=SIZES, n=3000, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(0, k, n) for k in sizes], axis=1)


def standardised(factors: np.ndarray) -> np.ndarray:
    return (factors - factors.mean(0)) / factors.std(0)


def random_rotation(d: int, seed: int) -> np.ndarray:
    """A Haar-random orthogonal matrix [d, d] (QR of a Gaussian matrix, signs fixed)."""
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))
    return q * np.sign(np.diag(r))


def scores(latents: np.ndarray, factors: np.ndarray) -> dict:
    return {
        "mig": mig_from_codes(latents, factors)["mig"],
        "sap": sap_from_codes(latents, factors),
        "dci": dci_from_codes(latents, factors, **DCI),
        "factor_vae": factor_vae_score_from_codes(latents, factors, **VOTES),
    }


@pytest.fixture(scope="module")
def factors() -> np.ndarray:
    return grid_factors()


@pytest.fixture(scope="module")
def aligned(factors) -> dict:
    """Codes that are the factors themselves plus tiny noise: one dim per factor."""
    latents = factors + np.random.default_rng(1).normal(0, 0.05, factors.shape)
    return scores(latents, factors)


def test_dci_entropies_match_a_hand_count():
    assert dci_from_importance(np.eye(4)) == pytest.approx((1.0, 1.0))  # each code one factor, each factor one code
    assert dci_from_importance(np.ones((4, 3))) == pytest.approx((0.0, 0.0), abs=1e-12)  # everything spread evenly
    # R = [[1, 1], [0, 2]]: code 0 splits evenly (1 - H = 0), code 1 is pure (1); weights 2/4 and 2/4.
    # Factor 0 lies in code 0 alone (1); factor 1 splits 1/3, 2/3: 1 - H_2(1/3, 2/3).
    h = -(1 / 3 * math.log2(1 / 3) + 2 / 3 * math.log2(2 / 3))
    assert dci_from_importance(np.array([[1.0, 1.0], [0.0, 2.0]])) == pytest.approx((0.5, (1 + (1 - h)) / 2))
    # A code that matters little counts little in disentanglement; a zero row counts nothing.
    weak_mixed = np.array([[1.0, 0.0], [0.0, 1.0], [0.01, 0.01], [0.0, 0.0]])
    d, c = dci_from_importance(weak_mixed)
    assert d == pytest.approx(2 / 2.02) and c > 0.95
    with pytest.raises(ValueError, match="at least 2"):
        dci_from_importance(np.ones((1, 3)))


def test_codes_that_are_the_factors_score_high_on_every_metric(aligned):
    assert aligned["mig"] > 0.9
    # SAP: the best dim predicts its factor perfectly, the second best at chance, so about 1 - CHANCE
    assert aligned["sap"] == pytest.approx(1 - CHANCE, abs=0.08)
    assert aligned["dci"]["disentanglement"] > 0.95
    assert aligned["dci"]["completeness"] > 0.95
    assert aligned["dci"]["informativeness"] > 0.95
    assert aligned["factor_vae"] > 0.95


def test_sap_threshold_classifier_finds_each_factor_in_its_own_dim(factors):
    latents = np.exp(factors + np.random.default_rng(2).normal(0, 0.05, factors.shape))  # monotone but not linear
    matrix = sap_score_matrix(latents, factors)
    assert matrix.shape == (4, 4)
    assert matrix.argmax(0).tolist() == [0, 1, 2, 3]
    assert np.diag(matrix).min() > 0.98  # every value of every factor recovered from its dim alone
    off = matrix[~np.eye(4, dtype=bool)]
    assert off.max() < 0.4  # other dims: about chance (1/3 for the 3-valued factor)


def test_a_rotation_of_the_codes_keeps_the_information_but_loses_the_disentanglement(factors, aligned):
    noisy = standardised(factors) + np.random.default_rng(3).normal(0, 0.05, factors.shape)
    rotated = scores(noisy @ random_rotation(4, seed=0), factors)
    assert rotated["dci"]["informativeness"] > 0.9  # a rotation loses nothing
    assert rotated["dci"]["disentanglement"] < min(0.6, aligned["dci"]["disentanglement"] - 0.4)
    assert rotated["dci"]["completeness"] < min(0.6, aligned["dci"]["completeness"] - 0.4)
    assert rotated["sap"] < aligned["sap"] - 0.3
    assert rotated["mig"] < aligned["mig"] - 0.3
    # The FactorVAE score only asks which dim varies least when a factor is fixed: the dim with the largest
    # weight on that factor, which a random rotation of 4 dims usually still gives each factor a distinct one
    # of. So it need not drop here; it does when the mixing is even (below).
    assert rotated["factor_vae"] <= aligned["factor_vae"]
    # A Hadamard rotation puts every factor into every dim with equal weight: nothing is left to find.
    hadamard = np.array([[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]]) / 2
    even = scores(noisy @ hadamard, factors)
    assert even["dci"]["informativeness"] > 0.9
    assert even["dci"]["disentanglement"] < 0.1 and even["dci"]["completeness"] < 0.1
    assert even["sap"] < 0.05
    assert even["factor_vae"] < 1 / 4 + 0.1  # fixing any factor shrinks every dim alike: the argmin is a coin toss


def test_noise_codes_score_chance(factors):
    noise = scores(np.random.default_rng(4).normal(size=(len(factors), 5)), factors)
    assert noise["sap"] < 0.05
    assert noise["mig"] < 0.05
    assert abs(noise["dci"]["informativeness"] - CHANCE) < 0.05
    assert noise["dci"]["informativeness_train"] > noise["dci"]["informativeness"]  # what it learned was the noise
    assert noise["factor_vae"] < 1 / 4 + 0.1


def test_unused_noise_dims_leave_the_aligned_dims_disentangled(factors):
    rng = np.random.default_rng(5)
    latents = np.concatenate([factors + rng.normal(0, 0.05, factors.shape), rng.normal(size=(len(factors), 4))], axis=1)
    extra = scores(latents, factors)
    assert extra["dci"]["disentanglement"] > 0.9
    assert extra["dci"]["completeness"] > 0.9
    assert extra["dci"]["informativeness"] > 0.95
    importance = np.array(extra["dci"]["importance"])
    assert importance.shape == (8, 4)
    assert importance[:4].argmax(0).tolist() == [0, 1, 2, 3] and importance[4:].max() < 0.05
    assert extra["sap"] > 0.6
    assert extra["factor_vae"] > 0.95


def test_edge_cases_and_determinism(factors):
    rng = np.random.default_rng(6)
    latents = factors + rng.normal(0, 0.3, factors.shape)
    assert sap_from_codes(latents, factors, seed=3) == sap_from_codes(latents, factors, seed=3)
    assert dci_from_codes(latents, factors, seed=3, **DCI) == dci_from_codes(latents, factors, seed=3, **DCI)
    assert factor_vae_score_from_codes(latents, factors, seed=3, **VOTES) == factor_vae_score_from_codes(latents, factors, seed=3, **VOTES)
    # a factor with one value is left out; factor values need not be 0..s-1
    constant = np.concatenate([factors * 10 + 7, np.full((len(factors), 1), 2)], axis=1)
    assert sap_score_matrix(latents, constant).shape == (4, 4)
    assert np.array(dci_from_codes(latents, constant, **DCI)["importance"]).shape == (4, 4)
    # a collapsed dim is pruned from the FactorVAE score; all dims collapsed scores 0
    collapsed = np.concatenate([factors + rng.normal(0, 0.05, factors.shape), np.zeros((len(factors), 1))], axis=1)
    assert factor_vae_score_from_codes(collapsed, factors, **VOTES) > 0.95
    assert factor_vae_score_from_codes(np.zeros((len(factors), 3)), factors, **VOTES) == 0.0
    with pytest.raises(ValueError, match="at least 2"):
        sap_from_codes(latents[:, :1], factors)
    with pytest.raises(ValueError, match="more than one value"):
        dci_from_codes(latents, np.zeros((len(factors), 2)))
    with pytest.raises(ValueError, match="same N"):
        factor_vae_score_from_codes(latents[:10], factors)


class CodesAreImages(torch.nn.Module):
    """A stand-in encoder whose posterior mean is its input image, flattened."""

    device = torch.device("cpu")

    def encode(self, x, y=None):
        return models.Posterior(x.flatten(1))


def test_suite_reports_all_four_on_a_dataset_and_agrees_with_mig():
    rng = np.random.default_rng(7)
    factors = grid_factors(n=2500, seed=7)
    pixels = factors * 40 + rng.integers(0, 4, factors.shape)  # image [1 x 4 x 1]: one pixel per factor
    ds = data.ImageDataset(
        name="factor-pixels",
        images=pixels.astype(np.uint8)[:, None, :, None],
        factors=factors.astype(np.float32),
        factor_names=["a", "b", "c", "d"],
        factor_sizes=list(SIZES),
    )
    model = CodesAreImages()
    suite = disentanglement_suite(model, ds, n=2000, seed=1)
    assert set(suite) >= {"mig", "sap", "dci", "factor_vae", "factor_names", "n"}
    assert suite["n"] == 2000 and suite["factor_names"] == ["a", "b", "c", "d"]
    assert suite["mig"] == mig(model, ds, n=2000, seed=1)["mig"]  # the same draw of images
    assert suite["mig"] > 0.9 and suite["sap"] > 0.6 and suite["factor_vae"] > 0.95
    assert suite["dci"]["disentanglement"] > 0.95 and suite["dci"]["completeness"] > 0.95
    with pytest.raises(ValueError, match="ground-truth factors"):
        disentanglement_suite(model, data.ImageDataset(name="no-factors", images=ds.images), n=100)


def _suite(mig_value: float, sap_value: float = 0.1) -> dict:
    dci = {"disentanglement": mig_value * 2, "completeness": 0.5, "informativeness": 0.9}
    return {"mig": mig_value, "sap": sap_value, "dci": dci, "factor_vae": 0.6, "factor_names": ["a"], "n": 10}


def test_seed_spread_gives_median_and_range_and_insists_on_shipping_the_median_seed():
    suites = {0: _suite(0.30, 0.05), 1: _suite(0.03, 0.20), 2: _suite(0.12, 0.10)}
    spread = seed_spread(suites, shipped_seed=2)
    assert spread["seeds"] == [0, 1, 2] and spread["median_seed"] == 2 and spread["shipped_seed"] == 2
    assert spread["median"]["mig"] == pytest.approx(0.12) and spread["range"]["mig"] == pytest.approx([0.03, 0.30])
    assert spread["median"]["sap"] == pytest.approx(0.10) and spread["range"]["sap"] == pytest.approx(
        [0.05, 0.20]
    )  # each metric's own median
    assert spread["median"]["dci_disentanglement"] == pytest.approx(0.24)
    assert spread["runs"]["1"] == suite_scores(suites[1]) and set(spread["median"]) == set(SPREAD_METRICS)
    with pytest.raises(ValueError, match="ship the median seed by MIG .*seed 2, not seed 0"):
        seed_spread(suites, shipped_seed=0)  # the luckiest seed
    with pytest.raises(ValueError, match="odd number of seeds"):
        seed_spread({0: _suite(0.1), 1: _suite(0.2)}, shipped_seed=0)
    with pytest.raises(ValueError, match="odd number of seeds"):
        seed_spread({s: _suite(0.1 * s) for s in range(4)}, shipped_seed=1)
    with pytest.raises(ValueError, match="not among the runs' seeds"):
        seed_spread(suites, shipped_seed=7)


def test_continuous_factors_are_cut_into_equal_count_bins():
    values = np.random.default_rng(0).uniform(-1, 1, size=(1000, 2)).astype(np.float32)
    values[:, 1] = np.arange(1000) % 3  # a discrete factor of 3 levels stays as it is
    classes = factor_classes(values, [0, 3])
    assert np.array_equal(np.bincount(classes[:, 0]), [100] * CONTINUOUS_BINS)
    assert np.array_equal(classes[:, 1], np.arange(1000) % 3)
    assert np.all(np.diff(classes[np.argsort(values[:, 0]), 0]) >= 0)  # the bins follow the values' order
