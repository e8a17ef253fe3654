#!/usr/bin/env python3
"""Static checks of the monitoring bundle and the deployment files (run by scripts/check-deploy.sh).

Everything that can be checked without a Docker engine, a Kubernetes cluster or a Grafana server:
promtool on the configurations and rules (unit tests included), the generated files being up to date,
the dashboards' structure, the kustomize builds (the base and the TLS overlay) and the manifests'
hardening and TLS wiring, the compose file's references and its HTTPS scrape, the demo web config
loaded by the exporter (when target/debug is built), amtool on the Alertmanager configuration, the
Dockerfile's shape and systemd-analyze on the unit. Prints PASS/FAIL/SKIP lines and `check-deploy: N passed, M failed, K skipped`.
"""

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
PROM = ROOT / "deploy" / "prometheus"
K8S = ROOT / "deploy" / "kubernetes"
K8S_TLS = ROOT / "deploy" / "kubernetes-overlays" / "tls"
DOCKER = ROOT / "deploy" / "docker"
SYSTEMD = ROOT / "deploy" / "systemd"
GRAFANA = ROOT / "grafana"
DOCS = ROOT / "README.md"
JOB = "partnercenter-exporter"


class Report:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0

    def ok(self, what, detail=""):
        self.passed += 1
        print(f"PASS {what}" + (f"  ({detail})" if detail else ""), flush=True)

    def fail(self, what, detail=""):
        self.failed += 1
        print(f"FAIL {what}" + ("\n     " + detail.strip().replace("\n", "\n     ") if detail else ""), flush=True)

    def skip(self, what, why):
        self.skipped += 1
        print(f"SKIP {what}  ({why})", flush=True)

    def check(self, cond, what, detail="", fail_detail=""):
        (self.ok(what, detail) if cond else self.fail(what, fail_detail or detail))
        return cond


R = Report()


def run(what, cmd, cwd=ROOT, tool=None):
    tool = tool or cmd[0]
    if not shutil.which(tool):
        R.skip(what, f"{tool} not installed")
        return None
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    R.check(p.returncode == 0, what, fail_detail=(p.stdout + p.stderr)[-3000:])
    return p


def load_yaml(path):
    try:
        return list(yaml.safe_load_all(path.read_text()))
    except Exception as e:  # noqa: BLE001
        R.fail(f"{path.relative_to(ROOT)} parses as YAML", str(e))
        return None


