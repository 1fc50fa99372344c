"""``greenshift validate``: exit codes, one line per problem, and no traceback on bad input."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from greenshift.cli import main

REPO = Path(__file__).resolve().parents[3]

VALID = """\
apiVersion: greenshift.io/v1alpha1
kind: WalletTenant
metadata:
  name: bosa
spec:
  displayName: FOD BOSA
  agency: BOSA
  owners: [{kind: Group, name: bosa-admins}]
  allowedHosts: ["*.bosa.wallet.belgium.be"]
---
apiVersion: greenshift.io/v1alpha1
kind: DocumentSource
metadata:
  name: identity
  namespace: wallet-bosa
spec:
  documentType: identity
  displayName: Identity card
  upstream: {url: "https://rrn.fsb.belgium.be/api"}
  connector: {image: "registry.greenshift.local/certified/identity:1.2.0"}
"""

ROUTE = """\
apiVersion: greenshift.io/v1alpha1
kind: GatewayRoute
metadata:
  name: identity
  namespace: wallet-bosa
spec:
  host: api.bosa.wallet.belgium.be
  pathPrefix: {path}
  backend: {{documentSource: {{name: identity}}}}
  authentication: {{type: none}}
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = main(["validate", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out.splitlines()


def test_valid_files_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(tmp_path, "tenant.yaml", VALID)
    _write(tmp_path, "route.yaml", ROUTE.format(path="/identity/v1"))
    code, lines = _run(capsys, "-f", str(tmp_path))
    assert (code, lines) == (0, ["3 resources valid"])


def test_warnings_only_exit_0_with_a_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(tmp_path, "tenant.yaml", VALID)
    route = _write(tmp_path, "route.yaml", ROUTE.format(path="/Identity"))
    code, lines = _run(capsys, "-f", str(tmp_path))
    assert code == 0
    assert lines == [
        f"{route}:1: warning: GatewayRoute/identity: spec.pathPrefix: "
        "segment 'Identity' is not lowerCamelCase (e.g. documentTypes, v2) [belgif REST guide]",
        "3 resources valid, 1 warning",
    ]


def test_errors_exit_1_one_line_each_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = VALID.replace("https://rrn", "http://rrn").replace("certified/identity:1.2.0", "certified/identity")
    path = _write(tmp_path, "all.yaml", bad)
    code, lines = _run(capsys, "-f", str(path))
    assert code == 1
    assert lines == [
        f"{path}:11: DocumentSource/identity: spec.upstream.url: "
        "must be an https:// URL (http:// is rejected)",
        f"{path}:11: DocumentSource/identity: spec.connector.image: "
        "image registry.greenshift.local/certified/identity "
        "is not pinned: use a tag other than latest (:1.4.2) or a digest (@sha256:...)",
        "2 errors, 0 warnings in 2 resources",
    ]


def test_platform_config_flag_enforces_the_style_guide(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(tmp_path, "tenant.yaml", VALID)
    _write(tmp_path, "route.yaml", ROUTE.format(path="/Identity"))
    config = _write(tmp_path / "..", "platform.yaml", "kind: PlatformConfig\nstyleGuide: enforce\n")
    code, lines = _run(capsys, "--platform-config", str(config), "-f", str(tmp_path))
    assert code == 1
    assert ": GatewayRoute/identity: spec.pathPrefix: segment 'Identity'" in lines[0]
    assert "warning" not in lines[0]


def test_bad_platform_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _write(tmp_path, "platform.yaml", "kind: PlatformConfig\nstyleGuide: sometimes\n")
    code, lines = _run(capsys, "--platform-config", str(config), "-f", str(config))
    assert code == 1
    assert lines == [f"{config}: styleGuide: must be one of enforce, warn, off, got 'sometimes'"]


def test_allowed_issuers_shape_and_rule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """certificates.allowedIssuers (issue 16, item 8): its shape is checked, and a route naming an
    issuer it does not allow is an error."""
    bad = _write(
        tmp_path, "bad.yaml", "kind: PlatformConfig\ncertificates: {allowedIssuers: [{name: acme}]}\n"
    )
    code, lines = _run(capsys, "--platform-config", str(bad), "-f", str(bad))
    assert code == 1
    assert lines == [
        f"{bad}: certificates.allowedIssuers[0]: must give both kind (Issuer or ClusterIssuer) and name"
    ]
    folder = tmp_path / "gitops"
    folder.mkdir()
    _write(folder, "tenant.yaml", VALID)
    tls = "  tls: {issuerRef: {kind: ClusterIssuer, name: letsencrypt}}\n"
    _write(folder, "route.yaml", ROUTE.format(path="/identity") + tls)
    code, lines = _run(capsys, "-f", str(folder))
    assert code == 1
    assert "GatewayRoute/identity: spec.tls.issuerRef: ClusterIssuer letsencrypt is not allowed" in lines[0]
    allowed = _write(
        tmp_path,
        "platform.yaml",
        "kind: PlatformConfig\ncertificates:\n  allowedIssuers: [{kind: ClusterIssuer, name: letsencrypt}]\n",
    )
    code, lines = _run(capsys, "--platform-config", str(allowed), "-f", str(folder))
    assert code == 0, lines


def test_malformed_yaml_names_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(tmp_path, "good.yaml", VALID)
    broken = _write(tmp_path, "broken.yaml", "apiVersion: v1\nkind: [unclosed\nmetadata: {}\n")
    code, lines = _run(capsys, "-f", str(tmp_path))
    assert code == 1
    assert lines[0].startswith(f"{broken}:3: malformed YAML:")
    assert lines[-1] == "1 error, 0 warnings in 2 resources"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("- a\n- b\n", "a manifest must be a mapping"),
        ("kind: WalletTenant\n", "apiVersion: unknown apiVersion None for WalletTenant"),
        (
            "apiVersion: greenshift.io/v1alpha1\nkind: WalletTenant\nmetadata: {name: x}\nspec: 5\n",
            "spec: must be an object",
        ),
        ("apiVersion: greenshift.io/v1alpha1\nkind: Tenant\n", "kind: unknown kind 'Tenant'"),
        ("\t\tbad: indent", "malformed YAML"),
        ("apiVersion: greenshift.io/v1alpha1\nmetadata: {name: x}\n", "?/x: kind: required"),
    ],
)
def test_bad_input_gets_a_message_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, fragment: str
) -> None:
    path = _write(tmp_path, "x.yaml", text)
    code, lines = _run(capsys, "-f", str(path))
    assert code == 1
    assert any(fragment in line for line in lines), lines


def test_unreadable_and_missing_paths(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\x80\x81\x82")
    code, lines = _run(capsys, "-f", str(binary), "-f", str(tmp_path / "nope.yaml"))
    assert code == 1
    assert lines[0].startswith(f"{binary}: cannot read")
    assert lines[1] == f"{tmp_path / 'nope.yaml'}: no such file or folder"


def test_empty_folder_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = _run(capsys, "-f", str(tmp_path))
    assert code == 1
    assert "no YAML documents found" in lines[0]


def test_entry_point_prints_no_traceback(tmp_path: Path) -> None:
    path = _write(tmp_path, "x.yaml", textwrap.dedent("kind: [\n"))
    entry_point = Path(sys.executable).parent / "greenshift"
    result = subprocess.run(
        [str(entry_point), "validate", "-f", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.startswith(f"{path}:2: malformed YAML:")


def test_examples_are_valid(capsys: pytest.CaptureFixture[str]) -> None:
    examples = REPO / "examples"
    if not any(examples.rglob("*.yaml")):
        pytest.skip("examples/ holds no manifests yet")
    code, lines = _run(capsys, "-f", str(examples))
    assert code == 0, lines
