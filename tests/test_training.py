"""The contrastive loss, configs, the trainer on real CMU clips, evaluation and the GCN baseline."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import REPO

from motion_text_node.cli import main as cli_main
from motion_text_node.errors import UserError
from motion_text_node.model.losses import contrastive_loss, multi_positive_nce
from motion_text_node.train.config import load_config
from motion_text_node.train.trainer import Trainer


def test_duplicate_texts_are_positives_not_negatives() -> None:
    # Two motions of the same text "walk": the plain CLIP loss punishes motion 0 for matching text 1;
    # the multi-positive loss does not.
    m = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [1.0, 0.05], [0.0, 1.0]]), dim=-1)
    t = torch.nn.functional.normalize(torch.tensor([[1.0, 0.02], [1.0, 0.0], [0.0, 1.0]]), dim=-1)
    scale = torch.tensor(math.log(10.0))
    same = torch.tensor([[1, 1, 0], [1, 1, 0], [0, 0, 1]], dtype=torch.bool)
    plain = contrastive_loss(m, t, scale)
    multi = contrastive_loss(m, t, scale, positives=same)
    assert multi < plain
    # Hand check of one row: -log((e^a + e^b) / (e^a + e^b + e^c)).
    logits = torch.tensor([[2.0, 1.0, 0.0]])
    pos = torch.tensor([[True, True, False]])
    expected = -math.log((math.e ** 2 + math.e) / (math.e ** 2 + math.e + 1))
    assert float(multi_positive_nce(logits, pos)) == pytest.approx(expected, rel=1e-5)


def test_extra_texts_only_add_negatives() -> None:
    torch.manual_seed(0)
    m = torch.nn.functional.normalize(torch.randn(4, 8), dim=-1)
    t = torch.nn.functional.normalize(torch.randn(4, 8), dim=-1)
    extra = torch.nn.functional.normalize(torch.randn(5, 8), dim=-1)
    scale = torch.tensor(math.log(1 / 0.07))
    assert contrastive_loss(m, t, scale, extra_text=extra) > contrastive_loss(m, t, scale)


def test_config_inherit_overrides_and_loud_errors(tmp_path) -> None:
    c = load_config(REPO / "configs" / "tiny.yaml", ["optim.epochs=7", "augment.speed=[0.9, 1.1]"])
    assert c.optim.epochs == 7 and c.augment.speed == (0.9, 1.1)
    assert c.norm.window_frames == 30 and c.model_config.layers == 1  # from tiny.yaml
    assert c.augment.extra_texts == "cmu_index"  # inherited from cmu.yaml
    with pytest.raises(UserError, match="unknown config key optim.epoch"):
        load_config(overrides=["optim.epoch=3"])
    with pytest.raises(UserError, match="expected int"):
        load_config(overrides=["optim.epochs=many"])
    with pytest.raises(UserError, match="unknown model keys|unknown config key"):
        load_config(overrides=["model.colour=red"])
    with pytest.raises(UserError, match="not found"):
        load_config(tmp_path / "nope.yaml")


def test_training_steps_lower_the_loss_on_real_cmu_clips(cmu_cache) -> None:
    config = load_config(REPO / "configs" / "tiny.yaml", [f"data.cache={cmu_cache}", "augment.extra_texts=none",
                                                            "optim.warmup_steps=1", "optim.lr=0.002"])
    trainer = Trainer(config, REPO / "build" / "test_unused_run", progress=False)
    trainer.sampler.rng.seed(1)
    xb, mb, texts = trainer.sampler.batch(16)
    x, mask = torch.from_numpy(xb), torch.from_numpy(mb)
    trainer.sampler.batch = lambda size: (xb, mb, texts)  # the same real batch every step
    with torch.no_grad():
        before = float(trainer._loss(x, mask, texts))
    for _ in range(25):
        trainer.train_step()
    with torch.no_grad():
        trainer.model.eval()
        after = float(trainer._loss(x, mask, texts))
    assert after < 0.7 * before, (before, after)


def test_tiny_run_writes_checkpoints_log_and_plot(tiny_run) -> None:
    for name in ("best.pt", "last.pt", "config.yaml", "log.csv", "training_curves.png"):
        assert (tiny_run / name).is_file(), name
    rows = (tiny_run / "log.csv").read_text().strip().splitlines()
    assert len(rows) == 3 and "val_t2m_R@1" in rows[0]


def test_resume_continues_from_last_checkpoint(tiny_run, tmp_path, capsys) -> None:
    run = tmp_path / "run"
    run.mkdir()
    for name in ("last.pt", "best.pt", "config.yaml"):
        (run / name).write_bytes((tiny_run / name).read_bytes())
    ckpt = torch.load(run / "last.pt", weights_only=True)
    assert ckpt["epoch"] == 2
    assert cli_main(["train", "--config", str(run / "config.yaml"), "--set", "optim.epochs=3", "--out", str(run),
                     "--resume", "--no-progress"]) == 0
    assert torch.load(run / "last.pt", weights_only=True)["epoch"] == 3
    assert len((run / "log.csv").read_text().strip().splitlines()) == 4  # 2 earlier epochs + 1 new


def test_evaluate_report_with_gcn_baseline(tiny_run, tiny_model_dir, cmu_cache, tmp_path) -> None:
    base = tmp_path / "gcn"
    assert cli_main(["train", "--config", str(REPO / "configs" / "gcn_baseline.yaml"), "--out", str(base),
                     "--no-progress", "--set", f"data.cache={cmu_cache}", "--set", "optim.epochs=1",
                     "--set", "optim.samples_per_epoch=64", "--set", "optim.batch_size=16",
                     "--set", "normalization.window_frames=30", "--set", "model.gcn_channels=[8,8,16,16,16]"]) == 0
    out = tmp_path / "report"
    assert cli_main(["evaluate", "--model", str(tiny_run), "--model", str(tiny_run), "--baseline", str(base),
                     "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    run = report["runs"][0]
    assert run["retrieval"]["num_clips"] == 25
    assert set(run["retrieval"]) >= {"all", "all_strict", "batch32", "unseen_texts"}
    assert 0 <= run["retrieval"]["all"]["t2m_R@1"] <= run["retrieval"]["all"]["t2m_R@10"] <= 100
    assert run["retrieval"]["all"]["t2m_R@1"] >= run["retrieval"]["all_strict"]["t2m_R@1"]
    assert run["recognition"]["top1"] <= run["recognition"]["top5"]
    assert "baseline" in report and report["baseline"]["num_windows"] == run["recognition"]["num_windows"]
    assert report["summary"]["retrieval.all.t2m_R@1"]["std"] == 0.0  # the same model twice
    lo, hi = run["recognition"]["top1_ci95"]
    assert 0 <= lo <= run["recognition"]["top1"] <= hi <= 100
    assert len(run["retrieval"]["ci95"]["t2m_R@1"]) == 2
    md = (out / "report.md").read_text()
    assert "supervised ST-GCN baseline" in md and "Laterality" in md
    for png in ("confusion.png", "confusion_baseline.png", "embedding_map.png"):
        assert (out / png).stat().st_size > 1000

    # The model card describes the exported files as model.json says they are.
    from motion_text_node.train.model_card import write_model_card

    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    card = write_model_card(model, tiny_run, out, lobo={"source": "cmu", "seeds": out, "ablation": {"v1": out}},
                            compare={"other model": out}).read_text()
    assert "fp16 weights in ONNX" in card and "int8 copy (min cosine 0.99" in card
    assert "with trained projection" in card and "Trained on CPU (" in card  # the hardware the checkpoint recorded
    assert "## Leave-one-source-out: trained without cmu" in card and "| v1 |" in card
    assert "| other model | commercial use ok |" in card
    assert (model / "card" / "confusion.png").is_file()


def test_laterality_pairs_side_words_with_mirrored_motion(tiny_run, cmu_cache) -> None:
    from motion_text_node.data.cache import DatasetCache
    from motion_text_node.train.checkpoint import load_contrastive
    from motion_text_node.train.evaluate import laterality_section

    lm = load_contrastive(tiny_run)
    clip = DatasetCache(cmu_cache).clip("02_05")  # its HumanML3D captions name the right arm
    res = laterality_section(lm, {"g": [clip]})["g"]
    assert res["num_texts"] >= 1 and res["decisions"] == 2 * res["num_texts"]
    assert 0.0 <= res["right_pct"] <= 100.0


def test_train_cli_bad_config_is_one_line(tmp_path, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("optim: {epochs: [1, 2}\n")
    assert cli_main(["train", "--config", str(bad), "--out", str(tmp_path / "r")]) == 2
    assert "not valid YAML" in capsys.readouterr().err


def test_metrics_rank_a_perfect_model_perfectly() -> None:
    from motion_text_node.metrics import retrieval_protocols

    e = np.eye(5, dtype=np.float32)
    res = retrieval_protocols(e, e, [f"t{i}" for i in range(5)])
    assert res["all"]["t2m_R@1"] == 100.0 and res["all"]["m2t_MedR"] == 1.0


def test_bootstrap_intervals() -> None:
    from motion_text_node.train.evaluate import bootstrap_ci

    assert bootstrap_ci(np.ones(10)) == [100.0, 100.0]
    lo, hi = bootstrap_ci(np.array([1, 0] * 50))
    assert 35 < lo < 50 < hi < 65
    # Grouped: two clips, one always right, one always wrong; resampling clips gives 0..100.
    assert bootstrap_ci(np.array([1, 1, 1, 0]), np.array(["a", "a", "a", "b"])) == [0.0, 100.0]


def test_torchrun_two_ranks_average_gradients_and_stay_equal(cmu_cache, tmp_path) -> None:
    """2 CPU processes (gloo) sample different windows; after two steps through DDP their gradients and weights are
    identical (a loss computed outside the DDP wrapper left every rank with its own gradients and weights)."""
    import subprocess
    import sys

    torchrun = Path(sys.executable).with_name("torchrun")
    cmd = [str(torchrun), "--standalone", "--nproc_per_node", "2", str(REPO / "tests" / "fixtures" / "ddp_step.py"),
           str(REPO / "configs" / "tiny.yaml"), str(cmu_cache), str(tmp_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, cwd=REPO)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert all(r["world"] == 2 and r["moved"] > 0 for r in ranks)
    np.testing.assert_array_equal(ranks[0]["grads"], ranks[1]["grads"])
    np.testing.assert_array_equal(ranks[0]["weights"], ranks[1]["weights"])


def test_weight_decay_spares_biases_norms_and_temperature(cmu_cache, tmp_path) -> None:
    config = load_config(REPO / "configs" / "tiny.yaml", [f"data.cache={cmu_cache}"])
    trainer = Trainer(config, tmp_path, progress=False)
    decayed, spared = ({id(p) for p in g["params"]} for g in trainer.opt.param_groups)
    assert [g["weight_decay"] for g in trainer.opt.param_groups] == [config.optim.weight_decay, 0.0]
    assert id(trainer.model.logit_scale) in spared
    for name, p in trainer.model.named_parameters():
        assert (id(p) in decayed) == (p.ndim >= 2 and "norm" not in name.lower()), name
    assert decayed.isdisjoint(spared) and len(decayed | spared) == len(list(trainer.model.parameters()))


def test_fine_tuned_text_layers_are_saved_and_used(cmu_cache, tmp_path) -> None:
    from motion_text_node.train.checkpoint import load_contrastive

    config = load_config(REPO / "configs" / "tiny.yaml", [f"data.cache={cmu_cache}", "model.text_trainable_layers=1",
                                                           "optim.epochs=1", "optim.lr=0.01"])
    trainer = Trainer(config, tmp_path, progress=False)
    trainer.run()
    saved = torch.load(tmp_path / "last.pt", weights_only=True)["text_backbone"]
    assert saved and all(".layer.5." in n for n in saved)  # the top layer of MiniLM's 6
    loaded = load_contrastive(tmp_path / "last.pt")
    params = dict(loaded.text_encoder.backbone.named_parameters())
    for name, value in saved.items():
        torch.testing.assert_close(params[name].detach(), value)
    from motion_text_node.model.text_encoder import TextEncoder

    fresh = dict(TextEncoder().backbone.named_parameters())
    assert any(not torch.equal(fresh[n].detach(), v) for n, v in saved.items())  # training changed them


class _Exploit:
    """Pickles into a call that creates a file: what a crafted checkpoint would do when loaded unsafely."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        import pathlib

        return (pathlib.Path.touch, (pathlib.Path(self.path),))


