"""Write ``models/MODEL_CARD.md``: one function per section, each returning its Markdown lines.

The measured figures (split sizes, parity, hardware, training settings, every score) are read from model.json, the
run's config and checkpoint, the dataset cache index and the ``motion-text evaluate`` reports. A few facts about the
corpus are typed into the text here and must be kept true by hand: the HumanML3D captions of 18 CMU trials, the
2,435 CMU index descriptions, "five hours of motion", and the training command's ``configs/merged.yaml``.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import yaml


def _protocol(report: dict, source: str) -> dict:
    """The report's protocol section of ``source`` ({} if none)."""
    return next((s for s in report.get("protocols", []) if s["source"] == source), {})


def _top1(report: dict, source: str, ci: bool = False) -> str:
    """Top-1 recognition of ``source`` (with its 95 % interval if ``ci``), '-' if not measured."""
    r = _protocol(report, source).get("recognition", {})
    if "top1" not in r:
        return "-"
    return f"{r['top1']:.1f}" + (f" ({r['top1_ci95'][0]:.0f}-{r['top1_ci95'][1]:.0f})" if ci else "")


def _laterality(report: dict, source: str) -> str:
    """Laterality % of ``source``, '-' if it has no side-named clips."""
    lat = _protocol(report, source).get("laterality", {})
    return f"{lat['right_pct']:.1f}" if lat.get("num_clips") else "-"


def _unseen(report: dict, source: str) -> str:
    """Top-1 on the classes of ``source`` unseen in training, '-' if not measured."""
    r = _protocol(report, source).get("recognition", {})
    return f"{r['top1_unseen']:.1f}" if "top1_unseen" in r else "-"


ROBUST_VIEW = "15 joints"  # the robustness view the ablation table shows: a Kinect-like tracker's skeleton


def _robust_top1(report: dict, source: str, view: str = ROBUST_VIEW) -> str:
    """Top-1 of ``source`` in the robustness ``view``, '-' if the report has no such view."""
    r = _protocol(report, source).get("robustness", {}).get(view, {})
    return f"{r['top1']:.1f}" if "top1" in r else "-"


def _read_report(path: Path) -> dict:
    """The ``report.json`` of a ``motion-text evaluate`` output folder."""
    return json.loads((Path(path) / "report.json").read_text())


def _hardware_line(run_dir: Path) -> str:
    """Where and how long the run trained, as its checkpoint recorded it."""
    from motion_text_node.train.checkpoint import read_checkpoint

    ckpt = read_checkpoint(run_dir / "best.pt")
    hw = ckpt.get("hardware")
    seconds = sum(r.get("seconds", 0.0) for r in ckpt.get("history", []))
    if not hw:
        return "Training hardware: not recorded in the checkpoint."
    where = (f"{hw['processes']} x {hw['name']}" if hw["device"] == "cuda"
             else f"CPU ({hw['name']}, {hw['cpu_cores']} cores, {hw['torch_threads']} torch threads)")
    return f"Trained on {where}, torch {hw['torch']}, in {seconds / 60:.0f} minutes."


def _copy_figures(model_dir: Path, run_dir: Path, report_dir: Path) -> None:
    """Copy the report's plots and the run's training curves into ``model_dir/card``."""
    card_dir = model_dir / "card"
    card_dir.mkdir(parents=True, exist_ok=True)
    for name in ("confusion.png", "confusion_baseline.png", "embedding_map.png"):
        if (report_dir / name).is_file():
            shutil.copy(report_dir / name, card_dir / name)
    if (run_dir / "training_curves.png").is_file():
        shutil.copy(run_dir / "training_curves.png", card_dir / "training_curves.png")


def _motion_files(meta: dict) -> str:
    """The exported motion encoder files: float32 ONNX, and the int8 copy with its parity when there is one."""
    int8 = meta["parity"].get("motion_int8") if meta["motion_encoder"].get("int8_file") else None
    # cut, not rounded, to 4 decimals: 0.99996 is "0.9999", never "1.0000"
    return "float32 ONNX" + (f", plus an int8 copy (min cosine {math.floor(int8['min_cosine'] * 1e4) / 1e4:.4f} "
                             "to float32 on "
                             f"{int8['windows_from']}) that the runtime uses on CPU" if int8 else "")


def _projection(text: dict) -> str:
    """How the text encoder's output reaches the shared space (its ``projection_kind`` in words)."""
    return {"locked": "its own space kept (locked projection)", "residual": "identity + trained residual "
            "projection"}.get(text.get("projection_kind", "mlp"), "trained projection")


