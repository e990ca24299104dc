"""Export a trained contrastive model to a runtime model folder (ONNX + tokenizer + model.json), parity-checked.

The motion encoder is exported in float32 (parity with torch <= 1e-4 at several lengths and batch sizes). The text
tower (MiniLM backbone + mean pooling + projection) is exported in float32 and checked the same way; by default its
weights are then stored as float16 (computation stays float32: each weight is cast back at load), which halves the
file (90 -> 46 MB); every export checks the stored weights against torch again (a cosine floor per weight format,
``MIN_COSINE``) and reports the difference. int8 dynamic quantization (23 MB) is available (``--text-weights int8``)
but not the default: when it was chosen (2026-11, MiniLM with a trained MLP projection) the projection amplified its
error to cosine 0.89-0.98 in the shared space.

The text tower is stored in two files: ``text_backbone.onnx`` (frozen MiniLM + pooling, 46 MB) and the trained
``text_projection.onnx`` (1 MB; none for a locked projection). An export into a folder whose backbone has the same
fingerprint keeps the existing file, so a retrained model adds the projection and the motion encoder to git
history, not another 46 MB.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from motion_text_node import __version__
from motion_text_node.data.cache import DatasetCache
from motion_text_node.data.labels import PROMPT_TEMPLATES, cmu_action_classes
from motion_text_node.data.sources import is_non_commercial
from motion_text_node.errors import UserError
from motion_text_node.export.onnx_graph import export_onnx
from motion_text_node.export.quantize import INT8_MIN_COSINE, check_windows, embedding_agreement, quantize
from motion_text_node.model.text_encoder import mean_pool
from motion_text_node.runtime.bundle import BUNDLE_FORMAT, BUNDLE_VERSION
from motion_text_node.skeleton.canonical import CANONICAL_JOINTS
from motion_text_node.train.checkpoint import LoadedModel, load_contrastive
from motion_text_node.train.config import cache_path

PARITY_LENGTHS = (2, 30, 60, 150, 300)
PARITY_TOLERANCE = 1e-4
WEIGHT_FORMATS = ("fp16", "int8", "fp32")
MIN_COSINE = {"fp16": 0.9999, "int8": 0.98, "fp32": 0.999999}
PARITY_SENTENCES = ("walk", "wave with the left hand", "a person jumps forward twice and then turns around",
                    "climb a ladder", "x")


class TextBackbone(nn.Module):
    """Token ids -> unit-norm sentence embedding (MiniLM, mean pooling, normalization): the frozen part."""

    def __init__(self, lm: LoadedModel) -> None:
        super().__init__()
        self.backbone = lm.text_encoder.backbone

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return F.normalize(mean_pool(hidden, attention_mask), dim=-1)


class TextTower(nn.Module):
    """Token ids -> shared-space text embedding (backbone, then the trained projection): the torch reference."""

    def __init__(self, lm: LoadedModel) -> None:
        super().__init__()
        self.backbone = TextBackbone(lm)
        self.projection = lm.model.text_projection

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.projection(self.backbone(input_ids, attention_mask))


def _session(path: Path):
    import onnxruntime as ort

    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def motion_parity(encoder: nn.Module, path: Path, feature_dim: int, lengths=PARITY_LENGTHS) -> dict:
    """Max |torch - onnxruntime| of the motion encoder at each length, batch 1 and a padded batch of 3."""
    sess, rng, out = _session(path), np.random.default_rng(0), {}
    encoder.eval()
    for t in lengths:
        worst = 0.0
        for b in (1, 3):
            x = rng.normal(size=(b, t, feature_dim)).astype(np.float32)
            mask = np.ones((b, t), dtype=bool)
            if b > 1:
                mask[1, max(t // 2, 1):] = False
            with torch.no_grad():
                ref = encoder(torch.from_numpy(x), torch.from_numpy(mask)).numpy()
            got = sess.run(None, {"x": x, "mask": mask})[0]
            worst = max(worst, float(np.abs(ref - got).max()))
        out[str(t)] = worst
    return out


def export_text_backbone(lm: LoadedModel, path: Path) -> None:
    """Dynamo export of the frozen text part with dynamic batch and sequence length."""
    tok = lm.text_encoder.tokenize(["a person walks", "wave with the left hand please"])
    ids, mask = tok["input_ids"].long(), tok["attention_mask"].long()
    b, s = torch.export.Dim("batch"), torch.export.Dim("seq", max=512)
    # "embedding" collides with an internal MiniLM node name: ONNX Runtime rejects such a file.
    torch.onnx.export(TextBackbone(lm).eval(), (ids, mask), str(path), dynamo=True, external_data=False,
                      input_names=["input_ids", "attention_mask"], output_names=["sentence_embedding"],
                      dynamic_shapes={"input_ids": {0: b, 1: s}, "attention_mask": {0: b, 1: s}}, verbose=False)


def export_text_projection(lm: LoadedModel, path: Path) -> None:
    """Dynamo export of the trained projection (sentence embedding -> shared space), dynamic batch."""
    x = F.normalize(torch.randn(3, lm.config.model_config.text_dim), dim=-1)
    torch.onnx.export(lm.model.text_projection.eval(), (x,), str(path), dynamo=True, external_data=False,
                      input_names=["sentence_embedding"], output_names=["text_embedding"],
                      dynamic_shapes={"sentence": {0: torch.export.Dim("batch")}}, verbose=False)


def backbone_fingerprint(lm: LoadedModel, weights: str) -> str:
    """sha256 of the text backbone's weights, its token limit and the stored weight format: equal fingerprints
    mean an already exported ``text_backbone.onnx`` can be kept as it is (same bytes in git history)."""
    h = hashlib.sha256(f"{weights}:{lm.text_encoder.max_length}".encode())
    for name, tensor in sorted(lm.text_encoder.backbone.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def text_parity(lm: LoadedModel, backbone: Path, projection: Path | None) -> tuple[float, float]:
    """(max abs difference, min cosine) of the ONNX text tower (backbone, then projection) against torch."""
    tower, sess = TextTower(lm).eval(), _session(backbone)
    proj = _session(projection) if projection else None
    worst, min_cos = 0.0, 1.0
    for batch in (PARITY_SENTENCES[:1], PARITY_SENTENCES):
        tok = lm.text_encoder.tokenize(list(batch))
        with torch.no_grad():
            ref = tower(tok["input_ids"], tok["attention_mask"]).numpy()
        got = sess.run(None, {"input_ids": tok["input_ids"].numpy().astype(np.int64),
                              "attention_mask": tok["attention_mask"].numpy().astype(np.int64)})[0]
        if proj is not None:
            got = proj.run(None, {"sentence_embedding": got})[0]
        worst = max(worst, float(np.abs(ref - got).max()))
        cos = (ref * got).sum(1) / np.linalg.norm(ref, axis=1) / np.linalg.norm(got, axis=1)
        min_cos = min(min_cos, float(cos.min()))
    return worst, min_cos


def fp16_weights(src: Path, dst: Path, min_size: int = 1024) -> None:
    """Store float32 initializers of at least ``min_size`` values as float16, each cast back to float32."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(src))
    graph = model.graph
    inits, casts = [], []
    for init in graph.initializer:
        if init.data_type == TensorProto.FLOAT and int(np.prod(init.dims)) >= min_size:
            half = numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), init.name + "__fp16")
            inits.append(half)
            casts.append(helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT,
                                          name=init.name + "__cast"))
        else:
            inits.append(init)
    del graph.initializer[:]
    graph.initializer.extend(inits)
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(casts + nodes)
    onnx.save(model, str(dst))


