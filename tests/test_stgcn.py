"""ST-GCN encoder and GCN baseline: adjacency, feature regrouping, padding invariance, learning, ONNX parity.

Small channel widths keep the whole file fast; the synthetic data are stick figures raising one arm, run through
the real ``normalize_window``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from motion_text_node.export.onnx_graph import export_onnx
from motion_text_node.model.gcn_baseline import GCNClassifier, predict_scores
from motion_text_node.model.stgcn import (
    NUM_SUBSETS,
    STGCNEncoder,
    default_strides,
    frames_to_joint_channels,
    joint_channels,
    skeleton_adjacency,
    spatial_adjacency,
)
from motion_text_node.skeleton.canonical import CANONICAL_BONE_LENGTHS, CANONICAL_PARENTS, NUM_JOINTS
from motion_text_node.skeleton.canonical import JOINT_INDEX as J
from motion_text_node.skeleton.normalize import GIRDLE_OFFSETS, NormalizationConfig, normalize_window
from motion_text_node.skeleton.resample import pad_window

CONFIG = NormalizationConfig()
SMALL = (16, 16, 32, 32, 48)  # strides (1, 1, 2, 1, 2), like the default widths


def _encoder(seed: int = 0, dropout: float = 0.0, **kwargs) -> STGCNEncoder:
    torch.manual_seed(seed)
    return STGCNEncoder(CONFIG, channels=SMALL, embed_dim=32, dropout=dropout, **kwargs)


# --- synthetic stick figures -------------------------------------------------------------------------------------

_UP, _DOWN, _FORWARD = np.array([0.0, 0.0, 1.0]), np.array([0.0, 0.0, -1.0]), np.array([1.0, 0.0, 0.0])
_DIRECTIONS = {"spine1": _UP, "spine2": _UP, "spine3": _UP, "neck": _UP, "head": _UP, "left_knee": _DOWN,
               "right_knee": _DOWN, "left_ankle": _DOWN, "right_ankle": _DOWN, "left_foot": _FORWARD,
               "right_foot": _FORWARD}


def _pose(left_arm: float, right_arm: float) -> np.ndarray:
    """(22, 3) standing figure facing +x; arm angles in radians from hanging down (0) to straight up (pi)."""
    pos = np.zeros((NUM_JOINTS, 3), dtype=np.float64)
    pos[J["pelvis"]] = (0.0, 0.0, 0.95)
    arm = {"left": np.array([0.0, np.sin(left_arm), -np.cos(left_arm)]),
           "right": np.array([0.0, -np.sin(right_arm), -np.cos(right_arm)])}
    names = {v: k for k, v in J.items()}
    for j, parent in enumerate(CANONICAL_PARENTS):  # parents come before children in SMPL order
        if parent < 0:
            continue
        name = names[j]
        if name in GIRDLE_OFFSETS:
            pos[j] = pos[J[GIRDLE_OFFSETS[name][0]]] + np.asarray(GIRDLE_OFFSETS[name][1])
        else:
            direction = _DIRECTIONS.get(name, arm[name.split("_")[0]] if "_" in name else _UP)
            pos[j] = pos[parent] + direction * CANONICAL_BONE_LENGTHS[j]
    return pos


def _raise_arm(side: str, frames: int, rng: np.random.Generator) -> np.ndarray:
    """(frames, 22, 3) one arm rising from the side to overhead, randomly placed, turned and jittered."""
    angles = np.linspace(0.0, rng.uniform(2.0, 3.0), frames)
    rest = rng.uniform(0.0, 0.2)
    poses = np.stack([_pose(a, rest) if side == "left" else _pose(rest, a) for a in angles])
    yaw = rng.uniform(-np.pi, np.pi)
    rot = np.array([[np.cos(yaw), -np.sin(yaw), 0.0], [np.sin(yaw), np.cos(yaw), 0.0], [0.0, 0.0, 1.0]])
    poses = poses @ rot.T + np.array([*rng.uniform(-2.0, 2.0, 2), 0.0])
    return (poses + rng.normal(0.0, 0.01, poses.shape)).astype(np.float32)


def _arm_dataset(n_per_class: int, window: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Features (N, window, F), frame masks (N, window) and labels (N,): 0 = left arm raised, 1 = right arm."""
    rng = np.random.default_rng(seed)
    xs, masks, labels = [], [], []
    for label, side in enumerate(("left", "right")):
        for _ in range(n_per_class):
            feats = normalize_window(_raise_arm(side, int(rng.integers(window // 2, window + 1)), rng), None, CONFIG)
            padded, mask = pad_window(feats, window)
            xs.append(padded)
            masks.append(mask)
            labels.append(label)
    return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(masks)), torch.tensor(labels)


# --- adjacency ---------------------------------------------------------------------------------------------------

def test_spatial_adjacency_partitions_the_one_hop_neighbourhood() -> None:
    a = spatial_adjacency()
    assert a.shape == (NUM_SUBSETS, NUM_JOINTS, NUM_JOINTS) == (3, 22, 22)
    assert a.dtype == np.float32 and (a >= 0).all()
    support = a > 0  # (3, V, V)
    # subsets are disjoint and together cover every joint's bones plus itself, symmetrically
    assert (support.sum(0) <= 1).all()
    union = support.any(0)
    np.testing.assert_array_equal(union, skeleton_adjacency().astype(bool) | np.eye(NUM_JOINTS, dtype=bool))
    np.testing.assert_array_equal(union, union.T)
    # centripetal and centrifugal are each other's transpose; root is each joint itself (a tree from the pelvis)
    np.testing.assert_array_equal(support[1], support[2].T)
    np.testing.assert_array_equal(support[0], np.eye(NUM_JOINTS, dtype=bool))
    # every subset is column-normalized: a joint's column sums to 1 where it has neighbours in the subset, else 0
    col = a.sum(axis=1)  # (3, V)
    np.testing.assert_allclose(col, support.any(axis=1).astype(np.float32), atol=1e-6)
    # centripetal: the parent (the pelvis has none); centrifugal: the mean over the children
    assert col[1, J["pelvis"]] == 0 and a[1, J["left_hip"], J["left_knee"]] == 1
    np.testing.assert_allclose(a[2, [J["neck"], J["left_collar"], J["right_collar"]], J["spine3"]], 1 / 3)
    assert col[2, J["left_wrist"]] == 0


def test_adjacency_is_a_buffer_and_edge_importance_is_learnable() -> None:
    enc = _encoder()
    buffers = dict(enc.named_buffers())
    np.testing.assert_array_equal(buffers["backbone.adjacency"].numpy(), spatial_adjacency())
    assert "backbone.adjacency" in enc.state_dict()
    importance = [n for n, p in enc.named_parameters() if n.endswith("edge_importance")]
    assert len(importance) == len(SMALL)
    assert all(p.shape == (3, 22, 22) for n, p in enc.named_parameters() if n.endswith("edge_importance"))
    assert default_strides(SMALL) == (1, 1, 2, 1, 2) and enc.backbone.strides == (1, 1, 2, 1, 2)


# --- features ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("velocities,mask", [(True, True), (False, False), (True, False), (False, True)])
def test_frames_to_joint_channels_layout(velocities: bool, mask: bool) -> None:
    config = NormalizationConfig(velocities=velocities, mask=mask)
    rng = np.random.default_rng(1)
    valid = rng.random((12, NUM_JOINTS)) > 0.2
    feats = normalize_window(_raise_arm("left", 12, rng), valid, config)  # (T, F)
    ch = frames_to_joint_channels(torch.from_numpy(feats)[None], config)[0].numpy()  # (C, T, V)
    assert ch.shape == (joint_channels(config), 12, NUM_JOINTS)
    np.testing.assert_array_equal(ch[0:3].transpose(1, 2, 0), feats[:, :66].reshape(12, 22, 3))
    k = 3
    if velocities:
        np.testing.assert_array_equal(ch[k : k + 3].transpose(1, 2, 0), feats[:, 68:134].reshape(12, 22, 3))
        k += 3
    if mask:
        np.testing.assert_array_equal(ch[k], valid.astype(np.float32))
        k += 1
    np.testing.assert_array_equal(ch[k : k + 2], np.broadcast_to(feats[:, 66:68].T[:, :, None], (2, 12, 22)))
    with pytest.raises(ValueError, match="features per frame"):
        frames_to_joint_channels(torch.zeros(1, 4, config.feature_dim + 1), config)


# --- encoder -----------------------------------------------------------------------------------------------------

def test_output_shape_and_unit_norm() -> None:
    enc = _encoder().eval()
    for t in (1, 2, 17, 90):
        out = enc(torch.randn(3, t, CONFIG.feature_dim), torch.ones(3, t, dtype=torch.bool))
        assert out.shape == (3, 32)
        torch.testing.assert_close(out.norm(dim=-1), torch.ones(3))
    default = STGCNEncoder(CONFIG).eval()
    assert default(torch.randn(2, 30, CONFIG.feature_dim), torch.ones(2, 30, dtype=torch.bool)).shape == (2, 256)


@pytest.mark.parametrize("length", [1, 5, 37, 64])
def test_trailing_padding_with_garbage_changes_nothing(length: int) -> None:
    enc = _encoder(seed=3).eval()
    x, mask, _ = _arm_dataset(1, 64, seed=length)
    real = x[:1, :length]
    alone = enc(real, torch.ones(1, length, dtype=torch.bool))
    window = 80
    padded = torch.full((2, window, CONFIG.feature_dim), 1e6)
    padded[1, ::3] = float("nan")
    padded[:, :length] = real
    pad_mask = torch.zeros(2, window, dtype=torch.bool)
    pad_mask[:, :length] = True
    out = enc(padded, pad_mask)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, alone.expand(2, -1), rtol=0, atol=1e-5)


def test_masked_frame_contents_never_reach_the_output() -> None:
    enc = _encoder(seed=4).eval()
    x = torch.randn(2, 40, CONFIG.feature_dim)
    mask = torch.rand(2, 40) > 0.4  # holes anywhere, not just trailing padding
    out = enc(x, mask)
    noisy = torch.where(mask[..., None], x, torch.randn_like(x) * 1e3)
    torch.testing.assert_close(enc(noisy, mask), out, rtol=0, atol=1e-6)


def test_padding_does_not_shift_training_batch_norm() -> None:
    """Batch statistics come from real frames only: padded and unpadded batches train alike."""
    x, _, _ = _arm_dataset(2, 30, seed=5)
    x = x[:, :21]
    a, b = _encoder(seed=5), _encoder(seed=5)
    out_a = a(x, torch.ones(4, 21, dtype=torch.bool))
    padded = torch.cat([x, torch.randn(4, 30, CONFIG.feature_dim) * 50], dim=1)
    pad_mask = torch.arange(51)[None].expand(4, -1) < 21
    out_b = b(padded, pad_mask)
    torch.testing.assert_close(out_b, out_a, rtol=0, atol=1e-5)
    for (name, buf_a), buf_b in zip(a.named_buffers(), b.buffers(), strict=True):
        torch.testing.assert_close(buf_b, buf_a, rtol=1e-4, atol=1e-5, msg=name)


def test_gradients_reach_every_parameter_and_stay_finite_with_nan_padding() -> None:
    enc = _encoder(seed=6, dropout=0.1).train()
    x = torch.randn(3, 24, CONFIG.feature_dim)
    x[:, 18:] = float("nan")
    mask = torch.ones(3, 24, dtype=torch.bool)
    mask[:, 18:] = False
    out = enc(x, mask)
    (out @ torch.randn(32)).pow(2).sum().backward()
    for name, p in enc.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_feature_stats_standardize_inputs() -> None:
    enc = _encoder(seed=7).eval()
    x = torch.randn(2, 10, CONFIG.feature_dim)
    mask = torch.ones(2, 10, dtype=torch.bool)
    mean, std = torch.randn(CONFIG.feature_dim), torch.rand(CONFIG.feature_dim) + 0.5
    before = enc(x, mask)
    enc.set_feature_stats(mean, std)
    torch.testing.assert_close(enc(x * std + mean, mask), before, rtol=0, atol=1e-5)


# --- classifier --------------------------------------------------------------------------------------------------

def test_classifier_learns_left_versus_right_arm() -> None:
    x, mask, labels = _arm_dataset(6, 16, seed=8)  # variable lengths, padded: masks in training too
    torch.manual_seed(8)
    model = GCNClassifier(CONFIG, num_classes=2, channels=(16, 16), dropout=0.0)
    real = x[mask]  # (frames, F)
    model.set_feature_stats(real.mean(0), real.std(0))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    model.train()
    for _ in range(20):
        opt.zero_grad()
        loss = model.loss(x, mask, labels)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    scores = predict_scores(model, x.numpy(), mask.numpy(), batch_size=5)
    assert model.training  # restored
    assert scores.shape == (12, 2) and scores.dtype == np.float32
    np.testing.assert_allclose(scores.sum(1), 1.0, atol=1e-5)
    assert (scores.argmax(1) == labels.numpy()).all()


def test_classifier_shapes_and_shared_backbone() -> None:
    torch.manual_seed(9)
    model = GCNClassifier(CONFIG, num_classes=5, channels=SMALL).eval()
    logits = model(torch.randn(3, 20, CONFIG.feature_dim), torch.ones(3, 20, dtype=torch.bool))
    assert logits.shape == (3, 5)
    enc = _encoder()
    enc.backbone.load_state_dict(model.backbone.state_dict())  # the same backbone, weights move between them
    assert predict_scores(model, np.zeros((0, 20, CONFIG.feature_dim)), np.zeros((0, 20), bool)).shape == (0, 5)
    with pytest.raises(ValueError):
        GCNClassifier(CONFIG, num_classes=1)


# --- ONNX --------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def onnx_encoder(tmp_path_factory):
    ort = pytest.importorskip("onnxruntime")
    enc = _encoder(seed=10)
    # non-trivial batch-norm statistics and edge importances, so the export is checked on a "trained" model
    enc.train()
    with torch.no_grad():
        for _ in range(3):
            enc(torch.randn(4, 30, CONFIG.feature_dim) * 2 + 1, torch.ones(4, 30, dtype=torch.bool))
        for name, p in enc.named_parameters():
            if name.endswith("edge_importance"):
                p.mul_(1 + 0.3 * torch.rand_like(p))
    path = export_onnx(enc, tmp_path_factory.mktemp("onnx") / "stgcn.onnx", CONFIG)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return enc, session


@pytest.mark.slow
@pytest.mark.parametrize("frames", [1, 2, 30, 60, 150])
def test_onnx_matches_torch(onnx_encoder, frames: int) -> None:
    enc, session = onnx_encoder
    assert [i.name for i in session.get_inputs()] == ["x", "mask"]
    assert [o.name for o in session.get_outputs()] == ["motion_embedding"]
    for batch in (1, 3):
        x = torch.randn(batch, frames, CONFIG.feature_dim)
        mask = torch.ones(batch, frames, dtype=torch.bool)
        if batch > 1:
            mask[1, max(1, frames // 3) :] = False  # trailing padding in one row
        with torch.no_grad():
            expected = enc(x, mask).numpy()
        (got,) = session.run(None, {"x": x.numpy(), "mask": mask.numpy()})
        assert got.shape == (batch, 32)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)
