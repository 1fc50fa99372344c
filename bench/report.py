"""Figures of one benchmark run: classification of the server's counts, the table, the files."""

import json
import statistics
from collections.abc import Mapping
from pathlib import Path
from typing import Any

GREENSHIFT = ("wallettenants.greenshift.io", "documentsources.greenshift.io", "gatewayroutes.greenshift.io")
EVENTS = ("events", "events.events.k8s.io")
WRITE_VERBS = ("create", "update", "patch", "apply", "delete", "deletecollection")
CONTROLLER_MANAGER_USER = "system:kube-controller-manager"
KUBELET_USER = "greenshift-bench-kubelet"  # the stand-in kubelet's user on the real server
Counts = Mapping[tuple[str, str], int]


def is_write(verb: str) -> bool:
    return verb.split("-")[0] in WRITE_VERBS


def writes(counts: Counts) -> dict[str, int]:
    """Writes by what they wrote: children, custom resource status, custom resource (finalizer), events."""
    out = {"children": 0, "status": 0, "custom_resources": 0, "events": 0}
    for (verb, resource), count in counts.items():
        if not is_write(verb):
            continue
        if resource in GREENSHIFT:
            out["status" if verb.endswith("-status") else "custom_resources"] += count
        elif resource in EVENTS:
            out["events"] += count
        else:
            out["children"] += count
    out["total"] = sum(out.values())
    return out


def by_verb(counts: Counts) -> dict[str, int]:
    out: dict[str, int] = {}
    for (verb, _), count in counts.items():
        out[verb] = out.get(verb, 0) + count
    return dict(sorted(out.items()))


def as_rows(counts: Counts) -> list[dict[str, Any]]:
    return [{"verb": v, "resource": r, "count": c} for (v, r), c in sorted(counts.items())]


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile (p99 of 20 samples is their maximum)."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.4999)))
    return ordered[rank - 1]


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "p50": percentile(samples, 50),
        "p99": percentile(samples, 99),
        "mean": statistics.fmean(samples) if samples else float("nan"),
        "max": max(samples) if samples else float("nan"),
    }


def _fmt(value: Any, digits: int = 2) -> str:
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def table(results: list[dict[str, Any]]) -> str:
    """The headline figures, one column per fleet size, as a markdown table (also readable as text)."""
    rows: list[tuple[str, list[str]]] = []

    def row(label: str, get: Any) -> None:
        rows.append((label, [get(r) for r in results]))

    row("API server", lambda r: r.get("server_kind", "embedded"))
    row("custom resources (children)", lambda r: f"{r['custom_resources']} ({r['children']})")
    row("apply to all Ready, operator (s)", lambda r: _fmt(r["create"]["seconds"]))
    row("same children, plain client (s)", lambda r: _fmt(r["baseline"]["seconds"]))
    row(
        "  plain client, until its Deployments are available (s)",
        lambda r: _fmt(r["baseline"].get("deployments_available_seconds", "-")),
    )
    row("efficiency ratio (target >= 0.5)", lambda r: _fmt(r["efficiency_ratio"]))
    row(
        "requests per CR, creation (real server: writes)",
        lambda r: _fmt(r["create"]["requests_per_cr"]["total"]),
    )
    row(
        "  by verb",
        lambda r: ", ".join(
            f"{v} {_fmt(c)}" for v, c in r["create"]["requests_per_cr"]["by_verb"].items() if c >= 0.005
        ),
    )
    row(
        "writes on creation: children / status / CR / events",
        lambda r: "{children} / {status} / {custom_resources} / {events}".format(**r["create"]["writes"]),
    )
    row(
        "budget: children + 2 x CRs (target: within)",
        lambda r: f"{r['create']['writes']['total']} of {r['create']['write_budget']}",
    )
    row(
        "most status writes on one custom resource, creation (target <= 2)",
        lambda r: str(r["create"].get("most_status_writes_per_cr", "-")),
    )
    row("writes on no-op restart (target 0)", lambda r: str(r["noop"]["restart"]["writes"]["total"]))
    row(
        "writes on no-op timer resync (target 0)",
        lambda r: str(r["noop"]["timer"]["writes"]["total"]) if r["noop"]["timer"]["measured"] else "-",
    )
    row(
        "restart to idle (s)",
        lambda r: (
            _fmt(r["noop"]["restart"]["seconds"]) + ("" if r["noop"]["restart"]["settled"] else "+ (busy)")
        ),
    )
    row(
        "CPU during creation, operator / API server (s)",
        lambda r: " / ".join(
            _fmt(r["create"][field], 1) if field in r["create"] else "-"
            for field in ("operator_cpu_seconds", "api_server_cpu_seconds")
        ),
    )
    row(
        "CPU during creation, etcd / controller manager / fake kubelet / benchmark (s)",
        lambda r: " / ".join(
            _fmt(value, 1) if isinstance(value, float) else "-"
            for value in (
                *(
                    r["create"].get("cluster_cpu_seconds", {}).get(k)
                    for k in ("etcd", "controller_manager", "kubelet")
                ),
                r["create"].get("bench_cpu_seconds"),
            )
        ),
    )
    row(
        "writes during creation, controller manager / fake kubelet",
        lambda r: " / ".join(
            str(r["create"].get("writes_by_user", {}).get(user, "-"))
            for user in (CONTROLLER_MANAGER_USER, KUBELET_USER)
        ),
    )
    row(
        "API server / etcd CPU, plain client (s)",
        lambda r: " / ".join(
            _fmt(value, 1) if isinstance(value, float) else "-"
            for value in (
                r["baseline"].get("api_server_cpu_seconds"),
                r["baseline"].get("cluster_cpu_seconds", {}).get("etcd"),
            )
        ),
    )
    row(
        "other load on the machine during creation (CPU s)",
        lambda r: _fmt(r["create"]["foreign_cpu_seconds"], 1),
    )
    row("operator peak RSS, MiB (target <= 250)", lambda r: _fmt(r["rss_mib"]["peak"], 1))
    row("change to Ready p50 (s)", lambda r: _fmt(r["change"]["seconds"]["p50"], 3))
    row("change to Ready p99 (s) (target <= 2)", lambda r: _fmt(r["change"]["seconds"]["p99"], 3))
    header = "| N | " + " | ".join(str(r["size"]) for r in results) + " |"
    rule = "|---|" + "---|" * len(results)
    body = [f"| {label} | " + " | ".join(cells) + " |" for label, cells in rows]
    return "\n".join([header, rule, *body])


