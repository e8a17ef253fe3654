#!/usr/bin/env python3
"""Helpers of scripts/e2e.sh: derive the e2e Prometheus configuration from the shipped one, and run
the end-to-end assertions against a real Prometheus through its HTTP API.

    e2e_checks.py config --exporter HOST:PORT --workdir DIR [--interval 2s] [--for 10s] [TLS]
    e2e_checks.py check  --prometheus URL --exporter URL [--timeout 120] [TLS]
    e2e_checks.py status URL [TLS]      (prints the HTTP status of URL, or nothing if unreachable)

TLS, when the exporter serves HTTPS with basic auth and client certificates (--web.config.file):
    --ca FILE --cert FILE --key FILE --user NAME --password-file FILE
`config` then points the Prometheus job at them; `check` and `status` use them to reach the exporter.

Needs Python 3.9+ and PyYAML (only for `config`). Prints one PASS/FAIL line per assertion and, at
the end, `e2e: N passed, M failed`; exits 1 if anything failed.
"""

import argparse
import base64
import json
import re
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"
SHIPPED_RULES = ROOT / "deploy" / "prometheus" / "rules.yml"
DASHBOARDS = ROOT / "grafana" / "dashboards"
JOB = "partnercenter-exporter"
LOW_UTIL_ALERT = "PartnerCenterLicenseUtilizationLow"
RENEWAL_ALERT = "PartnerCenterUnusedLicensesRenewingSoon"
WINDOW_ALERT = "PartnerCenterSeatReductionWindowClosing"

# Alerts that must stay quiet while the exporter runs against a healthy (simulated) Partner Center.
HEALTH_ALERTS = [
    "PartnerCenterExporterDown",
    "PartnerCenterCollectorFailing",
    "PartnerCenterRefreshStale",
    "PartnerCenterDataStale",
    "PartnerCenterThrottled",
    "PartnerCenterTokenRefreshFailing",
    "PartnerCenterRefreshTokenNotRotated",
]

# Dashboard queries that may legitimately return nothing in a short healthy run, with the reason.
# Keep this list short: every entry is a query the e2e cannot prove returns data.
MAY_BE_EMPTY = {
    # Retries only exist once a request was retried; a healthy simulator may never cause one.
    ("partnercenter-exporter-health", "Retries by reason"): "no request was retried",

}

# Grafana's built-in interval variables, replaced by what Grafana would send for a short range.
GRAFANA_BUILTINS = {
    "__rate_interval": "1m",
    "__interval": "15s",
    "__interval_ms": "15000",
    "__range": "1h",
    "__range_s": "3600",
    "__range_ms": "3600000",
}


# --------------------------------------------------------------------------------------------------
# config: the shipped prometheus.yml and rules.yml, with short intervals, pointed at the e2e exporter
# --------------------------------------------------------------------------------------------------
def cmd_config(args):
    import yaml  # PyYAML

    workdir = Path(args.workdir)
    config = yaml.safe_load(SHIPPED_CONFIG.read_text())
    config["global"]["scrape_interval"] = args.interval
    config["global"]["evaluation_interval"] = args.interval
    config.pop("alerting", None)  # no Alertmanager in the e2e
    jobs = [j for j in config["scrape_configs"] if j["job_name"] == JOB]
    if len(jobs) != 1:
        sys.exit(f"e2e: {SHIPPED_CONFIG} has no scrape job named {JOB}")
    job = jobs[0]
    job["scrape_interval"] = args.interval
    job["scrape_timeout"] = args.interval
    job["static_configs"] = [{"targets": [args.exporter]}]
    if args.ca:
        # What deploy/docker/prometheus.yml and README.md "Securing the endpoint" show, with a
        # client certificate on top.
        job["scheme"] = "https"
        job["tls_config"] = {"ca_file": args.ca, "cert_file": args.cert, "key_file": args.key}
        job["basic_auth"] = {"username": args.user, "password_file": args.password_file}
    config["scrape_configs"] = [job]
    config["rule_files"] = [str(workdir / "rules.yml")]
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))

    # The rules, unchanged except every `for:`, so that alerts get past pending within the run.
    text = SHIPPED_RULES.read_text()
    text, n = re.subn(r"(?m)^(\s+for:\s*)\S+\s*$", lambda m: m.group(1) + args.for_, text)
    (workdir / "rules.yml").write_text(text)
    print(f"e2e: wrote {workdir}/prometheus.yml and {workdir}/rules.yml ({n} `for:` set to {args.for_})")


