"""Result plots: training curves, confusion matrices, 2-D embedding maps and label timelines (PNG files).

matplotlib is imported lazily, only by the functions that draw, and only through the object-oriented API
(``Figure`` + the Agg canvas), so no display is needed and an application's pyplot backend is never touched.
Every function creates the output folder if needed and returns the :class:`~pathlib.Path` of the written PNG.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

UNKNOWN_COLOUR = "#bdbdbd"
MISMATCH_COLOUR = "#000000"
MATCH_COLOUR = "#d9d9d9"
DPI = 120

_X_COLUMNS = ("epoch", "step")
_PANELS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("loss", re.compile(r"loss", re.I)),
    ("retrieval / accuracy (%)", re.compile(r"R@\d+|top\d|acc", re.I)),
    ("rank (lower is better)", re.compile(r"MedR|MeanR|rank", re.I)),
    ("learning rate", re.compile(r"(^|_)lr($|_)|learning_rate", re.I)),
)


def _figure(width: float, height: float) -> Any:
    """A pyplot-free Figure with an Agg canvas attached."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Any, out_png: str | Path) -> Path:
    """Write ``fig`` to ``out_png`` (white background, folders created) and return its path."""
    out = Path(out_png)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=DPI, facecolor="white")
    return out


def _colours(n: int) -> list[Any]:
    """n distinguishable colours: tab10 / tab20 for few, evenly spaced hues beyond."""
    from matplotlib import colormaps

    if n <= 10:
        cmap = colormaps["tab10"]
        return [cmap(i) for i in range(n)]
    if n <= 20:
        cmap = colormaps["tab20"]
        return [cmap(i) for i in range(n)]
    cmap = colormaps["hsv"]
    # step round the hue circle by ~the golden fraction so that consecutive labels get distant hues;
    # every third colour is darkened to separate neighbouring hues further
    step = max(1, round(0.382 * n))
    while math.gcd(step, n) != 1:
        step += 1
    out = []
    for i in range(n):
        r, g, b, a = cmap(((i * step) % n) / n)
        f = 0.62 if i % 3 == 2 else 1.0
        out.append((r * f, g * f, b * f, a))
    return out