def targets(result: dict[str, Any]) -> dict[str, bool]:
    create = result["create"]
    return {
        "efficiency_ratio_ge_0_5": result["efficiency_ratio"] >= 0.5,
        "creation_writes_within_budget": create["writes"]["total"] <= create["write_budget"],
        "creation_child_and_status_writes_within_budget": (
            create["writes"]["children"] <= result["children"]
            and create["writes"]["status"] <= 2 * result["custom_resources"]
            and create.get("most_status_writes_per_cr", 0) <= 2
        ),
        "zero_writes_on_noop_restart": result["noop"]["restart"]["writes"]["total"] == 0,
        "zero_writes_on_noop_timer_resync": result["noop"]["timer"].get("writes", {}).get("total", 0) == 0,
        "rss_le_250_mib": result["rss_mib"]["peak"] <= 250,
        "p99_change_to_ready_le_2_s": result["change"]["seconds"]["p99"] <= 2.0,
    }


def write(folder: Path, run: dict[str, Any]) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    as_json = folder / "latest.json"
    as_json.write_text(json.dumps(run, indent=2, sort_keys=False) + "\n")
    lines = [
        f"# Greenshift benchmark ({run['started']})",
        "",
        f"{run['environment']['cpus']} CPUs, Python {run['environment']['python']}, "
        f"commit {run['environment']['commit']}{' (dirty tree)' if run['environment']['dirty'] else ''}, "
        f"{run['settings']['workers']} operator workers, {run['settings']['changes']} spec changes per size.",
        "",
        *sorted({f"API server: {r['server']}." for r in run["results"] if r.get("server")}),
        "",
        table(run["results"]),
        "",
        "## Targets",
        "",
        "| target | " + " | ".join(f"N={r['size']}" for r in run["results"]) + " |",
        "|---|" + "---|" * len(run["results"]),
    ]
    names = list(targets(run["results"][0])) if run["results"] else []
    for name in names:
        cells = ["met" if r["targets"][name] else "**missed**" for r in run["results"]]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    as_md = folder / "latest.md"
    as_md.write_text("\n".join(lines) + "\n")
    return as_json, as_md
