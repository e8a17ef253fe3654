#!/usr/bin/env bash
# End-to-end check of the monitoring bundle with a real Prometheus:
#
#   1. start `partnercenter-exporter simulate` and the exporter pointed at it (E2E_MODE=simulate, the
#      default; its /admin/state is the ground truth of (c)), or the exporter alone with --demo
#      (E2E_MODE=demo; then (c) is checked against the exporter's /metrics only). The exporter serves
#      HTTPS with basic auth and requires a client certificate (--web.config.file, certificates made
#      here with openssl), and Prometheus scrapes it so (E2E_TLS=0: plain HTTP instead);
#   2. start Prometheus on loopback with deploy/prometheus/prometheus.yml and rules.yml, changed only
#      where a short run needs it (2s scrape and evaluation intervals, every `for:` set to 10s, the
#      target pointed at the exporter, no Alertmanager) - see scripts/e2e_checks.py `config`;
#   3. assert through the Prometheus HTTP API that (a) the target is up, (b) every recording rule
#      and every query of every dashboard panel returns data, (c) the low-utilization alert is
#      pending or firing for exactly the customers that are under-used in the exporter's /metrics,
#      and (e) the renewal and refund-window alerts are pending or firing for exactly the
#      subscriptions the exporter's /metrics put in their windows (and, in simulate mode, exactly
#      those the simulator placed there). In simulate mode the exporter loads the simulator's
#      price sheet (`simulate --write-price-sheet`), so the money panels have data.
#
# Usage: scripts/e2e.sh [path/to/partnercenter-exporter]
#   default binary: $PARTNERCENTER_EXPORTER_BIN, else target/debug/partnercenter-exporter
# Environment: PROMETHEUS, PROMTOOL (default: from PATH), E2E_MODE=simulate|demo (default simulate),
#   E2E_CUSTOMERS and E2E_SEED of the simulator (100, 1), E2E_TLS=1|0 (default 1),
#   E2E_TIMEOUT (seconds to wait for each condition, default 90), E2E_KEEP=1 keeps the work directory.
#
# Every process it starts is stopped on exit, whether the checks pass or not.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${1:-${PARTNERCENTER_EXPORTER_BIN:-$root/target/debug/partnercenter-exporter}}"
prometheus="${PROMETHEUS:-prometheus}"
promtool="${PROMTOOL:-promtool}"
mode="${E2E_MODE:-simulate}"
tls="${E2E_TLS:-1}"
timeout="${E2E_TIMEOUT:-90}"
interval=2s

fail_setup() {
  echo "FAIL e2e setup: $*" >&2
  echo "e2e: 0 passed, 1 failed"
  exit 1
}

[[ -x "$bin" ]] || fail_setup "no exporter binary at $bin (build it with cargo build)"
command -v "$prometheus" >/dev/null || fail_setup "prometheus not found (apt-get install prometheus)"
command -v "$promtool" >/dev/null || fail_setup "promtool not found (apt-get install prometheus)"
python3 -c 'import yaml' 2>/dev/null || fail_setup "python3 cannot import yaml (pip install pyyaml)"
[[ "$tls" != 1 ]] || command -v openssl >/dev/null || fail_setup "openssl not found (apt-get install openssl), or run with E2E_TLS=0"

