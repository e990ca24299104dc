"""Checkpoints: save and load trained models with the resolved config they were trained with, and the loaded
contrastive model (``load_contrastive``) that evaluation and export embed motions and texts with."""

from __future__ import annotations

import pickle
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from motion_text_node.data.clip import Clip
from motion_text_node.data.labels import prompts
from motion_text_node.errors import UserError
from motion_text_node.model.contrastive import MotionTextModel
from motion_text_node.model.text_encoder import TextEncoder
from motion_text_node.train.config import TrainConfig, load_config
from motion_text_node.train.samples import clip_windows


def save_checkpoint(path: Path, model: torch.nn.Module, config: TrainConfig, **extra) -> None:
    """Write model weights, config and anything in ``extra`` (optimizer, epoch, history, classes...)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "config": config.to_dict(), **extra}, tmp)
    tmp.replace(path)  # never leave a half-written checkpoint behind


def copy_checkpoint(src: Path, dst: Path) -> None:
    """Copy a checkpoint file, as atomically as ``save_checkpoint`` writes one."""
    tmp = dst.with_suffix(".tmp")
    shutil.copyfile(src, tmp)
    tmp.replace(dst)


def read_checkpoint(path: str | Path) -> dict:
    """The raw checkpoint dict (UserError for a missing or unreadable file)."""
    path = Path(path)
    if path.is_dir():
        path = path / "best.pt"
    if not path.is_file():
        raise UserError(f"{path}: checkpoint not found")
    try:
        # weights_only: tensors and plain data only, so a crafted checkpoint cannot run code when loaded.
        # TorchVersion (a str subclass) is in checkpoints that recorded the torch version before it became a str.
        with torch.serialization.safe_globals([torch.torch_version.TorchVersion]):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise UserError(f"{path}: refused, the checkpoint holds more than tensors and plain data (loading it "
                        "could run code); only load checkpoints you trust, re-saved with motion-text") from None
    except Exception as exc:  # torch raises many types for corrupt files
        raise UserError(f"{path}: not a readable checkpoint ({type(exc).__name__})") from None


def build_model(config: TrainConfig, num_classes: int = 0) -> torch.nn.Module:
    """The model a config describes (contrastive model, or GCN classifier for the baseline task)."""
    if config.optim.task == "classifier":
        from motion_text_node.model.gcn_baseline import GCNClassifier

        mc = config.model_config
        return GCNClassifier(config.norm, num_classes, channels=mc.gcn_channels, dropout=mc.dropout)
    return MotionTextModel(config.model_config, config.norm)


def load_model(path: str | Path) -> tuple[torch.nn.Module, TrainConfig, dict]:
    """Model (eval mode), its config and the checkpoint dict, from a checkpoint file or run folder."""
    ckpt = read_checkpoint(path)
    config = load_config(base=ckpt["config"])
    model = build_model(config, len(ckpt.get("classes", [])))
    model.load_state_dict(ckpt["model"])
    model.eval()
    return model, config, ckpt


@torch.no_grad()
def embed_windows(model, windows, device, batch: int = 128) -> np.ndarray:
    """Motion embeddings (or classifier logits) of windows, (N, D) float32."""
    model.eval()
    out = []
    for i in range(0, len(windows), batch):
        ws = windows[i:i + batch]
        x = torch.from_numpy(np.stack([w.features for w in ws])).to(device)
        m = torch.from_numpy(np.stack([w.mask for w in ws])).to(device)
        enc = model.encode_motion(x, m) if hasattr(model, "encode_motion") else model(x, m)
        out.append(enc.float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


@dataclass
class LoadedModel:
    """A contrastive model with what evaluation needs to embed texts."""

    model: torch.nn.Module
    config: TrainConfig
    text_encoder: TextEncoder
    provenance: list[dict] = field(default_factory=list)  # training data per source (``data.sources.provenance``)

    def texts(self, texts: list[str]) -> np.ndarray:
        """Texts in the shared space, (N, D)."""
        sent = torch.from_numpy(self.text_encoder.encode(texts))
        with torch.no_grad():
            return self.model.encode_text(sent).float().numpy()

    def labels(self, labels: list[str]) -> np.ndarray:
        """Label embeddings averaged over the prompt templates, renormalized, (C, D)."""
        per = np.stack([self.texts(prompts(label)).mean(0) for label in labels])
        return per / np.linalg.norm(per, axis=1, keepdims=True)

    def clips(self, clips: list[Clip], mirror: bool = False) -> np.ndarray:
        """One embedding per clip: the normalized mean of its half-overlapping windows, (N, D)."""
        out = []
        for c in clips:
            e = embed_windows(self.model, clip_windows(c, self.config.norm, mirror=mirror), torch.device("cpu"))
            m = e.mean(0)
            out.append(m / np.linalg.norm(m))
        return np.stack(out)


def load_contrastive(path: str | Path) -> LoadedModel:
    """A trained contrastive model with its text encoder (UserError for a classifier checkpoint)."""
    model, config, ckpt = load_model(path)
    if ckpt.get("task", "contrastive") != "contrastive":
        raise UserError(f"{path}: a {ckpt.get('task')} checkpoint, not a contrastive model")
    mc = config.model_config
    text = TextEncoder(mc.text_model or None, 0)
    if ckpt.get("text_backbone"):  # layers fine-tuned with model.text_trainable_layers
        missing = set(ckpt["text_backbone"]) - set(dict(text.backbone.named_parameters()))
        if missing:
            raise UserError(f"{path}: fine-tuned text weights do not fit the text model ({sorted(missing)[:2]})")
        text.backbone.load_state_dict(ckpt["text_backbone"], strict=False)
    return LoadedModel(model, config, text, ckpt.get("data_provenance", []))
