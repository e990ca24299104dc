"""The rosbags type store for our bags: ROS 2 Jazzy's standard types plus ``motion_text_interfaces``.

The custom types are parsed from the interface package's ``.msg`` files (installed share folder first, the
repository's ``ros2_ws/src`` copy otherwise), so rosbags serializes them byte-for-byte like rclpy does and
computes the same RIHS01 type hashes. Other installed interface packages that rosbags does not ship are
registered on demand from their ``share/<pkg>/msg/*.msg`` files (``ensure_type``).

No rclpy import at module level: converting and inspecting bags works without a ROS graph.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
import threading
from pathlib import Path

from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.base import Nodetype
from rosbags.typesys.store import Typestore

from motion_text_node.errors import UserError

INTERFACES_PACKAGE = "motion_text_interfaces"
SKELETON_TYPE = "motion_text_interfaces/msg/Skeleton"
SKELETON_ARRAY_TYPE = "motion_text_interfaces/msg/SkeletonArray"
ACTION_LABEL_TYPE = "motion_text_interfaces/msg/ActionLabel"
MOTION_CLIP_TYPE = "motion_text_interfaces/msg/MotionClip"

_REPO_INTERFACES = Path(__file__).resolve().parents[2] / "ros2_ws" / "src" / INTERFACES_PACKAGE
_LOCK = threading.RLock()


def _prefixes() -> list[Path]:
    """Install prefixes to look for ``share/<pkg>`` in: the running environment, then AMENT_PREFIX_PATH."""
    prefixes = [Path(sys.prefix)]
    prefixes += [Path(p) for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
    return list(dict.fromkeys(prefixes))


def share_dir(package: str) -> Path | None:
    """``<prefix>/share/<package>`` of an installed interface package, or None when none is found."""
    for prefix in _prefixes():
        candidate = prefix / "share" / package
        if (candidate / "msg").is_dir():
            return candidate
    return None


def interfaces_msg_dir() -> Path:
    """The folder holding ``motion_text_interfaces``' ``.msg`` files (installed copy first, then the repo's)."""
    installed = share_dir(INTERFACES_PACKAGE)
    if installed is not None:
        return installed / "msg"
    if (_REPO_INTERFACES / "msg").is_dir():
        return _REPO_INTERFACES / "msg"
    raise UserError(f"cannot find the {INTERFACES_PACKAGE} .msg files (not installed under {sys.prefix}/share "
                    f"and no {_REPO_INTERFACES}/msg)")


def _types_from_msg_file(path: Path, msgtype: str) -> dict:
    try:
        return get_types_from_msg(path.read_text(), msgtype)
    except Exception as exc:  # rosbags raises several parser exception types
        raise UserError(f"{path}: cannot parse message definition ({exc})") from None


@functools.lru_cache(maxsize=1)
def typestore() -> Typestore:
    """The shared type store: ROS 2 Jazzy + motion_text_interfaces (built once, then cached)."""
    store = get_typestore(Stores.ROS2_JAZZY)
    types: dict = {}
    msg_dir = interfaces_msg_dir()
    for path in sorted(msg_dir.glob("*.msg")):
        types.update(_types_from_msg_file(path, f"{INTERFACES_PACKAGE}/msg/{path.stem}"))
    if SKELETON_TYPE not in types:
        raise UserError(f"{msg_dir}: no Skeleton.msg")
    store.register(types)
    return store


def _referenced_types(fielddef: tuple) -> list[str]:
    """Message type names a registered type's fields refer to."""
    names = []
    _consts, fields = fielddef
    for _name, (node, detail) in fields:
        if node == Nodetype.NAME:
            names.append(detail)
        elif node in (Nodetype.ARRAY, Nodetype.SEQUENCE) and detail[0][0] == Nodetype.NAME:
            names.append(detail[0][1])
    return names


def ensure_type(msgtype: str, store: Typestore | None = None) -> Typestore:
    """Make sure ``msgtype`` (e.g. ``"my_pkg/msg/Foo"``) and the types it uses are in the store.

    Types rosbags does not ship are parsed from ``<prefix>/share/<pkg>/msg/<Name>.msg``; UserError when a
    type's definition cannot be found.
    """
    store = store or typestore()
    with _LOCK:
        pending = [msgtype]
        while pending:
            name = pending.pop()
            if name in store.fielddefs:
                continue
            parts = name.split("/")
            if len(parts) != 3 or parts[1] != "msg":
                raise UserError(f"{name!r} is not a message type name like 'pkg/msg/Type'")
            pkg, _, type_name = parts
            share = share_dir(pkg)
            path = share / "msg" / f"{type_name}.msg" if share else None
            if path is None or not path.is_file():
                raise UserError(f"unknown message type {name}: rosbags does not know it and no {pkg}/msg/"
                                f"{type_name}.msg is installed under {', '.join(map(str, _prefixes()))}")
            types = _types_from_msg_file(path, name)
            store.register(types)
            for fielddef in types.values():
                pending.extend(t for t in _referenced_types(fielddef) if t not in store.fielddefs)
    return store


def rclpy_message_class(msgtype: str) -> type:
    """The rclpy (rosidl Python) class of ``"pkg/msg/Type"``, imported by name."""
    parts = msgtype.split("/")
    if len(parts) != 3:
        raise UserError(f"{msgtype!r} is not a message type name like 'pkg/msg/Type'")
    pkg, kind, name = parts
    try:
        return getattr(importlib.import_module(f"{pkg}.{kind}"), name)
    except (ImportError, AttributeError) as exc:
        raise UserError(f"cannot import the Python class of {msgtype} ({exc}); is {pkg} installed?") from None


def type_hash(msgtype: str) -> str:
    """RIHS01 hash of a message type as rosbags computes it (equal to rosidl's for correct definitions)."""
    return ensure_type(msgtype).hash_rihs01(msgtype)


def absolute_topic(name: str) -> str:
    """A topic name as bags store it: stripped, with its leading slash ("skeleton" -> "/skeleton")."""
    name = name.strip()
    return name if name.startswith("/") else f"/{name}"
