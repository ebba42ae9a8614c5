#!/usr/bin/env bash
# MUC fan-out benchmark: Lectern against Prosody and ejabberd (Debian packages), one run,
# results in docs/BENCHMARKS.md. `make bench` calls this.
#
#   bash bench/run.sh                          # everything (~20-25 min)
#   QUICK=1 bash bench/run.sh                  # small N, short runs (~3 min): smoke test
#   SERVERS="lectern prosody" bash bench/run.sh
#   OUT=/tmp/b.md bash bench/run.sh            # write the report elsewhere
#   DOCUMENTS=only bash bench/run.sh           # only the documents section (bench/documents.sh)
#   DOCUMENTS=0 bash bench/run.sh              # skip it
#   VOICE=0 bash bench/run.sh                  # skip the voice section (bench/voice/run.sh)
#   EXPORT=0 bash bench/run.sh                 # skip the recording export (bench/export/run.sh)
#
# Every server runs alone, on 127.0.0.1, on a free port, with its data under a temp dir, and is
# restarted for each phase (fan-out; each join storm) so memory and queues start clean.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SERVERS=${SERVERS:-"lectern prosody ejabberd"}
QUICK=${QUICK:-0}
OUT=${OUT:-$ROOT/docs/BENCHMARKS.md}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lectern-bench.XXXXXX")
RESULTS=$WORK/results.jsonl
BENCH=$ROOT/target/release/lectern-bench
LECTERN=$ROOT/target/release/lectern
SERVER_PID=""
SERVER_ADDR=""

log() { printf '\n== %s\n' "$*" >&2; }

cleanup() {
    stop_server
}
trap cleanup EXIT INT TERM

# --- install -----------------------------------------------------------------------------

stop_system_service() {
    # A Debian package may start its system service; it must not hold ports or CPU.
    if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
        systemctl disable --now "$1" >/dev/null 2>&1 || true
    fi
    service "$1" stop >/dev/null 2>&1 || true
}

install_packages() {
    local missing=()
    case " $SERVERS " in *" prosody "*) command -v prosody >/dev/null || missing+=(prosody) ;; esac
    case " $SERVERS " in *" ejabberd "*) [ -x /usr/sbin/ejabberdctl ] || missing+=(ejabberd) ;; esac
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing ${missing[*]} (apt-get)"
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo=sudo
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
        for p in "${missing[@]}"; do stop_system_service "$p"; done
    fi
}

# --- servers -----------------------------------------------------------------------------

free_port() { # a port nothing listens on, in a range no default service uses
    local p
    while :; do
        p=$((20000 + RANDOM % 40000))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
}

wait_port() { # PORT SECONDS
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        kill -0 "$SERVER_PID" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

start_server() { # NAME DIR
    local name=$1 dir=$2 port
    mkdir -p "$dir"
    case $name in
    lectern)
        RUST_LOG=${RUST_LOG:-warn} "$LECTERN" serve --http 127.0.0.1:0 --xmpp 127.0.0.1:0 \
            --domain localhost --data "$dir/data" >"$dir/stdout" 2>"$dir/stderr" &
        SERVER_PID=$!
        local i
        for ((i = 0; i < 300; i++)); do
            SERVER_ADDR=$(sed -n 's/^xmpp listening on //p' "$dir/stdout")
            [ -n "$SERVER_ADDR" ] && return 0
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        ;;
    prosody)
        port=$(free_port)
        mkdir -p "$dir/data" "$dir/certs"
        sed -e "s#@DIR@#$dir#g" -e "s#@PORT@#$port#g" "$ROOT/bench/servers/prosody.cfg.lua" >"$dir/prosody.cfg.lua"
        prosody --config "$dir/prosody.cfg.lua" -F >"$dir/stdout" 2>&1 &
        SERVER_PID=$!
        SERVER_ADDR=127.0.0.1:$port
        wait_port "$port" 30 && return 0
        ;;
    ejabberd)
        port=$(free_port)
        sed -e "s#@DIR@#$dir#g" -e "s#@PORT@#$port#g" "$ROOT/bench/servers/ejabberd.yml" >"$dir/ejabberd.yml"
        # Started as ejabberdctl would, minus the node name (no epmd, no clustering) and su.
        (cd "$dir" && EJABBERD_CONFIG_PATH="$dir/ejabberd.yml" EJABBERD_LOG_PATH="$dir/ejabberd.log" \
            ERL_LIBS=/usr/lib/x86_64-linux-gnu ERL_MAX_PORTS=32000 ERL_CRASH_DUMP_BYTES=0 \
            exec erl +K true +P 250000 -noinput -mnesia dir "\"$dir/db\"" -s ejabberd \
            >"$dir/stdout" 2>&1) &
        SERVER_PID=$!
        SERVER_ADDR=127.0.0.1:$port
        wait_port "$port" 60 && return 0
        ;;
    esac
    echo "$name failed to start; see $dir" >&2
    tail -5 "$dir"/std* >&2 || true
    stop_server
    return 1
}

stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    kill "$SERVER_PID" 2>/dev/null || true
    local i
    for ((i = 0; i < 100; i++)); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

# --- phases ------------------------------------------------------------------------------

