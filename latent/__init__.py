"""Latent-space operations as plain tensor functions: statistics, interpolation,
traversal ranges, attribute vectors, projections. No UI, no training."""

from .attribute_quality import SPLIT_SEED, fit_and_score, heldout_auc, heldout_table, split_halves, splittable
from .attributes import (
    ATTRIBUTE_METHODS,
    DEFAULT_STRENGTH,
    attribute_vector,
    custom_vector,
    edit,
    guided_edit,
    load_vector,
    project_out,
    roc_auc,
    save_vector,
    scale_to_mean_difference,
    stratified_difference,
    svm_normal,
)
from .explorer import SAMPLE_SOURCES, Explorer
from .interpolate import INTERPOLATIONS, interpolate, lerp, slerp
from .invert import Inversion, invert
from .latent_map import latent_map
from .pca import LabelledMixture, PCABasis, fit_mixture, fit_pca, from_pca, labelled_codes, sample_aggregate, stats_pca, to_pca
from .sampled import labelled_directions, sampled_statistics
from .sliders import GRID_SPACINGS, SLIDER_MODES, ManifoldGrid, SliderSpec, apply_sliders, manifold_grid, slider_axes, slider_specs
from .stats import ACTIVE_KL, STATS_NAME, latent_statistics, load_stats, mean_difference, pca, save_stats

__all__ = [
    "ACTIVE_KL",
    "STATS_NAME",
    "latent_statistics",
    "sampled_statistics",
    "labelled_directions",
    "load_stats",
    "mean_difference",
    "pca",
    "save_stats",
    "INTERPOLATIONS",
    "interpolate",
    "lerp",
    "slerp",
    "Inversion",
    "invert",
    "PCABasis",
    "fit_pca",
    "stats_pca",
    "to_pca",
    "from_pca",
    "sample_aggregate",
    "fit_mixture",
    "LabelledMixture",
    "labelled_codes",
    "SLIDER_MODES",
    "GRID_SPACINGS",
    "SliderSpec",
    "slider_specs",
    "apply_sliders",
    "slider_axes",
    "ManifoldGrid",
    "manifold_grid",
    "ATTRIBUTE_METHODS",
    "DEFAULT_STRENGTH",
    "save_vector",
    "load_vector",
    "attribute_vector",
    "stratified_difference",
    "svm_normal",
    "project_out",
    "scale_to_mean_difference",
    "roc_auc",
    "edit",
    "guided_edit",
    "custom_vector",
    "SPLIT_SEED",
    "heldout_table",
    "splittable",
    "split_halves",
    "heldout_auc",
    "fit_and_score",
    "latent_map",
    "Explorer",
    "SAMPLE_SOURCES",
]
