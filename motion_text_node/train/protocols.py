"""Evaluation protocols for generalization: zero-shot recognition of a source's clips with its own labels
(leave-one-source-out), laterality on real side-named recordings, and robustness views of the same clips.

Every figure comes with a 95 % bootstrap interval over clips (``evaluate.bootstrap_ci``).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from motion_text_node.data.clip import Clip
from motion_text_node.metrics import recognition_metrics
from motion_text_node.skeleton.mirror import has_side_words, mirror_text
from motion_text_node.skeleton.sensor import VIEWS
from motion_text_node.train.checkpoint import embed_windows


def _window_scores(lm, clips: list[Clip], classes: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(scores (W, C), truth (W,), clip id (W,)) over every window of clips labelled with a class."""
    from motion_text_node.train.evaluate import recognition_windows

    config = replace(lm.config, data=replace(lm.config.data, label_set="dataset"))  # each clip's own label
    windows, truth = recognition_windows(clips, config, classes)
    emb = embed_windows(lm.model, windows, torch.device("cpu"))
    return emb @ lm.labels(classes).T, truth, np.array([w.clip_id for w in windows])


def zero_shot_recognition(lm, clips: list[Clip], seen_words: set[str] | None = None) -> dict:
    """Recognize ``clips`` with their own label set (``clip.label``), read through the prompt templates.

    Labels whose words all appear in ``seen_words`` (the training texts' words) are "seen"; the others are
    reported apart as unseen classes.
    """
    from motion_text_node.train.evaluate import bootstrap_ci

    clips = [c for c in clips if c.label]
    classes = sorted({c.label for c in clips})
    if len(classes) < 2:
        return {"num_clips": len(clips), "classes": classes}
    scores, truth, owner = _window_scores(lm, clips, classes)
    r = recognition_metrics(scores, truth, len(classes))
    hits = scores.argmax(1) == truth
    out = {"num_clips": len(clips), "num_windows": int(len(truth)), "classes": classes, "chance": 100 / len(classes),
           "top1": r["top1"], "top5": r["top5"], "top1_norm": r["top1_norm"], "top1_ci95": bootstrap_ci(hits, owner),
           "per_class": {classes[int(k)]: v for k, v in r["per_class"].items()}}
    if seen_words is not None:
        unseen = [k for k, c in enumerate(classes) if not set(_words(c)) <= seen_words]
        mask = np.isin(truth, unseen)
        out["unseen_classes"] = [classes[k] for k in unseen]
        if mask.any() and (~mask).any():
            out["top1_unseen"] = float(hits[mask].mean() * 100)
            out["top1_seen"] = float(hits[~mask].mean() * 100)
    return out


def laterality_on_recordings(lm, clips: list[Clip]) -> dict:
    """Clips whose label names a side: does the model pair the motion with its label rather than the side-swapped
    label, and the mirrored motion with the swapped label? Two decisions per clip, % right."""
    from motion_text_node.train.evaluate import bootstrap_ci

    sided = [c for c in clips if c.label and has_side_words(c.label)]
    if not sided:
        return {"num_clips": 0}
    right, owner = [], []
    orig, mirr = lm.clips(sided), lm.clips(sided, mirror=True)
    for i, c in enumerate(sided):
        t, ts = lm.labels([c.label, mirror_text(c.label)])
        right += [float(orig[i] @ t > orig[i] @ ts), float(mirr[i] @ ts > mirr[i] @ t)]
        owner += [i, i]
    return {"num_clips": len(sided), "decisions": len(right), "right_pct": float(np.mean(right) * 100),
            "ci95": bootstrap_ci(np.array(right), np.array(owner))}


def robustness(lm, clips: list[Clip]) -> dict:
    """Zero-shot top-1 of the same clips as captured and as other sensors would deliver them (``VIEWS``)."""
    out = {"as captured": zero_shot_recognition(lm, clips)}
    for name, view in VIEWS.items():
        out[name] = zero_shot_recognition(lm, [replace(c, motion=view(c.motion)) for c in clips])
    return {name: {k: r[k] for k in ("top1", "top1_ci95", "top5") if k in r} for name, r in out.items()}


def _words(text: str) -> list[str]:
    import re

    return re.findall(r"[a-z]+", text.lower())


def training_words(clips: list[Clip]) -> set[str]:
    """Every word of the training clips' texts, labels and segment texts."""
    texts = [t for c in clips for t in (*c.texts, c.label, *(s.text for s in c.segments))]
    return {w for t in texts for w in _words(t)}


