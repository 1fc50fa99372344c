"""The unit of every validation result, shared by the schema check, the rules and the operator."""

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a resource.

    ``field`` is the path in the resource (``spec.upstream.url``, ``spec.owners[0].kind``;
    empty for the whole document), ``message`` says what is wrong and what is allowed, and
    ``reason`` is the CamelCase condition reason the operator shows for it.
    """

    field: str
    message: str
    severity: Severity = "error"
    reason: str = "InvalidSpec"

    def __str__(self) -> str:
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{prefix}{self.field}: {self.message}" if self.field else f"{prefix}{self.message}"
