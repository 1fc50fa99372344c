"""Offline structural validation of a Greenshift resource against its CRD's ``openAPIV3Schema``.

It mirrors what the API server checks (types, enums, patterns, ranges, lengths, required
fields, list types, int-or-string, formats and every ``x-kubernetes-validations`` CEL rule,
transition rules included when the old object is given, with Kubernetes' CEL semantics from
:mod:`greenshift.validation.cel`) with one deliberate difference: unknown fields are reported
as errors, where the API server would prune them silently, because a silently dropped field is
a typo a reviewer wants to hear about. A ``null`` where the schema has a default is replaced by
the default, as the API server does, with a warning.
"""

import datetime
import functools
import ipaddress
import re
from typing import Any

import celpy
from celpy.adapter import json_to_cel
from celpy.evaluation import CELEvalError

from greenshift.constants import KINDS
from greenshift.schemas import crd_for_kind, schema_for_kind, with_defaults
from greenshift.validation.cel import cel_value, crd_problems, root_schema
from greenshift.validation.problem import Problem

Schema = dict[str, Any]

_DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
_DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_DNS_1035 = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"

# What a pattern means, in words, so a message says what is allowed rather than quoting a regex.
_PATTERN_WORDS: dict[str, str] = {
    _DNS_LABEL: (
        "a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit"
    ),
    _DNS_SUBDOMAIN: "a DNS name: dot-separated DNS-1123 labels of lowercase letters, digits and '-'",
    _DNS_1035: "a DNS-1035 label: lowercase letters, digits and '-', starting with a letter",
    r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$": (
        "a DNS name, or a wildcard '*.' followed by a DNS name, in lowercase"
    ),
    r"^[A-Z][A-Z0-9-]{1,15}$": "2 to 16 capital letters, digits or '-', starting with a letter (BOSA)",
    r"^/\S*$": "a path starting with '/' without spaces",
    r"^(/([-A-Za-z0-9._~!&*+,=:@]|%[0-9A-Fa-f]{2})+)*/?$": (
        "a path starting with '/': '/'-separated segments of letters, digits, '-', '.', '_', '~', '!', "
        "'&', '*', '+', ',', '=', ':', '@' and %XX escapes; no empty segment ('//'), no query ('?') "
        "or fragment ('#'), no spaces, ';', '$', quotes, braces or parentheses"
    ),
}
_QUANTITY_WORDS = "a Kubernetes quantity such as 500m, 2, 1.5, 512Mi or 8Gi"
_INT_FORMATS = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_ROOT_FIELDS = ("apiVersion", "kind", "metadata")


def validate_schema(resource: dict[str, Any], old: dict[str, Any] | None = None) -> list[Problem]:
    """Every schema and CEL problem of ``resource`` (defaulted first, as the API server does).

    ``old`` is the stored object of an update: with it, transition rules (those that use
    ``oldSelf``) are evaluated too. ``resource["kind"]`` must be one of the Greenshift kinds.
    """
    kind = resource.get("kind")
    if kind not in KINDS:
        return [Problem("kind", f"must be one of {', '.join(KINDS)}, got {kind!r}")]
    refused = _refused_crd(str(kind))
    if refused:
        return list(refused)
    schema = schema_for_kind(str(kind))
    problems = _check_metadata(resource.get("metadata"))
    problems += _defaulted_nulls(schema, resource, "")
    value = with_defaults(resource)
    old_value = with_defaults(old) if isinstance(old, dict) and old.get("kind") == kind else None
    properties: dict[str, Schema] = schema["properties"]
    sound = True
    for key in schema.get("required", []):
        if key not in value:
            problems.append(Problem(key, "required field is missing"))
            sound = False
    for key, item in value.items():
        if key in _ROOT_FIELDS:
            continue
        if key not in properties:
            problems.append(Problem(str(key), f"unknown field, allowed: {', '.join(properties)}"))
            sound = False
            continue
        old_item = old_value.get(key) if old_value is not None else None
        sound = _check(properties[key], item, old_item, key, problems) and sound
    if sound and not problems:
        # Root rules see the object with only metadata.name and generateName, like the API server.
        old_view = _rule_view(old_value) if old_value is not None else None
        _node_rules(root_schema(schema), _rule_view(value), old_view, "", problems)
    return problems


def check_default(schema: Schema, default: Any) -> list[Problem]:
    """The problems of a schema node's ``default`` as the API server checks it when a CRD is written:
    the value as written (before nested defaults apply), against the node's schema and CEL rules."""
    problems: list[Problem] = []
    _check(schema, default, None, "", problems)
    return problems