# --------------------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------------------
class Client:
    """HTTP(S) GETs, with the exporter's CA, client certificate and basic auth when given."""

    def __init__(self, args=None, certificate=True, password=True):
        self.context, self.headers = None, {}
        if args is not None and getattr(args, "ca", None):
            self.context = ssl.create_default_context(cafile=args.ca)
            if certificate:
                self.context.load_cert_chain(args.cert, args.key)
            if password:
                secret = Path(args.password_file).read_text().strip()
                token = base64.b64encode(f"{args.user}:{secret}".encode()).decode()
                self.headers = {"Authorization": f"Basic {token}"}

    def get(self, url, timeout=10):
        request = urllib.request.Request(url, headers=self.headers)
        with urllib.request.urlopen(request, timeout=timeout, context=self.context) as r:
            return r.status, r.read().decode("utf-8", "replace")

    def status(self, url):
        try:
            return self.get(url)[0]
        except urllib.error.HTTPError as e:
            return e.code
        except Exception:
            return None


PLAIN = Client()


def http_get(url, timeout=10):
    return PLAIN.get(url, timeout)


class Prom:
    def __init__(self, base):
        self.base = base.rstrip("/")

    def api(self, path, **params):
        url = f"{self.base}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params, doseq=True)
        try:
            _, body = http_get(url)
        except urllib.error.HTTPError as e:
            body = e.read().decode("utf-8", "replace")
        data = json.loads(body)
        if data.get("status") != "success":
            raise RuntimeError(f"{data.get('errorType')}: {data.get('error')}")
        return data["data"]

    def query(self, expr):
        data = self.api("query", query=expr)
        if data["resultType"] == "scalar":
            return [{"metric": {}, "value": data["result"]}]
        if data["resultType"] != "vector":
            raise RuntimeError(f"unexpected result type {data['resultType']}")
        return data["result"]


# --------------------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------------------
class Report:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def ok(self, what, detail=""):
        self.passed += 1
        print(f"PASS {what}" + (f"  ({detail})" if detail else ""), flush=True)

    def fail(self, what, detail=""):
        self.failed += 1
        print(f"FAIL {what}" + (f"\n     {detail}" if detail else ""), flush=True)

    def check(self, cond, what, detail="", fail_detail=""):
        (self.ok(what, detail) if cond else self.fail(what, fail_detail or detail))
        return cond