def _short(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, with an ellipsis when cut."""
    text = str(text)
    return text if len(text) <= width else text[: width - 1] + "\u2026"


# ------------------------------------------------------------------------------------------- training curves


def _to_float(value: Any) -> float:
    """A CSV cell or row value as a float; empty, "nan"/"none"/"null" and unparsable ones as NaN."""
    if value is None:
        return math.nan
    if isinstance(value, str):
        value = value.strip()
        if value == "" or value.lower() in {"nan", "none", "null"}:
            return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _read_rows(source: str | Path | Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The rows of a CSV file, or the given rows after checking they are mappings."""
    if isinstance(source, (str, Path)):
        with open(source, newline="") as fh:
            return list(csv.DictReader(fh))
    rows = list(source)
    if not all(isinstance(r, Mapping) for r in rows):
        raise ValueError("rows must be dicts (column -> value)")
    return rows


def _column_values(rows: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[str], dict[str, np.ndarray]]:
    """Every column (first-seen order), those with a numeric value, and each column's values (NaN for gaps)."""
    columns: list[str] = []
    for r in rows:
        columns.extend(k for k in r if k is not None and k not in columns)
    values = {c: np.array([_to_float(r.get(c)) for r in rows]) for c in columns}
    numeric = [c for c in columns if np.any(np.isfinite(values[c]))]
    return columns, numeric, values


def _wanted_columns(columns: list[str], numeric: list[str], metrics: Sequence[str] | None,
                    x: str | None) -> list[str]:
    """The columns to plot: ``metrics`` that are numeric, or by default every numeric column but the x axis."""
    if metrics is None:
        wanted = [c for c in numeric if c not in _X_COLUMNS and c != x]
    else:
        wanted = [c for c in metrics if c in numeric]
    if not wanted:
        raise ValueError(f"none of the columns {metrics if metrics is not None else columns} has numeric values")
    return wanted


def _one_value_per_x(xs: np.ndarray, values: dict[str, np.ndarray], wanted: list[str]) -> bool:
    """Whether every plotted column has at most one value at each x."""
    for c in wanted:
        sel = np.isfinite(values[c]) & np.isfinite(xs)
        if len(np.unique(xs[sel])) != int(sel.sum()):
            return False
    return True


def _x_axis(values: dict[str, np.ndarray], numeric: list[str], wanted: list[str], x: str | None,
            num_rows: int) -> tuple[str | None, np.ndarray]:
    """The x column (None: the row number) and its values; see :func:`plot_training_curves`."""
    if x is None:
        x_col = next((c for c in _X_COLUMNS if c in numeric and _one_value_per_x(values[c], values, wanted)), None)
        if x_col is None and "step" in numeric:
            x_col = "step"
    else:
        if x not in numeric:
            raise ValueError(f"x column {x!r} has no numeric values")
        x_col = x
    return x_col, (values[x_col] if x_col is not None else np.arange(num_rows, dtype=np.float64))


def _panels(wanted: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """The panels in display order, and the columns of each (grouped by name, see ``_PANELS``)."""
    panels: dict[str, list[str]] = {}
    for c in wanted:
        name = next((p for p, pat in _PANELS if pat.search(c)), "other")
        panels.setdefault(name, []).append(c)
    order = [p for p, _ in _PANELS if p in panels] + (["other"] if "other" in panels else [])
    return order, panels


def _curve_label(column: str, panel: str, ys: np.ndarray) -> str:
    """A curve's legend entry: its name with its best value (max for percentages, min for losses and ranks)."""
    if panel.startswith("retrieval"):
        return column + f" (best {ys.max():.1f})"
    if panel.startswith("rank") or panel == "loss":
        return column + f" (min {ys.min():.3g})"
    return column


def _draw_curves_panel(ax: Any, panel: str, cols: list[str], values: dict[str, np.ndarray], x_vals: np.ndarray,
                       x_col: str | None) -> None:
    """One panel: each column's finite points sorted by x (train dashed), log scale for a wide lr range."""
    cmap = _colours(len(cols))
    for j, c in enumerate(cols):
        y = values[c]
        sel = np.isfinite(y) & np.isfinite(x_vals)
        if not np.any(sel):
            continue
        xs, ys = x_vals[sel], y[sel]
        idx = np.argsort(xs, kind="stable")
        xs, ys = xs[idx], ys[idx]
        marker = "o" if len(xs) <= 60 else None
        style = "--" if c.startswith("train") else "-"
        ax.plot(xs, ys, style, marker=marker, markersize=3.5, linewidth=1.5, color=cmap[j],
                label=_curve_label(c, panel, ys))
    if panel == "learning rate":
        lr = np.concatenate([values[c][np.isfinite(values[c])] for c in cols])
        if lr.size and np.all(lr > 0) and lr.max() / lr.min() > 20:
            ax.set_yscale("log")
    ax.set_title(panel, fontsize=10)
    ax.set_xlabel(x_col or "row")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="best")


def plot_training_curves(source: str | Path | Sequence[Mapping[str, Any]], out_png: str | Path,
                         metrics: Sequence[str] | None = None, x: str | None = None,
                         title: str | None = None) -> Path:
    """Loss, retrieval/accuracy, rank and learning-rate curves over training, one panel per kind.

    Legend entries carry each curve's best value (maximum for percentages, minimum for losses and ranks).

    Args:
        source: a CSV log (columns such as ``epoch, step, train_loss, val_loss, val_t2m_R@1, val_t2m_R@5,
            val_m2t_R@1, lr``) or its rows as dicts. Empty cells are gaps (e.g. validation only every epoch).
        out_png: output file.
        metrics: columns to plot (those missing are ignored); default: every numeric column except the x axis.
            Columns are grouped into panels by name: ``*loss*``; ``R@k`` / ``top*`` / ``*acc*`` (percent);
            ``MedR`` / ``MeanR``; ``lr``; anything else goes to an "other" panel.
        x: x-axis column; default ``epoch`` if, for every plotted column, each epoch has at most one value,
            else ``step``, else the row number.
        title: figure title.

    Returns:
        The PNG path.

    Raises:
        ValueError: nothing numeric to plot.
    """
    rows = _read_rows(source)
    if not rows:
        raise ValueError("no rows to plot")
    columns, numeric, values = _column_values(rows)
    wanted = _wanted_columns(columns, numeric, metrics, x)
    x_col, x_vals = _x_axis(values, numeric, wanted, x, len(rows))
    order, panels = _panels(wanted)

    n = len(order)
    ncols = 1 if n == 1 else 2
    nrows = math.ceil(n / ncols)
    fig = _figure(6.4 * ncols, 3.8 * nrows + (0.4 if title else 0.0))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for i, panel in enumerate(order):
        _draw_curves_panel(axes[i // ncols][i % ncols], panel, panels[panel], values, x_vals, x_col)
    for i in range(n, nrows * ncols):
        axes[i // ncols][i % ncols].set_visible(False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, out_png)


# ------------------------------------------------------------------------------------------ confusion matrix


def plot_confusion(conf: np.ndarray, labels: Sequence[str], out_png: str | Path, normalize: bool = True,
                   title: str | None = None) -> Path:
    """Confusion matrix as a heat map (row = true class, column = predicted), readable up to ~40 classes.

    Args:
        conf: (C, C) counts, e.g. ``recognition_metrics(...)["confusion"]``.
        labels: the C class names (shown truncated to 28 characters; x labels rotated).
        out_png: output file.
        normalize: divide each row by its total (rows without samples stay 0), so the diagonal is per-class
            recall; otherwise show raw counts.
        title: figure title (default says whether normalized).

    Returns:
        The PNG path.
    """
    cm = np.asarray(conf, dtype=np.float64)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] == 0:
        raise ValueError(f"conf must be a non-empty square (C, C) matrix, got shape {cm.shape}")
    c = cm.shape[0]
    if len(labels) != c:
        raise ValueError(f"{len(labels)} labels for a {c}x{c} confusion matrix")
    counts = cm
    if normalize:
        totals = cm.sum(axis=1, keepdims=True)
        cm = np.divide(cm, totals, out=np.zeros_like(cm), where=totals > 0)
    names = [_short(lab, 28) for lab in labels]

    side = max(5.0, 0.3 * c + 3.0)
    fig = _figure(side + 1.2, side)
    ax = fig.add_subplot(1, 1, 1)
    vmax = 1.0 if normalize else max(float(cm.max()), 1.0)
    im = ax.imshow(cm, cmap="Blues", vmin=0.0, vmax=vmax, interpolation="nearest")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="fraction of true class" if normalize else "count")
    tick_fs = 9 if c <= 15 else (7 if c <= 45 else 6)
    ax.set_xticks(range(c))
    ax.set_yticks(range(c))
    ax.set_xticklabels(names, rotation=60, ha="right", rotation_mode="anchor", fontsize=tick_fs)
    ax.set_yticklabels(names, fontsize=tick_fs)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if c <= 20:  # annotate cells
        for i in range(c):
            for j in range(c):
                if counts[i, j] == 0:
                    continue
                val = cm[i, j]
                text = f"{val:.2f}" if normalize else f"{int(val)}"
                ax.text(j, i, text, ha="center", va="center", fontsize=7 if c <= 12 else 5.5,
                        color="white" if val > 0.6 * vmax else "black")
    if title is None:
        title = "confusion matrix (row-normalized)" if normalize else "confusion matrix (counts)"
        total = counts.sum()
        if total > 0:
            title += f" - accuracy {100.0 * np.trace(counts) / total:.1f}% of {int(total)}"
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, out_png)


# -------------------------------------------------------------------------------------------- embedding map


def _pca2(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project rows of ``x`` on its first two principal axes (numpy SVD); also the explained-variance ratios."""
    xc = x - x.mean(axis=0, keepdims=True)
    _, s, vt = np.linalg.svd(xc, full_matrices=False)
    proj = xc @ vt[:2].T
    var = s**2
    ratio = var[:2] / var.sum() if var.sum() > 0 else np.zeros(min(2, len(var)))
    if proj.shape[1] < 2:  # fewer than 2 dimensions/points: pad with a zero axis
        proj = np.hstack([proj, np.zeros((proj.shape[0], 2 - proj.shape[1]))])
        ratio = np.concatenate([ratio, np.zeros(2 - len(ratio))])
    return proj, ratio


def _checked_embeddings(motion_emb: np.ndarray, text_emb: np.ndarray, motion_labels: Sequence[Any] | None,
                        text_labels: Sequence[Any] | None) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """Both embedding sets as float64 and their labels as strings, after checking shapes, values and counts."""
    m = np.asarray(motion_emb, dtype=np.float64)
    t = np.asarray(text_emb, dtype=np.float64)
    if m.ndim != 2 or t.ndim != 2:
        raise ValueError(f"embeddings must be 2-D, got {m.shape} and {t.shape}")
    if m.shape[1] != t.shape[1]:
        raise ValueError(f"motion_emb dim {m.shape[1]} != text_emb dim {t.shape[1]}")
    if m.shape[0] + t.shape[0] == 0:
        raise ValueError("no embeddings to plot")
    if not (np.all(np.isfinite(m)) and np.all(np.isfinite(t))):
        raise ValueError("embeddings contain NaN or inf")
    m_lab = ["motion"] * len(m) if motion_labels is None else [str(v) for v in motion_labels]
    t_lab = [f"text {i}" for i in range(len(t))] if text_labels is None else [str(v) for v in text_labels]
    if len(m_lab) != len(m):
        raise ValueError(f"{len(m_lab)} motion labels for {len(m)} motions")
    if len(t_lab) != len(t):
        raise ValueError(f"{len(t_lab)} text labels for {len(t)} texts")
    return m, t, m_lab, t_lab


def _scatter_motions(ax: Any, pm: np.ndarray, m_lab: list[str], uniq: list[str], colour: dict[str, Any]) -> None:
    """The motions as dots, one scatter (and legend entry) per label."""
    for lab in uniq:
        sel = [i for i, v in enumerate(m_lab) if v == lab]
        if sel:
            ax.scatter(pm[sel, 0], pm[sel, 1], s=14, color=colour[lab], alpha=0.65, linewidths=0,
                       label=_short(lab, 30))


def _scatter_texts(ax: Any, pt: np.ndarray, t_lab: list[str], colour: dict[str, Any], max_annotations: int) -> None:
    """The texts as black-outlined stars, the first ``max_annotations`` annotated with their label."""
    if not len(pt):
        return
    ax.scatter(pt[:, 0], pt[:, 1], s=220, marker="*", c=[colour[v] for v in t_lab], edgecolors="black",
               linewidths=0.8, zorder=3)
    for i in range(min(len(pt), max_annotations)):
        ax.annotate(_short(t_lab[i], 32), (pt[i, 0], pt[i, 1]), textcoords="offset points", xytext=(6, 5),
                    fontsize=8, zorder=4,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.7})


def _embedding_legend(ax: Any, num_labels: int) -> None:
    """Dot = motion, star = text, then the labels' colours when there are at most 20 labels."""
    from matplotlib.lines import Line2D

    handles, _ = ax.get_legend_handles_labels()
    star = Line2D([], [], marker="*", linestyle="", markersize=12, markerfacecolor="white",
                  markeredgecolor="black", label="text")
    dot = Line2D([], [], marker="o", linestyle="", markersize=5, color="grey", label="motion")
    if num_labels <= 20:
        ax.legend(handles=[dot, star] + handles, fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    else:
        ax.legend(handles=[dot, star], fontsize=8, loc="best")


def plot_embedding_map(motion_emb: np.ndarray, text_emb: np.ndarray, motion_labels: Sequence[Any] | None,
                       text_labels: Sequence[Any] | None, out_png: str | Path, title: str | None = None,
                       max_annotations: int = 60) -> Path:
    """2-D PCA map of motion and text embeddings in the shared space.

    PCA (numpy SVD) is fitted on both sets jointly, so distances between motions and texts are comparable.
    Motions are dots and texts are stars outlined in black, both coloured by label (the same label = the same
    colour); each text star is annotated with its label.

    Args:
        motion_emb: (N, D) motion embeddings.
        text_emb: (M, D) text embeddings (e.g. one per class prompt, or the paired captions).
        motion_labels: N labels colouring the motions (None: all one colour).
        text_labels: M labels colouring and annotating the texts (None: numbered).
        out_png: output file.
        title: figure title.
        max_annotations: annotate at most this many texts (the first ones).

    Returns:
        The PNG path.
    """
    m, t, m_lab, t_lab = _checked_embeddings(motion_emb, text_emb, motion_labels, text_labels)
    proj, ratio = _pca2(np.vstack([m, t]))
    pm, pt = proj[: len(m)], proj[len(m):]
    uniq = list(dict.fromkeys(m_lab + t_lab))
    colour = dict(zip(uniq, _colours(len(uniq)), strict=True))

    fig = _figure(9.0, 7.5)
    ax = fig.add_subplot(1, 1, 1)
    _scatter_motions(ax, pm, m_lab, uniq, colour)
    _scatter_texts(ax, pt, t_lab, colour, max_annotations)
    _embedding_legend(ax, len(uniq))
    ax.set_xlabel(f"PC1 ({100 * ratio[0]:.0f}% var)")
    ax.set_ylabel(f"PC2 ({100 * ratio[1]:.0f}% var)")
    ax.set_aspect("equal", adjustable="datalim")
    ax.grid(True, alpha=0.3)
    ax.set_title(title or f"embedding map: {len(m)} motions (dots), {len(t)} texts (stars), joint PCA",
                 fontsize=10)
    fig.tight_layout()
    return _save(fig, out_png)


# ------------------------------------------------------------------------------------------------- timeline


def _runs(labels: Sequence[str]) -> list[tuple[int, int, str]]:
    """(start index, end index exclusive, label) of each run of equal consecutive labels."""
    out: list[tuple[int, int, str]] = []
    start = 0
    for i in range(1, len(labels) + 1):
        if i == len(labels) or labels[i] != labels[start]:
            out.append((start, i, labels[start]))
            start = i
    return out


def _checked_times(times: np.ndarray | Sequence[float], true_labels: Sequence[Any],
                   pred_labels: Sequence[Any]) -> np.ndarray:
    """The sample times as float64, after checking they are finite, non-decreasing and match the label counts."""
    t = np.asarray(times, dtype=np.float64)
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"times must be a non-empty 1-D array, got shape {t.shape}")
    if not np.all(np.isfinite(t)) or np.any(np.diff(t) < 0):
        raise ValueError("times must be finite and non-decreasing")
    if len(true_labels) != len(t) or len(pred_labels) != len(t):
        raise ValueError(f"{len(t)} times but {len(true_labels)} true and {len(pred_labels)} predicted labels")
    return t


def _clean_labels(labels: Sequence[Any], unknown: Sequence[str]) -> list[str]:
    """The labels as strings, with None and the ``unknown`` ones (case-insensitive) as ""."""
    unknown_set = {u.lower() for u in unknown}
    return ["" if v is None or str(v).strip().lower() in unknown_set else str(v) for v in labels]


def _sample_ends(t: np.ndarray) -> np.ndarray:
    """Where each sample ends: the next sample's time; the last lasts the median spacing (1 s if none)."""
    dt = float(np.median(np.diff(t))) if len(t) > 1 else 1.0
    if dt <= 0:
        dt = 1.0
    return np.append(t[1:], t[-1] + dt)


def _agreement(true_l: list[str], pred_l: list[str]) -> list[str]:
    """Per sample: "y" same label, "n" different, "" when either is unknown."""
    return ["" if not a or not b else ("y" if a == b else "n") for a, b in zip(true_l, pred_l, strict=True)]


def _draw_bands(ax: Any, t: np.ndarray, ends: np.ndarray, true_l: list[str], pred_l: list[str],
                agree: list[str], colour: dict[str, Any]) -> None:
    """The true and predicted label bands, the agreement strip, and the axes' ticks, limits and x label."""
    band_y = {"true": (2.1, 0.8), "predicted": (1.1, 0.8)}
    for name, labs in (("true", true_l), ("predicted", pred_l)):
        y0, h = band_y[name]
        for s, e, lab in _runs(labs):
            ax.broken_barh([(t[s], ends[e - 1] - t[s])], (y0, h), facecolors=colour[lab], edgecolors="none")
    strip = {"y": MATCH_COLOUR, "n": MISMATCH_COLOUR, "": "white"}
    for s, e, a in _runs(agree):
        ax.broken_barh([(t[s], ends[e - 1] - t[s])], (0.6, 0.35), facecolors=strip[a], edgecolors="none")
    ax.set_yticks([2.5, 1.5, 0.775])
    ax.set_yticklabels(["true", "predicted", "agree"])
    ax.set_ylim(0.5, 3.0)
    ax.set_xlim(t[0], ends[-1])
    ax.set_xlabel("time (s)")


def _timeline_title(agree: list[str], durations: np.ndarray) -> str:
    """The default title: the agreement as a percentage of the time both labels are known."""
    scored = np.array([a != "" for a in agree])
    right = np.array([a == "y" for a in agree])
    if scored.any():
        acc = 100.0 * durations[right].sum() / durations[scored].sum()
        return f"true vs predicted labels - agreement {acc:.1f}% of labelled time"
    return "true vs predicted labels"


def _timeline_legend(ax: Any, known: list[str], colour: dict[str, Any], true_l: list[str], pred_l: list[str],
                     agree: list[str], durations: np.ndarray, max_legend: int) -> None:
    """The longest-lasting ``max_legend`` labels, then "(unknown)" and the mismatch colour when they occur."""
    from matplotlib.patches import Patch

    total = {lab: 0.0 for lab in known}
    for labs in (true_l, pred_l):
        for lab, d in zip(labs, durations, strict=True):
            if lab:
                total[lab] += d
    shown = sorted(known, key=lambda lab: -total[lab])[:max_legend]
    handles = [Patch(facecolor=colour[lab], label=_short(lab, 24)) for lab in shown]
    if any(not lab for lab in true_l + pred_l):
        handles.append(Patch(facecolor=UNKNOWN_COLOUR, label="(unknown)"))
    if "n" in agree:
        handles.append(Patch(facecolor=MISMATCH_COLOUR, label="agree: mismatch"))
    if handles:
        ncol = min(len(handles), 6)
        ax.legend(handles=handles, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=ncol,
                  frameon=False)


def plot_timeline(times: np.ndarray | Sequence[float], true_labels: Sequence[Any], pred_labels: Sequence[Any],
                  out_png: str | Path, title: str | None = None, unknown: Sequence[str] = ("", "none", "unknown"),
                  max_legend: int = 30) -> Path:
    """True vs predicted label over time as two coloured bands, plus a thin agreement strip.

    Sample ``i`` covers ``[times[i], times[i+1])``; the last one lasts the median sample spacing. ``None`` and
    the ``unknown`` labels (case-insensitive) are grey and count as neither right nor wrong in the agreement
    strip (light grey = same label, black = different).

    Args:
        times: (T,) increasing sample times in seconds.
        true_labels: T ground-truth labels.
        pred_labels: T predicted labels.
        out_png: output file.
        title: figure title (default: agreement percentage).
        unknown: labels drawn grey.
        max_legend: list at most this many labels in the legend (the longest-lasting ones).

    Returns:
        The PNG path.
    """
    t = _checked_times(times, true_labels, pred_labels)
    true_l, pred_l = _clean_labels(true_labels, unknown), _clean_labels(pred_labels, unknown)
    ends = _sample_ends(t)
    durations = ends - t
    agree = _agreement(true_l, pred_l)
    known = [lab for lab in dict.fromkeys(true_l + pred_l) if lab]
    colour = dict(zip(known, _colours(len(known)), strict=True))
    colour[""] = UNKNOWN_COLOUR

    legend_rows = math.ceil((min(len(known), max_legend) + 2) / 6)
    fig = _figure(12.0, 2.9 + 0.25 * legend_rows)
    ax = fig.add_subplot(1, 1, 1)
    _draw_bands(ax, t, ends, true_l, pred_l, agree, colour)
    ax.set_title(_timeline_title(agree, durations) if title is None else title, fontsize=10)
    _timeline_legend(ax, known, colour, true_l, pred_l, agree, durations, max_legend)
    fig.tight_layout()
    return _save(fig, out_png)
