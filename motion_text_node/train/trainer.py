"""The training loop: contrastive motion-text model (or the GCN classifier baseline), CPU, CUDA or torchrun DDP.

Read top to bottom: set-up (data, text embeddings, model), then epochs of steps, validation, checkpoints.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import math
import os
import random
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from motion_text_node.data.cache import DatasetCache
from motion_text_node.data.clip import Clip
from motion_text_node.data.labels import clip_action_label, cmu_action_classes
from motion_text_node.data.sources import provenance, select_clips
from motion_text_node.errors import UserError
from motion_text_node.metrics import retrieval_protocols
from motion_text_node.model.losses import contrastive_loss
from motion_text_node.model.text_encoder import TextEmbeddingCache, TextEncoder
from motion_text_node.paths import cache_dir
from motion_text_node.skeleton.mirror import mirror_text, side_words
from motion_text_node.train.checkpoint import (
    build_model,
    copy_checkpoint,
    embed_windows,
    read_checkpoint,
    save_checkpoint,
)
from motion_text_node.train.config import TrainConfig, cache_path, save_config
from motion_text_node.train.ema import WeightAverage
from motion_text_node.train.samples import WindowSampler, clip_windows


@dataclass
class Dist:
    """Where this process sits in a torchrun job (world of 1 without torchrun)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_distributed() -> Dist:
    """Join the torchrun process group when launched by torchrun (RANK/WORLD_SIZE set)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    torch.distributed.init_process_group(backend)
    return Dist(torch.distributed.get_rank(), world, int(os.environ.get("LOCAL_RANK", "0")))


def pick_device(dist: Dist) -> torch.device:
    """CUDA (this rank's GPU) when present, else CPU."""
    if torch.cuda.is_available():
        torch.cuda.set_device(dist.local_rank)
        return torch.device("cuda", dist.local_rank)
    return torch.device("cpu")


def bf16_enabled(setting: str, device: torch.device) -> bool:
    """Whether to autocast to bfloat16 ("auto": where the hardware has fast bf16)."""
    if setting == "off":
        return False
    if setting == "on":
        return True
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return "AVX512" in torch.backends.cpu.get_cpu_capability() and _cpu_has_bf16()


def _cpu_has_bf16() -> bool:
    try:
        return "avx512_bf16" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


def hardware_description(device: torch.device, world: int) -> dict:
    """What a run was trained on (recorded in the checkpoint, shown on the model card)."""
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        try:
            name = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                        if line.startswith("model name"))
        except (OSError, StopIteration):
            name = "unknown CPU"
    return {"device": device.type, "name": name, "processes": world, "cpu_cores": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "torch": str(torch.__version__)}


def resolve_cache(config: TrainConfig) -> DatasetCache:
    """The dataset cache of the config, built from its named shared-data source(s) first when it is missing."""
    path = cache_path(config)
    if not (path / "index.json").is_file():
        from motion_text_node.data.build import FOLDER_SOURCES, build_cache

        if config.data.source in FOLDER_SOURCES:
            raise UserError(f"{path}: no dataset cache; build it with `motion-text data build`")
        build_cache(config.data.source, path, fps=config.norm.fps)
    return DatasetCache(path)


def selected_clips(cache: DatasetCache, config: TrainConfig, split: str) -> list[Clip]:
    """The clips of ``split`` at the model fps, restricted to the config's sources and licences."""
    d = config.data
    return select_clips(cache.clips(split, fps=config.norm.fps), d.sources, d.exclude_sources, d.exclude_licences)


def class_names(clips: list[Clip], label_set: str) -> list[str]:
    """Recognition classes: the CMU keyword classes, or the sorted labels present in ``clips``."""
    return cmu_action_classes() if label_set == "cmu" else sorted({c.label for c in clips if c.label})


