"""Evaluation on held-out data: reconstruction and likelihood, disentanglement (MIG), attribute-edit
scorecards, sample coverage and Frechet distance, codebook usage, and the GAN monitor's measures (KID,
precision/recall, attribute-cell coverage), and the model card's table of them (metrics.card). Used by
the model cards (train), the tests and bench/.

    python -m metrics CHECKPOINT [--split test] [--write]
"""

from .card import DETAIL_ATTRIBUTES, headline, summary
from .codebook import code_counts, code_usage, codebook_usage, counts_key
from .disentanglement import mig, mig_from_codes, seed_spread, suite_scores
from .edits import condition_scorecard, edit_scorecard, sample_edit_scorecard
from .evaluate import (
    CLASSIFIERS,
    EVALUATION_NAME,
    SCORECARD_ATTRIBUTES,
    accuracy,
    classifier_for,
    component_agreement,
    evaluate,
    gan_quality,
    inversion_quality,
    prior_fd,
    prior_frechet_distance,
    sample_cell_coverage,
    seed_spread_of,
    stored_seed_spread,
    trained_on,
    training_record,
)
from .reconstruction import details_kept, error_quantiles, psnr, reconstruction
from .samples import class_coverage, dataset_features, feature_index, features, frechet_distance, sample_batches

__all__ = [
    "evaluate",
    "summary",
    "accuracy",
    "gan_quality",
    "classifier_for",
    "CLASSIFIERS",
    "SCORECARD_ATTRIBUTES",
    "DETAIL_ATTRIBUTES",
    "EVALUATION_NAME",
    "sample_cell_coverage",
    "trained_on",
    "training_record",
    "code_counts",
    "counts_key",
    "code_usage",
    "codebook_usage",
    "reconstruction",
    "error_quantiles",
    "headline",
    "psnr",
    "mig",
    "mig_from_codes",
    "seed_spread",
    "seed_spread_of",
    "stored_seed_spread",
    "suite_scores",
    "edit_scorecard",
    "condition_scorecard",
    "sample_edit_scorecard",
    "inversion_quality",
    "prior_fd",
    "prior_frechet_distance",
    "component_agreement",
    "details_kept",
    "class_coverage",
    "sample_batches",
    "features",
    "dataset_features",
    "feature_index",
    "frechet_distance",
]
