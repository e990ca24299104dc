"""The motion library: reference motions with descriptions and embeddings, searched by text or by motion.

Stored as ``.npz`` files (fast to load). The library file holds ids, descriptions, fps, embeddings (float32, unit
norm), the model version it was embedded with, and each entry's provenance (data source and licence; empty for
libraries written before provenance was recorded). The motions themselves (per-clip frame offsets and canonical
positions, float16, metres, z up) go to a file beside it, ``<name>.motions.npz``, named in the library file with a
digest of its contents: they do not depend on the model, so a library rebuilt for a retrained model rewrites only
the small embedding file and leaves the motions file byte for byte as it was (git stores it once). Version 1 files
(everything in one file) still load. Search is exact cosine with numpy; above ``ANN_THRESHOLD`` entries an
inverted-file index (faiss IVF-Flat, inner product, when faiss is installed) is built at load.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from motion_text_node.checks import real_array
from motion_text_node.data.npz_io import open_npz, write_npz
from motion_text_node.errors import UserError
from motion_text_node.skeleton.canonical import CANONICAL_JOINTS

LIBRARY_VERSION = 2
READABLE_VERSIONS = (1, 2)  # 1: motions inside the library file
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
        """Write the library file ``path`` and, when it stores motions, the motions file beside it
        (``motions_path``); both through temporary files, so a failed write leaves earlier files whole."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        ids = np.array(self.ids)
        motions = {"name": "", "sha256": ""}
        if self.offsets is not None and self.positions is not None:
            arrays = {"ids": ids, "offsets": self.offsets.astype(np.int64),
                      "positions": self.positions.astype(np.float16)}
            beside = write_npz(motions_path(path), arrays)
            motions = {"name": beside.name, "sha256": _motions_digest(**arrays)}
        write_npz(path, {"version": np.int64(LIBRARY_VERSION), "ids": ids,
                         "descriptions": np.array(self.descriptions), "embeddings": self.embeddings,
                         "fps": self.fps, "model_version": np.array(self.model_version),
                         "joints": np.array(CANONICAL_JOINTS), "sources": np.array(self.sources, dtype=str),
                         "licences": np.array(self.licences, dtype=str), "motions": np.array(motions["name"]),
                         "motions_sha256": np.array(motions["sha256"])})
        return path

    @classmethod
    def load(cls, path: str | Path, ann: str = "auto") -> MotionLibrary:
        """Read a library file and its motions file (UserError for a missing, corrupt or foreign file, arrays that
        disagree, or a motions file that is not the one the library was written with)."""
        path = Path(path)
        if path.is_dir():
            raise UserError(f"{path} is a folder; give the library file (e.g. {path / 'motion_library.npz'})")
        if not path.is_file():
            raise UserError(f"{path}: motion library not found (build one with `motion-text library build`)")
        try:
            with open_npz(path, "motion library") as d:
                version = int(d["version"])
                if version not in READABLE_VERSIONS:
                    raise UserError(f"{path}: library version {version} is not one of "
                                    f"{', '.join(map(str, READABLE_VERSIONS))}")
                provenance = {k: [str(x) for x in d[k]] for k in ("sources", "licences") if k in d.files}
                ids, descriptions = [str(x) for x in d["ids"]], [str(x) for x in d["descriptions"]]
                embeddings, fps = d["embeddings"], d["fps"]
                if "offsets" in d.files:  # version 1, or motions kept inside
                    offsets, positions = d["offsets"], d["positions"]
                elif "motions" in d.files and str(d["motions"]):
                    offsets, positions = _read_motions(path, str(d["motions"]), str(d["motions_sha256"]), ids)
                else:
                    offsets, positions = None, None
                _check_arrays(path, len(ids), descriptions, embeddings, fps, offsets, positions, provenance)
                return cls(ids, descriptions, embeddings, fps, offsets, positions, str(d["model_version"]), ann,
                           **provenance)
        except UserError:
            raise
        except Exception as exc:  # zip/npz errors come in many types
            raise UserError(f"{path}: not a readable motion library ({type(exc).__name__}: {exc})") from None


def motions_path(library: str | Path) -> Path:
    """The motions file that belongs to the library file ``library``: ``motion_library.motions.npz`` beside
    ``motion_library.npz``."""
    library = Path(library)
    return library.with_name(f"{library.name.removesuffix('.npz')}.motions.npz")


def _motions_digest(ids: np.ndarray, offsets: np.ndarray, positions: np.ndarray) -> str:
    """SHA-256 over the motions' arrays (not the file bytes, so recompression does not change it)."""
    h = hashlib.sha256()
    for a in (np.asarray(ids, dtype=str), np.asarray(offsets, dtype=np.int64), np.asarray(positions, np.float16)):
        h.update(str(a.shape).encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _read_motions(path: Path, name: str, digest: str, ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Offsets and positions from the motions file ``name`` beside the library ``path``; UserError unless it is
    there, holds the library's ids and matches the digest the library was written with."""
    if Path(name).name != name:
        raise UserError(f"{path}: corrupt motion library (its motions file must be a file name beside it, "
                        f"got {name!r})")
    where = path.with_name(name)
    if not where.is_file():
        raise UserError(f"{path}: its motions file {where} is missing (copy it together with the library, or "
                        "rebuild with `motion-text library build`)")
    with open_npz(where, "motions file") as m:
        stored_ids, offsets, positions = m["ids"], m["offsets"], m["positions"]
    if [str(x) for x in stored_ids] != ids:
        raise UserError(f"{where}: holds the motions of another library (its clip ids differ from {path.name}'s)")
    try:
        found = _motions_digest(stored_ids, offsets, positions)
    except (TypeError, ValueError) as exc:
        raise UserError(f"{where}: corrupt motions file ({exc})") from None
    if found != digest:
        raise UserError(f"{where}: not the motions file {path.name} was written with (contents changed; rebuild "
                        "with `motion-text library build`)")
    return offsets, positions


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