def wait_for(fn, timeout, step=1.0):
    """Call fn until it returns a truthy value or the timeout passes; return the last value."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = fn()
        except Exception as e:  # noqa: BLE001 - retried until the deadline
            value = None
            last_error = e
        else:
            last_error = None
        if value or time.monotonic() >= deadline:
            if not value and last_error:
                print(f"     (last error: {last_error})")
            return value
        time.sleep(step)


# --------------------------------------------------------------------------------------------------
# Exposition text of the exporter: the ground truth for the low-utilization alert
# --------------------------------------------------------------------------------------------------
LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def unescape(value):
    """Undo the label value escapes of the text format (backslash, double quote, newline)."""
    return re.sub(r'\\(.)', lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), value)


def parse_exposition(text):
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = LINE.match(line.strip())
        if not m:
            continue
        labels = {k: unescape(v) for k, v in LABEL.findall(m.group(2) or "")}
        try:
            value = float(m.group(3))
        except ValueError:
            continue
        yield m.group(1), labels, value


def alert_thresholds():
    """The numbers of the shipped low-utilization alert, read from rules.yml itself."""
    text = SHIPPED_RULES.read_text()
    block = text[text.index(f"alert: {LOW_UTIL_ALERT}"):]
    block = block[: block.index("for:")]
    # `customer:...:ratio < X`, also inside `max by (...) (customer:...:ratio) < X`.
    ratio = re.search(r"customer:partnercenter_license_utilization:ratio\)?\s*<\s*([0-9.]+)", block)
    minimum = re.search(r"customer:partnercenter_licenses_qualified:sum\)?\s*>=\s*([0-9.]+)", block)
    if not ratio or not minimum:
        raise RuntimeError(f"cannot read the thresholds of {LOW_UTIL_ALERT} from {SHIPPED_RULES}")
    return float(ratio.group(1)), float(minimum.group(1))


def expected_underused(metrics_text, ratio_max, qualified_min):
    """Customers the alert must select, computed like the rules: sum active and qualified over all
    of a customer's series (products x workloads x channels), then divide. The names come from the
    info series (the value series carry ids only)."""
    active, qualified, names = {}, {}, {}
    for name, labels, value in parse_exposition(metrics_text):
        if name == "partnercenter_customer_info":
            names[labels.get("customer_tenant_id", "")] = labels.get("customer_name", "")
            continue
        if name not in ("partnercenter_licenses_active", "partnercenter_licenses_qualified"):
            continue
        tenant = labels.get("customer_tenant_id", "")
        names.setdefault(tenant, "")
        target = active if name.endswith("_active") else qualified
        target[tenant] = target.get(tenant, 0.0) + value
    under, per_customer = set(), {}
    for tenant, q in qualified.items():
        a = active.get(tenant, 0.0)
        per_customer[tenant] = (names[tenant], a, q)
        if q > 0 and a / q < ratio_max and q >= qualified_min:
            under.add(tenant)
    return under, per_customer


def subscription_thresholds():
    """The numbers of the two subscription alerts and the lead-time table, read from rules.yml."""
    text = SHIPPED_RULES.read_text()

    def block(name):
        b = text[text.index(f"alert: {name}"):]
        return b[: b.index("for:")]

    def number(pattern, where):
        m = re.search(pattern, where)
        if not m:
            raise RuntimeError(f"cannot read {pattern!r} from {SHIPPED_RULES}")
        return float(m.group(1))

    renewal_min = number(r"partnercenter_subscription_unused_licenses\s*>=\s*([0-9.]+)", block(RENEWAL_ALERT))
    window = block(WINDOW_ALERT)
    window_min = number(r"partnercenter_subscription_unused_licenses\s*>=\s*([0-9.]+)", window)
    window_seconds = number(r"<\s*([0-9.]+)\s*\*\s*3600", window) * 3600
    leads = {m.group(2): float(m.group(1)) * 86400
             for m in re.finditer(r'label_replace\(vector\(([0-9.]+) \* 86400\), "term_duration", "(P\w+)"', text)}
    if "P1Y" not in leads:
        raise RuntimeError(f"cannot read the lead-time table from {SHIPPED_RULES}")
    return renewal_min, leads, window_min, window_seconds


def expected_subscription_alerts(metrics_text, now):
    """Subscriptions each alert must select at `now`, computed like the rules from the exposition."""
    renewal_min, leads, window_min, window_seconds = subscription_thresholds()
    subs = {}
    for name, labels, value in parse_exposition(metrics_text):
        if not name.startswith("partnercenter_subscription_"):
            continue
        s = subs.setdefault(labels.get("subscription_id", ""), {})
        s[name[len("partnercenter_subscription_"):]] = value
        if name == "partnercenter_subscription_info":
            s["term"] = labels.get("term_duration", "")
    renewing, closing = set(), set()
    for sid, s in subs.items():
        unused = s.get("unused_licenses")
        if unused is None:
            continue
        end, until = s.get("term_end_timestamp_seconds"), s.get("cancellation_allowed_until_timestamp_seconds")
        scheduled, licenses = s.get("scheduled_next_term_licenses"), s.get("licenses")
        reduced = scheduled is not None and licenses is not None and scheduled < licenses
        lead = leads.get(s.get("term", ""), leads["P1Y"])
        if unused >= renewal_min and s.get("auto_renew") == 1 and end is not None and 0 < end - now < lead \
                and not reduced:
            renewing.add(sid)
        if unused >= window_min and until is not None and 0 < until - now < window_seconds:
            closing.add(sid)
    return {RENEWAL_ALERT: renewing, WINDOW_ALERT: closing}


def check_subscription_alerts(prom, client, exporter, state_url, timeout, report):
    """(e) the two subscription alerts select exactly the subscriptions in their windows."""
    def alerting(name):
        result = prom.query(f'ALERTS{{alertname="{name}", alertstate=~"pending|firing"}}')
        return {s["metric"].get("subscription_id", ""): s["metric"].get("alertstate") for s in result}

    def expected():
        return expected_subscription_alerts(client.get(f"{exporter}/metrics")[1], time.time())

    truth = None
    if state_url:
        try:
            state = json.loads(http_get(state_url)[1])
            truth = {k: set(v) for k, v in state["expectedAlerts"].items()}
        except Exception as e:  # noqa: BLE001
            report.fail("(e) the simulator's /admin/state lists the subscriptions it placed in the alert windows",
                        f"{state_url}: {e}")
    for name in (RENEWAL_ALERT, WINDOW_ALERT):
        want = expected()[name]
        report.check(bool(want), f"(e) the exporter's /metrics put subscriptions in the window of {name}",
                     f"{len(want)} subscriptions", "none: the alert check would prove nothing")
        got = wait_for(lambda: (lambda g: g if set(g) == expected()[name] else None)(alerting(name)), timeout) \
            or alerting(name)
        want = expected()[name]
        report.check(set(got) == want and bool(want), f"(e) {name} is pending or firing for exactly those subscriptions",
                     f"{len(got)} subscriptions, state {'/'.join(sorted(set(got.values())))}",
                     f"missing: {sorted(want - set(got)) or 'none'}\n     unexpected: {sorted(set(got) - want) or 'none'}")
        if set(got) == want and want:
            firing = wait_for(lambda: set(alerting(name).values()) == {"firing"}, timeout)
            report.check(bool(firing), f"(e) {name} goes from pending to firing after its `for`")
        if truth is not None:
            placed = truth.get(name, set())
            report.check(placed == set(got), f"(e) {name} fires for exactly the subscriptions the simulator placed",
                         f"{len(placed)} subscriptions",
                         f"simulator only: {sorted(placed - set(got)) or 'none'}\n     alert only: {sorted(set(got) - placed) or 'none'}")


# --------------------------------------------------------------------------------------------------
# Dashboards
# --------------------------------------------------------------------------------------------------
def substitute(expr, values):
    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        return values.get(name, m.group(0))

    # ${name}, ${name:format}, [[name]] and $name (longest names first through the regex).
    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)", repl, expr)


def js_regex(regex):
    """Grafana's /pattern/flags with JavaScript named groups -> a Python regex."""
    m = re.fullmatch(r"/(.*)/([a-z]*)", regex, re.S)
    pattern, flags = (m.group(1), m.group(2)) if m else (regex, "")
    pattern = pattern.replace("(?<", "(?P<")
    return re.compile(pattern, re.I if "i" in flags else 0)


