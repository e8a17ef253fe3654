#!/usr/bin/env bash
# Static checks of the monitoring bundle and deployment files: promtool (config, rules, unit tests),
# generated files up to date, dashboards, kustomize build, compose, amtool, Dockerfile, systemd unit.
# Needs promtool (apt-get install prometheus) and PyYAML; uses kubectl, amtool and systemd-analyze
# when installed and reports SKIP otherwise. Exits 1 if anything failed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
command -v promtool >/dev/null || { echo "FAIL promtool not found (apt-get install prometheus)"; echo "check-deploy: 0 passed, 1 failed"; exit 1; }
python3 -c 'import yaml' 2>/dev/null || { echo "FAIL python3 cannot import yaml (pip install pyyaml)"; echo "check-deploy: 0 passed, 1 failed"; exit 1; }
exec python3 "$root/scripts/check_deploy.py"
