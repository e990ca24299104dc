"""int8 dynamic quantization of exported encoders, and the check that decides whether an int8 motion encoder ships.

Dynamic quantization stores MatMul/Gemm weights as int8 and quantizes activations on the fly, so ONNX Runtime runs
integer kernels (VNNI/AMX where the CPU has them), with per-channel weight scales; the motion encoder's input
projection stays float32 (``quantize``). How much faster it is, per
window length and batch, is in ``benchmarks/RESULTS.md`` (motion encoder latency); how close it stays to float32
is measured at every export (``check_windows`` / ``embedding_agreement``: minimum cosine over real windows, recorded
in ``model.json`` and on the model card), and the int8 file ships only above ``INT8_MIN_COSINE``. The float32 file
always ships too: it is the reference, and the one used on GPUs (CUDA has no kernels for these integer ops).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from motion_text_node.skeleton.normalize import NormalizationConfig

#: An int8 motion encoder ships only when every check window keeps at least this cosine to the float32 embedding.
INT8_MIN_COSINE = 0.995


def quantize(src: Path, dst: Path, per_channel: bool = False, float_input_layer: bool = False) -> None:
    """int8 dynamic weight quantization (MatMul/Gemm weights) of the ONNX file ``src`` into ``dst``.

    ``float_input_layer`` keeps the first MatMul/Gemm of the graph (the motion encoder's input projection) in
    float32: its input is the raw feature vector, whose parts differ in scale by orders of magnitude (metres, m/s,
    a 0/1 mask), and one dynamic activation scale for all of them costs the small ones their precision (a
    3-s-window model fell to cosine 0.967 on one real window with it quantized, 0.9999 without; same speed).
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # The dynamo exporter's value_info can disagree with ONNX shape inference (which the quantizer reruns):
    # drop it and let inference recompute every intermediate shape.
    model = onnx.load(str(src))
    del model.graph.value_info[:]
    cleaned = dst.with_name(dst.stem + "_clean.onnx")
    onnx.save(model, str(cleaned))
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantizer logs a generic "consider pre-processing" advice on every call
    try:
        matmuls = [n.name for n in model.graph.node if n.op_type in ("MatMul", "Gemm")]  # topological order
        quantize_dynamic(str(cleaned), str(dst), weight_type=QuantType.QInt8, per_channel=per_channel,
                         nodes_to_exclude=matmuls[:1] if float_input_layer else [])
    finally:
        root.setLevel(level)
        cleaned.unlink(missing_ok=True)


def check_windows(cache_dir: Path | None, norm: NormalizationConfig, feature_mean: np.ndarray,
                  feature_std: np.ndarray, max_windows: int = 256, seed: int = 0) -> tuple[np.ndarray, np.ndarray, str]:
    """Feature windows (N, T, F) and masks (N, T) to compare float32 and int8 on, and where they came from.

    Real windows of the held-out splits of the training cache when it is there; otherwise random features drawn
    with the model's own feature statistics (a weaker check, said so in the returned source).
    """
    from motion_text_node.data.cache import DatasetCache
    from motion_text_node.train.samples import clip_windows

    w = norm.window_frames
    if cache_dir is not None and (cache_dir / "index.json").is_file():
        cache = DatasetCache(cache_dir)
        windows = [win for split in ("val", "test") for clip in cache.clips(split, fps=norm.fps)
                   for win in clip_windows(clip, norm, stride=max(w // 4, 1))]
        if windows:
            pick = np.random.default_rng(seed).permutation(len(windows))[:max_windows]
            return (np.stack([windows[i].features for i in pick]).astype(np.float32),
                    np.stack([windows[i].mask for i in pick]),
                    f"{len(pick)} real windows of the val/test clips of {cache_dir.name}")
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(max_windows, w, norm.feature_dim)) * feature_std + feature_mean
    return x.astype(np.float32), np.ones((max_windows, w), bool), f"{max_windows} random windows (no dataset cache)"


def embedding_agreement(reference: Path, candidate: Path, x: np.ndarray, mask: np.ndarray) -> dict:
    """Cosine between the embeddings of two motion-encoder files, window by window at batch 1 (as live)."""
    from motion_text_node.runtime.providers import make_session

    ref, cand = make_session(reference, "cpu", threads=1), make_session(candidate, "cpu", threads=1)
    cos = []
    for i in range(len(x)):
        feeds = {"x": x[i:i + 1], "mask": mask[i:i + 1]}
        a, b = ref.run(None, feeds)[0][0], cand.run(None, feeds)[0][0]
        cos.append(float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12)))
    return {"min_cosine": min(cos), "mean_cosine": float(np.mean(cos)), "windows": len(cos)}
