"""ST-GCN motion encoder (Yan et al. 2018): per-frame features -> one unit-norm embedding.

The flat per-frame features of ``NormalizationConfig`` are regrouped into per-joint channels on the 22-joint
canonical skeleton (``frames_to_joint_channels``) and encoded by blocks of spatial graph convolution (spatial
partitioning: root / centripetal / centrifugal subsets, learnable edge importance) and temporal convolution.

Padding: masked frames are zeroed at the input and again before every temporal convolution, so to a temporal
convolution they look exactly like its own zero padding; the frame mask is downsampled with every temporal stride
and pooling is a masked mean over the real frames. Hence a window padded at the end (``resample.pad_window``)
gives the same embedding as the unpadded window, and the contents of masked frames never reach the output.
Batch norms take their training statistics from real frames only (``MaskedBatchNorm2d``), so padding does not
shift them either.

ONNX: ``export.onnx_graph.export_onnx`` exports it with the dynamo exporter, batch and time dynamic; any T >= 1 runs
in ONNX Runtime (the exporter needs an example with T >= 2, but the graph holds no length guard).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from motion_text_node.model.standardize import StandardizedInput
from motion_text_node.skeleton.canonical import CANONICAL_BONES, CANONICAL_PARENTS, JOINT_INDEX, NUM_JOINTS
from motion_text_node.skeleton.normalize import NormalizationConfig

#: Number of partition subsets of the spatial strategy: root (same distance to the centre), centripetal
#: (closer to the centre), centrifugal (farther from it).
NUM_SUBSETS = 3


def joint_channels(config: NormalizationConfig) -> int:
    """Channels per joint produced by ``frames_to_joint_channels``: xyz (+ velocity xyz) (+ mask) + root xy."""
    return 3 + (3 if config.velocities else 0) + (1 if config.mask else 0) + 2


def frames_to_joint_channels(x: torch.Tensor, config: NormalizationConfig) -> torch.Tensor:
    """Regroup flat features (B, T, config.feature_dim) into per-joint channels (B, C, T, 22).

    Channels, in order: local xyz (3), velocity xyz (3, if ``config.velocities``), validity mask (1, if
    ``config.mask``), root trajectory xy (2, the same for every joint). ``C == joint_channels(config)``.
    """
    if x.shape[-1] != config.feature_dim:
        raise ValueError(f"expected {config.feature_dim} features per frame, got {x.shape[-1]}")
    v = NUM_JOINTS
    local = x[..., : v * 3].unflatten(-1, (v, 3))  # (B, T, V, 3)
    root = x[..., v * 3 : v * 3 + 2]  # (B, T, 2)
    parts = [local]
    offset = v * 3 + 2
    if config.velocities:
        parts.append(x[..., offset : offset + v * 3].unflatten(-1, (v, 3)))  # (B, T, V, 3)
        offset += v * 3
    if config.mask:
        parts.append(x[..., offset : offset + v].unsqueeze(-1))  # (B, T, V, 1)
    parts.append(root.unsqueeze(2).expand(-1, -1, v, -1))  # (B, T, V, 2)
    return torch.cat(parts, dim=-1).permute(0, 3, 1, 2)  # (B, C, T, V)


def hop_distances(parents: Sequence[int]) -> np.ndarray:
    """(V, V) number of bones between every pair of joints of the tree given by ``parents`` (-1 = root)."""
    v = len(parents)
    neighbours: list[list[int]] = [[] for _ in range(v)]
    for child, parent in enumerate(parents):
        if parent >= 0:
            neighbours[child].append(parent)
            neighbours[parent].append(child)
    dist = np.full((v, v), np.iinfo(np.int64).max, dtype=np.int64)
    for start in range(v):
        dist[start, start] = 0
        queue = deque([start])
        while queue:
            i = queue.popleft()
            for j in neighbours[i]:
                if dist[start, j] > dist[start, i] + 1:
                    dist[start, j] = dist[start, i] + 1
                    queue.append(j)
    return dist


def spatial_adjacency(parents: Sequence[int] = CANONICAL_PARENTS, center: int = JOINT_INDEX["pelvis"],
                      max_hop: int = 1) -> np.ndarray:
    """(3, V, V) float32 normalized adjacency of the ST-GCN spatial partitioning strategy.

    ``A[k, i, j]`` weighs input joint ``i`` for output joint ``j`` in subset ``k``. The neighbourhood of ``j`` is
    every joint within ``max_hop`` bones (itself included); a neighbour ``i`` falls in subset 0 (root) when it is
    as far from ``center`` (the body's centre of gravity; the pelvis) as ``j``, 1 (centripetal) when closer,
    2 (centrifugal) when farther. Each subset is normalized by column (``A_k D_k^-1``, D_k its in-degree), so a
    joint takes the mean of its neighbours within each subset; a column with no neighbours in a subset stays zero.
    """
    hops = hop_distances(parents)
    v = len(parents)
    to_center = hops[:, center]  # (V,)
    a = np.zeros((NUM_SUBSETS, v, v), dtype=np.float32)
    for j in range(v):
        for i in range(v):
            if hops[i, j] > max_hop:
                continue
            if to_center[i] == to_center[j]:
                a[0, i, j] = 1.0
            elif to_center[i] < to_center[j]:
                a[1, i, j] = 1.0
            else:
                a[2, i, j] = 1.0
    degree = a.sum(axis=1, keepdims=True)  # (3, 1, V)
    return np.divide(a, degree, out=np.zeros_like(a), where=degree > 0)


def skeleton_adjacency() -> np.ndarray:
    """(V, V) symmetric 0/1 bone adjacency of the canonical skeleton (no self loops)."""
    a = np.zeros((NUM_JOINTS, NUM_JOINTS), dtype=np.float32)
    for p, c in CANONICAL_BONES:
        a[p, c] = a[c, p] = 1.0
    return a


class MaskedBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm over (B, C, T, V) whose training statistics come from real frames only.

    In training, mean and variance are taken over the (b, t, v) positions with ``mask[b, t]`` True and the
    running statistics are updated from them; in evaluation it is the plain ``nn.BatchNorm2d`` (running
    statistics, so padding cannot matter and the export is an ordinary BatchNormalization).
    """

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:  # type: ignore[override]
        if not self.training or mask is None:
            return super().forward(x)
        keep = mask[:, None, :, None]  # (B, 1, T, 1)
        count = keep.sum() * x.shape[-1]
        if int(count) < 2:  # nothing to estimate from: normalize with the running statistics
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)
        xm = torch.where(keep, x, 0.0)  # (B, C, T, V)
        mean = xm.sum(dim=(0, 2, 3)) / count  # (C,)
        centred = torch.where(keep, x - mean[None, :, None, None], 0.0)  # (B, C, T, V)
        var = centred.pow(2).sum(dim=(0, 2, 3)) / count  # (C,) biased, used to normalize
        if self.track_running_stats and self.running_mean is not None and self.running_var is not None:
            with torch.no_grad():
                self.num_batches_tracked += 1
                momentum = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
                self.running_mean.lerp_(mean.detach().to(self.running_mean.dtype), momentum)
                self.running_var.lerp_((var.detach() * count / (count - 1)).to(self.running_var.dtype), momentum)
        y = centred * torch.rsqrt(var + self.eps)[None, :, None, None]  # (B, C, T, V)
        if self.affine:
            y = y * self.weight[None, :, None, None] + self.bias[None, :, None, None]
        return y


