"""Training configuration: typed sections read from YAML, with ``key.sub=value`` overrides.

Unknown keys and wrong types fail loudly with the list of valid keys.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from motion_text_node.errors import UserError
from motion_text_node.model.contrastive import ModelConfig
from motion_text_node.paths import REPO_ROOT
from motion_text_node.skeleton.normalize import NormalizationConfig


@dataclass
class DataConfig:
    """Where the training data comes from."""

    cache: str = ".cache/datasets/cmu"  # dataset cache folder (built from `source` when missing)
    source: str = "cmu"  # used to build the cache when it does not exist (only "cmu" can be built implicitly)
    train_split: str = "train"
    val_split: str = "val"
    label_set: str = "cmu"  # action classes for recognition: "cmu" (keyword classes) or "dataset" (clip labels)
    sources: list = field(default_factory=list)  # data sources to train on (names; empty: every source in the cache)
    exclude_sources: list = field(default_factory=list)  # sources left out (e.g. [bandai] for leave-one-out)
    exclude_licences: list = field(default_factory=list)  # e.g. [CC-BY-NC-4.0]: train without non-commercial data


@dataclass
class AugmentConfig:
    """Motion- and text-side augmentation (see README: what each buys)."""

    mirror: float = 0.5  # probability of mirroring a window (and swapping side words in its text)
    speed: tuple[float, float] = (0.8, 1.25)  # random playback-speed factor range
    joint_dropout: float = 0.2  # probability of dropping (masking + imputing) a few joints
    scale: tuple[float, float] = (0.9, 1.1)  # body size jitter (matters when retargeting is off)
    paraphrase: bool = True  # prompt templates and label synonyms on training texts
    captions: float = 0.5  # probability of using a HumanML3D caption when the window lies in its span
    side_phrases: float = 0.5  # probability of naming the clearly dominant arm/leg ("..., mostly moving the left arm")
    extra_texts: str = "cmu_index"  # extra negative texts: "cmu_index" (2,435 CMU descriptions) or "none"
    extra_text_count: int = 256
    balanced: bool = True  # sample text groups with probability ~ count**0.5 instead of clips uniformly
    source_balance: float = 0.0  # > 0: each data source's share of windows ~ (its clips)**source_balance
    kinematic_captions: float = 0.0  # probability of a caption from the joints (captions module) as the text
    caption_stride_s: float = 1.0  # captions are computed for windows this far apart (the nearest one is used)
    caption_sentences: int = 2  # sentences written per captioned window
    sensor: float = 0.0  # probability of one random sensor effect (skeleton.sensor: 15 joints, jitter, tilt, ...)
    side_negatives: bool = False  # the side-swapped text of each window naming a side is a negative for it
    near_miss_negatives: float = 0.0  # probability that a captioned window carries a near miss of its caption
    # (captions.near_miss: "wave the left hand" beside "raise the left hand", "raise both hands") as a hard negative


@dataclass
class OptimConfig:
    """Optimization and schedule."""

    task: str = "contrastive"  # "contrastive" (the model) or "classifier" (GCN cross-entropy baseline)
    epochs: int = 30
    batch_size: int = 64
    samples_per_epoch: int = 4096
    lr: float = 3e-4
    weight_decay: float = 0.01
    warmup_steps: int = 100
    grad_clip: float = 1.0
    bf16: str = "auto"  # "auto" (bf16 autocast where the CPU/GPU supports it), "on", "off"
    near_duplicate_threshold: float = 0.95  # text cosine above which two texts are the same positive
    side_aware_positives: bool = True  # near-duplicates must name the same sides (false: cosine alone, before 12-03)
    val_every: int = 1
    ema_decay: float = 0.0  # > 0: validate and ship an exponential moving average of the weights (e.g. 0.995)
    select: str = "best"  # best.pt holds the epoch of the "best" validation score, or the "last" epoch
    threads: int = 0  # torch CPU threads, 0 = torch default


@dataclass
class TrainConfig:
    """Everything a run needs; saved resolved into the run folder."""

    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    normalization: dict = field(default_factory=lambda: NormalizationConfig().to_dict())
    model: dict = field(default_factory=lambda: ModelConfig().to_dict())
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)

    @property
    def norm(self) -> NormalizationConfig:
        """The normalization section as its typed config."""
        return NormalizationConfig.from_dict(self.normalization)

    @property
    def model_config(self) -> ModelConfig:
        """The model section as its typed config."""
        return ModelConfig.from_dict(self.model)

    def to_dict(self) -> dict:
        """Plain nested dict (YAML)."""
        return _plain(dataclasses.asdict(self))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _coerce(value: Any, like: Any, key: str) -> Any:
    """Convert ``value`` to the type of the default ``like`` (YAML gives ints for floats, lists for tuples)."""
    if isinstance(like, bool):
        if isinstance(value, bool):
            return value
        raise UserError(f"{key}: expected true/false, got {value!r}")
    if isinstance(like, float) and isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise UserError(f"{key}: expected a finite number, got {value!r}")
        return float(value)
    if isinstance(like, int) and isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(like, str) and isinstance(value, str):
        return value
    if isinstance(like, str) and isinstance(value, bool):  # YAML reads on/off as booleans
        return "on" if value else "off"
    if isinstance(like, list) and isinstance(value, str):  # --set data.sources=cmu,hra
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(like, list) and isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    if isinstance(like, tuple) and isinstance(value, (list, tuple)) and len(value) == len(like):
        return tuple(_coerce(v, d, key) for v, d in zip(value, like, strict=True))
    raise UserError(f"{key}: expected {type(like).__name__}, got {value!r}")


def _apply(section: Any, data: dict, prefix: str) -> None:
    if dataclasses.is_dataclass(section):
        names = {f.name: f for f in fields(section)}
        for key, value in data.items():
            if key not in names:
                raise UserError(f"unknown config key {prefix}{key}; valid: {', '.join(sorted(names))}")
            current = getattr(section, key)
            if dataclasses.is_dataclass(current) or isinstance(current, dict):
                if not isinstance(value, dict):
                    raise UserError(f"{prefix}{key} must be a mapping")
                _apply(current, value, f"{prefix}{key}.")
            else:
                setattr(section, key, _coerce(value, current, prefix + key))
    else:  # free-form dict sections validated by their own from_dict
        for key, value in data.items():
            if key not in section:
                raise UserError(f"unknown config key {prefix}{key}; valid: {', '.join(sorted(section))}")
            current = section[key]
            section[key] = list(value) if isinstance(current, list) and isinstance(value, list) else (
                _coerce(value, tuple(current) if isinstance(current, list) else current, prefix + key))
            if isinstance(current, list):
                section[key] = list(section[key])


def parse_override(text: str) -> dict:
    """``a.b=value`` -> ``{"a": {"b": value}}`` with the value parsed as YAML."""
    if "=" not in text:
        raise UserError(f"override {text!r} must look like key.sub=value")
    key, raw = text.split("=", 1)
    value = yaml.safe_load(raw) if raw else ""
    for part in reversed(key.strip().split(".")):
        value = {part: value}
    return value


def load_config(path: str | Path | None = None, overrides: list[str] | None = None,
                base: dict | None = None) -> TrainConfig:
    """Defaults, then the YAML file (optionally ``inherit: other.yaml``), then ``--set`` overrides."""
    config = TrainConfig()
    layers: list[dict] = []
    if base:
        layers.append(base)
    if path is not None:
        layers.extend(_read_yaml_chain(Path(path)))
    layers.extend(parse_override(o) for o in overrides or [])
    for layer in layers:
        _apply(config, layer, "")
    try:
        config.norm, config.model_config  # noqa: B018 - validate the free-form sections
    except ValueError as exc:
        raise UserError(str(exc)) from None
    near = config.augment.near_miss_negatives
    if not 0.0 <= near <= 1.0:
        raise UserError(f"augment.near_miss_negatives is a probability (0 to 1), got {near}")
    if near > 0 and config.augment.kinematic_captions <= 0:
        raise UserError("augment.near_miss_negatives needs augment.kinematic_captions > 0 (near misses are those of "
                        "a window's caption)")
    return config


def _read_yaml_chain(path: Path, depth: int = 0) -> list[dict]:
    if depth > 5:
        raise UserError(f"{path}: 'inherit' nests too deeply")
    if not path.is_file():
        raise UserError(f"{path}: config file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError:
        raise UserError(f"{path}: not a text file (a config is YAML)") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: a config must be a mapping")
    parent = data.pop("inherit", None)
    if parent is not None and not (isinstance(parent, str) and parent.strip()):
        raise UserError(f"{path}: 'inherit' must name another config file, got {parent!r}")
    chain = _read_yaml_chain(path.parent / parent, depth + 1) if parent else []
    return [*chain, data]


def save_config(config: TrainConfig, path: Path) -> None:
    """Write the resolved config as YAML."""
    path.write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))


def cache_path(config: TrainConfig) -> Path:
    """The config's dataset cache folder (a relative path is relative to the repository)."""
    path = Path(config.data.cache)
    return path if path.is_absolute() else REPO_ROOT / path
