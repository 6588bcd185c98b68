#!/usr/bin/env bash
# Runs sluice-client's conformance round trip (connectors/client/examples/roundtrip.rs: sync,
# batch and async sends, pull-back with body/key/tag/msgId checks, a CLUSTERING push consumer,
# a committed transaction) against the rocketmq-rust reference broker and, for comparison,
# against `sluice standalone`.
#
#   bench/reference/client-vs-rocketmq-rust.sh [--count N] [--topic T] [--timeout SECS]
#                                              [--only sluice|peer] [--no-build] [--keep]
#
# Defaults: 30 messages, topic ClientRoundTrip, 60 s per phase. Each broker gets free loopback
# ports and a temporary store (rocketmq-rust's on /dev/shm when the temp file system is 85 % or
# more used: 1.0.0 refuses to start above 90 %). The topic is created on each broker with
# UPDATE_AND_CREATE_TOPIC (`sluice admin updateTopic -b`, 4 queues) before the run. The example
# runs with --wire, so its stderr (kept when a run fails, or with --keep) lists every request
# code, response code and remark it exchanged.
#
# Builds: the example with `cargo build --release -p sluice-client --example roundtrip`
# (CARGO_TARGET_DIR=${SLUICE_CACHE:-~/.cache/sluice}/target), rocketmq-rust through
# rocketmq-rust.sh. sluice itself is not built: $SLUICE_BIN, else $CACHE/target/release/sluice
# (build it with `cargo build --release -p sluice`). Everything runs under `nice`.
# Prints one line per broker, `<broker>: PASS|FAIL <summary JSON>`, and exits 1 if any failed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
CACHE="${SLUICE_CACHE:-$HOME/.cache/sluice}"
export CARGO_TARGET_DIR="$CACHE/target"

COUNT=30
TOPIC=ClientRoundTrip
TIMEOUT=60
ONLY=""
BUILD=1
KEEP=0
usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        --count) COUNT="$2"; shift 2 ;;
        --topic) TOPIC="$2"; shift 2 ;;
        --timeout) TIMEOUT="$2"; shift 2 ;;
        --only) ONLY="$2"; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        --keep) KEEP=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "client-vs-rocketmq-rust: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
done
case "$ONLY" in ""|sluice|peer) ;; *) echo "client-vs-rocketmq-rust: --only sluice|peer" >&2; exit 2 ;; esac

say() { echo "client-vs-rocketmq-rust: $*" >&2; }
die() { echo "client-vs-rocketmq-rust: ERROR: $*" >&2; exit 1; }

