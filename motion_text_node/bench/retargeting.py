"""Does retargeting to canonical proportions help a model recognize motion from a source with other body
proportions? Two small models (retarget on / off) trained on CMU's training subjects are tested on the held-out
clips as captured (CMU proportions: shoulders ~0.24 m apart) and as a source with SMPL proportions would deliver
them (every bone rescaled to SMPL lengths, shoulders ~0.35 m, joint directions kept).

A training experiment run only when asked for (``motion-text bench --only retargeting``): torch and the training
code load inside ``retargeting_table``, so the bench package itself stays importable without torch."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from motion_text_node.bench.table import render
from motion_text_node.data.clip import Clip
from motion_text_node.skeleton.motion import Motion
from motion_text_node.skeleton.normalize import retarget

SMALL = ["model.d_model=128", "model.layers=2", "model.heads=4", "model.ff=256", "model.embed_dim=128",
         "optim.epochs=8", "optim.samples_per_epoch=2048", "augment.extra_text_count=128",
         "normalization.fps=30.0", "normalization.window_frames=60"]  # as measured in benchmarks/retargeting.md


def as_other_source(clip: Clip) -> Clip:
    """The clip as a capture with SMPL proportions would have recorded it."""
    m = clip.motion
    return dataclasses.replace(clip, motion=Motion(retarget(m.positions), m.joint_names, m.fps, m.valid))


def retargeting_table(out_root: Path, cache: str = ".cache/datasets/cmu") -> str:
    """Train both models (if not trained yet) and print top-1/top-5 on original vs SMPL-proportioned clips."""
    import torch

    from motion_text_node.data.cache import DatasetCache
    from motion_text_node.train.checkpoint import embed_windows, load_contrastive
    from motion_text_node.train.config import load_config
    from motion_text_node.train.evaluate import recognition_section, recognition_windows
    from motion_text_node.train.trainer import Trainer, class_names

    rows = []
    for retarget_on in (True, False):
        run = Path(out_root) / f"retarget_{'on' if retarget_on else 'off'}"
        if not (run / "best.pt").is_file():
            config = load_config("configs/cmu.yaml", SMALL + [f"normalization.retarget={str(retarget_on).lower()}",
                                                            f"data.cache={cache}"])
            Trainer(config, run, progress=False).run()
        lm = load_contrastive(run)
        ds = DatasetCache(cache)
        classes = class_names(ds.clips("train"), "cmu")
        test = ds.clips("test", fps=lm.config.norm.fps)
        row = ["on" if retarget_on else "off"]
        for clips in (test, [as_other_source(c) for c in test]):
            windows, truth = recognition_windows(clips, lm.config, classes)
            scores = embed_windows(lm.model, windows, torch.device("cpu")) @ lm.labels(classes).T
            r = recognition_section(scores, truth, classes)
            row += [r["top1"], r["top5"]]
        rows.append(row)
    drop = [r[1] - r[3] for r in rows]
    table = render("Cross-source recognition (held-out CMU test clips, small models, 15 classes)",
                   ["retargeting", "CMU proportions top-1", "top-5", "SMPL proportions top-1", "top-5"], rows)
    return table + f"\n\nTop-1 lost to the change of proportions: {drop[0]:.1f} points with retargeting, " \
                    f"{drop[1]:.1f} without."


if __name__ == "__main__":
    import sys

    import torch

    torch.set_num_threads(1)
    print(retargeting_table(Path(sys.argv[1] if len(sys.argv) > 1 else "runs/retargeting")))

