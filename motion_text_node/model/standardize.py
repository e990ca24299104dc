"""Input standardization shared by the motion encoders: (B, T, F) features minus the training features' mean,
over their std. The statistics are buffers, so they travel with checkpoints and with the exported ONNX graph."""

from __future__ import annotations

import torch
from torch import nn

#: Floor of a feature's std, so a feature constant in training does not blow up at run time.
MIN_FEATURE_STD = 1e-2


class StandardizedInput(nn.Module):
    """Base class of an encoder whose input features are standardized (``feature_mean``/``feature_std``)."""

    def init_feature_stats(self, feature_dim: int) -> None:
        """Register the statistics (identity: mean 0, std 1) until ``set_feature_stats`` sets them."""
        self.register_buffer("feature_mean", torch.zeros(feature_dim))
        self.register_buffer("feature_std", torch.ones(feature_dim))

    def set_feature_stats(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Standardization statistics (feature_dim,) of the training features (std floored to avoid blow-ups)."""
        self.feature_mean.copy_(mean)
        self.feature_std.copy_(std.clamp(min=MIN_FEATURE_STD))

    def standardize(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, F) features, standardized."""
        return (x - self.feature_mean) / self.feature_std
