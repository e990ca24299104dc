"""Retrieval (TMR protocols) and recognition (BABEL) metrics on hand-checkable cases, and the result plots."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from motion_text_node.metrics import (
    aggregate_runs,
    mean_and_spread,
    near_duplicate_matrix,
    normalize_text,
    query_ranks,
    recognition_metrics,
    retrieval_metrics,
    retrieval_protocols,
)
from motion_text_node.viz.plots import plot_confusion, plot_embedding_map, plot_timeline, plot_training_curves


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _embeddings_with_sims(sims: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Motion = identity basis, text row i = sims row i, so that text @ motion.T == sims exactly."""
    n = sims.shape[0]
    return np.eye(n), np.asarray(sims, dtype=np.float64)


# Text-to-motion similarities (row = text query, column = motion):
#   text 0: its motion 0 is best                     -> rank 1
#   text 1: motion 0 (0.9) beats its motion 1 (0.5)  -> rank 2
#   text 2: motions 0 and 1 beat its motion 2         -> rank 3
SIMS3 = np.array([[0.9, 0.1, 0.0],
                  [0.9, 0.5, 0.2],
                  [0.8, 0.7, 0.3]])


# ------------------------------------------------------------------------------------------------ retrieval


def test_retrieval_known_ranks_both_directions():
    motion, text = _embeddings_with_sims(SIMS3)
    r = retrieval_metrics(motion, text, ks=(1, 2, 3))
    assert r["t2m_R@1"] == pytest.approx(100 / 3)
    assert r["t2m_R@2"] == pytest.approx(200 / 3)
    assert r["t2m_R@3"] == pytest.approx(100.0)
    assert r["t2m_MedR"] == 2.0
    assert r["t2m_MeanR"] == pytest.approx(2.0)
    # motion-to-text uses the columns: motion 0 -> [0.9, 0.9, 0.8] texts: its text 0 ties with text 1 at 0.9
    #   (expected rank 1.5, R@1 = 0.5); motion 1 -> [0.1, 0.5, 0.7]: rank 2; motion 2 -> [0, .2, .3]: rank 1.
    assert r["m2t_R@1"] == pytest.approx(100 * 1.5 / 3)
    assert r["m2t_R@2"] == pytest.approx(100.0)
    assert r["m2t_MedR"] == 1.5
    np.testing.assert_allclose(query_ranks(SIMS3), [1, 2, 3])
    np.testing.assert_allclose(query_ranks(SIMS3.T), [1.5, 2, 1])


def test_perfect_and_normalized_embeddings():
    rng = np.random.default_rng(0)
    e = _unit(rng.normal(size=(50, 16)))
    r = retrieval_metrics(e, e)
    assert r["t2m_R@1"] == 100.0 and r["m2t_R@1"] == 100.0
    assert r["t2m_MedR"] == 1.0 and r["m2t_MedR"] == 1.0
    assert set(r) == {f"{d}_{m}" for d in ("t2m", "m2t") for m in ("R@1", "R@2", "R@3", "R@5", "R@10", "MedR", "MeanR")}


def test_near_duplicate_positives_raise_r1():
    motion, text = _embeddings_with_sims(SIMS3)
    strict = retrieval_metrics(motion, text, ks=(1,))
    pos = np.eye(3, dtype=bool)
    pos[1, 0] = pos[0, 1] = True  # texts 0 and 1 describe the same thing
    loose = retrieval_metrics(motion, text, positive=pos, ks=(1,))
    # text 1 now also accepts motion 0 (0.9, best) -> rank 1; motion 0 accepts text 1 -> no tie penalty.
    assert loose["t2m_R@1"] == pytest.approx(200 / 3)
    assert loose["m2t_R@1"] == pytest.approx(200 / 3)
    assert loose["t2m_R@1"] > strict["t2m_R@1"]
    # the same via text ids
    by_ids = retrieval_metrics(motion, text, text_ids=["a", "a", "b"], ks=(1,))
    assert by_ids == loose