def test_crafted_checkpoint_is_refused_without_running_code(tmp_path, capsys) -> None:
    import torch

    from motion_text_node.cli import main as cli_main

    marker = tmp_path / "pwned"
    torch.save({"model": {}, "config": {}, "payload": _Exploit(str(marker))}, tmp_path / "evil.pt")
    for args in (["export", "--checkpoint", str(tmp_path / "evil.pt"), "--out", str(tmp_path / "m")],
                 ["evaluate", "--model", str(tmp_path / "evil.pt"), "--out", str(tmp_path / "r")]):
        assert cli_main(args) == 2
        err = capsys.readouterr().err
        assert "refused" in err and "Traceback" not in err
    assert not marker.exists()


def test_weight_average_follows_the_weights_and_is_applied_only_inside_its_block() -> None:
    from motion_text_node.train.ema import WeightAverage

    model = torch.nn.Linear(3, 2)
    start = model.weight.detach().clone()
    ema = WeightAverage(model, decay=0.9)
    with torch.no_grad():
        model.weight.add_(1.0)
    ema.update(model)  # first update: effective decay (1 + 1) / (10 + 1)
    d = 2 / 11
    torch.testing.assert_close(ema.state_dict()["weight"], d * start + (1 - d) * (start + 1.0))
    trained = model.weight.detach().clone()
    with ema.applied(model):
        torch.testing.assert_close(model.weight.detach(), ema.state_dict()["weight"])
    torch.testing.assert_close(model.weight.detach(), trained)
    with pytest.raises(ValueError):
        WeightAverage(model, decay=1.0)


