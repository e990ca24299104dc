"""Supervised GCN baseline (ST-GCN / 2s-AGCN joint stream style): the ST-GCN backbone + a linear class head.

The backbone is the same ``STGCNBackbone`` the contrastive ``STGCNEncoder`` uses (so weights move between the
two with ``load_state_dict`` on ``.backbone``); the head reads the pooled features, trained with cross-entropy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from motion_text_node.model.stgcn import STGCNBackbone
from motion_text_node.skeleton.normalize import NormalizationConfig


class GCNClassifier(nn.Module):
    """(B, T, F) features + (B, T) frame mask (True = real frame) -> (B, num_classes) logits."""

    def __init__(self, config: NormalizationConfig, num_classes: int,
                 channels: Sequence[int] = (64, 64, 128, 128, 256), dropout: float = 0.1,
                 temporal_kernel: int = 9, strides: Sequence[int] | None = None) -> None:
        super().__init__()
        if num_classes < 2:
            raise ValueError(f"num_classes must be >= 2, got {num_classes}")
        self.config = config
        self.num_classes = num_classes
        self.backbone = STGCNBackbone(config, channels, dropout, temporal_kernel, strides)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(self.backbone.out_dim, num_classes)

    def set_feature_stats(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Standardization statistics (feature_dim,) of the training features."""
        self.backbone.set_feature_stats(mean, std)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        pooled = self.backbone(x, mask)  # (B, C)
        return self.head(self.drop(pooled))  # (B, num_classes)

    def loss(self, x: torch.Tensor, mask: torch.Tensor, labels: torch.Tensor,
             label_smoothing: float = 0.0) -> torch.Tensor:
        """Mean cross-entropy of the logits against integer ``labels`` (B,)."""
        return F.cross_entropy(self(x, mask), labels, label_smoothing=label_smoothing)


@torch.no_grad()
def predict_scores(model: nn.Module, x: torch.Tensor | np.ndarray, mask: torch.Tensor | np.ndarray,
                   batch_size: int | None = None) -> np.ndarray:
    """Class probabilities (B, num_classes) float32 of ``model`` (a ``GCNClassifier``) in eval mode.

    ``x`` (B, T, F) and ``mask`` (B, T) may be numpy or torch; they go to the model's device, ``batch_size`` rows at
    a time (all at once when None). The model's training flag is restored afterwards.
    """
    device = next(model.parameters()).device
    x_t = torch.as_tensor(x, dtype=torch.float32)
    mask_t = torch.as_tensor(mask).bool()
    step = len(x_t) if batch_size is None else batch_size
    was_training = model.training
    model.eval()
    try:
        out = [F.softmax(model(x_t[i : i + step].to(device), mask_t[i : i + step].to(device)), dim=-1).cpu()
               for i in range(0, len(x_t), max(step, 1))]
    finally:
        model.train(was_training)
    if not out:
        return np.zeros((0, getattr(model, "num_classes", 0)), dtype=np.float32)
    return torch.cat(out).float().numpy()
