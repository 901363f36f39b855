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
# A developer's own key or shared stores must not reach the bench's Skiffs: its load sends no key, and
# its figures are of one process with embedded storage.
skiff_env() {
  echo "-u SKIFF_MASTER_KEY -u SKIFF_DATABASE_URL -u SKIFF_REDIS_URL OPENAI_API_KEY=bench OPENAI_BASE_URL=http://127.0.0.1:$MOCK_PORT/v1 OPENAI_MODELS=gpt-4o-mini ANTHROPIC_API_KEY=bench ANTHROPIC_BASE_URL=http://127.0.0.1:$MOCK_PORT/v1 ANTHROPIC_MODELS=claude-bench VLLM_BASE_URL=http://127.0.0.1:$MOCK_PORT/unlisted/v1 VLLM_MODELS=local-bench SKIFF_USAGE_LOG=off SKIFF_HOST=127.0.0.1"
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
  local port=$1 log="${MOCK_LOG:-$OUT/mock.log}" i
  shift
  # Emptied here, before the mock starts: the redirection below happens in the background child, and
  # the loop could otherwise read the port an earlier mock (of this run or the last) left in the file,
  # and point Skiff at a port nobody listens on (bench/failover's plain run failed so, now and then).
  : >"$log.out"
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

# An empty response store for one Skiff of a run: each gets its own (two processes writing one
# SQLite file make each other's saves fail with SQLITE_BUSY), and none inherits the rows of earlier
# runs, whose growth (hundreds of MB after a few runs) made stored answers cost more run after run.
fresh_db() {
  local dir="$OUT/store-$1"
  rm -rf "$dir" && mkdir -p "$dir" && echo "$dir/skiff.db"
}

# The launcher start_skiff runs: bin/skiff of this checkout unless SKIFF_LAUNCHER names another (bin/make-dist
# trains the distribution's AOT cache through the distribution's own launcher and runtime).
SKIFF_LAUNCHER=${SKIFF_LAUNCHER:-$ROOT/bin/skiff}

# Starts Skiff on port $1 with its output in $2, extra environment words after; sets SKIFF_PID.
# It runs in bench/target so that no skiff.yaml lying in the caller's folder changes what is
# measured; the subshell execs env, which execs bin/skiff, which execs java: one PID, the JVM's.
start_skiff() {
  start_skiff_as skiff "$@"
  SKIFF_PID=$STARTED_PID
}

# start_skiff_as NAME PORT LOG [VAR=VALUE...]: as start_skiff, with a response store of its own
# named NAME (several Skiffs in one run); sets STARTED_PID.
start_skiff_as() {
  start_skiff_in "$ROOT" "$@"
}

# start_skiff_in DIR NAME PORT LOG [VAR=VALUE...]: as start_skiff_as, with the Skiff built in DIR (a
# baseline's worktree, or the tree itself); sets STARTED_PID.
start_skiff_in() {
  local dir=$1 name=$2 port=$3 log=$4
  shift 4
  # this tree's Skiff starts through $SKIFF_LAUNCHER (the dist's launcher when one is measured); a
  # baseline's through its own bin/skiff
  local launcher="$dir/bin/skiff"
  [ "$dir" != "$ROOT" ] || launcher=$SKIFF_LAUNCHER
  # shellcheck disable=SC2046  # skiff_env is a list of words by design
  (cd "$OUT" && exec env $(skiff_env) SKIFF_DB="$(fresh_db "$name")" PORT="$port" "$@" "$launcher") >"$log" 2>&1 &
  STARTED_PID=$!
  STARTED_PIDS+=("$STARTED_PID")
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

# Finds nginx, installing it from the distribution's packages when this is a Debian-like machine
# and we are root (the bench's own files install what it needs). Prints its path, or nothing.
find_nginx() {
  local n
  n=$(command -v nginx || true)
  [ -z "$n" ] && [ -x /usr/sbin/nginx ] && n=/usr/sbin/nginx
  if [ -z "$n" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing nginx (the proxy ceiling the report compares with)..." >&2
    # Keep the package's own service from starting on port 80: only our instance is wanted.
    local policy=/usr/sbin/policy-rc.d made=0
    if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made=1; fi
    { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nginx-light >"$OUT/nginx-install.log" 2>&1 \
      || { apt-get update -q >>"$OUT/nginx-install.log" 2>&1 \
           && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nginx-light >>"$OUT/nginx-install.log" 2>&1; }; } || true
    ((made)) && rm -f "$policy"
    n=$(command -v nginx || true)
    [ -z "$n" ] && [ -x /usr/sbin/nginx ] && n=/usr/sbin/nginx
  fi
  echo "$n"
}

# Starts nginx as a plain reverse proxy to the mock on port $1, as a proxy ceiling: two workers
# (the cores Skiff's event loops get), keep-alive to the upstream, no buffering so streams relay
# as they come. Sets NGINX_PID (the master).
start_nginx() {
  local bin=$1 port=$2 dir="$OUT/nginx" i
  mkdir -p "$dir/logs"
  cat >"$dir/nginx.conf" <<CONF
worker_processes 2;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
daemon off;
events { worker_connections 4096; }
http {
  access_log off;
  upstream mock { server 127.0.0.1:$MOCK_PORT; keepalive 256; }
  client_body_temp_path $dir/body; proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fcgi; uwsgi_temp_path $dir/uwsgi; scgi_temp_path $dir/scgi;
  server {
    listen 127.0.0.1:$port;
    keepalive_requests 1000000;
    location / {
      proxy_pass http://mock;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_request_buffering off;
    }
  }
}
CONF
  "$bin" -p "$dir" -c "$dir/nginx.conf" >"$dir/logs/stdout.log" 2>&1 &
  NGINX_PID=$!
  STARTED_PIDS+=("$NGINX_PID")
  for ((i = 0; i < 100; i++)); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$port/v1/models")" = 200 ] && return 0
    kill -0 "$NGINX_PID" 2>/dev/null || break
    sleep 0.05
  done
  cat "$dir/logs/error.log" >&2 2>/dev/null || true
  return 1
}

# Builds git revision $1 of Skiff in bench/target/baseline (a worktree of its own), so a run can
# measure the change and what it started from in one sitting. Prints the folder.
build_baseline() {
  local ref=$1 dir="$OUT/baseline"
  git -C "$ROOT" worktree remove --force "$dir" >/dev/null 2>&1 || rm -rf "$dir"
  git -C "$ROOT" worktree prune
  git -C "$ROOT" worktree add --detach "$dir" "$ref" >"$OUT/baseline-build.log" 2>&1 \
    || { cat "$OUT/baseline-build.log" >&2; die "no git revision '$ref' to measure as the baseline"; }
  make -C "$dir" build >>"$OUT/baseline-build.log" 2>&1 \
    || { tail -n 40 "$OUT/baseline-build.log" >&2; die "building the baseline $ref failed (log: $OUT/baseline-build.log)"; }
  echo "$dir"
}

# Starts the Skiff in folder $1 on port $2, output in $3, like start_skiff; sets BASELINE_PID.
start_skiff_from() {
  local dir=$1 port=$2 log=$3
  # shellcheck disable=SC2046  # skiff_env is a list of words by design
  (cd "$OUT" && exec env $(skiff_env) SKIFF_DB="$(fresh_db baseline)" PORT="$port" "$dir/bin/skiff") >"$log" 2>&1 &
  BASELINE_PID=$!
  STARTED_PIDS+=("$BASELINE_PID")
}

# cpu_ticks PID...: user + system CPU time of these processes and their children's threads, in
# clock ticks (the main PID's children too, e.g. nginx's workers).
cpu_ticks() {
  local pid total=0 p
  for pid in "$@"; do
    [ -n "$pid" ] || continue
    for p in "$pid" $(pgrep -P "$pid" 2>/dev/null || true); do
      [ -r "/proc/$p/stat" ] || continue
      # fields after the command (which may hold spaces): utime is the 12th, stime the 13th
      total=$((total + $(sed 's/^.*) //' "/proc/$p/stat" | awk '{ print $12 + $13 }')))
    done
  done
  echo "$total"
}
CLK_TCK=$(getconf CLK_TCK)

# cpu_groups PID...: CPU ticks of these processes (and their children) by thread group, as
# "loops=N jit=N gc=N other=N total=N": Netty's event loops, the JIT compilers, the collector and
# safepoint work, everything else (store, usage and other threads; a non-JVM process is all "other").
# JIT compilation is start-up work that a short run still pays for; split out, it does not blur what
# a request costs once compiled.
cpu_groups() {
  local pid p
  for pid in "$@"; do
    [ -n "$pid" ] || continue
    for p in "$pid" $(pgrep -P "$pid" 2>/dev/null || true); do
      for t in /proc/"$p"/task/*; do
        # comm, then the fields after the command (which may hold spaces): utime 12th, stime 13th
        # A thread may end between the glob and the read (the JVM retires idle compiler threads): skip
        # it. An `[ ] && printf` here made the loop, and under pipefail the whole bench, fail silently.
        if [ -r "$t/stat" ]; then
          printf '%s\t%s\n' "$(cat "$t/comm" 2>/dev/null)" "$(sed 's/^.*) //' "$t/stat" 2>/dev/null)"
        fi
      done
    done
  done | awk -F'\t' '
    { split($2, f, " "); n = f[12] + f[13]; total += n
      if ($1 ~ /^(C1|C2) CompilerThre/) jit += n
      else if ($1 ~ /^(GC Thread|G1 |VM Thread)/) gc += n
      else if ($1 ~ /^multiThreadIoEv/) loops += n
      else other += n }
    END { printf "loops=%d jit=%d gc=%d other=%d total=%d\n", loops, jit, gc, other, total }'
}

# ---- figures from RESULT lines, shared by bench/run and bench/failover ----
# field NAME LINE: the value of NAME=... in a RESULT line, or "" when absent.
# In bash itself, not sed: a report reads thousands of fields, and a process each made it take minutes.
field() { if [[ " $2" =~ .*[[:space:]]$1=([^ ]*) ]]; then echo "${BASH_REMATCH[1]}"; fi; }
# calc EXPR [FORMAT]: awk arithmetic, printed with FORMAT (default %.2f).
calc() { awk "BEGIN { printf \"${2:-%.2f}\", $1 }"; }
# median: of the numbers on stdin, one a line.
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# range: the lowest and highest of the numbers on stdin, as "LOW-HIGH".
range() { sort -g | sed -n '1p;$p' | paste -sd-; }

# cpu_fields BEFORE AFTER REQUESTS: two cpu_groups readings as a target's CPU per request, in RESULT
# fields: all of it (cpu_us), without the JIT compilers (cpu_nojit_us), the event loops (loops_us),
# the other threads such as the usage writer (other_us), the JIT's (jit_us: near 0 once settled).
cpu_fields() {
  local total jit loops other per="1000000 / $CLK_TCK / $3"
  total=$(( $(field total "$2") - $(field total "$1") ))
  jit=$(( $(field jit "$2") - $(field jit "$1") ))
  loops=$(( $(field loops "$2") - $(field loops "$1") ))
  other=$(( $(field other "$2") - $(field other "$1") ))
  echo "cpu_us=$(calc "$total * $per" %.1f) cpu_nojit_us=$(calc "($total - $jit) * $per" %.1f)" \
    "loops_us=$(calc "$loops * $per" %.1f) other_us=$(calc "$other * $per" %.1f) jit_us=$(calc "$jit * $per" %.1f)"
}

# ---- sittings: configurations side by side in fresh JVMs, measured in alternating order ----
# One JVM's JIT can settle on code 10-20% faster or slower than the next one's, the same for its whole
# life, so one measurement of each side says as much about the JITs as about the configurations. A
# sitting starts every side of SITTING_SIDES fresh, primes them in turn (SITTING_WARMUP requests each,
# in four turns, so that none settles in a quieter moment), then measures SITTING_ROUNDS rounds of
# SITTING_REQUESTS requests, each round starting with the next side (AB, BA, ... or ABC, BCA, CAB, ...)
# so that drift and the neighbours' load fall on all alike; SITTINGS sittings in all. The caller defines:
#   sitting_launch NAME      starts NAME and waits until it is ready
#   sitting_load NAME N      sends N requests to NAME; prints the load generator's RESULT line
#   sitting_pid NAME         NAME's process
# and may define sitting_prime NAME N (priming; sitting_load when it does not), e.g. to share one
# JVM's priming among sides that are levels of one JVM, and sitting_before NAME (run before each
# measurement of NAME, outside its CPU window: e.g. to set that level and let its JVM settle).
# Raw lines ("round=R sitting=S NAME RESULT ... cpu_us=...") go to SITTING_RAW and to stderr.
SITTING_RAW=${SITTING_RAW:-$OUT/sittings.txt}
sitting_say() { echo "$*" | tee -a "$SITTING_RAW" >&2; }

# sitting_measure NAME [PREFIX]: one measurement of NAME, its CPU per request added, as a raw line.
sitting_measure() {
  local pid before after result
  pid=$(sitting_pid "$1")
  if declare -F sitting_before >/dev/null; then sitting_before "$1"; fi
  before=$(cpu_groups "$pid")
  result=$(sitting_load "$1" "$SITTING_REQUESTS")
  after=$(cpu_groups "$pid")
  [ -n "$result" ] || die "no result measuring $1 (see $LOADGEN_LOG)"
  sitting_say "${2:+$2 }$1 $result $(cpu_fields "$before" "$after" "$SITTING_REQUESTS")"
}

# sitting_round R [PREFIX]: round R of the sides as they run now, one measurement each, starting with side
# (R - 1) mod n of SITTING_SIDES (AB, BA, ... or ABC, BCA, CAB, ...); raw lines "round=R [PREFIX] NAME RESULT ...".
# run_sittings calls it on fresh JVMs; bench/run also on processes already running and primed (the nginx rounds).
sitting_round() {
  local i n=${#SITTING_SIDES[@]}
  for ((i = 0; i < n; i++)); do
    sitting_measure "${SITTING_SIDES[($1 - 1 + i) % n]}" "round=$1${2:+ $2}"
  done
}

run_sittings() {
  local sitting part r name round=0
  for ((sitting = 1; sitting <= SITTINGS; sitting++)); do
    for name in "${SITTING_SIDES[@]}"; do sitting_launch "$name"; done
    for ((part = 0; part < 4; part++)); do
      for name in "${SITTING_SIDES[@]}"; do
        if declare -F sitting_prime >/dev/null; then sitting_prime "$name" $((SITTING_WARMUP / 4)) >/dev/null
        else sitting_load "$name" $((SITTING_WARMUP / 4)) >/dev/null; fi
      done
    done
    for ((r = 1; r <= SITTING_ROUNDS; r++)); do
      round=$((round + 1))
      sitting_round "$round" "sitting=$sitting"
    done
    for name in "${SITTING_SIDES[@]}"; do stop_pid "$(sitting_pid "$name")"; done
  done
}

# sitting_line NAME ROUND: NAME's raw line in ROUND (names are matched whole, not as patterns).
sitting_line() {
  awk -v r="round=$2" -v n="$1" '$1 == r && ($2 == n || ($2 ~ /^sitting=/ && $3 == n)) { print; exit }' "$SITTING_RAW"
}

# compare_sittings A B: a markdown table of B against A, round by round, then the medians over all
# rounds and each sitting's. Sets SHARE_MED (B's req/s over A's, %), CPU_MED (B's CPU per request w/o
# JIT over A's, %), CPU_SHARE_MED (A's over B's, %: the req/s share a CPU-bound B would keep),
# LOOP_MED (event loops' CPU, B over A, %), P50_MED (B's p50 minus A's, ms), SHARE_RANGE and CPU_RANGE
# (lowest-highest share and CPU ratio, %) and PER_SITTING (each sitting's medians, as text; its line is
# printed only when there are several sittings).
compare_sittings() {
  local a=$1 b=$2 round sitting ra rb share cpu cpu_share loop loop_range p50 rounds=$((SITTING_ROUNDS * SITTINGS))
  local shares=() cpus=() cpu_shares=() loops=() p50s=() s_shares=() s_cpus=() s_p50s=()
  PER_SITTING=""
  echo "| round (sitting) | $a req/s | $b req/s | share | CPU w/o JIT µs/req, $a / $b | ratio | event loops µs/req, $a / $b | ratio | p50 ms, $a / $b | added p50 ms |"
  echo "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
  local la lb
  for ((round = 1; round <= rounds; round++)); do
    sitting=$(( (round - 1) / SITTING_ROUNDS + 1 ))
    la=$(sitting_line "$a" "$round")
    lb=$(sitting_line "$b" "$round")
    ra=$(field rps "$la")
    rb=$(field rps "$lb")
    share=$(calc "100 * $rb / $ra" %.1f)
    cpu=$(calc "100 * $(field cpu_nojit_us "$lb") / $(field cpu_nojit_us "$la")" %.1f)
    cpu_share=$(calc "100 * $(field cpu_nojit_us "$la") / $(field cpu_nojit_us "$lb")" %.1f)
    # A's event loops' ratio only when A has any (nginx, a process of no JVM, has none)
    loop="-"
    if awk "BEGIN { exit !($(field loops_us "$la") > 0) }"; then
      loop=$(calc "100 * $(field loops_us "$lb") / $(field loops_us "$la")" %.1f)
      loops+=("$loop")
      loop="$loop%"
    fi
    p50=$(calc "$(field p50_ms "$lb") - $(field p50_ms "$la")" %.3f)
    shares+=("$share") cpus+=("$cpu") cpu_shares+=("$cpu_share") p50s+=("$p50")
    s_shares+=("$share") s_cpus+=("$cpu_share") s_p50s+=("$p50")
    echo "| $round ($sitting) | $ra | $rb | $share% | $(field cpu_nojit_us "$la") / $(field cpu_nojit_us "$lb") | $cpu% |" \
      "$(field loops_us "$la") / $(field loops_us "$lb") | $loop | $(field p50_ms "$la") / $(field p50_ms "$lb") | $(calc "$p50" %+.3f) |"
    if ((round % SITTING_ROUNDS == 0)); then
      PER_SITTING+="${PER_SITTING:+; }sitting $sitting: share $(printf '%s\n' "${s_shares[@]}" | median)%,"
      PER_SITTING+=" CPU share $(printf '%s\n' "${s_cpus[@]}" | median)%, added p50 $(calc "$(printf '%s\n' "${s_p50s[@]}" | median)" %+.3f) ms"
      s_shares=() s_cpus=() s_p50s=()
    fi
  done
  SHARE_MED=$(printf '%s\n' "${shares[@]}" | median)
  CPU_MED=$(printf '%s\n' "${cpus[@]}" | median)
  CPU_SHARE_MED=$(printf '%s\n' "${cpu_shares[@]}" | median)
  LOOP_MED=nan loop_range="-"
  if ((${#loops[@]})); then LOOP_MED=$(printf '%s\n' "${loops[@]}" | median) loop_range=$(printf '%s\n' "${loops[@]}" | range); fi
  P50_MED=$(printf '%s\n' "${p50s[@]}" | median)
  SHARE_RANGE=$(printf '%s\n' "${shares[@]}" | range)
  CPU_RANGE=$(printf '%s\n' "${cpus[@]}" | range)
  echo
  local loop_med="" loop_rng=""
  [ "$LOOP_MED" = nan ] || loop_med=" event loops' CPU per request $LOOP_MED%," loop_rng=" event loops $loop_range%,"
  echo "Medians of the per-round figures: req/s share $SHARE_MED%, CPU per request w/o JIT $CPU_MED% (CPU share $CPU_SHARE_MED%),$loop_med" \
    "added p50 $(calc "$P50_MED" %+.3f) ms."
  ((SITTINGS < 2)) || echo "Medians of each sitting (fresh JVMs): $PER_SITTING."
  echo "(ranges: share $SHARE_RANGE%, CPU w/o JIT $CPU_RANGE%,$loop_rng" \
    "added p50 $(printf '%s\n' "${p50s[@]}" | range) ms)."
}