def variable_values(prom, var, values):
    """The option values Grafana would offer for a query variable."""
    query = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
    query = substitute(query, values)
    m = re.fullmatch(r"\s*label_values\((?:(.*),\s*)?(\w+)\)\s*", query, re.S)
    if m:
        selector, label = m.group(1), m.group(2)
        params = {"match[]": selector} if selector else {}
        texts = prom.api(f"label/{label}/values", **params)
    else:
        m = re.fullmatch(r"\s*query_result\((.*)\)\s*", query, re.S)
        if not m:
            raise RuntimeError(f"unsupported variable query {query!r}")
        texts = []
        for sample in prom.query(m.group(1)):
            metric = dict(sample["metric"])
            name = metric.pop("__name__", "")
            labels = ", ".join(f'{k}="{v}"' for k, v in sorted(metric.items()))
            texts.append(f"{name}{{{labels}}} {sample['value'][1]} {int(float(sample['value'][0]) * 1000)}")
    if not var.get("regex"):
        return list(texts)
    rx, out = js_regex(var["regex"]), []
    for text in texts:
        m = rx.search(text)
        if m:
            groups = m.groupdict()
            out.append(groups.get("value") or groups.get("text") or (m.group(1) if m.groups() else m.group(0)))
    return out


def variables_in_dependency_order(variables):
    """Like Grafana, resolve a variable only after the variables its query uses."""
    names = {v["name"] for v in variables}
    pending, done, ordered = list(variables), set(), []
    while pending:
        for var in pending:
            query = var.get("query", "")
            query = query.get("query", "") if isinstance(query, dict) else str(query)
            used = {m for m in re.findall(r"\$\{?(\w+)", query) if m in names and m != var["name"]}
            if used <= done:
                break
        else:
            raise RuntimeError("circular template variables: " + ", ".join(v["name"] for v in pending))
        pending.remove(var)
        done.add(var["name"])
        ordered.append(var)
    return ordered