# --------------------------------------------------------------------------------------------------
def check_prometheus():
    run("promtool check config deploy/prometheus/prometheus.yml",
        ["promtool", "check", "config", str(PROM / "prometheus.yml")])
    run("promtool check rules deploy/prometheus/rules.yml", ["promtool", "check", "rules", str(PROM / "rules.yml")])
    run("promtool test rules deploy/prometheus/rules.test.yml",
        ["promtool", "test", "rules", "rules.test.yml"], cwd=PROM)
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(DOCKER / "prometheus.yml", tmp)
        shutil.copy(PROM / "rules.yml", tmp)
        shutil.copy(DOCKER / "tls" / "ca.crt", Path(tmp) / "exporter-ca.crt")
        run("promtool check config deploy/docker/prometheus.yml (compose)",
            ["promtool", "check", "config", str(Path(tmp) / "prometheus.yml")])

    shipped = yaml.safe_load((PROM / "prometheus.yml").read_text())
    job = [j for j in shipped["scrape_configs"] if j["job_name"] == JOB]
    if R.check(len(job) == 1, f"prometheus.yml has the scrape job {JOB!r} the alerts select on"):
        j = job[0]
        R.check(j.get("scrape_interval") == "1m", "the example scrape interval is 1m", j.get("scrape_interval"))
        R.check(bool(j.get("scrape_timeout")), "the example sets a scrape timeout (for scrape mode)",
                j.get("scrape_timeout"))
        compose = yaml.safe_load((DOCKER / "prometheus.yml").read_text())
        cj = [x for x in compose["scrape_configs"] if x["job_name"] == JOB]

        def without_targets(x):
            return {k: v for k, v in x.items() if k not in ("static_configs", "scheme", "tls_config", "basic_auth")}

        R.check(len(cj) == 1 and without_targets(cj[0]) == without_targets(j),
                "the compose Prometheus scrapes like the shipped example (only the target and HTTPS differ)")
        if len(cj) == 1:
            web = yaml.safe_load((DOCKER / "web-config.yml").read_text())
            R.check(cj[0].get("scheme") == "https" and cj[0].get("tls_config", {}).get("ca_file")
                    and cj[0].get("basic_auth", {}).get("username") in web.get("basic_auth_users", {}),
                    "the compose Prometheus scrapes over HTTPS, trusting a CA, as a user of docker/web-config.yml")

    rules = yaml.safe_load((PROM / "rules.yml").read_text())
    alerts = [r for g in rules["groups"] for r in g["rules"] if "alert" in r]
    records = [r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r]
    docs = DOCS.read_text() if DOCS.exists() else ""
    for a in alerts:
        ann, labels = a.get("annotations", {}), a.get("labels", {})
        missing = [k for k in ("summary", "description", "runbook_url") if not ann.get(k)]
        R.check(not missing and labels.get("severity") and a.get("for"),
                f"alert {a['alert']} has severity, for, summary, description and runbook_url",
                fail_detail=f"missing: {missing or ''} severity={labels.get('severity')} for={a.get('for')}")
        anchor = ann.get("runbook_url", "").split("#")[-1]
        R.check(re.search(rf"^#+ {a['alert']}\s*$", docs, re.M) and anchor == a["alert"].lower(),
                f"alert {a['alert']} has its runbook section in README.md",
                fail_detail=f"need a heading '#### {a['alert']}' and runbook_url ending in #{a['alert'].lower()}")
    bases = {a.get("annotations", {}).get("runbook_url", "").rsplit("#", 1)[0] for a in alerts}
    base_line = re.search(r"^# runbook base: (\S+)$", (PROM / "rules.yml").read_text(), re.M)
    R.check(len(bases) == 1 and all(re.match(r"https?://[^/]+/", b) for b in bases)
            and base_line and bases == {base_line.group(1)},
            "every runbook_url is absolute and built from the one base named in rules.yml",
            fail_detail=f"bases: {sorted(bases)}; '# runbook base:' line: {base_line.group(1) if base_line else None}"
                        " (scripts/set-runbook-base.sh URL rewrites them)")
    tests = (PROM / "rules.test.yml").read_text()
    for a in alerts:
        R.check(f"alertname: {a['alert']}" in tests or f"alertname: {a['alert']}," in tests,
                f"alert {a['alert']} has unit tests")
    for name in records:
        R.check(f"expr: {name}\n" in tests, f"recording rule {name} has a unit test of its value")


# --------------------------------------------------------------------------------------------------
def check_kubernetes():
    run("deploy/kubernetes/prometheusrule.yaml is generated from rules.yml and up to date",
        ["bash", str(ROOT / "scripts" / "gen-prometheusrule.sh"), "--check"], tool="bash")
    rule = load_yaml(K8S / "prometheusrule.yaml")
    if rule:
        R.check(rule[0]["spec"] == yaml.safe_load((PROM / "rules.yml").read_text()),
                "the PrometheusRule's spec equals rules.yml")
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    R.check("secret.example.yaml" not in kustomization.get("resources", []),
            "secret.example.yaml is not applied by the base (it would overwrite real credentials)")
    secret = load_yaml(K8S / "secret.example.yaml")
    if secret:
        keys = set(secret[0].get("stringData", {}))
        R.check({"tenant-id", "client-id", "client-secret", "refresh-token"} <= keys,
                "the Secret example has the keys the Deployment reads", ", ".join(sorted(keys)))

    docs = kustomize_build(K8S)
    if docs is None:
        R.skip("kustomize build deploy/kubernetes", "neither kubectl nor kustomize installed")
        docs = []
        for name in kustomization["resources"]:
            docs += [d for d in (load_yaml(K8S / name) or []) if d]
    if not docs:
        return
    kinds = {d["kind"]: d for d in docs}
    check_manifests(kinds, "")
    main = kinds["Deployment"]["spec"]["template"]["spec"]["containers"][0] if "Deployment" in kinds else {}
    R.check(main.get("livenessProbe", {}).get("httpGet", {}).get("path") == "/-/healthy"
            and main.get("readinessProbe", {}).get("httpGet", {}).get("path") == "/-/ready",
            "Deployment: liveness on /-/healthy, readiness on /-/ready")
    check_kubernetes_tls()