def _header_lines(meta: dict, config: dict) -> list[str]:
    """Title, the licence notice if any, and the paragraph describing the exported model."""
    text, terms = meta["text_encoder"], meta.get("training_data", {})
    return [
        "# Model card: motion-text model",
        "",
        *([f"**{terms['notice']}**", ""] if terms.get("notice") else []),
        f"Model version `{meta['model_version']}`, exported {meta['created']} by motion-text "
        f"{meta['motion_text_version']}. Motion encoder: {meta['motion_encoder']['architecture']} "
        f"({config['model']['layers']} layers, d={config['model']['d_model']}; {_motion_files(meta)}); text encoder: "
        f"{text['base_model']} (frozen, {text['weights']} weights in ONNX) with {_projection(text)}; shared space "
        f"{meta['embed_dim']}-d. Input: canonical SMPL-22 joints, {meta['normalization']['fps']:g} fps windows of "
        f"{meta['normalization']['window_frames']} frames.",
        "",
    ]


def _data_lines(summary: dict, meta: dict) -> list[str]:
    """The split table per source, the extra texts, the acknowledgement and the licence table."""
    lines = [
        "## Data and split",
        "",
        "Every source of `shared/data` (README, Data): CMU-family sources split by subject, Bandai by take order and "
        "style, HRA by take, so no take or subject is in two splits. Clips, minutes and distinct texts per split:",
        "",
        "| source | train | val | test | distinct texts (all) |",
        "|---|---|---|---|---|",
    ]
    for src, per in sorted(summary.get("by_source", {"all": summary}).items()):
        cells = [f"{per[k]['clips']} / {per[k]['minutes']:.0f} min" if k in per else "-" for k in ("train", "val",
                                                                                                   "test")]
        lines.append(f"| {src} | " + " | ".join(cells) + f" | {per['all']['distinct_texts']} |")
    return lines + [
        "",
        "Besides the datasets' texts, training uses kinematic captions computed from the joints "
        "(`motion_text_node.captions`), HumanML3D captions of 18 CMU trials, and the 2,435 descriptions of the CMU "
        "index as extra negative texts (texts only, no motion).",
        "",
        "Acknowledgement: " + meta.get("acknowledgement", ""),
        "",
        *_licence_lines(meta.get("training_data", {})),
    ]


def _training_lines(config: dict, run_dir: Path) -> list[str]:
    """The training command and settings, the hardware, and the training curves."""
    optim = config["optim"]
    ema = optim.get("ema_decay", 0.0)
    last = optim.get("select", "best") == "last"
    weights = (f"a moving average of the weights (decay {ema})" if ema else "the trained weights") + (
        " of the last epoch" if last else " of the epoch with the best validation score")
    return [
        "## Training",
        "",
        f"`motion-text train --config configs/merged.yaml --out {run_dir.name}` (resolved config below), "
        f"{optim['epochs']} epochs of {optim['samples_per_epoch']} windows, batch "
        f"{optim['batch_size']}, AdamW lr {optim['lr']}; shipped: {weights}. {_hardware_line(run_dir)} "
        "Reproduce everything on this card with `scripts/train_shipped_model.sh`.",
        "",
        "![training curves](card/training_curves.png)",
        "",
    ]


def _evaluation_lines(report_dir: Path) -> list[str]:
    """The evaluation report as ``motion-text evaluate`` wrote it, then its confusion matrix and embedding map."""
    return [
        "## Evaluation of this model on held-out data (as `motion-text evaluate` printed it)",
        "",
        (report_dir / "report.md").read_text().replace("# Evaluation", "### Evaluation"),
        "![confusion matrix](card/confusion.png)",
        "",
        "![embedding map](card/embedding_map.png)",
        "",
    ]


def _experiment_lines(experiments: list[Path]) -> list[str]:
    """Each experiment's Markdown file as it is, between blank lines."""
    return [line for path in experiments for line in ["", Path(path).read_text().strip(), ""]]


def _limits_lines() -> list[str]:
    """What the model is known not to do well."""
    return [
        "## Limits",
        "",
        "- Five hours of motion, most of it one studio's (Bandai): actions outside walking, gestures, everyday and "
        "sports motions of CMU, and the HRA assembly tasks are less reliable.",
        "- Recognition labels outside the training words work through the text encoder; the leave-one-source-out "
        "table above is what to expect from a new sensor and label list, not the in-domain figures.",
        "- Left/right rests on Bandai's side-named takes, mirroring with word swaps and side phrases from the joints.",
        "",
    ]


def _config_lines(config: dict) -> list[str]:
    """The resolved training config as a YAML block."""
    return ["## Resolved training config", "", "```yaml", yaml.safe_dump(config, sort_keys=False).strip(), "```"]


