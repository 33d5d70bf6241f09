#!/usr/bin/env python3
"""Structural checks of ZeroTrace's monitoring files (collector/, monitoring/).

What promtool and amtool cannot see: that the files agree with each other and
with the metric contract. Exits non-zero with one line per problem.

  python3 scripts/check_monitoring_files.py [--repo PATH]

Needs Python 3 and PyYAML.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from urllib.parse import urlparse

try:
    import yaml
except ImportError:  # pragma: no cover
    sys.exit("check_monitoring_files: PyYAML is missing (pip install pyyaml)")

# --------------------------------------------------------------------------
# The metric contract (shared METRICS.md): name -> (kind, labels).
# Kept here so the check runs without shared/; when ../shared/METRICS.md is
# present the table there must say exactly the same.
# --------------------------------------------------------------------------
CONTRACT = {
    "zerotrace_scan_duration_seconds": ("histogram", {"scan_type", "status"}),
    "zerotrace_files_scanned_total": ("counter", {"file_type"}),
    "zerotrace_vulnerabilities_found_total": ("counter", {"severity", "type"}),
    "zerotrace_agent_cpu_usage_percent": ("gauge", {"agent_id"}),
    "zerotrace_agent_memory_usage_bytes": ("gauge", {"agent_id"}),
    "zerotrace_enrichment_requests_total": ("counter", {"status"}),
    "zerotrace_enrichment_duration_seconds": ("histogram", set()),
    "zerotrace_cve_cache_hits_total": ("counter", set()),
    "zerotrace_cve_cache_misses_total": ("counter", set()),
    "zerotrace_enrichment_active_connections": ("gauge", set()),
    "zerotrace_api_requests_total": ("counter", {"method", "endpoint", "status"}),
    "zerotrace_api_request_duration_seconds": ("histogram", {"method", "endpoint"}),
    "zerotrace_api_active_connections": ("gauge", set()),
}
# Bucket boundaries the services use (seconds; services/telemetry/src/instruments.rs
# *_BUCKETS); rules may only read these `le`s. scripts/monitoring-live-test.sh
# checks the `le`s against the live scrape instead.
BUCKETS = {
    "zerotrace_scan_duration_seconds": [0.01, 0.025, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800],
    "zerotrace_enrichment_duration_seconds": [0.0001, 0.00025, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    "zerotrace_api_request_duration_seconds": [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
}
# Series the services emit beyond the contract (METRICS.md "Series beyond the
# contract"): name -> (kind, labels, emitting service). The same names as
# SERIES_BEYOND_CONTRACT in services/telemetry/src/instruments.rs (checked),
# each documented in collector/README.md and monitoring/README.md (checked).
BEYOND_CONTRACT = {
    "zerotrace_advisory_data_age_seconds": ("gauge", {"source"}, "enrichment"),
    "zerotrace_advisory_data_entries": ("gauge", {"source"}, "enrichment"),
    "zerotrace_advisory_data_max_age_seconds": ("gauge", set(), "enrichment"),
    "zerotrace_advisory_syncs_total": ("counter", {"source", "outcome"}, "enrichment"),
    "zerotrace_findings_open": ("gauge", {"severity", "known_exploited"}, "api"),
    "zerotrace_agents": ("gauge", {"status"}, "api"),
    "zerotrace_findings_resolved_total": ("counter", set(), "api"),
}
EXTRA_SERIES = {"up": set(), "target_info": set()}
TARGET_LABELS = {"job", "instance"}

SERVICES = {"zerotrace-agent", "zerotrace-enrichment", "zerotrace-api"}
# What an alert's `service` label may name: a service, or the collector in front of them.
ALERT_SERVICES = SERVICES | {"otel-collector"}
SEVERITIES = {"critical", "warning", "info"}
RUNBOOK_PREFIX = "https://github.com/zerotrace/zerotrace/blob/main/monitoring/runbooks/"
PORTS = {"otlp_grpc": 4317, "otlp_http": 4318, "collector_prometheus": 8889, "alertmanager": 9093,
         "zerotrace-agent": 9101, "zerotrace-enrichment": 9102, "zerotrace-api": 9103}

# Component types shipped by otelcol-contrib that this config may use.
OTELCOL_CONTRIB = {
    "receivers": {"otlp", "prometheus", "hostmetrics", "filelog"},
    "processors": {"memory_limiter", "batch", "resource", "resourcedetection", "attributes", "filter", "transform"},
    # otlp_grpc/otlp_http: the OTLP exporters' names since v0.144.0 (otlp/otlphttp: deprecated aliases).
    "exporters": {"prometheus", "prometheusremotewrite", "otlp_grpc", "otlp_http", "otlp", "otlphttp", "debug"},
    "extensions": {"health_check", "pprof", "zpages"},
    "connectors": {"spanmetrics", "forward"},
}


def contract_table(text: str) -> dict[str, tuple[str, set[str], str]]:
    """Parses the METRICS.md table: name -> (kind, labels, emitting service)."""
    names: dict[str, tuple[str, set[str], str]] = {}
    for line in text.splitlines():
        m = re.match(r"\|\s*`(zerotrace_[a-z0-9_]+)`\s*\|\s*([^|]+)\|\s*([^|]+)\|\s*([^|]*)\|", line)
        if not m:
            continue
        kind = m.group(2).strip().split()[0]
        labels = set(re.findall(r"`([a-z_]+)`", m.group(3)))
        names[m.group(1)] = (kind, labels, m.group(4).strip())
    return names


PROMQL_KEYWORDS = {"and", "or", "unless", "bool", "by", "without", "on", "ignoring",
                   "group_left", "group_right", "offset", "inf", "nan", "atan2"}


class Checker:
    def __init__(self, repo: Path):
        self.repo = repo
        self.errors: list[str] = []
        self.passed: list[str] = []

    def fail(self, msg: str) -> None:
        self.errors.append(msg)

    def ok(self, msg: str) -> None:
        self.passed.append(msg)

    def load_yaml(self, rel: str):
        path = self.repo / rel
        if not path.is_file():
            self.fail(f"{rel}: missing")
            return None
        try:
            return yaml.safe_load(path.read_text())
        except yaml.YAMLError as e:
            self.fail(f"{rel}: invalid YAML: {e}")
            return None

    # ------------------------------------------------------------- contract --
    def check_contract_doc(self) -> None:
        doc = self.repo.parent / "shared" / "METRICS.md"
        if not doc.is_file():
            self.ok("contract: ../shared/METRICS.md absent, using the embedded list")
            return
        names = {name: (kind, labels) for name, (kind, labels, _) in contract_table(doc.read_text()).items()}
        if set(names) != set(CONTRACT):
            self.fail(f"contract: METRICS.md lists {sorted(set(names) ^ set(CONTRACT))} differently from this script")
        for name, (kind, labels) in names.items():
            if name in CONTRACT and CONTRACT[name] != (kind, labels):
                self.fail(f"contract: {name} is {kind} {sorted(labels)} in METRICS.md, {CONTRACT[name]} here")
        self.ok(f"contract: METRICS.md table matches the {len(CONTRACT)} embedded series")

    def check_beyond_contract(self) -> None:
        """The series beyond the contract: one list in Rust and here, documented in both READMEs."""
        source = (self.repo / "services/telemetry/src/instruments.rs").read_text()
        m = re.search(r"SERIES_BEYOND_CONTRACT: \[&str; \d+\] = \[(.*?)\];", source, re.S)
        rust = set(re.findall(r'"(zerotrace_[a-z0-9_]+)"', m.group(1))) if m else set()
        failures = len(self.errors)
        if rust != set(BEYOND_CONTRACT):
            self.fail(f"beyond the contract: instruments.rs lists {sorted(rust)}, this script {sorted(BEYOND_CONTRACT)}")
        for doc in ("collector/README.md", "monitoring/README.md"):
            text = (self.repo / doc).read_text() if (self.repo / doc).is_file() else ""
            missing = sorted(n for n in BEYOND_CONTRACT if n not in text)
            if missing:
                self.fail(f"{doc}: does not document {missing}")
        if len(self.errors) == failures:
            self.ok(
                f"beyond the contract: {len(BEYOND_CONTRACT)} series, the same in Rust, documented in both READMEs"
            )

    # --------------------------------------------------------------- promql --
    def series_labels(self, name: str, recorded: set[str]) -> set[str] | None:
        """Labels a series may carry, or None if the name is not allowed."""
        if name in CONTRACT:
            kind, labels = CONTRACT[name]
            return None if kind == "histogram" else labels | TARGET_LABELS
        for suffix in ("_bucket", "_sum", "_count"):
            base = name[: -len(suffix)]
            if name.endswith(suffix) and CONTRACT.get(base, ("",))[0] == "histogram":
                extra = {"le"} if suffix == "_bucket" else set()
                return CONTRACT[base][1] | TARGET_LABELS | extra
        if name in BEYOND_CONTRACT:
            return BEYOND_CONTRACT[name][1] | TARGET_LABELS
        if name in EXTRA_SERIES:
            return EXTRA_SERIES[name] | TARGET_LABELS
        if name in recorded:
            return {"job"}
        return None

    def check_promql(self, where: str, expr: str, recorded: set[str]) -> set[str]:
        """Checks series and label names in one expression; returns the series used."""
        all_labels = set(TARGET_LABELS) | {"le"}
        for _, labels in CONTRACT.values():
            all_labels |= labels
        for _, labels, _ in BEYOND_CONTRACT.values():
            all_labels |= labels
        s = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
        s = re.sub(r"'(?:[^'\\]|\\.)*'", "''", s)
        used: set[str] = set()
        # metric{matchers}
        for m in re.finditer(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}", s):
            name = m.group(1)
            allowed = self.series_labels(name, recorded)
            if allowed is None:
                continue  # reported below as an unknown series
            for label in re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)", m.group(2)):
                if label not in allowed:
                    self.fail(f"{where}: label `{label}` is not a label of {name}")
        # le matchers must name a real bucket boundary (le="1" for the SLO).
        for m in re.finditer(r"([a-z_]+)_bucket\s*\{([^}]*)\}", expr):
            base = m.group(1)
            for op, raw in re.findall(r'\ble\s*(=~|=)\s*"((?:[^"\\]|\\.)*)"', m.group(2)):
                value = raw.replace("\\\\", "\\")
                bounds = BUCKETS.get(base, [])
                spelled = [f"{b:g}" for b in bounds] + [f"{float(b)!r}" for b in bounds]
                hit = (value in spelled) if op == "=" else any(re.fullmatch(value, b) for b in spelled)
                if not hit:
                    self.fail(f"{where}: le{op}\"{raw}\" matches no bucket boundary of {base} {bounds}")
        s = re.sub(r"\{[^}]*\}", " ", s)
        s = re.sub(r"\[[^\]]*\]", " ", s)
        for m in re.finditer(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)", s):
            for label in re.findall(r"[a-zA-Z_][a-zA-Z0-9_]*", m.group(2)):
                if label not in all_labels:
                    self.fail(f"{where}: `{m.group(1)} ({label})` names a label no contract series has")
        s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", s)
        s = re.sub(r"\boffset\s+-?[0-9a-z]+", " ", s)
        s = re.sub(r"(?<![A-Za-z0-9_:.])\d+(\.\d+)?([eE][+-]?\d+)?", " ", s)
        for m in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", s):
            tok = m.group(0)
            if tok.lower() in PROMQL_KEYWORDS or s[m.end():].lstrip().startswith("("):
                continue
            if self.series_labels(tok, recorded) is None:
                self.fail(f"{where}: `{tok}` is not a contract series (METRICS.md), up, target_info or a recording rule")
            used.add(tok)
        return used

    # ---------------------------------------------------------------- rules --
    def check_rules(self) -> tuple[set[str], set[str]]:
        doc = self.load_yaml("monitoring/alert-rules.yml")
        alerts: set[str] = set()
        recorded: set[str] = set()
        if not doc:
            return alerts, recorded
        rules = [r for g in doc.get("groups", []) for r in g.get("rules", [])]
        recorded = {r["record"] for r in rules if "record" in r}
        for r in rules:
            where = f"alert-rules.yml {r.get('alert') or r.get('record')}"
            self.check_promql(where, r["expr"], recorded)
            if "record" in r:
                if not re.fullmatch(r"[a-z_]+:[a-z0-9_]+:[a-z0-9_]+", r["record"]):
                    self.fail(f"{where}: recording rule names follow level:metric:operation")
                continue
            name = r["alert"]
            alerts.add(name)
            labels, ann = r.get("labels", {}), r.get("annotations", {})
            if labels.get("severity") not in SEVERITIES:
                self.fail(f"{where}: severity must be one of {sorted(SEVERITIES)}, got {labels.get('severity')!r}")
            if labels.get("service") not in ALERT_SERVICES:
                self.fail(f"{where}: service must be one of {sorted(ALERT_SERVICES)}, got {labels.get('service')!r}")
            for key in ("summary", "description", "runbook_url"):
                if not str(ann.get(key, "")).strip():
                    self.fail(f"{where}: annotation {key} missing")
            for key in ("summary", "description"):
                if "{{" not in str(ann.get(key, "")) and key == "description":
                    self.fail(f"{where}: description should be templated ({{{{ $labels… }}}} or {{{{ $value }}}})")
            if ann.get("runbook_url") != f"{RUNBOOK_PREFIX}{name}.md":
                self.fail(f"{where}: runbook_url must be {RUNBOOK_PREFIX}{name}.md")
            if not (self.repo / "monitoring" / "runbooks" / f"{name}.md").is_file():
                self.fail(f"{where}: runbook monitoring/runbooks/{name}.md missing")
        for book in (self.repo / "monitoring" / "runbooks").glob("*.md"):
            if book.stem != "README" and book.stem not in alerts:
                self.fail(f"runbooks/{book.name}: no alert of that name")
            if book.stem in alerts:
                for block in re.findall(r"```promql\n(.*?)```", book.read_text(), re.S):
                    for line in block.splitlines():
                        if line.strip() and not line.strip().startswith("#"):
                            self.check_promql(f"runbooks/{book.name}", line, recorded)
        self.ok(f"rules: {len(alerts)} alerts, {len(recorded)} recording rules; labels, annotations, runbooks and series names checked")
        return alerts, recorded

    def check_rule_tests(self, alerts: set[str]) -> None:
        firing: dict[str, int] = {}
        silent: dict[str, int] = {}
        files = sorted((self.repo / "monitoring" / "tests").glob("*.yml"))
        if not files:
            self.fail("monitoring/tests: no promtool test files")
        for f in files:
            doc = yaml.safe_load(f.read_text()) or {}
            if not any(Path(p).name == "alert-rules.yml" for p in doc.get("rule_files", [])):
                self.fail(f"tests/{f.name}: rule_files does not load alert-rules.yml")
            for test in doc.get("tests", []):
                for case in test.get("alert_rule_test", []) or []:
                    name = case.get("alertname")
                    if name not in alerts:
                        self.fail(f"tests/{f.name}: tests unknown alert {name!r}")
                    exp = case.get("exp_alerts") or []
                    if exp:
                        firing[name] = firing.get(name, 0) + 1
                        for a in exp:
                            if not a.get("exp_labels") or not a.get("exp_annotations"):
                                self.fail(f"tests/{f.name} ({test.get('name')}): firing case for {name} must check exp_labels and exp_annotations")
                    else:
                        silent[name] = silent.get(name, 0) + 1
        for name in sorted(alerts):
            if not firing.get(name):
                self.fail(f"tests: no promtool case where {name} fires")
            if not silent.get(name):
                self.fail(f"tests: no promtool case where {name} stays silent")
        self.ok(f"tests: every alert has firing ({sum(firing.values())}) and silent ({sum(silent.values())}) cases")

    # ------------------------------------------------------------ collector --
    def check_collector(self) -> dict:
        cfg = self.load_yaml("collector/otel-collector.yaml")
        if not cfg:
            return {}
        service = cfg.get("service", {})
        used: dict[str, set[str]] = {k: set() for k in OTELCOL_CONTRIB}
        for ext in service.get("extensions", []):
            used["extensions"].add(ext)
        for pname, pipe in service.get("pipelines", {}).items():
            if pname.split("/")[0] not in {"metrics", "traces", "logs"}:
                self.fail(f"collector: pipeline {pname!r} is not metrics/traces/logs")
            for kind in ("receivers", "processors", "exporters"):
                for comp in pipe.get(kind, []):
                    used[kind].add(comp)
            if pipe.get("processors", [None])[0] != "memory_limiter":
                self.fail(f"collector: pipeline {pname}: memory_limiter must come first")
        for kind, names in used.items():
            defined = cfg.get(kind) or {}
            for comp in names:
                if comp not in defined:
                    self.fail(f"collector: {kind[:-1]} {comp!r} used in service but not defined")
            for comp in defined:
                ctype = comp.split("/")[0]
                if ctype not in OTELCOL_CONTRIB[kind]:
                    self.fail(f"collector: {kind[:-1]} type {ctype!r} is not one otelcol-contrib ships (known: {sorted(OTELCOL_CONTRIB[kind])})")
                if comp not in names:
                    self.fail(f"collector: {kind[:-1]} {comp!r} defined but unused")
        ml = (cfg.get("processors") or {}).get("memory_limiter") or {}
        for key in ("check_interval", "limit_mib", "spike_limit_mib"):
            if key not in ml:
                self.fail(f"collector: memory_limiter.{key} missing")
        prom = (cfg.get("exporters") or {}).get("prometheus") or {}
        if "namespace" in prom:
            self.fail("collector: prometheus exporter must not set a namespace (it would prefix the contract names)")
        # job and instance come from service.name and service.instance.id
        # whatever the settings; copying every resource attribute onto every
        # series (or the scope onto every series) would give the collector's
        # series labels the direct scrape does not have.
        for key in ("resource_to_telemetry_conversion", "resource_constant_labels"):
            if (prom.get(key) or {}).get("enabled") or (prom.get(key) or {}).get("included"):
                self.fail(f"collector: prometheus exporter must not set {key} (resource attributes belong on target_info)")
        if prom.get("without_scope_info") is not True:
            self.fail("collector: prometheus exporter needs without_scope_info: true (no otel_scope_* labels, as the direct scrape)")
        ports = {}
        otlp = ((cfg.get("receivers") or {}).get("otlp") or {}).get("protocols") or {}
        ports["otlp_grpc"] = port_of((otlp.get("grpc") or {}).get("endpoint"))
        ports["otlp_http"] = port_of((otlp.get("http") or {}).get("endpoint"))
        ports["collector_prometheus"] = port_of(prom.get("endpoint"))
        for key, port in ports.items():
            if port != PORTS[key]:
                self.fail(f"collector: {key} listens on {port}, expected {PORTS[key]}")
        jaeger = (cfg.get("exporters") or {}).get("otlp_grpc/jaeger") or {}
        if jaeger.get("endpoint") != "${env:JAEGER_OTLP_ENDPOINT}":
            self.fail("collector: otlp_grpc/jaeger endpoint must be ${env:JAEGER_OTLP_ENDPOINT}")
        self.ok("collector: every pipeline component defined and of a shipped type; ports 4317/4318/8889")
        return ports

    # ----------------------------------------------------------- prometheus --
    def check_prometheus(self) -> None:
        direct = self.load_yaml("monitoring/prometheus.yml") or {}
        jobs = {j["job_name"]: j for j in direct.get("scrape_configs", [])}
        for svc in sorted(SERVICES):
            job = jobs.get(svc)
            targets = [t for sc in (job or {}).get("static_configs", []) for t in sc.get("targets", [])]
            if targets != [f"127.0.0.1:{PORTS[svc]}"]:
                self.fail(f"prometheus.yml: job {svc} must scrape 127.0.0.1:{PORTS[svc]}, has {targets}")
        self.check_common_prom("monitoring/prometheus.yml", direct, "127.0.0.1")
        coll = self.load_yaml("monitoring/prometheus-collector.yml") or {}
        jobs = {j["job_name"]: j for j in coll.get("scrape_configs", [])}
        job = jobs.get("otel-collector")
        if not job:
            self.fail("prometheus-collector.yml: no otel-collector job")
        else:
            targets = [t for sc in job.get("static_configs", []) for t in sc.get("targets", [])]
            if targets != [f"otel-collector:{PORTS['collector_prometheus']}"]:
                self.fail(f"prometheus-collector.yml: otel-collector job must scrape otel-collector:{PORTS['collector_prometheus']}")
            if job.get("honor_labels") is not True:
                self.fail("prometheus-collector.yml: otel-collector job needs honor_labels: true (keeps job = service.name)")
        if set(jobs) & SERVICES:
            self.fail("prometheus-collector.yml: must not scrape the services directly (double counting)")
        self.check_common_prom("monitoring/prometheus-collector.yml", coll, "alertmanager")
        self.ok("prometheus: direct jobs on 9101-9103, collector job on 8889 with honor_labels, rule file and alertmanager set")

    def check_common_prom(self, rel: str, cfg: dict, am_host: str) -> None:
        if cfg.get("rule_files") != ["alert-rules.yml"]:
            self.fail(f"{rel}: rule_files must be [alert-rules.yml]")
        ams = [t for a in (cfg.get("alerting") or {}).get("alertmanagers", [])
               for sc in a.get("static_configs", []) for t in sc.get("targets", [])]
        if ams != [f"{am_host}:{PORTS['alertmanager']}"]:
            self.fail(f"{rel}: alertmanager target must be {am_host}:{PORTS['alertmanager']}, has {ams}")

    # --------------------------------------------------------- alertmanager --
    def check_alertmanager(self, alerts: set[str]) -> None:
        cfg = self.load_yaml("monitoring/alertmanager.yml")
        if not cfg:
            return
        route = cfg.get("route", {})
        if set(route.get("group_by", [])) != {"alertname", "service"}:
            self.fail("alertmanager.yml: group_by must be [alertname, service]")
        routed = {}
        for r in route.get("routes", []):
            for m in r.get("matchers", []):
                mm = re.fullmatch(r'severity="(\w+)"', m)
                if mm:
                    routed[mm.group(1)] = r.get("receiver")
        want = {"critical": "pager", "warning": "team", "info": "ticket"}
        if routed != want:
            self.fail(f"alertmanager.yml: severity routes {routed}, expected {want}")
        receivers = {r["name"]: r for r in cfg.get("receivers", [])}
        for name in want.values():
            if name not in receivers:
                self.fail(f"alertmanager.yml: receiver {name} missing")
        for r in receivers.values():
            for w in r.get("webhook_configs", []):
                host = urlparse(w.get("url", "")).hostname or ""
                if not host.endswith(".webhook.invalid"):
                    self.fail(f"alertmanager.yml: receiver {r['name']} has a real URL committed; use the .webhook.invalid placeholder (render-config.sh)")
        names_in_inhibit = set()
        for rule in cfg.get("inhibit_rules", []):
            for m in rule.get("source_matchers", []) + rule.get("target_matchers", []):
                mm = re.fullmatch(r'alertname=~?"([^"]+)"', m)
                if mm:
                    names_in_inhibit |= set(mm.group(1).split("|"))
        for n in sorted(names_in_inhibit - alerts):
            self.fail(f"alertmanager.yml: inhibit rule names unknown alert {n}")
        down = {"EnrichmentServiceDown", "APIDown", "AgentNotReporting"}
        if not any(set(re.findall(r"[A-Za-z]+", " ".join(r.get("source_matchers", [])))) >= down
                   and r.get("equal") == ["service"] for r in cfg.get("inhibit_rules", [])):
            self.fail("alertmanager.yml: no inhibit rule from the service-down alerts with equal: [service]")
        self.ok("alertmanager: severity routes, group_by, inhibition names, no committed webhook URLs")

    # ------------------------------------------------------------- grafana --
    def check_grafana(self, recorded: set[str]) -> None:
        ds = self.load_yaml("monitoring/grafana/datasources/datasources.yml") or {}
        uids = {d.get("uid"): d for d in ds.get("datasources", [])}
        for uid, typ in (("zerotrace-prometheus", "prometheus"), ("zerotrace-jaeger", "jaeger")):
            if uids.get(uid, {}).get("type") != typ:
                self.fail(f"datasources.yml: needs a {typ} data source with uid {uid}")
        prov = self.load_yaml("monitoring/grafana/dashboards/dashboards.yml") or {}
        if not any(p.get("type") == "file" for p in prov.get("providers", [])):
            self.fail("dashboards.yml: needs a file provider")
        want = {"agent-performance.json", "enrichment.json", "api.json", "overview.json", "fleet-exposure.json"}
        ddir = self.repo / "monitoring" / "grafana" / "dashboards"
        have = {p.name for p in ddir.glob("*.json")}
        for missing in sorted(want - have):
            self.fail(f"grafana: dashboard {missing} missing")
        uids_seen = set()
        for path in sorted(ddir.glob("*.json")):
            where = f"dashboards/{path.name}"
            d = json.loads(path.read_text())
            if d.get("uid") in uids_seen:
                self.fail(f"{where}: duplicate uid {d.get('uid')}")
            uids_seen.add(d.get("uid"))
            if int(d.get("schemaVersion", 0)) < 39:
                self.fail(f"{where}: schemaVersion {d.get('schemaVersion')} < 39")
            panels = list(d.get("panels", []))
            for p in list(panels):
                panels += p.get("panels", [])
            ids = [p.get("id") for p in panels]
            if len(ids) != len(set(ids)):
                self.fail(f"{where}: duplicate panel ids")
            for p in panels:
                pw = f"{where} panel {p.get('title')!r}"
                if p.get("type") not in {"timeseries", "stat", "row"}:
                    self.fail(f"{pw}: type {p.get('type')!r} (use timeseries or stat)")
                if p.get("type") == "row":
                    continue
                if p.get("datasource") != {"type": "prometheus", "uid": "zerotrace-prometheus"}:
                    self.fail(f"{pw}: datasource must be referenced by uid zerotrace-prometheus")
                for t in p.get("targets", []):
                    expr = t.get("expr", "")
                    if t.get("datasource", {}).get("uid") != "zerotrace-prometheus":
                        self.fail(f"{pw}: query datasource must be uid zerotrace-prometheus")
                    self.check_promql(pw, expr, set())  # dashboards: contract series only
                    for hq in re.finditer(r"histogram_quantile\(", expr):
                        rest = expr[hq.end():]
                        if not re.search(r"rate\([a-z_]+_bucket\{[^}]*\}\[\$__(rate_interval|range)\]\)", rest):
                            self.fail(f"{pw}: histogram_quantile must read rate(…_bucket[$__rate_interval])")
                    if re.search(r"\[\d+[smhd]\]", expr):
                        self.fail(f"{pw}: use $__rate_interval (or $__range), not a fixed range")
            for v in d.get("templating", {}).get("list", []):
                q = v.get("query")
                q = q.get("query", "") if isinstance(q, dict) else (q or "")
                m = re.fullmatch(r"label_values\((.*),\s*([a-zA-Z_]+)\)", q)
                if v.get("type") == "query":
                    if not m:
                        self.fail(f"{where} variable {v.get('name')}: expected label_values(series, label)")
                    else:
                        self.check_promql(f"{where} variable {v.get('name')}", m.group(1), set())
        self.ok(f"grafana: data source uids, {len(have)} dashboards use contract series by uid, histograms via rate(_bucket)")

    # -------------------------------------------------------------- compose --
    def check_compose(self, coll_ports: dict) -> None:
        for rel in ("monitoring/docker-compose.monitoring.yml", "monitoring/docker-compose.yml"):
            cfg = self.load_yaml(rel)
            if not cfg:
                continue
            base = (self.repo / rel).parent
            services = cfg.get("services", {})
            for name, svc in services.items():
                for vol in svc.get("volumes", []):
                    src = vol.split(":")[0] if isinstance(vol, str) else vol.get("source", "")
                    if src.startswith("."):
                        if not (base / src).exists():
                            self.fail(f"{rel}: {name} mounts {src}, which does not exist")
                build = svc.get("build")
                if build:
                    ctx = base / (build if isinstance(build, str) else build.get("context", "."))
                    if not ctx.is_dir():
                        self.fail(f"{rel}: {name} build context {ctx} missing")
                    if isinstance(build, dict) and build.get("dockerfile") and not (ctx / build["dockerfile"]).is_file():
                        self.fail(f"{rel}: {name} dockerfile {build['dockerfile']} missing")
                image = svc.get("image", "")
                if image and ":" not in image.split("/")[-1]:
                    self.fail(f"{rel}: {name} image {image} is not pinned to a tag")
                if image.startswith("prom/prometheus") and "--web.enable-admin-api" in " ".join(svc.get("command", [])):
                    self.fail(f"{rel}: {name} must not enable the admin API")
                if image.startswith("grafana/grafana"):
                    env = svc.get("environment", {})
                    if env.get("GF_SECURITY_ADMIN_PASSWORD") != "${GF_SECURITY_ADMIN_PASSWORD:?set it}":
                        self.fail(f"{rel}: grafana admin password must be ${{GF_SECURITY_ADMIN_PASSWORD:?set it}}")
                    if str(env.get("GF_AUTH_ANONYMOUS_ENABLED", "false")).lower() != "false" or "GF_AUTH_ANONYMOUS_ORG_ROLE" in env:
                        self.fail(f"{rel}: grafana must not allow anonymous access")
            prom = services.get("prometheus", {})
            mounts = {v.split(":")[1]: v.split(":")[0] for v in prom.get("volumes", []) if v.startswith(".")}
            want_cfg = "./prometheus.yml" if "monitoring.yml" in rel else "./prometheus-collector.yml"
            if mounts.get("/etc/prometheus/prometheus.yml") != want_cfg:
                self.fail(f"{rel}: prometheus must load {want_cfg}")
            if mounts.get("/etc/prometheus/alert-rules.yml") != "./alert-rules.yml":
                self.fail(f"{rel}: prometheus must mount alert-rules.yml beside its config")
            am = services.get("alertmanager", {})
            if f"--web.listen-address=0.0.0.0:{PORTS['alertmanager']}" not in " ".join(am.get("command", [])):
                self.fail(f"{rel}: alertmanager must listen on :{PORTS['alertmanager']}")
            if rel.endswith("docker-compose.yml"):
                self.check_full_compose(rel, services, coll_ports)
        self.ok("compose: mounted files exist, images pinned, no admin API, Grafana password required, ports agree")

    def check_full_compose(self, rel: str, services: dict, coll_ports: dict) -> None:
        for need in ("otel-collector", "prometheus", "alertmanager", "grafana", "jaeger"):
            if need not in services:
                self.fail(f"{rel}: service {need} missing")
        coll = services.get("otel-collector", {})
        if not coll.get("image", "").startswith("otel/opentelemetry-collector-contrib:"):
            self.fail(f"{rel}: otel-collector must run otelcol-contrib")
        published = {int(str(p).split(":")[-1]) for p in coll.get("ports", [])}
        for key in ("otlp_grpc", "otlp_http"):
            if coll_ports.get(key) and coll_ports[key] not in published:
                self.fail(f"{rel}: otel-collector does not publish {key} port {coll_ports[key]}")
        jep = coll.get("environment", {}).get("JAEGER_OTLP_ENDPOINT", "")
        jhost, _, jport = jep.partition(":")
        jaeger = services.get(jhost, {})
        if not jaeger or str(jaeger.get("environment", {}).get("COLLECTOR_OTLP_ENABLED")) != "true" or jport != "4317":
            self.fail(f"{rel}: JAEGER_OTLP_ENDPOINT {jep!r} must be <jaeger service>:4317 with COLLECTOR_OTLP_ENABLED")
        apps = [n for n, s in services.items() if "OTEL_EXPORTER_OTLP_ENDPOINT" in s.get("environment", {})]
        if not apps:
            self.fail(f"{rel}: no ZeroTrace service sets OTEL_EXPORTER_OTLP_ENDPOINT")
        for n in apps:
            ep = urlparse(services[n]["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"])
            if ep.hostname != "otel-collector" or ep.port != coll_ports.get("otlp_grpc"):
                self.fail(f"{rel}: {n} pushes to {ep.geturl()}, expected http://otel-collector:{coll_ports.get('otlp_grpc')}")
        ds = self.load_yaml("monitoring/grafana/datasources/datasources.yml") or {}
        default_ports = {"prometheus": 9090, "jaeger": 16686}
        for d in ds.get("datasources", []):
            u = urlparse(d.get("url", ""))
            if u.hostname not in services or default_ports.get(u.hostname) != u.port:
                self.fail(f"datasources.yml: {d.get('name')} URL {d.get('url')} does not match a compose service port")


def port_of(endpoint) -> int | None:
    """Port of host:port, or of the default in ${env:VAR:-host:port}."""
    if not endpoint:
        return None
    m = re.fullmatch(r"\$\{env:[A-Za-z_][A-Za-z0-9_]*:-([^}]*)\}", str(endpoint))
    if m:
        endpoint = m.group(1)
    try:
        return int(str(endpoint).rsplit(":", 1)[1])
    except (IndexError, ValueError):
        return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repo", type=Path, default=Path(__file__).resolve().parent.parent)
    args = ap.parse_args()
    c = Checker(args.repo.resolve())
    c.check_contract_doc()
    c.check_beyond_contract()
    alerts, recorded = c.check_rules()
    c.check_rule_tests(alerts)
    ports = c.check_collector()
    c.check_prometheus()
    c.check_alertmanager(alerts)
    c.check_grafana(recorded)
    c.check_compose(ports)
    for msg in c.passed:
        print(f"ok    {msg}")
    for msg in c.errors:
        print(f"FAIL  {msg}", file=sys.stderr)
    if c.errors:
        print(f"check_monitoring_files: {len(c.errors)} problem(s)", file=sys.stderr)
        return 1
    print("check_monitoring_files: all structural checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
