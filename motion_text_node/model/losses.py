"""Symmetric InfoNCE with several positives per row (identical or near-identical texts in a batch)."""

from __future__ import annotations

import torch


def multi_positive_nce(logits: torch.Tensor, positives: torch.Tensor) -> torch.Tensor:
    """Mean over rows of -log(sum of exp over positives / sum of exp over all columns).

    Args:
        logits: (N, M) scaled similarities.
        positives: (N, M) bool, at least one True per row.
    """
    all_lse = torch.logsumexp(logits, dim=1)
    pos_lse = torch.logsumexp(logits.masked_fill(~positives, float("-inf")), dim=1)
    return (all_lse - pos_lse).mean()


def contrastive_loss(motion: torch.Tensor, text: torch.Tensor, logit_scale: torch.Tensor,
                     positives: torch.Tensor | None = None, extra_text: torch.Tensor | None = None,
                     hard_text: torch.Tensor | None = None, hard_valid: torch.Tensor | None = None) -> torch.Tensor:
    """Symmetric motion-text InfoNCE with a learnable temperature.

    Args:
        motion: (B, D) unit-norm motion embeddings.
        text: (B, D) unit-norm embeddings of the paired texts (row i describes motion i).
        logit_scale: log of the inverse temperature (clamped to at most ln 100).
        positives: (B, B) bool, True where text j also describes motion i (same or near-identical text);
            the diagonal is always positive. None: the diagonal only (plain CLIP loss).
        extra_text: optional (K, D) texts with no motion in the batch: extra negatives for motion->text.
        hard_text: optional (B, D) one hard negative text per motion (e.g. its text with left and right
            swapped), a negative for that motion only, where ``hard_valid`` (B,) is True.
    """
    b = motion.shape[0]
    eye = torch.eye(b, dtype=torch.bool, device=motion.device)
    pos = eye if positives is None else (positives.bool() | eye)
    scale = logit_scale.clamp(max=4.6052).exp()
    logits = scale * motion @ text.t()  # (B, B)
    m2t_logits, m2t_pos = logits, pos
    if extra_text is not None and len(extra_text):
        m2t_logits = torch.cat([logits, scale * motion @ extra_text.t()], dim=1)  # (B, B + K)
        m2t_pos = torch.cat([pos, torch.zeros(b, len(extra_text), dtype=torch.bool, device=pos.device)], dim=1)
    if hard_text is not None:
        hard = (scale * (motion * hard_text).sum(-1, keepdim=True)).masked_fill(~hard_valid.bool()[:, None],
                                                                                 float("-inf"))
        m2t_logits = torch.cat([m2t_logits, hard], dim=1)
        m2t_pos = torch.cat([m2t_pos, torch.zeros(b, 1, dtype=torch.bool, device=pos.device)], dim=1)
    return 0.5 * (multi_positive_nce(m2t_logits, m2t_pos) + multi_positive_nce(logits.t(), pos.t()))
