"""The data sources of ``shared/data`` by name, with their licences, and selection of clips by source/licence.

Every clip of a cache carries ``source`` and ``licence`` (``data.clip.Clip``), so a training config can include
or exclude sources by name and by licence, and a model can state what it was trained on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from motion_text_node.data.bandai import BANDAI_ATTRIBUTION, BANDAI_LICENCE
from motion_text_node.data.clip import Clip
from motion_text_node.data.cmu import CMU_ACKNOWLEDGEMENT, CMU_LICENCE
from motion_text_node.data.hra import HRA_ATTRIBUTION, HRA_LICENCE
from motion_text_node.data.humanoid3d import HUMANOID3D_LICENCE
from motion_text_node.data.mocap6 import MOCAP6_ATTRIBUTION, MOCAP6_LICENCE
from motion_text_node.errors import UserError

#: Licences under which a model trained on the data may not be used commercially.
NON_COMMERCIAL_LICENCES: frozenset[str] = frozenset({"CC-BY-NC-4.0"})


@dataclass(frozen=True)
class DataSource:
    """A named source: how to read it (``clips(fps)`` -> (clip, split) pairs) and under which terms."""

    name: str
    description: str
    licence: str
    attribution: str
    clips: Callable[..., Iterator[tuple[Clip, str]]]


def _cmu(fps: float, **kw) -> Iterator[tuple[Clip, str]]:
    from motion_text_node.data.cmu import iter_cmu_clips

    return iter_cmu_clips(fps=fps, informative_only=kw.get("informative_only", True))


def _cmu_extra(fps: float, **kw) -> Iterator[tuple[Clip, str]]:
    from motion_text_node.data.cmu import iter_cmu_clips

    return iter_cmu_clips(fps=fps, informative_only=kw.get("informative_only", True), extra=True)


def _humanoid3d(fps: float, **kw) -> Iterator[tuple[Clip, str]]:
    from motion_text_node.data.humanoid3d import iter_humanoid3d_clips

    return iter_humanoid3d_clips(fps=fps, informative_only=kw.get("informative_only", True))


def _mocap6(fps: float, **kw) -> Iterator[tuple[Clip, str]]:
    """The CMU trials that mocap6 labels (alone; within ``cmu`` the labels are already attached)."""
    from motion_text_node.data.cmu import iter_cmu_clips
    from motion_text_node.data.mocap6 import read_mocap6_segments

    return iter_cmu_clips(fps=fps, informative_only=False, trials=set(read_mocap6_segments()))


def _hra(fps: float, **kw) -> Iterator[tuple[Clip, str]]:
    from motion_text_node.data.hra import iter_hra_clips

    return iter_hra_clips(fps=fps)


def _bandai(fps: float, **kw) -> Iterator[tuple[Clip, str]]:
    from motion_text_node.data.bandai import iter_bandai_clips

    return iter_bandai_clips(fps=fps, limit=kw.get("limit"))


#: Every source ``motion-text data build --source NAME`` (or ``all``) can read from ``shared/data``.
SOURCES: dict[str, DataSource] = {s.name: s for s in (
    DataSource("cmu", "CMU mocap, 173 trials of 16 subjects, with the CMU index descriptions", CMU_LICENCE,
               CMU_ACKNOWLEDGEMENT, _cmu),
    DataSource("cmu_extra", "17 more CMU trials (subjects 62, 16)", CMU_LICENCE, CMU_ACKNOWLEDGEMENT, _cmu_extra),
    DataSource("cmu_humanoid3d", "72 CMU trials on DeepMimic's 15-joint humanoid", HUMANOID3D_LICENCE,
               "Jump (c) arpspoof, MIT licence; " + CMU_ACKNOWLEDGEMENT, _humanoid3d),
    DataSource("mocap6", "exercise labels with times on CMU 13_30/13_31 (segments; inside cmu when both are "
               "built)", MOCAP6_LICENCE, MOCAP6_ATTRIBUTION, _mocap6),
    DataSource("hra", "Vicon upper-body captures of people working with a robot", HRA_LICENCE, HRA_ATTRIBUTION,
               _hra),
    DataSource("bandai", "Bandai Namco Research Motiondataset 1+2, studio mocap with action and style",
               BANDAI_LICENCE, BANDAI_ATTRIBUTION, _bandai),
)}

#: What ``--source all`` builds: every motion source once (mocap6's labels come inside ``cmu``).
ALL_SOURCES: tuple[str, ...] = ("cmu", "cmu_extra", "cmu_humanoid3d", "hra", "bandai")


def get_source(name: str) -> DataSource:
    """The source called ``name`` (UserError listing the known ones)."""
    if name not in SOURCES:
        raise UserError(f"unknown data source {name!r}; known: {', '.join(SOURCES)}, all")
    return SOURCES[name]


def iter_sources(names: Iterable[str], fps: float, **options) -> Iterator[tuple[Clip, str]]:
    """(clip, split) of several sources one after the other."""
    for name in names:
        yield from get_source(name).clips(fps, **options)


def licence_parts(licence: str) -> set[str]:
    """The licence ids of ``A AND B`` (and the whole string)."""
    return {p.strip() for p in licence.split(" AND ")} | {licence}


def is_non_commercial(licence: str) -> bool:
    """Whether a clip licence forbids commercial use (of the data and of models trained on it)."""
    return bool(licence_parts(licence) & NON_COMMERCIAL_LICENCES)


def select_clips(clips: list[Clip], sources: Iterable[str] = (), exclude_sources: Iterable[str] = (),
                 exclude_licences: Iterable[str] = ()) -> list[Clip]:
    """The clips whose source is in ``sources`` (all when empty), minus excluded sources and licences.

    Licences match a clip when they are its licence or one part of an ``A AND B`` licence.
    """
    keep, drop, bad = set(sources), set(exclude_sources), set(exclude_licences)

    def ok(c: Clip) -> bool:
        return (not keep or c.source in keep) and c.source not in drop and not (licence_parts(c.licence) & bad)
    return [c for c in clips if ok(c)]


def provenance(clips: Iterable[Clip]) -> list[dict]:
    """Per source: licence, attribution, clips and minutes (for model.json and the model card)."""
    rows: dict[str, dict] = {}
    for c in clips:
        row = rows.setdefault(c.source or "unknown", {
            "source": c.source or "unknown", "licence": c.licence,
            "attribution": SOURCES[c.source].attribution if c.source in SOURCES else "", "clips": 0, "minutes": 0.0})
        row["clips"] += 1
        row["minutes"] += c.motion.duration / 60.0
    for row in rows.values():
        row["minutes"] = round(row["minutes"], 2)
    return sorted(rows.values(), key=lambda r: r["source"])
