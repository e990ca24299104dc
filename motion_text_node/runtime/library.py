"""The motion library: reference motions with descriptions and embeddings, searched by text or by motion.

Stored as one ``.npz`` (fast to load): ids, descriptions, fps, per-clip frame offsets, canonical positions
(float16, metres, z up), embeddings (float32, unit norm), the model version it was embedded with, and each entry's
provenance (data source and licence; empty for libraries written before provenance was recorded). Search is
exact cosine with numpy; above ``ANN_THRESHOLD`` entries an inverted-file index (faiss IVF-Flat, inner product,
when faiss is installed) is built at load.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from motion_text_node.checks import real_array
from motion_text_node.data.npz_io import open_npz
from motion_text_node.errors import UserError
from motion_text_node.skeleton.canonical import CANONICAL_JOINTS

LIBRARY_VERSION = 1
ANN_THRESHOLD = 200_000


@dataclass
class LibraryHit:
    """One search answer."""

    clip_id: str
    description: str
    score: float
    index: int
    source: str = ""
    licence: str = ""


class MotionLibrary:
    """Reference motions; ``search(query_embedding, k)`` returns the best hits."""

    def __init__(self, ids: list[str], descriptions: list[str], embeddings: np.ndarray, fps: np.ndarray,
                 offsets: np.ndarray | None = None, positions: np.ndarray | None = None, model_version: str = "",
                 ann: str = "auto", sources: list[str] | None = None, licences: list[str] | None = None) -> None:
        self.sources = list(sources) if sources is not None else [""] * len(ids)
        self.licences = list(licences) if licences is not None else [""] * len(ids)
        if len({len(ids), len(descriptions), len(embeddings), len(self.sources), len(self.licences)}) != 1:
            raise UserError("library arrays disagree in length")
        self.ids, self.descriptions = list(ids), list(descriptions)
        self.embeddings = np.ascontiguousarray(embeddings, dtype=np.float32)
        self.fps = np.asarray(fps, dtype=np.float32)
        self.offsets = offsets  # (N + 1,) frame offsets into positions, or None (no motions stored)
        self.positions = positions  # (frames, 22, 3) float16
        self.model_version = model_version
        self._index = None
        if ann == "faiss" or (ann == "auto" and len(ids) >= ANN_THRESHOLD):
            self._index = _faiss_index(self.embeddings)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def uses_ann(self) -> bool:
        """Whether searches go through the approximate index."""
        return self._index is not None

    def search(self, query: np.ndarray, k: int) -> list[LibraryHit]:
        """The ``k`` entries most similar (cosine) to one unit-norm query embedding, best first."""
        k = max(0, min(int(k), len(self.ids)))
        if k == 0:
            return []
        q = np.asarray(query, dtype=np.float32).reshape(1, -1)
        if self._index is not None:
            scores, idx = self._index.search(q, k)
            pairs = [(int(i), float(s)) for i, s in zip(idx[0], scores[0], strict=True) if i >= 0]
        else:
            sims = self.embeddings @ q[0]
            top = np.argpartition(-sims, k - 1)[:k] if k < len(sims) else np.arange(len(sims))
            top = top[np.argsort(-sims[top])]
            pairs = [(int(i), float(sims[i])) for i in top]
        return [LibraryHit(self.ids[i], self.descriptions[i], s, i, self.sources[i], self.licences[i])
                for i, s in pairs]

    def motion(self, index: int) -> np.ndarray | None:
        """Canonical positions (T, 22, 3) float32 of entry ``index`` (None when the library stores none)."""
        if self.offsets is None or self.positions is None:
            return None
        return self.positions[self.offsets[index]:self.offsets[index + 1]].astype(np.float32)

    def save(self, path: str | Path) -> Path:
        """Write the library as one .npz."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        extra = {}
        if self.offsets is not None and self.positions is not None:
            extra = {"offsets": self.offsets.astype(np.int64), "positions": self.positions.astype(np.float16)}
        np.savez_compressed(path, version=np.int64(LIBRARY_VERSION), ids=np.array(self.ids), descriptions=np.array(
            self.descriptions), embeddings=self.embeddings, fps=self.fps, model_version=np.array(self.model_version),
            joints=np.array(CANONICAL_JOINTS), sources=np.array(self.sources, dtype=str),
            licences=np.array(self.licences, dtype=str), **extra)
        return path

    @classmethod
    def load(cls, path: str | Path, ann: str = "auto") -> MotionLibrary:
        """Read a library file (UserError for a missing, corrupt or foreign file, or arrays that disagree)."""
        path = Path(path)
        if path.is_dir():
            raise UserError(f"{path} is a folder; give the library file (e.g. {path / 'motion_library.npz'})")
        if not path.is_file():
            raise UserError(f"{path}: motion library not found (build one with `motion-text library build`)")
        try:
            with open_npz(path, "motion library") as d:
                if int(d["version"]) != LIBRARY_VERSION:
                    raise UserError(f"{path}: library version {int(d['version'])} is not {LIBRARY_VERSION}")
                has_motion = "offsets" in d.files
                provenance = {k: [str(x) for x in d[k]] for k in ("sources", "licences") if k in d.files}
                ids, descriptions = [str(x) for x in d["ids"]], [str(x) for x in d["descriptions"]]
                embeddings, fps = d["embeddings"], d["fps"]
                offsets, positions = (d["offsets"], d["positions"]) if has_motion else (None, None)
                _check_arrays(path, len(ids), descriptions, embeddings, fps, offsets, positions, provenance)
                return cls(ids, descriptions, embeddings, fps, offsets, positions, str(d["model_version"]), ann,
                           **provenance)
        except UserError:
            raise
        except Exception as exc:  # zip/npz errors come in many types
            raise UserError(f"{path}: not a readable motion library ({type(exc).__name__}: {exc})") from None


