"""The generalization recipe's ingredients: text projections that keep MiniLM's geometry, laterality hard
negatives, sensor-realism augmentation, and the split text tower they export to."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import REPO

from motion_text_node.model.contrastive import TextProjection
from motion_text_node.model.losses import contrastive_loss
from motion_text_node.skeleton.canonical import CANONICAL_JOINTS, JOINT_INDEX
from motion_text_node.skeleton.motion import Motion
from motion_text_node.skeleton.sensor import flicker, random_sensor_effect, side_swap_burst, tilt


def test_residual_projection_starts_as_the_identity_and_locked_has_nothing_to_learn() -> None:
    x = F.normalize(torch.randn(5, 384), dim=-1)
    residual, locked = TextProjection(384, 384, "residual"), TextProjection(384, 384, "locked")
    assert torch.allclose(residual(x), x, atol=1e-6) and torch.allclose(locked(x), x)
    assert not list(locked.parameters()) and not locked.trainable and residual.trainable
    assert TextProjection(384, 256, "linear")(x).shape == (5, 256)
    with pytest.raises(ValueError, match="embed_dim must be text_dim"):
        TextProjection(384, 256, "locked")
    with pytest.raises(ValueError, match="unknown text_projection"):
        TextProjection(384, 384, "orthogonal-ish")


def test_side_swapped_hard_negative_costs_only_where_it_is_close_and_valid() -> None:
    torch.manual_seed(0)
    motion = F.normalize(torch.randn(4, 8), dim=-1)
    text = motion.clone()  # every pair already aligned
    scale = torch.tensor(np.log(10.0))
    base = contrastive_loss(motion, text, scale)
    near = F.normalize(motion + 0.1 * torch.randn(4, 8), dim=-1)  # a swapped text almost where the motion is
    none_valid = contrastive_loss(motion, text, scale, hard_text=near, hard_valid=torch.zeros(4, dtype=torch.bool))
    all_valid = contrastive_loss(motion, text, scale, hard_text=near, hard_valid=torch.ones(4, dtype=torch.bool))
    far = contrastive_loss(motion, text, scale, hard_text=-motion, hard_valid=torch.ones(4, dtype=torch.bool))
    assert torch.isclose(none_valid, base) and all_valid > base + 0.1 and far < all_valid
    # What it adds to the gradient pushes each motion away from its swapped text (descent follows -grad).
    grads = []
    for valid in (torch.zeros(4, dtype=torch.bool), torch.ones(4, dtype=torch.bool)):
        m = motion.clone().requires_grad_(True)
        contrastive_loss(m, text, scale, hard_text=near, hard_valid=valid).backward()
        grads.append(m.grad)
    assert ((grads[1] - grads[0]) * near).sum(1).min() > 0


def _walk(frames: int = 30) -> Motion:
    rng = np.random.default_rng(1)
    base = rng.normal(0, 0.3, (len(CANONICAL_JOINTS), 3)).astype(np.float32)
    base[:, 2] += 1.0
    t = np.arange(frames)[:, None, None] / 15.0
    pos = base[None] + 0.05 * np.sin(2 * np.pi * t + np.arange(len(CANONICAL_JOINTS))[None, :, None])
    return Motion(pos.astype(np.float32), CANONICAL_JOINTS, 15.0)


def test_sensor_effects_damage_the_motion_the_way_they_say() -> None:
    m = _walk()
    lost = flicker(m, rate=0.2, seed=3)
    assert 0.1 < 1 - lost.validity().mean() < 0.3 and lost.validity()[:, JOINT_INDEX["pelvis"]].all()
    assert np.isfinite(lost.positions).all()
    swapped = side_swap_burst(m, frames=3, seed=0)
    changed = np.abs(swapped.positions - m.positions).max(axis=(1, 2)) > 0
    assert changed.sum() == 3 and np.ptp(np.flatnonzero(changed)) == 2  # one burst of 3 consecutive frames
    lw, rw = JOINT_INDEX["left_wrist"], JOINT_INDEX["right_wrist"]
    f = int(np.flatnonzero(changed)[0])
    assert np.allclose(swapped.positions[f, lw], m.positions[f, rw])
    tilted = tilt(m, 10.0, 5.0)  # rigid: distances between joints kept
    assert np.allclose(np.linalg.norm(tilted.positions[:, lw] - tilted.positions[:, rw], axis=-1),
                       np.linalg.norm(m.positions[:, lw] - m.positions[:, rw], axis=-1), atol=1e-5)
    rng = random.Random(0)
    for _ in range(30):
        out = random_sensor_effect(m, rng)
        assert out.positions.shape == m.positions.shape and np.isfinite(out.positions).all()


def test_recipe_trains_and_exports_a_locked_text_side_keeping_the_backbone(cmu_cache, tiny_model_dir,
                                                                          tmp_path) -> None:
    """Residual and locked projections, sensor effects and side negatives run end to end; exporting the locked
    model over a folder with the same backbone keeps the backbone file and writes no projection."""
    from motion_text_node.export.onnx_export import export_model
    from motion_text_node.runtime.engine import MotionTextRuntime
    from motion_text_node.train.checkpoint import load_contrastive
    from motion_text_node.train.config import load_config
    from motion_text_node.train.trainer import Trainer

    common = [f"data.cache={cmu_cache}", "augment.sensor=0.5", "augment.side_negatives=true", "model.embed_dim=384",
              "optim.epochs=1"]
    for kind in ("residual", "locked"):
        config = load_config(REPO / "configs" / "tiny.yaml", [*common, f"model.text_projection={kind}"])
        row = Trainer(config, tmp_path / kind, progress=False).run()
        assert np.isfinite(row["train_loss"])
    out = tmp_path / "model"
    out.mkdir()
    for name in ("text_backbone.onnx", "model.json"):  # a folder already holding this backbone
        (out / name).write_bytes((tiny_model_dir / name).read_bytes())
    (out / "text_projection.onnx").write_bytes(b"stale")
    before = (out / "text_backbone.onnx").stat().st_mtime_ns
    logs: list[str] = []
    export_model(tmp_path / "locked" / "best.pt", out, int8_motion=False, log=logs.append)
    meta = json.loads((out / "model.json").read_text())
    assert "text backbone unchanged: keeping text_backbone.onnx" in logs
    assert (out / "text_backbone.onnx").stat().st_mtime_ns == before and not (out / "text_projection.onnx").exists()
    assert meta["text_encoder"]["projection_kind"] == "locked" and "projection" not in meta["text_encoder"]
    # The runtime's text embeddings are MiniLM's own, as the locked model was trained on.
    lm = load_contrastive(tmp_path / "locked" / "best.pt")
    ref = lm.text_encoder.encode(["wave the left hand", "sit down"])
    got = MotionTextRuntime(out, library=None).text_encoder.encode(["wave the left hand", "sit down"])
    assert (ref * got).sum(1).min() > 0.9999


def test_ablation_table_shows_the_kinect_like_view_where_a_report_has_it(tmp_path) -> None:
    from motion_text_node.train.model_card import ROBUST_VIEW, _lobo_lines

    def report(name: str, captured: float, fifteen: float | None) -> str:
        section = {"source": "cmu", "setting": "in-domain (test split)",
                   "recognition": {"top1": captured, "top1_ci95": [captured - 2, captured + 2]},
                   "laterality": {"num_clips": 0}}
        if fifteen is not None:
            section["robustness"] = {"as captured": {"top1": captured}, ROBUST_VIEW: {"top1": fifteen}}
        (tmp_path / name).mkdir()
        (tmp_path / name / "report.json").write_text(json.dumps({"protocols": [section], "models": ["m"]}))
        return str(tmp_path / name)

    lines = _lobo_lines({"source": "bandai", "ablation": {"with sensor": report("a", 80.0, 79.5),
                                                          "without": report("b", 83.0, 38.25),
                                                          "not measured": report("c", 81.0, None)}})
    rows = {line.split(" | ")[0].strip("| "): line.split(" | ") for line in lines if line.startswith("| ")}
    assert f"cmu top-1, {ROBUST_VIEW}" in rows["recipe"][-1]
    assert rows["with sensor"][-1] == "79.5 |" and rows["without"][-1] == "38.2 |"
    assert rows["not measured"][-1] == "- |" and rows["not measured"][4] == "81.0"


def test_hard_negatives_are_the_near_miss_where_given_else_the_side_swap(cmu_cache, tmp_path) -> None:
    """With near misses on, each window's hard negative is its near miss (``captions.near_miss``) where the
    sampler gave one, else with side negatives its side-swapped text; the frozen text side skips texts it has not
    cached; a training step runs with them."""
    from motion_text_node.skeleton.mirror import has_side_words, mirror_text
    from motion_text_node.train.config import load_config
    from motion_text_node.train.trainer import Trainer

    sets = [f"data.cache={cmu_cache}", "model.embed_dim=384", "model.text_projection=locked",
            "augment.paraphrase=false", "augment.kinematic_captions=1.0", "augment.near_miss_negatives=1.0",
            "optim.epochs=1"]
    trainer = Trainer(load_config(REPO / "configs" / "tiny.yaml", sets), tmp_path / "near", progress=False)
    cached = sorted(trainer.text_cache.vectors)
    plain = [t for t in cached if not has_side_words(t)][:4]
    sided = next(t for t in cached if has_side_words(t) and mirror_text(t) in trainer.text_cache.vectors)
    misses = trainer.sampler.batch_with_negatives(64)[3]
    assert any(misses) and set(filter(None, misses)) <= set(cached)  # the sampler's near misses are cached
    texts, misses = [plain[0], plain[1], plain[2], sided], [plain[3], "not a cached text", "", ""]
    sent = trainer._text_vectors(texts)
    vec, valid = trainer._hard_negatives(texts, misses, sent)
    assert valid.tolist() == [True, False, False, False]
    assert torch.allclose(vec[0], trainer._text_vectors([plain[3]])[0])
    trainer.config.augment.side_negatives = True
    vec, valid = trainer._hard_negatives(texts, misses, sent)
    assert valid.tolist() == [True, False, False, True]
    assert torch.allclose(vec[3], trainer._text_vectors([mirror_text(sided)])[0])
    trainer.config.augment.side_negatives, trainer.config.augment.near_miss_negatives = False, 0.0
    assert trainer._hard_negatives(texts, misses, sent) == (None, None)
    trainer.config.augment.near_miss_negatives = 1.0
    assert np.isfinite(trainer.train_step())
