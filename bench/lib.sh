# shellcheck shell=bash
# Shared by bench/run and bench/train-aot: where things are, which JVM flags the tools get,
# building the tools, and starting, awaiting and stopping the processes a run needs.
# Every wait here has a deadline, and every process started is stopped on exit.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
OUT="$BENCH_DIR/target"
JAR="$OUT/skiff-bench.jar"
JAVA_HOME=$("$ROOT/bin/find-jdk") || exit 1
export JAVA_HOME
JAVA="$JAVA_HOME/bin/java"

# Netty wants Unsafe and loads its epoll library; both need saying on JDK 25 to stay quiet.
JVM_COMMON=(--sun-misc-unsafe-memory-access=allow --enable-native-access=ALL-UNNAMED -XX:+UseSerialGC)
MOCK_JVM=("${JVM_COMMON[@]}" -Xmx128m)
# C1 only: on two cores, C2's compiler threads would take CPU from the process being measured
# for most of a short run, and the load generator's work is simple enough for C1 code.
LOADGEN_JVM=("${JVM_COMMON[@]}" -Xmx256m -XX:TieredStopAtLevel=1)

# The settings every Skiff of a run gets: the mock as its only upstream, loopback only, no usage
# log (its cost is not what this measures). MOCK_PORT is filled in by start_mock.
MOCK_PORT=""
MOCK_PID=""
skiff_env() {
  echo "OPENAI_API_KEY=bench OPENAI_BASE_URL=http://127.0.0.1:$MOCK_PORT/v1 OPENAI_MODELS=gpt-4o-mini ANTHROPIC_API_KEY=bench ANTHROPIC_BASE_URL=http://127.0.0.1:$MOCK_PORT/v1 ANTHROPIC_MODELS=claude-bench VLLM_BASE_URL=http://127.0.0.1:$MOCK_PORT/unlisted/v1 VLLM_MODELS=local-bench SKIFF_USAGE_LOG=off SKIFF_HOST=127.0.0.1"
}

STARTED_PIDS=()
die() { echo "bench: $*" >&2; exit 1; }

# Stops one process we started: SIGTERM, then SIGKILL after $2 seconds (default 10).
stop_pid() {
  local pid=$1 grace=${2:-10} i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

stop_all() {
  local pid
  for pid in "${STARTED_PIDS[@]}"; do stop_pid "$pid" 5; done
  STARTED_PIDS=()
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# Builds the tools with Maven; quiet unless it fails.
build_bench() {
  mkdir -p "$OUT"
  MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow" \
    "$ROOT/mvnw" -B -q -f "$BENCH_DIR/pom.xml" package >"$OUT/build.log" 2>&1 \
    || { tail -n 40 "$OUT/build.log" >&2; die "building the benchmark tools failed (log: $OUT/build.log)"; }
}

# Starts the mock provider on port $1 (0 = any free one) with extra arguments after it, and sets
# MOCK_PID and MOCK_PORT from its first line, "listening on PORT".
start_mock() {
  local port=$1 log="$OUT/mock.log" i
  shift
  "$JAVA" "${MOCK_JVM[@]}" -cp "$JAR" dev.skiff.bench.MockProvider --port "$port" "$@" \
    >"$log.out" 2>"$log" &
  MOCK_PID=$!
  STARTED_PIDS+=("$MOCK_PID")
  for ((i = 0; i < 150; i++)); do
    MOCK_PORT=$(sed -n '1s/^listening on \([0-9]*\)$/\1/p' "$log.out" 2>/dev/null)
    [ -n "$MOCK_PORT" ] && return 0
    kill -0 "$MOCK_PID" 2>/dev/null || break
    sleep 0.1
  done
  cat "$log" >&2
  die "the mock provider did not start (log: $log)"
}

# Starts Skiff on port $1 with its output in $2, extra environment words after; sets SKIFF_PID.
# It runs in bench/target so that no skiff.yaml lying in the caller's folder changes what is
# measured; the subshell execs env, which execs bin/skiff, which execs java: one PID, the JVM's.
start_skiff() {
  local port=$1 log=$2
  shift 2
  # shellcheck disable=SC2046  # skiff_env is a list of words by design
  (cd "$OUT" && exec env $(skiff_env) PORT="$port" "$@" "$ROOT/bin/skiff") >"$log" 2>&1 &
  SKIFF_PID=$!
  STARTED_PIDS+=("$SKIFF_PID")
}

# Waits until GET $1/ready answers 200; $2 = log to show on failure, $3 = PID, $4 = seconds.
wait_ready() {
  local base=$1 log=$2 pid=$3 deadline=$((SECONDS + ${4:-30}))
  while ((SECONDS < deadline)); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$base/ready")" = 200 ]; then return 0; fi
    kill -0 "$pid" 2>/dev/null || { tail -n 30 "$log" >&2; die "Skiff exited before it was ready (log: $log)"; }
    sleep 0.05
  done
  tail -n 30 "$log" >&2
  die "Skiff was not ready within ${4:-30} s at $base/ready (log: $log)"
}

free_port() {
  "$JAVA" "${LOADGEN_JVM[@]}" -cp "$JAR" dev.skiff.bench.LoadGen freeport
}

# Runs the load generator with a hard time limit; prints its RESULT line (stderr is kept in $LOADGEN_LOG).
LOADGEN_LOG="$OUT/loadgen.log"
loadgen() {
  timeout 660 "$JAVA" "${LOADGEN_JVM[@]}" -cp "$JAR" dev.skiff.bench.LoadGen "$@" --max-seconds 600 \
    2>>"$LOADGEN_LOG" | grep '^RESULT' || true
}
