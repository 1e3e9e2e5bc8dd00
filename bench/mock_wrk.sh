#!/usr/bin/env bash
# Throughput of ONE mock worker: the mock pinned to core 0, wrk pinned to core 1.
#
#   bench/mock_wrk.sh [DURATION] [CONNECTIONS]      (defaults: 10s, 64)
#
# Runs wrk against `loadtest mock --port 0`, TTFT = ITL = 0 unless said:
#   1. non-streamed POST /v1/chat/completions (max_tokens 16)      -> req/s
#   2. streamed POST /v1/chat/completions (max_tokens 128)          -> req/s x events/response
#   3. streamed POST /v1/messages (max_tokens 128)                  -> req/s x events/response
#   4. non-streamed, a 4,000-token prompt sent again and again (prefix cache hits), then
#      the same with --no-cache (a full token count per request)    -> req/s
#   5. as 2 with --itl 1ms: every event its own socket write        -> events/s
# Each line also gives the mock's CPU time per request (utime + stime from /proc), which
# other load on the machine does not change, unlike req/s.
# Events per response are counted from one real response. Figures and findings
# are in bench/README.md. Needs a 2-core machine (taskset -c 0 / -c 1).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-10s}"
CONNECTIONS="${2:-64}"
PY=.venv/bin/python

if ! command -v wrk >/dev/null; then
    apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi

WORK="$(mktemp -d)"
MOCK_PID=""
stop_mock() {
    if [[ -n "$MOCK_PID" ]]; then kill -TERM "$MOCK_PID" 2>/dev/null || true; wait "$MOCK_PID" 2>/dev/null || true; fi
    MOCK_PID=""
}
trap 'stop_mock; rm -rf "$WORK"' EXIT

start_mock() {  # start_mock MOCK_ARGS... -> sets URL
    stop_mock
    : >"$WORK/url"
    taskset -c 0 "$PY" -c 'from loadtest.cli import main; main()' mock --port 0 --seed 1 "$@" \
        >"$WORK/url" 2>"$WORK/mock.err" &
    MOCK_PID=$!
    for _ in $(seq 100); do [[ -s "$WORK/url" ]] && break; sleep 0.1; done
    URL="$(head -1 "$WORK/url")"
    [[ "$URL" == http* ]] || { echo "mock did not start:"; cat "$WORK/mock.err"; exit 1; }
}
echo "mock on core 0 (one worker), wrk on core 1: $CONNECTIONS connections, $DURATION per case"

lua() {  # lua FILE BODY
    cat >"$1" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '$2'
LUA
}
CHAT='{"model":"m","messages":[{"role":"user","content":"Say something about load testing."}]'
lua "$WORK/chat.lua" "$CHAT,\"max_tokens\":16}"
lua "$WORK/chat_stream.lua" "$CHAT,\"max_tokens\":128,\"stream\":true,\"stream_options\":{\"include_usage\":true}}"
lua "$WORK/messages_stream.lua" "$CHAT,\"max_tokens\":128,\"stream\":true}"
"$PY" - "$WORK/long.lua" <<'PY'
import json, random, sys
from loadtest.tokens import word_stream
system = word_stream(random.Random(5), 4000)  # a 4,000-token system prompt (~23 KB)
messages = [{"role": "system", "content": system}, {"role": "user", "content": "Hello?"}]
body = json.dumps({"model": "m", "messages": messages, "max_tokens": 16})
with open(sys.argv[1], "w") as lua:
    lua.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n')
    lua.write(f"wrk.body = {json.dumps(body)}\n")
PY

events() {  # events PATH LUAFILE -> SSE events in one response
    local body; body="$(sed -n "s/^wrk.body = '\(.*\)'$/\1/p" "$2")"
    curl -s -N -H 'content-type: application/json' -d "$body" "$URL$1" | grep -c '^data:'
}

cpu_ticks() {  # utime + stime of the mock, in clock ticks
    awk '{print $14 + $15}' "/proc/$MOCK_PID/stat"
}

run() {  # run NAME PATH LUAFILE EVENTS_PER_RESPONSE
    local out rps before after requests
    before="$(cpu_ticks)"
    out="$(taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$3" "$URL$2")"
    after="$(cpu_ticks)"
    rps="$(awk '/^Requests\/sec/ {print $2}' <<<"$out")"
    requests="$(awk '/requests in/ {print $1}' <<<"$out")"
    printf '%-34s %9s req/s' "$1" "$rps"
    if [[ "$4" != 1 ]]; then
        printf ' x %3d events = %7.0f events/s' "$4" "$(echo "$rps * $4" | bc -l)"
    fi
    # CPU per request is immune to other load on the machine; req/s is not.
    printf '  %6.1f µs CPU/req  (latency p50 %s, p99 %s)\n' \
        "$(echo "($after - $before) * 1000000 / $(getconf CLK_TCK) / $requests" | bc -l)" \
        "$(awk '$1 == "50%" {print $2}' <<<"$out")" "$(awk '$1 == "99%" {print $2}' <<<"$out")"
    grep -E "Non-2xx|Socket errors" <<<"$out" || true
}

start_mock
run "chat, not streamed" /v1/chat/completions "$WORK/chat.lua" 1
run "chat, streamed" /v1/chat/completions "$WORK/chat_stream.lua" \
    "$(events /v1/chat/completions "$WORK/chat_stream.lua")"
run "messages, streamed" /v1/messages "$WORK/messages_stream.lua" \
    "$(events /v1/messages "$WORK/messages_stream.lua")"
run "chat, 4k-token prompt, repeated" /v1/chat/completions "$WORK/long.lua" 1
start_mock --no-cache
run "same, --no-cache" /v1/chat/completions "$WORK/long.lua" 1
# Paced: one socket write per event (ITL 1 ms asks 64 conns x 1000 = 64k events/s).
start_mock --itl 1ms
run "chat, streamed, --itl 1ms" /v1/chat/completions "$WORK/chat_stream.lua" \
    "$(events /v1/chat/completions "$WORK/chat_stream.lua")"