def kustomize_build(root):
    """The documents `kustomize build root` makes; None without kubectl or kustomize."""
    rel = root.relative_to(ROOT)
    if shutil.which("kubectl"):
        cmd = ["kubectl", "kustomize", str(root)]
    elif shutil.which("kustomize"):
        cmd = ["kustomize", "build", str(root)]
    else:
        return None
    p = subprocess.run(cmd, capture_output=True, text=True)
    if not R.check(p.returncode == 0, f"kustomize build {rel}", fail_detail=p.stderr):
        return []
    return [d for d in yaml.safe_load_all(p.stdout) if d]


def check_kubernetes_tls():
    """The overlay with the TLS component: HTTPS, basic auth, cert-manager, probes that work with TLS."""
    docs = kustomize_build(K8S_TLS)
    if docs is None:
        R.skip("kustomize build deploy/kubernetes-overlays/tls", "neither kubectl nor kustomize installed")
        return
    if not docs:
        return
    kinds = {d["kind"]: d for d in docs}
    want = {"Deployment", "Service", "ServiceMonitor", "NetworkPolicy", "Certificate", "Secret"}
    if not R.check(want <= set(kinds), "TLS overlay: has " + ", ".join(sorted(want)), fail_detail=f"got {sorted(kinds)}"):
        return
    check_manifests(kinds, "TLS overlay: ")
    pod = kinds["Deployment"]["spec"]["template"]["spec"]
    main = pod["containers"][0]
    args = main.get("args", [])
    flag = [a.split("=", 1)[1] for a in args if a.startswith("--web.config.file=")]
    mounts = {m["name"]: m for m in main.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in pod.get("volumes", [])}

    def secret_mounted_at(path):
        for name, m in mounts.items():
            if path.startswith(m["mountPath"].rstrip("/") + "/") and "secret" in volumes.get(name, {}):
                return volumes[name]["secret"]["secretName"]
        return None

    web_secret = flag and secret_mounted_at(flag[0])
    R.check(bool(web_secret), "TLS overlay: --web.config.file points into a mounted Secret", flag and flag[0] or "no flag")
    secrets = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Secret"}
    web = None
    if web_secret in secrets:
        data = secrets[web_secret].get("data", {})
        name = flag[0].rsplit("/", 1)[1]
        if name in data:
            import base64
            web = yaml.safe_load(base64.b64decode(data[name]))
    if R.check(isinstance(web, dict), "TLS overlay: the web config Secret holds the file the flag names"):
        tls = web.get("tls_server_config", {})
        cert_secret = secret_mounted_at(tls.get("cert_file", ""))
        cert = kinds["Certificate"]["spec"]
        R.check(cert_secret == cert["secretName"] and secret_mounted_at(tls.get("key_file", "")) == cert_secret,
                "TLS overlay: cert_file and key_file are in the cert-manager Certificate's Secret",
                f"{tls.get('cert_file')} {tls.get('key_file')} -> {cert_secret}")
        R.check(bool(web.get("basic_auth_users")), "TLS overlay: the web config asks for basic auth")
    probes = [main.get(p, {}) for p in ("startupProbe", "livenessProbe", "readinessProbe")]
    R.check(all("tcpSocket" in p or p.get("httpGet", {}).get("scheme") == "HTTPS" for p in probes),
            "TLS overlay: every probe works with TLS (TCP, or HTTPS)")
    ep = kinds["ServiceMonitor"]["spec"]["endpoints"][0]
    tls_config = ep.get("tlsConfig", {})
    R.check(ep.get("scheme") == "https" and bool(tls_config.get("ca")) and bool(ep.get("basicAuth")),
            "TLS overlay: the ServiceMonitor scrapes with scheme https, tlsConfig.ca and basicAuth")
    R.check(tls_config.get("serverName") in kinds["Certificate"]["spec"].get("dnsNames", []),
            "TLS overlay: the ServiceMonitor's serverName is a name of the Certificate", str(tls_config.get("serverName")))
    ports = [p["name"] for p in kinds["Service"]["spec"]["ports"]]
    R.check(ep.get("port") in ports, "TLS overlay: the ServiceMonitor scrapes a named port of the Service")


