#!/usr/bin/env bash
# The recipe ablation of issue 13: leave-Bandai-out runs of configs/merged.yaml, each changing one ingredient, all
# judged by the zero-shot protocol on Bandai (its own labels, never seen) plus CMU and HRA held-out clips, each also
# as other sensors deliver them (robustness views: 15 joints, upper body, 15 fps, jitter, tilt).
# Runs and reports land in runs/lobo_<name> and reports/lobo_<name>; finished ones are skipped; the shipped
# recipe's run is lobo_recipe.
# About 20 minutes per variant on 2 CPU cores (3-s windows). Usage: scripts/ablation.sh [name ...] (default: every variant).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export HF_HUB_OFFLINE=1 MPLBACKEND=Agg
MT=.venv/bin/motion-text
LOBO="data.exclude_sources=[bandai]"

# Overrides of configs/merged.yaml (the shipped recipe). v1 is the first merged recipe (trainable MLP projection,
# kinematic captions on 40 % of windows, no sensor augmentation, no hard negatives, one frame per encoder token);
# each other variant adds one ingredient to v1 or removes one from it; the recipe is v1 + the locked text side +
# sensor augmentation + captions on 70 % of windows + 3 frames per encoder token. Every variant takes the recipe's 3-s windows (2 s against 3 s:
# benchmarks/model_size_window_2026-12-03.md) and its weight average of the last epoch
# (benchmarks/positives_ema_2026-12-03.md).
V1="model.text_projection=mlp model.embed_dim=256 augment.sensor=0.0 augment.side_negatives=false
  augment.kinematic_captions=0.4 model.patch_frames=1"
declare -A VARIANTS=(
  [recipe]=""
  [base]="$V1"
  [locked]="$V1 model.text_projection=locked model.embed_dim=384"
  [residual]="$V1 model.text_projection=residual model.embed_dim=384"
  [sensor]="$V1 augment.sensor=0.3"
  [sidenegs]="$V1 augment.side_negatives=true"
  [nocaptions]="$V1 augment.kinematic_captions=0.0"
  [combined]="augment.side_negatives=true"
  [nearmiss]="augment.near_miss_negatives=1.0"
  [captions04]="augment.kinematic_captions=0.4"
  [patch1]="model.patch_frames=1"
)
declare -A LABELS=(
  [recipe]="shipped recipe: v1 + locked text side + sensor augmentation + 3-s windows + weight average, last epoch, captions on 70 % of windows, 3 frames per encoder token"
  [base]="v1: trainable MLP projection, kinematic captions on 40 % of windows, sources balanced"
  [locked]="v1 + locked text side (LiT)"
  [residual]="v1 + residual projection (identity + learnt correction)"
  [sensor]="v1 + sensor-realism augmentation (p 0.3)"
  [sidenegs]="v1 + side-swapped hard negatives"
  [nocaptions]="v1 without kinematic captions"
  [combined]="recipe + side-swapped hard negatives"
  [nearmiss]="recipe + near-miss hard negatives (other hand count, raise/wave, walk/run)"
  [captions04]="recipe with kinematic captions on 40 % of windows (the recipe before 2026-12-03)"
  [patch1]="recipe with 1 frame per encoder token (45 tokens, not 15: the recipe until its last retrain of 2026-12-03)"
)
ORDER=(recipe base locked residual sensor sidenegs combined nocaptions nearmiss captions04 patch1)

finished() {  # run folder -> true when its last.pt reached the configured epochs
  [ -f "$1/last.pt" ] && .venv/bin/python -c "
import sys, yaml
from motion_text_node.train.checkpoint import read_checkpoint
epochs = yaml.safe_load(open('$1/config.yaml'))['optim']['epochs']
sys.exit(0 if read_checkpoint('$1/last.pt')['epoch'] >= epochs else 1)"
}

# train_and_evaluate NAME [KEY=VALUE ...]: one leave-Bandai-out run and its protocol report.
train_and_evaluate() {
  local name=$1; shift
  local run=runs/lobo_$name sets=(--set "$LOBO")
  for kv in "$@"; do sets+=(--set "$kv"); done
  [ -f "reports/lobo_$name/report.json" ] && { echo "lobo_$name done"; return; }  # evaluated: done
  finished "$run" || $MT train --config configs/merged.yaml "${sets[@]}" --out "$run" --no-progress
  $MT evaluate --model "$run" --source bandai --source cmu --source hra \
    --limit 600 --robustness --out "reports/lobo_$name" > /dev/null
  echo "lobo_$name done"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  names=("$@")
  [ ${#names[@]} -gt 0 ] || names=("${ORDER[@]}")
  for n in "${names[@]}"; do
    # shellcheck disable=SC2086
    train_and_evaluate "$n" ${VARIANTS[$n]}
  done
fi
