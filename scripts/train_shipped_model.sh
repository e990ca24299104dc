#!/usr/bin/env bash
# Reproduce models/ from scratch: dataset cache, the contrastive model (SEEDS), the GCN baseline,
# evaluation (mean ± std when several seeds), ONNX export of seed 0, motion library and MODEL_CARD.md.
# About an hour and a half on 2 idle CPU cores for one seed (the shipped card); SEEDS="0 1 2" adds seeds for mean ± std.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
cd "$ROOT"
export HF_HUB_OFFLINE=1 MPLBACKEND=Agg
MT=.venv/bin/motion-text
SEEDS="${SEEDS:-0}"
$MT data build --source cmu --out .cache/datasets/cmu
models=()
for s in $SEEDS; do
  run=runs/cmu$([ "$s" = 0 ] || echo "_seed$s")
  [ -f "$run/last.pt" ] && [ "$(.venv/bin/python -c "import torch;print(torch.load('$run/last.pt',weights_only=False)['epoch'])")" = 30 ] \
    || $MT train --config configs/cmu.yaml --set seed="$s" --out "$run" --no-progress
  models+=(--model "$run")
done
[ -f runs/gcn/best.pt ] || $MT train --config configs/gcn_baseline.yaml --out runs/gcn --no-progress
$MT evaluate "${models[@]}" --baseline runs/gcn --out reports/cmu
$MT export --checkpoint runs/cmu --out models
$MT library build --data .cache/datasets/cmu --model models
# Variants reported on the card: the same config without side phrases, the same at 30 fps / 60 frames, and the
# retargeting experiment.
[ -f runs/cmu_noside/best.pt ] || $MT train --config configs/cmu.yaml --set augment.side_phrases=0.0 \
  --out runs/cmu_noside --no-progress
$MT evaluate --model runs/cmu_noside --out reports/cmu_noside
[ -f runs/cmu_30fps/best.pt ] || $MT train --config configs/cmu_30fps.yaml --out runs/cmu_30fps --no-progress
$MT evaluate --model runs/cmu_30fps --out reports/cmu_30fps
$MT bench --only retargeting --out benchmarks/retargeting.md
.venv/bin/python -c "
from motion_text_node.train.model_card import write_model_card
print(write_model_card('models', 'runs/cmu', 'reports/cmu', {'without side phrases': 'reports/cmu_noside',
                       '30 fps, 60-frame windows': 'reports/cmu_30fps'}, ['benchmarks/retargeting.md']))"
