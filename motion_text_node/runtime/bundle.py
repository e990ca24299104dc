"""The model folder contract: ``model.json`` says what the runtime needs to reproduce preprocessing exactly.

A model folder holds ``model.json``, ``motion_encoder.onnx``, the text tower and ``tokenizer.json``, and
optionally ``motion_encoder.int8.onnx``, ``labels.yaml`` and ``motion_library.npz`` (with its motions file,
``motion_library.motions.npz``: ``runtime.library``). The text tower is either one
file (``text_encoder.onnx``: MiniLM and the projection) or the frozen MiniLM part (``text_backbone.onnx``, the same
bytes for every model trained on it) plus the trained ``text_projection.onnx`` (none for a locked projection).
The runtime refuses a ``model.json`` it does not understand with one clear error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from motion_text_node.checks import is_int
from motion_text_node.errors import UserError
from motion_text_node.skeleton.canonical import CANONICAL_JOINTS
from motion_text_node.skeleton.normalize import NormalizationConfig

BUNDLE_FORMAT = "motion-text-model"
BUNDLE_VERSION = 1


@dataclass(frozen=True)
class ModelBundle:
    """A validated model folder."""

    root: Path
    meta: dict
    norm: NormalizationConfig

    @property
    def motion_path(self) -> Path:
        return self.root / self.meta["motion_encoder"]["file"]

    @property
    def int8_motion_path(self) -> Path | None:
        """The int8-quantized motion encoder, when the export added one (see ``export.quantize``)."""
        name = self.meta["motion_encoder"].get("int8_file")
        return self.root / name if name else None

    @property
    def text_path(self) -> Path:
        return self.root / self.meta["text_encoder"]["file"]

    @property
    def text_projection_path(self) -> Path | None:
        """The trained projection applied after ``text_path`` (None: its output is the shared space already)."""
        name = self.meta["text_encoder"].get("projection")
        return self.root / name if name else None

    @property
    def tokenizer_path(self) -> Path:
        return self.root / self.meta["text_encoder"]["tokenizer"]

    @property
    def embed_dim(self) -> int:
        return int(self.meta["embed_dim"])

    @property
    def prompt_templates(self) -> list[str]:
        return list(self.meta.get("prompt_templates", ["{}"]))

    @property
    def default_labels(self) -> list[str]:
        return list(self.meta.get("labels", []))

    @property
    def library_path(self) -> Path | None:
        name = self.meta.get("motion_library")
        return self.root / name if name else None


def check_meta(meta: dict, norm: NormalizationConfig) -> None:
    """The values of ``model.json`` the runtime relies on (ValueError naming the first wrong one)."""
    norm.check()
    dim = meta["embed_dim"]
    if not (is_int(dim) and dim > 0):
        raise ValueError(f"embed_dim must be a positive integer, got {dim!r}")
    feature_dim = meta["motion_encoder"].get("feature_dim", norm.feature_dim)
    if feature_dim != norm.feature_dim:
        raise ValueError(f"motion_encoder.feature_dim {feature_dim!r} does not match the normalization "
                         f"({norm.feature_dim} features per frame)")
    templates = meta.get("prompt_templates", ["{}"])
    if not (isinstance(templates, list) and templates
            and all(isinstance(t, str) and t.count("{}") == 1 for t in templates)):
        raise ValueError("prompt_templates must be a non-empty list of strings with one {} each")
    library = meta.get("motion_library")
    if library not in (None, "") and not (isinstance(library, str) and Path(library).name == library.strip()):
        raise ValueError(f"motion_library must be a file name in the model folder, got {library!r}")
    labels = meta.get("labels", [])
    if not (isinstance(labels, list) and all(isinstance(x, str) and x.strip() for x in labels)):
        raise ValueError("labels must be a list of non-empty strings")
    max_length = meta["text_encoder"].get("max_length", 64)
    if not (is_int(max_length) and 1 <= max_length <= 512):
        raise ValueError(f"text_encoder.max_length must be an integer in [1, 512], got {max_length!r}")


def load_bundle(root: str | Path) -> ModelBundle:
    """Read and validate ``root/model.json`` and the files it names."""
    root = Path(root)
    path = root / "model.json"
    if not path.is_file():
        raise UserError(f"{root}: no model.json (not a motion-text model folder; see `motion-text export`)")
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: unreadable ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != BUNDLE_FORMAT:
        raise UserError(f"{path}: not a {BUNDLE_FORMAT} description")
    if meta.get("format_version") != BUNDLE_VERSION:
        raise UserError(f"{path}: format_version {meta.get('format_version')!r} is not supported by this runtime "
                        f"(expects {BUNDLE_VERSION}); re-export the model or update motion-text")
    try:
        norm = NormalizationConfig.from_dict(meta["normalization"])
        if meta["skeleton"]["joints"] != list(CANONICAL_JOINTS):
            raise ValueError("the model's joint set is not the canonical SMPL-22 body")
        for key in ("motion_encoder", "text_encoder"):
            for name in ("file",) + (("tokenizer",) if key == "text_encoder" else ()):
                if not (root / meta[key][name]).is_file():
                    raise ValueError(f"missing {meta[key][name]}")
        for key, name in (("motion_encoder", "int8_file"), ("text_encoder", "projection")):
            if meta[key].get(name) and not (root / meta[key][name]).is_file():
                raise ValueError(f"missing {meta[key][name]}")
        check_meta(meta, norm)
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"{path}: {exc}") from None
    return ModelBundle(root, meta, norm)


def set_default_library(root: str | Path, library: str | Path) -> None:
    """Make ``library`` (a file inside the model folder ``root``) the folder's default motion library in
    ``model.json``; the file is replaced whole, so an interrupted write leaves the old description."""
    bundle = load_bundle(root)
    meta = {**bundle.meta, "motion_library": Path(library).name}
    path = bundle.root / "model.json"
    tmp = path.with_name(".model.json.tmp")
    tmp.write_text(json.dumps(meta, indent=1))
    tmp.replace(path)
