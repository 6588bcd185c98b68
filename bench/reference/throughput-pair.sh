#!/usr/bin/env bash
# The first throughput figure: sluice against the rocketmq-rust reference broker, measured in the
# same run with the same third-party client (crates.io `rocketmq-client-rust`, driven by
# tests/interop/rust-client's `throughput` scenario: N concurrent sync senders of SIZE-byte
# bodies for D seconds, after one warm-up send that creates the topic).
#
#   bench/reference/throughput-pair.sh [--duration S] [--senders N] [--size BYTES]
#                                      [--topic T] [--flush async|sync] [--only sluice|peer]
#                                      [--sluice-mode auto|standalone|proxied] [--no-build] [--wait-idle S]
#
# Defaults: 20 s, 16 senders, 1024 bytes, topic BenchTopic, ASYNC_FLUSH on both brokers (both
# brokers' default). Runs sluice first, then the reference, one at a time; every process started
# here is killed on exit; every wait is bounded; all traffic goes to 127.0.0.1.
# --sluice-mode: standalone (default) = the client uses sluice's NameServer as is; proxied = its
# NameServer traffic goes through route-fix-proxy.py, which adds `enableActingMaster` to route data
# (rocketmq-client-rust 1.0.0 cannot decode a route without it; sluice before e428d11 omitted it);
# auto = standalone, and if that fails, says why and measures proxied.
# Prints a table and the ratio sluice/peer and writes bench/out/throughput-pair-<unix>.json.
#
# Builds (all outside the repository, under ${SLUICE_CACHE:-~/.cache/sluice}):
#   sluice        CARGO_TARGET_DIR=$CACHE/target cargo build --release -p sluice
#   the driver    tests/interop/rust-client -> $CACHE/target/interop-rust (as tests/interop/setup.sh)
#   the peer      bench/reference/rocketmq-rust.sh (cargo install rocketmq-namesrv/-broker 1.0.0)
# Ports (override with env): sluice SLUICE_NS_PORT=19876 SLUICE_BROKER_PORT=20911 SLUICE_PROXY_PORT=19877;
# reference PEER_NS_PORT=29876 PEER_BROKER_PORT=30911 (it also takes 30909 and 30912)
# and probe ports PEER_NS_PROBE=29880 PEER_BROKER_PROBE=29881.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
CACHE="${SLUICE_CACHE:-$HOME/.cache/sluice}"

DURATION=20
SENDERS=16
SIZE=1024
TOPIC=BenchTopic
FLUSH=async
ONLY=""
SLUICE_MODE=standalone
SLUICE_ERRORS="{}"
PEER_ERROR=""
BUILD=1
WAIT_IDLE=300

usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        --duration) DURATION="$2"; shift 2 ;;
        --senders) SENDERS="$2"; shift 2 ;;
        --size) SIZE="$2"; shift 2 ;;
        --topic) TOPIC="$2"; shift 2 ;;
        --flush) FLUSH="$2"; shift 2 ;;
        --only) ONLY="$2"; shift 2 ;;
        --sluice-mode) SLUICE_MODE="$2"; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        --wait-idle) WAIT_IDLE="$2"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "throughput-pair: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
done
[[ "$DURATION" =~ ^[0-9]+$ && "$SENDERS" =~ ^[0-9]+$ && "$SIZE" =~ ^[0-9]+$ ]] \
    || { echo "throughput-pair: --duration, --senders, --size take whole numbers" >&2; exit 2; }
case "$FLUSH" in
    async) FLUSH_JAVA=ASYNC_FLUSH ;;
    sync) FLUSH_JAVA=SYNC_FLUSH ;;
    *) echo "throughput-pair: --flush async|sync" >&2; exit 2 ;;
esac
case "$ONLY" in ""|sluice|peer) ;; *) echo "throughput-pair: --only sluice|peer" >&2; exit 2 ;; esac
case "$SLUICE_MODE" in auto|standalone|proxied) ;; *) echo "throughput-pair: --sluice-mode auto|standalone|proxied" >&2; exit 2 ;; esac