def text_embedding_store(config: TrainConfig) -> tuple[TextEncoder, TextEmbeddingCache]:
    """The frozen text encoder and an on-disk cache of its sentence embeddings (one file per text model)."""
    encoder = TextEncoder(config.model_config.text_model or None, config.model_config.text_trainable_layers)
    key = hashlib.sha1(str(encoder.path.resolve()).encode()).hexdigest()[:12]
    return encoder, TextEmbeddingCache(cache_dir() / "text_embeddings" / f"{key}.npz")


def extra_vocabulary(config: TrainConfig) -> list[str]:
    """Extra negative texts for motion-to-text (the CMU index vocabulary) or none."""
    if config.augment.extra_texts == "none":
        return []
    if config.augment.extra_texts == "cmu_index":
        from motion_text_node.data.cmu import read_index_texts

        return read_index_texts()
    raise UserError(f"augment.extra_texts must be cmu_index or none, got {config.augment.extra_texts!r}")


def gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` from every rank (rank order); gradients flow into this rank's own part only (as in
    open_clip): every rank computes the loss of the global batch, DDP then averages the parameter gradients."""
    parts = [torch.zeros_like(x) for _ in range(torch.distributed.get_world_size())]
    torch.distributed.all_gather(parts, x.detach().contiguous())
    parts[torch.distributed.get_rank()] = x
    return torch.cat(parts, dim=0)


def side_signatures(texts: list[str], device: torch.device | str = "cpu", aware: bool = True) -> torch.Tensor:
    """(N,) int64: one number per text for the side words it names, in order (0 for none), so that signatures
    can be compared across ranks; all 0 when not ``aware`` (texts compared by cosine alone)."""
    named = [side_words(t) if aware else () for t in texts]
    return torch.tensor([zlib.crc32(" ".join(w).encode()) if w else 0 for w in named], dtype=torch.int64,
                        device=device)


def near_duplicates(a: torch.Tensor, b: torch.Tensor, sides_a: torch.Tensor, sides_b: torch.Tensor,
                    threshold: float) -> torch.Tensor:
    """(N, M) bool: texts that say the same thing, by the cosine of their unit-norm sentence vectors ``a``, ``b``
    (at least ``threshold``), unless they name different sides. MiniLM puts "wave the left hand" and "wave the
    right hand" at cosine 0.97: by cosine alone they would count as one positive, and the loss would teach the
    motion encoder to ignore which side moves."""
    return (a @ b.t() >= threshold) & (sides_a[:, None] == sides_b[None, :])


def parameter_groups(model: torch.nn.Module, weight_decay: float, extra: list | None = None) -> list[dict]:
    """AdamW groups: weight decay on weight matrices only; biases, norms and the temperature undecayed."""
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    named += [(f"extra.{i}", p) for i, p in enumerate(extra or []) if p.requires_grad]
    decay = [p for n, p in named if p.ndim >= 2 and "norm" not in n.lower()]
    no_decay = [p for n, p in named if not (p.ndim >= 2 and "norm" not in n.lower())]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def _lr_at(step: int, total: int, config: TrainConfig) -> float:
    o = config.optim
    if step < o.warmup_steps:
        return o.lr * (step + 1) / o.warmup_steps
    progress = (step - o.warmup_steps) / max(total - o.warmup_steps, 1)
    return o.lr * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))


def _feature_stats(sampler: WindowSampler, n: int = 1024) -> tuple[torch.Tensor, torch.Tensor]:
    x, mask, _ = sampler.batch(n)
    real = x[mask]  # (frames, F)
    return torch.from_numpy(real.mean(0)), torch.from_numpy(real.std(0))


class Trainer:
    """One training run in ``out_dir``: ``Trainer(config, out_dir).run()``."""

    def __init__(self, config: TrainConfig, out_dir: Path, resume: bool = False, progress: bool = True) -> None:
        self.config, self.out = config, Path(out_dir)
        self.dist = init_distributed()
        self.device = pick_device(self.dist)
        self.progress = progress and self.dist.main
        self.resume = resume
        if config.optim.threads > 0:
            torch.set_num_threads(config.optim.threads)
        seed = config.seed + self.dist.rank
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)

        self._load_clips(config)
        self.task = config.optim.task
        if self.task not in ("contrastive", "classifier"):
            raise UserError(f"optim.task must be contrastive or classifier, got {self.task!r}")
        if config.optim.select not in ("best", "last"):
            raise UserError(f"optim.select must be best or last, got {config.optim.select!r}")
        if not 0.0 <= config.optim.ema_decay < 1.0:
            raise UserError(f"optim.ema_decay must be in [0, 1) (0: off), got {config.optim.ema_decay}")
        self.classes: list[str] = self._use_class_labels(config) if self.task == "classifier" else []
        self.sampler = WindowSampler(self.train_clips, config.norm, self._augment(config), seed=seed)
        self.model = build_model(config, len(self.classes)).to(self.device)
        self.bf16 = bf16_enabled(config.optim.bf16, self.device)
        self.frozen_text = True
        if self.task == "contrastive":
            self._prepare_text_side(config)
        self._prepare_optimizer(config)
        self.ema = WeightAverage(self.model, config.optim.ema_decay) if config.optim.ema_decay > 0 else None
        self.epoch, self.step, self.best = 0, 0, -float("inf")
        self.history: list[dict] = []

    # --- set-up ---------------------------------------------------------------------------------------------
    def _load_clips(self, config: TrainConfig) -> None:
        """The training and validation clips of the config's cache, sources and licences, and their provenance."""
        cache = resolve_cache(config)
        self.train_clips = selected_clips(cache, config, config.data.train_split)
        self.val_clips = selected_clips(cache, config, config.data.val_split)
        if not self.train_clips:
            raise UserError(f"no clips in split {config.data.train_split!r} of {cache.root} for the config's "
                            "data.sources / exclude_sources / exclude_licences")
        self.provenance = provenance(self.train_clips)

    def _use_class_labels(self, config: TrainConfig) -> list[str]:
        """Classifier task: the classes; training clips without one are dropped, the others' text is their class."""
        classes = class_names(self.train_clips, config.data.label_set)
        self.train_clips = [c for c in self.train_clips if clip_action_label(c, config.data.label_set) in classes]
        for c in self.train_clips:  # the sampler's text is the class label
            c.texts = [clip_action_label(c, config.data.label_set)]
        return classes

    def _augment(self, config: TrainConfig):
        """The augmentation config; for the classifier labels, not sentences: no paraphrases or word swaps."""
        if self.task != "classifier":
            return config.augment
        from dataclasses import replace

        return replace(config.augment, paraphrase=False, captions=0.0, side_phrases=0.0, kinematic_captions=0.0)

    def _prepare_text_side(self, config: TrainConfig) -> None:
        """Contrastive task: every training, validation and vocabulary text embedded once (cached); the text
        encoder kept only when some of its layers train; the motion features' standardization statistics."""
        self.text_encoder, self.text_cache = text_embedding_store(config)
        self.frozen_text = config.model_config.text_trainable_layers == 0
        self.vocab = extra_vocabulary(config)
        texts = self.sampler.training_texts() + [c.text for c in self.val_clips] + self.vocab
        if self.dist.main:
            print(f"embedding {len(set(texts))} texts with the frozen text encoder (cached)", flush=True)
        self.text_cache.get(texts, self.text_encoder)
        self.vocab_vecs = self.text_cache.get(self.vocab, self.text_encoder) if self.vocab else None
        self.vocab_sides = side_signatures(self.vocab, aware=config.optim.side_aware_positives)
        if self.frozen_text:
            self.text_encoder = None  # the cache is all we need
        else:
            self.text_encoder.to(self.device)
        if config.model_config.encoder == "transformer":
            mean, std = _feature_stats(self.sampler)
            self.model.motion_encoder.set_feature_stats(mean.to(self.device), std.to(self.device))

    def _prepare_optimizer(self, config: TrainConfig) -> None:
        """AdamW over the model (and trainable text layers) with no-decay groups, DDP when distributed, steps."""
        extra = list(self.text_encoder.parameters()) if self.task == "contrastive" and not self.frozen_text else []
        self.opt = torch.optim.AdamW(parameter_groups(self.model, config.optim.weight_decay, extra), lr=config.optim.lr)
        self.ddp_model = self.model
        if self.dist.world > 1:
            self.ddp_model = torch.nn.parallel.DistributedDataParallel(
                self.model, device_ids=[self.dist.local_rank] if self.device.type == "cuda" else None)
        self.steps_per_epoch = max(config.optim.samples_per_epoch // (config.optim.batch_size * self.dist.world), 1)
        self.total_steps = self.steps_per_epoch * config.optim.epochs

    # --- one step -------------------------------------------------------------------------------------------
    def _text_vectors(self, texts: list[str]) -> torch.Tensor:
        if self.frozen_text:
            return torch.from_numpy(self.text_cache.get(texts, None)).to(self.device)
        tok = self.text_encoder.tokenize(texts)
        return self.text_encoder(tok["input_ids"].to(self.device), tok["attention_mask"].to(self.device))

    def _loss(self, x: torch.Tensor, mask: torch.Tensor, texts: list[str],
              near_misses: list[str] | None = None) -> torch.Tensor:
        if self.task == "classifier":
            target = torch.tensor([self.classes.index(t) for t in texts], device=self.device)
            return F.cross_entropy(self.ddp_model(x, mask), target)
        sent = self._text_vectors(texts)  # (B, text_dim)
        threshold = self.config.optim.near_duplicate_threshold
        with torch.no_grad():
            raw = F.normalize(sent.float(), dim=-1)
            sides = side_signatures(texts, self.device, self.config.optim.side_aware_positives)
            same = torch.tensor([[a == b for b in texts] for a in texts], device=self.device)
            positives = same | near_duplicates(raw, raw, sides, sides, threshold)
        extra = None
        if self.vocab_vecs is not None and self.config.augment.extra_text_count > 0:
            idx = np.random.choice(len(self.vocab_vecs), min(self.config.augment.extra_text_count,
                                                             len(self.vocab_vecs)), replace=False)
            ev = torch.from_numpy(self.vocab_vecs[idx]).to(self.device)
            # A vocabulary text that (nearly) says what a batch text says is no negative.
            keep = ~near_duplicates(ev, raw, self.vocab_sides[idx].to(self.device), sides, threshold).any(dim=1)
            extra = ev[keep]
        hard, hard_valid = self._hard_negatives(texts, near_misses, sent)
        # Through the DDP wrapper, so gradients are averaged across ranks; the loss sees the global batch.
        motion, t, e, logit_scale = self.ddp_model(x, mask, sent if hard is None else torch.cat([sent, hard]), extra)
        if hard is not None:
            t, hard = t[:len(texts)], t[len(texts):]
        if self.dist.world > 1:
            motion, t = gather_with_grad(motion), gather_with_grad(t)
            if hard is not None:
                hard, hard_valid = gather_with_grad(hard), gather_with_grad(hard_valid.float()).bool()
            everyone, all_sides = gather_with_grad(raw), gather_with_grad(sides)
            positives = near_duplicates(everyone, everyone, all_sides, all_sides, threshold)
            local = torch.arange(len(raw), device=self.device) + self.dist.rank * len(raw)
            positives[local[:, None], local[None, :]] |= same  # exact repeats (bf16 rounding aside)
        return contrastive_loss(motion, t, logit_scale, positives, e, hard, hard_valid)

    def _hard_negatives(self, texts: list[str], near_misses: list[str] | None,
                        sent: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """One hard negative text per window: its near miss (``captions.near_miss``) where the sampler gave one,
        else with ``augment.side_negatives`` the text with left and right swapped. Returns their sentence vectors
        (B, text_dim) and where there is one (B,) bool, or (None, None) when neither kind is on. A text the frozen
        cache lacks is skipped."""
        sides = self.config.augment.side_negatives
        if not sides and self.config.augment.near_miss_negatives <= 0:
            return None, None  # decided by the config alone, so every DDP rank gathers the same tensors
        near_misses = near_misses or [""] * len(texts)
        chosen = [m or (mirror_text(t) if sides else "") for t, m in zip(texts, near_misses, strict=True)]
        valid = [bool(c) and c != t and (not self.frozen_text or c in self.text_cache.vectors)
                 for c, t in zip(chosen, texts, strict=True)]
        use = [c if ok else t for c, t, ok in zip(chosen, texts, valid, strict=True)]
        vec = self._text_vectors(use) if any(valid) else sent
        return vec, torch.tensor(valid, device=self.device)

    def train_step(self) -> float:
        """One optimization step on a fresh batch; returns the loss."""
        self.ddp_model.train()
        for g in self.opt.param_groups:
            g["lr"] = _lr_at(self.step, self.total_steps, self.config)
        xb, mb, texts, near_misses = self.sampler.batch_with_negatives(self.config.optim.batch_size)
        x, mask = torch.from_numpy(xb).to(self.device), torch.from_numpy(mb).to(self.device)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            loss = self._loss(x, mask, texts, near_misses)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.optim.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.optim.grad_clip)
        self.opt.step()
        if self.ema is not None:
            self.ema.update(self.model)
        self.step += 1
        return float(loss.detach())

    def shipped_weights(self):
        """Context in which ``self.model`` carries the weights that are validated and saved: the moving average
        with ``optim.ema_decay``, else the trained weights themselves."""
        return self.ema.applied(self.model) if self.ema is not None else contextlib.nullcontext()

    # --- validation ------------------------------------------------------------------------------------------
    def validate(self) -> dict:
        """Retrieval (contrastive) or accuracy (classifier) on the validation split; {} without val clips."""
        clips = self.val_clips
        if self.task == "classifier":
            clips = [c for c in clips if clip_action_label(c, self.config.data.label_set) in self.classes]
        if not clips:
            return {}
        windows = [w for c in clips for w in clip_windows(c, self.config.norm, stride=self.config.norm.window_frames)]
        emb = embed_windows(self.model, windows, self.device)
        if self.task == "classifier":
            truth = np.array([self.classes.index(clip_action_label(next(c for c in clips if c.clip_id == w.clip_id),
                                                            self.config.data.label_set)) for w in windows])
            return {"val_acc": float((emb.argmax(1) == truth).mean() * 100)}
        texts = [w.text for w in windows]
        with torch.no_grad():  # fine-tuned text layers: embed with them, not with the frozen cache
            sent = torch.cat([self._text_vectors(texts[i:i + 256]) for i in range(0, len(texts), 256)]).float()
            temb = self.model.encode_text(sent).float().cpu().numpy()
        sides = [side_words(t) for t in texts] if self.config.optim.side_aware_positives else None
        res = retrieval_protocols(emb, temb, texts, text_emb_for_dups=sent.cpu().numpy(),
                                  threshold=self.config.optim.near_duplicate_threshold, sides=sides)["all"]
        keys = ("t2m_R@1", "t2m_R@5", "m2t_R@1", "m2t_R@5")
        return {f"val_{k}": float(res[k]) for k in keys}

    @staticmethod
    def score(val: dict, loss: float) -> float:
        """Model selection: mean validation R@1/R@5 (or accuracy); minus the loss without validation."""
        return float(np.mean(list(val.values()))) if val else -loss

    # --- the run -------------------------------------------------------------------------------------------
    def _state(self) -> dict:
        state = {"optimizer": self.opt.state_dict(), "epoch": self.epoch, "step": self.step, "best": self.best,
                 "history": self.history, "classes": self.classes, "task": self.task,
                 "data_provenance": self.provenance, "text_backbone": self._text_backbone_state(),
                 "hardware": hardware_description(self.device, self.dist.world)}
        if self.ema is not None:  # "model" holds the average; resuming needs the trained weights too
            # cloned: applying the average writes into the model's own tensors
            state.update(trained_weights={k: v.detach().clone() for k, v in self.model.state_dict().items()},
                         ema_updates=self.ema.updates)
        return state

    def _save(self, name: str) -> None:
        state = self._state()
        with self.shipped_weights():
            save_checkpoint(self.out / name, self.model, self.config, **state)

    def _text_backbone_state(self) -> dict:
        """The fine-tuned text layers (``model.text_trainable_layers`` > 0), {} for a frozen text encoder."""
        if self.task != "contrastive" or self.frozen_text:
            return {}
        return {n: p.detach().cpu().clone() for n, p in self.text_encoder.backbone.named_parameters()
                if p.requires_grad}

    def _restore(self) -> None:
        ckpt = read_checkpoint(self.out / "last.pt")
        if self.ema is not None and "trained_weights" in ckpt:
            self.model.load_state_dict(ckpt["trained_weights"])
            self.ema.load(ckpt["model"], int(ckpt.get("ema_updates", 0)))
        else:
            self.model.load_state_dict(ckpt["model"])
        if ckpt.get("text_backbone") and not self.frozen_text:
            self.text_encoder.backbone.load_state_dict(ckpt["text_backbone"], strict=False)
        self.opt.load_state_dict(ckpt["optimizer"])
        self.epoch, self.step, self.best, self.history = ckpt["epoch"], ckpt["step"], ckpt["best"], ckpt["history"]

    def run(self) -> dict:
        """Train for the configured epochs (continuing from ``last.pt`` with resume); returns the last log row."""
        if self.dist.main:
            self.out.mkdir(parents=True, exist_ok=True)
            save_config(self.config, self.out / "config.yaml")
        if self.resume and (self.out / "last.pt").is_file():
            self._restore()
        elif self.resume:
            raise UserError(f"{self.out}: nothing to resume (no last.pt)")
        row: dict = {}
        while self.epoch < self.config.optim.epochs:
            t0, losses = time.time(), []
            bar = tqdm(range(self.steps_per_epoch), desc=f"epoch {self.epoch + 1}/{self.config.optim.epochs}",
                       disable=not self.progress, leave=False)
            for _ in bar:
                losses.append(self.train_step())
                rate = len(losses) * self.config.optim.batch_size * self.dist.world / (time.time() - t0)
                bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}", samples_s=f"{rate:.0f}")
            self.epoch += 1
            row = {"epoch": self.epoch, "step": self.step, "train_loss": float(np.mean(losses)),
                   "lr": self.opt.param_groups[0]["lr"], "samples_per_s": rate,
                   "seconds": time.time() - t0}
            if self.dist.main and (self.epoch % self.config.optim.val_every == 0
                                   or self.epoch == self.config.optim.epochs):
                with self.shipped_weights():
                    row.update(self.validate())
            if self.dist.main:
                self.history.append(row)
                score = self.score({k: v for k, v in row.items() if k.startswith("val_")}, row["train_loss"])
                improved = score > self.best
                self.best = max(self.best, score)
                self._save("last.pt")
                if improved or self.config.optim.select == "last":
                    copy_checkpoint(self.out / "last.pt", self.out / "best.pt")  # the same state, written once
                self._write_log()
                print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()),
                      flush=True)
        if self.dist.world > 1:
            torch.distributed.destroy_process_group()
        return row

    def _write_log(self) -> None:
        keys = sorted({k for r in self.history for k in r}, key=lambda k: (k != "epoch", k))
        with (self.out / "log.csv").open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=keys)
            w.writeheader()
            w.writerows(self.history)
        try:
            from motion_text_node.viz.plots import plot_training_curves

            plot_training_curves(self.out / "log.csv", self.out / "training_curves.png")
        except ImportError:
            pass