def write_model_card(model_dir: Path, run_dir: Path, report_dir: Path, lobo: dict | None = None,
                     compare: dict[str, Path] | None = None, experiments: list[Path] | None = None) -> Path:
    """Copy the report's plots next to the model and write MODEL_CARD.md around the reports' figures.

    ``report_dir``: ``motion-text evaluate`` of this model (held-out split, per-source protocols, baseline).
    ``lobo``: {"source": "bandai", "seeds": report of the recipe left-out over seeds, "ablation": {name: report}}:
    the leave-one-source-out protocol and the recipe ablation. ``compare``: other models side by side (e.g. the one
    trained without non-commercial data). ``experiments``: Markdown files appended as they are.
    """
    model_dir, run_dir, report_dir = Path(model_dir), Path(run_dir), Path(report_dir)
    _copy_figures(model_dir, run_dir, report_dir)
    meta = json.loads((model_dir / "model.json").read_text())
    report = _read_report(report_dir)
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    summary = json.loads((Path(report["data"]) / "index.json").read_text())["meta"]["summary"]
    lines = [
        *_header_lines(meta, config),
        *_data_lines(summary, meta),
        *_training_lines(config, run_dir),
        *_lobo_lines(lobo or {}),
        *_compare_lines(report, compare or {}, meta.get("training_data", {})),
        *_evaluation_lines(report_dir),
        *_experiment_lines(experiments or []),
        *_limits_lines(),
        *_config_lines(config),
    ]
    out = model_dir / "MODEL_CARD.md"
    out.write_text("\n".join(lines) + "\n")
    return out


def _lobo_lines(lobo: dict) -> list[str]:
    """Leave-one-source-out: the recipe over seeds, then its ablation (one seed each)."""
    if not lobo:
        return []
    src = lobo.get("source", "bandai")
    lines = [f"## Leave-one-source-out: trained without {src}, tested on all of {src} with its own labels", ""]
    if lobo.get("seeds"):
        rep = _read_report(lobo["seeds"])
        r = _protocol(rep, src).get("recognition", {})
        summ = rep.get("protocol_summary", {})
        n = len(r.get("classes", []))
        lines += [f"The figure that predicts what a user sees with a new sensor and label list: {n} {src} labels "
                  f"(chance {r.get('chance', 0):.0f} %), {r.get('num_clips', 0)} clips, "
                  f"{len(rep['models'])} seeds of the shipped recipe.", "",
                  "| source | setting | top-1 (mean ± std over seeds) | laterality % (mean ± std) | first seed: top-1 "
                  "(95 % CI) | top-5 | unseen classes top-1 |", "|---|---|---|---|---|---|---|"]
        for s in rep.get("protocols", []):
            v = summ.get(s["source"], {})
            cells = [f"{v[k]['mean']:.1f} ± {v[k]['std']:.1f}" if k in v else "-" for k in ("top1", "laterality")]
            top5 = s["recognition"].get("top5")
            lines.append(f"| {s['source']} | {s['setting']} | {cells[0]} | {cells[1]} | {_top1(rep, s['source'], True)}"
                         f" | {'-' if top5 is None else f'{top5:.1f}'} | {_unseen(rep, s['source'])} |")
        lines.append("")
    if lobo.get("ablation"):
        lines += [f"### Recipe ablation (trained without {src}; one seed each; the first row is the shipped recipe)",
                  "", f"| recipe | {src} zero-shot top-1 (95 % CI) | {src} unseen classes top-1 | {src} laterality % |"
                  f" cmu held-out top-1 | hra held-out top-1 | {src} top-1, {ROBUST_VIEW} | cmu top-1, {ROBUST_VIEW} |",
                  "|---|---|---|---|---|---|---|---|"]
        for name, path in lobo["ablation"].items():
            rep = _read_report(path)
            lines.append(f"| {name} | {_top1(rep, src, True)} | {_unseen(rep, src)} | {_laterality(rep, src)} | "
                         f"{_top1(rep, 'cmu')} | {_top1(rep, 'hra')} | {_robust_top1(rep, src)} | "
                         f"{_robust_top1(rep, 'cmu')} |")
        lines += ["", f"The last two columns are the same clips as a Kinect-like tracker delivers them ({ROBUST_VIEW}; "
                  "`evaluate --robustness`): '-' where the report has no robustness views.", ""]
    return lines


def _compare_lines(report: dict, compare: dict[str, Path], terms: dict) -> list[str]:
    """This model and others (e.g. without non-commercial data) side by side on their held-out protocols."""
    if not compare:
        return []
    lines = ["## Side by side: this model and the one without non-commercial data", "",
             "| model | training data | cmu top-1 | hra top-1 | bandai held-out top-1 | bandai laterality % | "
             "test t2m R@1 | test m2t R@1 |", "|---|---|---|---|---|---|---|---|"]

    def row(name: str, rep: dict, data: str) -> str:
        ret = rep["runs"][0]["retrieval"]["all"]
        return (f"| {name} | {data} | {_top1(rep, 'cmu')} | {_top1(rep, 'hra')} | {_top1(rep, 'bandai')} | "
                f"{_laterality(rep, 'bandai')} | {ret['t2m_R@1']:.1f} | {ret['m2t_R@1']:.1f} |")

    lines.append(row("this model", report, "non-commercial" if terms.get("non_commercial") else "commercial use ok"))
    for name, path in compare.items():
        lines.append(row(name, _read_report(path), "commercial use ok"))
    return lines + ["", "A source a model never saw is scored zero-shot on all its clips; in-domain sources on "
                    "their held-out split.", ""]


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
