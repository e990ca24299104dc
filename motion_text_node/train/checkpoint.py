"""Checkpoints: save and load trained models with the resolved config they were trained with."""

from __future__ import annotations

import pickle
from pathlib import Path

import torch

from motion_text_node.errors import UserError
from motion_text_node.model.contrastive import MotionTextModel
from motion_text_node.train.config import TrainConfig, load_config


def save_checkpoint(path: Path, model: torch.nn.Module, config: TrainConfig, **extra) -> None:
    """Write model weights, config and anything in ``extra`` (optimizer, epoch, history, classes...)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "config": config.to_dict(), **extra}, tmp)
    tmp.replace(path)  # never leave a half-written checkpoint behind


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
