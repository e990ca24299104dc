"""The one exception type for mistakes a user can fix (bad file, bad argument, missing data).

The CLI prints these as a single line and exits non-zero; anything else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """A problem with the user's input or environment, with a message that says what to do."""


def refuse_unknown_keys(data: dict, cls: type, what: str) -> None:
    """ValueError naming the keys of ``data`` that are no field of the dataclass ``cls`` (and the known ones), for
    ``from_dict`` constructors of stored configurations (``what`` names them: "model", "normalization")."""
    from dataclasses import fields

    known = {f.name for f in fields(cls)}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"unknown {what} keys: {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
