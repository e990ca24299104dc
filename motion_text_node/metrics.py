"""Evaluation metrics for the motion-text embedding space (pure numpy).

Retrieval follows the protocols of TMR (Petrovich et al., ICCV 2023, github.com/Mathux/TMR):

* ``t2m`` (text-to-motion): each text queries all motions; ``m2t`` (motion-to-text): each motion queries all texts.
  Row ``i`` of the motion embeddings matches row ``i`` of the text embeddings.
* R@k is the percentage of queries whose correct match is among the ``k`` most similar candidates; MedR is the
  median (1-based) rank of the correct match (lower is better).
* Near duplicates: many datasets describe different motions with the same (or almost the same) sentence, so the
  "all" protocol counts any such text/motion as correct, and the query's rank is the best rank among them.
  ``all_strict`` counts only the diagonal.  ``batch32`` is the protocol of Guo et al. (2022): random batches of 32
  pairs with a fixed seed, metrics averaged over batches.

Recognition follows BABEL (Punnakkal et al., CVPR 2021): top-1 / top-5 accuracy and top-1-norm, the mean of the
per-class accuracies (so frequent classes do not dominate an imbalanced test set).

Ties (equal similarities, e.g. two identical texts have identical embeddings) are resolved as their expectation
under a uniformly random tie-break: neither optimistic nor pessimistic, and independent of the data order.
Two similarities are tied when they differ by at most ``tie_tol``.
"""

from __future__ import annotations

import re
import string
from collections.abc import Hashable, Mapping, Sequence

import numpy as np

DEFAULT_KS: tuple[int, ...] = (1, 2, 3, 5, 10)
DEFAULT_TIE_TOL = 1e-6
_CHUNK = 1024  # queries scored at once (bounds memory to _CHUNK x N similarities)

__all__ = [
    "DEFAULT_KS",
    "aggregate_runs",
    "mean_and_spread",
    "near_duplicate_matrix",
    "normalize_text",
    "query_ranks",
    "recognition_metrics",
    "retrieval_metrics",
    "retrieval_protocols",
]


# ------------------------------------------------------------------------------------------------ validation


def _as_embeddings(x: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (N, D) array, got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} must be non-empty, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    return arr.astype(np.float64, copy=False)


def _check_ks(ks: Sequence[int]) -> tuple[int, ...]:
    out = tuple(int(k) for k in ks)
    if not out or any(k < 1 for k in out):
        raise ValueError(f"ks must be positive integers, got {tuple(ks)}")
    return out


def _check_positive(positive: np.ndarray | None, n: int) -> np.ndarray | None:
    if positive is None:
        return None
    pos = np.asarray(positive)
    if pos.shape != (n, n):
        raise ValueError(f"positive must be an ({n}, {n}) boolean matrix, got shape {pos.shape}")
    if pos.dtype != np.bool_:
        if not np.all((pos == 0) | (pos == 1)):
            raise ValueError("positive must be boolean (or 0/1)")
        pos = pos.astype(bool)
    return pos


def _codes(ids: Sequence[Hashable]) -> np.ndarray:
    """Small integers with equal ids <-> equal codes (works for any hashable ids, mixed types included)."""
    table: dict[Hashable, int] = {}
    return np.array([table.setdefault(i, len(table)) for i in ids], dtype=np.int64)


# ------------------------------------------------------------------------------------------------- ranking


def _first_hit_prob(slots: int, tied_neg: int, tied_pos: int) -> float:
    """P(a positive lands in the first ``slots`` places of a random order of tied negatives and positives)."""
    if slots <= 0:
        return 0.0
    if slots > tied_neg:
        return 1.0
    p_all_neg = 1.0
    for i in range(slots):
        p_all_neg *= (tied_neg - i) / (tied_neg + tied_pos - i)
    return 1.0 - p_all_neg


