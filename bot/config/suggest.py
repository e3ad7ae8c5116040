"""'Did you mean' for a misspelled ops.yml key, at any depth: `slack.incident_chanel` -> `incident_channel`.

The keys that are allowed at a location are the fields of the pydantic model found by
following that location down from the root model (through optional values, lists and
name -> value mappings), so the suggestion can never drift from what the models accept.
"""

from __future__ import annotations

import difflib
import types
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel


def model_at(root: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model whose keys are allowed at `loc` (a pydantic error location), if there is one."""
    current: Any = root
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return None
            current = field.annotation
        elif get_origin(current) in (list, dict):
            current = get_args(current)[-1]  # a list's items or a mapping's values
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    """`X | None` is X: an optional section has the same keys as a required one."""
    if get_origin(annotation) in (Union, types.UnionType):
        kinds = [a for a in get_args(annotation) if a is not type(None)]
        if len(kinds) == 1:
            return kinds[0]
    return annotation


def did_you_mean(root: type[BaseModel], loc: tuple[Any, ...]) -> str:
    """'unknown key' with the nearest allowed names at that place, or the list of them when none is near."""
    *parent, key = loc
    model = model_at(root, tuple(parent))
    if model is None:
        return "unknown key"
    allowed = sorted(model.model_fields)
    close = difflib.get_close_matches(str(key), allowed, n=2, cutoff=0.6)
    if close:
        return f"unknown key; did you mean {' or '.join(repr(c) for c in close)}?"
    return f"unknown key; allowed here: {', '.join(allowed)}"
