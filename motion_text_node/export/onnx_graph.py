"""The motion-encoder graph as ONNX: the dynamo exporter with batch and time dynamic, one self-contained file."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from motion_text_node.skeleton.normalize import NormalizationConfig


def export_onnx(model: nn.Module, path: str | Path, config: NormalizationConfig, output_name: str = "motion_embedding",
                batch: int = 2, frames: int = 30) -> Path:
    """Export ``model(x, mask)`` (a motion encoder: transformer, ``STGCNEncoder`` or ``GCNClassifier``) to one
    self-contained ONNX file.

    Inputs ``x`` (B, T, F) float32 and ``mask`` (B, T) bool, batch and time dynamic (dynamo exporter; the example
    needs batch and frames >= 2, the exported graph then runs at any T >= 1). Do not name the output
    ``embedding`` (it collides with an internal node name). The model is left in eval mode.
    """
    if batch < 2 or frames < 2:
        raise ValueError("the example input needs batch >= 2 and frames >= 2 (1 would be specialized)")
    path = Path(path)
    model.eval()
    x = torch.randn(batch, frames, config.feature_dim)
    mask = torch.ones(batch, frames, dtype=torch.bool)
    b, t = torch.export.Dim("batch"), torch.export.Dim("time")
    torch.onnx.export(model, (x, mask), str(path), dynamo=True, external_data=False, input_names=["x", "mask"],
                      output_names=[output_name], dynamic_shapes={"x": {0: b, 1: t}, "mask": {0: b, 1: t}},
                      verbose=False)
    return path
