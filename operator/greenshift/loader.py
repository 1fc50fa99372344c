"""Reading manifests from files and folders of multi-document YAML, keeping where each came from."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from greenshift.constants import GROUP, KINDS

YAML_SUFFIXES = (".yaml", ".yml", ".json")

MAX_EXPANDED_NODES = 100_000
"""The most nodes a document may count once its aliases are expanded (a document without aliases
is bounded by its own text). YAML aliases share one node; everything after the parser (defaults,
schema and CEL checks, rendering) walks the expansion, so nine nested anchors of nine aliases
each, 700 bytes, are 387 million nodes: minutes of work (the "billion laughs" bomb)."""


class LoadError(ValueError):
    """Input that cannot be read as manifests; the message starts with ``FILE[:LINE]:``."""


@dataclass(frozen=True)
class Document:
    """One YAML document: its parsed body, its file and the line it starts on (1-based)."""

    path: str
    line: int
    body: dict[str, Any]

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


RATE_CARD = "RateCard"


def is_rate_card(body: dict[str, Any]) -> bool:
    """A rate card for `greenshift usage`: a document for the tools, never applied to a cluster."""
    return body.get("kind") == RATE_CARD


def is_cluster_object(body: dict[str, Any]) -> bool:
    """What a GitOps sync would apply: everything but the tools' PlatformConfig and RateCard."""
    return body.get("kind") not in ("PlatformConfig", RATE_CARD)


def is_foreign(body: dict[str, Any]) -> bool:
    """A Kubernetes object that is not Greenshift's (e.g. an agency's own Service in a GitOps folder).

    ``render`` and ``validate`` pass these over, the demo applies them as a GitOps sync would.
    A kind of Greenshift's under another apiVersion is not foreign: that is a mistake to report.
    """
    api_version, kind = body.get("apiVersion"), body.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str) or not api_version or not kind:
        return False
    return api_version.split("/")[0] != GROUP and kind not in (*KINDS, "PlatformConfig", RATE_CARD)


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given, folders walked recursively for YAML files in sorted order."""
    result: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            result.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in YAML_SUFFIXES))
        elif path.is_file():
            result.append(path)
        else:
            raise LoadError(f"{path}: no such file or folder")
    return result


def load_documents(paths: Iterable[str | Path]) -> list[Document]:
    """Every non-empty document of every file, in order; ``List`` kinds are flattened."""
    return [doc for path in expand_paths(paths) for doc in _load_file(path)]


def _load_file(path: Path) -> Iterator[Document]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LoadError(f"{path}: cannot read: {exc}") from None
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
        for node in nodes:  # before anything walks the expansion (constructing does not)
            if node is not None:
                _check_aliases(node, f"{path}:{node.start_mark.line + 1}")
        bodies = list(yaml.safe_load_all(text))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f":{mark.line + 1}" if mark is not None else ""
        raise LoadError(f"{path}{where}: malformed YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise LoadError(f"{path}: malformed YAML: {exc}") from None
    for node, body in zip(nodes, bodies, strict=True):
        if body is None:
            continue
        line = node.start_mark.line + 1
        if not isinstance(body, dict):
            raise LoadError(f"{path}:{line}: a manifest must be a mapping, got {type(body).__name__}")
        if body.get("kind") == "List" and isinstance(body.get("items"), list):
            for item in body["items"]:
                if not isinstance(item, dict):
                    raise LoadError(f"{path}:{line}: every item of a List must be a mapping")
                yield Document(str(path), line, item)
        else:
            yield Document(str(path), line, body)


def _check_aliases(root: yaml.Node, where: str) -> None:
    """Refuse a document whose aliases expand it beyond :data:`MAX_EXPANDED_NODES`, or refer to a
    node that contains them (a recursive alias): counted over the shared nodes, in linear time."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    aliased = False

    def size(node: yaml.Node) -> int:
        nonlocal aliased
        key = id(node)
        if key in sizes:
            aliased = True
            return sizes[key]
        if key in open_nodes:
            raise LoadError(f"{where}: a YAML alias refers to a node that contains it (recursive alias)")
        total = 1
        if isinstance(node, yaml.SequenceNode | yaml.MappingNode):
            open_nodes.add(key)
            children = (
                node.value
                if isinstance(node, yaml.SequenceNode)
                else [n for pair in node.value for n in pair]
            )
            for child in children:
                total += size(child)
                if total > MAX_EXPANDED_NODES and aliased:
                    break
            open_nodes.discard(key)
        sizes[key] = total
        return total

    total = size(root)
    if aliased and total > MAX_EXPANDED_NODES:
        raise LoadError(
            f"{where}: YAML aliases expand this document to more than {MAX_EXPANDED_NODES} nodes "
            "(an alias bomb?); write the values out instead of referring to anchors"
        )
