"""Shared machinery of the renderers: the template environment, labels and owner references.

Templates only shape objects. Every value they print goes through the ``tojson`` filter,
which writes JSON (a subset of YAML); the environment's ``finalize`` refuses any other
output, so a user string can never add a key, a document or a YAML tag. The result of
each template is parsed as YAML and checked to be exactly one mapping of the expected
apiVersion, kind and name.

Parsing YAML was most of the operator's CPU at a thousand tenants, so the operator parses
each template's *shape* once: while rendering, ``tojson`` prints a numbered slot instead
of the value and keeps the value's JSON aside; the slotted text (the same for every object
that takes the same branches of the template) is parsed once and kept as JSON, and each
render fills the slots with the values' JSON and reads it with ``orjson.loads`` (``json.loads``
when it holds a number too long for orjson to keep exact). Whatever
this cannot represent exactly (a slot inside a longer scalar, a non-string key, a YAML
type JSON lacks) takes the plain path: the values printed, the text parsed as YAML.
"""

import contextvars
import functools
import importlib.resources
import json
import re
from typing import TYPE_CHECKING, Any

import jinja2
import orjson
import yaml

from greenshift.constants import MANAGED_BY_LABEL, MANAGED_BY_VALUE, TENANT_LABEL

Manifest = dict[str, Any]

NAME_LABEL = "app.kubernetes.io/name"
INSTANCE_LABEL = "app.kubernetes.io/instance"
COMPONENT_LABEL = "app.kubernetes.io/component"
PART_OF_LABEL = "app.kubernetes.io/part-of"


class RenderError(ValueError):
    """A resource that cannot be rendered; the message names the object and the field."""


class JsonText(str):
    """Template output that is already encoded: the only thing a template may print."""


# Characters PyYAML refuses in a stream, or reads as line breaks inside a quoted scalar
# (NEL, LINE SEPARATOR, PARAGRAPH SEPARATOR) or a byte-order mark: written as \\u escapes.
_NOT_YAML_SAFE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)


# libyaml's loader when PyYAML has it (about ten times faster), with the same safe semantics.
if TYPE_CHECKING:
    _BaseLoader = yaml.SafeLoader
else:
    _BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _SAFE_LOADER(_BaseLoader):
    """YAML 1.1's safe loader that also reads a JSON number with an exponent and no dot (``1e-05``,
    as ``tojson`` writes small and large floats) as the float it is, not as a string: the plain
    path must read every value as the JSON fast path does."""


_SAFE_LOADER.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9]+[eE][-+]?[0-9]+$"), list("-+0123456789")
)


class _Slots(list[str]):
    """The values printed by a render in progress, as JSON; ``long_number`` once one of them may
    hold an integer beyond 64 bits (only those written by ``json``: orjson refuses them)."""

    long_number = False


_SLOTS: contextvars.ContextVar[_Slots | None] = contextvars.ContextVar("greenshift_slots", default=None)
_SLOT = re.compile(r'"@@greenshift-slot-(\d+)@@"')
_SLOT_MARK = "@@greenshift-slot-"
_LONG_NUMBER = re.compile(r"\d{19}")
SHAPE_CACHE_SIZE = 256


def to_json(value: Any) -> JsonText:
    """``value`` as JSON that YAML reads back unchanged (or its slot, see the module's doc).

    Non-ASCII text stays literal (``ensure_ascii`` would split astral characters into
    surrogate pairs, which YAML decodes as two separate characters); only characters that
    YAML cannot carry literally are escaped.
    """
    if isinstance(value, jinja2.Undefined):  # a whole missing value: StrictUndefined's own error
        str(value)
    text, exact = _dumps(value)
    if text.isascii() and "\x7f" not in text:  # JSON escapes the other ASCII controls
        encoded = text
    else:
        encoded = _NOT_YAML_SAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    slots = _SLOTS.get()
    if slots is None:
        return JsonText(encoded)
    if not exact and _LONG_NUMBER.search(encoded):
        slots.long_number = True
    slots.append(encoded)
    return JsonText(f'"{_SLOT_MARK}{len(slots) - 1}@@"')


def _dumps(value: Any) -> tuple[str, bool]:
    """``value`` as JSON, and whether orjson wrote it (then it holds no integer beyond 64 bits).

    orjson reads back as the same value what ``json`` writes, faster; ``json`` writes what orjson
    cannot say exactly: integers beyond 64 bits and non-string keys (orjson refuses them), and
    NaN and infinities (orjson writes null, ``json`` refuses them: a render error). A ``null``
    in orjson's text may be such a float, so that text is written again by ``json``.
    """
    try:
        raw = orjson.dumps(value)
    except TypeError:
        pass
    else:
        if b"null" not in raw or value is None:
            return raw.decode(), True
    return json.dumps(value, ensure_ascii=False, allow_nan=False), False