def panels_of(dashboard):
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])  # collapsed rows


def check_dashboards(prom, report):
    files = sorted(DASHBOARDS.glob("*.json"))
    report.check(len(files) >= 5, "dashboards: grafana/dashboards has the five dashboards", f"{len(files)} files")
    for path in files:
        dash = json.loads(path.read_text())
        uid = dash["uid"]
        values = dict(GRAFANA_BUILTINS)
        for var in variables_in_dependency_order(dash["templating"]["list"]):
            if var["type"] != "query":
                continue
            try:
                options = variable_values(prom, var, values)
            except Exception as e:  # noqa: BLE001
                report.fail(f"dashboard {uid}: variable ${var['name']} query runs", str(e))
                options = []
            else:
                report.check(bool(options), f"dashboard {uid}: variable ${var['name']} has options",
                             f"{len(options)}: {', '.join(options[:3])}{'...' if len(options) > 3 else ''}",
                             "the variable's query returned no options")
            if var.get("includeAll"):
                values[var["name"]] = var.get("allValue") or ".*"
            elif options:
                values[var["name"]] = options[0]  # what a user would have picked
            else:
                values[var["name"]] = "no-option"
        for panel in panels_of(dash):
            for t in panel.get("targets", []):
                if "expr" not in t:
                    continue
                what = f"dashboard {uid}: \"{panel['title']}\" {t['refId']}"
                expr = substitute(t["expr"], values)
                try:
                    result = prom.query(expr)
                except Exception as e:  # noqa: BLE001
                    report.fail(f"{what} runs", f"{e}\n     expr: {expr}")
                    continue
                if result:
                    report.ok(f"{what} returns data", f"{len(result)} series")
                elif (uid, panel["title"]) in MAY_BE_EMPTY:
                    report.ok(f"{what} runs (empty allowed: {MAY_BE_EMPTY[(uid, panel['title'])]})")
                else:
                    report.fail(f"{what} returns data", f"no series\n     expr: {expr}")


