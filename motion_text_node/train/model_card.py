"""Write ``models/MODEL_CARD.md`` from a run's config and ``motion-text evaluate`` output (no hand-typed numbers)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

ABLATION_KEYS = (("retrieval", "all", "t2m_R@1", "t2m R@1"), ("retrieval", "all", "m2t_R@1", "m2t R@1"),
                 ("recognition", None, "top1", "top-1"), ("recognition", None, "top1_norm", "top-1-norm"))


def _ablation_row(name: str, report: dict) -> str:
    run = report["runs"][0]
    cells = []
    for section, proto, key, _ in ABLATION_KEYS:
        block = run[section][proto] if proto else run[section]
        cells.append(f"{block[key]:.1f}")
    lat = run["laterality"].get("held_out_kinematic", {})
    cells.append(f"{lat['right_pct']:.1f}" if lat.get("decisions") else "n/a")
    return f"| {name} | " + " | ".join(cells) + " |"


def write_model_card(model_dir: Path, run_dir: Path, report_dir: Path,
                     ablations: dict[str, Path] | None = None, experiments: list[Path] | None = None) -> Path:
    """Copy the report's plots next to the model and write MODEL_CARD.md around the report's Markdown."""
    model_dir, run_dir, report_dir = Path(model_dir), Path(run_dir), Path(report_dir)
    card_dir = model_dir / "card"
    card_dir.mkdir(parents=True, exist_ok=True)
    for name in ("confusion.png", "confusion_baseline.png", "embedding_map.png"):
        if (report_dir / name).is_file():
            shutil.copy(report_dir / name, card_dir / name)
    if (run_dir / "training_curves.png").is_file():
        shutil.copy(run_dir / "training_curves.png", card_dir / "training_curves.png")
    meta = json.loads((model_dir / "model.json").read_text())
    report = json.loads((report_dir / "report.json").read_text())
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    cache_meta = json.loads((Path(report["data"]) / "index.json").read_text())["meta"]
    summary = cache_meta["summary"]
    int8 = meta["parity"].get("motion_int8") if meta["motion_encoder"].get("int8_file") else None
    motion_files = "float32 ONNX" + (f", plus an int8 copy (min cosine {int8['min_cosine']:.4f} to float32 on "
                                     f"{int8['windows_from']}) that the runtime uses on CPU" if int8 else "")
    lines = [
        "# Model card: motion-text CMU model",
        "",
        f"Model version `{meta['model_version']}`, exported {meta['created']} by motion-text "
        f"{meta['motion_text_version']}. Motion encoder: {meta['motion_encoder']['architecture']} "
        f"({config['model']['layers']} layers, d={config['model']['d_model']}; {motion_files}); text encoder: "
        f"{meta['text_encoder']['base_model']} (frozen) + trained projection, {meta['text_encoder']['weights']} "
        f"weights in ONNX; shared space {meta['embed_dim']}-d. Input: canonical SMPL-22 joints, "
        f"{meta['normalization']['fps']:g} fps windows of {meta['normalization']['window_frames']} frames.",
        "",
        "## Data and split",
        "",
        "The CMU Graphics Lab Motion Capture Database (BVH conversion by B. Hahne), with the trial descriptions its "
        "authors wrote, split by subject so that test subjects are never seen in training:",
        "",
        "| split | clips | minutes | subjects | distinct texts |",
        "|---|---|---|---|---|",
    ]
    for split in ("train", "val", "test"):
        s = summary[split]
        lines.append(f"| {split} | {s['clips']} | {s['minutes']} | {s['subjects']} | {s['distinct_texts']} |")
    lines += [
        "",
        "Train subjects 1, 2, 3, 5, 6, 7, 9, 10, 13, 60, 61; val 8, 11, 131; test 12, 14. HumanML3D captions of 18 "
        "trials are used as extra training texts where a window lies inside their span; the 2,435 descriptions of "
        "the CMU index are extra negative texts (texts only, no motion).",
        "",
        "Acknowledgement: " + meta.get("acknowledgement", ""),
        "",
        *_licence_lines(meta.get("training_data", {})),
        "## Training",
        "",
        f"`motion-text train --config configs/cmu.yaml --out {run_dir.name}` (resolved config below), "
        f"{config['optim']['epochs']} epochs of {config['optim']['samples_per_epoch']} windows, batch "
        f"{config['optim']['batch_size']}, AdamW lr {config['optim']['lr']}, bf16 autocast on CPU. "
        "Reproduce everything on this card with `scripts/train_shipped_model.sh`.",
        "",
        "![training curves](card/training_curves.png)",
        "",
        "## Evaluation (as `motion-text evaluate` printed it)",
        "",
        (report_dir / "report.md").read_text().replace("# Evaluation", "### Evaluation"),
        "![confusion matrix](card/confusion.png)",
        "",
        "![embedding map](card/embedding_map.png)",
        "",
        *_ablation_lines(report, ablations or {}),
        *[line for path in experiments or [] for line in ["", Path(path).read_text().strip(), ""]],
        "## Limits",
        "",
        "- 36 minutes of motion from 16 subjects: the model knows CMU's everyday and sports actions; the test "
        "set has 25 clips of 2 subjects, so every figure above has a wide spread.",
        "- CMU descriptions rarely name a side of the body; left/right is learnt from mirroring with word swaps.",
        "- Recognition labels outside CMU's vocabulary work through the text encoder but are less reliable.",
        "",
        "## Resolved training config",
        "",
        "```yaml",
        yaml.safe_dump(config, sort_keys=False).strip(),
        "```",
    ]
    out = model_dir / "MODEL_CARD.md"
    out.write_text("\n".join(lines) + "\n")
    return out


def _licence_lines(terms: dict) -> list[str]:
    """The training data per source with its licence, and the non-commercial notice when one applies."""
    rows = terms.get("sources", [])
    if not rows:
        return []
    lines = ["### Training data and licence", ""]
    if terms.get("notice"):
        lines += [f"**{terms['notice']}**", ""]
    lines += ["| source | licence | training clips | minutes | attribution |", "|---|---|---|---|---|"]
    lines += [f"| {r['source']} | {r['licence']} | {r['clips']} | {r['minutes']} | {r['attribution']} |"
              for r in rows]
    return lines + [""]


def _ablation_lines(report: dict, ablations: dict[str, Path]) -> list[str]:
    """A table comparing this model with variants trained without one of its ingredients (same test split)."""
    if not ablations:
        return []
    head = "| model | " + " | ".join(k[3] for k in ABLATION_KEYS) + " | kinematic laterality % |"
    lines = ["## Variants: what the ingredients and choices bought (held-out test split, one seed each)", "", head,
             "|---|" + "---|" * (len(ABLATION_KEYS) + 1), _ablation_row("this model", report)]
    for name, path in ablations.items():
        lines.append(_ablation_row(name, json.loads((Path(path) / "report.json").read_text())))
    return lines + [""]