def _rank_stats(sims: np.ndarray, positive: np.ndarray | None, ks: tuple[int, ...],
                tie_tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Expected 1-based rank of the best positive, and P(hit within k), for every query row of ``sims``.

    Args:
        sims: (Q, M) similarities, query x candidate (higher = more similar), Q <= M.
        positive: (Q, M) boolean correct-candidate mask, or None for the diagonal only. The diagonal is always
            treated as positive.
        ks: cut-offs.
        tie_tol: similarities within this distance are tied.

    Returns:
        ranks (Q,) float (fractional when ties are averaged) and hits (len(ks), Q) float in [0, 1].
    """
    q = sims.shape[0]
    ranks = np.empty(q, dtype=np.float64)
    hits = np.zeros((len(ks), q), dtype=np.float64)
    for start in range(0, q, _CHUNK):
        stop = min(start + _CHUNK, q)
        s = np.asarray(sims[start:stop], dtype=np.float64)
        rows = np.arange(stop - start)
        if positive is None:  # the diagonal only: fast path
            pos = None
            best = s[rows, start + rows][:, None]
        else:
            pos = np.array(positive[start:stop], dtype=bool, copy=True)
            pos[rows, start + rows] = True
            best = np.where(pos, s, -np.inf).max(axis=1)[:, None]
        # no positive exceeds best, so everything above best + tol is a better negative
        greater = (s > best + tie_tol).sum(axis=1)
        near = s >= best - tie_tol
        near &= s <= best + tie_tol
        # tied positives, >= 1: the best positive itself
        tied_pos = np.ones(len(rows), dtype=np.int64) if pos is None else (pos & near).sum(axis=1)
        tied_neg = near.sum(axis=1) - tied_pos
        # Expected number of tied negatives placed before the first of the tied positives: t / (p + 1).
        ranks[start:stop] = 1.0 + greater + tied_neg / (tied_pos + 1.0)
        for j, k in enumerate(ks):
            slots = k - greater
            h = (slots > tied_neg).astype(np.float64)  # certain hit (also covers the no-tie case)
            for r in np.flatnonzero((slots > 0) & (slots <= tied_neg)):  # partial hits: only with ties
                h[r] = _first_hit_prob(int(slots[r]), int(tied_neg[r]), int(tied_pos[r]))
            hits[j, start:stop] = h
    return ranks, hits


def query_ranks(sims: np.ndarray, positive: np.ndarray | None = None,
                tie_tol: float = DEFAULT_TIE_TOL) -> np.ndarray:
    """1-based rank of the (best) correct candidate for each query row of a square similarity matrix.

    Args:
        sims: (N, N) similarities, row = query, column = candidate; the correct candidate of query ``i`` is ``i``.
        positive: optional (N, N) boolean mask of further correct candidates (the diagonal always is).
        tie_tol: similarities within this distance are tied; ties are averaged (expected rank under a random
            tie-break), so ranks may be fractional.

    Returns:
        (N,) float ranks, 1 = best.
    """
    s = np.asarray(sims, dtype=np.float64)
    if s.ndim != 2 or s.shape[0] != s.shape[1] or s.shape[0] == 0:
        raise ValueError(f"sims must be a non-empty square (N, N) matrix, got shape {s.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError("sims contains NaN or inf")
    pos = _check_positive(positive, s.shape[0])
    ranks, _ = _rank_stats(s, pos, (1,), tie_tol)
    return ranks


def _direction_metrics(sims: np.ndarray, positive: np.ndarray | None, ks: tuple[int, ...], tie_tol: float,
                       prefix: str) -> dict[str, float]:
    ranks, hits = _rank_stats(sims, positive, ks, tie_tol)
    out = {f"{prefix}_R@{k}": float(100.0 * hits[j].mean()) for j, k in enumerate(ks)}
    out[f"{prefix}_MedR"] = float(np.median(ranks))
    out[f"{prefix}_MeanR"] = float(ranks.mean())
    return out


# ------------------------------------------------------------------------------------------------ retrieval


def retrieval_metrics(motion_emb: np.ndarray, text_emb: np.ndarray, text_ids: Sequence[Hashable] | None = None,
                      positive: np.ndarray | None = None, ks: Sequence[int] = DEFAULT_KS,
                      tie_tol: float = DEFAULT_TIE_TOL) -> dict[str, float]:
    """Text-to-motion and motion-to-text retrieval metrics over a whole set of matching pairs.

    Similarity is the dot product (cosine for L2-normalized inputs).

    Args:
        motion_emb: (N, D) L2-normalized motion embeddings; row ``i`` matches row ``i`` of ``text_emb``.
        text_emb: (N, D) L2-normalized text embeddings.
        text_ids: optional N hashable ids (e.g. annotation ids or normalized sentences); pairs whose texts share
            an id are also counted as correct.
        positive: optional (N, N) boolean matrix; ``positive[i, j]`` = text ``i`` is a correct description of
            motion ``j`` (e.g. :func:`near_duplicate_matrix`). Combined (OR) with ``text_ids`` and the diagonal.
            A query's rank is the best rank among its positives.
        ks: the R@k cut-offs.
        tie_tol: similarities within this distance are tied (ties are averaged, see the module docstring).

    Returns:
        ``{"t2m_R@1": .., "t2m_R@2": .., ..., "t2m_MedR": .., "t2m_MeanR": .., "m2t_R@1": .., ...}``: R@k in
        percent (0-100), median and mean rank 1-based (ranks may be fractional when ties are averaged).
    """
    m = _as_embeddings(motion_emb, "motion_emb")
    t = _as_embeddings(text_emb, "text_emb")
    if m.shape != t.shape:
        raise ValueError(f"motion_emb {m.shape} and text_emb {t.shape} must have the same (N, D) shape")
    ks = _check_ks(ks)
    n = m.shape[0]
    pos = _check_positive(positive, n)
    if text_ids is not None:
        if len(text_ids) != n:
            raise ValueError(f"text_ids has {len(text_ids)} entries for {n} pairs")
        codes = _codes(text_ids)
        same = codes[:, None] == codes[None, :]
        pos = same if pos is None else (pos | same)
    sims = t @ m.T  # (text, motion)
    out = _direction_metrics(sims, pos, ks, tie_tol, "t2m")
    out.update(_direction_metrics(sims.T, None if pos is None else pos.T, ks, tie_tol, "m2t"))
    return out


_PUNCT_TABLE = str.maketrans({c: " " for c in string.punctuation})
_SPACES = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """Lower-case, punctuation replaced by spaces, runs of whitespace collapsed, stripped (``"A man, walks."`` ->
    ``"a man walks"``)."""
    return _SPACES.sub(" ", text.lower().translate(_PUNCT_TABLE)).strip()


def near_duplicate_matrix(texts: Sequence[str], text_emb: np.ndarray | None = None,
                          threshold: float = 0.95, sides: Sequence[Hashable] | None = None) -> np.ndarray:
    """Which texts are interchangeable descriptions, for the near-duplicate-aware retrieval protocol.

    Args:
        texts: N sentences.
        text_emb: optional (N, D) sentence embeddings (TMR uses an independent sentence encoder, not the model
            under test); they are re-normalized here, so any scale works.
        threshold: pairs with cosine similarity >= threshold are near duplicates.
        sides: optional N keys (e.g. the side words each text names, ``skeleton.mirror.side_words``): pairs with
            different keys are never near duplicates by cosine (sentence encoders put "wave the left hand" and
            "wave the right hand" at cosine 0.97).

    Returns:
        (N, N) symmetric boolean matrix, True on the diagonal, for identical normalized texts
        (:func:`normalize_text`) and, with ``text_emb``, for pairs at cosine >= ``threshold`` (with the same
        ``sides``).
    """
    if isinstance(texts, str):
        raise ValueError("texts must be a sequence of strings, not a single string")
    n = len(texts)
    if n == 0:
        raise ValueError("texts is empty")
    if not all(isinstance(x, str) for x in texts):
        raise ValueError("texts must all be strings")
    codes = _codes([normalize_text(x) for x in texts])
    dup = codes[:, None] == codes[None, :]
    if text_emb is not None:
        e = _as_embeddings(text_emb, "text_emb")
        if e.shape[0] != n:
            raise ValueError(f"text_emb has {e.shape[0]} rows for {n} texts")
        norms = np.linalg.norm(e, axis=1, keepdims=True)
        e = e / np.where(norms > 0, norms, 1.0)
        close = (e @ e.T) >= threshold
        if sides is not None:
            if len(sides) != n:
                raise ValueError(f"{len(sides)} sides for {n} texts")
            keys = _codes(list(sides))
            close &= keys[:, None] == keys[None, :]
        dup |= close
    np.fill_diagonal(dup, True)
    return dup


def retrieval_protocols(motion_emb: np.ndarray, text_emb: np.ndarray, texts: Sequence[str], batch_size: int = 32,
                        seed: int = 0, text_emb_for_dups: np.ndarray | None = None, threshold: float = 0.95,
                        ks: Sequence[int] = DEFAULT_KS,
                        sides: Sequence[Hashable] | None = None) -> dict[str, dict[str, float]]:
    """TMR's named evaluation protocols on one test set.

    Args:
        motion_emb: (N, D) L2-normalized motion embeddings; row ``i`` matches row ``i`` of ``text_emb``.
        text_emb: (N, D) L2-normalized text embeddings (from the model under test).
        texts: the N sentences (for near-duplicate detection).
        batch_size: size of the random batches of the batch protocol.
        seed: seed of the batch shuffle (fixed, so runs are comparable).
        text_emb_for_dups: optional (N, D') embeddings of an independent sentence encoder for near duplicates
            (cosine >= ``threshold``); without them only identical normalized texts are duplicates.
        threshold: near-duplicate cosine threshold.
        ks: the R@k cut-offs.
        sides: optional N keys; texts with different keys are never near duplicates (:func:`near_duplicate_matrix`).

    Returns:
        ``{"all": ..., "all_strict": ..., f"batch{batch_size}": ...}``, each a :func:`retrieval_metrics` dict:

        * ``all``: the whole set, near-duplicate texts/motions count as correct;
        * ``all_strict``: the whole set, only the paired item is correct;
        * ``batch32``: the set shuffled with ``seed`` and cut into batches of ``batch_size`` (the remainder is
          dropped; a set smaller than one batch is a single batch), strict metrics per batch averaged over the
          batches; this dict also has ``"num_batches"``.
    """
    m = _as_embeddings(motion_emb, "motion_emb")
    t = _as_embeddings(text_emb, "text_emb")
    if m.shape != t.shape:
        raise ValueError(f"motion_emb {m.shape} and text_emb {t.shape} must have the same (N, D) shape")
    n = m.shape[0]
    if isinstance(texts, str) or len(texts) != n:
        raise ValueError(f"texts must be a sequence of {n} strings")
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    batch_size = int(batch_size)
    ks = _check_ks(ks)

    dups = near_duplicate_matrix(texts, text_emb_for_dups, threshold, sides)
    out: dict[str, dict[str, float]] = {
        "all": retrieval_metrics(m, t, positive=dups, ks=ks),
        "all_strict": retrieval_metrics(m, t, ks=ks),
    }
    perm = np.random.default_rng(seed).permutation(n)
    num_batches = max(1, n // batch_size)
    batches = [perm] if n < batch_size else list(perm[: num_batches * batch_size].reshape(num_batches, batch_size))
    per_batch = [retrieval_metrics(m[b], t[b], ks=ks) for b in batches]
    batch_metrics = {key: float(np.mean([r[key] for r in per_batch])) for key in per_batch[0]}
    batch_metrics["num_batches"] = float(len(batches))
    out[f"batch{batch_size}"] = batch_metrics
    return out


# ---------------------------------------------------------------------------------------------- recognition


def _recognition_inputs(scores: np.ndarray, true_idx: np.ndarray | Sequence[int],
                        num_classes: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(N, C) finite float64 scores and (N,) int64 true classes in [0, C); ValueError naming what is wrong."""
    s = np.asarray(scores)
    if s.ndim != 2 or s.shape[0] == 0 or s.shape[1] == 0:
        raise ValueError(f"scores must be a non-empty (N, C) array, got shape {s.shape}")
    if not np.issubdtype(s.dtype, np.number) or not np.all(np.isfinite(s)):
        raise ValueError("scores must be finite numbers")
    s = s.astype(np.float64, copy=False)
    n, c = s.shape
    if num_classes is not None and int(num_classes) != c:
        raise ValueError(f"num_classes={num_classes} but scores has {c} columns")
    y = np.asarray(true_idx)
    if y.shape != (n,):
        raise ValueError(f"true_idx must have shape ({n},), got {y.shape}")
    if y.dtype.kind not in "iu":
        if y.dtype.kind == "f" and np.all(np.mod(y, 1) == 0):
            y = y.astype(np.int64)
        else:
            raise ValueError(f"true_idx must be integers, got dtype {y.dtype}")
    if np.any(y < 0) or np.any(y >= c):
        raise ValueError(f"true_idx values must be in [0, {c})")
    return s, y.astype(np.int64)


def recognition_metrics(scores: np.ndarray, true_idx: np.ndarray | Sequence[int], num_classes: int | None = None,
                        ks: Sequence[int] = (1, 5), tie_tol: float = DEFAULT_TIE_TOL) -> dict[str, object]:
    """Action-recognition metrics (BABEL): top-k accuracy, top-1-norm, per-class accuracy and confusion matrix.

    Args:
        scores: (N, C) class scores (similarities to class text embeddings, or logits); higher = more likely.
        true_idx: (N,) integer true class of each sample, in ``[0, C)``.
        num_classes: optional C, checked against ``scores.shape[1]``.
        ks: top-k cut-offs (top-1 is always computed).
        tie_tol: scores within this distance are tied; ties count as their expectation under a random tie-break.

    Returns:
        dict with

        * ``"top1"``, ``"top5"`` (one ``f"top{k}"`` per k): accuracy in percent;
        * ``"top1_norm"``: mean of the per-class top-1 accuracies over the classes present in ``true_idx``;
        * ``"per_class"``: ``{class index: top-1 accuracy in percent}`` for the classes present;
        * ``"confusion"``: (C, C) int64 counts, row = true class, column = argmax prediction (first on ties);
        * ``"num_samples"``: N.
    """
    s, y = _recognition_inputs(scores, true_idx, num_classes)
    n, c = s.shape
    ks = _check_ks(ks)
    all_ks = (1,) + tuple(k for k in ks if k != 1)

    true_score = s[np.arange(n), y][:, None]
    near = np.abs(s - true_score) <= tie_tol
    greater = (~near & (s > true_score)).sum(axis=1)
    tied = near.sum(axis=1) - 1  # other classes tied with the true one
    hit: dict[int, np.ndarray] = {}
    for k in all_ks:
        slots = k - greater
        # with one positive among t tied negatives: P(in first `slots` of t+1) = slots / (t + 1)
        hit[k] = np.clip(slots / (tied + 1.0), 0.0, 1.0)

    out: dict[str, object] = {f"top{k}": float(100.0 * hit[k].mean()) for k in all_ks}
    present = np.unique(y)
    per_class = {int(cl): float(100.0 * hit[1][y == cl].mean()) for cl in present}
    out["top1_norm"] = float(np.mean(list(per_class.values())))
    out["per_class"] = per_class
    conf = np.zeros((c, c), dtype=np.int64)
    np.add.at(conf, (y, s.argmax(axis=1)), 1)
    out["confusion"] = conf
    out["num_samples"] = n
    return out


# ------------------------------------------------------------------------------------------------ aggregation


def mean_and_spread(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1; 0.0 for a single value) of one metric over runs/seeds."""
    v = np.asarray(list(values), dtype=np.float64)
    if v.ndim != 1 or v.size == 0:
        raise ValueError("values must be a non-empty list of numbers")
    std = float(v.std(ddof=1)) if v.size > 1 else 0.0
    return float(v.mean()), std


def aggregate_runs(runs: Sequence[Mapping[str, object]]) -> dict[str, tuple[float, float]]:
    """``{key: (mean, std)}`` over several runs' metric dicts, for the numeric keys present in every run.

    Non-numeric entries (confusion matrices, per-class dicts, strings, booleans) are skipped.
    """
    if not runs:
        raise ValueError("runs is empty")
    common = [k for k in runs[0] if all(k in r for r in runs[1:])]
    out: dict[str, tuple[float, float]] = {}
    for key in common:
        vals = [r[key] for r in runs]
        if all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
               for v in vals):
            out[key] = mean_and_spread([float(v) for v in vals])  # type: ignore[arg-type]
    return out
