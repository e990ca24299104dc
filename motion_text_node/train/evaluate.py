"""Evaluation of trained models: retrieval (TMR protocols), recognition (BABEL metrics), laterality, baseline.

Every number in the report is computed here; ``format_report`` renders the JSON as Markdown.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from motion_text_node.data.cache import DatasetCache
from motion_text_node.data.clip import Clip
from motion_text_node.data.labels import clip_action_label
from motion_text_node.errors import UserError
from motion_text_node.metrics import (
    aggregate_runs,
    near_duplicate_matrix,
    normalize_text,
    query_ranks,
    recognition_metrics,
    retrieval_protocols,
)
from motion_text_node.skeleton.mirror import has_side_words, mirror_text, side_words
from motion_text_node.train.checkpoint import LoadedModel, embed_windows, load_contrastive, load_model
from motion_text_node.train.config import TrainConfig
from motion_text_node.train.samples import clip_windows
from motion_text_node.train.trainer import class_names, resolve_cache, selected_clips


def retrieval_section(lm: LoadedModel, test: list[Clip], train_texts: set[str]) -> dict:
    """TMR protocols on whole clips, plus the subset whose text never occurs in training."""
    texts = [c.text for c in test]
    m, t = lm.clips(test), lm.texts(texts)
    dups = lm.text_encoder.encode(texts)
    thr = lm.config.optim.near_duplicate_threshold
    sides = [side_words(x) for x in texts]  # "the left hand" is no near duplicate of "the right hand"
    out = {"num_clips": len(test), **retrieval_protocols(m, t, texts, text_emb_for_dups=dups, threshold=thr,
                                                         sides=sides)}
    positive = near_duplicate_matrix(texts, dups, thr, sides)
    t2m_hits = query_ranks(t @ m.T, positive) < 1.5  # per text query: is a correct motion ranked first?
    m2t_hits = query_ranks(m @ t.T, positive.T) < 1.5
    out["ci95"] = {"t2m_R@1": bootstrap_ci(t2m_hits), "m2t_R@1": bootstrap_ci(m2t_hits)}
    unseen = [i for i, x in enumerate(texts) if normalize_text(x) not in train_texts]
    out["unseen_texts"] = {"num_clips": len(unseen)}
    if len(unseen) >= 2:
        sub = retrieval_protocols(m[unseen], t[unseen], [texts[i] for i in unseen], text_emb_for_dups=dups[unseen],
                                  threshold=thr, sides=[sides[i] for i in unseen])
        out["unseen_texts"].update(sub["all"])
    return out


def bootstrap_ci(hits: np.ndarray, groups: np.ndarray | None = None, n: int = 2000, seed: int = 0) -> list[float]:
    """95% bootstrap interval (percent) of the mean of ``hits``, resampling ``groups`` (e.g. clips) when given."""
    hits = np.asarray(hits, dtype=np.float64)
    rng = np.random.default_rng(seed)
    if groups is None:
        idx = rng.integers(0, len(hits), size=(n, len(hits)))
        means = hits[idx].mean(axis=1)
    else:
        ids, inv = np.unique(groups, return_inverse=True)
        sums, counts = np.bincount(inv, hits), np.bincount(inv)
        pick = rng.integers(0, len(ids), size=(n, len(ids)))
        means = sums[pick].sum(axis=1) / counts[pick].sum(axis=1)
    return [float(100 * np.percentile(means, 2.5)), float(100 * np.percentile(means, 97.5))]


def recognition_windows(clips: list[Clip], config: TrainConfig, classes: list[str]):
    """Evaluation windows of clips that have a class, with their true class index."""
    windows, truth = [], []
    for c in clips:
        label = clip_action_label(c, config.data.label_set)
        if label in classes:
            ws = clip_windows(c, config.norm)
            windows += ws
            truth += [classes.index(label)] * len(ws)
    return windows, np.array(truth, dtype=np.int64)


def recognition_section(scores: np.ndarray, truth: np.ndarray, classes: list[str]) -> dict:
    """Top-1/top-5/top-1-norm with per-class accuracy by name."""
    r = recognition_metrics(scores, truth, len(classes))
    return {"num_windows": int(len(truth)), "top1": r["top1"], "top5": r["top5"], "top1_norm": r["top1_norm"],
            "per_class": {classes[int(k)]: v for k, v in r["per_class"].items()},
            "confusion": np.asarray(r["confusion"]).tolist()}


def laterality_section(lm: LoadedModel, clips_by_group: dict[str, list[Clip]]) -> dict:
    """For texts naming a side: does the model pair (motion, text) and (mirrored motion, swapped text)?

    A pairing counts as right when the original motion is closer to the original text than to the swapped
    text, and the mirrored motion closer to the swapped text than to the original (two decisions per text).
    """
    out = {}
    for group, clips in clips_by_group.items():
        pairs = [(c, s.text, s) for c in clips for s in c.segments if s.text and has_side_words(s.text)]
        pairs += [(c, t, None) for c in clips for t in c.texts if has_side_words(t)]
        if not pairs:
            out[group] = {"num_texts": 0}
            continue
        right = []
        for clip, text, seg in pairs:
            if seg is not None:  # the caption's own span
                a = min(max(int(seg.start * clip.motion.fps), 0), clip.motion.num_frames - 2)
                b = max(int(seg.end * clip.motion.fps), a + 2)
                clip = Clip(clip.clip_id, clip.motion.slice(a, min(b, clip.motion.num_frames)), [text])
            orig, mirr = lm.clips([clip])[0], lm.clips([clip], mirror=True)[0]
            t, ts = lm.texts([text, mirror_text(text)])
            right += [float(orig @ t > orig @ ts), float(mirr @ ts > mirr @ t)]
        out[group] = {"num_texts": len(pairs), "decisions": len(right), "right_pct": 100.0 * float(np.mean(right))}
    return out


def kinematic_laterality(lm: LoadedModel, clips: list[Clip]) -> dict:
    """Laterality on windows where one arm or leg clearly moves more (measured from the joints, so it needs no
    side words in the data): is "<description>, mostly moving the <side> <limb>" closer to the window than the
    same text with the other side, and the other way round for the mirrored window?"""
    from motion_text_node.skeleton.resample import window_starts
    from motion_text_node.train.samples import dominant_limb, side_phrase

    w = lm.config.norm.window_frames
    right, n = [], 0
    for clip in clips:
        for s in window_starts(clip.motion.num_frames, w, w):
            dom = dominant_limb(clip.motion.positions[s:s + w], clip.motion.fps)
            if dom is None:
                continue
            n += 1
            piece = Clip(clip.clip_id, clip.motion.slice(s, s + w), [clip.text])
            orig, mirr = lm.clips([piece])[0], lm.clips([piece], mirror=True)[0]
            text = clip.text + side_phrase(*dom)
            t, ts = lm.texts([text, mirror_text(text)])
            right += [float(orig @ t > orig @ ts), float(mirr @ ts > mirr @ t)]
    return {"num_texts": n, "decisions": len(right), "right_pct": 100.0 * float(np.mean(right)) if right else 0.0}


def evaluate(model_paths: list[str], split: str = "test", out_dir: Path | None = None,
             data: str | None = None, baseline: str | None = None, sources: list[str] | None = None,
             robust: bool = False, limit: int | None = None) -> dict:
    """Evaluate one or more contrastive checkpoints (seeds) and optionally a GCN baseline; write the report.

    ``sources``: also the per-source protocols (``protocols.source_protocols``: zero-shot for sources the model
    was not trained on) for the first model, with the robustness views when ``robust``.
    """
    models = [load_contrastive(p) for p in model_paths]
    config = models[0].config
    cache = DatasetCache(data) if data else resolve_cache(config)
    test = cache.clips(split, fps=config.norm.fps)
    if not test:
        raise UserError(f"no clips in split {split!r} of {cache.root}")
    train_clips = selected_clips(cache, config, config.data.train_split)
    held_out = [c for c in cache.clips(fps=config.norm.fps) if cache.split_of(c.clip_id) != config.data.train_split]
    train_texts = {normalize_text(t) for c in train_clips for t in c.texts}
    classes = class_names(train_clips, config.data.label_set)
    windows, truth = recognition_windows(test, config, classes)

    runs = []
    for lm in models:
        run = {"retrieval": retrieval_section(lm, test, train_texts)}
        if len(truth):
            scores = embed_windows(lm.model, windows, torch.device("cpu")) @ lm.labels(classes).T
            run["recognition"] = recognition_section(scores, truth, classes)
            clip_of = np.array([w.clip_id for w in windows])
            run["recognition"]["top1_ci95"] = bootstrap_ci(scores.argmax(1) == truth, clip_of)
        if len({c.source for c in test}) > 1:
            run["by_source"] = per_source_section(lm, test, train_texts, windows, truth,
                                                  scores if len(truth) else None)
        run["laterality"] = laterality_section(lm, {"held_out": held_out, "training_clips": train_clips})
        run["laterality"]["held_out_kinematic"] = kinematic_laterality(lm, test)
        runs.append(run)

    report = {"models": model_paths, "split": split, "data": str(cache.root), "classes": classes,
              "runs": runs, "summary": _summary(runs)}
    if sources:
        from motion_text_node.train.protocols import source_protocols, training_words

        seen = training_words(train_clips)
        report["protocols"] = [source_protocols(models[0], cache, s, split, robust, limit, seen) for s in sources]
        if len(models) > 1:  # the other seeds: the headline figures of each protocol, for mean +- std
            per_model = [report["protocols"]] + [[source_protocols(lm, cache, s, split, False, limit, seen)
                                                  for s in sources] for lm in models[1:]]
            report["protocol_summary"] = protocol_summary(per_model)
    if baseline:
        report["baseline"] = _baseline(baseline, cache, split, classes)
    if out_dir is not None:
        _write(report, out_dir, models[0], test, classes)
    return report


def protocol_summary(per_model: list[list[dict]]) -> dict:
    """Mean and std over models (seeds) of each source's recognition top-1 and laterality %:
    {source: {"top1": {"mean", "std", "values"}, "laterality": {...}}}."""
    out: dict = {}
    for sections in zip(*per_model, strict=True):
        figures = {"top1": [s["recognition"].get("top1") for s in sections],
                   "laterality": [s["laterality"].get("right_pct") for s in sections]}
        out[sections[0]["source"]] = {k: {"mean": float(np.mean(v)), "std": float(np.std(v)), "values": v}
                                      for k, v in figures.items() if all(x is not None for x in v)}
    return out


def per_source_section(lm: LoadedModel, test: list[Clip], train_texts: set[str], windows: list, truth: np.ndarray,
                       scores: np.ndarray | None) -> dict:
    """Retrieval (all protocol) and recognition top-1 on the test clips of each source (with 2 clips or more)."""
    out = {}
    source_of = {c.clip_id: c.source for c in test}
    window_source = np.array([source_of[w.clip_id] for w in windows])
    for src in sorted({c.source for c in test}):
        subset = [c for c in test if c.source == src]
        if len(subset) < 2:
            continue
        ret = retrieval_section(lm, subset, train_texts)["all"]
        row = {"clips": len(subset), **{k: ret[k] for k in ("t2m_R@1", "t2m_R@5", "m2t_R@1", "m2t_R@5")}}
        mine = window_source == src if scores is not None else np.zeros(0, bool)
        if mine.any():
            row["windows"] = int(mine.sum())
            row["top1"] = float((scores[mine].argmax(1) == truth[mine]).mean() * 100)
        out[src] = row
    return out


def _flat(run: dict) -> dict:
    flat = {}
    for proto in ("all", "all_strict", "batch32"):
        for k, v in run["retrieval"].get(proto, {}).items():
            flat[f"retrieval.{proto}.{k}"] = v
    for k, v in run["retrieval"]["unseen_texts"].items():
        flat[f"retrieval.unseen.{k}"] = v
    for k in ("top1", "top5", "top1_norm"):
        if "recognition" in run:
            flat[f"recognition.{k}"] = run["recognition"][k]
    for g, v in run["laterality"].items():
        if "right_pct" in v:
            flat[f"laterality.{g}.right_pct"] = v["right_pct"]
    return flat


def _summary(runs: list[dict]) -> dict:
    agg = aggregate_runs([_flat(r) for r in runs])
    return {k: {"mean": float(m), "std": float(s)} for k, (m, s) in agg.items()}


def _baseline(path: str, cache: DatasetCache, split: str, classes: list[str]) -> dict:
    """The supervised classifier on the same test clips, cut into windows of its own rate and length."""
    model, config, ckpt = load_model(path)
    if ckpt.get("task") != "classifier":
        raise UserError(f"{path}: the baseline must be a classifier checkpoint (optim.task=classifier)")
    windows, truth = recognition_windows(cache.clips(split, fps=config.norm.fps), config, classes)
    bclasses = ckpt["classes"]
    logits = embed_windows(model, windows, torch.device("cpu"))
    # Map the baseline's class order onto ours (same names; a class it never saw scores -inf).
    scores = np.full((len(windows), len(classes)), -np.inf, dtype=np.float32)
    for j, name in enumerate(classes):
        if name in bclasses:
            scores[:, j] = logits[:, bclasses.index(name)]
    return {"model": path, **recognition_section(scores, truth, classes)}


def _write(report: dict, out_dir: Path, lm: LoadedModel, test: list[Clip], classes: list[str]) -> None:
    from motion_text_node.viz.plots import plot_confusion, plot_embedding_map

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.json").write_text(json.dumps(report, indent=1))
    (out_dir / "report.md").write_text(format_report(report))
    run = report["runs"][0]
    if "recognition" in run:
        plot_confusion(np.array(run["recognition"]["confusion"]), classes, out_dir / "confusion.png")
    if "baseline" in report:
        plot_confusion(np.array(report["baseline"]["confusion"]), classes, out_dir / "confusion_baseline.png")
    texts = sorted({c.text for c in test})
    plot_embedding_map(lm.clips(test), lm.texts(texts), [c.text for c in test], texts, out_dir / "embedding_map.png")


def _fmt(summary: dict, key: str) -> str:
    if key not in summary:
        return "n/a"
    s = summary[key]
    return f"{s['mean']:.1f}" + (f" ± {s['std']:.1f}" if s["std"] > 0 else "")


def format_report(report: dict) -> str:
    """The report as Markdown tables (means ± std over the evaluated models)."""
    s, n = report["summary"], len(report["runs"])
    r0 = report["runs"][0]
    lines = [f"# Evaluation on split `{report['split']}` ({r0['retrieval']['num_clips']} clips, {n} model(s))", ""]
    lines += ["## Retrieval (whole clips; TMR protocols)", "",
              "| protocol | t2m R@1 | t2m R@2 | t2m R@3 | t2m R@5 | t2m R@10 | t2m MedR | m2t R@1 | m2t R@2 | m2t R@3 "
              "| m2t R@5 | m2t R@10 | m2t MedR |", "|" + "---|" * 13]
    for proto, name in (("all", "all (near-duplicates correct)"), ("all_strict", "all, strict"),
                        ("batch32", "batches of 32"), ("unseen", "texts unseen in training")):
        pre = f"retrieval.{proto}."
        cells = [_fmt(s, pre + f"{d}_{m}") for d in ("t2m", "m2t") for m in ("R@1", "R@2", "R@3", "R@5", "R@10",
                                                                          "MedR")]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append(f"\nTexts unseen in training: {r0['retrieval']['unseen_texts']['num_clips']} of "
                 f"{r0['retrieval']['num_clips']} test clips.")
    ci = r0["retrieval"]["ci95"]
    lines.append(f"95% bootstrap intervals over the test queries (first model): t2m R@1 {ci['t2m_R@1'][0]:.0f}-"
                 f"{ci['t2m_R@1'][1]:.0f}, m2t R@1 {ci['m2t_R@1'][0]:.0f}-{ci['m2t_R@1'][1]:.0f} (all protocol).")
    if "recognition" in r0:
        lines += ["", f"## Action recognition ({r0['recognition']['num_windows']} windows, "
                  f"{len(report['classes'])} classes, nearest prompt-averaged label text)", "",
                  "| model | top-1 | top-5 | top-1-norm |", "|---|---|---|---|",
                  f"| contrastive (this model) | {_fmt(s, 'recognition.top1')} | {_fmt(s, 'recognition.top5')} | "
                  f"{_fmt(s, 'recognition.top1_norm')} |"]
        if "baseline" in report:
            b = report["baseline"]
            lines.append(f"| supervised ST-GCN baseline | {b['top1']:.1f} | {b['top5']:.1f} | {b['top1_norm']:.1f} |")
        ci = r0["recognition"]["top1_ci95"]
        lines += ["", f"95% bootstrap interval of top-1 over test clips (first model): {ci[0]:.0f}-{ci[1]:.0f}."]
        lines += ["", "Per-class top-1 (contrastive): " + ", ".join(
            f"{k} {v:.0f}" for k, v in sorted(r0["recognition"]["per_class"].items()))]
    if "by_source" in r0:
        lines += ["", "## Per source (first model; retrieval within each source's test clips)", "",
                  "| source | clips | t2m R@1 | t2m R@5 | m2t R@1 | m2t R@5 | windows | recognition top-1 |",
                  "|---|---|---|---|---|---|---|---|"]
        for src, v in r0["by_source"].items():
            top1 = f"{v['top1']:.1f}" if "top1" in v else "-"
            lines.append(f"| {src} | {v['clips']} | {v['t2m_R@1']:.1f} | {v['t2m_R@5']:.1f} | {v['m2t_R@1']:.1f} | "
                         f"{v['m2t_R@5']:.1f} | {v.get('windows', 0)} | {top1} |")
    lines += ["", "## Laterality (original vs mirrored motion, original vs side-swapped text)", "",
              "| texts | texts naming a side | decisions | right pairing % |", "|---|---|---|---|"]
    names = {"held_out": "dataset texts, held-out clips", "training_clips": "dataset texts, training clips (seen)",
             "held_out_kinematic": "test windows with a dominant arm/leg (side from the joints)"}
    for group, v in r0["laterality"].items():
        lines.append(f"| {names.get(group, group)} | {v['num_texts']} | {v.get('decisions', 0)} | "
                     f"{_fmt(s, f'laterality.{group}.right_pct')} |")
    if report.get("protocols"):
        from motion_text_node.train.protocols import format_protocols

        lines += ["", format_protocols(report["protocols"])]
    if report.get("protocol_summary"):
        lines += ["", f"## Each source's protocol over {len(report['models'])} seeds (mean ± std)", "",
                  "| source | top-1 | laterality % |", "|---|---|---|"]
        for src, v in report["protocol_summary"].items():
            cells = [f"{v[k]['mean']:.1f} ± {v[k]['std']:.1f}" if k in v else "-" for k in ("top1", "laterality")]
            lines.append(f"| {src} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"