class SpatialGraphConv(nn.Module):
    """Spatial graph convolution: a 1x1 convolution per subset, then aggregation over the normalized adjacency
    scaled by a learnable edge importance (``A * M``, initialized to ones)."""

    def __init__(self, in_channels: int, out_channels: int, adjacency: torch.Tensor) -> None:
        super().__init__()
        self.subsets = adjacency.shape[0]
        self.out_channels = out_channels
        self.conv = nn.Conv2d(in_channels, out_channels * self.subsets, kernel_size=1)
        self.edge_importance = nn.Parameter(torch.ones_like(adjacency))  # (K, V, V)

    def forward(self, x: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)  # (B, K*C, T, V)
        y = y.unflatten(1, (self.subsets, self.out_channels))  # (B, K, C, T, V)
        return torch.einsum("bkctv,kvw->bctw", y, adjacency * self.edge_importance)  # (B, C, T, V)


class STGCNBlock(nn.Module):
    """Graph conv -> BN -> ReLU -> temporal conv (stride) -> BN -> dropout, + residual, ReLU; padding-safe."""

    def __init__(self, in_channels: int, out_channels: int, adjacency: torch.Tensor, stride: int = 1,
                 temporal_kernel: int = 9, dropout: float = 0.0, residual: bool = True) -> None:
        super().__init__()
        if temporal_kernel % 2 != 1:
            raise ValueError(f"temporal_kernel must be odd, got {temporal_kernel}")
        self.stride = stride
        self.gcn = SpatialGraphConv(in_channels, out_channels, adjacency)
        self.bn1 = MaskedBatchNorm2d(out_channels)
        self.tcn = nn.Conv2d(out_channels, out_channels, kernel_size=(temporal_kernel, 1), stride=(stride, 1),
                             padding=(temporal_kernel // 2, 0))
        self.bn2 = MaskedBatchNorm2d(out_channels)
        self.drop = nn.Dropout(dropout)
        self.residual_mode = "none" if not residual else (
            "identity" if in_channels == out_channels and stride == 1 else "conv")
        if self.residual_mode == "conv":
            self.res_conv = nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=(stride, 1))
            self.res_bn = MaskedBatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, adjacency: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, C_in, T, V), mask (B, T) bool -> (B, C_out, T', V), mask (B, T') with T' = ceil(T / stride)."""
        out_mask = mask[:, :: self.stride]  # (B, T'): the frames the strided convolution is centred on
        keep = mask[:, None, :, None]  # (B, 1, T, 1)
        keep_out = out_mask[:, None, :, None]  # (B, 1, T', 1)
        y = self.gcn(x, adjacency)  # (B, C, T, V)
        y = F.relu(self.bn1(y, mask))
        y = torch.where(keep, y, 0.0)  # masked frames look like the convolution's zero padding
        y = self.drop(self.bn2(self.tcn(y), out_mask))  # (B, C, T', V)
        if self.residual_mode == "identity":
            y = y + x
        elif self.residual_mode == "conv":
            y = y + self.res_bn(self.res_conv(x), out_mask)  # (B, C, T', V)
        return torch.where(keep_out, F.relu(y), 0.0), out_mask


