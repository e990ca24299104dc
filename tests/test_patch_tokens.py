"""Patch tokens (model.patch_frames): several frames per transformer token, padding-independent, exported with a
dynamic time axis that need not be a multiple of the patch."""

from __future__ import annotations

import pytest
import torch

from motion_text_node.export.onnx_export import PARITY_TOLERANCE, motion_parity
from motion_text_node.export.onnx_graph import export_onnx
from motion_text_node.model.contrastive import ModelConfig
from motion_text_node.model.motion_transformer import MotionTransformer, patchify
from motion_text_node.skeleton.normalize import NormalizationConfig

CONFIG = NormalizationConfig()


def _encoder(patch: int) -> MotionTransformer:
    torch.manual_seed(0)
    return MotionTransformer(CONFIG.feature_dim, d_model=32, layers=1, heads=2, ff=64, embed_dim=16,
                             patch_frames=patch).eval()


def test_patchify_groups_frames_pads_with_masked_ones_and_zeroes_them() -> None:
    x = torch.arange(2 * 7 * 2, dtype=torch.float32).reshape(2, 7, 2) + 1
    keep = torch.ones(2, 7, dtype=torch.bool)
    keep[1, 4:] = False
    tokens, token_keep = patchify(x, keep, 3)
    assert tokens.shape == (2, 3, 6) and token_keep.tolist() == [[True, True, True], [True, True, False]]
    assert torch.equal(tokens[0, 0], x[0, :3].reshape(-1)) and torch.equal(tokens[0, 2, 2:], torch.zeros(4))
    assert torch.equal(tokens[1, 1], torch.cat([x[1, 3], torch.zeros(4)]))  # frames 4-5 masked: zero


def test_a_patch_model_ignores_what_masked_frames_hold() -> None:
    enc = _encoder(3)
    x = torch.randn(1, 45, CONFIG.feature_dim)
    keep = torch.ones(1, 45, dtype=torch.bool)
    keep[0, 31:] = False
    noisy = x.clone()
    noisy[0, 31:] = 1e3 * torch.randn(14, CONFIG.feature_dim)
    with torch.no_grad():
        assert torch.allclose(enc(x, keep), enc(noisy, keep), atol=1e-6)
        assert not torch.allclose(enc(x, keep), enc(x, torch.ones_like(keep)), atol=1e-3)


@pytest.mark.parametrize("patch", [2, 3])
def test_patch_model_exports_with_a_dynamic_time_axis(patch: int, tmp_path) -> None:
    enc = _encoder(patch)
    path = export_onnx(enc, tmp_path / "m.onnx", CONFIG, frames=30)
    worst = motion_parity(enc, path, CONFIG.feature_dim, lengths=(1, 2, 29, 30, 31, 45, 100))
    assert max(worst.values()) < PARITY_TOLERANCE, worst


def test_patch_frames_is_checked() -> None:
    with pytest.raises(ValueError, match="patch_frames"):
        ModelConfig.from_dict({"patch_frames": 0})
    with pytest.raises(ValueError, match="transformer encoder only"):
        ModelConfig.from_dict({"patch_frames": 2, "encoder": "stgcn"})
    assert ModelConfig.from_dict({"patch_frames": 3}).patch_frames == 3
