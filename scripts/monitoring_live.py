#!/usr/bin/env python3
"""Helpers of scripts/monitoring-live-test.sh and scripts/monitoring-local.sh.

Generates run-time copies of the monitoring files (never hand-kept duplicates),
records Alertmanager webhooks, and checks a live Prometheus against the metric
contract, the rules and the dashboards.

  monitoring_live.py gen-rules IN OUT --for 2s
  monitoring_live.py gen-prometheus IN OUT --rules PATH --alertmanager ADDR \\
      --target JOB=ADDR ... [--interval 1s]
  monitoring_live.py gen-alertmanager-timing IN OUT --group-wait 1s --group-interval 2s
  monitoring_live.py webhook --listen 127.0.0.1:PORT --out FILE
  monitoring_live.py wait-ready --prometheus URL [--timeout S]
  monitoring_live.py check-series --prometheus URL
  monitoring_live.py check-queries --prometheus URL
  monitoring_live.py check-healthy --prometheus URL
  monitoring_live.py check-selectors --prometheus URL
  monitoring_live.py wait-alert --log FILE --alert NAME --status firing|resolved [--timeout S]
  monitoring_live.py check-inhibited --prometheus URL --log FILE --since EPOCH --alert NAME ...
  monitoring_live.py wait-value --prometheus URL --query PROMQL --value N [--timeout S] [--label L]
  monitoring_live.py check-trace --jaeger URL --trace-id HEX [--timeout S]
  monitoring_live.py compare-latency FILE.jsonl --max-ratio 1.10

What the generators change (everything else is copied as loaded):
  gen-rules              every rule's `for:` becomes the given duration (rules
                         without `for:` keep none). Expressions, range windows,
                         labels and annotations are untouched; the generator
                         asserts that nothing else differs.
  gen-prometheus         scrape targets of each job (every job of the source
                         must be mapped, so a new job is never scraped from a
                         stale address), the alertmanager target, rule_files
                         (the given path), and with --interval the global
                         scrape_interval/evaluation_interval (scrape_timeout is
                         capped at the interval).
  gen-alertmanager-timing every `group_wait:`/`group_interval:` (root route and
                         sub-routes) becomes the given value; receivers,
                         routes, matchers, inhibition and repeat_interval are
                         untouched. Run it on the output of render-config.sh.

Exit status of the checks: 0 when every item passes, 1 otherwise. Each check
prints one `PASS`/`FAIL` line, with indented detail lines above it.
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.dont_write_bytecode = True  # no __pycache__ in scripts/
import check_monitoring_files as cmf  # noqa: E402  (the static checker: contract list and PromQL parser)

yaml = cmf.yaml
REPO = Path(__file__).resolve().parent.parent
MONITORING = REPO / "monitoring"

# Values the live test gives Grafana's variables (documented in monitoring/README.md).
# Custom variables use their allValue `.*` ("All"); $__range is the dashboards'
# default time range (6h); $__rate_interval is what Grafana computes for a
# 6 h range at ~1 s scrapes, rounded up (it must hold a few scrapes).
GRAFANA_VARS = {
    "$__rate_interval": "30s",
    "$__interval": "15s",
    "$__range": "6h",
}
GRAFANA_ALL = ".*"

# Alerts whose signal only exists during a fault the healthy test run does not
# cause; their threshold-free expression may be empty (see check_queries).
FAULT_ONLY = {
    "ScanFailures": "needs a failed scan (it fires once enrichment is stopped)",
    "APIHighErrorRatio": "needs a server-side gRPC error code",
}
# A direct scrape has no collector job: the collector's alert has nothing to see.
FAULT_ONLY_PULL = {"OTelCollectorDown": "the pull topology scrapes no collector"}
# Behind the collector `up` describes the collector, not the services: these
# alerts see a service through absent() of its series, empty while it pushes.
# (Test c. fires EnrichmentServiceDown on that path.)
FAULT_ONLY_PUSH = {
    name: "behind the collector its signal is absent() of the service's series, empty while the service pushes"
    for name in ("EnrichmentServiceDown", "APIDown", "AgentNotReporting")
}
# `OP threshold`: a number or parenthesised arithmetic on numbers after a comparison.
_NUM = r"[0-9.]+(?:\s*[-+*/]\s*[0-9.]+)*"
THRESHOLD = re.compile(rf"(?:==|!=|>=|<=|>|<)\s*(?:\(\s*{_NUM}\s*\)|{_NUM})(?![0-9A-Za-z_(])")


def neutralise(expr: str) -> str:
    """Replaces every comparison with a constant by `> -Inf`: true for any non-NaN value."""
    return THRESHOLD.sub("> -Inf", expr)


# ---------------------------------------------------------------- generators --
def _dump(doc, out: Path, header: str) -> None:
    text = yaml.safe_dump(doc, sort_keys=False, width=4096, allow_unicode=True)
    out.write_text(f"# GENERATED by scripts/monitoring_live.py: {header}\n{text}")


def _duration(value: str) -> str:
    if not re.fullmatch(r"(\d+(ms|s|m|h|d))+", value):
        raise SystemExit(f"monitoring_live: not a Prometheus duration: {value!r}")
    return value


def _seconds(value: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+)(ms|s|m|h|d)", value))


def gen_rules(args) -> int:
    src = Path(args.input)
    doc = yaml.safe_load(src.read_text())
    new = copy.deepcopy(doc)
    changed = 0
    for group in new.get("groups", []):
        for rule in group.get("rules", []):
            if "for" in rule:
                rule["for"] = _duration(args.for_)
                changed += 1

    def strip(d):
        d = copy.deepcopy(d)
        for g in d.get("groups", []):
            for r in g.get("rules", []):
                r.pop("for", None)
        return d

    assert strip(doc) == strip(new), "gen-rules changed more than for:"
    _dump(new, Path(args.output), f"{src.name} with every `for:` set to {args.for_}")
    print(f"gen-rules: {changed} `for:` durations set to {args.for_} ({src} -> {args.output})")
    return 0


def gen_prometheus(args) -> int:
    src = Path(args.input)
    doc = yaml.safe_load(src.read_text())
    targets = dict(t.split("=", 1) for t in args.target)
    jobs = [j["job_name"] for j in doc.get("scrape_configs", [])]
    missing = [j for j in jobs if j not in targets]
    unknown = [j for j in targets if j not in jobs]
    if missing or unknown:
        raise SystemExit(f"gen-prometheus: jobs without a --target: {missing}; --target for unknown jobs: {unknown}")
    for job in doc["scrape_configs"]:
        job["static_configs"] = [{"targets": [targets[job["job_name"]]]}]
    doc["rule_files"] = [str(Path(args.rules).resolve())]
    doc["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [args.alertmanager]}]}]}
    if args.interval:
        g = doc.setdefault("global", {})
        g["scrape_interval"] = g["evaluation_interval"] = _duration(args.interval)
        if _seconds(str(g.get("scrape_timeout", "10s"))) > _seconds(args.interval):
            g["scrape_timeout"] = args.interval
    _dump(doc, Path(args.output), f"{src.name} with test targets, rule file and alertmanager"
          + (f", intervals {args.interval}" if args.interval else ""))
    print(f"gen-prometheus: {len(jobs)} jobs ({', '.join(f'{j}={targets[j]}' for j in jobs)}) -> {args.output}")
    return 0


def gen_alertmanager_timing(args) -> int:
    src = Path(args.input)
    doc = yaml.safe_load(src.read_text())
    new = copy.deepcopy(doc)
    changed = 0

    def walk(route):
        nonlocal changed
        for key, value in (("group_wait", args.group_wait), ("group_interval", args.group_interval)):
            if key in route or route is new["route"]:
                route[key] = _duration(value)
                changed += 1
        for sub in route.get("routes", []) or []:
            walk(sub)

    walk(new["route"])

    def strip(route):
        route = {k: v for k, v in route.items() if k not in ("group_wait", "group_interval")}
        if "routes" in route:
            route["routes"] = [strip(r) for r in route["routes"]]
        return route

    assert strip(doc["route"]) == strip(new["route"]) and \
        {k: v for k, v in doc.items() if k != "route"} == {k: v for k, v in new.items() if k != "route"}, \
        "gen-alertmanager-timing changed more than group_wait/group_interval"
    _dump(new, Path(args.output), f"{src.name} with group_wait {args.group_wait}, group_interval {args.group_interval}")
    Path(args.output).chmod(0o600)  # it holds the rendered webhook URLs
    print(f"gen-alertmanager-timing: {changed} values set -> {args.output}")
    return 0


# ------------------------------------------------------------------- webhook --
def webhook(args) -> int:
    host, port = args.listen.rsplit(":", 1)
    out = Path(args.out)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                payload = json.loads(body)
            except ValueError:
                payload = {"unparsed": body.decode("utf-8", "replace")}
            with out.open("a") as f:
                f.write(json.dumps({"path": self.path, "received": time.time(), "body": payload}) + "\n")
            for a in payload.get("alerts", []) if isinstance(payload, dict) else []:
                print(f"webhook {self.path}: {a.get('status')} {a.get('labels', {}).get('alertname')} "
                      f"{json.dumps(a.get('labels', {}), sort_keys=True)}", flush=True)
            self.send_response(200)
            self.end_headers()

        def do_GET(self):  # noqa: N802  (readiness probe)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok\n")

        def log_message(self, *_):
            pass

    out.touch()
    server = ThreadingHTTPServer((host, int(port)), Handler)
    print(f"webhook: listening on http://{args.listen}/, recording to {out}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


# ------------------------------------------------------------ prometheus API --
class Prom:
    def __init__(self, url: str):
        self.url = url.rstrip("/")

    def get(self, path: str, **params):
        q = urllib.parse.urlencode(params, doseq=True)
        req = f"{self.url}{path}?{q}" if q else f"{self.url}{path}"
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                body = json.load(r)
        except urllib.error.HTTPError as e:
            try:
                body = json.load(e)
            except ValueError:
                return {"status": "error", "error": f"HTTP {e.code}"}
        return body

    def query(self, expr: str):
        return self.get("/api/v1/query", query=expr)

    def series(self, match: str, window: float = 900) -> list[dict]:
        now = time.time()
        body = self.get("/api/v1/series", **{"match[]": match, "start": now - window, "end": now})
        if body.get("status") != "success":
            raise RuntimeError(f"series {match}: {body.get('error')}")
        return body["data"]


def live_labels(prom: Prom) -> dict[str, list[dict]]:
    """Every series Prometheus holds of the contract, recording rules, up and target_info."""
    by_name: dict[str, list[dict]] = {}
    for s in prom.series('{__name__=~"zerotrace_.+|zerotrace:.+|up|target_info"}'):
        by_name.setdefault(s["__name__"], []).append(s)
    return by_name


def contract() -> tuple[dict[str, tuple[str, set[str]]], dict[str, str], str]:
    """The contract (METRICS.md when ../shared is there, else the checker's
    embedded list) and the series beyond it, which the services emit as well."""
    doc = REPO.parent / "shared" / "METRICS.md"
    if doc.is_file():
        table = cmf.contract_table(doc.read_text())
        names = {n: (k, l) for n, (k, l, _) in table.items()}
        emitters = {n: f"zerotrace-{e}" for n, (_, _, e) in table.items()}
        source = str(doc)
    else:
        names, emitters = dict(cmf.CONTRACT), {}
        source = "scripts/check_monitoring_files.py CONTRACT (../shared/METRICS.md absent)"
    for n, (k, l, e) in cmf.BEYOND_CONTRACT.items():
        names[n] = (k, l)
        emitters[n] = f"zerotrace-{e}"
    return names, emitters, source + " and BEYOND_CONTRACT"


def expected_names(name: str, kind: str) -> list[str]:
    return [f"{name}_{s}" for s in ("bucket", "sum", "count")] if kind == "histogram" else [name]


def wait_ready(args) -> int:
    """Waits until every contract series and recording rule has samples, then a few more scrapes."""
    prom = Prom(args.prometheus)
    names, _, _ = contract()
    want = {n for name, (kind, _) in names.items() for n in expected_names(name, kind)}
    rules = _rules()
    want |= {r["record"] for r in rules if "record" in r}
    deadline = time.time() + args.timeout
    missing = want
    while time.time() < deadline:
        try:
            have = set(live_labels(prom))
        except (OSError, RuntimeError):
            have = set()
        missing = want - have
        if not missing:
            time.sleep(args.settle)  # more scrapes, so rate() windows hold increments
            print(f"wait-ready: {len(want)} series present")
            return 0
        time.sleep(1)
    print(f"wait-ready: after {args.timeout:.0f}s still missing {sorted(missing)}", file=sys.stderr)
    return 1


def _rules() -> list[dict]:
    doc = yaml.safe_load((MONITORING / "alert-rules.yml").read_text())
    return [r for g in doc.get("groups", []) for r in g.get("rules", [])]


# ------------------------------------------------------------------- checks --
class Report:
    def __init__(self, name: str):
        self.name, self.failures, self.count = name, 0, 0

    def ok(self, msg: str) -> None:
        self.count += 1
        print(f"    ok    {msg}")

    def fail(self, msg: str) -> None:
        self.count += 1
        self.failures += 1
        print(f"    FAIL  {msg}")

    def done(self, summary: str) -> int:
        verdict = "FAIL" if self.failures else "PASS"
        print(f"{verdict} {self.name}: {summary}" + (f" ({self.failures} of {self.count} failed)" if self.failures else ""))
        return 1 if self.failures else 0


def check_series(args) -> int:
    """a. Every contract series is in Prometheus, from its service, with exactly its labels.

    Also: each series' (job, instance) is a target Prometheus knows through
    `target_info` (the service's resource), and no other `zerotrace_` name
    exists (a doubled `_total_total`, a unit suffix twice, a stray series).
    """
    prom = Prom(args.prometheus)
    names, emitters, source = contract()
    live = live_labels(prom)
    rep = Report("a. contract series in Prometheus")
    print(f"    contract from {source}")
    targets = {(s.get("job"), s.get("instance")) for s in live.get("target_info", [])}
    expected: set[str] = set()
    for name, (kind, labels) in names.items():
        for series in expected_names(name, kind):
            expected.add(series)
            found = live.get(series, [])
            if not found:
                rep.fail(f"{series}: no series in Prometheus")
                continue
            extra = {"le"} if series.endswith("_bucket") and kind == "histogram" else set()
            have = set().union(*(set(s) for s in found)) - {"__name__"} - cmf.TARGET_LABELS
            jobs = sorted({s.get("job", "") for s in found})
            problems = []
            if have != labels | extra:
                problems.append(f"labels {sorted(have)}, contract says {sorted(labels | extra)}")
            if name in emitters and jobs != [emitters[name]]:
                problems.append(f"job {jobs}, contract says emitted by {emitters[name]}")
            unknown = sorted({(s.get("job"), s.get("instance")) for s in found} - targets)
            if unknown:
                problems.append(f"(job, instance) {unknown} has no target_info{{job, instance}}")
            if any(not s.get("instance") for s in found):
                problems.append("a series without `instance`")
            if problems:
                rep.fail(f"{series}: " + "; ".join(problems))
            else:
                instances = sorted({s.get("instance", "") for s in found})
                rep.ok(f"{series} ({len(found)} series, job={','.join(jobs)}, instance={','.join(instances)}, "
                       f"labels {sorted(have) or '-'})")
    recorded = {r["record"] for r in _rules() if "record" in r}
    allowed = expected | set(cmf.EXTRA_SERIES) | recorded
    stray = sorted(n for n in live if n.startswith("zerotrace") and n not in allowed)
    if stray:
        rep.fail(f"series outside the contract (doubled suffix?): {stray}")
    else:
        rep.ok("no zerotrace series outside the contract and the recording rules")
    return rep.done(f"{len(names)} contract names")


class LiveChecker(cmf.Checker):
    """The static checker's PromQL parser, with the live Prometheus as the list of series.

    check_promql() asks series_labels() which labels a name may carry (None: the
    name is not allowed); here the answer is what Prometheus actually holds.
    """

    def __init__(self, live: dict[str, list[dict]]):
        super().__init__(REPO)
        self.live = {n: set().union(*(set(s) for s in ss)) - {"__name__"} for n, ss in live.items()}

    def series_labels(self, name, recorded):
        return self.live.get(name)


def substitute(expr: str) -> str:
    for var, value in GRAFANA_VARS.items():
        expr = expr.replace(var, value)
    return re.sub(r"\$\{?([a-zA-Z_][a-zA-Z0-9_]*)(?::[a-z]+)?\}?", GRAFANA_ALL, expr)


def all_queries():
    """Yields (kind, where, expr) of every PromQL the project ships, Grafana variables substituted.

    kind: record | alert (alert-rules.yml), panel, variable (the series of a
    label_values() variable: (series, label) as expr), runbook (```promql blocks;
    an indented line continues the expression above).
    """
    for r in _rules():
        kind = "record" if "record" in r else "alert"
        yield kind, f"alert-rules.yml {kind} {r.get(kind)}", r["expr"]
    for path in sorted((MONITORING / "grafana" / "dashboards").glob("*.json")):
        d = json.loads(path.read_text())
        for v in d.get("templating", {}).get("list", []):
            if v.get("type") != "query":
                continue
            q = v.get("query")
            q = q.get("query", "") if isinstance(q, dict) else (q or "")
            m = re.fullmatch(r"label_values\((.*),\s*([a-zA-Z_]+)\)", substitute(q))
            yield "variable", f"dashboards/{path.name} variable ${v.get('name')}", (m.groups() if m else q)
        panels = list(d.get("panels", []))
        for p in list(panels):
            panels += p.get("panels", [])
        for p in panels:
            for t in p.get("targets", []):
                if t.get("expr"):
                    where = f"dashboards/{path.name} {p.get('title')!r} {t.get('refId', '')}".rstrip()
                    yield "panel", where, substitute(t["expr"])
    for book in sorted((MONITORING / "runbooks").glob("*.md")):
        for block in re.findall(r"```promql\n(.*?)```", book.read_text(), re.S):
            exprs: list[str] = []
            for line in block.splitlines():
                if not line.strip() or line.strip().startswith("#"):
                    continue
                if line[:1].isspace() and exprs:
                    exprs[-1] += " " + line.strip()
                else:
                    exprs.append(line.strip())
            for expr in exprs:
                yield "runbook", f"runbooks/{book.name}", expr


def check_queries(args) -> int:
    """b. Rules, dashboard queries and variables evaluate on live data and use only live series/labels."""
    prom = Prom(args.prometheus)
    live = live_labels(prom)
    # le matchers must name a boundary the services really emit.
    cmf.BUCKETS = {
        n[: -len("_bucket")]: sorted(float(s["le"]) for s in ss if s.get("le") not in (None, "+Inf"))
        for n, ss in live.items() if n.endswith("_bucket")
    }
    checker = LiveChecker(live)
    rules = _rules()
    recorded = {r["record"] for r in rules if "record" in r}
    rep = Report("b. rule and dashboard queries on live data")
    fault_only = dict(FAULT_ONLY, **(FAULT_ONLY_PUSH if args.path == "push" else FAULT_ONLY_PULL))

    def evaluate(where: str, expr: str, need_data: bool) -> None:
        before = len(checker.errors)
        checker.check_promql(where, expr, recorded)
        new = [e.replace("is not a contract series (METRICS.md), up, target_info or a recording rule",
                         "has no series in the live Prometheus") for e in checker.errors[before:]]
        body = prom.query(expr)
        if body.get("status") != "success":
            rep.fail(f"{where}: query error: {body.get('errorType')}: {body.get('error')}")
            return
        result = body["data"]["result"]
        values = [float(r["value"][1]) for r in result] if body["data"]["resultType"] == "vector" else []
        real = [v for v in values if not math.isnan(v)]
        for e in new:
            rep.fail(e)
        if new:
            return
        if need_data and not real:
            rep.fail(f"{where}: no data ({len(result)} result(s), all NaN or empty) although every service runs")
            return
        rep.ok(f"{where}: {len(result)} result(s)" + (f", {len(values) - len(real)} NaN" if len(real) < len(values) else ""))

    # Prometheus's own evaluation of every rule.
    body = prom.get("/api/v1/rules")
    seen = 0
    for g in body.get("data", {}).get("groups", []):
        for r in g["rules"]:
            seen += 1
            if r.get("health") != "ok":
                rep.fail(f"rule {r['name']} in {g['name']}: health {r.get('health')}: {r.get('lastError')}")
    if seen != len(rules):
        rep.fail(f"Prometheus loaded {seen} rules, alert-rules.yml has {len(rules)}")
    else:
        rep.ok(f"Prometheus evaluates all {seen} rules with health ok")

    runbook_exprs, runbook_failures = 0, 0
    for kind, where, expr in all_queries():
        if kind == "variable":
            if isinstance(expr, str):
                rep.fail(f"{where}: not label_values(series, label): {expr}")
                continue
            series, label = expr
            body = prom.get(f"/api/v1/label/{label}/values", **{"match[]": series, "start": time.time() - 900})
            if body.get("status") != "success" or not body.get("data"):
                rep.fail(f"{where}: label_values({series}, {label}) -> {body.get('error') or 'no values'}")
            else:
                rep.ok(f"{where}: {len(body['data'])} value(s)")
        elif kind == "runbook":
            # What on-call pastes must at least parse and evaluate.
            runbook_exprs += 1
            body = prom.query(expr)
            if body.get("status") != "success":
                runbook_failures += 1
                rep.fail(f"{where}: {expr}: {body.get('error')}")
        else:
            # Panels and recording rules must show data while every service runs; alerts are quiet.
            evaluate(where, expr, kind != "alert")
        if kind == "alert":
            # Without its thresholds the alert must see real (non-NaN) data: a
            # wrong label, matcher or `by` would otherwise keep it silent forever.
            name = where.rsplit(" ", 1)[1]
            signal = neutralise(expr)
            if signal == expr:
                rep.fail(f"alert {name}: no threshold found to neutralise")
            elif name in fault_only:
                body = prom.query(signal)
                if body.get("status") != "success":
                    rep.fail(f"alert {name} without thresholds: {body.get('error')}")
                else:
                    rep.ok(f"alert {name} without thresholds: {len(body['data']['result'])} result(s); "
                           f"may be empty: {fault_only[name]}")
            else:
                evaluate(f"alert {name} without thresholds", signal, True)
    if not runbook_failures:
        rep.ok(f"all {runbook_exprs} runbook PromQL expressions evaluate")
    return rep.done("rules, recording rules, dashboard panels and variables, runbook PromQL")


SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}")
MATCHER = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')


def check_selectors(args) -> int:
    """d. Every `label="value"` matcher names a value Prometheus has seen on that series.

    Run after the fault (enrichment stopped), so that failure values exist
    too. `up{job=...}` of a job only the other topology scrapes is skipped. Regex and negative matchers are not checked (an alternation of error
    codes rightly matches nothing on a healthy system); `le` is checked
    against the live buckets by check-queries.
    """
    prom = Prom(args.prometheus)
    live = live_labels(prom)
    rep = Report("d. label values of every equality matcher exist in Prometheus")
    # Rules and runbooks serve both topologies: `up` of a job only the other
    # topology scrapes cannot exist here (the services' own targets behind the
    # collector, the collector's target in a direct scrape).
    jobs = {name: {j["job_name"] for j in (yaml.safe_load((MONITORING / name).read_text()) or {})["scrape_configs"]}
            for name in ("prometheus.yml", "prometheus-collector.yml")}
    here, there = ("prometheus-collector.yml", "prometheus.yml") if args.path == "push" \
        else ("prometheus.yml", "prometheus-collector.yml")
    other_jobs = jobs[there] - jobs[here]
    seen: set[tuple[str, str, str]] = set()
    for kind, where, expr in all_queries():
        text = expr[0] if kind == "variable" and not isinstance(expr, str) else expr
        for sel in SELECTOR.finditer(text):
            name = sel.group(1)
            for label, op, value in MATCHER.findall(sel.group(2)):
                if op != "=" or label == "le" or (name, label, value) in seen:
                    continue
                seen.add((name, label, value))
                values = {s.get(label) for s in live.get(name, [])}
                if name == "up" and label == "job" and value in other_jobs:
                    rep.ok(f"{name}{{{label}=\"{value}\"}} ({where}): a target of {there} only, not scraped here")
                elif value in values:
                    rep.ok(f"{name}{{{label}=\"{value}\"}} ({where})")
                else:
                    rep.fail(f"{where}: {name}{{{label}=\"{value}\"}} matches nothing; "
                             f"{label} values seen: {sorted(v for v in values if v is not None)}")
    return rep.done(f"{len(seen)} distinct matchers")


def _platform_alerts(prom: "Prom") -> list[dict]:
    """Active alerts about the platform. Exposure alerts (`category: exposure`)
    are about the scanned code, which the test's fixture makes vulnerable on
    purpose: they fire on a healthy platform, and test i. checks them."""
    alerts = prom.get("/api/v1/alerts").get("data", {}).get("alerts", [])
    return [a for a in alerts if a.get("labels", {}).get("category") != "exposure"]


def check_healthy(args) -> int:
    """No platform alert is pending or firing while every service runs."""
    prom = Prom(args.prometheus)
    rep = Report("healthy: no alert pending or firing while every service runs (exposure alerts aside)")
    alerts = _platform_alerts(prom)
    for a in alerts:
        rep.fail(f"{a['labels'].get('alertname')} {a['state']} {json.dumps(a['labels'], sort_keys=True)}")
    if not alerts:
        rep.ok("/api/v1/alerts is empty")
    return rep.done(f"{len(alerts)} active alert(s)")


def wait_healthy(args) -> int:
    """Waits until no alert has been pending or firing for `--quiet` seconds in
    a row (after a fault the test caused itself). One quiet evaluation is not
    enough: right after a restarted collector is scraped, its services' series
    are still on their way (push interval, batch timeout), and their down alerts
    go pending an evaluation later. The window must also cover Alertmanager's
    group_interval, so that their resolved notifications have gone out before
    the next fault."""
    prom = Prom(args.prometheus)
    deadline = time.time() + args.timeout
    alerts = []
    quiet_since = None
    while time.time() < deadline:
        alerts = _platform_alerts(prom)
        if alerts:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.time()
        elif time.time() - quiet_since >= args.quiet:
            print(f"wait-healthy: no alert active for {args.quiet:g}s (exposure alerts aside)")
            return 0
        time.sleep(0.5)
    names = sorted({a["labels"].get("alertname", "?") for a in alerts})
    print(f"FAIL wait-healthy: still active after {args.timeout:.0f}s: {names}")
    return 1


def check_inhibited(args) -> int:
    """Alerts a fault elsewhere must not page for: never delivered, whether
    their rule holds them back or Alertmanager inhibits them."""
    prom = Prom(args.prometheus)
    rep = Report(f"{args.label} inhibited: {', '.join(args.alert)}")
    firing = {a["labels"].get("alertname") for a in prom.get("/api/v1/alerts").get("data", {}).get("alerts", [])
              if a.get("state") == "firing"}
    log = Path(args.log)
    delivered = set()
    for line in log.read_text().splitlines() if log.exists() else []:
        rec = json.loads(line)
        if rec["received"] < args.since:
            continue
        delivered |= {a.get("labels", {}).get("alertname") for a in rec["body"].get("alerts", [])
                      if a.get("status") == "firing"}
    for name in args.alert:
        if name in delivered:
            rep.fail(f"{name} reached the webhook although the collector outage explains it")
        elif name in firing:
            rep.ok(f"{name} firing in Prometheus, inhibited in Alertmanager")
        else:
            rep.ok(f"{name} held back by its rule, not delivered")
    return rep.done(f"{len(args.alert)} alerts")


def wait_alert(args) -> int:
    """c. The alert reached the webhook with its labels and runbook annotation."""
    rules = [r for r in _rules() if r.get("alert") == args.alert]
    if not rules:
        raise SystemExit(f"wait-alert: no alert {args.alert} in alert-rules.yml")
    want_labels = {"alertname": args.alert, **{k: str(v) for k, v in rules[0].get("labels", {}).items()}}
    route = ("security" if want_labels.get("category") == "exposure"
             else {"critical": "pager", "warning": "team", "info": "ticket"}[want_labels["severity"]])
    rep = Report(f"{args.label} {args.alert} {args.status} reached the webhook")
    deadline = time.time() + args.timeout
    log = Path(args.log)
    hit = None
    while time.time() < deadline and hit is None:
        for line in log.read_text().splitlines() if log.exists() else []:
            rec = json.loads(line)
            if args.since and rec["received"] < args.since:
                continue  # an earlier notification, of another fault
            for a in rec["body"].get("alerts", []):
                if a.get("labels", {}).get("alertname") == args.alert and a.get("status") == args.status:
                    hit = (rec, a)
        if hit is None:
            time.sleep(0.5)
    if hit is None:
        rep.fail(f"no {args.status} {args.alert} notification within {args.timeout:.0f}s")
        return rep.done("not delivered")
    rec, a = hit
    waited = rec["received"] - args.since if args.since else None
    rep.ok(f"POST {rec['path']} receiver={rec['body'].get('receiver')}"
           + (f", {waited:.1f}s after the trigger" if waited is not None else ""))
    if rec["path"].strip("/") != route or rec["body"].get("receiver") != route:
        rep.fail(f"routed to {rec['path']} (receiver {rec['body'].get('receiver')}), severity "
                 f"{want_labels['severity']} routes to {route}")
    else:
        rep.ok(f"severity {want_labels['severity']}"
               + (", category exposure," if route == "security" else "") + f" routed to {route}")
    for k, v in want_labels.items():
        if a["labels"].get(k) != v:
            rep.fail(f"label {k}={a['labels'].get(k)!r}, rule says {v!r}")
        else:
            rep.ok(f"label {k}={v}")
    url = a.get("annotations", {}).get("runbook_url", "")
    book = MONITORING / "runbooks" / f"{args.alert}.md"
    if not url.endswith(f"monitoring/runbooks/{args.alert}.md") or not book.is_file():
        rep.fail(f"runbook_url {url!r} does not point at an existing monitoring/runbooks/{args.alert}.md")
    else:
        rep.ok(f"runbook_url {url}")
    for key in ("summary", "description"):
        if not a.get("annotations", {}).get(key):
            rep.fail(f"annotation {key} missing")
    return rep.done(f"labels {json.dumps({k: a['labels'].get(k) for k in want_labels}, sort_keys=True)}")


def wait_value(args) -> int:
    """i. A query's value (one sample, or the sum of the vector) reaches N."""
    prom = Prom(args.prometheus)
    rep = Report(f"{args.label} {args.query} == {args.value:g}")
    deadline = time.time() + args.timeout
    started = time.time()
    seen = None
    while time.time() < deadline:
        body = prom.query(args.query)
        result = body.get("data", {}).get("result", []) if body.get("status") == "success" else []
        if result:
            seen = sum(float(r["value"][1]) for r in result)
            if seen == args.value:
                rep.ok(f"{seen:g} after {time.time() - started:.1f}s")
                return rep.done("reached")
        time.sleep(0.5)
    rep.fail(f"still {seen} after {args.timeout:.0f}s")
    return rep.done("not reached")


# ------------------------------------------------------------------ traces --
TRACE_RPCS = (
    ("zerotrace-enrichment", "zerotrace.enrichment.v1.EnrichmentService/MatchPackages", "match"),
    ("zerotrace-api", "zerotrace.api.v1.ApiService/SubmitScanReport", "report"),
)


def _jaeger_trace(url: str, trace_id: str):
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/api/traces/{trace_id}", timeout=10) as r:
            body = json.load(r)
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return None
        raise
    data = body.get("data") or []
    return data[0] if data else None


def _trace_problems(trace: dict, trace_id: str) -> tuple[list[str], list[str]]:
    """Returns (problems, facts) of one Jaeger trace of a scan."""
    processes = {k: v.get("serviceName") for k, v in trace.get("processes", {}).items()}
    spans = trace.get("spans", [])
    by_id = {s["spanID"]: s for s in spans}

    def service(span):
        return processes.get(span.get("processID"))

    def kind(span):
        return next((t.get("value") for t in span.get("tags", []) if t.get("key") == "span.kind"), "internal")

    def parent(span):
        refs = [r for r in span.get("references", []) if r.get("refType") == "CHILD_OF"]
        return by_id.get(refs[0]["spanID"]) if refs else None

    def find(svc, name, k):
        return [s for s in spans if service(s) == svc and s["operationName"] == name and kind(s) == k]

    problems, facts = [], []
    other = sorted({s["traceID"] for s in spans} - {trace_id})
    if other:
        problems.append(f"spans of other traces {other}")
    services = sorted({service(s) for s in spans})
    facts.append(f"{len(spans)} spans from {', '.join(map(str, services))}")
    for want in ("zerotrace-agent", "zerotrace-enrichment", "zerotrace-api"):
        if want not in services:
            problems.append(f"no span from {want}")
    scans = find("zerotrace-agent", "scan", "internal")
    if len(scans) != 1:
        return problems + [f"{len(scans)} agent `scan` spans, want 1"], facts
    scan = scans[0]
    root = parent(scan)
    if root is None or service(root) != "zerotrace-agent" or kind(root) != "server" \
            or not root["operationName"].endswith("/TriggerScan"):
        problems.append("`scan` is not a child of the agent's TriggerScan server span")
    else:
        facts.append("TriggerScan (agent, server) → scan")
    for phase in ("walk", "match", "report"):
        spans_ = find("zerotrace-agent", phase, "internal")
        if not spans_ or parent(spans_[0]) is not scan:
            problems.append(f"agent `{phase}` span missing or not a child of `scan`")
    for svc, rpc, phase in TRACE_RPCS:
        servers = find(svc, rpc, "server")
        clients = find("zerotrace-agent", rpc, "client")
        if not servers or not clients:
            problems.append(f"{rpc}: server span from {svc} ({len(servers)}) or agent client span ({len(clients)}) missing")
            continue
        server, client = servers[0], clients[0]
        if parent(server) is not client:
            problems.append(f"{rpc}: the {svc} server span's parent is not the agent's client span")
        elif parent(client) is None or parent(client)["operationName"] != phase:
            problems.append(f"{rpc}: the agent's client span is not a child of `{phase}`")
        else:
            facts.append(f"scan → {phase} → {rpc} (agent, client) → ({svc}, server)")
    return problems, facts


def check_trace(args) -> int:
    """The scan is ONE trace in Jaeger: spans of agent, enrichment and API, linked parent to child."""
    trace_id = args.trace_id.lower()
    rep = Report(f"trace {trace_id} in Jaeger")
    if not re.fullmatch(r"[0-9a-f]{32}", trace_id):
        rep.fail(f"not a trace id: {args.trace_id!r}")
        return rep.done("no trace")
    deadline = time.time() + args.timeout
    problems, facts = ["not found"], []
    while time.time() < deadline:
        try:
            trace = _jaeger_trace(args.jaeger, trace_id)
        except (OSError, ValueError) as e:
            trace, problems = None, [f"Jaeger query failed: {e}"]
        if trace is not None:
            problems, facts = _trace_problems(trace, trace_id)
            if not problems:
                break
        time.sleep(1)
    for f in facts:
        rep.ok(f)
    for p in problems:
        rep.fail(p)
    return rep.done("one trace across the three services" if not problems else "incomplete")


def compare_latency(args) -> int:
    """The p99 of a simple RPC with the collector down is within --max-ratio of the healthy runs."""
    runs = [json.loads(line) for line in Path(args.input).read_text().splitlines() if line.strip()]
    groups: dict[str, list[float]] = {}
    for r in runs:
        groups.setdefault(r["label"].rsplit("-", 1)[0], []).append(float(r["p99_ms"]))
    rep = Report("collector down: a simple RPC's p99 against a healthy collector")
    print("    | run | calls | req/s | p50 ms | p99 ms |")
    print("    |---|---|---|---|---|")
    for r in runs:
        print(f"    | {r['label']} | {r['calls']} | {r['rps']:.0f} | {r['p50_ms']:.3f} | {r['p99_ms']:.3f} |")
    if "healthy" not in groups or "down" not in groups:
        rep.fail(f"need healthy-N and down-N runs, have {sorted(groups)}")
        return rep.done("incomplete")
    healthy = sorted(groups["healthy"])[len(groups["healthy"]) // 2]
    down = sorted(groups["down"])[len(groups["down"]) // 2]
    ratio = down / healthy if healthy > 0 else math.inf
    line = (f"median p99 {down:.3f} ms with the collector down, {healthy:.3f} ms healthy: "
            f"ratio {ratio:.3f} (limit {args.max_ratio:.2f})")
    if ratio <= args.max_ratio:
        rep.ok(line)
    else:
        rep.fail(line)
    return rep.done(f"ratio {ratio:.3f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("gen-rules")
    p.add_argument("input"), p.add_argument("output"), p.add_argument("--for", dest="for_", default="2s")
    p.set_defaults(fn=gen_rules)
    p = sub.add_parser("gen-prometheus")
    p.add_argument("input"), p.add_argument("output")
    p.add_argument("--rules", required=True), p.add_argument("--alertmanager", required=True)
    p.add_argument("--target", action="append", default=[], help="JOB=HOST:PORT, one per job")
    p.add_argument("--interval")
    p.set_defaults(fn=gen_prometheus)
    p = sub.add_parser("gen-alertmanager-timing")
    p.add_argument("input"), p.add_argument("output")
    p.add_argument("--group-wait", default="1s"), p.add_argument("--group-interval", default="2s")
    p.set_defaults(fn=gen_alertmanager_timing)
    p = sub.add_parser("webhook")
    p.add_argument("--listen", required=True), p.add_argument("--out", required=True)
    p.set_defaults(fn=webhook)
    for name, fn in (("wait-ready", wait_ready), ("wait-healthy", wait_healthy), ("check-series", check_series),
                     ("check-queries", check_queries), ("check-healthy", check_healthy),
                     ("check-selectors", check_selectors)):
        p = sub.add_parser(name)
        p.add_argument("--prometheus", required=True)
        p.add_argument("--path", choices=["pull", "push"], default="pull",
                       help="push: the services are behind the collector (no per-service `up`)")
        p.add_argument("--timeout", type=float, default=90)
        p.add_argument("--settle", type=float, default=5)
        p.add_argument("--quiet", type=float, default=0,
                       help="wait-healthy: seconds in a row without an active alert")
        p.set_defaults(fn=fn)
    p = sub.add_parser("wait-alert")
    p.add_argument("--log", required=True), p.add_argument("--alert", required=True)
    p.add_argument("--status", choices=["firing", "resolved"], default="firing")
    p.add_argument("--timeout", type=float, default=60)
    p.add_argument("--since", type=float, help="epoch seconds of the trigger: earlier notifications do not count")
    p.add_argument("--label", default="c.")
    p.set_defaults(fn=wait_alert)
    p = sub.add_parser("check-inhibited")
    p.add_argument("--prometheus", required=True), p.add_argument("--log", required=True)
    p.add_argument("--since", type=float, required=True), p.add_argument("--alert", action="append", required=True)
    p.add_argument("--label", default="h.")
    p.set_defaults(fn=check_inhibited)
    p = sub.add_parser("wait-value")
    p.add_argument("--prometheus", required=True), p.add_argument("--query", required=True)
    p.add_argument("--value", type=float, required=True), p.add_argument("--timeout", type=float, default=60)
    p.add_argument("--label", default="i.")
    p.set_defaults(fn=wait_value)
    p = sub.add_parser("check-trace")
    p.add_argument("--jaeger", required=True), p.add_argument("--trace-id", required=True)
    p.add_argument("--timeout", type=float, default=60)
    p.set_defaults(fn=check_trace)
    p = sub.add_parser("compare-latency")
    p.add_argument("input"), p.add_argument("--max-ratio", type=float, default=1.10)
    p.set_defaults(fn=compare_latency)
    args = ap.parse_args()
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