def default_strides(channels: Sequence[int]) -> tuple[int, ...]:
    """Temporal stride 2 in every block that widens the channels (but the first), 1 elsewhere, as in ST-GCN."""
    return tuple(1 if i == 0 or c <= channels[i - 1] else 2 for i, c in enumerate(channels))


class STGCNBackbone(StandardizedInput):
    """(B, T, F) features + (B, T) frame mask -> (B, channels[-1]) pooled features (masked mean over time, mean
    over joints). Shared by ``STGCNEncoder`` and ``gcn_baseline.GCNClassifier``.

    Features are first standardized with stored statistics (buffers, ``set_feature_stats``, identity by default;
    the same interface as ``MotionTransformer``) and then by a data batch norm per joint channel, as in ST-GCN.
    """

    def __init__(self, config: NormalizationConfig, channels: Sequence[int] = (64, 64, 128, 128, 256),
                 dropout: float = 0.1, temporal_kernel: int = 9, strides: Sequence[int] | None = None,
                 center: int = JOINT_INDEX["pelvis"]) -> None:
        super().__init__()
        if not channels:
            raise ValueError("channels must name at least one block")
        strides = default_strides(channels) if strides is None else tuple(strides)
        if len(strides) != len(channels):
            raise ValueError(f"{len(strides)} strides for {len(channels)} blocks")
        self.config = config
        self.channels = tuple(channels)
        self.strides = strides
        self.in_channels = joint_channels(config)
        self.init_feature_stats(config.feature_dim)
        self.register_buffer("adjacency", torch.from_numpy(spatial_adjacency(center=center)))  # (K, V, V)
        self.data_bn = MaskedBatchNorm2d(self.in_channels * NUM_JOINTS)
        blocks = []
        c_in = self.in_channels
        for i, (c_out, s) in enumerate(zip(channels, strides, strict=True)):
            blocks.append(STGCNBlock(c_in, c_out, self.adjacency, stride=s, temporal_kernel=temporal_kernel,
                                     dropout=0.0 if i == 0 else dropout, residual=i > 0))
            c_in = c_out
        self.blocks = nn.ModuleList(blocks)
        self.out_dim = c_in

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        keep = mask.bool()  # (B, T)
        x = self.standardize(x)  # (B, T, F)
        x = torch.where(keep.unsqueeze(-1), x, 0.0)  # garbage (even NaN) in padded frames never gets further
        h = frames_to_joint_channels(x, self.config)  # (B, C, T, V)
        c, v = h.shape[1], h.shape[3]
        h = h.permute(0, 1, 3, 2).flatten(1, 2).unsqueeze(-1)  # (B, C*V, T, 1)
        h = self.data_bn(h, keep)
        h = h.squeeze(-1).unflatten(1, (c, v)).permute(0, 1, 3, 2)  # (B, C, T, V)
        for block in self.blocks:
            h, keep = block(h, keep, self.adjacency)  # (B, C', T', V), (B, T')
        w = keep[:, None, :].to(h.dtype)  # (B, 1, T')
        h = h.mean(dim=3)  # (B, C, T')
        return (h * w).sum(dim=2) / w.sum(dim=2).clamp(min=1.0)  # (B, C)


class STGCNEncoder(nn.Module):
    """(B, T, F) features + (B, T) frame mask (True = real frame) -> (B, embed_dim) unit-norm motion embedding.

    ``STGCNBackbone`` (blocks of spatial graph conv + temporal conv, kernel 9, stride 2 where the channels widen)
    followed by a linear projection and L2 normalization. A row with no real frame gives a zero vector.
    """

    def __init__(self, config: NormalizationConfig, channels: Sequence[int] = (64, 64, 128, 128, 256),
                 embed_dim: int = 256, dropout: float = 0.1, temporal_kernel: int = 9,
                 strides: Sequence[int] | None = None) -> None:
        super().__init__()
        self.config = config
        self.embed_dim = embed_dim
        self.backbone = STGCNBackbone(config, channels, dropout, temporal_kernel, strides)
        self.proj = nn.Linear(self.backbone.out_dim, embed_dim)

    def set_feature_stats(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Standardization statistics (feature_dim,) of the training features."""
        self.backbone.set_feature_stats(mean, std)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        pooled = self.backbone(x, mask)  # (B, C)
        return F.normalize(self.proj(pooled), dim=-1)  # (B, D)
