#!/usr/bin/env bash
# The cost benchmark as one command: the exporter against nginx serving the same bytes, and the
# code of a git revision ("before", default main) against the working tree ("after"), side by side
# in one run. It prints the table of the project's targets and writes it into docs/benchmarks.md.
#
#   scripts/bench.sh [--before REV | --no-before] [--no-write] [ARGS FOR benches/cost.rs...]
#       e.g. scripts/bench.sh --customers 10000 --rounds 5
#
# What it needs it installs when missing: Debian's nginx (the reference server) and gdb (to ask
# glibc for the live heap). The "before" binary is built from `git archive REV` in
# /tmp/partnercenter-bench/REV-SHA (kept for the next run); the "after" binary is this tree's
# release build. Timings are never part of `cargo test`; the machine is shared, so the table
# records the load average with every figure: run it again when the machine is quiet.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

before=main
write=(--write docs/benchmarks.md)
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --before) before="$2"; shift 2 ;;
    --no-before) before=""; shift ;;
    --no-write) write=(); shift ;;
    *) extra+=("$1"); shift ;;
  esac
done

install_missing() { # PACKAGE COMMAND...
  local package=$1; shift
  for c in "$@"; do command -v "$c" >/dev/null && return 0; done
  echo "bench: installing Debian's $package" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$package" >/dev/null
}
PATH="$PATH:/usr/sbin"
install_missing nginx nginx
install_missing gdb gdb

args=(--nginx "$(command -v nginx)")
if [[ -n "$before" ]]; then
  sha="$(git rev-parse --short=12 "$before^{commit}")"
  dir="/tmp/partnercenter-bench/$sha"
  if [[ ! -x "$dir/target/release/partnercenter-exporter" ]]; then
    echo "bench: building $before ($sha) in $dir" >&2
    rm -rf "$dir" && mkdir -p "$dir"
    git archive "$sha" | tar -x -C "$dir"
    (cd "$dir" && cargo build --release --locked --bin partnercenter-exporter >&2)
  fi
  args+=(--before "$dir/target/release/partnercenter-exporter" --before-label "before ($before $sha)")
fi
after_label="after ($(git rev-parse --short=12 HEAD)$(git diff --quiet HEAD -- src Cargo.toml Cargo.lock || echo '+changes'))"
cargo bench --bench cost -- "${args[@]}" --after-label "$after_label" "${write[@]}" "${extra[@]}"