def test_averaged_weights_are_shipped_and_resume_continues_both(cmu_cache, tmp_path) -> None:
    config = load_config(REPO / "configs" / "tiny.yaml", [f"data.cache={cmu_cache}", "optim.ema_decay=0.9",
                                                           "optim.select=last", "optim.epochs=1"])
    trainer = Trainer(config, tmp_path, progress=False)
    trainer.run()
    last = torch.load(tmp_path / "last.pt", weights_only=True)
    best = torch.load(tmp_path / "best.pt", weights_only=True)
    assert best["epoch"] == last["epoch"] == 1  # select=last: best.pt is the last epoch whatever validation says
    name = "motion_encoder.proj.weight" if "motion_encoder.proj.weight" in last["model"] else next(
        k for k, v in last["model"].items() if v.is_floating_point() and v.ndim == 2)
    torch.testing.assert_close(last["model"][name], trainer.ema.state_dict()[name])
    torch.testing.assert_close(last["trained_weights"][name], trainer.model.state_dict()[name])
    assert not torch.equal(last["model"][name], last["trained_weights"][name])
    resumed = Trainer(load_config(REPO / "configs" / "tiny.yaml", [f"data.cache={cmu_cache}", "optim.ema_decay=0.9",
                                                                   "optim.select=last", "optim.epochs=2"]),
                      tmp_path, resume=True, progress=False)
    resumed._restore()
    torch.testing.assert_close(resumed.model.state_dict()[name], last["trained_weights"][name])
    torch.testing.assert_close(resumed.ema.state_dict()[name], last["model"][name])
    assert resumed.ema.updates == trainer.ema.updates > 0
    with pytest.raises(UserError, match="optim.select"):
        Trainer(load_config(REPO / "configs" / "tiny.yaml", [f"data.cache={cmu_cache}", "optim.select=first"]),
                tmp_path / "x", progress=False)


