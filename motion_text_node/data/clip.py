"""A dataset clip: a canonical motion with what is known about it (texts, label, subject, origin)."""

from __future__ import annotations

from dataclasses import dataclass, field

from motion_text_node.skeleton.motion import Motion


@dataclass
class Segment:
    """A labelled time span inside a clip (e.g. a BABEL frame annotation), in seconds from the clip start."""

    start: float
    end: float
    label: str
    text: str = ""


@dataclass
class Clip:
    """One motion with its metadata, as loaders produce and the dataset cache stores.

    Attributes:
        clip_id: unique id within its dataset (e.g. the CMU trial "02_05").
        motion: the motion, canonical SMPL-22 joints, metres, z up, at its own fps.
        texts: natural-language descriptions (first is the primary one); may be empty.
        label: short action label when the dataset has one (BABEL category, npz ``label``), else "".
        subject: performer id, used for subject-disjoint splits ("" when unknown).
        source: the data source it belongs to (``data.sources`` name: "cmu", "bandai", ...; "" for a loose file).
        segments: labelled sub-spans (BABEL frame annotations), empty when the whole clip has one label.
        path: the file the clip came from.
        licence: licence of the source (SPDX-like id, e.g. "CC-BY-NC-4.0"; "" when unknown).
        take: the capture the clip comes from, when a source knows it (two clips of one take never split apart).
    """

    clip_id: str
    motion: Motion
    texts: list[str] = field(default_factory=list)
    label: str = ""
    subject: str = ""
    source: str = ""
    segments: list[Segment] = field(default_factory=list)
    path: str = ""
    licence: str = ""
    take: str = ""

    @property
    def text(self) -> str:
        """The primary description ("" when there is none)."""
        return self.texts[0] if self.texts else ""
