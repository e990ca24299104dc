"""ONNX export parity and the torch-free runtime: bundle, encoders, label bank, library, CLI commands."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO, version1_library_arrays

from motion_text_node.cli import main as cli_main
from motion_text_node.data.cache import DatasetCache
from motion_text_node.errors import UserError
from motion_text_node.runtime.bundle import load_bundle
from motion_text_node.runtime.engine import MotionTextRuntime
from motion_text_node.runtime.label_bank import parse_labels
from motion_text_node.runtime.library import MotionLibrary
from motion_text_node.runtime.providers import choose_providers


def test_export_wrote_a_parity_checked_model_folder(tiny_model_dir) -> None:
    meta = json.loads((tiny_model_dir / "model.json").read_text())
    diffs = meta["parity"]["motion_max_abs_diff"]
    assert set(diffs) == {"2", "30", "60", "150", "300"} and max(diffs.values()) <= 1e-4
    assert meta["parity"]["text_fp32_max_abs_diff"] <= 1e-4 and meta["parity"]["text_min_cosine"] >= 0.9999
    assert meta["parity"]["text_fp16_max_abs_diff"] <= 1e-3 and meta["text_encoder"]["weights"] == "fp16"
    assert meta["skeleton"]["format"] == "smpl22" and meta["normalization"]["window_frames"] == 30
    assert "mocap.cs.cmu.edu" in meta["acknowledgement"]
    # The text tower in two files: the frozen backbone and the trained projection (an MLP by default).
    text = meta["text_encoder"]
    assert (text["file"], text["projection"], text["projection_kind"]) == ("text_backbone.onnx",
                                                                         "text_projection.onnx", "mlp")
    assert not (tiny_model_dir / "text_encoder.onnx").exists()
    assert (tiny_model_dir / "text_projection.onnx").stat().st_size < 2_000_000


def test_onnx_matches_torch_at_other_lengths_too(tiny_run, tiny_model_dir) -> None:
    from motion_text_node.export.onnx_export import motion_parity
    from motion_text_node.train.checkpoint import load_model

    model, config, _ = load_model(tiny_run)
    diffs = motion_parity(model.motion_encoder, tiny_model_dir / "motion_encoder.onnx", config.norm.feature_dim,
                          lengths=(1, 7, 91))
    assert max(diffs.values()) <= 1e-4


def test_int8_motion_encoder_agrees_with_fp32_and_is_the_cpu_default(tiny_model_dir, cmu_cache, tmp_path) -> None:
    meta = json.loads((tiny_model_dir / "model.json").read_text())
    check = meta["parity"]["motion_int8"]
    assert meta["motion_encoder"]["int8_file"] == "motion_encoder.int8.onnx"
    assert check["min_cosine"] >= 0.995 and "real windows" in check["windows_from"] and check["windows"] > 10
    fp32 = MotionTextRuntime(tiny_model_dir, library=None, providers="cpu", precision="fp32")
    auto = MotionTextRuntime(tiny_model_dir, library=None, providers="cpu")
    assert (fp32.motion_encoder.precision, auto.motion_encoder.precision) == ("fp32", "int8")
    assert auto.motion_encoder.path.name == "motion_encoder.int8.onnx"
    # Windows of a clip the check did not pick (training split): same embeddings up to int8 noise.
    motion = DatasetCache(cmu_cache).clips("train")[3].motion
    _, a, _ = fp32.motion_encoder.encode_motion(motion)
    _, b, _ = auto.motion_encoder.encode_motion(motion)
    assert (a * b).sum(1).min() > 0.99
    assert (fp32.labels.scores(a).argmax(1) == auto.labels.scores(b).argmax(1)).mean() >= 0.9

    # A model without the int8 file: auto falls back to fp32, asking for int8 is one clear error.
    plain = tmp_path / "plain"
    plain.mkdir()
    for name in ("motion_encoder.onnx", "text_backbone.onnx", "text_projection.onnx", "tokenizer.json"):
        (plain / name).write_bytes((tiny_model_dir / name).read_bytes())
    (plain / "model.json").write_text(json.dumps({**meta, "motion_encoder": {
        k: v for k, v in meta["motion_encoder"].items() if k != "int8_file"}}))
    assert MotionTextRuntime(plain, library=None).motion_encoder.precision == "fp32"
    with pytest.raises(UserError, match="no int8 motion encoder"):
        MotionTextRuntime(plain, library=None, precision="int8")
    with pytest.raises(UserError, match="precision must be one of"):
        MotionTextRuntime(plain, library=None, precision="fp64")
    (plain / "model.json").write_text(json.dumps(meta))  # names an int8 file that is not there
    with pytest.raises(UserError, match="missing motion_encoder.int8.onnx"):
        load_bundle(plain)


def test_runtime_runs_without_torch(tiny_model_dir, cmu_cache) -> None:
    """Recognition end to end with torch made unimportable (which modules load without it: test_layering)."""
    code = (
        "import sys; sys.modules['torch'] = None\n"
        + "from motion_text_node.runtime.engine import MotionTextRuntime\n"
        + "from motion_text_node.data.cache import DatasetCache\n"
        + f"rt = MotionTextRuntime({str(tiny_model_dir)!r})\n"
        + f"r = rt.recognize(DatasetCache({str(cmu_cache)!r}).clip('12_01').motion, 3)\n"
        + "assert len(r.top_labels) == 3\n"
        + "assert 'torch' not in [m.split('.')[0] for m in sys.modules if sys.modules[m] is not None]\n"
        + "print('ok')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-2000:]


def test_runtime_matches_the_torch_model(tiny_run, tiny_model_dir, cmu_cache) -> None:
    from motion_text_node.train.checkpoint import load_contrastive

    lm = load_contrastive(tiny_run)
    rt = MotionTextRuntime(tiny_model_dir, library=None, precision="fp32")
    clip = DatasetCache(cmu_cache).clip("14_04")
    ours, _, _ = rt.motion_encoder.encode_motion(clip.motion)
    np.testing.assert_allclose(ours, lm.clips([clip])[0], atol=1e-4)
    text = rt.text_encoder.encode(["climb a ladder", "walk"])
    ref = lm.texts(["climb a ladder", "walk"])
    assert (text * ref).sum(1).min() > 0.9999  # fp16-stored text weights


def test_bundle_refuses_what_it_does_not_understand(tiny_model_dir, tmp_path) -> None:
    bad = tmp_path / "m"
    bad.mkdir()
    with pytest.raises(UserError, match="no model.json"):
        load_bundle(bad)
    meta = json.loads((tiny_model_dir / "model.json").read_text())
    for name in ("motion_encoder.onnx", "motion_encoder.int8.onnx", "text_backbone.onnx", "text_projection.onnx",
                 "tokenizer.json"):
        (bad / name).write_bytes((tiny_model_dir / name).read_bytes())
    (bad / "model.json").write_text(json.dumps({**meta, "format_version": 99}))
    with pytest.raises(UserError, match="format_version 99 is not supported"):
        load_bundle(bad)
    (bad / "model.json").write_text(json.dumps({**meta, "normalization": {**meta["normalization"], "x": 1}}))
    with pytest.raises(UserError, match="unknown normalization keys"):
        load_bundle(bad)
    (bad / "model.json").write_text(json.dumps(meta))
    for name, precision in (("motion_encoder.onnx", "fp32"), ("motion_encoder.int8.onnx", "auto")):
        (bad / name).write_bytes(b"not onnx")
        with pytest.raises(UserError, match=f"{name}: cannot load the ONNX model"):
            MotionTextRuntime(bad, precision=precision, providers="cpu")
    (bad / "tokenizer.json").unlink()
    with pytest.raises(UserError, match="missing tokenizer.json"):
        load_bundle(bad)


def test_model_json_values_and_swapped_files_are_one_error(tiny_model_dir, tmp_path) -> None:
    """Hand-edited or mixed model folders fail at load with the wrong field named, not later with wrong scores."""
    bad = tmp_path / "m"
    shutil.copytree(tiny_model_dir, bad)
    meta = json.loads((bad / "model.json").read_text())
    norm = meta["normalization"]
    cases = [({"prompt_templates": "a person {}"}, "prompt_templates must be"),
             ({"prompt_templates": ["a person walks"]}, "prompt_templates must be"),
             ({"labels": "walk, run"}, "labels must be a list"),
             ({"normalization": {**norm, "fps": 0}}, "normalization.fps must be"),
             ({"normalization": {**norm, "window_frames": 0}}, "normalization.window_frames must be"),
             ({"normalization": {**norm, "velocities": not norm["velocities"]}}, "does not match the normalization"),
             ({"embed_dim": "384"}, "embed_dim must be a positive integer")]
    for change, message in cases:
        (bad / "model.json").write_text(json.dumps({**meta, **change}))
        with pytest.raises(UserError, match=message):
            MotionTextRuntime(bad, library=None, providers="cpu")
    # The motion and text files swapped: named, not a traceback from onnxruntime.
    (bad / "model.json").write_text(json.dumps({**meta, "text_encoder": {**meta["text_encoder"],
                                                                         "file": "motion_encoder.onnx"}}))
    with pytest.raises(UserError, match="inputs .* are not the expected"):
        MotionTextRuntime(bad, library=None, providers="cpu")
    (bad / "model.json").write_text(json.dumps(meta))
    assert MotionTextRuntime(bad, library=None, providers="cpu").labels.labels


def test_label_bank_is_open_vocabulary(tiny_model_dir, tmp_path) -> None:
    rt = MotionTextRuntime(tiny_model_dir, labels="walk, jump", library=None)
    assert rt.labels.labels == ["walk", "jump"] and rt.labels.embeddings.shape[0] == 2
    rt.labels.set_labels(["wave with the left hand", "sit down", "wave with the left hand"])
    assert rt.labels.labels == ["wave with the left hand", "sit down"]
    np.testing.assert_allclose(np.linalg.norm(rt.labels.embeddings, axis=1), 1.0, atol=1e-5)
    f = tmp_path / "labels.yaml"
    f.write_text("labels:\n  - run\n  - climb a ladder\n")
    assert parse_labels(str(f)) == ["run", "climb a ladder"]
    (tmp_path / "l.txt").write_text("kick\n\npunch\n")
    assert parse_labels(str(tmp_path / "l.txt")) == ["kick", "punch"]
    for bad in ("", " , ", str(tmp_path / "missing.yaml")):
        with pytest.raises(UserError):
            parse_labels(bad)
    with pytest.raises(UserError, match="empty text"):
        rt.text_encoder.encode(["  "])


def test_library_search_exact_and_ivf_agree(tmp_path) -> None:
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(3000, 32)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    ids = [f"c{i}" for i in range(3000)]
    exact = MotionLibrary(ids, ids, emb, np.full(3000, 30.0), ann="none")
    approx = MotionLibrary(ids, ids, emb, np.full(3000, 30.0), ann="faiss")
    assert approx.uses_ann and not exact.uses_ann
    queries = emb[:50] + 0.05 * rng.normal(size=(50, 32)).astype(np.float32)
    agree = [exact.search(q / np.linalg.norm(q), 1)[0].clip_id == approx.search(q / np.linalg.norm(q), 1)[0].clip_id
             for q in queries]
    assert np.mean(agree) >= 0.95
    hits = exact.search(emb[7], 3)
    assert hits[0].clip_id == "c7" and hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert [h.score for h in hits] == sorted([h.score for h in hits], reverse=True)
    path = exact.save(tmp_path / "lib.npz")
    again = MotionLibrary.load(path)
    assert again.ids == ids and again.motion(0) is None
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    with pytest.raises(UserError, match="not a readable motion library"):
        MotionLibrary.load(tmp_path / "bad.npz")


def test_library_motions_file_is_kept_across_rebuilds_and_checked(shipped_model, tmp_path, capsys) -> None:
    from motion_text_node.data.npz_io import write_npz
    from motion_text_node.runtime.library import motions_path

    shipped = MotionLibrary.load(shipped_model / "motion_library.npz")
    path = shipped.save(tmp_path / "lib.npz")
    motions = motions_path(path)
    assert motions.name == "lib.motions.npz" and motions.stat().st_size > 2 * path.stat().st_size
    before, stamp = motions.read_bytes(), motions.stat().st_mtime_ns
    # A rebuild for another model (other embeddings, same motions) rewrites only the library file.
    other = MotionLibrary(shipped.ids, shipped.descriptions, np.roll(shipped.embeddings, 1, axis=0), shipped.fps,
                          shipped.offsets, shipped.positions, "other-model", sources=shipped.sources,
                          licences=shipped.licences)
    main_before = path.read_bytes()
    other.save(path)
    assert motions.read_bytes() == before and motions.stat().st_mtime_ns == stamp
    assert path.read_bytes() != main_before
    again = MotionLibrary.load(path)
    assert again.model_version == "other-model" and np.array_equal(again.embeddings, other.embeddings)
    assert np.array_equal(again.motion(5), shipped.motion(5)) and again.sources == shipped.sources
    # A version-1 file (motions inside) still loads.
    np.savez(tmp_path / "v1.npz", **version1_library_arrays(path))
    assert np.array_equal(MotionLibrary.load(tmp_path / "v1.npz").motion(5), shipped.motion(5))
    # The motions file of another library, a changed one, or none at all: one clear error each.
    subset = MotionLibrary(shipped.ids[:10], shipped.descriptions[:10], shipped.embeddings[:10], shipped.fps[:10],
                           shipped.offsets[:11], shipped.positions[:shipped.offsets[10]])
    small = subset.save(tmp_path / "small" / "lib.npz")
    motions.write_bytes(motions_path(small).read_bytes())
    with pytest.raises(UserError, match="motions of another library"):
        MotionLibrary.load(path)
    write_npz(motions, {"ids": np.array(shipped.ids), "offsets": shipped.offsets,
                        "positions": shipped.positions + np.float16(0.01)})
    with pytest.raises(UserError, match="not the motions file lib.npz was written with"):
        MotionLibrary.load(path)
    motions.unlink()
    with pytest.raises(UserError, match="lib.motions.npz is missing"):
        MotionLibrary.load(path)
    capsys.readouterr()
    assert cli_main(["library", "info", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "is missing" in err and len(err.splitlines()) == 1


def test_library_build_recognize_retrieve_cli(tiny_model_dir, cmu_cache, cmu_bvh_dir, tmp_path, capsys) -> None:
    lib = tmp_path / "lib.npz"
    assert cli_main(["library", "build", "--data", str(cmu_cache), "--split", "test", "--model",
                     str(tiny_model_dir), "--out", str(lib)]) == 0
    loaded = MotionLibrary.load(lib)
    assert len(loaded) == 25 and loaded.motion(0).shape[1:] == (22, 3)
    assert set(loaded.sources) == {"cmu"} and set(loaded.licences) == {"CMU-mocap"}  # provenance per entry
    assert "cmu 25 (CMU-mocap)" in capsys.readouterr().out
    # At most 2 s of each clip's positions stored; the embeddings are the same whole-clip ones.
    short = tmp_path / "short.npz"
    assert cli_main(["library", "build", "--data", str(cmu_cache), "--split", "test", "--model",
                     str(tiny_model_dir), "--out", str(short), "--motion-seconds", "2"]) == 0
    cut = MotionLibrary.load(short)
    assert max(len(cut.motion(i)) for i in range(len(cut))) == int(2 * cut.fps[0])
    assert np.allclose(cut.embeddings, loaded.embeddings) and short.stat().st_size < lib.stat().st_size
    assert cli_main(["library", "build", "--data", str(cmu_cache), "--model", str(tiny_model_dir), "--out",
                     str(short), "--motion-seconds", "0"]) == 2
    capsys.readouterr()
    assert cli_main(["retrieve", "climb a ladder", "--model", str(tiny_model_dir), "--library", str(lib),
                     "--top-k", "3", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert len(hits) == 3 and {"id", "description", "score"} <= set(hits[0])
    assert (hits[0]["source"], hits[0]["licence"]) == ("cmu", "CMU-mocap")
    assert cli_main(["recognize", str(cmu_bvh_dir / "02_05.bvh"), "--model", str(tiny_model_dir), "--labels",
                     "punch, walk, climb a ladder", "--top-k", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["clip"]["top_labels"]) == 2 and set(out["clip"]["top_labels"]) <= {"punch", "walk",
                                                                                       "climb a ladder"}
    assert out["windows"] and out["windows"][0]["start_s"] == 0.0
    assert cli_main(["recognize", str(tmp_path / "missing.npz"), "--model", str(tiny_model_dir)]) == 2
    assert cli_main(["retrieve", "", "--model", str(tiny_model_dir), "--library", str(lib)]) == 2
    assert "empty text" in capsys.readouterr().err


def test_providers_fall_back_to_cpu_without_a_gpu() -> None:
    from motion_text_node.runtime.providers import cuda_usable

    if cuda_usable():
        pytest.skip("a CUDA device is present")
    assert choose_providers("auto") == ["CPUExecutionProvider"]
    with pytest.raises(UserError, match="no working CUDA"):
        choose_providers("cuda")


def test_set_default_library_rewrites_only_that_field(model_copy, tmp_path) -> None:
    from motion_text_node.runtime.bundle import load_bundle, set_default_library

    folder = model_copy
    before = load_bundle(folder).meta
    set_default_library(folder, tmp_path / "elsewhere" / "crowd_library.npz")
    after = json.loads((folder / "model.json").read_text())
    assert after["motion_library"] == "crowd_library.npz"
    assert {k: v for k, v in after.items() if k != "motion_library"} == \
        {k: v for k, v in before.items() if k != "motion_library"}
    assert not list(folder.glob(".*.tmp"))


def test_int8_export_keeps_the_input_projection_in_float(tiny_model_dir, tmp_path) -> None:
    """The motion encoder's first MatMul sees raw features of very different scales: it stays float32, every
    later MatMul becomes an integer one."""
    import onnx

    from motion_text_node.export.quantize import quantize

    src = tiny_model_dir / "motion_encoder.onnx"
    first = next(n.name for n in onnx.load(str(src)).graph.node if n.op_type in ("MatMul", "Gemm"))
    for keep in (True, False):
        quantize(src, tmp_path / "q.onnx", per_channel=True, float_input_layer=keep)
        nodes = onnx.load(str(tmp_path / "q.onnx")).graph.node
        float_matmuls = [n.name for n in nodes if n.op_type in ("MatMul", "Gemm")]
        assert (first in float_matmuls) == keep
        assert sum(n.op_type == "MatMulInteger" for n in nodes) >= 2