def export_model(checkpoint: str | Path, out_dir: str | Path, labels: list[str] | None = None,
                 text_weights: str = "fp16", int8_motion: bool = True, log=print) -> dict:
    """Export ``checkpoint`` into ``out_dir``; raises UserError when parity fails. Returns the parity report.

    With ``int8_motion``, an int8 copy of the motion encoder is added when it stays within ``INT8_MIN_COSINE``
    of the float32 one on real windows (see ``export.quantize``); the runtime prefers it on CPU.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lm = load_contrastive(checkpoint)
    norm = lm.config.norm
    report: dict = {}

    log("exporting the motion encoder ...")
    export_onnx(lm.model.motion_encoder, out / "motion_encoder.onnx", norm, output_name="motion_embedding")
    report["motion_max_abs_diff"] = motion_parity(lm.model.motion_encoder, out / "motion_encoder.onnx",
                                                  norm.feature_dim)
    log("  parity (max |torch - onnx|) by length: " + ", ".join(
        f"T={t}: {d:.1e}" for t, d in report["motion_max_abs_diff"].items()))
    if max(report["motion_max_abs_diff"].values()) > PARITY_TOLERANCE:
        raise UserError(f"motion encoder parity above {PARITY_TOLERANCE}: {report['motion_max_abs_diff']}")

    motion_meta = {"file": "motion_encoder.onnx", "inputs": ["x", "mask"], "output": "motion_embedding",
                   "feature_dim": norm.feature_dim, "architecture": lm.config.model_config.encoder}
    if int8_motion:
        motion_meta.update(_int8_motion_encoder(lm, out, report, log))

    text_meta = _export_text(lm, out, text_weights, report, log)

    meta = {
        "format": BUNDLE_FORMAT,
        "format_version": BUNDLE_VERSION,
        "model_version": f"{Path(checkpoint).resolve().parent.name}-{time.strftime('%Y%m%d')}",
        "motion_text_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "embed_dim": lm.config.model_config.embed_dim,
        "normalization": norm.to_dict(),
        "skeleton": {"format": "smpl22", "joints": list(CANONICAL_JOINTS), "up_axis": "z", "units": "m"},
        "motion_encoder": motion_meta,
        "text_encoder": text_meta,
        "prompt_templates": list(PROMPT_TEMPLATES),
        "labels": labels if labels is not None else cmu_action_classes(),
        "training": {"config": lm.config.to_dict()},
        "training_data": training_data_terms(lm.provenance),
        "parity": report,
    }
    ack = _acknowledgement(lm)
    if ack:
        meta["acknowledgement"] = ack
    (out / "model.json").write_text(json.dumps(meta, indent=1))
    return report


def _export_text(lm: LoadedModel, out: Path, text_weights: str, report: dict, log) -> dict:
    """Write ``text_backbone.onnx`` (kept when ``out`` already holds the same backbone), ``text_projection.onnx``
    (unless the projection is locked) and ``tokenizer.json``; parity-check the chain. The meta entry."""
    if text_weights not in WEIGHT_FORMATS:
        raise UserError(f"text weights must be one of {', '.join(WEIGHT_FORMATS)}")
    backbone, projection = out / "text_backbone.onnx", out / "text_projection.onnx"
    projection.unlink(missing_ok=True)
    (out / "text_encoder.onnx").unlink(missing_ok=True)  # the one-file text tower of earlier exports
    if lm.model.text_projection.trainable:
        export_text_projection(lm, projection)
    chain = projection if projection.is_file() else None
    fingerprint = backbone_fingerprint(lm, text_weights)
    if backbone.is_file() and _previous_meta(out).get("text_encoder", {}).get("backbone_sha256") == fingerprint:
        log("text backbone unchanged: keeping text_backbone.onnx")
    else:
        log("exporting the text backbone ...")
        with tempfile.TemporaryDirectory() as tmp:
            fp32 = Path(tmp) / "text_fp32.onnx"
            export_text_backbone(lm, fp32)
            diff, _ = text_parity(lm, fp32, chain)
            report["text_fp32_max_abs_diff"] = diff
            log(f"  fp32 parity: max |torch - onnx| {diff:.1e}")
            if diff > PARITY_TOLERANCE:
                raise UserError(f"text encoder parity {diff:.2e} above {PARITY_TOLERANCE}")
            {"fp16": fp16_weights, "int8": quantize, "fp32": shutil.copy}[text_weights](fp32, backbone)
    diff, cos = text_parity(lm, backbone, chain)
    report[f"text_{text_weights}_max_abs_diff"], report["text_min_cosine"] = diff, cos
    log(f"  {text_weights} weights: max |torch - onnx| {diff:.1e}, min cosine {cos:.7f}")
    if cos < MIN_COSINE[text_weights]:
        raise UserError(f"{text_weights} text encoder too far from torch (cosine {cos:.5f})")
    shutil.copy(lm.text_encoder.path / "tokenizer.json", out / "tokenizer.json")
    meta = {"file": backbone.name, "tokenizer": "tokenizer.json", "max_length": lm.text_encoder.max_length,
            "inputs": ["input_ids", "attention_mask"], "output": "sentence_embedding", "weights": text_weights,
            "base_model": "sentence-transformers/all-MiniLM-L6-v2", "backbone_sha256": fingerprint,
            "projection_kind": lm.model.text_projection.kind}
    if projection.is_file():
        meta["projection"] = projection.name
    return meta


def _previous_meta(out: Path) -> dict:
    try:
        return json.loads((out / "model.json").read_text())
    except (OSError, ValueError):
        return {}


def _int8_motion_encoder(lm: LoadedModel, out: Path, report: dict, log) -> dict:
    """Quantize ``out/motion_encoder.onnx``; keep the int8 file only when it agrees with float32. Meta entries."""
    int8_path = out / "motion_encoder.int8.onnx"
    enc = lm.model.motion_encoder
    x, mask, source = check_windows(cache_path(lm.config), lm.config.norm, enc.feature_mean.numpy(),
                                    enc.feature_std.numpy())
    log("quantizing the motion encoder to int8 ...")
    quantize(out / "motion_encoder.onnx", int8_path, per_channel=True, float_input_layer=True)
    agreement = embedding_agreement(out / "motion_encoder.onnx", int8_path, x, mask)
    report["motion_int8"] = {**agreement, "windows_from": source}
    log(f"  int8 vs float32 on {source}: min cosine {agreement['min_cosine']:.5f}, "
        f"mean {agreement['mean_cosine']:.6f}")
    if agreement["min_cosine"] < INT8_MIN_COSINE:
        int8_path.unlink()
        log(f"  not shipping the int8 encoder: min cosine below {INT8_MIN_COSINE}")
        return {}
    return {"int8_file": int8_path.name}


def training_data_terms(rows: list[dict]) -> dict:
    """What ``model.json`` says about the training data: sources with licences and attributions, and whether the
    model is for non-commercial use only (trained on any non-commercial source)."""
    nc = sorted({r["licence"] for r in rows if is_non_commercial(r["licence"])})
    terms = {"sources": rows, "non_commercial": bool(nc)}
    if nc:
        terms["notice"] = (f"Trained on data licensed {', '.join(nc)}: this model may be used for non-commercial "
                           "purposes only. Train without it with data.exclude_licences (see the README).")
    return terms


def _acknowledgement(lm: LoadedModel) -> str:
    """The acknowledgement the training cache records (e.g. CMU's), when that cache is here; export never builds
    data, so a model exported without its cache has none."""
    path = cache_path(lm.config)
    if not (path / "index.json").is_file():
        return ""
    try:
        return DatasetCache(path).meta.get("acknowledgement", "")
    except UserError:
        return ""