def test_asymmetric_positive_is_text_by_motion():
    motion, text = _embeddings_with_sims(SIMS3)
    pos = np.eye(3, dtype=bool)
    pos[2, 0] = True  # text 2 also describes motion 0 (not the converse)
    r = retrieval_metrics(motion, text, positive=pos, ks=(1,))
    assert r["t2m_R@1"] == pytest.approx(200 / 3)  # text 2 -> motion 0 best
    # m2t: motion 0 accepts texts 0 and 2; best is text 0 at 0.9, still tied with text 1 -> 1 + 1/2 = 1.5
    np.testing.assert_allclose(query_ranks(SIMS3.T, pos.T), [1.5, 2, 1])


def test_ties_are_averaged():
    sims = np.array([[0.5, 0.5, 0.5], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    # query 0: its candidate ties with 2 negatives -> expected rank 1 + 2/2 = 2; P(R@1) = 1/3, P(R@2) = 2/3
    np.testing.assert_allclose(query_ranks(sims), [2, 1, 1])
    motion, text = _embeddings_with_sims(sims)
    r = retrieval_metrics(motion, text, ks=(1, 2, 3))
    assert r["t2m_R@1"] == pytest.approx(100 * (1 / 3 + 2) / 3)
    assert r["t2m_R@2"] == pytest.approx(100 * (2 / 3 + 2) / 3)
    assert r["t2m_R@3"] == pytest.approx(100.0)


def test_normalize_text_and_near_duplicate_matrix():
    assert normalize_text("  A man, WALKS forward! ") == "a man walks forward"
    texts = ["A man walks.", "a man walks", "a person runs", "someone jogs"]
    d = near_duplicate_matrix(texts)
    assert d.dtype == bool and d.shape == (4, 4)
    assert d[0, 1] and d[1, 0] and not d[0, 2] and not d[2, 3]
    assert np.all(np.diag(d))
    emb = _unit(np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.1, 1.0]]))  # runs ~ jogs: cos 0.995
    d2 = near_duplicate_matrix(texts, emb, threshold=0.95)
    assert d2[2, 3] and d2[3, 2] and not d2[0, 2]
    assert not near_duplicate_matrix(texts, emb, threshold=0.999)[2, 3]
    # Close by cosine but naming other sides: no near duplicates; identical texts still are.
    sided = ["wave the left hand", "wave the right hand", "wave the left hand", "wave"]
    close = _unit(np.array([[1.0, 0.0], [1.0, 0.05], [1.0, 0.0], [1.0, 0.02]]))
    assert near_duplicate_matrix(sided, close)[0, 1]
    d3 = near_duplicate_matrix(sided, close, sides=[("left",), ("right",), ("left",), ()])
    assert not d3[0, 1] and not d3[1, 0] and d3[0, 2] and not d3[0, 3] and np.all(np.diag(d3))
    with pytest.raises(ValueError, match="sides"):
        near_duplicate_matrix(sided, close, sides=[()])


def test_protocols_all_strict_batch():
    rng = np.random.default_rng(1)
    n = 70
    motion = _unit(rng.normal(size=(n, 8)))
    text = _unit(motion + 0.8 * rng.normal(size=(n, 8)))
    texts = [f"sentence {i}" for i in range(n)]
    texts[1] = "Sentence 0."  # duplicate of 0
    r = retrieval_protocols(motion, text, texts)
    assert set(r) == {"all", "all_strict", "batch32"}
    assert r["batch32"]["num_batches"] == 2.0
    assert r["all"]["t2m_R@1"] >= r["all_strict"]["t2m_R@1"]
    assert r["all_strict"] == retrieval_metrics(motion, text)
    # fewer pairs than a batch: one batch of everything (strict)
    small = retrieval_protocols(motion[:10], text[:10], texts[:10])
    assert small["batch32"]["num_batches"] == 1.0
    assert small["batch32"]["t2m_R@1"] == pytest.approx(small["all_strict"]["t2m_R@1"])
    # deterministic with the seed, different with another seed
    assert retrieval_protocols(motion, text, texts)["batch32"] == r["batch32"]
    assert retrieval_protocols(motion, text, texts, seed=5)["batch32"] != r["batch32"]
    # batch metrics are easier than whole-set metrics (fewer distractors)
    assert r["batch32"]["t2m_R@1"] >= r["all_strict"]["t2m_R@1"]