def _check_arrays(path: Path, n: int, descriptions: list[str], embeddings: np.ndarray, fps: np.ndarray,
                  offsets: np.ndarray | None, positions: np.ndarray | None, provenance: dict[str, list[str]]) -> None:
    """UserError naming ``path`` unless the arrays of a library file fit together: ``n`` ids, as many descriptions,
    provenance entries, finite frame rates above 0 and finite embeddings (n, D); with motions, ``n + 1`` rising
    integer frame offsets within canonical positions (frames, 22, 3)."""

    def bad(what: str) -> UserError:
        return UserError(f"{path}: corrupt motion library ({what})")

    lengths = {"descriptions": len(descriptions), **{k: len(v) for k, v in provenance.items()}}
    for name, length in lengths.items():
        if length != n:
            raise bad(f"{n} ids but {length} {name}")
    if not real_array(embeddings) or (n and (embeddings.ndim != 2 or len(embeddings) != n)):
        raise bad(f"embeddings must be {n} rows of numbers, got {embeddings.dtype} {embeddings.shape}")
    if not np.isfinite(embeddings).all():
        raise bad("embeddings hold NaN or infinite values")
    if not real_array(fps) or fps.shape != (n,):
        raise bad(f"fps must be {n} numbers, got {fps.dtype} {fps.shape}")
    if n and not (np.isfinite(fps).all() and (fps > 0).all()):
        raise bad("every fps must be a finite number above 0")
    if offsets is None or positions is None:
        return
    if not np.issubdtype(offsets.dtype, np.integer) or offsets.shape != (n + 1,):
        raise bad(f"offsets must be {n + 1} integers, got {offsets.dtype} {offsets.shape}")
    if not real_array(positions) or positions.ndim != 3 \
            or positions.shape[1:] != (len(CANONICAL_JOINTS), 3):
        raise bad(f"positions must be numbers (frames, {len(CANONICAL_JOINTS)}, 3), got {positions.dtype} "
                  f"{positions.shape}")
    if offsets[0] != 0 or (np.diff(offsets) < 0).any() or offsets[-1] > len(positions):
        raise bad(f"offsets must rise from 0 to at most the {len(positions)} frames stored")
    if not np.isfinite(positions).all():
        raise bad("positions hold NaN or infinite values")


def _faiss_index(embeddings: np.ndarray, seed: int = 0):
    """IVF-Flat inner-product index (None without faiss): 4*sqrt(N) lists, 1/16 of them probed."""
    try:
        import faiss
    except ImportError:
        return None
    n, dim = embeddings.shape
    nlist = max(1, min(int(4 * np.sqrt(n)), n // 39))  # faiss wants >= 39 training points per list
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(seed)
    sample = embeddings[rng.choice(n, min(n, max(50 * nlist, 10_000)), replace=False)]
    index.train(sample)
    index.add(embeddings)
    index.nprobe = max(8, nlist // 16)
    return index
