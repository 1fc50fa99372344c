"""docs/operator.md: one row per option of ``greenshift run`` (the argparse parser), with the
parser's default wherever the row gives one in backticks."""

import argparse

from docs_support import CODE, DOCS, code_value, table_rows

from greenshift.cli import build_parser


def run_actions() -> list[argparse.Action]:
    parser = build_parser("run")
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    run = sub.choices["run"]
    return [a for a in run._actions if a.option_strings and "--help" not in a.option_strings]


def run_rows() -> list[list[str]]:
    text = (DOCS / "operator.md").read_text(encoding="utf-8")
    table = text[text.index("| option | default | meaning |") : text.index("## How it reconciles")]
    return table_rows(table)


def documented_flags(cell: str) -> set[str]:
    return {code.split()[0] for code in CODE.findall(cell) if code.startswith("-")}


def test_every_run_option_is_documented_and_nothing_else() -> None:
    documented = [documented_flags(row[0]) for row in run_rows()]
    assert all(documented), "a row without an option"
    expected = [set(a.option_strings) for a in run_actions()]
    assert sorted(map(sorted, documented)) == sorted(map(sorted, expected))


def test_run_defaults_are_the_parsers() -> None:
    by_flag = {s: a for a in run_actions() for s in a.option_strings}
    for row in run_rows():
        action = by_flag[sorted(documented_flags(row[0]))[0]]
        default = row[1]
        if CODE.search(default):
            assert code_value(default) == action.default, row[0]
        elif default == "off":
            assert action.default is False, row[0]
        else:
            assert action.default in (None, False, []), (
                f"{row[0]}: the parser has a default, {action.default!r}"
            )
