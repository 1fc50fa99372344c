"""What the docs point the reader at exists, and says what the code does.

- Every project path a doc, a shipped manifest's comment or the GitOps layout names
  (`examples/...`, `deploy/...`, `docs/...`) exists: the docs once cited `examples/gitops/` and
  `examples/bosa/all.yaml`, neither of which is there.
- No doc sends the reader to "API.md" for the PlatformConfig: its reference is docs/api.md.
- docs/analytics.md does not claim that the install applies the platform PrometheusRule, and the
  install indeed has none.
"""

import re
from pathlib import Path

import pytest
from docs_support import DOCS, ROOT

from greenshift.cli import main
from greenshift.commands.install import install_manifests

PATH = re.compile(r"(?<![\w./-])((?:examples|deploy|docs|templates|crds|operator|tests|bench)/[\w./-]*)")


def documents() -> list[Path]:
    return [
        ROOT / "README.md",
        ROOT / "bench" / "README.md",
        *sorted(DOCS.rglob("*.md")),
        *sorted(DOCS.rglob("*.yaml")),
        *sorted((ROOT / "deploy").rglob("*.yaml")),
    ]


@pytest.mark.parametrize("document", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_path_named_exists(document: Path) -> None:
    missing = [
        path
        for path in (m.group(1).rstrip(".,:") for m in PATH.finditer(document.read_text(encoding="utf-8")))
        if not (ROOT / path).exists()
    ]
    assert missing == []


def test_no_doc_sends_the_reader_to_api_md_for_the_platform_config() -> None:
    for document in documents():
        for line in document.read_text(encoding="utf-8").splitlines():
            if "API.md" in line:
                assert not re.search(r"PlatformConfig|platform config|defaults", line, re.IGNORECASE), (
                    document,
                    line,
                )


def test_the_platform_prometheus_rule_is_not_claimed_for_the_install() -> None:
    assert not [o for o in install_manifests() if o["kind"] == "PrometheusRule"]
    text = " ".join((DOCS / "analytics.md").read_text(encoding="utf-8").split())
    assert "applied with the platform's install manifests" not in text
    assert "greenshift analytics --platform-config" in text


OTHERS = """
apiVersion: v1
kind: Service
metadata: {name: own-backend, namespace: wallet-bosa}
spec: {ports: [{port: 80}]}
---
apiVersion: greenshift.io/v1alpha1
kind: RateCard
currency: EUR
"""


@pytest.mark.parametrize(
    ("document", "error"),
    [
        ("apiVersion: greenshift.io/v1alpha1\nkind: Foo\nmetadata: {name: x}\n", "unknown kind 'Foo'"),
        ("apiVersion: greenshift.io/v1beta1\nkind: WalletTenant\nmetadata: {name: x}\n", "apiVersion"),
        ("apiVersion: other.io/v1\nkind: DocumentSource\nmetadata: {name: x}\n", "apiVersion"),
        ("kind: Thing\nmetadata: {name: x}\n", "unknown kind 'Thing'"),
    ],
)
def test_what_render_and_validate_pass_over_and_refuse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], document: str, error: str
) -> None:
    """docs/render.md and docs/validate.md: other objects and RateCards pass, the rest is an error."""
    bosa = str(ROOT / "examples" / "bosa")
    platform = ["--platform-config", str(ROOT / "examples" / "platform-config.yaml")]  # its ClusterIssuer
    others = tmp_path / "others.yaml"
    others.write_text(OTHERS)
    assert main(["render", "-f", bosa, "-f", str(others)]) == 0
    assert main(["validate", *platform, "-f", bosa, "-f", str(others)]) == 0
    assert "(1 other Kubernetes object passed over)" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text(document)
    assert main(["render", "-f", bosa, "-f", str(bad)]) == 1
    assert main(["validate", "-f", bosa, "-f", str(bad)]) == 1
    captured = capsys.readouterr()
    assert error in captured.err
    assert error in captured.out