SLUICE_NS_PORT="${SLUICE_NS_PORT:-19876}"
SLUICE_BROKER_PORT="${SLUICE_BROKER_PORT:-20911}"
SLUICE_PROXY_PORT="${SLUICE_PROXY_PORT:-19877}"
PEER_NS_PORT="${PEER_NS_PORT:-29876}"
PEER_BROKER_PORT="${PEER_BROKER_PORT:-30911}"
PEER_NS_PROBE="${PEER_NS_PROBE:-29880}"
PEER_BROKER_PROBE="${PEER_BROKER_PROBE:-29881}"

say() { echo "throughput-pair: $*" >&2; }
die() { echo "throughput-pair: ERROR: $*" >&2; exit 1; }

# --- cleanup: every process started here, and the scratch directory -----------------------------
PIDS=()
WORK="$(mktemp -d "${TMPDIR:-/tmp}/sluice-throughput-pair.XXXXXX")"
KEEP_WORK=0
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    if [[ $KEEP_WORK == 1 ]]; then
        rm -rf "$WORK"/*/data "$WORK"/*/store  # the message stores: up to ~1 GB; logs are kept
        say "logs kept in $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# stop PID: SIGTERM, up to 10 s, then SIGKILL; drops it from PIDS.
stop() {
    local pid="$1" i
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        say "pid $pid ignored SIGTERM for 10 s; killing"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    local keep=()
    for i in "${PIDS[@]}"; do [[ "$i" != "$pid" ]] && keep+=("$i"); done
    PIDS=("${keep[@]+"${keep[@]}"}")
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port_free() { ! ss -Hltn "sport = :$1" | grep -q .; }

# wait_port PORT PID SECS: until PORT accepts, PID dies (fail) or SECS pass (fail).
wait_port() {
    local port="$1" pid="$2" deadline=$((SECONDS + $3))
    while ((SECONDS < deadline)); do
        kill -0 "$pid" 2>/dev/null || return 1
        port_open "$port" && return 0
        sleep 0.2
    done
    return 1
}

# wait_ready PROBE_PORT PID SECS: until GET /readyz answers 200.
wait_ready() {
    local port="$1" pid="$2" deadline=$((SECONDS + $3))
    while ((SECONDS < deadline)); do
        kill -0 "$pid" 2>/dev/null || return 1
        curl -fsS -m 1 "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && return 0
        sleep 0.3
    done
    return 1
}

# CPU seconds (user+sys) a process has used so far.
cpu_secs() {
    local tck; tck=$(getconf CLK_TCK)
    awk -v t="$tck" '{ sub(/^.*\) /, ""); print ($12 + $13) / t }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# --- builds -------------------------------------------------------------------------------------
SLUICE_BIN="$CACHE/target/release/sluice"
DRIVER_TARGET="${SLUICE_INTEROP_TARGET_DIR:-$CACHE/target/interop-rust}"
DRIVER_BIN="$DRIVER_TARGET/release/interop-rust-client"
if [[ $BUILD == 1 ]]; then
    if [[ "$ONLY" != peer ]]; then
        say "building sluice (release)"
        (cd "$REPO" && CARGO_TARGET_DIR="$CACHE/target" nice -n 15 cargo build --release -q -p sluice >&2) \
            || die "sluice build failed"
    fi
    say "building the rocketmq-client-rust driver"
    nice -n 15 cargo build --release -q --manifest-path "$REPO/tests/interop/rust-client/Cargo.toml" \
        --target-dir "$DRIVER_TARGET" >&2 || die "driver build failed"
    if [[ "$ONLY" != sluice ]]; then
        PEER_BIN_DIR="$("$HERE/rocketmq-rust.sh")" || die "rocketmq-rust install failed"
    fi
fi
PEER_BIN_DIR="${PEER_BIN_DIR:-$CACHE/rocketmq-rust-${ROCKETMQ_RUST_VERSION:-1.0.0}/bin}"
[[ "$ONLY" == peer || -x "$SLUICE_BIN" ]] || die "no $SLUICE_BIN (run without --no-build)"
[[ -x "$DRIVER_BIN" ]] || die "no $DRIVER_BIN (run without --no-build)"
[[ "$ONLY" == sluice || -x "$PEER_BIN_DIR/rocketmq-broker-rust" ]] || die "no rocketmq-rust binaries in $PEER_BIN_DIR"

# --- a quiet machine: wait (bounded) for unrelated compilers to finish ------------------------------
busy() { pgrep -x rustc >/dev/null 2>&1 || pgrep -f '/rustc ' >/dev/null 2>&1; }
if busy; then
    say "compilers are running; waiting up to ${WAIT_IDLE}s for them to finish"
    deadline=$((SECONDS + WAIT_IDLE))
    while busy && ((SECONDS < deadline)); do sleep 5; done
fi
BUSY_AT_START=false
busy && { BUSY_AT_START=true; say "WARNING: measuring while compilers run; figures will be low and noisy"; }
LOAD_AT_START="$(cut -d' ' -f1-3 /proc/loadavg)"

# --- the driver -------------------------------------------------------------------------------------
# run_driver NAME NAMESRV_PORT: runs the throughput scenario; sets RESULT_<...>.
run_driver() {
    local name="$1" ns_port="$2" out="$WORK/$1-driver.out" err="$WORK/$1-driver.err" rc=0
    say "$name: $SENDERS senders x $SIZE B for ${DURATION}s (topic $TOPIC)"
    timeout -k 5 $((DURATION + 90)) "$DRIVER_BIN" throughput --namesrv "127.0.0.1:$ns_port" \
        --topic "$TOPIC" --group "bench_${name}_$$" --senders "$SENDERS" --size "$SIZE" \
        --duration "$DURATION" --timeout 30 >"$out" 2>"$err" || rc=$?
    DRIVER_RC=$rc
    DRIVER_LINE="$(grep -m1 '"event":"throughput"' "$out" || true)"
    if [[ -z "$DRIVER_LINE" ]]; then
        KEEP_WORK=1
        say "$name: the driver printed no throughput line (exit $rc). stdout:"
        sed 's/^/    /' "$out" >&2
        say "$name: driver stderr (last 40 lines):"
        tail -n 40 "$err" | sed 's/^/    /' >&2
        return 1
    fi
    if [[ $rc != 0 ]] || [[ "$(jq -r '.errors // 0' <<<"$DRIVER_LINE")" != 0 ]]; then
        KEEP_WORK=1
        say "$name: driver exit $rc, line: $DRIVER_LINE"
        say "$name: driver stderr (last 20 lines):"
        tail -n 20 "$err" | sed 's/^/    /' >&2
    fi
    return 0
}

SLUICE_JSON=null
PEER_JSON=null

# --- (a) sluice ---------------------------------------------------------------------------------------
# run_sluice MODE. standalone: the driver talks to `sluice standalone`'s NameServer directly.
# proxied: the same, but the driver's NameServer traffic goes through route-fix-proxy.py, which adds
# the `enableActingMaster` field rocketmq-client-rust 1.0.0 cannot decode a route without (the
# sends go straight to sluice's broker either way, so the figure is sluice's send path).
run_sluice() {
    local mode="$1"
    port_free "$SLUICE_NS_PORT" && port_free "$SLUICE_BROKER_PORT" \
        || die "port $SLUICE_NS_PORT or $SLUICE_BROKER_PORT is taken (set SLUICE_NS_PORT/SLUICE_BROKER_PORT)"
    local dir="$WORK/sluice-$mode" pid proxy_pid="" ns_port="$SLUICE_NS_PORT"
    mkdir -p "$dir"
    printf 'brokerIP1=127.0.0.1\nflushDiskType=%s\n' "$FLUSH_JAVA" >"$dir/broker.conf"
    say "sluice ($mode): starting standalone (namesrv :$SLUICE_NS_PORT, broker :$SLUICE_BROKER_PORT, $FLUSH_JAVA)"
    RUST_LOG="${SLUICE_LOG:-warn}" "$SLUICE_BIN" standalone -c "$dir/broker.conf" --data-dir "$dir/data" \
        --namesrv-port "$SLUICE_NS_PORT" --broker-port "$SLUICE_BROKER_PORT" >"$dir/sluice.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    if ! wait_port "$SLUICE_NS_PORT" "$pid" 30 || ! wait_port "$SLUICE_BROKER_PORT" "$pid" 30; then
        KEEP_WORK=1
        tail -n 40 "$dir/sluice.log" | sed 's/^/    /' >&2
        die "sluice did not open its ports within 30 s"
    fi
    if [[ "$mode" == proxied ]]; then
        port_free "$SLUICE_PROXY_PORT" || die "port $SLUICE_PROXY_PORT is taken (set SLUICE_PROXY_PORT)"
        python3 "$HERE/route-fix-proxy.py" "$SLUICE_PROXY_PORT" "$SLUICE_NS_PORT" \
            >"$dir/proxy.out" 2>"$dir/proxy.err" &
        proxy_pid=$!
        PIDS+=("$proxy_pid")
        wait_port "$SLUICE_PROXY_PORT" "$proxy_pid" 10 || { KEEP_WORK=1; cat "$dir/proxy.err" >&2; die "route-fix-proxy did not start"; }
        ns_port="$SLUICE_PROXY_PORT"
    fi
    # The broker registers right after binding; one registration round trip is plenty.
    sleep 2
    local cpu0; cpu0=$(cpu_secs "$pid")
    if run_driver "sluice-$mode" "$ns_port"; then
        local cpu1; cpu1=$(cpu_secs "$pid")
        SLUICE_JSON="$(jq -c --arg cpu "$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN{print b-a}')" \
            --argjson rc "$DRIVER_RC" --arg mode "$mode" \
            '. + {broker_cpu_secs: ($cpu|tonumber), driver_exit: $rc, mode: $mode}' <<<"$DRIVER_LINE")"
    else
        local err
        err="$(grep -m1 '"event":"error"' "$WORK/sluice-$mode-driver.out" | jq -r .error 2>/dev/null || true)"
        SLUICE_ERRORS="$(jq -c --arg m "$mode" --arg e "${err:-driver exit $DRIVER_RC, no throughput line}" \
            '. + {($m): $e}' <<<"$SLUICE_ERRORS")"
    fi
    kill -0 "$pid" 2>/dev/null || { KEEP_WORK=1; say "sluice: the broker process died during the run"; }
    if grep -qiE 'panic|error' "$dir/sluice.log"; then
        KEEP_WORK=1
        say "sluice: its log has errors (first 20):"
        grep -iE 'panic|error' "$dir/sluice.log" | head -n 20 | sed 's/^/    /' >&2
    fi
    [[ -n "$proxy_pid" ]] && stop "$proxy_pid"
    stop "$pid"
    return 0
}

# --- (b) rocketmq-rust --------------------------------------------------------------------------------
run_peer() {
    local p
    for p in "$PEER_NS_PORT" "$PEER_BROKER_PORT" $((PEER_BROKER_PORT - 2)) $((PEER_BROKER_PORT + 1)) \
        "$PEER_NS_PROBE" "$PEER_BROKER_PROBE"; do
        port_free "$p" || die "port $p is taken (set PEER_NS_PORT/PEER_BROKER_PORT/PEER_*_PROBE)"
    done
    local dir="$WORK/rocketmq-rust"
    mkdir -p "$dir/home" "$dir/namesrv" "$dir/store"
    cat >"$dir/namesrv.toml" <<EOF
rocketmqHome = "$dir/home"
kvConfigPath = "$dir/namesrv/kvConfig.json"
configStorePath = "$dir/namesrv/rocketmq-namesrv.properties"
EOF
    cat >"$dir/broker.toml" <<EOF
[broker]
namesrvAddr = "127.0.0.1:$PEER_NS_PORT"
brokerIp1 = "127.0.0.1"
listenPort = $PEER_BROKER_PORT
storePathRootDir = "$dir/store"

[broker.brokerServerConfig]
bindAddress = "127.0.0.1"

[broker.brokerIdentity]
brokerName = "bench-peer"
brokerClusterName = "DefaultCluster"
brokerId = 0

[store]
storeType = "LocalFile"
brokerRole = "ASYNC_MASTER"
flushDiskType = "$FLUSH_JAVA"
storePathRootDir = "$dir/store"
haListenAddress = "127.0.0.1"
haListenPort = $((PEER_BROKER_PORT + 1))
EOF
    # development-insecure-loopback: the reference refuses to start if any listener is not loopback.
    local envs=(ROCKETMQ_HOME="$dir/home" ROCKETMQ_SECURITY_PROFILE=development-insecure-loopback
        RUST_LOG="${PEER_LOG:-warn}")
    say "rocketmq-rust: starting namesrv :$PEER_NS_PORT"
    env "${envs[@]}" ROCKETMQ_HEALTH_BIND_ADDR="127.0.0.1:$PEER_NS_PROBE" \
        "$PEER_BIN_DIR/rocketmq-namesrv-rust" -c "$dir/namesrv.toml" --listenPort "$PEER_NS_PORT" \
        --bindAddress 127.0.0.1 >"$dir/namesrv.log" 2>&1 &
    local ns_pid=$!
    PIDS+=("$ns_pid")
    if ! wait_port "$PEER_NS_PORT" "$ns_pid" 30; then
        KEEP_WORK=1
        tail -n 40 "$dir/namesrv.log" | sed 's/^/    /' >&2
        die "rocketmq-rust namesrv did not open :$PEER_NS_PORT within 30 s"
    fi
    wait_ready "$PEER_NS_PROBE" "$ns_pid" 30 || say "rocketmq-rust: namesrv /readyz never answered 200 (going on)"
    say "rocketmq-rust: starting broker :$PEER_BROKER_PORT ($FLUSH_JAVA)"
    env "${envs[@]}" ROCKETMQ_HEALTH_BIND_ADDR="127.0.0.1:$PEER_BROKER_PROBE" \
        "$PEER_BIN_DIR/rocketmq-broker-rust" -c "$dir/broker.toml" -n "127.0.0.1:$PEER_NS_PORT" \
        >"$dir/broker.log" 2>&1 &
    local br_pid=$!
    PIDS+=("$br_pid")
    if ! wait_port "$PEER_BROKER_PORT" "$br_pid" 60; then
        KEEP_WORK=1
        tail -n 40 "$dir/broker.log" | sed 's/^/    /' >&2
        die "rocketmq-rust broker did not open :$PEER_BROKER_PORT within 60 s"
    fi
    # Ready = its lifecycle says so (registration with the NameServer is part of startup), then a
    # few seconds more for the route to settle.
    wait_ready "$PEER_BROKER_PROBE" "$br_pid" 60 || say "rocketmq-rust: broker /readyz never answered 200 (going on)"
    sleep 3
    local cpu0 cpu0n; cpu0=$(cpu_secs "$br_pid"); cpu0n=$(cpu_secs "$ns_pid")
    if run_driver rocketmq-rust "$PEER_NS_PORT"; then
        local cpu1 cpu1n; cpu1=$(cpu_secs "$br_pid"); cpu1n=$(cpu_secs "$ns_pid")
        PEER_JSON="$(jq -c --arg cpu "$(awk -v a="$cpu0" -v b="$cpu1" -v c="$cpu0n" -v d="$cpu1n" 'BEGIN{print (b-a)+(d-c)}')" \
            --argjson rc "$DRIVER_RC" '. + {broker_cpu_secs: ($cpu|tonumber), driver_exit: $rc}' <<<"$DRIVER_LINE")"
    else
        PEER_ERROR="$(grep -m1 '"event":"error"' "$WORK/rocketmq-rust-driver.out" | jq -r .error 2>/dev/null || true)"
        PEER_ERROR="${PEER_ERROR:-driver exit $DRIVER_RC, no throughput line}"
    fi
    kill -0 "$br_pid" 2>/dev/null || { KEEP_WORK=1; say "rocketmq-rust: the broker died during the run"; }
    stop "$br_pid"
    stop "$ns_pid"
}

if [[ "$ONLY" != peer ]]; then
    if [[ "$SLUICE_MODE" == proxied ]]; then
        run_sluice proxied
    else
        run_sluice standalone
        if [[ "$SLUICE_JSON" == null && "$SLUICE_MODE" == auto ]]; then
            say "sluice: the client failed against sluice's own NameServer; measuring again through route-fix-proxy.py"
            run_sluice proxied
        elif [[ "$SLUICE_JSON" == null ]]; then
            say "sluice: if the error is core.serialization.failed (route data), --sluice-mode proxied works around it"
        fi
    fi
fi
if [[ "$ONLY" != sluice ]]; then run_peer; fi

# --- report ---------------------------------------------------------------------------------------------
field() { jq -r "if . == null then \"-\" else .$2 end" <<<"$1"; }
mbps() { jq -r --argjson s "$SIZE" 'if . == null then "-" else (.msgs_per_sec * $s / 1e6 * 100 | round / 100) end' <<<"$1"; }
RATIO="$(jq -rn --argjson a "$SLUICE_JSON" --argjson b "$PEER_JSON" \
    'if $a == null or $b == null or $b.msgs_per_sec == 0 then null else ($a.msgs_per_sec / $b.msgs_per_sec * 1000 | round / 1000) end')"

echo
printf '%-15s %-22s %12s %9s %8s %10s\n' broker client 'msgs/s' 'MB/s' errors 'cpu-s'
for row in "sluice|$SLUICE_JSON" "rocketmq-rust|$PEER_JSON"; do
    name="${row%%|*}"; j="${row#*|}"
    printf '%-15s %-22s %12s %9s %8s %10s\n' "$name" "rocketmq-client-rust" "$(field "$j" msgs_per_sec)" \
        "$(mbps "$j")" "$(field "$j" errors)" "$(field "$j" broker_cpu_secs)"
done
[[ "$(jq -r '.mode // ""' <<<"$SLUICE_JSON")" == proxied ]] \
    && echo "(sluice row: NameServer lookups through route-fix-proxy.py; sends straight to sluice's broker)"
echo "(${SENDERS} sync senders, ${SIZE}-byte bodies, ${DURATION} s, ${FLUSH_JAVA}; MB = 10^6 payload bytes;"
echo " cpu-s = broker process CPU seconds during the run, NameServer included for rocketmq-rust)"
echo "ratio sluice/rocketmq-rust: $RATIO"
jq -r 'to_entries[] | "sluice (\(.key)) failed: \(.value)"' <<<"$SLUICE_ERRORS"
[[ -n "$PEER_ERROR" ]] && echo "rocketmq-rust failed: $PEER_ERROR"

mkdir -p "$REPO/bench/out"
NOW="$(date +%s)"
OUT="$REPO/bench/out/throughput-pair-$NOW.json"
jq -n \
    --argjson unix "$NOW" \
    --arg head "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    --argjson nproc "$(nproc)" \
    --argjson mem_kib "$(awk '/^MemTotal:/{print $2}' /proc/meminfo)" \
    --arg cpu "$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)" \
    --arg kernel "$(uname -r)" \
    --arg load "$LOAD_AT_START" \
    --argjson busy "$BUSY_AT_START" \
    --argjson duration "$DURATION" --argjson senders "$SENDERS" --argjson size "$SIZE" \
    --arg topic "$TOPIC" --arg flush "$FLUSH_JAVA" \
    --arg client "rocketmq-client-rust $(grep -A1 'name = "rocketmq-client-rust"' "$REPO/tests/interop/rust-client/Cargo.lock" 2>/dev/null | sed -n 's/version = "\(.*\)"/\1/p' | head -n1)" \
    --arg peer "rocketmq-namesrv/rocketmq-broker ${ROCKETMQ_RUST_VERSION:-1.0.0} (crates.io)" \
    --argjson serr "$SLUICE_ERRORS" --arg perr "$PEER_ERROR" \
    --argjson sluice "$SLUICE_JSON" --argjson peerres "$PEER_JSON" --argjson ratio "$RATIO" \
    '{bench: "throughput-pair", unix: $unix, git_head: $head,
      machine: {nproc: $nproc, mem_total_kib: $mem_kib, cpu: $cpu, kernel: $kernel,
                loadavg_at_start: $load, compilers_running_at_start: $busy},
      params: {duration_s: $duration, senders: $senders, body_bytes: $size, topic: $topic,
               flush_disk_type: $flush, client: $client, send: "sync, timeout 3000 ms"},
      results: {sluice: ((if $sluice == null then {} else $sluice end)
                         + (if $serr == {} then {} else {failed: $serr} end)), "rocketmq-rust": ((if $peerres == null then {error: $perr} else $peerres end) + {version: $peer})},
      ratio_sluice_over_rocketmq_rust: $ratio}' >"$OUT"
say "wrote ${OUT#"$REPO"/}"
[[ "$SLUICE_JSON" != null || "$ONLY" == peer ]] && [[ "$PEER_JSON" != null || "$ONLY" == sluice ]]