def check_manifests(kinds, prefix):
    """Hardening and wiring that the base and the overlays share."""
    want = {"Deployment", "Service", "ServiceMonitor", "PrometheusRule", "NetworkPolicy", "PersistentVolumeClaim"}
    R.check(want <= set(kinds), f"{prefix or 'the base '}has " + ", ".join(sorted(want)), fail_detail=f"got {sorted(kinds)}")

    dep = kinds.get("Deployment")
    if dep:
        pod = dep["spec"]["template"]["spec"]
        R.check(pod.get("securityContext", {}).get("runAsNonRoot") is True, f"{prefix}Deployment: runAsNonRoot")
        for c in pod.get("initContainers", []) + pod["containers"]:
            sc = c.get("securityContext", {})
            R.check(sc.get("readOnlyRootFilesystem") is True and sc.get("allowPrivilegeEscalation") is False
                    and sc.get("capabilities", {}).get("drop") == ["ALL"],
                    f"{prefix}Deployment: container {c['name']} has a read-only root, no privilege escalation, all capabilities dropped")
            R.check(bool(c.get("resources", {}).get("requests")) and bool(c.get("resources", {}).get("limits")),
                    f"{prefix}Deployment: container {c['name']} has resource requests and limits")
        main = pod["containers"][0]
        args = " ".join(main.get("args", []))
        mounts = {m["mountPath"]: m for m in main.get("volumeMounts", [])}
        token = re.search(r"--auth\.refresh-token-file=(\S+)", args)
        R.check(bool(token) and any(token.group(1).startswith(p + "/") and not m.get("readOnly")
                                    for p, m in mounts.items()),
                f"{prefix}Deployment: the rotated refresh token is written to a writable volume",
                token and token.group(1) or "")
        storage = re.search(r"--storage\.path=(\S+)", args)
        R.check(bool(storage) and any(storage.group(1).rstrip("/") == p or storage.group(1).startswith(p + "/")
                                      for p, m in mounts.items() if not m.get("readOnly")),
                "Deployment: collected data is kept on the writable state volume (--storage.path)",
                storage and storage.group(1) or "")
    np_ = kinds.get("NetworkPolicy")
    if np_:
        ports = sorted((p["port"], p.get("protocol", "TCP")) for rule in np_["spec"].get("egress", [])
                       for p in rule.get("ports", []))
        R.check(set(ports) == {(443, "TCP"), (53, "UDP"), (53, "TCP")} and "Egress" in np_["spec"]["policyTypes"],
                f"{prefix}NetworkPolicy: egress only to 443 and DNS", str(ports))
        ingress = np_["spec"].get("ingress", [])
        sources = [f for rule in ingress for f in rule.get("from", [])]
        R.check(bool(ingress) and all(rule.get("from") for rule in ingress)
                and all(f.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
                        == "monitoring" and "ipBlock" not in f for f in sources),
                f"{prefix}NetworkPolicy: ingress only from the namespace monitoring", str(sources))
    svc, sm = kinds.get("Service"), kinds.get("ServiceMonitor")
    if svc and sm:
        R.check(svc["metadata"]["name"] == JOB, f"{prefix}Service is named {JOB!r} (the job label of the alerts)")
        R.check(sm["spec"]["endpoints"][0]["port"] in [p["name"] for p in svc["spec"]["ports"]],
                f"{prefix}ServiceMonitor scrapes a named port of the Service")


