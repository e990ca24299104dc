"""Action labels -> cached text embeddings (prompt-template averaged), updatable at run time."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from motion_text_node.errors import UserError

MAX_LABELS = 1000


def parse_labels(value: str | list[str]) -> list[str]:
    """Labels from a list, a comma-separated string, or a text/YAML file path (one per line or a YAML list)."""
    if isinstance(value, (list, tuple)):
        labels = [str(v).strip() for v in value]
    else:
        text = str(value).strip()
        path = Path(text).expanduser()
        if text.endswith((".txt", ".yaml", ".yml")) or (len(text) < 4096 and path.is_file()):
            labels = _read_label_file(path)
        else:
            labels = [v.strip() for v in text.split(",")]
    labels = list(dict.fromkeys(label for label in labels if label))
    if not labels:
        raise UserError("no labels given")
    if len(labels) > MAX_LABELS:
        raise UserError(f"{len(labels)} labels; at most {MAX_LABELS}")
    return labels


def _read_label_file(path: Path) -> list[str]:
    import yaml

    if not path.is_file():
        raise UserError(f"{path}: label file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not a readable label file ({str(exc).splitlines()[0]})") from None
    if isinstance(data, dict) and "labels" in data:
        data = data["labels"]
    if isinstance(data, str):
        return [line.strip() for line in data.splitlines()]
    if isinstance(data, list) and all(isinstance(x, (str, int, float)) for x in data):
        return [str(x) for x in data]
    raise UserError(f"{path}: expected a list of labels (YAML list, 'labels:' key, or one label per line)")


class LabelBank:
    """Label embeddings for nearest-label recognition; ``set_labels`` re-embeds (open vocabulary)."""

    def __init__(self, text_encoder, labels: list[str], templates: list[str] | None = None) -> None:
        self.text_encoder = text_encoder
        self.templates = list(templates or ["{}"])
        self.labels: list[str] = []
        self.embeddings = np.zeros((0, 0), np.float32)
        self.set_labels(labels)

    def set_labels(self, labels: list[str]) -> None:
        """Replace the label set (embeds every label through every template, averages, renormalizes)."""
        labels = parse_labels(labels)
        texts = [t.format(label) for label in labels for t in self.templates]
        emb = self.text_encoder.encode(texts).reshape(len(labels), len(self.templates), -1).mean(1)
        self.embeddings = (emb / np.linalg.norm(emb, axis=1, keepdims=True)).astype(np.float32)
        self.labels = labels

    def scores(self, motion_emb: np.ndarray) -> np.ndarray:
        """Cosine similarity of (N, D) or (D,) motion embeddings with every label, (N, C) or (C,)."""
        return motion_emb @ self.embeddings.T

    def top_k(self, scores: np.ndarray, k: int) -> tuple[list[str], list[float]]:
        """The k best labels of one (C,) score row, best first."""
        order = np.argsort(-scores)[: max(1, min(k, len(self.labels)))]
        return [self.labels[i] for i in order], [float(scores[i]) for i in order]