work="$(mktemp -d -t partnercenter-e2e.XXXXXX)"
pids=()

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [[ $rc -ne 0 ]]; then
    for log in "$work"/*.log; do
      [[ -f "$log" ]] || continue
      echo "----- last lines of $(basename "$log") -----"
      tail -n 25 "$log"
    done
  fi
  if [[ "${E2E_KEEP:-}" == 1 ]]; then
    echo "e2e: kept $work"
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

wait_http() { # URL SECONDS [TLS options of e2e_checks.py]: until the URL answers at all (any status), or fail
  local url=$1 deadline=$((SECONDS + $2))
  shift 2
  until python3 "$root/scripts/e2e_checks.py" status "$url" "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || return 1; done
    sleep 0.5
  done
}

exporter_port="$(free_port)"
prometheus_port="$(free_port)"
# The simulator has no rate limit of its own here: a faster client limit keeps a run of the
# per-customer collectors (two requests per customer) to seconds.
exporter_flags=(--web.listen-address "127.0.0.1:$exporter_port" --collector.interval 5s --log.level info
  --partnercenter.requests-per-minute 6000 --partnercenter.subscriptions.requests-per-minute 6000)
scheme=http
tls_args=()
if [[ "$tls" == 1 ]]; then
  # A CA, the exporter's certificate (127.0.0.1 and localhost) and Prometheus' client certificate,
  # and a web config file asking for all three plus basic auth: the setup of README.md "Securing
  # the endpoint", with a client certificate on top.
  t="$work/tls"
  mkdir -p "$t"
  ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
  openssl req -x509 "${ec[@]}" -keyout "$t/ca.key" -out "$t/ca.crt" -days 2 -subj "/CN=e2e CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
  leaf() { # NAME SAN EKU
    openssl req -new "${ec[@]}" -keyout "$t/$1.key" -out "$t/$1.csr" -subj "/CN=$1" 2>/dev/null
    openssl x509 -req -in "$t/$1.csr" -CA "$t/ca.crt" -CAkey "$t/ca.key" -CAcreateserial -days 2 \
      -out "$t/$1.crt" -extfile <(printf '%s\n' "subjectAltName=$2" "extendedKeyUsage=$3") 2>/dev/null
  }
  leaf server "DNS:localhost,IP:127.0.0.1" serverAuth
  leaf prometheus "DNS:prometheus.e2e" clientAuth
  printf '%s\n' e2e-password >"$t/password"
  # The hash: htpasswd -nbBC 5 prometheus e2e-password (cost 5: the debug build's bcrypt is slow).
  cat >"$work/web.yml" <<'EOF'
tls_server_config:
  cert_file: tls/server.crt
  key_file: tls/server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: tls/ca.crt
  client_allowed_sans: [prometheus.e2e]
basic_auth_users:
  prometheus: $2y$05$ka.WZcSIZyjaL5njXCcv8eHgTbKFc8OSf8xo59ZHD446vOiD/poya
EOF
  exporter_flags+=(--web.config.file "$work/web.yml")
  scheme=https
  tls_args=(--ca "$t/ca.crt" --cert "$t/prometheus.crt" --key "$t/prometheus.key" --user prometheus
    --password-file "$t/password")
  echo "e2e: the exporter serves HTTPS with basic auth and requires a client certificate"
fi
state_url=""
extra_checks=()

case "$mode" in
  demo)
    echo "e2e: starting $bin --demo on 127.0.0.1:$exporter_port"
    "$bin" --demo "${exporter_flags[@]}" >"$work/exporter.log" 2>&1 &
    pids+=($!)
    ;;
  simulate)
    # The simulator alone, with fake credentials chosen here, and the exporter pointed at it. The
    # simulator's /admin/state names the customers it made under-used: the independent ground truth.
    simulator_port="$(free_port)"
    # Random 5xx answers, so that retries happen (each request is retried up to 5 times: a run
    # fails only if 6 attempts in a row fail, about 1 in 15,000 at 0.2).
    fail_rate="${E2E_FAIL_RATE:-0.2}"
    extra_checks+=(--expect-retries)
    tenant=00000000-0000-4000-8000-00000000e2e0
    client=00000000-0000-4000-8000-00000000e2e1
    printf '%s\n' "e2e-fake-client-secret" >"$work/client-secret"
    printf '%s\n' "e2e-fake-refresh-token" >"$work/refresh-token"
    chmod 600 "$work/client-secret" "$work/refresh-token"
    echo "e2e: starting $bin simulate on 127.0.0.1:$simulator_port"
    PARTNERCENTER_SIMULATOR_CLIENT_SECRET=e2e-fake-client-secret \
      PARTNERCENTER_SIMULATOR_REFRESH_TOKEN=e2e-fake-refresh-token \
      "$bin" simulate --listen-address "127.0.0.1:$simulator_port" --customers "${E2E_CUSTOMERS:-100}" \
      --seed "${E2E_SEED:-1}" --tenant-id "$tenant" --client-id "$client" --fail-rate "$fail_rate" \
      >"$work/simulator.log" 2>&1 &
    pids+=($!)
    sim="http://127.0.0.1:$simulator_port"
    wait_http "$sim/admin/state" 30 || fail_setup "the simulator did not start (see simulator.log)"
    state_url="$sim/admin/state"
    "$bin" simulate --write-price-sheet "$work/price-sheet.csv" >"$work/price-sheet.log" 2>&1 \
      || fail_setup "simulate --write-price-sheet failed (see price-sheet.log)"
    echo "e2e: starting $bin on 127.0.0.1:$exporter_port against $sim"
    "$bin" "${exporter_flags[@]}" --pricing.file "$work/price-sheet.csv" --partnercenter.url "$sim" --auth.token-url "$sim/{tenant}/oauth2/token" \
      --auth.tenant-id "$tenant" --auth.client-id "$client" \
      --auth.client-secret-file "$work/client-secret" --auth.refresh-token-file "$work/refresh-token" \
      >"$work/exporter.log" 2>&1 &
    pids+=($!)
    ;;
  *) fail_setup "E2E_MODE must be demo or simulate, not $mode" ;;
esac
wait_http "$scheme://127.0.0.1:$exporter_port/-/healthy" 30 "${tls_args[@]}" \
  || fail_setup "the exporter did not start (see exporter.log)"

python3 "$root/scripts/e2e_checks.py" config --exporter "127.0.0.1:$exporter_port" --workdir "$work" \
  --interval "$interval" --for 10s "${tls_args[@]}"
"$promtool" check config "$work/prometheus.yml" >"$work/promtool.log" 2>&1 \
  || { cat "$work/promtool.log"; fail_setup "promtool check config failed on the derived configuration"; }

echo "e2e: starting $prometheus on 127.0.0.1:$prometheus_port"
"$prometheus" --config.file "$work/prometheus.yml" --storage.tsdb.path "$work/data" \
  --web.listen-address "127.0.0.1:$prometheus_port" --log.level warn >"$work/prometheus.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$prometheus_port/-/ready" 30 || fail_setup "Prometheus did not start (see prometheus.log)"

check_args=(check --prometheus "http://127.0.0.1:$prometheus_port" --exporter "$scheme://127.0.0.1:$exporter_port"
  --timeout "$timeout" "${tls_args[@]}")
[[ -n "$state_url" ]] && check_args+=(--state-url "$state_url")
check_args+=("${extra_checks[@]}")
# In the background and waited for, so that an INT or TERM stops the run (and the trap cleans up) at once.
python3 "$root/scripts/e2e_checks.py" "${check_args[@]}" &
checker=$!
pids+=("$checker")
rc=0
wait "$checker" || rc=$?
exit "$rc"
