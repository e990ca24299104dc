"""Transformer motion encoder: per-frame features -> one unit-norm embedding.

Attention is written with ``F.scaled_dot_product_attention`` and shapes read at run time, so ONNX export keeps
the time axis dynamic (``nn.MultiheadAttention`` gets its sequence length baked in by the legacy exporter).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from motion_text_node.model.standardize import StandardizedInput


def sinusoidal_positions(length: int, dim: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """(length, dim) fixed sinusoidal position encodings, computed for any length."""
    pos = torch.arange(length, device=device, dtype=torch.float32).unsqueeze(1)  # (T, 1)
    freq = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    angles = pos * freq  # (T, dim/2)
    return torch.stack([angles.sin(), angles.cos()], dim=-1).flatten(1).to(dtype)  # (T, dim)


class SelfAttention(nn.Module):
    """Multi-head self-attention with a key padding mask."""

    def __init__(self, d_model: int, heads: int, dropout: float) -> None:
        super().__init__()
        if d_model % heads:
            raise ValueError(f"d_model {d_model} is not divisible by heads {heads}")
        self.heads = heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.dropout = dropout

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)  # (B, H, T, c/H)
        attn_mask = keep[:, None, None, :]  # (B, 1, 1, T): True = may attend
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask,
                                           dropout_p=self.dropout if self.training else 0.0)
        return self.out(y.transpose(1, 2).reshape(b, t, c))


class EncoderLayer(nn.Module):
    """Pre-norm transformer layer."""

    def __init__(self, d_model: int, heads: int, ff: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(d_model)
        self.attn = SelfAttention(d_model, heads, dropout)
        self.norm2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, ff), nn.GELU(), nn.Dropout(dropout), nn.Linear(ff, d_model))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        x = x + self.drop(self.attn(self.norm1(x), keep))
        return x + self.drop(self.mlp(self.norm2(x)))


def patchify(x: torch.Tensor, keep: torch.Tensor, frames: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T, F) features and (B, T) bool frame mask -> (B, ceil(T / frames), frames * F) tokens and their mask.

    The time axis is padded to a multiple of ``frames`` with masked frames; masked frames are zeroed, so a
    token's content never depends on what padding held. A token is kept when any of its frames is.
    """
    b, t, f = x.shape
    pad = (frames - t % frames) % frames
    x = F.pad(x * keep.unsqueeze(-1).to(x.dtype), (0, 0, 0, pad))
    keep = F.pad(keep, (0, pad), value=False)
    return x.reshape(b, -1, frames * f), keep.reshape(b, -1, frames).any(-1)


class MotionTransformer(StandardizedInput):
    """(B, T, F) features + (B, T) frame mask -> (B, embed_dim) unit-norm motion embedding.

    Features are standardized with the training set's mean and std (buffers, so they travel with exports),
    grouped ``patch_frames`` frames to a token (``patchify``), projected to ``d_model``, given sinusoidal
    positions, encoded, mean-pooled over real tokens and projected.
    """

    def __init__(self, feature_dim: int, d_model: int = 256, layers: int = 4, heads: int = 4, ff: int = 1024,
                 dropout: float = 0.1, embed_dim: int = 256, patch_frames: int = 1) -> None:
        super().__init__()
        self.init_feature_stats(feature_dim)
        self.patch_frames = patch_frames
        self.inp = nn.Linear(feature_dim * patch_frames, d_model)
        self.layers = nn.ModuleList(EncoderLayer(d_model, heads, ff, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(d_model)
        self.proj = nn.Linear(d_model, embed_dim)
        self.d_model = d_model

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        keep = mask.bool()  # (B, T)
        x = self.standardize(x)
        if self.patch_frames > 1:
            x, keep = patchify(x, keep, self.patch_frames)
        h = self.inp(x)  # (B, T, D)
        h = h + sinusoidal_positions(h.shape[1], self.d_model, h.device, h.dtype)
        for layer in self.layers:
            h = layer(h, keep)
        h = self.norm(h)
        w = keep.unsqueeze(-1).to(h.dtype)  # (B, T, 1)
        pooled = (h * w).sum(1) / w.sum(1).clamp(min=1.0)  # (B, D)
        return F.normalize(self.proj(pooled), dim=-1)
