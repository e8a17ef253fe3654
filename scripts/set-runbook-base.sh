#!/usr/bin/env bash
# Point every alert's runbook_url at another copy of the README (a fork, an internal mirror):
#
#   scripts/set-runbook-base.sh https://git.example.com/ops/partnercenter-exporter/blob/main/README.md
#
# Every runbook_url is that one base + "#" + the alert's name in lower case. Rewrites
# deploy/prometheus/rules.yml and rules.test.yml, then regenerates the Kubernetes PrometheusRule.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
base="${1:?usage: $0 ABSOLUTE-URL-OF-README.md}"
case "$base" in
  http://*|https://*) ;;
  *) echo "the base must be an absolute http(s) URL, not $base" >&2; exit 2 ;;
esac
base="${base%%#*}"
for f in "$root/deploy/prometheus/rules.yml" "$root/deploy/prometheus/rules.test.yml"; do
  python3 - "$f" "$base" <<'PY'
import re, sys
path, base = sys.argv[1], sys.argv[2]
text = open(path).read()
text = re.sub(r'(runbook_url: ")[^"#]*#', lambda m: m.group(1) + base + "#", text)
text = re.sub(r'^(# runbook base: ).*$', lambda m: m.group(1) + base, text, flags=re.M)
open(path, "w").write(text)
PY
done
"$root/scripts/gen-prometheusrule.sh"
echo "runbook base is now $base"