def test_batch_protocol_uses_only_complete_batches():
    n, bs = 70, 32
    motion = np.eye(n)
    text = np.eye(n)
    text[::3] = text[0]  # many texts identical to text 0: batches differ in difficulty
    r = retrieval_protocols(motion, text, [str(i) for i in range(n)], batch_size=bs, seed=0)
    perm = np.random.default_rng(0).permutation(n)
    used = perm[: 2 * bs]
    expected = np.mean([retrieval_metrics(motion[b], text[b])["t2m_R@1"] for b in used.reshape(2, bs)])
    assert r["batch32"]["t2m_R@1"] == pytest.approx(expected)


def test_retrieval_shape_errors():
    e = np.eye(4)
    with pytest.raises(ValueError, match="same"):
        retrieval_metrics(e, np.eye(3))
    with pytest.raises(ValueError, match="2-D"):
        retrieval_metrics(np.ones(4), np.ones(4))
    with pytest.raises(ValueError, match="positive"):
        retrieval_metrics(e, e, positive=np.eye(3, dtype=bool))
    with pytest.raises(ValueError, match="text_ids"):
        retrieval_metrics(e, e, text_ids=["a"])
    with pytest.raises(ValueError, match="NaN"):
        retrieval_metrics(e * np.nan, e)
    with pytest.raises(ValueError, match="ks"):
        retrieval_metrics(e, e, ks=(0,))
    with pytest.raises(ValueError, match="texts"):
        retrieval_protocols(e, e, ["a", "b"])
    with pytest.raises(ValueError, match="text_emb"):
        near_duplicate_matrix(["a", "b"], np.eye(3))
    with pytest.raises(ValueError, match="square"):
        query_ranks(np.ones((2, 3)))


# ---------------------------------------------------------------------------------------------- recognition


def test_recognition_topk_and_confusion():
    # 4 samples, 6 classes. True classes 0, 1, 2, 0.
    scores = np.array([
        [0.9, 0.1, 0.0, 0.0, 0.0, 0.0],  # true 0, predicted 0
        [0.9, 0.5, 0.0, 0.0, 0.0, 0.0],  # true 1, predicted 0, true is 2nd
        [0.6, 0.5, 0.4, 0.3, 0.2, 0.1],  # true 2, predicted 0, true is 3rd
        [0.0, 0.1, 0.2, 0.3, 0.4, 0.5],  # true 0, predicted 5, true is 6th
    ])
    r = recognition_metrics(scores, [0, 1, 2, 0], num_classes=6)
    assert r["top1"] == 25.0
    assert r["top5"] == 75.0
    assert r["per_class"] == {0: 50.0, 1: 0.0, 2: 0.0}
    assert r["top1_norm"] == pytest.approx(50 / 3)
    conf = r["confusion"]
    assert conf.shape == (6, 6) and conf.dtype == np.int64
    assert conf[0, 0] == 1 and conf[1, 0] == 1 and conf[2, 0] == 1 and conf[0, 5] == 1 and conf.sum() == 4
    assert r["num_samples"] == 4


def test_recognition_imbalanced_top1_vs_top1_norm():
    # 9 samples of class 0, all right; 1 sample of class 1, wrong: top-1 90 %, top-1-norm (100 + 0) / 2 = 50 %.
    scores = np.tile([1.0, 0.0], (10, 1))
    true = [0] * 9 + [1]
    r = recognition_metrics(scores, true, ks=(1,))
    assert r["top1"] == pytest.approx(90.0)
    assert r["top1_norm"] == pytest.approx(50.0)
    assert r["confusion"].tolist() == [[9, 0], [1, 0]]
    assert "top5" not in r
    # k beyond the number of classes: everything is a hit
    assert recognition_metrics(scores, true, ks=(1, 5))["top5"] == 100.0


def test_recognition_ties_and_errors():
    r = recognition_metrics(np.zeros((2, 4)), [0, 3], ks=(1, 2))
    assert r["top1"] == pytest.approx(25.0) and r["top2"] == pytest.approx(50.0)
    with pytest.raises(ValueError, match="num_classes"):
        recognition_metrics(np.zeros((2, 4)), [0, 1], num_classes=5)
    with pytest.raises(ValueError, match="true_idx"):
        recognition_metrics(np.zeros((2, 4)), [0, 4])
    with pytest.raises(ValueError, match="true_idx"):
        recognition_metrics(np.zeros((2, 4)), [0])
    with pytest.raises(ValueError, match=r"\(N, C\)"):
        recognition_metrics(np.zeros(4), [0])


