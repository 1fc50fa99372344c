"""The platform's semantic rules, as the reconcile applies them (the same as `greenshift validate`)."""

from collections.abc import Mapping
from typing import Any

from greenshift.config import PlatformConfig
from greenshift.validation.problem import Problem
from greenshift.validation.rules import check_document_source, check_gateway_route


def source_problems(source: Mapping[str, Any], config: PlatformConfig) -> list[Problem]:
    return [p for p in check_document_source(dict(source), config) if p.severity == "error"]


def route_problems(
    route: Mapping[str, Any], tenant: Mapping[str, Any], config: PlatformConfig
) -> list[Problem]:
    return list(check_gateway_route(dict(route), dict(tenant), config))
