#!/usr/bin/env bash
# Real single-node Apache Kafka (KRaft, broker+controller in one JVM) for tests,
# run from Maven Central jars because there is no Docker here.
#
#   kafka.sh start [RUN_DIR]     start a broker; prints 127.0.0.1:<port> (only stdout line)
#   kafka.sh stop  [RUN_DIR]     stop it and delete RUN_DIR
#   kafka.sh tools CLASS ARGS... run a Kafka CLI class from the same jars
#   kafka.sh fetch               only download the jars into the cache
#
# Environment:
#   SAC_KAFKA_CACHE          jar cache (default ~/.cache/smartautocheck/kafka-4.1.1)
#   SAC_KAFKA_START_TIMEOUT  seconds to wait for the broker (default 90)
#   SAC_KAFKA_HEAP           broker heap (default 512m)
set -euo pipefail

KAFKA_VERSION=4.1.1
SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
CACHE_DIR=${SAC_KAFKA_CACHE:-$HOME/.cache/smartautocheck/kafka-$KAFKA_VERSION}
LIBS=$CACHE_DIR/libs
MARKER=$LIBS/.complete
START_TIMEOUT=${SAC_KAFKA_START_TIMEOUT:-90}
HEAP=${SAC_KAFKA_HEAP:-512m}
# Marks a directory as created by this script, so stop/start never delete a
# directory that is not ours.
RUN_TAG=.sac-kafka-run

# All messages go to stderr: stdout of `start` must be just the bootstrap address.
log() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() { printf 'kafka.sh: error: %s\n' "$*" >&2; exit 1; }

usage() {
  # The header comment is the help text; print it up to the first code line.
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}" >&2
  exit "${1:-2}"
}

need() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found in PATH ($2)"; }

check_java() {
  need java "Java 17+ is required"
  local v
  v=$(java -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2; exit}')
  [[ ${v%%.*} =~ ^[0-9]+$ && ${v%%.*} -ge 17 ]] || die "Kafka $KAFKA_VERSION needs Java 17+, found '${v:-unknown}'"
}

# The marker holds a hash of pom.xml: jars are re-fetched only when the pom
# changes, so repeated starts never touch the network.
pom_hash() { sha256sum "$SCRIPT_DIR/pom.xml" | cut -d' ' -f1; }

fetch_jars() {
  if [[ -f $MARKER && $(cat "$MARKER") == "$(pom_hash)" ]]; then
    return 0
  fi
  need mvn "Maven is needed once to download the Kafka jars"
  mkdir -p "$CACHE_DIR"
  # Copy into a private dir and rename at the end, so an interrupted or
  # concurrent fetch never leaves a half-filled libs dir behind.
  local tmp
  tmp=$(mktemp -d "$CACHE_DIR/libs.tmp.XXXXXX")
  log "downloading Kafka $KAFKA_VERSION jars into $LIBS (one time)"
  if ! mvn -q -B -f "$SCRIPT_DIR/pom.xml" \
      org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$tmp" 2>&1 \
      | sed 's/\x1b\[[0-9;]*m//g' >&2; then  # mvn 3.8 emits stray ANSI resets even with -B
    rm -rf "$tmp"
    die "mvn could not fetch the Kafka jars (is Maven Central reachable?)"
  fi
  ls "$tmp"/kafka_2.13-"$KAFKA_VERSION".jar "$tmp"/kafka-tools-"$KAFKA_VERSION".jar >/dev/null 2>&1 \
    || { rm -rf "$tmp"; die "mvn finished but the Kafka jars are missing in $tmp"; }
  pom_hash >"$tmp/.complete"
  if [[ -f $MARKER && $(cat "$MARKER") == "$(pom_hash)" ]]; then
    rm -rf "$tmp"   # another process finished first; keep its copy
  else
    rm -rf "$LIBS"
    mv "$tmp" "$LIBS"
  fi
}

