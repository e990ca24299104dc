"""Where the repository keeps things: models, shared data, caches.

Every path can be overridden by an environment variable so an installed package (no repository around it)
can be pointed at its data.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Root of the source checkout (the folder holding package.xml).
REPO_ROOT = Path(__file__).resolve().parent.parent


def shared_dir() -> Path:
    """The project's shared folder (data and docs), ``$MOTION_TEXT_SHARED`` or ``<repo>/../shared``."""
    return Path(os.environ.get("MOTION_TEXT_SHARED", REPO_ROOT.parent / "shared")).resolve()


def cache_dir() -> Path:
    """Writable cache for unpacked data and preprocessed datasets, ``$MOTION_TEXT_CACHE`` or ``<repo>/.cache``."""
    return Path(os.environ.get("MOTION_TEXT_CACHE", REPO_ROOT / ".cache")).resolve()


def models_dir() -> Path:
    """The shipped model folder, ``$MOTION_TEXT_MODELS`` or ``<repo>/models``."""
    return Path(os.environ.get("MOTION_TEXT_MODELS", REPO_ROOT / "models")).resolve()
