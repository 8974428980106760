# shellcheck shell=bash
# Process lifecycle for run-cluster.sh: install/build on demand, the exact
# command line of every component, start (with health wait), stop (TERM then
# KILL, only our own pids). Sourced after cluster-env.sh.
#
#   TALLY_SKIP_BUILD=1     never run npm ci / npm run build (tests set this)
#   TALLY_DRY_RUN=1        print the commands `start` would run, start nothing
#   TALLY_START_TIMEOUT    seconds to wait for a component to be healthy (60)
#   TALLY_STOP_TIMEOUT     seconds between SIGTERM and SIGKILL on stop (10)
#   TALLY_NODE_ARGS, TALLY_DISCOVERY_ARGS, TALLY_GATEWAY_ARGS
#                          extra flags appended to that component's command line

START_TIMEOUT="${TALLY_START_TIMEOUT:-60}"
STOP_TIMEOUT="${TALLY_STOP_TIMEOUT:-10}"
is_uint "$START_TIMEOUT" || die 2 "TALLY_START_TIMEOUT must be whole seconds, got '$START_TIMEOUT'"
is_uint "$STOP_TIMEOUT" || die 2 "TALLY_STOP_TIMEOUT must be whole seconds, got '$STOP_TIMEOUT'"
BUILD_STAMP="$TALLY_ROOT/node_modules/.cache/tally/build.stamp"

dry_run() { [[ ${TALLY_DRY_RUN:-0} == 1 ]]; }