# --------------------------------------------------------------------------------------------------
def check_grafana():
    run("grafana/dashboards/*.json are generated by scripts/gen-dashboards.py and up to date",
        [sys.executable, str(ROOT / "scripts" / "gen-dashboards.py"), "--check"], tool=sys.executable)
    records = {r["record"] for g in yaml.safe_load((PROM / "rules.yml").read_text())["groups"]
               for r in g["rules"] if "record" in r}
    files = sorted((GRAFANA / "dashboards").glob("*.json"))
    R.check(len(files) == 4, "four dashboards", ", ".join(f.name for f in files))
    uids = set()
    for path in files:
        name = path.name
        try:
            d = json.loads(path.read_text())
        except Exception as e:  # noqa: BLE001
            R.fail(f"{name} parses as JSON", str(e))
            continue
        uids.add(d.get("uid"))
        R.check(d.get("schemaVersion", 0) >= 39, f"{name}: schemaVersion is current (>= 39)", str(d.get("schemaVersion")))
        R.check(d.get("id") is None and bool(d.get("uid")), f"{name}: no numeric id, a stable uid", d.get("uid"))
        variables = {v["name"]: v for v in d["templating"]["list"]}
        R.check(variables.get("datasource", {}).get("type") == "datasource"
                and variables["datasource"].get("query") == "prometheus",
                f"{name}: has the ${{datasource}} variable of type prometheus")
        if d["uid"] != "partnercenter-exporter-health":
            R.check({"customer", "product", "channel"} <= set(variables),
                    f"{name}: template variables customer, product and channel", ", ".join(variables))
        # Every data source reference is the variable (the built-in annotation source aside).
        bad = []

        def walk(node, where):
            if isinstance(node, dict):
                ds = node.get("datasource")
                if isinstance(ds, dict) and ds.get("uid") not in ("${datasource}", "-- Grafana --"):
                    bad.append(f"{where}: {ds}")
                if isinstance(ds, str) and ds not in ("${datasource}", "$datasource"):
                    bad.append(f"{where}: {ds}")
                for k, v in node.items():
                    walk(v, f"{where}.{k}")
            elif isinstance(node, list):
                for i, v in enumerate(node):
                    walk(v, f"{where}[{i}]")

        walk(d, name)
        R.check(not bad, f"{name}: every query uses ${{datasource}}, no data source UID is hard-coded",
                fail_detail="\n".join(bad[:5]))
        exprs = [t["expr"] for p in d["panels"] for t in p.get("targets", []) if "expr" in t]
        used = set(re.findall(r"\b[a-z]+:partnercenter_[a-z_]+:[a-z]+\b", "\n".join(exprs)))
        R.check(used <= records, f"{name}: every recording rule it uses exists in rules.yml",
                f"{len(used)} used", f"unknown: {sorted(used - records)}")
        if d["uid"] != "partnercenter-exporter-health":
            R.check(bool(used), f"{name}: panels use the recording rules")
        ids = [p["id"] for p in d["panels"]]
        R.check(len(ids) == len(set(ids)), f"{name}: panel ids are unique")
    R.check(len(uids) == len(files), "dashboard uids are unique")

    ds = load_yaml(GRAFANA / "provisioning" / "datasources" / "prometheus.yml")
    if ds:
        R.check(ds[0]["datasources"][0]["type"] == "prometheus", "datasource provisioning: a Prometheus data source")
    dp = load_yaml(GRAFANA / "provisioning" / "dashboards" / "partnercenter.yml")
    if dp:
        path = dp[0]["providers"][0]["options"]["path"]
        compose = (ROOT / "deploy" / "docker-compose.yml").read_text()
        R.check(f"../grafana/dashboards:{path}" in compose,
                "dashboard provisioning: the compose file mounts the dashboards where the provider reads them", path)


