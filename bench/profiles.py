"""Summaries of py-spy's raw (collapsed stack) profiles: where the operator's samples went.

python bench/profiles.py PROFILE.txt [--top 30]
"""

import argparse
import collections
import re
from pathlib import Path
from typing import Any

FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^():]*)(?::\d+)?\)$")
IDLE_LEAVES = ("select", "poll", "epoll_wait", "_worker", "wait")  # event loop or pool thread waiting
AREAS = (  # first match wins, checked from the leaf upwards
    ("greenshift render (jinja2 templates)", ("greenshift/render/", "jinja2/")),
    ("greenshift controllers", ("greenshift/controllers/",)),
    ("greenshift API client", ("greenshift/kube/",)),
    ("kopf", ("kopf/",)),
    ("aiohttp / network", ("aiohttp/", "asyncio/selector_events", "asyncio/streams", "ssl.py")),
    ("json / yaml", ("json/", "yaml/")),
    ("asyncio loop", ("asyncio/",)),
)


def _frame(text: str) -> tuple[str, str]:
    match = FRAME.match(text.strip())
    if match is None:
        return text.strip(), ""
    file = match["file"]
    for marker in ("site-packages/", "/operator/", "/lib/python3.11/"):
        if marker in file:
            file = file.split(marker, 1)[1]
    return match["func"], file


def is_idle(frames: list[tuple[str, str]]) -> bool:
    return not frames or frames[-1][0].rsplit(".", 1)[-1] in IDLE_LEAVES


def parse(path: Path) -> list[tuple[list[tuple[str, str]], int]]:
    stacks = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [_frame(f) for f in stack.split(";") if f.strip()]
        frames = [f for f in frames if f[1] or "(" not in f[0]]  # drop the process/thread pseudo-frames
        stacks.append((frames, int(count)))
    return stacks


def summarize(path: Path, top: int = 25) -> dict[str, Any]:
    stacks = parse(path)
    total = sum(count for _, count in stacks)
    idle = sum(count for frames, count in stacks if is_idle(frames))
    busy = total - idle
    leaf: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    areas: collections.Counter[str] = collections.Counter()
    for frames, count in stacks:
        if is_idle(frames):
            continue
        leaf[f"{frames[-1][0]} ({frames[-1][1]})"] += count
        for name in {f"{func} ({file})" for func, file in frames}:
            inclusive[name] += count
        area = "other"
        for _func, file in reversed(frames):
            found = next((label for label, marks in AREAS if any(m in file for m in marks)), None)
            if found is not None:
                area = found
                break
        areas[area] += count

    def share(counter: collections.Counter[str]) -> list[dict[str, Any]]:
        return [
            {"where": name, "samples": n, "busy_share": round(n / busy, 4) if busy else 0.0}
            for name, n in counter.most_common(top)
        ]

    return {
        "file": str(path),
        "samples": total,
        "idle_share": round(idle / total, 4) if total else 0.0,
        "areas_by_leaf": share(areas),
        "top_self": share(leaf),
        "top_inclusive": share(inclusive),
    }


def format_summary(summary: dict[str, Any]) -> str:
    lines = [
        f"{summary['file']}: {summary['samples']} samples, "
        f"{summary['idle_share']:.0%} idle (event loop or pool threads waiting; --idle samples every thread)"
    ]
    for title, key in (
        ("areas (by leaf)", "areas_by_leaf"),
        ("self", "top_self"),
        ("inclusive", "top_inclusive"),
    ):
        lines.append(f"  {title}, share of busy samples:")
        lines += [f"    {row['busy_share']:6.1%}  {row['where']}" for row in summary[key]]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    print(format_summary(summarize(args.profile, args.top)))
