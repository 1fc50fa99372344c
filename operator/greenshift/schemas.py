"""The CRDs shipped in ``crds/`` as data: lookup by kind, and defaulting from their schemas."""

import functools
import importlib.resources
from typing import Any

import yaml

from greenshift.constants import API_VERSION, KINDS
from greenshift.defaulting import apply_defaults


@functools.cache
def load_crds() -> tuple[dict[str, Any], ...]:
    """The three CustomResourceDefinitions, in the order of ``KINDS``."""
    folder = importlib.resources.files("greenshift.crds")
    found: dict[str, dict[str, Any]] = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".yaml"):
            crd = yaml.safe_load(entry.read_text(encoding="utf-8"))
            found[crd["spec"]["names"]["kind"]] = crd
    return tuple(found[kind] for kind in KINDS)


def crd_for_kind(kind: str) -> dict[str, Any]:
    for crd in load_crds():
        if crd["spec"]["names"]["kind"] == kind:
            return crd
    raise KeyError(kind)


def schema_for_kind(kind: str) -> dict[str, Any]:
    """The ``openAPIV3Schema`` of the served version of ``kind``."""
    crd = crd_for_kind(kind)
    version = next(v for v in crd["spec"]["versions"] if f"{crd['spec']['group']}/{v['name']}" == API_VERSION)
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return schema


def with_defaults(resource: dict[str, Any]) -> dict[str, Any]:
    """A copy of a Greenshift resource with every CRD default filled in, as the API server would."""
    result: dict[str, Any] = apply_defaults(schema_for_kind(resource["kind"]), resource)
    return result