# --------------------------------------------------------------------------------------------------
def check_docker():
    compose = load_yaml(ROOT / "deploy" / "docker-compose.yml")
    if compose:
        services = compose[0]["services"]
        R.check({"exporter", "prometheus", "alertmanager", "grafana"} <= set(services),
                "docker-compose.yml: exporter, prometheus, alertmanager and grafana")
        exporter = services["exporter"]
        command = exporter.get("command", [])
        R.check("--demo" in command, "docker-compose.yml: the exporter runs in demo mode")
        R.check(any(a.startswith("--storage.path=") for a in command)
                and any(str(v).endswith(":/var/lib/partnercenter-exporter") for v in exporter.get("volumes", [])),
                "docker-compose.yml: the exporter keeps its data on a volume (--storage.path)")
        R.check(any(c.startswith("--web.config.file=") for c in command),
                "docker-compose.yml: the exporter serves with a web config file (HTTPS, basic auth)")
        health = " ".join(exporter.get("healthcheck", {}).get("test", []))
        R.check("https://" in health and "Authorization: Basic" in health,
                "docker-compose.yml: the exporter's health check speaks HTTPS with basic auth", health)
        missing = []
        for svc in services.values():
            for v in svc.get("volumes", []):
                src = v.split(":")[0]
                if src.startswith("."):
                    if not (ROOT / "deploy" / src).resolve().exists():
                        missing.append(src)
            build = svc.get("build")
            if build:
                ctx = (ROOT / "deploy" / build["context"]).resolve()
                if not (ctx / build["dockerfile"]).exists():
                    missing.append(f"{build['context']}/{build['dockerfile']}")
        R.check(not missing, "docker-compose.yml: every mounted file and the Dockerfile exist", fail_detail=", ".join(missing))
    if shutil.which("docker-compose"):
        run("docker-compose config", ["docker-compose", "-f", "deploy/docker-compose.yml", "config", "-q"])
    else:
        R.skip("docker compose config", "no compose CLI; the YAML and its paths are checked above")
    check_demo_web_config()
    run("amtool check-config deploy/docker/alertmanager.yml",
        ["amtool", "check-config", str(DOCKER / "alertmanager.yml")])

    text = (DOCKER / "Dockerfile").read_text()
    lines = [ln.strip() for ln in re.sub(r"\\\n", " ", text).splitlines() if ln.strip() and not ln.startswith("#")]
    froms = [ln for ln in lines if ln.upper().startswith("FROM ")]
    R.check(len(froms) >= 2, "Dockerfile: multi-stage", f"{len(froms)} stages")
    final = lines[max(i for i, ln in enumerate(lines) if ln.upper().startswith("FROM ")):]
    user = [ln.split()[1] for ln in final if ln.upper().startswith("USER ")]
    R.check(bool(user) and user[-1].split(":")[0] not in ("root", "0"), "Dockerfile: the runtime image runs as non-root",
            user and user[-1] or "")
    hc = [ln for ln in final if ln.upper().startswith("HEALTHCHECK ")]
    R.check(bool(hc) and "/-/healthy" in hc[0], "Dockerfile: HEALTHCHECK on /-/healthy")
    R.check(not re.search(r"^ADD\s+https?://", text, re.M | re.I), "Dockerfile: downloads nothing with ADD")
    cargo = (ROOT / "Cargo.toml").read_text()
    need = re.search(r'^rust-version\s*=\s*"(\d+)\.(\d+)', cargo, re.M)
    pinned = re.search(r"^ARG RUST_VERSION=(\d+)\.(\d+)", text, re.M)
    R.check(bool(need and pinned) and tuple(map(int, pinned.groups())) >= tuple(map(int, need.groups())),
            "Dockerfile: its Rust toolchain is at least Cargo.toml's rust-version",
            f"Dockerfile {pinned and '.'.join(pinned.groups())}, rust-version {need and '.'.join(need.groups())}")
    labels = set(re.findall(r"org\.opencontainers\.image\.([a-z.]+)=", text))
    R.check({"title", "description", "licenses", "version", "revision", "source"} <= labels,
            "Dockerfile: OCI labels (title, description, licenses, version, revision, source)", ", ".join(sorted(labels)))
    lic = re.search(r'^license\s*=\s*"([^"]+)"', cargo, re.M)
    R.check(bool(lic) and (ROOT / "LICENSE").exists() and lic.group(1).split("-")[0] in (ROOT / "LICENSE").read_text()[:400],
            "LICENSE exists and is the license Cargo.toml names", lic and lic.group(1))
    run("hadolint deploy/docker/Dockerfile", ["hadolint", str(DOCKER / "Dockerfile")])
    ignore = (ROOT / ".dockerignore").read_text().split()
    R.check("target" in ignore and ".git" in ignore, ".dockerignore keeps target/ and .git out of the build context")


def check_demo_web_config():
    """The compose demo's web config and certificates load, and the demo certificate is not about to expire."""
    cert = DOCKER / "tls" / "server.crt"
    run("the demo certificate deploy/docker/tls/server.crt is valid for another year (else run generate.sh)",
        ["openssl", "x509", "-checkend", "31536000", "-noout", "-in", str(cert)])
    binary = ROOT / "target" / "debug" / "partnercenter-exporter"
    if not binary.exists():
        R.skip("the exporter loads deploy/docker/web-config.yml", "no target/debug/partnercenter-exporter (cargo build)")
        return
    # --demo --once validates the web config (and its certificates) at start like a real start would.
    run("the exporter loads deploy/docker/web-config.yml and its demo certificates",
        [str(binary), "--demo", "--once", "--log.level=error", f"--web.config.file={DOCKER / 'web-config.yml'}"],
        tool=str(binary))