def sorted_json(value: Any, *, indent: bool = False) -> bytes:
    """``json.dumps(value, sort_keys=True)``, compact or indented by 2, byte for byte, from orjson
    when the text is ASCII (tens of times faster); ``json`` itself writes anything else (it
    escapes non-ASCII, orjson does not). Used where the bytes are stored or hashed."""
    try:
        raw = orjson.dumps(value, option=orjson.OPT_SORT_KEYS | (orjson.OPT_INDENT_2 if indent else 0))
        if raw.isascii():
            return raw
    except TypeError:  # an integer beyond 64 bits, a non-string key
        pass
    layout: dict[str, Any] = {"indent": 2} if indent else {"separators": (",", ":")}
    return json.dumps(value, sort_keys=True, **layout).encode()


def _finalize(value: Any) -> Any:
    if not isinstance(value, JsonText):
        raise RenderError(f"template printed a value without the tojson filter: {value!r}")
    return value


def _load_template(name: str) -> str | None:
    entry = importlib.resources.files("greenshift.templates").joinpath(*name.split("/"))
    return entry.read_text(encoding="utf-8") if entry.is_file() else None


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_load_template),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701 - the output is YAML, not HTML; values are JSON-encoded instead
        finalize=_finalize,
        keep_trailing_newline=True,
    )
    env.filters["tojson"] = to_json
    return env


def _one_mapping(template: str, text: str) -> Manifest:
    documents = [doc for doc in yaml.load_all(text, Loader=_SAFE_LOADER) if doc is not None]
    if len(documents) != 1 or not isinstance(documents[0], dict):
        raise RenderError(f"{template}: must produce exactly one mapping, got {len(documents)} documents")
    manifest: Manifest = documents[0]
    return manifest


@functools.lru_cache(maxsize=SHAPE_CACHE_SIZE)
def _shape(template: str, slotted: str) -> str | None:
    """The slotted text parsed once, as JSON with the slots in place; None if JSON cannot say it."""
    try:
        shape = json.dumps(_one_mapping(template, slotted), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        return None  # a YAML type JSON lacks (a date, a set): the plain path will say what it is
    whole = len(_SLOT.findall(shape))
    return shape if whole == shape.count(_SLOT_MARK) else None  # a slot inside a longer scalar


@functools.lru_cache(maxsize=SHAPE_CACHE_SIZE)
def _long_number_in(shape: str) -> bool:
    return _LONG_NUMBER.search(shape) is not None


def _render_fast(template: jinja2.Template, name: str, context: dict[str, Any]) -> Manifest | None:
    slots = _Slots()
    token = _SLOTS.set(slots)
    try:
        slotted = template.render(**context)
    finally:
        _SLOTS.reset(token)
    shape = _shape(name, slotted)
    if shape is None:
        return None
    text = _SLOT.sub(lambda m: slots[int(m.group(1))], shape)
    # orjson reads an integer beyond 64 bits as a float; json keeps it whole (as YAML does).
    # Only the values can hold one (the shape's own numbers are checked once, with the shape).
    loads = json.loads if slots.long_number or _long_number_in(shape) else orjson.loads
    try:
        filled = loads(text)
    except ValueError:
        return None  # a value in a key's place that is not a string
    return filled if isinstance(filled, dict) else None


def render_template(template: str, *, api_version: str, kind: str, **context: Any) -> Manifest:
    """Render one template into one object, checking that it is the object it should be."""
    compiled = environment().get_template(template)
    manifest = _render_fast(compiled, template, context)
    if manifest is None:
        manifest = _one_mapping(template, compiled.render(**context))
    name = context["metadata"]["name"]
    found = (manifest.get("apiVersion"), manifest.get("kind"), manifest.get("metadata", {}).get("name"))
    if found != (api_version, kind, name):
        raise RenderError(f"{template}: produced {found}, expected {(api_version, kind, name)}")
    return manifest


def labels(tenant: Manifest, *, name: str, instance: str, component: str) -> dict[str, str]:
    """The labels of every child: managed-by and tenant (API.md) plus the recommended app labels."""
    return {
        MANAGED_BY_LABEL: MANAGED_BY_VALUE,
        TENANT_LABEL: str(tenant["metadata"]["name"]),
        NAME_LABEL: name,
        INSTANCE_LABEL: instance,
        COMPONENT_LABEL: component,
        PART_OF_LABEL: "greenshift",
    }


def owner_references(owner: Manifest) -> list[dict[str, Any]]:
    """A controller reference to ``owner`` when it is a live object (has a uid), else none.

    Offline renders from files have no uid, and a reference with an empty uid would be
    rejected by the API server, so the reference is left out; the operator renders live
    objects and so always sets it.
    """
    uid = owner.get("metadata", {}).get("uid")
    if not uid:
        return []
    return [
        {
            "apiVersion": owner["apiVersion"],
            "kind": owner["kind"],
            "name": owner["metadata"]["name"],
            "uid": uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]


def metadata(
    name: str,
    *,
    namespace: str | None,
    labels: dict[str, str],
    annotations: dict[str, str] | None = None,
    owner: Manifest | None = None,
) -> dict[str, Any]:
    """Object metadata; empty annotations and owner references are left out."""
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta["labels"] = labels
    if annotations:
        meta["annotations"] = annotations
    references = owner_references(owner) if owner is not None else []
    if references:
        meta["ownerReferences"] = references
    return meta