@functools.cache
def _refused_crd(kind: str) -> tuple[Problem, ...]:
    """What the API server would refuse in the shipped CRD of ``kind`` (nothing, for a sound CRD)."""
    crd = crd_for_kind(kind)
    name = crd["metadata"]["name"]
    return tuple(
        Problem("", f"the API server would refuse the CRD {name}: {p.field}: {p.message}")
        for p in crd_problems(crd)
    )


def _defaulted_nulls(schema: Schema, value: Any, path: str) -> list[Problem]:
    """A warning for each ``null`` that the API server (and ``with_defaults``) replaces by a default."""
    found: list[Problem] = []
    if isinstance(value, dict):
        for key, sub in schema.get("properties", {}).items():
            if key not in value or (key in _ROOT_FIELDS and not path):
                continue
            child = _join(path, key)
            if value[key] is None and "default" in sub and not sub.get("nullable"):
                found.append(
                    Problem(child, f"null is replaced by the default {sub['default']!r}", severity="warning")
                )
            else:
                found += _defaulted_nulls(sub, value[key], child)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            found += _defaulted_nulls(schema["items"], item, f"{path}[{index}]")
    return found


def _rule_view(resource: dict[str, Any]) -> dict[str, Any]:
    metadata = resource.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    view = {k: v for k, v in resource.items() if k in ("spec", "status")}
    view["metadata"] = {k: metadata[k] for k in ("name", "generateName") if k in metadata}
    return view


def _check_metadata(metadata: Any) -> list[Problem]:
    if metadata is None:
        return [Problem("metadata.name", "required: a non-empty string")]
    if not isinstance(metadata, dict):
        return [Problem("metadata", "required: a mapping with at least a name")]
    problems: list[Problem] = []
    name = metadata.get("name")
    if not isinstance(name, str) or not name:
        problems.append(Problem("metadata.name", "required: a non-empty string"))
    elif len(name) > 253 or not re.match(_DNS_SUBDOMAIN, name):
        problems.append(Problem("metadata.name", f"must be {_PATTERN_WORDS[_DNS_SUBDOMAIN]}, got {name!r}"))
    namespace = metadata.get("namespace")
    if namespace is not None and (not isinstance(namespace, str) or not re.match(_DNS_LABEL, namespace)):
        problems.append(
            Problem("metadata.namespace", f"must be {_PATTERN_WORDS[_DNS_LABEL]}, got {namespace!r}")
        )
    return problems


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _has_type(value: Any, expected: str) -> bool:
    if expected == "number":
        return _type_name(value) in ("integer", "number")
    return _type_name(value) == expected


def _check(schema: Schema, value: Any, old: Any, path: str, problems: list[Problem]) -> bool:
    """Append the problems of ``value`` and its CEL rules; true when there were none.

    A node's CEL rules run only when its subtree is structurally sound, so a rule never
    trips over a wrong type that is already reported. ``old`` is the correlated old value
    (None when there is none), for transition rules.
    """
    before = len(problems)
    where = path or "document"
    if schema.get("x-kubernetes-int-or-string"):
        if _type_name(value) not in ("integer", "string"):
            words = _QUANTITY_WORDS if "pattern" in schema else "an integer or a string"
            problems.append(Problem(where, f"must be {words}, got {_type_name(value)}"))
            return False
    elif "type" in schema and not _has_type(value, schema["type"]):
        problems.append(Problem(where, f"must be {_article(schema['type'])}, got {_type_name(value)}"))
        return False

    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(str(option) for option in schema["enum"])
        problems.append(Problem(where, f"must be one of {allowed}, got {value!r}"))
    if isinstance(value, str):
        _check_string(schema, value, where, problems)
    elif _type_name(value) in ("integer", "number"):
        _check_number(schema, value, where, problems)
    elif isinstance(value, list):
        _check_array(schema, value, path, problems)
    elif isinstance(value, dict):
        _check_object(schema, value, old, path, problems)
    sound = len(problems) == before
    _node_rules(schema, value, old, path, problems, sound)
    return sound and len(problems) == before


def _article(type_name: str) -> str:
    return f"an {type_name}" if type_name[0] in "aeiou" else f"a {type_name}"


def _check_string(schema: Schema, value: str, where: str, problems: list[Problem]) -> None:
    if "minLength" in schema and len(value) < schema["minLength"]:
        problems.append(
            Problem(where, f"must be at least {schema['minLength']} characters long, got {len(value)}")
        )
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        problems.append(
            Problem(where, f"must be at most {schema['maxLength']} characters long, got {len(value)}")
        )
    pattern = schema.get("pattern")
    if pattern is not None and not re.search(pattern, value):
        if schema.get("x-kubernetes-int-or-string"):
            words = _QUANTITY_WORDS
        else:
            words = _PATTERN_WORDS.get(pattern, f"a string matching {pattern}")
        problems.append(Problem(where, f"must be {words}, got {value!r}"))
    fmt = schema.get("format")
    if fmt == "cidr" and not _is_cidr(value):
        problems.append(
            Problem(where, f"must be an IPv4 or IPv6 CIDR such as 10.0.0.0/8 or 2001:db8::/32, got {value!r}")
        )
    if fmt == "date-time" and not _is_date_time(value):
        problems.append(
            Problem(where, f"must be an RFC 3339 date-time such as 2024-05-01T12:00:00Z, got {value!r}")
        )


