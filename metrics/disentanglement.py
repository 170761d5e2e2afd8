"""Disentanglement metrics against ground-truth factors: MIG, SAP, DCI and the FactorVAE score.

Each metric comes twice: as a pure function of codes float [N, D] and factors [N, K] (class indices,
one column per factor) -- `mig_from_codes`, `sap_from_codes`, `dci_from_codes`,
`factor_vae_score_from_codes` -- and as a thin wrapper that takes (model, ds), encodes the posterior
means of n images drawn with `seed` and calls the pure function (`mig`, `sap`, `dci`,
`factor_vae_score`). `disentanglement_suite` encodes once and reports all four. Factors with a single
value carry no information and are left out of every metric. A continuous factor (size 0 in the dataset's
factor_sizes, as most of the faces' are) is cut into CONTINUOUS_BINS equal-count bins of the images drawn.

MIG, the Mutual Information Gap of Chen et al. 2018, "Isolating Sources of Disentanglement in VAEs":
mean over factors v_k of (I(z_j*; v_k) - I(z_j'; v_k)) / H(v_k), where z_j* and z_j' are the latent dims
with the largest and second-largest mutual information with v_k. It is 1 when each factor is captured
by one dim alone, 0 when its information is spread evenly or absent.

Variant: disentanglement_lib's (Locatello et al. 2019) -- the posterior means of 10,000 images
drawn uniformly from the dataset, each latent dim discretised into 20 equal-width bins over its
observed range, mutual information of the discrete histograms. (Chen et al. estimate I(z_j; v_k)
from the full posterior instead; values are close but not identical.)

SAP, DCI and the FactorVAE score are documented on their functions. Like disentanglement_lib they are
computed on posterior means; unlike it, every metric here reuses one set of encoded images (split
into train and test rows where a metric fits a predictor) instead of drawing fresh ones per metric.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.metrics import mutual_info_score
from sklearn.tree import DecisionTreeClassifier

import models


def discretize(values: np.ndarray, bins: int) -> np.ndarray:
    """int [N, D]: each column cut into `bins` equal-width bins over its own min..max."""
    out = np.empty(values.shape, dtype=np.int64)
    for d in range(values.shape[1]):
        edges = np.histogram_bin_edges(values[:, d], bins=bins)
        out[:, d] = np.digitize(values[:, d], edges[1:-1])  # 0..bins-1
    return out


def mig_from_codes(latents: np.ndarray, factors: np.ndarray, bins: int = 20) -> dict:
    """MIG of latents float [N, D] against discrete factors int [N, K].

    Returns {"mig": float, "per_factor": [K] gaps, "mutual_information": [D, K] in nats, "best_dim": [K]}.
    Factors with a single value (no entropy) are left out of the mean.
    """
    codes = discretize(np.asarray(latents, dtype=np.float64), bins)
    factors = np.asarray(factors).astype(np.int64)
    d, k = codes.shape[1], factors.shape[1]
    if d < 2:
        raise ValueError("MIG compares the two most informative latent dims: it needs at least 2")
    mi = np.array([[mutual_info_score(factors[:, j], codes[:, i]) for j in range(k)] for i in range(d)])  # [D, K]
    entropy = np.array([mutual_info_score(factors[:, j], factors[:, j]) for j in range(k)])  # H(v) = I(v; v)
    top2 = np.sort(mi, axis=0)[-2:]  # [2, K]: second largest, largest
    informative = entropy > 0
    gaps = np.where(informative, (top2[1] - top2[0]) / np.where(informative, entropy, 1), np.nan)
    return {
        "mig": float(np.nanmean(gaps)),
        "per_factor": gaps.tolist(),
        "mutual_information": mi.tolist(),
        "best_dim": mi.argmax(0).tolist(),
        "entropy": entropy.tolist(),
    }


@torch.no_grad()
def mig(model: models.Encodable, ds, n: int = 10_000, bins: int = 20, seed: int = 0, batch_size: int = 500) -> dict:
    """MIG of `model`'s posterior means on n images of `ds` drawn with `seed` (the dataset's discrete
    factors are the ground truth). See mig_from_codes for the result."""
    codes, factors = posterior_means(model, ds, n, seed, batch_size, "MIG")
    return {**mig_from_codes(codes, factors, bins), "factor_names": list(ds.factor_names), "n": len(codes), "bins": bins}


# --- shared plumbing of SAP, DCI and the FactorVAE score ---------------------------------------------


def _codes_and_classes(latents: np.ndarray, factors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes float64 [N, D], classes int64 [N, K']): each factor's values renumbered 0..s-1 in sorted
    order, factors with a single value left out."""
    codes = np.asarray(latents, dtype=np.float64)
    factors = np.asarray(factors)
    if codes.ndim != 2 or factors.ndim != 2 or len(codes) != len(factors):
        raise ValueError(f"expected latents [N, D] and factors [N, K] with the same N, got {codes.shape} and {factors.shape}")
    columns = [np.unique(factors[:, k], return_inverse=True)[1].reshape(-1) for k in range(factors.shape[1])]
    columns = [c for c in columns if c.max() > 0]
    if not columns:
        raise ValueError("no factor takes more than one value: nothing to measure disentanglement against")
    return codes, np.stack(columns, axis=1).astype(np.int64)


