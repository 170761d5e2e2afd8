"""Latent-space operations as plain tensor functions: statistics, interpolation,
traversal ranges, attribute vectors, projections. No UI, no training."""

from .stats import ACTIVE_KL, latent_statistics, load_stats, mean_difference, save_stats

__all__ = ["ACTIVE_KL", "latent_statistics", "load_stats", "mean_difference", "save_stats"]
