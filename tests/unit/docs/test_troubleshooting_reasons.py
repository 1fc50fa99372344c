"""docs/troubleshooting.md lists every reason that can make a resource not Ready.

``Ready`` carries the reason of the first condition that is not as it should be, so the reasons
are read from the code: the literal reason of every condition the controllers set with status
False or Unknown, and of every ``Progressing`` condition with status True (a rollout under way:
``Condition(type, status, reason, message)``); every reason of the platform's rules
(``Problem(field, message, severity, reason)`` in validation/rules.py); and the fallback the
DocumentSource controller uses when the Deployment has no Available condition. The Deployment
controller's own reason for unavailable replicas is added by name.
"""

import ast

from docs_support import DOCS, ROOT, section, table_rows

OPERATOR = ROOT / "operator" / "greenshift"
DEPLOYMENT_CONTROLLER_REASONS = {"MinimumReplicasUnavailable"}
NEVER_READY_FALSE = {
    "Suspended": "Available=False and Progressing=False of a suspended tenant's source: Ready is True",
    "RolloutComplete": "Progressing=False: the rollout is done",
    "Creating": "Progressing=True while Available=False DeploymentMissing, which Ready reports",
}


def _literal(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def reasons_in_code() -> set[str]:
    found: set[str] = set()
    for path in sorted((OPERATOR / "controllers").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "Condition"
                and len(node.args) >= 3
            ):
                kind, status, reason = map(_literal, node.args[:3])
                blocking = status in ("False", "Unknown") if kind != "Progressing" else status != "False"
                if blocking and reason is not None:
                    found.add(reason)
            if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):  # `... or "ReplicasUnavailable"`
                found |= {v for v in map(_literal, node.values) if v and v.endswith("Unavailable")}
    rules = ast.parse((OPERATOR / "validation" / "rules.py").read_text(encoding="utf-8"))
    for node in ast.walk(rules):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Problem" and len(node.args) >= 4:
            reason = _literal(node.args[3])
            if reason is not None:
                found.add(reason)
    return (found | DEPLOYMENT_CONTROLLER_REASONS) - set(NEVER_READY_FALSE)


def documented(kind: str) -> set[str]:
    rows = table_rows(section(DOCS / "troubleshooting.md", f"## {kind}"))
    return {row[0].strip("`") for row in rows if row and row[0] != "reason"}


def test_the_code_has_the_reasons_we_expect() -> None:
    found = reasons_in_code()
    assert {"NamespaceConflict", "QuotaPending", "ApplyFailed", "RouteConflict", "ImageNotCertified"} <= found
    assert {"ReplicasUnavailable", "RolloutInProgress", "Publishing"} <= found


def test_every_reason_is_documented() -> None:
    every = documented("WalletTenant") | documented("DocumentSource") | documented("GatewayRoute")
    missing = reasons_in_code() - every
    assert missing == set(), f"not in docs/troubleshooting.md: {sorted(missing)}"
    assert every <= reasons_in_code(), f"documented but never set: {sorted(every - reasons_in_code())}"
