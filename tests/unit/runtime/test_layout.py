"""runtime/ is the generic machinery: it imports nothing of the domain, only itself and the API client."""

import ast
from pathlib import Path

import greenshift.runtime

RUNTIME = Path(greenshift.runtime.__file__).parent
ALLOWED = ("greenshift.runtime", "greenshift.kube")


def test_runtime_imports_nothing_of_the_domain() -> None:
    found = set()
    for path in RUNTIME.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("greenshift"):
                found.add((path.name, node.module))
            elif isinstance(node, ast.Import):
                found.update((path.name, a.name) for a in node.names if a.name.startswith("greenshift"))
    assert [(name, module) for name, module in sorted(found) if not module.startswith(ALLOWED)] == []
