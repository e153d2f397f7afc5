#!/usr/bin/env bash
# Memory of one deskbridge process (SQLite, built-in CRM, the default config)
# idle and under load: for each N given, a fresh server in a temporary data
# directory, its RSS idle, then the load generator keeps N calls in flight (N
# clients, one event per request, each call talking TALK_MS before its `ended`)
# for 4 x N calls, and the process's peak RSS (VmHWM) and RSS after are read
# from /proc. Prints one Markdown table row per N.
#
# Usage (from the repository root, after `cargo build [--release] -p deskbridge
# -p deskbridge-bench`):
#   PROFILE=debug crates/deskbridge-bench/memory-under-load.sh 16 256 1024
set -euo pipefail
profile=${PROFILE:-debug}
talk_ms=${TALK_MS:-2000}
port=${PORT:-18480}
bin=target/$profile
[ -x "$bin/deskbridge" ] && [ -x "$bin/deskbridge-bench" ] || {
  echo "build first: cargo build ${profile/debug/} -p deskbridge -p deskbridge-bench" >&2
  exit 2
}
mib() { awk -v k="$2:" '$1 == k { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }

echo "| calls in flight | calls | RSS idle (MiB) | peak RSS under load (MiB) | RSS after (MiB) | events/s | calls synced in |"
echo "|---|---|---|---|---|---|---|"
for n in "${@:-16 256 1024}"; do
  dir=$(mktemp -d)
  RUST_LOG=warn "$bin/deskbridge" serve --listen "127.0.0.1:$port" --data-dir "$dir/data" \
    >"$dir/serve.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    [ -s "$dir/data/ingest-token" ] && curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
    sleep 0.2
  done
  sleep 2
  idle=$(mib "$pid" VmRSS)
  out=$("$bin/deskbridge-bench" --load --url "http://127.0.0.1:$port" \
    --token "$(cat "$dir/data/ingest-token")" --run "mem$n" \
    --calls $((4 * n)) --numbers $((2 * n)) --batch 1 --concurrency "$n" --talk-ms "$talk_ms") || {
    echo "the load failed; the server's log is in $dir/serve.log" >&2
    kill "$pid"
    exit 1
  }
  peak=$(mib "$pid" VmHWM)
  after=$(mib "$pid" VmRSS)
  rate=$(grep -o '= [0-9]* events/s' <<<"$out" | grep -o '[0-9]*')
  synced=$(grep -o 'done` (or failed) [0-9.]* s' <<<"$out" | grep -o '[0-9.]* s')
  echo "| $n | $((4 * n)) | $idle | $peak | $after | $rate | $synced |"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
done