def _split(n: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, test rows): a seeded permutation of 0..n-1 cut at test_fraction."""
    n_test = int(round(n * test_fraction))
    if not 0 < n_test < n:
        raise ValueError(f"test_fraction {test_fraction} of {n} rows leaves no train or no test rows")
    order = np.random.default_rng(seed).permutation(n)
    return order[n_test:], order[:n_test]


def _balanced_accuracy(truth: np.ndarray, predicted: np.ndarray) -> float:
    """Mean over the classes present in `truth` of the fraction of that class predicted right (chance: 1/classes)."""
    return float(np.mean([np.mean(predicted[truth == c] == c) for c in np.unique(truth)]))


# --- SAP ----------------------------------------------------------------------------------------------


def sap_score_matrix(latents: np.ndarray, factors: np.ndarray, test_fraction: float = 0.3, seed: int = 0) -> np.ndarray:
    """float [D, K']: how well each latent dim alone predicts each factor (K' = factors with more than one
    value), as the held-out balanced accuracy of a 1-D threshold classifier.

    The classifier is a decision tree on the one dim with at most s leaves for a factor of s values: s - 1
    thresholds cutting the dim into intervals, each predicting one class, fitted with balanced class
    weights on the train rows and scored on the test rows of a seeded split.
    """
    codes, classes = _codes_and_classes(latents, factors)
    train, test = _split(len(codes), test_fraction, seed)
    scores = np.zeros((codes.shape[1], classes.shape[1]))
    for k in range(classes.shape[1]):
        sizes = int(classes[:, k].max()) + 1
        for d in range(codes.shape[1]):
            tree = DecisionTreeClassifier(max_leaf_nodes=max(2, sizes), class_weight="balanced", random_state=seed)
            tree.fit(codes[train, d : d + 1], classes[train, k])
            scores[d, k] = _balanced_accuracy(classes[test, k], tree.predict(codes[test, d : d + 1]))
    return scores


def sap_from_codes(latents: np.ndarray, factors: np.ndarray, test_fraction: float = 0.3, seed: int = 0) -> float:
    """The Separated Attribute Predictability (SAP) score of Kumar et al. 2018, "Variational Inference of
    Disentangled Latent Concepts from Unlabeled Observations", of latents float [N, D] against discrete
    factors [N, K].

    SAP = mean over factors of (best - second-best) score over latent dims, the score of dim d for factor
    k being how well d alone predicts k (`sap_score_matrix`). It is high when each factor is predicted by
    one dim much better than by any other, ~0 when no dim stands out.

    Kumar et al. score a discrete factor by the balanced accuracy of a classifier on one dim;
    disentanglement_lib (Locatello et al. 2019) uses a linear SVM per dim and plain accuracy. Here: a
    threshold classifier (a 1-D decision tree with one leaf per factor value, so a factor laid out
    monotonically along a dim is recovered exactly, which a one-vs-rest linear SVM on one input cannot do
    for the middle values) and balanced accuracy, on a seeded train/test split of the given rows.
    Continuous factors (Kumar et al.'s R^2 of a linear regression) are not supported. Scores range from
    chance (1/s) to 1, so even a perfect code gets SAP < 1: about 1 - mean(1/s) when the second-best dim
    is at chance.
    """
    scores = sap_score_matrix(latents, factors, test_fraction, seed)
    if scores.shape[0] < 2:
        raise ValueError("SAP compares the two most predictive latent dims: it needs at least 2")
    top2 = np.sort(scores, axis=0)[-2:]  # [2, K]: second best, best
    return float(np.mean(top2[1] - top2[0]))


# --- DCI ----------------------------------------------------------------------------------------------


def _normalised_entropy(p: np.ndarray, base: int) -> np.ndarray:
    """Entropy (log base `base`) of each row of non-negative weights p [M, B], normalised to sum to 1;
    a row of zeros (nothing to normalise) counts as maximally spread: 1."""
    total = p.sum(axis=1, keepdims=True)
    q = p / np.where(total > 0, total, 1.0)
    terms = np.where(q > 0, q * np.log(np.where(q > 0, q, 1.0)), 0.0)
    entropy = -terms.sum(axis=1) / np.log(base)
    return np.where(total[:, 0] > 0, entropy, 1.0)


def dci_from_importance(importance: np.ndarray) -> tuple[float, float]:
    """(disentanglement, completeness) of Eastwood & Williams 2018 from an importance matrix R [D, K] >= 0.

    disentanglement = sum over codes d of rho_d (1 - H_K(P_d)), with P_d = row d of R normalised,
    H_K the entropy in log base K, and weights rho_d = (row sum of d) / (sum of R): each code scores 1
    when it matters to one factor only, and codes that matter little count little.
    completeness = mean over factors k of (1 - H_D(column k of R normalised)): 1 when each factor is
    captured by a single code.
    """
    importance = np.abs(np.asarray(importance, dtype=np.float64))
    d, k = importance.shape
    if d < 2 or k < 2:
        raise ValueError(f"DCI needs at least 2 codes and 2 factors (entropies in log base D and K), got {d} and {k}")
    total = importance.sum()
    if total == 0:
        return 0.0, 0.0
    weights = importance.sum(axis=1) / total
    disentanglement = float(np.sum(weights * (1.0 - _normalised_entropy(importance, k))))
    completeness = float(np.mean(1.0 - _normalised_entropy(importance.T, d)))
    return disentanglement, completeness


def dci_from_codes(
    latents: np.ndarray, factors: np.ndarray, test_fraction: float = 0.3, seed: int = 0, n_estimators: int = 50, max_depth: int = 8
) -> dict:
    """DCI -- disentanglement, completeness, informativeness -- of Eastwood & Williams 2018, "A Framework
    for the Quantitative Evaluation of Disentangled Representations", of latents float [N, D] against
    discrete factors [N, K].

    One classifier per factor predicts it from all D codes; its feature importances are column k of the
    importance matrix R [D, K] (see `dci_from_importance` for disentanglement and completeness), and
    informativeness is the classifiers' mean accuracy on held-out rows (chance: about mean(1/s)).

    Predictor: Eastwood & Williams use lasso and random forests, disentanglement_lib (Locatello et al.
    2019) scikit-learn's GradientBoostingClassifier with its defaults. Boosting fits one tree per class
    per stage -- minutes for dSprites' 32- and 40-valued factors on two cores -- so this uses
    scikit-learn's ExtraTreesClassifier (n_estimators trees of depth <= max_depth, every dim considered at
    every split, seeded) and its impurity-based importances, on a seeded train/test split of the given
    rows. Values are comparable in kind to disentanglement_lib's, not equal to them.

    Returns {"disentanglement", "completeness", "informativeness": float, "informativeness_train": float,
    "importance": [D][K'] (K' = factors with more than one value)}.
    """
    codes, classes = _codes_and_classes(latents, factors)
    train, test = _split(len(codes), test_fraction, seed)
    importance = np.zeros((codes.shape[1], classes.shape[1]))
    train_accuracy, test_accuracy = [], []
    for k in range(classes.shape[1]):
        forest = ExtraTreesClassifier(n_estimators=n_estimators, max_depth=max_depth, max_features=None, random_state=seed, n_jobs=1)
        forest.fit(codes[train], classes[train, k])
        importance[:, k] = forest.feature_importances_
        train_accuracy.append(forest.score(codes[train], classes[train, k]))
        test_accuracy.append(forest.score(codes[test], classes[test, k]))
    disentanglement, completeness = dci_from_importance(importance)
    return {
        "disentanglement": disentanglement,
        "completeness": completeness,
        "informativeness": float(np.mean(test_accuracy)),
        "informativeness_train": float(np.mean(train_accuracy)),
        "importance": importance.tolist(),
    }


# --- FactorVAE score ----------------------------------------------------------------------------------


def factor_vae_score_from_codes(
    latents: np.ndarray,
    factors: np.ndarray,
    vote_batch: int = 64,
    n_train: int = 10_000,
    n_eval: int = 5000,
    prune_threshold: float = 0.05,
    seed: int = 0,
) -> float:
    """The FactorVAE disentanglement score of Kim & Mnih 2018, "Disentangling by Factorising", of latents
    float [N, D] against discrete factors [N, K].

    Each dim is divided by its standard deviation over all N rows; dims with a standard deviation below
    `prune_threshold` (collapsed to the prior) are left out. A vote: pick a factor k uniformly, a value
    of it as that of a random row, and `vote_batch` rows that share that value (drawn without
    replacement; all of them if fewer); the dim with the smallest normalised variance within the batch
    votes for k. A majority-vote classifier maps each dim to the factor it got most votes for in n_train
    votes; the score is that classifier's accuracy on n_eval further votes. 1 when fixing any factor
    freezes a dim of its own, about 1/K when the argmin dim says nothing about the factor.

    The defaults (batches of 64, 10,000 training and 5,000 evaluation votes, pruning at 0.05) are
    disentanglement_lib's (Locatello et al. 2019). Kim & Mnih and disentanglement_lib render each batch
    afresh with the other factors uniformly random; here batches are drawn from the given rows, whose
    other factors follow the rows' own distribution (uniform when the rows are a uniform draw from a
    full factor grid such as dSprites), and both vote sets reuse those rows. Returns 0.0 when every dim
    is pruned, as disentanglement_lib does.
    """
    codes, classes = _codes_and_classes(latents, factors)
    std = codes.std(axis=0)
    active = std >= prune_threshold
    if not active.any():
        return 0.0
    normalised = codes[:, active] / std[active]
    n_factors = classes.shape[1]
    # rows of each factor value: members[k][value] = row indices
    members = []
    for k in range(n_factors):
        order = np.argsort(classes[:, k], kind="stable")
        bounds = np.searchsorted(classes[order, k], np.arange(classes[:, k].max() + 2))
        members.append([order[bounds[c] : bounds[c + 1]] for c in range(len(bounds) - 1)])
    rng = np.random.default_rng(seed)

    def votes(n: int) -> np.ndarray:
        counts = np.zeros((normalised.shape[1], n_factors), dtype=np.int64)  # [active dims, K]
        for k, row in zip(rng.integers(0, n_factors, n), rng.integers(0, len(codes), n)):
            rows = members[k][classes[row, k]]
            if len(rows) > vote_batch:
                rows = rng.choice(rows, vote_batch, replace=False)
            counts[np.argmin(normalised[rows].var(axis=0)), k] += 1
        return counts

    classifier = votes(n_train).argmax(axis=1)  # factor each active dim votes for
    evaluation = votes(n_eval)
    return float(evaluation[np.arange(len(classifier)), classifier].sum() / evaluation.sum())


# --- (model, ds) wrappers -----------------------------------------------------------------------------


@torch.no_grad()
def posterior_means(
    model: models.Encodable, ds, n: int = 10_000, seed: int = 0, batch_size: int = 500, metric: str = "disentanglement"
) -> tuple[np.ndarray, np.ndarray]:
    """(posterior means float [n, D], factor classes int [n, K]) of n images of `ds` drawn with `seed`:
    the same images, in the same order, that `mig` draws for the same n and seed."""
    if ds.factors is None or not ds.factor_sizes:
        raise ValueError(f"{metric} needs a dataset with ground-truth factors (dsprites, faces); {ds.name} has none")
    index = np.sort(np.random.default_rng(seed).choice(len(ds), size=min(n, len(ds)), replace=False))
    model.eval()
    means = [
        model.encode(ds.batch(index[s : s + batch_size]).to(model.device)).mean.float().cpu() for s in range(0, len(index), batch_size)
    ]
    return torch.cat(means).numpy(), factor_classes(np.asarray(ds.factors[index]), ds.factor_sizes)


CONTINUOUS_BINS = 10  # classes a continuous factor is cut into (equal-count bins)


def factor_classes(factors: np.ndarray, sizes: list[int]) -> np.ndarray:
    """int [N, K]: a discrete factor's index as it is (size k > 0), a continuous one's (size 0) bin among
    CONTINUOUS_BINS equal-count bins of these N values."""
    columns = [
        factors[:, k].astype(np.int64)
        if size > 0
        else np.digitize(factors[:, k], np.quantile(factors[:, k], np.linspace(0, 1, CONTINUOUS_BINS + 1)[1:-1]))
        for k, size in enumerate(sizes)
    ]
    return np.stack(columns, axis=1)


def sap(model: models.Encodable, ds, n: int = 10_000, seed: int = 0, batch_size: int = 500) -> float:
    """SAP (`sap_from_codes`) of `model`'s posterior means on n images of `ds` drawn with `seed`."""
    return sap_from_codes(*posterior_means(model, ds, n, seed, batch_size, "SAP"), seed=seed)


