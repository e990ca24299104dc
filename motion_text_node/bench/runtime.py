"""Runtime benchmark: motion encoder (ONNX Runtime vs PyTorch eager), text encoder, library search scaling."""

from __future__ import annotations

import gc
from pathlib import Path

import numpy as np

from motion_text_node.bench.table import pct, render, time_calls
from motion_text_node.runtime.bundle import load_bundle
from motion_text_node.runtime.encoders import OnnxMotionEncoder, OnnxTextEncoder
from motion_text_node.runtime.library import MotionLibrary


def motion_encoder_table(model_dir: Path, threads: int = 1, checkpoint: Path | None = None) -> str:
    """p50/p95 of the motion encoder at the model's window length and T=60/150, batch 1/8: ONNX Runtime float32
    and int8 (when the model has it) against torch eager, measured in the same run. Torch runs the checkpoint when
    one is given, else the architecture of model.json with fresh weights (the same work per call)."""
    bundle = load_bundle(model_dir)
    enc = OnnxMotionEncoder(bundle, "cpu", threads, precision="fp32")
    enc8 = OnnxMotionEncoder(bundle, "cpu", threads, precision="int8") if bundle.int8_motion_path else None
    torch_model = _torch_encoder(checkpoint, threads) if checkpoint else _torch_encoder_of(bundle, threads)
    rows = []
    for t in sorted({bundle.norm.window_frames, 60, 150}):
        for b in (1, 8):
            x = np.random.default_rng(0).normal(size=(b, t, bundle.norm.feature_dim)).astype(np.float32)
            mask = np.ones((b, t), dtype=bool)
            ort_ms = time_calls(lambda x=x, mask=mask: enc.encode_features(x, mask))
            row = [t, b, pct(ort_ms, 50), pct(ort_ms, 95)]
            if enc8 is not None:
                int8_ms = time_calls(lambda x=x, mask=mask: enc8.encode_features(x, mask))
                row += [pct(int8_ms, 50), pct(int8_ms, 95), pct(ort_ms, 50) / pct(int8_ms, 50)]
            else:
                row += ["-", "-", "-"]
            if torch_model is not None:
                import torch

                xt, mt = torch.from_numpy(x), torch.from_numpy(mask)

                def run(xt=xt, mt=mt):
                    with torch.no_grad():
                        torch_model(xt, mt)
                torch_ms = time_calls(run)
                row += [pct(torch_ms, 50), pct(torch_ms, 95), pct(torch_ms, 50) / pct(ort_ms, 50)]
            else:
                row += ["-", "-", "-"]
            rows.append(row)
    return render(f"Motion encoder latency (ms, {threads} thread(s))",
                  ["T", "batch", "ORT fp32 p50", "ORT fp32 p95", "ORT int8 p50", "ORT int8 p95",
                   "speed-up (fp32/int8 p50)", "torch p50", "torch p95", "speed-up (torch/ORT fp32 p50)"], rows)


def _torch_encoder_of(bundle, threads: int):
    """The motion encoder model.json describes, in torch eager with fresh weights (a fresh clone has no checkpoint;
    the time of a forward pass depends on the architecture, not on the weights); None without torch."""
    try:
        import torch

        from motion_text_node.model.contrastive import build_motion_encoder
        from motion_text_node.train.config import load_config
    except ImportError:
        return None
    config = bundle.meta.get("training", {}).get("config")
    if not config:
        return None
    torch.set_num_threads(threads)
    cfg = load_config(base=config)
    return build_motion_encoder(cfg.model_config, cfg.norm).eval()


def _torch_encoder(checkpoint: Path, threads: int):
    try:
        import torch

        from motion_text_node.train.checkpoint import load_model
    except ImportError:
        return None
    torch.set_num_threads(threads)
    model, _, _ = load_model(checkpoint)
    return model.motion_encoder.eval()


def text_encoder_table(model_dir: Path, threads: int = 1) -> str:
    """p50/p95 of the text encoder for 1 sentence and a batch of 16 label prompts."""
    enc = OnnxTextEncoder(load_bundle(model_dir), "cpu", threads)
    rows = []
    for name, texts in (("1 command", ["wave with the left hand"]),
                        ("16 label prompts", [f"a person does this: action {i}" for i in range(16)])):
        ms = time_calls(lambda texts=texts: enc.encode(texts))
        rows.append([name, pct(ms, 50), pct(ms, 95)])
    return render(f"Text encoder latency (ms, fp16-stored weights, {threads} thread(s))", ["input", "p50", "p95"], rows)


def library_search_table(sizes=(1_000, 10_000, 100_000, 1_000_000), dim: int = 256) -> str:
    """Search latency vs library size: exact numpy cosine vs the IVF index (faiss), synthetic unit embeddings."""
    rng = np.random.default_rng(0)
    rows = []
    for n in sizes:
        emb = rng.normal(size=(n, dim)).astype(np.float32)
        emb /= np.linalg.norm(emb, axis=1, keepdims=True)
        ids = [str(i) for i in range(n)]
        queries = emb[rng.integers(0, n, 64)] + 0.1 * rng.normal(size=(64, dim)).astype(np.float32)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        exact = MotionLibrary(ids, ids, emb, np.full(n, 30.0, np.float32), ann="none")
        it = iter(range(10**9))
        ex = time_calls(lambda exact=exact, queries=queries, it=it: exact.search(queries[next(it) % 64], 5), 30)
        row = [f"{n:,}", pct(ex, 50), pct(ex, 95)]
        approx = MotionLibrary(ids, ids, emb, np.full(n, 30.0, np.float32), ann="faiss")
        if approx.uses_ann:
            ap = time_calls(lambda approx=approx, queries=queries, it=it: approx.search(queries[next(it) % 64], 5), 30)
            recall = np.mean([exact.search(q, 1)[0].clip_id == approx.search(q, 1)[0].clip_id for q in queries[:32]])
            row += [pct(ap, 50), pct(ap, 95), pct(ex, 50) / pct(ap, 50), f"{recall * 100:.0f}%"]
        else:
            row += ["-", "-", "-", "-"]
        rows.append(row)
        del exact, approx, emb
        gc.collect()
    return render("Library search latency (ms, top-5; exact below 200k motions, IVF index above)",
                  ["motions", "exact p50", "exact p95", "IVF p50", "IVF p95", "speed-up", "IVF top-1 = exact"],
                  rows)