def test_texts_naming_other_sides_are_never_one_positive_however_close_minilm_puts_them() -> None:
    from motion_text_node.model.text_encoder import TextEncoder
    from motion_text_node.train.trainer import near_duplicates, side_signatures

    texts = ["wave the left hand", "wave the right hand", "wave the left hand", "a person walks forward, then "
             "turns left", "a person walks forward, then turns right", "a person walks forward"]
    vec = torch.nn.functional.normalize(torch.from_numpy(TextEncoder().encode(texts)).float(), dim=-1)
    cos = vec @ vec.t()
    assert cos[0, 1] >= 0.95 and cos[3, 4] >= 0.95  # MiniLM: nearly the same sentence
    blind = near_duplicates(vec, vec, side_signatures(texts, aware=False), side_signatures(texts, aware=False), 0.95)
    assert blind[0, 1] and blind[3, 4]  # cosine alone: one positive, side-blind
    sides = side_signatures(texts)
    dup = near_duplicates(vec, vec, sides, sides, 0.95)
    assert not dup[0, 1] and not dup[1, 0] and not dup[3, 4]
    assert dup[0, 2] and dup[0, 0] and dup[5, 5]  # the same text, and the same side, still are
    assert not dup[3, 5]  # "then turns left" is not "walks forward" (one names a side, the other none)