def _is_cidr(value: str) -> bool:
    if "/" not in value:
        return False
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return True


def _is_date_time(value: str) -> bool:
    try:
        datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return "T" in value


def _check_number(schema: Schema, value: float, where: str, problems: list[Problem]) -> None:
    low, high = schema.get("minimum"), schema.get("maximum")
    if schema.get("format") in _INT_FORMATS and low is None and high is None:
        low, high = _INT_FORMATS[schema["format"]]
    if low is not None and high is not None and not low <= value <= high:
        problems.append(Problem(where, f"must be between {low} and {high}, got {value}"))
    elif low is not None and value < low:
        problems.append(Problem(where, f"must be at least {low}, got {value}"))
    elif high is not None and value > high:
        problems.append(Problem(where, f"must be at most {high}, got {value}"))


def _check_array(schema: Schema, value: list[Any], path: str, problems: list[Problem]) -> None:
    where = path or "document"
    if "minItems" in schema and len(value) < schema["minItems"]:
        problems.append(Problem(where, f"must have at least {schema['minItems']} item(s), got {len(value)}"))
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        problems.append(Problem(where, f"must have at most {schema['maxItems']} items, got {len(value)}"))
    items = schema.get("items")
    sound = True
    for index, item in enumerate(value):
        if isinstance(items, dict):
            sound = _check(items, item, None, f"{path}[{index}]", problems) and sound
    if not sound:
        return
    list_type = schema.get("x-kubernetes-list-type")
    if list_type == "set":
        seen: list[Any] = []
        for index, item in enumerate(value):
            if item in seen:
                problems.append(Problem(f"{path}[{index}]", f"duplicate value {item!r}: the list is a set"))
            seen.append(item)
    elif list_type == "map":
        keys = schema.get("x-kubernetes-list-map-keys", [])
        seen_keys: set[tuple[str, ...]] = set()
        for index, item in enumerate(value):
            key = tuple(repr(item.get(k)) for k in keys) if isinstance(item, dict) else ()
            if key in seen_keys:
                problems.append(Problem(f"{path}[{index}]", f"duplicate entry for {', '.join(keys)}"))
            seen_keys.add(key)


def _check_object(
    schema: Schema, value: dict[Any, Any], old: Any, path: str, problems: list[Problem]
) -> None:
    properties: dict[str, Schema] = schema.get("properties", {})
    for name in schema.get("required", []):
        if name not in value:
            problems.append(Problem(_join(path, name), "required field is missing"))
    extra = schema.get("additionalProperties")
    for key, item in value.items():
        child = _join(path, str(key))
        old_item = old.get(key) if isinstance(old, dict) else None
        if key in properties:
            _check(properties[key], item, old_item, child, problems)
        elif isinstance(extra, dict):
            _check(extra, item, old_item, child, problems)
        elif not schema.get("x-kubernetes-preserve-unknown-fields"):
            allowed = ", ".join(properties) or "none"
            problems.append(Problem(child, f"unknown field, allowed: {allowed}"))


@functools.cache
def _program(rule: str) -> celpy.Runner:
    env = celpy.Environment()
    return env.program(env.compile(rule))


def _node_rules(
    schema: Schema, value: Any, old: Any, path: str, problems: list[Problem], sound: bool = True
) -> None:
    """Evaluate the CEL rules of one schema node; transition rules only when ``old`` exists.

    When the subtree already has problems (``sound`` false), a rule that cannot be evaluated
    is skipped: it tripped over a value whose problem is already reported.
    """
    for rule in schema.get("x-kubernetes-validations", []):
        uses_old = "oldSelf" in rule["rule"]
        if uses_old and old is None:
            continue
        activation = {"self": json_to_cel(cel_value(schema, value))}
        if uses_old:
            activation["oldSelf"] = json_to_cel(cel_value(schema, old))
        field = (path + rule.get("fieldPath", "")).lstrip(".") or "document"
        try:
            passed = bool(_program(rule["rule"]).evaluate(activation))
        except CELEvalError as exc:
            if sound:
                problems.append(Problem(field, f"rule {rule['rule']!r} cannot be evaluated: {exc.args[0]}"))
            continue
        if not passed:
            problems.append(Problem(field, rule.get("message", f"must satisfy {rule['rule']}")))