# now_ms: wall clock in milliseconds (second resolution on shells without EPOCHREALTIME).
now_ms() {
  if [[ -n ${EPOCHREALTIME:-} ]]; then
    local t=${EPOCHREALTIME/[.,]/}
    echo $((10#$t / 1000))
  else
    echo $(($(date +%s) * 1000))
  fi
}

# ensure_installed: `npm ci` when node_modules is missing or older than the
# lockfile (npm's own staleness rule: node_modules/.package-lock.json).
ensure_installed() {
  if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
    command -v npm >/dev/null 2>&1 || die 1 "npm not found: install Node.js >= 20 (https://nodejs.org)"
    echo "==> installing dependencies (npm ci), this takes a minute on a fresh clone"
    if ! npm ci --no-audit --no-fund; then
      # npm ci refuses a lockfile it considers out of sync (for example one
      # written against a registry that lacks some optional platform packages).
      echo "==> npm ci failed; falling back to npm install (it may update package-lock.json)" >&2
      npm install --no-audit --no-fund || die 1 "npm install failed (see above)"
    fi
  fi
}

# ensure_built: `npm run build` when a bin is missing or any source or
# tsconfig changed since the last build this script ran.
ensure_built() {
  local why='' pkg
  for pkg in discovery node gateway; do
    [[ -f packages/$pkg/dist/server.js ]] || why="packages/$pkg/dist/server.js is missing"
  done
  if [[ -z $why && ! -f $BUILD_STAMP ]]; then why='no build recorded yet'; fi
  if [[ -z $why ]] && [[ -n $(find packages/*/src packages/*/tsconfig.json packages/*/package.json \
    tsconfig.base.json -newer "$BUILD_STAMP" -print -quit 2>/dev/null) ]]; then
    why='sources changed since the last build'
  fi
  if [[ -n $why ]]; then
    echo "==> building (npm run build): $why"
    npm run build --silent || die 1 "build failed (see above)"
    mkdir -p "${BUILD_STAMP%/*}"
    touch "$BUILD_STAMP"
  fi
}

# prepare: install and build unless told not to.
prepare() {
  if dry_run || [[ ${TALLY_SKIP_BUILD:-0} == 1 ]]; then return 0; fi
  ensure_installed
  ensure_built
}

# extra_args VAR: the words of the environment variable VAR, one per line.
extra_args() {
  local words=()
  read -r -a words <<<"${!1:-}"
  if ((${#words[@]})); then printf '%s\n' "${words[@]}"; fi
}

# discovery_cmd / gateway_cmd / node_cmd K N: fill CMD with that component's
# argv (without `node server.js`). Node K of N gets the others as gossip seeds
# and N as the cluster size that quorum writes count from.
discovery_cmd() {
  CMD=(--host "$HOST" --port "$DISCOVERY_PORT" --log-level "${TALLY_LOG_LEVEL:-info}")
  while IFS= read -r w; do CMD+=("$w"); done < <(extra_args TALLY_DISCOVERY_ARGS)
}
gateway_cmd() {
  CMD=(--host "$HOST" --port "$GATEWAY_PORT" --resp-port "$GATEWAY_RESP_PORT" --discovery "$(discovery_url)"
    --log-level "${TALLY_LOG_LEVEL:-info}")
  while IFS= read -r w; do CMD+=("$w"); done < <(extra_args TALLY_GATEWAY_ARGS)
}
node_cmd() {
  local k=$1 n=$2 j peers=''
  for ((j = 1; j <= n; j++)); do
    ((j == k)) && continue
    peers+="${peers:+,}$HOST:$(node_tcp_port "$j")"
  done
  CMD=(--id "node-$k" --host "$HOST" --tcp-port "$(node_tcp_port "$k")" --http-port "$(node_http_port "$k")"
    --resp-port "$(node_resp_port "$k")"
    --discovery "$(discovery_url)" --data-dir "$DATA_DIR/node-$k" --cluster-size "$n"
    --log-level "${TALLY_LOG_LEVEL:-info}")
  if [[ -n $peers ]]; then CMD+=(--peers "$peers"); fi
  while IFS= read -r w; do CMD+=("$w"); done < <(extra_args TALLY_NODE_ARGS)
}

# port_in_use PORT: true when something already listens on HOST:PORT.
port_in_use() {
  (: <"/dev/tcp/$HOST/$1") 2>/dev/null
}

# spawn NAME ARGS...: start component NAME detached (own session, stdio to
# its log file) and record its pid. In dry-run mode print the command instead.
spawn() {
  local name=$1 script
  shift
  script="$TALLY_ROOT/packages/$(package_of "$name")/dist/server.js"
  if dry_run; then
    local line="dry-run: $name: node" arg
    for arg in "$script" "$@"; do
      if [[ $arg =~ ^[A-Za-z0-9_./:,=@%+-]+$ ]]; then line+=" $arg"; else line+=" $(printf '%q' "$arg")"; fi
    done
    echo "$line"
    return 0
  fi
  [[ -f $script ]] || die 1 "$script is missing: run npm run build"
  mkdir -p "$LOG_DIR" "$DATA_DIR"
  printf '{"level":30,"time":%s,"msg":"run-cluster.sh: starting %s"}\n' "$(now_ms)" "$name" >>"$LOG_DIR/$name.log"
  if command -v setsid >/dev/null 2>&1; then
    setsid node "$script" "$@" </dev/null >>"$LOG_DIR/$name.log" 2>&1 &
  else
    nohup node "$script" "$@" </dev/null >>"$LOG_DIR/$name.log" 2>&1 &
  fi
  local pid=$! i
  echo "$pid" >"$(pid_file "$name")"
  # The background child is a copy of this shell until it has exec'd node:
  # wait for that, so that is_our_process recognises it from now on.
  for ((i = 0; i < 100; i++)); do
    is_our_process "$pid" "$name" && break
    pid_alive "$pid" || break
    sleep 0.05
  done
}

# wait_healthy NAME...: poll each component's /health until it answers 200.
# Fails (showing the log tail) when a process dies or the deadline passes.
wait_healthy() {
  dry_run && return 0
  local deadline=$(($(now_ms) + START_TIMEOUT * 1000)) name url pending
  while :; do
    pending=()
    for name in "$@"; do
      url=$(component_url "$name")
      if ! running_pid "$name" >/dev/null; then
        echo "${C_BAD}✗ $name exited during start-up${C_OFF}; last lines of $LOG_DIR/$name.log:" >&2
        tail -n 20 "$LOG_DIR/$name.log" >&2 || true
        return 1
      fi
      http_request GET "$url/health"
      [[ $HTTP_STATUS == 200 ]] || pending+=("$name")
    done
    ((${#pending[@]} == 0)) && return 0
    if (($(now_ms) > deadline)); then
      echo "${C_BAD}✗ not healthy after ${START_TIMEOUT}s: ${pending[*]}${C_OFF} (logs in $LOG_DIR)" >&2
      return 1
    fi
    sleep 0.2
  done
}

# start_node K N: start node K of an N-node cluster and wait until healthy.
start_node() {
  node_cmd "$1" "$2"
  spawn "node-$1" "${CMD[@]}"
  wait_healthy "node-$1"
}

# all_components: names with a pid file, gateway first and discovery last
# (the order in which to stop them).
all_components() {
  local f name names=()
  [[ -d $LOG_DIR ]] || return 0
  [[ -f $LOG_DIR/gateway.pid ]] && names+=(gateway)
  for f in "$LOG_DIR"/node-*.pid; do
    [[ -f $f ]] || continue
    name=${f##*/}
    name=${name%.pid}
    [[ $name =~ ^node-[1-9][0-9]*$ ]] && names+=("$name")
  done
  [[ -f $LOG_DIR/discovery.pid ]] && names+=(discovery)
  if ((${#names[@]})); then printf '%s\n' "${names[@]}"; fi
}

# stop_components NAME...: SIGTERM those that are running (ours), wait up to
# STOP_TIMEOUT, SIGKILL stragglers, remove pid files. Prints one line each.
stop_components() {
  local name pid deadline alive pids=() names=()
  for name in "$@"; do
    if pid=$(running_pid "$name"); then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
      names+=("$name")
    fi
    rm -f "$(pid_file "$name")"
  done
  ((${#pids[@]})) || return 0
  deadline=$(($(now_ms) + STOP_TIMEOUT * 1000))
  local i
  for i in "${!pids[@]}"; do
    alive=1
    while (($(now_ms) < deadline)); do
      if ! is_our_process "${pids[$i]}" "${names[$i]}"; then
        alive=0
        break
      fi
      sleep 0.1
    done
    if ((alive)) && is_our_process "${pids[$i]}" "${names[$i]}"; then
      kill -KILL "${pids[$i]}" 2>/dev/null || true
      echo "  ${C_BAD}killed${C_OFF}  ${names[$i]} (pid ${pids[$i]}, no exit ${STOP_TIMEOUT}s after SIGTERM)"
    else
      echo "  stopped ${names[$i]} (pid ${pids[$i]})"
    fi
  done
}
