"""The motion-text model: a motion encoder and a projected text encoder sharing one embedding space."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from motion_text_node.checks import is_finite_number, is_int
from motion_text_node.errors import refuse_unknown_keys
from motion_text_node.skeleton.normalize import NormalizationConfig


@dataclass
class ModelConfig:
    """Architecture of the contrastive model (stored in checkpoints; unknown keys are an error)."""

    encoder: str = "transformer"  # "transformer" or "stgcn"
    embed_dim: int = 256
    d_model: int = 256
    layers: int = 4
    heads: int = 4
    ff: int = 1024
    dropout: float = 0.1
    gcn_channels: tuple[int, ...] = (64, 64, 128, 128, 256)
    text_model: str = ""  # path of a local Hugging Face model; "" = packaged all-MiniLM-L6-v2
    text_dim: int = 384
    text_trainable_layers: int = 0
    temperature: float = 0.07
    # How sentence embeddings enter the shared space (see ``TextProjection``): "mlp", "linear", "residual"
    # (identity + a zero-initialized MLP, weight decay pulls it back to the identity) or "locked" (LiT: MiniLM's
    # own space; embed_dim must equal text_dim).
    text_projection: str = "mlp"
    # Frames per transformer token (transformer only): 2 or 3 cut the tokens, and the encoder's time, 2-3x;
    # a window whose length is no multiple is padded with masked frames.
    patch_frames: int = 1

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        """Build from a dict, refusing unknown keys."""
        refuse_unknown_keys(data, cls, "model")
        data = dict(data)
        if "gcn_channels" in data:
            data["gcn_channels"] = tuple(data["gcn_channels"])
        config = cls(**data)
        config.check()
        return config

    def check(self) -> None:
        """ValueError naming the first size or rate a model cannot be built with."""
        for name in ("embed_dim", "d_model", "layers", "heads", "ff", "text_dim", "patch_frames"):
            value = getattr(self, name)
            if not (is_int(value) and value > 0):
                raise ValueError(f"model.{name} must be a positive integer, got {value!r}")
        layers = self.text_trainable_layers
        if not (is_int(layers) and layers >= 0):
            raise ValueError(f"model.text_trainable_layers must be an integer >= 0, got {layers!r}")
        if not all(is_int(c) and c > 0 for c in self.gcn_channels):
            raise ValueError(f"model.gcn_channels must be positive integers, got {list(self.gcn_channels)}")
        if not (isinstance(self.dropout, (int, float)) and 0.0 <= self.dropout < 1.0):
            raise ValueError(f"model.dropout must be in [0, 1), got {self.dropout!r}")
        if not (is_finite_number(self.temperature) and self.temperature > 0):
            raise ValueError(f"model.temperature must be a number above 0, got {self.temperature!r}")
        if self.patch_frames > 1 and self.encoder != "transformer":
            raise ValueError(f"model.patch_frames applies to the transformer encoder only, not {self.encoder!r}")

    def to_dict(self) -> dict:
        """Plain dict (YAML/JSON friendly)."""
        d = asdict(self)
        d["gcn_channels"] = list(self.gcn_channels)
        return d


PROJECTIONS = ("mlp", "linear", "residual", "locked")


class TextProjection(nn.Module):
    """Sentence embedding (text_dim) -> shared space (embed_dim), unit norm.

    ``mlp`` and ``linear`` learn a free map: with a few hundred distinct training texts they can fold MiniLM's
    geometry, so unseen words land anywhere. ``residual`` starts as the identity and only learns a correction;
    ``locked`` keeps MiniLM's space exactly (the motion encoder learns to point into it).
    """

    def __init__(self, text_dim: int, embed_dim: int, kind: str = "mlp") -> None:
        super().__init__()
        if kind not in PROJECTIONS:
            raise ValueError(f"unknown text_projection {kind!r}; choose {', '.join(PROJECTIONS)}")
        if kind in ("residual", "locked") and embed_dim != text_dim:
            raise ValueError(f"text_projection {kind} keeps the text space: embed_dim must be text_dim ({text_dim})")
        self.kind = kind
        if kind == "mlp":
            self.net = nn.Sequential(nn.Linear(text_dim, text_dim), nn.GELU(), nn.Linear(text_dim, embed_dim))
        elif kind == "linear":
            self.net = nn.Linear(text_dim, embed_dim)
        elif kind == "residual":
            self.net = nn.Sequential(nn.Linear(text_dim, text_dim), nn.GELU(), nn.Linear(text_dim, embed_dim))
            nn.init.zeros_(self.net[2].weight)
            nn.init.zeros_(self.net[2].bias)

    @property
    def trainable(self) -> bool:
        """Whether there is anything to learn (and to export) on the text side."""
        return self.kind != "locked"

    def forward(self, sentence: torch.Tensor) -> torch.Tensor:
        if self.kind == "locked":
            return F.normalize(sentence, dim=-1)
        out = self.net(sentence)
        return F.normalize(sentence + out if self.kind == "residual" else out, dim=-1)


def build_motion_encoder(config: ModelConfig, norm: NormalizationConfig) -> nn.Module:
    """The motion encoder named by ``config.encoder``."""
    if config.encoder == "transformer":
        from motion_text_node.model.motion_transformer import MotionTransformer

        return MotionTransformer(norm.feature_dim, config.d_model, config.layers, config.heads, config.ff,
                                 config.dropout, config.embed_dim, config.patch_frames)
    if config.encoder == "stgcn":
        from motion_text_node.model.stgcn import STGCNEncoder

        return STGCNEncoder(norm, channels=config.gcn_channels, embed_dim=config.embed_dim, dropout=config.dropout)
    raise ValueError(f"unknown encoder {config.encoder!r}; choose transformer or stgcn")


class MotionTextModel(nn.Module):
    """Motion encoder + text projection + learnable temperature.

    The frozen text backbone is not part of this module: training feeds cached sentence embeddings
    (``TextEncoder``), export joins backbone and projection into one graph.
    """

    def __init__(self, config: ModelConfig, norm: NormalizationConfig) -> None:
        super().__init__()
        self.config = config
        self.norm = norm
        self.motion_encoder = build_motion_encoder(config, norm)
        self.text_projection = TextProjection(config.text_dim, config.embed_dim, config.text_projection)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1.0 / config.temperature)))

    def encode_motion(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, T, F), (B, T) -> (B, embed_dim)."""
        return self.motion_encoder(x, mask)

    def encode_text(self, sentence: torch.Tensor) -> torch.Tensor:
        """(B, text_dim) sentence embeddings -> (B, embed_dim)."""
        return self.text_projection(sentence)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, sentence: torch.Tensor, extra: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """Motion, text and extra-text embeddings and the log inverse temperature, in one call (the call DDP
        wraps, so every parameter's gradient is averaged across ranks)."""
        extra_emb = self.encode_text(extra) if extra is not None and len(extra) else None
        return self.encode_motion(x, mask), self.encode_text(sentence), extra_emb, self.logit_scale