# --------------------------------------------------------------------------------------------------
# check
# --------------------------------------------------------------------------------------------------
def cmd_check(args):
    prom = Prom(args.prometheus)
    exporter = args.exporter.rstrip("/")
    report = Report()
    client = Client(args)
    http_status = client.status
    if args.ca:
        report.check(Client(args, certificate=False).status(f"{exporter}/-/healthy") is None,
                     "exporter: the TLS handshake fails without a client certificate")
        report.check(Client(args, password=False).status(f"{exporter}/-/healthy") == 401,
                     "exporter: 401 with the client certificate but without the password")
        report.check(PLAIN.status(exporter.replace("https://", "http://") + "/-/healthy") in (None, 400),
                     "exporter: plain HTTP is not served")

    # The exporter's own endpoints.
    report.check(http_status(f"{exporter}/-/healthy") == 200, "exporter: /-/healthy answers 200")
    ready = wait_for(lambda: http_status(f"{exporter}/-/ready") == 200, args.timeout)
    report.check(ready, "exporter: /-/ready answers 200 after the first collection",
                 fail_detail=f"still {http_status(f'{exporter}/-/ready')} after {args.timeout}s")

    # (a) the target is up.
    up = wait_for(lambda: [s for s in prom.query(f'up{{job="{JOB}"}}') if s["value"][1] == "1"], args.timeout)
    report.check(bool(up), f'(a) Prometheus scrapes the exporter: up{{job="{JOB}"}} == 1',
                 up and up[0]["metric"].get("instance", ""))

    # Wait until every recording rule has been evaluated on scraped data.
    groups = prom.api("rules")["groups"]
    recording = [r for g in groups for r in g["rules"] if r["type"] == "recording"]
    alerting = [r for g in groups for r in g["rules"] if r["type"] == "alerting"]
    report.check(len(recording) > 0 and len(alerting) > 0, "Prometheus loaded the shipped rules",
                 f"{len(recording)} recording, {len(alerting)} alerting rules")

    def all_recorded():
        return all(prom.query(r["name"]) for r in recording)

    wait_for(all_recorded, args.timeout)
    # A few more scrapes, so that rate() and increase() have samples to work with and the alerts
    # have been evaluated for longer than their (shortened) `for`.
    warm = wait_for(lambda: prom.query(f'count_over_time(up{{job="{JOB}"}}[5m]) >= {args.min_scrapes}'), args.timeout)
    report.check(bool(warm), f"Prometheus has scraped the exporter at least {args.min_scrapes} times")
    if args.expect_retries:
        # The simulator fails some requests at random: the exporter must have retried some.
        retried = wait_for(lambda: prom.query("sum(partnercenter_api_retries_total) > 0"), args.timeout)
        report.check(bool(retried), "the exporter retried the simulator's random failures",
                     retried and f"{retried[0]['value'][1]} retries")
        MAY_BE_EMPTY.pop(("partnercenter-exporter-health", "Retries by reason"), None)

    # (b) every recording rule returns data, and no rule fails to evaluate.
    for r in recording:
        try:
            result = prom.query(r["name"])
        except Exception as e:  # noqa: BLE001
            report.fail(f"(b) recording rule {r['name']} runs", str(e))
            continue
        report.check(bool(result), f"(b) recording rule {r['name']} returns data", f"{len(result)} series")
    for g in prom.api("rules")["groups"]:
        for r in g["rules"]:
            name = r.get("name")
            report.check(r.get("health") == "ok", f"rule {name} evaluates without error",
                         r.get("health", ""), f"health={r.get('health')}: {r.get('lastError')}")

    # (b) every query of every dashboard panel (and of its template variables) returns data.
    check_dashboards(prom, report)

    # (c) the low-utilization alert is pending or firing for exactly the under-used customers.
    ratio_max, qualified_min = alert_thresholds()
    _, metrics_text = client.get(f"{exporter}/metrics")
    expected, per_customer = expected_underused(metrics_text, ratio_max, qualified_min)
    print(f"     {len(per_customer)} customers in the exporter's /metrics; under-used (utilization < "
          f"{ratio_max:g} with >= {qualified_min:g} qualified): {len(expected)}")
    for tenant in sorted(per_customer, key=lambda t: per_customer[t][0]):
        name, a, q = per_customer[tenant]
        mark = "*" if tenant in expected else " "
        print(f"     {mark} {name:<32} {tenant}  active {a:>7g} / qualified {q:>7g}"
              + (f" = {a / q:.3f}" if q else ""))
    report.check(0 < len(expected) < len(per_customer),
                 "(c) the simulated partner has both under-used and well-used customers",
                 f"{len(expected)} of {len(per_customer)} under-used",
                 f"{len(expected)} of {len(per_customer)} under-used: the alert check would prove nothing")

    def alerting_customers():
        result = prom.query(f'ALERTS{{alertname="{LOW_UTIL_ALERT}", alertstate=~"pending|firing"}}')
        return {s["metric"].get("customer_tenant_id", ""): s["metric"].get("alertstate") for s in result}

    got = wait_for(lambda: (lambda g: g if set(g) == expected else None)(alerting_customers()), args.timeout) \
        or alerting_customers()
    missing, extra = expected - set(got), set(got) - expected
    states = sorted(set(got.values()))
    report.check(
        not missing and not extra and bool(expected),
        f"(c) {LOW_UTIL_ALERT} is pending or firing for exactly the under-used customers",
        f"{len(got)} customers, state {'/'.join(states)}",
        "missing (expected, not alerting): "
        + (", ".join(f"{per_customer.get(t, ('?',))[0]} {t}" for t in sorted(missing)) or "none")
        + "\n     unexpected (alerting, not under-used): "
        + (", ".join(f"{per_customer.get(t, ('?',))[0]} {t}" for t in sorted(extra)) or "none"),
    )
    if expected and not missing and not extra:
        firing = wait_for(lambda: set(v for v in alerting_customers().values()) == {"firing"}, args.timeout)
        report.check(bool(firing), f"(c) {LOW_UTIL_ALERT} goes from pending to firing after its `for`")
        check_alert_texts(prom, per_customer, report)
    if args.state_url:
        check_admin_state(args.state_url, expected, set(got), per_customer, report)
    check_info_series(metrics_text, report)

    # (e) the renewal and refund-window alerts.
    check_subscription_alerts(prom, client, exporter, args.state_url, args.timeout, report)

    # The exporter's health alerts stay quiet against a healthy Partner Center.
    for name in HEALTH_ALERTS:
        result = prom.query(f'ALERTS{{alertname="{name}"}}')
        report.check(not result, f"health alert {name} is quiet",
                     fail_detail="; ".join(json.dumps(s["metric"]) for s in result))

    print(f"e2e: {report.passed} passed, {report.failed} failed")
    return 1 if report.failed else 0


