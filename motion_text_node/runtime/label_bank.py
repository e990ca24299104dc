"""Action labels -> cached text embeddings (prompt-template averaged), updatable at run time.

Where labels come from (``parse_labels``): a list; or a string that is a label file reference (it ends in .txt,
.yaml, .yml or .json, or contains a path separator) or else a comma-separated list. The form of a string decides,
never the file system, so a long comma list is never looked up as a path. Label files: .yaml/.yml (and .json) are
a list of strings or a mapping with a ``labels:`` key; any other file is plain text, one label per line (blank lines
and lines starting with '#' skipped). Every label is trimmed of whitespace and invisible characters (zero-width
space, BOM, ...); blank ones are dropped, duplicates (ignoring case and spacing) keep the first spelling, and the
result must hold 1 to ``MAX_LABELS`` labels of at most ``MAX_LABEL_CHARS`` characters each.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from motion_text_node.errors import UserError
from motion_text_node.runtime.text_input import read_text_file, shown, strip_invisible

MAX_LABELS = 1000
#: Longest label: the text encoder reads at most 64 tokens of "prompt + label" (about 250 characters of English),
#: so more would be cut off unseen; well inside the encoders' MAX_TEXT_CHARS (2000) for whole texts.
MAX_LABEL_CHARS = 200
#: Largest label file read (1,000 labels of 200 characters with comments fit easily).
MAX_LABEL_FILE_BYTES = 1_000_000
LABEL_FILE_SUFFIXES = (".txt", ".yaml", ".yml", ".json")
STRUCTURED_SUFFIXES = (".yaml", ".yml", ".json")
PATH_SEPARATORS = tuple(sep for sep in {"/", os.sep, os.altsep} if sep)


def looks_like_label_file(text: str) -> bool:
    """Whether a ``labels`` string names a file: it ends in .txt/.yaml/.yml/.json or contains a path separator.
    Decided from the string alone (no file-system call, so it cannot fail)."""
    text = strip_invisible(text)
    return text.lower().endswith(LABEL_FILE_SUFFIXES) or any(sep in text for sep in PATH_SEPARATORS)


def parse_labels(value: str | list[str] | tuple[str, ...]) -> list[str]:
    """Labels from a list, a label file reference or a comma-separated string (see the module docstring);
    UserError for an unreadable file, no labels, too many or too long ones."""
    if isinstance(value, (list, tuple)):
        labels = [str(v) for v in value]
    elif isinstance(value, str):
        labels = _read_label_file(value) if looks_like_label_file(value) else value.split(",")
    else:
        raise UserError(f"labels must be a list or a string, got {type(value).__name__}")
    return clean_labels(labels)


def labels_from_file(path: str | Path) -> list[str]:
    """The labels of a label file (whatever its name looks like); UserError when it is missing or unreadable."""
    return clean_labels(_read_label_file(path))


def clean_labels(labels: list[str]) -> list[str]:
    """Trimmed labels, blank ones dropped, duplicates (ignoring case and spacing) removed keeping the first;
    UserError when none is left, more than MAX_LABELS or one longer than MAX_LABEL_CHARS."""
    kept: dict[str, str] = {}
    for raw in labels:
        label = strip_invisible(raw)
        if label:
            kept.setdefault(" ".join(label.casefold().split()), label)
    out = list(kept.values())
    if not out:
        raise UserError("no labels given (empty, or only blanks and invisible characters)")
    if len(out) > MAX_LABELS:
        raise UserError(f"{len(out)} labels; at most {MAX_LABELS}")
    for label in out:
        if len(label) > MAX_LABEL_CHARS:
            raise UserError(f"label '{shown(label[:40])}...' has {len(label)} characters; at most {MAX_LABEL_CHARS}")
    return out


def _read_label_file(ref: str | Path) -> list[str]:
    """Raw labels of a label file: structured for .yaml/.yml/.json, else one per line."""
    name = strip_invisible(str(ref))
    text = _read_text(name)
    if Path(name).suffix.lower() in STRUCTURED_SUFFIXES:
        return _structured_labels(text, name)
    return [line for line in map(strip_invisible, text.splitlines()) if line and not line.startswith("#")]


def _read_text(name: str) -> str:
    """The UTF-8 text of a regular file of at most MAX_LABEL_FILE_BYTES; UserError (never OSError) otherwise."""
    if not name:
        raise UserError("no label file named (empty file name)")
    return read_text_file(os.path.expanduser(name), "label file", MAX_LABEL_FILE_BYTES, encoding="utf-8-sig")


def _structured_labels(text: str, name: str) -> list[str]:
    """Labels of a YAML (or JSON) label file: a list, or a mapping with a ``labels:`` key holding a list (or a
    block of text, one label per line)."""
    where = shown(os.path.expanduser(name))
    if name.lower().endswith(".json"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UserError(f"{where}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    else:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise UserError(f"{where}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if isinstance(data, dict) and "labels" in data:
        data = data["labels"]
    if isinstance(data, str):
        return data.splitlines()
    if not isinstance(data, list):
        raise UserError(f"{where}: expected a list of labels (a YAML list of strings, or a 'labels:' key)")
    for i, item in enumerate(data, 1):
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            raise UserError(f"{where}: label {i} is {shown(repr(item), 40)}, not a text (quote it in the file)")
    return [str(x) for x in data]


@dataclass(frozen=True)
class LabelSet:
    """One label set and its embeddings, never changed once made: a reader that took it scores and names with the
    same labels even while ``LabelBank.set_labels`` installs new ones."""

    labels: tuple[str, ...]
    embeddings: np.ndarray  # (C, D) unit norm

    def scores(self, motion_emb: np.ndarray) -> np.ndarray:
        """Cosine similarity of (N, D) or (D,) motion embeddings with every label, (N, C) or (C,)."""
        return motion_emb @ self.embeddings.T

    def top_k(self, scores: np.ndarray, k: int) -> tuple[list[str], list[float]]:
        """The k best labels of one (C,) score row, best first."""
        if len(scores) != len(self.labels):
            raise ValueError(f"{len(scores)} scores for {len(self.labels)} labels")
        order = np.argsort(-scores)[: max(1, min(k, len(self.labels)))]
        return [self.labels[i] for i in order], [float(scores[i]) for i in order]


class LabelBank:
    """Label embeddings for nearest-label recognition; ``set_labels`` re-embeds (open vocabulary).

    The current ``LabelSet`` is replaced in one assignment after the new labels are embedded, so readers see the
    old set or the new one, never new names with old embeddings; take ``current`` once per decision.
    """

    def __init__(self, text_encoder, labels: list[str], templates: list[str] | None = None) -> None:
        self.text_encoder = text_encoder
        self.templates = list(templates or ["{}"])
        self.current = LabelSet((), np.zeros((0, 0), np.float32))
        self.set_labels(labels)

    @property
    def labels(self) -> list[str]:
        return list(self.current.labels)

    @property
    def embeddings(self) -> np.ndarray:
        return self.current.embeddings

    def set_labels(self, labels: list[str]) -> None:
        """Replace the label set (embeds every label through every template, averages, renormalizes)."""
        labels = parse_labels(labels)
        texts = [t.format(label) for label in labels for t in self.templates]
        emb = self.text_encoder.encode(texts).reshape(len(labels), len(self.templates), -1).mean(1)
        self.current = LabelSet(tuple(labels), (emb / np.linalg.norm(emb, axis=1, keepdims=True)).astype(np.float32))

    def scores(self, motion_emb: np.ndarray) -> np.ndarray:
        """Cosine similarity of (N, D) or (D,) motion embeddings with every current label, (N, C) or (C,)."""
        return self.current.scores(motion_emb)

    def top_k(self, scores: np.ndarray, k: int) -> tuple[list[str], list[float]]:
        """The k best current labels of one (C,) score row, best first."""
        return self.current.top_k(scores, k)


class LabelSwitcher:
    """New label sets embedded in a worker thread and installed when ready, so a large set (1,000 labels take
    seconds to embed on a CPU) never blocks message intake or the parameter service; recognition keeps the current
    set until then. Requests made while one is embedding collapse to the newest (older ones are never installed).

    ``install(labels)`` embeds and installs one set (``StreamRecognizer.reset_labels``); ``on_done(labels, error)``
    is told the outcome of each installed or failed set (error None on success).
    """

    def __init__(self, install: Callable[[list[str]], None],
                 on_done: Callable[[list[str], str | None], None] | None = None) -> None:
        self._install = install
        self._on_done = on_done or (lambda labels, error: None)
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()
        self._next: list[str] | None = None
        self._thread: threading.Thread | None = None

    def request(self, labels: list[str]) -> None:
        """Install ``labels`` (already checked with ``parse_labels``) as soon as they are embedded."""
        with self._lock:
            self._next = list(labels)
            self._idle.clear()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="label-embedding", daemon=True)
                self._thread.start()

    @property
    def pending(self) -> bool:
        """Whether a requested set is not installed yet."""
        return not self._idle.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every requested set is installed (or failed); False on timeout."""
        return self._idle.wait(timeout)

    def _run(self) -> None:
        while True:
            with self._lock:
                labels, self._next = self._next, None
                if labels is None:
                    self._thread = None
                    self._idle.set()
                    return
            try:
                self._install(labels)
                error = None
            except Exception as exc:  # noqa: BLE001 - reported to the node, which keeps the old labels
                error = f"{type(exc).__name__}: {exc}"
            self._on_done(labels, error)
