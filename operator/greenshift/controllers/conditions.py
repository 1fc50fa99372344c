"""Status conditions as the Kubernetes API conventions want them (pure functions)."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

ConditionStatus = Literal["True", "False", "Unknown"]


@dataclass(frozen=True)
class Condition:
    type: str
    status: ConditionStatus
    reason: str
    message: str


def now_rfc3339() -> str:
    return datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def merge_conditions(
    previous: list[dict[str, Any]] | None, conditions: list[Condition], generation: int, now: str
) -> list[dict[str, Any]]:
    """The new condition list; ``lastTransitionTime`` moves only when a status changes."""
    before = {c.get("type"): c for c in previous or [] if isinstance(c, dict)}
    result = []
    for condition in conditions:
        old = before.get(condition.type)
        changed = old is None or old.get("status") != condition.status
        result.append(
            {
                "type": condition.type,
                "status": condition.status,
                "reason": condition.reason,
                "message": condition.message,
                "lastTransitionTime": now if changed or not old else old.get("lastTransitionTime", now),
                "observedGeneration": generation,
            }
        )
    return result