INFO_SERIES = {
    "partnercenter_customer_info": ("customer_tenant_id", "customer_name"),
    "partnercenter_product_info": ("product_id", "product_name"),
    "partnercenter_workload_info": ("workload_code", "workload_name"),
    "partnercenter_service_info": ("service_code", "service_name"),
}


def check_info_series(metrics_text, report):
    """Value series carry ids only, and every id on them has exactly one info series."""
    info, used, named_values = {m: {} for m in INFO_SERIES}, {m: set() for m in INFO_SERIES}, []
    for name, labels, _ in parse_exposition(metrics_text):
        if name in INFO_SERIES:
            id_label, _ = INFO_SERIES[name]
            info[name][labels.get(id_label, "")] = info[name].get(labels.get(id_label, ""), 0) + 1
        elif name.startswith(("partnercenter_licenses_", "partnercenter_prorated_", "partnercenter_partner_")):
            if any(label.endswith("_name") for label in labels):
                named_values.append(name)
            for metric, (id_label, _) in INFO_SERIES.items():
                if labels.get(id_label):
                    used[metric].add(labels[id_label])
        elif name.startswith(("partnercenter_subscription_", "partnercenter_subscribed_sku")):
            # The commercial series name their customers in the same info series. (Their products
            # are Entra SKUs named by partnercenter_sku_info; the price's product_id is a catalog id.)
            if name != "partnercenter_subscription_info" and any(label.endswith("_name") for label in labels):
                named_values.append(name)
            if labels.get("customer_tenant_id"):
                used["partnercenter_customer_info"].add(labels["customer_tenant_id"])
    report.check(not named_values, "(d) the exporter's value series carry ids only, no names",
                 fail_detail=", ".join(sorted(set(named_values))))
    for metric, (id_label, _) in INFO_SERIES.items():
        twice = sorted(i for i, n in info[metric].items() if n > 1)
        missing = sorted(used[metric] - set(info[metric]))
        report.check(not twice and not missing and bool(used[metric]),
                     f"(d) every {id_label} on the value series has exactly one {metric}",
                     f"{len(used[metric])} ids",
                     f"twice: {', '.join(twice[:5]) or 'none'}; missing: {', '.join(missing[:5]) or 'none'}")