def test_mean_and_spread_and_aggregate():
    assert mean_and_spread([1.0, 2.0, 3.0]) == (2.0, 1.0)
    assert mean_and_spread([5.0]) == (5.0, 0.0)
    with pytest.raises(ValueError):
        mean_and_spread([])
    agg = aggregate_runs([{"a": 1.0, "b": 2, "c": np.eye(2)}, {"a": 3.0, "b": 2}])
    assert agg["a"] == pytest.approx((2.0, 2**0.5)) and agg["b"] == (2.0, 0.0) and "c" not in agg


# ------------------------------------------------------------------------------------------------------ plots


def _assert_png(path: Path) -> None:
    assert path.is_file()
    with Image.open(path) as im:
        px = np.asarray(im.convert("L"), dtype=np.float64)
    assert px.shape[0] > 100 and px.shape[1] > 100
    assert px.var() > 0


def test_plot_training_curves_csv_and_rows(tmp_path):
    rows = []
    for epoch in range(1, 9):
        rows.append({"epoch": epoch, "step": epoch * 100, "train_loss": 3.0 / epoch, "val_loss": 3.2 / epoch,
                     "val_t2m_R@1": 5 * epoch, "val_t2m_R@5": 9 * epoch, "val_m2t_R@1": 4 * epoch,
                     "lr": 1e-4 * 0.8**epoch})
    csv_path = tmp_path / "log.csv"
    with open(csv_path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    out = plot_training_curves(csv_path, tmp_path / "curves.png")
    assert out == tmp_path / "curves.png"
    _assert_png(out)
    # rows with gaps (validation every other row) and only a loss column requested
    gappy = [dict(r, val_loss="" if r["epoch"] % 2 else r["val_loss"]) for r in rows]
    _assert_png(plot_training_curves(gappy, tmp_path / "sub" / "loss.png", metrics=["train_loss", "val_loss"]))
    with pytest.raises(ValueError):
        plot_training_curves(rows, tmp_path / "none.png", metrics=["nope"])


def test_plot_confusion(tmp_path):
    rng = np.random.default_rng(0)
    c = 40
    conf = rng.integers(0, 3, size=(c, c)) + np.diag(rng.integers(5, 20, size=c))
    conf[3] = 0  # a class without samples
    labels = [f"action label number {i}" for i in range(c)]
    _assert_png(plot_confusion(conf, labels, tmp_path / "conf40.png"))
    _assert_png(plot_confusion(conf[:5, :5], labels[:5], tmp_path / "conf5.png", normalize=False))
    with pytest.raises(ValueError):
        plot_confusion(conf, labels[:3], tmp_path / "bad.png")


def test_plot_embedding_map(tmp_path):
    rng = np.random.default_rng(0)
    centres = _unit(rng.normal(size=(4, 32)))
    names = ["walk", "run", "jump", "wave"]
    motion_labels = [names[i % 4] for i in range(80)]
    motion = _unit(centres[np.arange(80) % 4] + 0.3 * rng.normal(size=(80, 32)))
    _assert_png(plot_embedding_map(motion, centres, motion_labels, names, tmp_path / "map.png"))
    with pytest.raises(ValueError):
        plot_embedding_map(motion, centres[:, :5], motion_labels, names, tmp_path / "bad.png")


def test_plot_timeline(tmp_path):
    times = np.arange(0, 20, 0.1)
    true = ["walk"] * 60 + ["run"] * 60 + ["jump"] * 40 + ["stand"] * 40
    pred = ["walk"] * 50 + ["run"] * 80 + [None] * 10 + ["jump"] * 20 + ["stand"] * 40
    _assert_png(plot_timeline(times, true, pred, tmp_path / "timeline.png"))
    with pytest.raises(ValueError):
        plot_timeline(times, true[:5], pred, tmp_path / "bad.png")