def labelled_units(clips: list[Clip]) -> list[Clip]:
    """Clips with an action label: their own (Bandai content, HRA task), else the CMU keyword class of their
    description; clips with neither are left out."""
    from motion_text_node.data.labels import cmu_action_label

    out = []
    for c in clips:
        label = c.label or cmu_action_label(c.text)
        if label:
            out.append(replace(c, label=label))
    return out


def spread(clips: list[Clip], limit: int | None) -> list[Clip]:
    """At most ``limit`` clips, evenly spread over the list (all when ``limit`` is None)."""
    if not limit or len(clips) <= limit:
        return clips
    idx = np.linspace(0, len(clips) - 1, limit).round().astype(int)
    return [clips[i] for i in sorted(set(idx))]


def source_protocols(lm, cache, source: str, split: str = "test", robust: bool = False, limit: int | None = None,
                     seen_words: set[str] | None = None) -> dict:
    """Recognition of one source's clips with its own labels, laterality on its side-named clips and (``robust``)
    the robustness views.

    A source the model was not trained on is evaluated on all its clips (zero-shot, leave-one-source-out); a
    source it was trained on on its held-out ``split`` only (in-domain).
    """
    trained = {r["source"] for r in lm.provenance}
    in_domain = source in trained
    clips = [c for c in cache.clips(fps=lm.config.norm.fps) if c.source == source
             and (not in_domain or cache.split_of(c.clip_id) == split)]
    units = spread(labelled_units(clips), limit)
    out = {"source": source, "setting": f"in-domain ({split} split)" if in_domain else "zero-shot (all clips)",
           "recognition": zero_shot_recognition(lm, units, seen_words), "laterality": laterality_on_recordings(lm,
                                                                                                            units)}
    if robust:
        out["robustness"] = robustness(lm, units)
    return out


def format_protocols(sections: list[dict]) -> str:
    """Markdown tables of ``source_protocols`` results."""
    lines = ["## Recognition of each source with its own labels", "",
             "| source | setting | clips | windows | classes (chance %) | top-1 | 95 % CI | top-5 | top-1-norm | "
             "seen / unseen classes top-1 |", "|---|---|---|---|---|---|---|---|---|---|"]
    for s in sections:
        r = s["recognition"]
        if "top1" not in r:
            lines.append(f"| {s['source']} | {s['setting']} | {r['num_clips']} | - | {len(r['classes'])} | - | - | - "
                         "| - | - |")
            continue
        ci = r["top1_ci95"]
        split = (f"{r['top1_seen']:.1f} / {r['top1_unseen']:.1f} ({len(r['unseen_classes'])} unseen)"
                 if "top1_unseen" in r else "-")
        lines.append(f"| {s['source']} | {s['setting']} | {r['num_clips']} | {r['num_windows']} | "
                     f"{len(r['classes'])} ({r['chance']:.0f}) | {r['top1']:.1f} | {ci[0]:.0f}-{ci[1]:.0f} | "
                     f"{r['top5']:.1f} | {r['top1_norm']:.1f} | {split} |")
    lines += ["", "## Laterality on recordings whose label names a side (label vs side-swapped label, original "
              "and mirrored motion)", "", "| source | clips | decisions | right % | 95 % CI |", "|---|---|---|---|---|"]
    for s in sections:
        lat = s["laterality"]
        if lat["num_clips"]:
            lines.append(f"| {s['source']} | {lat['num_clips']} | {lat['decisions']} | {lat['right_pct']:.1f} | "
                         f"{lat['ci95'][0]:.0f}-{lat['ci95'][1]:.0f} |")
    robust = [s for s in sections if "robustness" in s]
    if robust:
        views = list(robust[0]["robustness"])
        lines += ["", "## Robustness: the same clips as other sensors deliver them (top-1)", "",
                  "| source | " + " | ".join(views) + " |", "|---" * (len(views) + 1) + "|"]
        for s in robust:
            lines.append(f"| {s['source']} | " + " | ".join(
                f"{s['robustness'][v].get('top1', float('nan')):.1f}" for v in views) + " |")
    for s in sections:
        r = s["recognition"]
        if "per_class" in r:
            lines += ["", f"Per-class top-1, {s['source']}: " + ", ".join(
                f"{k} {v:.0f}" for k, v in sorted(r["per_class"].items()))]
    return "\n".join(lines) + "\n"