def dci(model: models.Encodable, ds, n: int = 10_000, seed: int = 0, batch_size: int = 500) -> dict:
    """DCI (`dci_from_codes`) of `model`'s posterior means on n images of `ds` drawn with `seed`."""
    return dci_from_codes(*posterior_means(model, ds, n, seed, batch_size, "DCI"), seed=seed)


def factor_vae_score(model: models.Encodable, ds, n: int = 10_000, seed: int = 0, batch_size: int = 500) -> float:
    """FactorVAE score (`factor_vae_score_from_codes`) of `model`'s posterior means on n images of `ds`
    drawn with `seed`; the votes' batches come from those n images."""
    return factor_vae_score_from_codes(*posterior_means(model, ds, n, seed, batch_size, "the FactorVAE score"), seed=seed)


def disentanglement_suite(model: models.Encodable, ds, n: int = 10_000, seed: int = 0, batch_size: int = 500, bins: int = 20) -> dict:
    """MIG, SAP, DCI and the FactorVAE score of `model`'s posterior means on one draw of n images of `ds`
    (the draw `mig` makes for the same n and seed, so "mig" here equals mig(model, ds, n, bins, seed)["mig"]).

    Returns {"mig": float, "sap": float, "dci": dci_from_codes' dict, "factor_vae": float,
    "factor_names": [K], "dims": [D] of {"factor": the factor the dim carries the largest share of (its mutual
    information over the factor's entropy), "score": that share}, "n": int}. A few seconds on two CPU cores for 10,000 codes of 10 dims and
    dSprites' five factors, after encoding.
    """
    latents, factors = posterior_means(model, ds, n, seed, batch_size, "The disentanglement suite")
    information = mig_from_codes(latents, factors, bins)
    # each dim's share of each factor's entropy ([D, K]); a dim is labelled with the factor it carries most of
    share = np.array(information["mutual_information"]) / np.maximum(np.array(information["entropy"]), 1e-12)
    return {
        "mig": information["mig"],
        "sap": sap_from_codes(latents, factors, seed=seed),
        "dci": dci_from_codes(latents, factors, seed=seed),
        "factor_vae": factor_vae_score_from_codes(latents, factors, seed=seed),
        "factor_names": list(ds.factor_names),
        "dims": [{"factor": ds.factor_names[k], "score": float(share[d, k])} for d, k in enumerate(share.argmax(axis=1))],
        "n": len(latents),
    }