# Two distinct free ports, bound at the same time so they cannot coincide.
free_ports() {
  need python3 "used to find free TCP ports"
  python3 - <<'PY'
import socket
socks = []
for _ in range(2):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
PY
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pid_alive() { [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null; }

run_java() {
  # $1 = log4j2 config; the rest = JVM args/class/args.
  local cfg=$1; shift
  java -Dlog4j2.configurationFile="$cfg" -cp "$LIBS/*" "$@"
}

cmd_start() {
  check_java
  # Before creating any run dir, so a failed download leaves nothing behind.
  fetch_jars
  local run_dir=${1:-}
  if [[ -z $run_dir ]]; then
    run_dir=$(mktemp -d "${TMPDIR:-/tmp}/sac-kafka.XXXXXX")
  fi
  mkdir -p "$run_dir"
  run_dir=$(cd -- "$run_dir" && pwd)

  if [[ -f $run_dir/kafka.pid ]] && pid_alive "$(cat "$run_dir/kafka.pid")"; then
    die "a broker is already running from $run_dir (pid $(cat "$run_dir/kafka.pid")); run: $0 stop $run_dir"
  fi
  # Reuse a stale dir from an earlier run, but never wipe somebody else's files.
  if [[ -n $(ls -A "$run_dir") ]]; then
    [[ -f $run_dir/$RUN_TAG ]] || die "$run_dir is not empty and was not created by kafka.sh; use an empty or new directory"
    find "$run_dir" -mindepth 1 -delete
  fi
  touch "$run_dir/$RUN_TAG"

  local ports port cport
  ports=$(free_ports)
  read -r port cport <<<"$ports"

  cat >"$run_dir/server.properties" <<EOF
# Single-node KRaft test broker written by kafka.sh.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$run_dir/data
# One node: every internal topic must have replication factor 1.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Tests want deterministic, fast behaviour.
group.initial.rebalance.delay.ms=0
num.partitions=1
auto.create.topics.enable=false
# Default dedupe buffer is 128 MiB of heap; keep the broker small.
log.cleaner.dedupe.buffer.size=33554432
EOF

  # A fresh cluster id per run; --standalone makes this node the sole voter of
  # the dynamic controller quorum (pairs with controller.quorum.bootstrap.servers).
  local cluster_id
  cluster_id=$(run_java "$SCRIPT_DIR/log4j2-tools.properties" kafka.tools.StorageTool random-uuid 2>"$run_dir/format.log") \
    || { cat "$run_dir/format.log" >&2; die "StorageTool random-uuid failed"; }
  run_java "$SCRIPT_DIR/log4j2-tools.properties" kafka.tools.StorageTool format --standalone \
      -t "$cluster_id" -c "$run_dir/server.properties" >>"$run_dir/format.log" 2>&1 \
    || { cat "$run_dir/format.log" >&2; die "StorageTool format failed"; }

  # setsid + redirected fds: the broker must outlive this script and must not
  # hold the caller's stdout pipe open (e.g. $(kafka.sh start) or Go exec).
  setsid java -Xms128m -Xmx"$HEAP" -XX:+UseG1GC -Djava.awt.headless=true \
    -Dkafka.logs.dir="$run_dir" \
    -Dlog4j2.configurationFile="$SCRIPT_DIR/log4j2.properties" \
    -cp "$LIBS/*" kafka.Kafka "$run_dir/server.properties" \
    >"$run_dir/console.out" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$run_dir/kafka.pid"
  # Let `stop` without arguments find the latest broker.
  echo "$run_dir" >"$CACHE_DIR/last-run"

  # The client listener only accepts connections once the broker is unfenced
  # and serving requests, so an open port means "ready".
  local deadline=$((SECONDS + START_TIMEOUT))
  until port_open "$port"; do
    if ! pid_alive "$pid"; then
      tail -n 40 "$run_dir/server.log" "$run_dir/console.out" >&2 2>/dev/null || true
      die "broker exited during startup (logs in $run_dir)"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 40 "$run_dir/server.log" "$run_dir/console.out" >&2 2>/dev/null || true
      kill -KILL "$pid" 2>/dev/null || true
      die "broker not ready on 127.0.0.1:$port after ${START_TIMEOUT}s (logs in $run_dir)"
    fi
    sleep 0.2
  done

  echo "127.0.0.1:$port" >"$run_dir/bootstrap"
  log "broker pid $pid ready; run dir $run_dir"
  echo "127.0.0.1:$port"
}

cmd_stop() {
  local run_dir=${1:-}
  if [[ -z $run_dir ]]; then
    [[ -f $CACHE_DIR/last-run ]] || die "no RUN_DIR given and no previous start recorded"
    run_dir=$(cat "$CACHE_DIR/last-run")
    log "stopping last started broker in $run_dir"
  fi
  [[ -d $run_dir ]] || { log "$run_dir does not exist; nothing to stop"; return 0; }
  [[ -f $run_dir/$RUN_TAG ]] || die "$run_dir was not created by kafka.sh; refusing to touch it"

  local pid=""
  [[ -f $run_dir/kafka.pid ]] && pid=$(cat "$run_dir/kafka.pid")
  if pid_alive "$pid"; then
    # TERM gives a clean controlled shutdown; KILL only if it hangs.
    kill -TERM "$pid" 2>/dev/null || true
    local i
    for ((i = 0; i < 150; i++)); do
      pid_alive "$pid" || break
      sleep 0.2
    done
    if pid_alive "$pid"; then
      log "broker $pid did not stop in 30s; killing"
      kill -KILL "$pid" 2>/dev/null || true
      for ((i = 0; i < 50; i++)); do pid_alive "$pid" || break; sleep 0.1; done
    fi
  fi
  rm -rf -- "$run_dir"
  if [[ -f $CACHE_DIR/last-run && $(cat "$CACHE_DIR/last-run") == "$run_dir" ]]; then
    rm -f "$CACHE_DIR/last-run"
  fi
}

cmd_tools() {
  (($# >= 1)) || die "usage: $0 tools CLASS [ARGS...] (e.g. org.apache.kafka.tools.TopicCommand --bootstrap-server HOST:PORT --list)"
  check_java
  fetch_jars
  exec java -Xmx256m -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$SCRIPT_DIR/log4j2-tools.properties" \
    -cp "$LIBS/*" "$@"
}

(($# >= 1)) || usage
cmd=$1; shift
case $cmd in
  start) cmd_start "$@" ;;
  stop) cmd_stop "$@" ;;
  tools) cmd_tools "$@" ;;
  fetch) check_java; fetch_jars; log "jars ready in $LIBS" ;;
  -h | --help | help) usage 0 ;;
  *) log "unknown command '$cmd'"; usage ;;
esac