# --------------------------------------------------------------------------------------------------
def check_systemd():
    unit = (SYSTEMD / "partnercenter-exporter.service").read_text()
    for directive in ("ProtectSystem=strict", "StateDirectory=", "NoNewPrivileges=yes", "CapabilityBoundingSet="):
        R.check(re.search(rf"^{re.escape(directive)}", unit, re.M) is not None, f"systemd unit: {directive}")
    R.check(re.search(r"^(DynamicUser=yes|User=\S+)", unit, re.M) is not None, "systemd unit: a dedicated or dynamic user")
    R.check("--auth.refresh-token-file=%S/partnercenter-exporter/" in unit,
            "systemd unit: the rotated refresh token lives in the StateDirectory")
    R.check("--storage.path=%S/partnercenter-exporter/" in unit,
            "systemd unit: collected data is kept in the StateDirectory (--storage.path)")
    group = re.search(r"^SupplementaryGroups=(\S+)", unit, re.M)
    sysusers = (SYSTEMD / "partnercenter-exporter.sysusers").read_text()
    R.check(bool(group) and re.search(rf"^g {re.escape(group.group(1))}\b", sysusers, re.M) is not None,
            "systemd unit: the group that reads the web config is made by partnercenter-exporter.sysusers",
            group and group.group(1) or "no SupplementaryGroups=")
    web = yaml.safe_load((SYSTEMD / "web-config.yml.example").read_text())
    R.check(bool(web.get("tls_server_config", {}).get("cert_file")) and bool(web.get("basic_auth_users")),
            "systemd web-config.yml.example: TLS and basic auth")
    env = (SYSTEMD / "partnercenter-exporter.env.example").read_text()
    R.check(re.search(r"^PARTNERCENTER_WEB_CONFIG_FILE=/etc/partnercenter-exporter/", env, re.M) is not None,
            "systemd env example: the web config file lives under /etc/partnercenter-exporter/")
    bad = [ln for ln in env.splitlines() if ln.strip() and not ln.startswith("#")
           and not re.match(r"PARTNERCENTER_[A-Z0-9_]+=", ln)]
    R.check(not bad, "systemd env example: only PARTNERCENTER_* variables", fail_detail="\n".join(bad))
    R.check("CLIENT_SECRET=" not in env and "REFRESH_TOKEN=" not in env,
            "systemd env example: holds no secret (they come as credentials)")
    if not shutil.which("systemd-analyze"):
        R.skip("systemd-analyze verify", "systemd-analyze not installed")
        return
    with tempfile.TemporaryDirectory() as tmp:
        # The binary is not installed here: verify the unit with /bin/true in its place.
        path = Path(tmp) / "partnercenter-exporter.service"
        path.write_text(unit.replace("/usr/local/bin/partnercenter-exporter", "/bin/true"))
        run("systemd-analyze verify partnercenter-exporter.service", ["systemd-analyze", "verify", str(path)])
        p = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--threshold=20", str(path)],
                           capture_output=True, text=True)
        level = re.search(r"Overall exposure level for \S+: ([0-9.]+)", p.stdout)
        R.check(p.returncode == 0, "systemd-analyze security: exposure level 2.0 or lower (on the 0-10 scale)",
                level and level.group(1) or "", (level and level.group(0) or "") + p.stderr[-500:])


def main():
    for section in (check_prometheus, check_kubernetes, check_grafana, check_docker, check_systemd):
        print(f"--- {section.__name__.replace('check_', '')}")
        try:
            section()
        except Exception as e:  # noqa: BLE001 - a crash is one failure, the other sections still run
            R.fail(f"{section.__name__} ran to the end", f"{type(e).__name__}: {e}")
    print(f"check-deploy: {R.passed} passed, {R.failed} failed, {R.skipped} skipped")
    return 1 if R.failed else 0


if __name__ == "__main__":
    sys.exit(main())