# --- across seeds -----------------------------------------------------------------------------------------

SPREAD_METRICS = ("mig", "sap", "dci_disentanglement", "dci_completeness", "dci_informativeness", "factor_vae")


def suite_scores(suite: dict) -> dict[str, float]:
    """{name in SPREAD_METRICS: value} of one `disentanglement_suite` result."""
    dci = suite["dci"]
    return {
        "mig": suite["mig"],
        "sap": suite["sap"],
        **{f"dci_{part}": dci[part] for part in ("disentanglement", "completeness", "informativeness")},
        "factor_vae": suite["factor_vae"],
    }


def seed_spread(suites: dict[int, dict], shipped_seed: int) -> dict:
    """The median and range of each of SPREAD_METRICS over the runs of one preset that differ only in their seed,
    from {seed: disentanglement_suite result}. Locatello et al. (2019) found the seed moves these metrics as much as
    the method does, so one run says little; and the run to ship is the median seed by MIG, not the luckiest.

    Returns {"seeds": [S] sorted, "shipped_seed", "median_seed", "runs": {seed: scores}, "median": scores,
    "range": {name: [low, high]}}. ValueError for fewer than 3 seeds, an even count (no median run), or a shipped
    seed that is not the median one."""
    if len(suites) < 3 or len(suites) % 2 == 0:
        raise ValueError(f"a seed spread needs an odd number of seeds, at least 3, to have a median run; got {len(suites)}")
    if shipped_seed not in suites:
        raise ValueError(f"the shipped seed {shipped_seed} is not among the runs' seeds {sorted(suites)}")
    runs = {seed: suite_scores(suites[seed]) for seed in sorted(suites)}
    by_mig = sorted(runs, key=lambda seed: runs[seed]["mig"])
    median_seed = by_mig[len(by_mig) // 2]
    if shipped_seed != median_seed:
        mig = ", ".join(f"seed {seed} {runs[seed]['mig']:.3f}" for seed in by_mig)
        raise ValueError(f"ship the median seed by MIG ({mig}): seed {median_seed}, not seed {shipped_seed}")
    columns = {name: np.array([scores[name] for scores in runs.values()]) for name in SPREAD_METRICS}
    return {
        "seeds": list(runs),
        "shipped_seed": shipped_seed,
        "median_seed": median_seed,
        "runs": {str(seed): scores for seed, scores in runs.items()},
        "median": {name: float(np.median(values)) for name, values in columns.items()},
        "range": {name: [float(values.min()), float(values.max())] for name, values in columns.items()},
    }