# --- cleanup: every process started here, and the scratch directories ---------------------------
PIDS=()
DIRS=()
KEEP_WORK=$KEEP
cleanup() {
    local pid
    for pid in "${PIDS[@]+"${PIDS[@]}"}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]+"${PIDS[@]}"}"; do
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    local d
    for d in "${DIRS[@]+"${DIRS[@]}"}"; do
        rm -rf "$d/store" "$d/data"
        if [[ $KEEP_WORK == 1 ]]; then say "logs kept in $d"; else rm -rf "$d"; fi
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# stop PID: SIGTERM, up to 10 s, then SIGKILL; drops it from PIDS.
stop() {
    local pid="$1" i
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    local keep=()
    for i in "${PIDS[@]}"; do [[ "$i" != "$pid" ]] && keep+=("$i"); done
    PIDS=("${keep[@]+"${keep[@]}"}")
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port_free() { ! ss -Hltn "sport = :$1" | grep -q . && ! port_open "$1"; }

# free_port [SPAN]: a loopback port P whose neighbours P-2 .. P+SPAN are free too (the remoting
# brokers also bind P-2, the VIP channel, and P+1, HA).
free_port() {
    local span="${1:-1}" p i ok
    for _ in $(seq 1 200); do
        p=$((20000 + RANDOM % 40000))
        ok=1
        for i in $(seq -2 "$span"); do port_free $((p + i)) || { ok=0; break; }; done
        [[ $ok == 1 ]] && { echo "$p"; return 0; }
    done
    return 1
}

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

# Percent of a file system in use, counting what only root may use (1 - available / blocks, as
# the bench's peer_parent does; df's Capacity column leaves the reserve out and reads lower).
used_pct() { stat -f -c '%a %b' "$1" | awk '{ print ($2 > 0) ? int(100 - 100 * $1 / $2) : 0 }'; }

# --- builds -------------------------------------------------------------------------------------
EXAMPLE="$CARGO_TARGET_DIR/release/examples/roundtrip"
SLUICE_BIN="${SLUICE_BIN:-$CARGO_TARGET_DIR/release/sluice}"
if [[ $BUILD == 1 ]]; then
    say "building the roundtrip example (release)"
    (cd "$REPO" && nice -n 15 cargo build --release -q -p sluice-client --example roundtrip >&2) \
        || die "example build failed"
    if [[ "$ONLY" != sluice ]]; then
        PEER_BIN_DIR="$("$HERE/rocketmq-rust.sh")" || die "rocketmq-rust install failed"
    fi
fi
PEER_BIN_DIR="${PEER_BIN_DIR:-$CACHE/rocketmq-rust-${ROCKETMQ_RUST_VERSION:-1.0.0}/bin}"
[[ -x "$EXAMPLE" ]] || die "no $EXAMPLE (run without --no-build)"
[[ -x "$SLUICE_BIN" ]] || die "no $SLUICE_BIN (needed for sluice standalone and admin updateTopic; \
cargo build --release -p sluice, or set SLUICE_BIN)"
[[ "$ONLY" == sluice || -x "$PEER_BIN_DIR/rocketmq-broker-rust" ]] \
    || die "no rocketmq-rust binaries in $PEER_BIN_DIR (run without --no-build)"

# --- the round trip ---------------------------------------------------------------------------------
RESULTS=()
FAILED=0

# create_topic BROKER_PORT: UPDATE_AND_CREATE_TOPIC on that broker, 4 queues.
create_topic() {
    local out
    if ! out="$("$SLUICE_BIN" admin updateTopic -b "127.0.0.1:$1" -t "$TOPIC" -r 4 -w 4 2>&1)"; then
        say "updateTopic $TOPIC on :$1 failed: $out"
        return 1
    fi
}

# roundtrip NAME NAMESRV_PORT DIR: runs the example; appends to RESULTS.
roundtrip() {
    local name="$1" ns_port="$2" dir="$3" rc=0 line
    say "$name: roundtrip of $COUNT messages on $TOPIC (namesrv :$ns_port)"
    timeout -k 5 $((TIMEOUT * 4 + 60)) nice -n 5 "$EXAMPLE" --namesrv "127.0.0.1:$ns_port" --topic "$TOPIC" \
        --count "$COUNT" --timeout "$TIMEOUT" --wire >"$dir/roundtrip.out" 2>"$dir/roundtrip.err" || rc=$?
    line="$(grep -m1 '^{' "$dir/roundtrip.out" || true)"
    [[ -n "$line" ]] || line="{\"ok\":false,\"errors\":[\"no summary; exit $rc\"]}"
    if [[ $rc == 0 ]]; then
        RESULTS+=("$name: PASS $line")
    else
        FAILED=1
        KEEP_WORK=1
        RESULTS+=("$name: FAIL (exit $rc) $line")
        say "$name: failed; non-SUCCESS exchanges (request -> response remark), most frequent first:"
        grep -E 'sluice_client::wire: "invoke"' "$dir/roundtrip.err" | grep -v 'response=0 ' \
            | sed -E 's/^ *[0-9.]+s DEBUG sluice_client::wire: "invoke" addr=[^ ]+ //' \
            | sort | uniq -c | sort -rn | head -n 15 | sed 's/^/    /' >&2 || true
        say "$name: SDK warnings (first 10):"
        grep -v 'sluice_client::wire' "$dir/roundtrip.err" | head -n 10 | sed 's/^/    /' >&2 || true
    fi
}

# --- (a) sluice standalone ----------------------------------------------------------------------
run_sluice() {
    local dir ns_port br_port pid
    dir="$(mktemp -d "${TMPDIR:-/tmp}/sluice-client-rt.XXXXXX")"
    DIRS+=("$dir")
    ns_port="$(free_port 4)" || die "no free port"
    br_port="$(free_port 1)" || die "no free port"
    while ((br_port - ns_port <= 6 && ns_port - br_port <= 6)); do br_port="$(free_port 1)"; done
    printf 'brokerIP1=127.0.0.1\n' >"$dir/broker.conf"
    say "sluice: starting standalone (namesrv :$ns_port, broker :$br_port)"
    RUST_LOG="${SLUICE_LOG:-warn}" nice -n 5 "$SLUICE_BIN" standalone -c "$dir/broker.conf" \
        --data-dir "$dir/data" --namesrv-port "$ns_port" --broker-port "$br_port" >"$dir/sluice.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    if ! wait_port "$ns_port" "$pid" 30 || ! wait_port "$br_port" "$pid" 30; then
        KEEP_WORK=1
        tail -n 30 "$dir/sluice.log" | sed 's/^/    /' >&2
        RESULTS+=("sluice: FAIL did not start")
        FAILED=1
        stop "$pid"
        return 0
    fi
    sleep 1
    create_topic "$br_port" || true
    sleep 1
    roundtrip sluice "$ns_port" "$dir"
    kill -0 "$pid" 2>/dev/null || { KEEP_WORK=1; say "sluice: the broker died during the run"; }
    stop "$pid"
}

# --- (b) rocketmq-rust ----------------------------------------------------------------------------
run_peer() {
    local parent="${TMPDIR:-/tmp}" dir ns_port br_port ns_probe br_probe ns_pid br_pid pct
    pct="$(used_pct "$parent")"
    if ((pct >= 85)) && [[ -d /dev/shm ]]; then
        say "rocketmq-rust: $parent is $pct % used; its store goes to /dev/shm"
        parent=/dev/shm
    fi
    dir="$(mktemp -d "$parent/sluice-client-rt-peer.XXXXXX")"
    DIRS+=("$dir")
    ns_port="$(free_port 6)" || die "no free port"
    br_port="$(free_port 1)" || die "no free port"
    while ((br_port - ns_port <= 8 && ns_port - br_port <= 8)); do br_port="$(free_port 1)"; done
    ns_probe=$((ns_port + 4))
    br_probe=$((ns_port + 5))
    mkdir -p "$dir/home" "$dir/namesrv" "$dir/store"
    cat >"$dir/namesrv.toml" <<EOF
rocketmqHome = "$dir/home"
kvConfigPath = "$dir/namesrv/kvConfig.json"
configStorePath = "$dir/namesrv/rocketmq-namesrv.properties"
EOF
    cat >"$dir/broker.toml" <<EOF
[broker]
namesrvAddr = "127.0.0.1:$ns_port"
brokerIp1 = "127.0.0.1"
listenPort = $br_port
storePathRootDir = "$dir/store"

[broker.brokerServerConfig]
bindAddress = "127.0.0.1"

[broker.brokerIdentity]
brokerName = "client-rt-peer"
brokerClusterName = "DefaultCluster"
brokerId = 0

[store]
storeType = "LocalFile"
brokerRole = "ASYNC_MASTER"
flushDiskType = "ASYNC_FLUSH"
storePathRootDir = "$dir/store"
haListenAddress = "127.0.0.1"
haListenPort = $((br_port + 1))
EOF
    # development-insecure-loopback: it refuses to start if any listener is not loopback.
    local envs=(ROCKETMQ_HOME="$dir/home" ROCKETMQ_SECURITY_PROFILE=development-insecure-loopback
        RUST_LOG="${PEER_LOG:-warn}")
    say "rocketmq-rust: starting namesrv :$ns_port"
    env "${envs[@]}" ROCKETMQ_HEALTH_BIND_ADDR="127.0.0.1:$ns_probe" nice -n 5 \
        "$PEER_BIN_DIR/rocketmq-namesrv-rust" -c "$dir/namesrv.toml" --listenPort "$ns_port" \
        --bindAddress 127.0.0.1 >"$dir/namesrv.log" 2>&1 &
    ns_pid=$!
    PIDS+=("$ns_pid")
    if ! wait_port "$ns_port" "$ns_pid" 30; then
        KEEP_WORK=1
        tail -n 30 "$dir/namesrv.log" | sed 's/^/    /' >&2
        RESULTS+=("rocketmq-rust: FAIL namesrv did not start")
        FAILED=1
        stop "$ns_pid"
        return 0
    fi
    wait_ready "$ns_probe" "$ns_pid" 30 || say "rocketmq-rust: namesrv /readyz never answered 200 (going on)"
    say "rocketmq-rust: starting broker :$br_port (store $dir/store)"
    env "${envs[@]}" ROCKETMQ_HEALTH_BIND_ADDR="127.0.0.1:$br_probe" nice -n 5 \
        "$PEER_BIN_DIR/rocketmq-broker-rust" -c "$dir/broker.toml" -n "127.0.0.1:$ns_port" \
        >"$dir/broker.log" 2>&1 &
    br_pid=$!
    PIDS+=("$br_pid")
    if ! wait_port "$br_port" "$br_pid" 60; then
        KEEP_WORK=1
        tail -n 30 "$dir/broker.log" | sed 's/^/    /' >&2
        RESULTS+=("rocketmq-rust: FAIL broker did not start")
        FAILED=1
        stop "$br_pid"
        stop "$ns_pid"
        return 0
    fi
    wait_ready "$br_probe" "$br_pid" 60 || say "rocketmq-rust: broker /readyz never answered 200 (going on)"
    sleep 2
    create_topic "$br_port" || true
    # The broker registers the new topic with its NameServer at once; give it a moment.
    sleep 2
    roundtrip rocketmq-rust "$ns_port" "$dir"
    kill -0 "$br_pid" 2>/dev/null || { KEEP_WORK=1; say "rocketmq-rust: the broker died during the run"; }
    stop "$br_pid"
    stop "$ns_pid"
    if grep -qiE 'panic|ERROR' "$dir/broker.log"; then
        say "rocketmq-rust: its broker log has errors (first 10):"
        grep -iE 'panic|ERROR' "$dir/broker.log" | head -n 10 | cut -c1-300 | sed 's/^/    /' >&2
    fi
}

[[ "$ONLY" == peer ]] || run_sluice
[[ "$ONLY" == sluice ]] || run_peer

echo "client-vs-rocketmq-rust: sluice-client roundtrip, $COUNT messages, topic $TOPIC"
for r in "${RESULTS[@]}"; do echo "$r"; done
exit "$FAILED"
