"""Issue 16, item 9: a few hundred bytes of nested YAML anchors and aliases (the "billion laughs")
are refused by the loader of ``greenshift validate`` and ``render`` in milliseconds, with a clear
error, instead of keeping the tools busy for minutes; small aliases stay allowed."""

import time
from pathlib import Path

import pytest

from greenshift.cli import main
from greenshift.loader import MAX_EXPANDED_NODES, LoadError, load_documents


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """A WalletTenant whose spec names the last of ``levels`` anchors, each ``width`` aliases of the
    previous: ``width ** levels`` strings once expanded (387 million for 9 x 9), in about 650 bytes."""
    lines = [
        "apiVersion: greenshift.io/v1alpha1",
        "kind: WalletTenant",
        "metadata: {name: bomb}",
        f"x0: &a0 [{', '.join(['lol'] * width)}]",
    ]
    for level in range(1, levels):
        lines.append(f"x{level}: &a{level} [{', '.join([f'*a{level - 1}'] * width)}]")
    lines.append(
        f"spec: {{displayName: x, agency: BOSA, owners: [{{kind: User, name: u}}], extra: *a{levels - 1}}}"
    )
    return "\n".join(lines) + "\n"


def test_the_bomb_is_small() -> None:
    assert len(alias_bomb().encode()) < 700


def test_the_loader_refuses_the_bomb_in_milliseconds(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb())
    started = time.perf_counter()
    with pytest.raises(LoadError, match=r"bomb.yaml:1: YAML aliases expand this document to more than"):
        load_documents([path])
    elapsed = time.perf_counter() - started
    print(f"alias bomb ({len(alias_bomb())} bytes) refused in {elapsed * 1000:.1f} ms")
    assert elapsed < 0.1


def test_validate_refuses_the_bomb_in_milliseconds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb())
    started = time.perf_counter()
    code = main(["validate", "-f", str(path)])
    elapsed = time.perf_counter() - started
    out, err = capsys.readouterr()
    assert code != 0
    assert "YAML aliases expand this document" in out + err
    print(f"greenshift validate on the alias bomb: exit {code} in {elapsed * 1000:.1f} ms")
    assert elapsed < 0.5


def test_a_recursive_alias_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: &loop {a: *loop}\n")
    with pytest.raises(LoadError, match="recursive alias"):
        load_documents([path])


def test_small_aliases_are_still_read(tmp_path: Path) -> None:
    path = tmp_path / "anchors.yaml"
    path.write_text(
        "apiVersion: v1\nkind: List\nitems:\n"
        "- {apiVersion: v1, kind: ConfigMap, metadata: {name: x, labels: &labels {team: a}}}\n"
        "- {apiVersion: v1, kind: ConfigMap, metadata: {name: y, labels: *labels}}\n"
    )
    [first, second] = load_documents([path])
    assert first.body["metadata"]["labels"] == second.body["metadata"]["labels"] == {"team": "a"}


def test_the_limit_is_on_the_expansion_not_on_the_document(tmp_path: Path) -> None:
    """A long document without aliases is bounded by its own text, and read whatever its size."""
    items = "\n".join(f"  k{i}: v" for i in range(MAX_EXPANDED_NODES // 2 + 10))
    path = tmp_path / "big.yaml"
    path.write_text(f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: x}}\ndata:\n{items}\n")
    [doc] = load_documents([path])
    assert len(doc.body["data"]) > MAX_EXPANDED_NODES // 2
