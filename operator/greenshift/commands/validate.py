"""``greenshift validate``: check manifests offline against the CRD schemas and the platform's rules.

One line per problem, ``FILE:LINE: [warning: ]Kind/name: field: message``, then a summary.
Exit 1 on any error (including unreadable files and malformed YAML), 0 with warnings only.
"""

import argparse
from pathlib import Path

from greenshift.commands import add_input_arguments
from greenshift.config import ConfigError, PlatformConfig, load_platform_config
from greenshift.loader import Document, LoadError, expand_paths, load_documents
from greenshift.validation import validate_documents


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_input_arguments(parser)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def run(args: argparse.Namespace) -> int:
    config: PlatformConfig | None = None
    if args.platform_config is not None:
        try:
            config = load_platform_config(args.platform_config)
        except ConfigError as exc:
            print(exc)
            return 1
    failures: list[str] = []
    documents: list[Document] = []
    for raw in args.paths:
        try:
            files = expand_paths([raw])
        except LoadError as exc:
            failures.append(str(exc))
            continue
        for path in files:
            documents.extend(_load(path, failures))
    if not documents and not failures:
        failures.append(f"{', '.join(args.paths)}: no YAML documents found")
    report = validate_documents(documents, config)
    for line in failures:
        print(line)
    for finding in report.findings:
        print(finding)
    errors = report.errors + len(failures)
    if errors:
        counts = f"{_plural(errors, 'error')}, {_plural(report.warnings, 'warning')}"
        print(f"{counts} in {_plural(report.resources, 'resource')}")
        return 1
    summary = f"{_plural(report.resources, 'resource')} valid"
    if report.foreign:
        summary += f" ({_plural(report.foreign, 'other Kubernetes object')} passed over)"
    print(f"{summary}, {_plural(report.warnings, 'warning')}" if report.warnings else summary)
    return 0


def _load(path: Path, failures: list[str]) -> list[Document]:
    """The documents of one file; a file that cannot be read is a failure, the others still count."""
    try:
        return load_documents([path])
    except LoadError as exc:
        failures.append(str(exc))
        return []
