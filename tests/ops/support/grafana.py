"""Read Grafana dashboards and expand their queries the way Grafana does before sending them.

Grafana itself cannot be installed here, so tests/ops/test_grafana.py runs each panel's query
against the real datasource after this expansion: template variables, $__interval and
$__rate_interval (Prometheus), and the PostgreSQL datasource's macros ($__timeFilter,
$__timeGroup[Alias], $__timeFrom/To, $__time, $__timeEpoch), following Grafana's
pkg/tsdb/grafana-postgresql-datasource macro engine.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import yaml

from tests.support.services import ROOT

GRAFANA = ROOT / "grafana"
DASHBOARDS = GRAFANA / "dashboards"
DATASOURCES = GRAFANA / "provisioning" / "datasources" / "signalflow.yml"

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True)
class PanelQuery:
    dashboard: str
    panel: str
    ref_id: str
    datasource_uid: str
    datasource_type: str
    query: str  # expr (Prometheus) or rawSql (PostgreSQL)
    fmt: str = ""

    @property
    def label(self) -> str:
        return f"{self.dashboard} / {self.panel} / {self.ref_id}"


def dashboards() -> dict[str, dict[str, Any]]:
    return {path.name: json.loads(path.read_text()) for path in sorted(DASHBOARDS.glob("*.json"))}


def datasources() -> dict[str, dict[str, Any]]:
    """Provisioned datasources by uid."""
    provisioned = yaml.safe_load(DATASOURCES.read_text())
    return {source["uid"]: source for source in provisioned["datasources"]}


def panel_queries() -> list[PanelQuery]:
    found = []
    for name, dashboard in dashboards().items():
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                source = target.get("datasource") or panel["datasource"]
                query = target.get("expr") or target.get("rawSql") or ""
                found.append(
                    PanelQuery(
                        dashboard=name,
                        panel=panel["title"],
                        ref_id=target["refId"],
                        datasource_uid=source["uid"],
                        datasource_type=source["type"],
                        query=query,
                        fmt=target.get("format", ""),
                    )
                )
    return found


def variable_queries() -> list[tuple[str, dict[str, Any]]]:
    return [
        (name, variable)
        for name, dashboard in dashboards().items()
        for variable in dashboard.get("templating", {}).get("list", [])
    ]


def duration_seconds(text: str) -> float:
    match = re.fullmatch(r"\s*'?(\d+(?:\.\d+)?)(ms|s|m|h|d|w)'?\s*", text)
    if not match:
        raise ValueError(f"not a Grafana duration: {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def duration_text(seconds: float) -> str:
    for unit in ("w", "d", "h", "m", "s"):
        if seconds >= _UNITS[unit] and seconds % _UNITS[unit] == 0:
            return f"{int(seconds // _UNITS[unit])}{unit}"
    return f"{int(seconds * 1000)}ms"


def rate_interval(interval_s: float, scrape_interval_s: float) -> float:
    """Grafana's $__rate_interval: max($__interval + scrape interval, 4 × scrape interval)."""
    return max(interval_s + scrape_interval_s, 4 * scrape_interval_s)


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def variables_substitute(query: str, values: dict[str, list[str]], *, sql: bool) -> str:
    """$name and ${name} → the selected values (SQL: a quoted, comma-separated list; PromQL: a|b regex)."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in values:
            return match.group(0)
        chosen = values[name]
        return ",".join(_sql_literal(v) for v in chosen) if sql else "|".join(re.escape(v) for v in chosen)

    return re.sub(r"\$\{(\w+)\}|\$(?!__)(\w+)", replace, query)


def sql_expand(
    query: str,
    *,
    time_from: datetime,
    time_to: datetime,
    interval_s: float,
    values: dict[str, list[str]],
) -> str:
    text = variables_substitute(query, values, sql=True)
    text = text.replace("$__interval_ms", str(int(interval_s * 1000))).replace("$__interval", duration_text(interval_s))
    start, end = (moment.strftime("%Y-%m-%dT%H:%M:%SZ") for moment in (time_from, time_to))

    def macro(match: re.Match[str]) -> str:
        name = match.group(1)
        args = [arg.strip() for arg in match.group(2).split(",")] if match.group(2).strip() else []
        if name == "timeFilter":
            return f"{args[0]} BETWEEN '{start}' AND '{end}'"
        if name == "timeFrom":
            return f"'{start}'"
        if name == "timeTo":
            return f"'{end}'"
        if name == "time":
            return f'{args[0]} AS "time"'
        if name == "timeEpoch":
            return f'extract(epoch from {args[0]}) AS "time"'
        if name in {"timeGroup", "timeGroupAlias"}:
            seconds = duration_seconds(args[1])
            step = int(seconds) if seconds == int(seconds) else seconds
            grouped = f"floor(extract(epoch from {args[0]})/{step})*{step}"
            return grouped + (' AS "time"' if name == "timeGroupAlias" else "")
        raise ValueError(f"macro $__{name} is not expanded by this test: add it to tests/ops/support/grafana.py")

    expanded = re.sub(r"\$__(\w+)\(([^()]*)\)", macro, text)
    leftover = re.search(r"\$\w+", expanded)
    if leftover:
        raise ValueError(f"unexpanded {leftover.group(0)} in {expanded}")
    return expanded


def promql_expand(query: str, *, interval_s: float, scrape_interval_s: float, range_s: float) -> str:
    text = query.replace("$__rate_interval", duration_text(rate_interval(interval_s, scrape_interval_s)))
    text = text.replace("$__interval", duration_text(interval_s))
    text = text.replace("$__range_s", str(int(range_s))).replace("$__range", duration_text(range_s))
    leftover = re.search(r"\$\w+", text)
    if leftover:
        raise ValueError(f"unexpanded {leftover.group(0)} in {text}")
    return text
