"""Structural defaulting, as the API server applies it to custom resources.

The CRDs in ``crds/`` are the single source of every default of API.md: the offline
``render`` and ``validate`` commands and the embedded API server default an object
from its CRD's ``openAPIV3Schema`` exactly like a real API server would, so no
default is written twice.
"""

import copy
from typing import Any

Schema = dict[str, Any]


def apply_defaults(schema: Schema, value: Any) -> Any:
    """Return a deep copy of ``value`` with the ``default`` of every absent property filled in.

    Like the API server, a default applies when its property is absent from an object that
    is present; defaults are themselves defaulted (a defaulted object gets its nested
    defaults), and list items and additionalProperties are walked too.
    """
    return default_in_place(schema, copy.deepcopy(value))


def default_in_place(schema: Schema, value: Any) -> Any:
    """:func:`apply_defaults` on ``value`` itself, for a caller that owns it (the embedded API
    server defaults its own copy of every write: copying it again cost more than the defaulting)."""
    return _default(schema, value)


def _default(schema: Schema, value: Any) -> Any:
    if isinstance(value, dict):
        properties: dict[str, Schema] = schema.get("properties", {})
        for key, sub in properties.items():
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
            if key in value:
                value[key] = _default(sub, value[key])
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for key in value:
                if key not in properties:
                    value[key] = _default(extra, value[key])
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_default(schema["items"], item) for item in value]
    return value