def check_alert_texts(prom, per_customer, report):
    """The low-utilization alerts name their customer in the summary (looked up in the info series)."""
    alerts = [a for a in prom.api("alerts")["alerts"] if a["labels"].get("alertname") == LOW_UTIL_ALERT]
    wrong = []
    for a in alerts:
        tenant = a["labels"].get("customer_tenant_id", "")
        name = per_customer.get(tenant, ("",))[0]
        if "customer_name" in a["labels"] or not name or not a["annotations"].get("summary", "").startswith(name + " "):
            wrong.append(f"{tenant}: labels {sorted(a['labels'])}, summary {a['annotations'].get('summary')!r}")
    report.check(bool(alerts) and not wrong,
                 f"(c) {LOW_UTIL_ALERT} is keyed by the tenant id and its summary names the customer",
                 f"{len(alerts)} alerts", "; ".join(wrong[:3]) or "no alerts")


def check_admin_state(url, expected, alerting, per_customer, report):
    """Compare with the simulator's own list of the customers it made under-used."""
    try:
        _, body = http_get(url)
        state = json.loads(body)
        truth = {str(t).lower() for t in state["underusedCustomers"]}
    except Exception as e:  # noqa: BLE001
        report.fail("(c) the simulator's /admin/state lists its under-used customers", f"{url}: {e}")
        return

    def names(ids):
        return ", ".join(f"{per_customer.get(t, ('?',))[0]} {t}" for t in sorted(ids)) or "none"

    report.check(truth == alerting,
                 f"(c) {LOW_UTIL_ALERT} alerts for exactly the simulator's under-used customers",
                 f"{len(truth)} customers",
                 f"simulator only: {names(truth - alerting)}\n     alert only: {names(alerting - truth)}")
    report.check(truth == expected,
                 "(c) the simulator's under-used customers are the under-used ones in the exporter's /metrics",
                 f"{len(truth)} customers",
                 f"simulator only: {names(truth - expected)}\n     metrics only: {names(expected - truth)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("config")
    c.add_argument("--exporter", required=True, help="HOST:PORT of the exporter")
    c.add_argument("--workdir", required=True)
    c.add_argument("--interval", default="2s")
    c.add_argument("--for", dest="for_", default="10s")
    k = sub.add_parser("check")
    k.add_argument("--prometheus", required=True)
    k.add_argument("--exporter", required=True)
    k.add_argument("--state-url", help="the simulator's /admin/state, if it runs separately")
    k.add_argument("--timeout", type=float, default=90)
    k.add_argument("--expect-retries", action="store_true",
                   help="the upstream fails some requests: retries must show up (and their panel have data)")
    k.add_argument("--min-scrapes", type=int, default=10, help="scrapes to wait for before checking")
    st = sub.add_parser("status")
    st.add_argument("url")
    for p in (c, k, st):
        p.add_argument("--ca", help="CA of the exporter's certificate (turns TLS on)")
        p.add_argument("--cert", help="client certificate")
        p.add_argument("--key", help="client certificate's key")
        p.add_argument("--user", help="basic auth user")
        p.add_argument("--password-file", help="basic auth password")
    args = ap.parse_args()
    if args.cmd == "status":
        status = Client(args).status(args.url)
        print(status if status is not None else "")
        return 0 if status is not None else 1
    if args.cmd == "config":
        cmd_config(args)
        return 0
    return cmd_check(args)


if __name__ == "__main__":
    sys.exit(main())