if [ "$QUICK" = 1 ]; then
    FANOUT_ARGS=(--small 20 --large 50 --seconds 3 --s3-count 300 --join-limit 30)
    # N, broadcast, bound on the joins (s), then "s4" to run S4 in that room.
    STORMS=("100 all 30" "100 limited 30" "300 limited 30 s4")
    STORM_ARGS=(--seconds 3)
else
    FANOUT_ARGS=(--small 100 --large 500 --seconds 12 --s3-count 2000 --join-limit 120)
    STORMS=("500 all 90" "500 limited 90" "2000 limited 240 s4" "2000 all 90")
    STORM_ARGS=(--seconds 12)
fi

run_phase() { # SERVER LABEL ARGS...
    local server=$1 label=$2
    shift 2
    local dir=$WORK/$server-$label
    log "$server: $label"
    if ! start_server "$server" "$dir"; then
        printf '{"server":"%s","scenario":"ERROR","load":"%s","notes":["%s did not start"]}\n' \
            "$server" "$label" "$server" >>"$RESULTS"
        return 0
    fi
    timeout 900 "$BENCH" run --server "$server" --addr "$SERVER_ADDR" --pid "$SERVER_PID" \
        --out "$RESULTS" "$@" || echo "($server $label: lectern-bench exited with $?)" >&2
    stop_server
}

machine_info() {
    echo "date:      $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "cpu:       $(lscpu | sed -n 's/^Model name: *//p') ($(nproc) cores)"
    echo "memory:    $(free -g | awk '/^Mem:/ {print $2 " GiB"}')"
    echo "os:        $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
    echo "load avg:  $(cut -d' ' -f1-3 /proc/loadavg) (at start)"
    echo "rustc:     $(rustc --version)"
    echo "lectern:   $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- backend || echo ' + uncommitted changes') (release build)"
    echo "prosody:   $(dpkg-query -W -f='${Version}' prosody 2>/dev/null || echo 'not installed') (Debian)"
    echo "ejabberd:  $(dpkg-query -W -f='${Version}' ejabberd 2>/dev/null || echo 'not installed') (Debian, $(erl -noshell -eval 'io:format("OTP ~s", [erlang:system_info(otp_release)]), halt().' 2>/dev/null))"
    echo "servers:   $SERVERS"
    echo "mode:      $([ "$QUICK" = 1 ] && echo 'QUICK=1 (small N, short runs)' || echo full)"
}

main() {
    if [ "${DOCUMENTS:-1}" = only ]; then
        OUT=$OUT bash "$ROOT/bench/documents.sh"
        return
    fi
    install_packages
    log "building lectern-bench and lectern (release)"
    (cd "$ROOT" && cargo build --release -p lectern-bench --bin lectern-bench)
    case " $SERVERS " in
    *" lectern "*)
        if ! (cd "$ROOT" && cargo build --release --bin lectern); then
            echo "lectern did not build; benchmarking the others" >&2
            SERVERS=${SERVERS//lectern/}
        fi
        ;;
    esac
    ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true
    machine_info >"$WORK/machine.txt"
    cat "$WORK/machine.txt" >&2
    local server storm n bc bound s4
    for server in $SERVERS; do
        run_phase "$server" fanout --phase fanout "${FANOUT_ARGS[@]}"
        for storm in "${STORMS[@]}"; do
            read -r n bc bound s4 <<<"$storm"
            run_phase "$server" "storm-$n-$bc" --phase storm --n "$n" --broadcast "$bc" \
                --join-limit "$bound" ${s4:+--s4} "${STORM_ARGS[@]}"
        done
    done
    local cmd="bash bench/run.sh"
    [ "$QUICK" = 1 ] && cmd="QUICK=1 $cmd"
    [ "$SERVERS" = "lectern prosody ejabberd" ] || cmd="SERVERS=\"$(echo $SERVERS)\" $cmd"
    [ "$cmd" = "bash bench/run.sh" ] && cmd="make bench   # = bash bench/run.sh"
    "$BENCH" report --results "$RESULTS" --out "$OUT" --machine "$WORK/machine.txt" \
        --notes "$ROOT/bench/observations.md" --command "$cmd"
    log "wrote $OUT (raw results and server logs: $WORK)"
    # After the MUC report, which rewrites the file; each section below replaces only itself.
    N=$([ "$QUICK" = 1 ] && echo 50 || echo 200,1000) OUT="$OUT" bash "$ROOT/bench/meeting.sh" \
        || echo "(meeting bench exited with $?)" >&2
    if [ "${DOCUMENTS:-1}" != 0 ]; then
        OUT=$OUT bash "$ROOT/bench/documents.sh"
    fi
    if [ "${VOICE:-1}" != 0 ]; then
        DURATION=$([ "$QUICK" = 1 ] && echo 20 || echo 60) OUT="$OUT" bash "$ROOT/bench/voice/run.sh" \
            || echo "(voice bench exited with $?)" >&2
    fi
    if [ "${EXPORT:-1}" != 0 ]; then
        OUT="$OUT" bash "$ROOT/bench/export/run.sh" || echo "(export bench exited with $?)" >&2
    fi
}

main "$@"
