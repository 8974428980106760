# shellcheck shell=bash
# Process lifecycle for run-cluster.sh: install/build on demand (with
# progress), the exact command line of every component, start (with health
# wait; an interrupted or failed start stops what it started), stop (TERM
# then KILL, only our own pids). Sourced after cluster-env.sh.
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

# progress_tick START_MS TEXT: show that TEXT is still going on, started at
# START_MS. On a terminal one line is redrawn in place (progress_clear removes
# it); otherwise a line is printed every 5 s, so that logs stay short.
PROGRESS_LINE=0 PROGRESS_NEXT=5
progress_tick() {
  local now secs
  now=$(now_ms)
  secs=$(((now - $1) / 1000))
  if [[ -t 1 ]]; then
    ((now - $1 >= 1000)) || return 0
    printf '\r\e[K  %s … %ds' "$2" "$secs"
    PROGRESS_LINE=1
  elif ((secs >= PROGRESS_NEXT)); then
    echo "  $2 … ${secs}s"
    PROGRESS_NEXT=$((secs - secs % 5 + 5))
  fi
}

# progress_clear: end the progress shown by progress_tick.
progress_clear() {
  if ((PROGRESS_LINE)); then printf '\r\e[K'; fi
  PROGRESS_LINE=0 PROGRESS_NEXT=5
}

# run_logged LABEL FILE CMD...: run CMD with its output in FILE while a
# background ticker shows LABEL and the time spent (npm ci and tsc print
# nothing for long stretches). On failure shows the end of FILE. Returns
# CMD's exit status.
TICKER_PID=''
run_logged() {
  local label=$1 file=$2 start rc=0 owner=$BASHPID
  shift 2
  mkdir -p "${file%/*}"
  start=$(now_ms)
  echo "==> $label"
  (
    while sleep 1 && kill -0 "$owner" 2>/dev/null; do
      progress_tick "$start" "$label"
    done
  ) &
  TICKER_PID=$!
  "$@" >"$file" 2>&1 || rc=$?
  stop_ticker
  if ((rc)); then
    echo "${C_BAD}✗ $label failed (exit $rc)${C_OFF}; last lines of $file:" >&2
    tail -n 30 "$file" >&2 || true
  else
    echo "  done in $((($(now_ms) - start) / 1000))s (output in $file)"
  fi
  return "$rc"
}

# stop_ticker: end run_logged's ticker, if one runs.
stop_ticker() {
  if [[ -n $TICKER_PID ]]; then
    kill "$TICKER_PID" 2>/dev/null || true
    wait "$TICKER_PID" 2>/dev/null || true
    TICKER_PID=''
    if [[ -t 1 ]]; then printf '\r\e[K'; fi
  fi
}

# ensure_installed: `npm ci` when node_modules is missing or older than the
# lockfile (npm's own staleness rule: node_modules/.package-lock.json).
ensure_installed() {
  if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
    command -v npm >/dev/null 2>&1 || die 1 "npm not found: install Node.js >= 20 (https://nodejs.org)"
    if ! run_logged "installing dependencies (npm ci, a minute or so on a fresh clone)" "$LOG_DIR/install.out" \
      npm ci --no-audit --no-fund; then
      # npm ci refuses a lockfile it considers out of sync (for example one
      # written against a registry that lacks some optional platform packages).
      echo "==> npm ci failed; falling back to npm install (it may update package-lock.json)" >&2
      run_logged "installing dependencies (npm install)" "$LOG_DIR/install.out" npm install --no-audit --no-fund ||
        die 1 "npm install failed (see above)"
    fi
  fi
}

# build_outdated: print why `npm run build` is needed; print nothing when the
# build is up to date, however it was made (npm run build, npm test, npm
# install-ci-test or this script).
#
# Fast path, file times only: every bin exists and no source, tsconfig,
# package.json or package-lock.json is newer than the oldest package's
# tsconfig.tsbuildinfo (tsc -b writes one per package), or than BUILD_STAMP
# (when this script last built or found the build up to date). Otherwise tsc
# itself is asked (`tsc -b --dry`, under a second): a touched file whose
# content did not change, or a package that depends on no changed one, needs
# no build; then BUILD_STAMP records that the build was found up to date.
build_outdated() {
  local pkg f oldest='' marker markers=() newer=''
  for pkg in discovery node gateway; do
    if [[ ! -f packages/$pkg/dist/tally-$pkg.js ]]; then
      echo "packages/$pkg/dist/tally-$pkg.js is missing"
      return 0
    fi
  done
  for f in packages/*/tsconfig.json; do
    f=${f%.json}.tsbuildinfo
    if [[ ! -f $f ]]; then
      oldest=''
      break
    fi
    if [[ -z $oldest || $f -ot $oldest ]]; then oldest=$f; fi
  done
  if [[ -n $oldest ]]; then markers+=("$oldest"); fi
  if [[ -f $BUILD_STAMP ]]; then markers+=("$BUILD_STAMP"); fi
  if ((${#markers[@]} == 0)); then
    echo "no finished build found"
    return 0
  fi
  for marker in "${markers[@]}"; do
    newer=$(find packages/*/src packages/*/tsconfig.json packages/*/package.json tsconfig.base.json \
      tsconfig.json package-lock.json -newer "$marker" -print -quit 2>/dev/null) || true
    [[ -n $newer ]] || return 0
  done
  if [[ -x node_modules/.bin/tsc ]]; then
    local dry
    if dry=$(node_modules/.bin/tsc -b --dry 2>&1) && [[ $dry != *"would build"* ]]; then
      mkdir -p "${BUILD_STAMP%/*}"
      touch "$BUILD_STAMP"
      return 0
    fi
  fi
  echo "$newer changed since the last build"
}

# ensure_built: `npm run build` when build_outdated says so.
ensure_built() {
  local why
  why=$(build_outdated)
  if [[ -n $why ]]; then
    run_logged "building (npm run build): $why" "$LOG_DIR/build.out" npm run build --silent ||
      die 1 "build failed (see above)"
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
  CMD=(--host "$HOST" --port "$(discovery_port)" --log-level "${TALLY_LOG_LEVEL:-info}")
  while IFS= read -r w; do CMD+=("$w"); done < <(extra_args TALLY_DISCOVERY_ARGS)
}
gateway_cmd() {
  CMD=(--host "$HOST" --port "$(gateway_port)" --resp-port "$(gateway_resp_port)" --discovery "$(discovery_url)"
    --log-level "${TALLY_LOG_LEVEL:-info}")
  while IFS= read -r w; do CMD+=("$w"); done < <(extra_args TALLY_GATEWAY_ARGS)
}
node_cmd() {
  local k=$1 n=$2 j port peers=''
  for ((j = 1; j <= n; j++)); do
    ((j == k)) && continue
    # A peer whose port is chosen at its start, and not known yet, is found through discovery.
    port=$(node_tcp_port "$j")
    ((port == 0)) || peers+="${peers:+,}$HOST:$port"
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

# component_ports NAME: the ports component NAME listens on, one a line
# (those chosen at start and not recorded yet, and RESP when off, left out).
component_ports() {
  case $1 in
    discovery) discovery_port ;;
    gateway) gateway_port && gateway_resp_port ;;
    node-*) node_tcp_port "${1#node-}" && node_http_port "${1#node-}" && node_resp_port "${1#node-}" ;;
  esac | grep -x '[1-9][0-9]*' || true
}

# check_ports_free NAME...: exit 1 when a port of one of the components is taken.
check_ports_free() {
  dry_run && return 0
  local name port
  for name in "$@"; do
    while IFS= read -r port; do
      if port_in_use "$port"; then
        die 1 "port $port ($name) is already in use (another cluster? see TALLY_*_PORT in help)"
      fi
    done < <(component_ports "$name")
  done
}

# spawn NAME ARGS...: start component NAME detached (own session, stdio to
# its log file) and record its pid. In dry-run mode print the command instead.
spawn() {
  local name=$1 script
  shift
  script=$(bin_script "$name")
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

# settle_spawns: a component whose pid file was just written can still be a
# copy of this shell about to exec node (an interrupt can land between the
# two), and is_our_process does not recognise it yet. Give every such pid a
# moment (at most 5 s in all) to become the component, so that it is listed
# and stopped with the others instead of being left running.
settle_spawns() {
  local name file pid budget=100
  while IFS= read -r name; do
    file=$(pid_file "$name")
    [[ -r $file ]] || continue
    pid=$(<"$file")
    is_uint "$pid" || continue
    while ((budget > 0)) && ! is_our_process "$pid" "$name" && pid_alive "$pid"; do
      sleep 0.05
      budget=$((budget - 1))
    done
  done < <(all_components)
}

# wait_healthy NAME...: poll each component's /health until it answers 200,
# showing what it still waits for. Fails (showing the log tail) when a
# process dies or the deadline passes.
wait_healthy() {
  dry_run && return 0
  local start deadline name pending what unbound
  start=$(now_ms)
  deadline=$((start + START_TIMEOUT * 1000))
  while :; do
    pending=() unbound=()
    for name in "$@"; do
      if ! running_pid "$name" >/dev/null; then
        progress_clear
        echo "${C_BAD}✗ $name exited during start-up${C_OFF}; last lines of $LOG_DIR/$name.log:" >&2
        tail -n 20 "$LOG_DIR/$name.log" >&2 || true
        return 1
      fi
      # A component that chooses its ports has a URL once its log shows them.
      if ! learn_ports "$name"; then
        pending+=("$name")
        unbound+=("$name")
        continue
      fi
      http_request GET "$(component_url "$name")/health"
      [[ $HTTP_STATUS == 200 ]] || pending+=("$name")
    done
    if ((${#pending[@]} == 0)); then
      progress_clear
      return 0
    fi
    if [[ " ${unbound[*]} " == *" ${pending[0]} "* ]]; then
      what="${pending[0]} (to log the ports it chose)"
    else
      what="${pending[0]} ($(component_url "${pending[0]}")/health)"
    fi
    if ((${#pending[@]} > 1)); then what+=" and ${pending[*]:1}"; fi
    # Shown before the deadline is checked, so a wait that gives up has said what it waited for.
    progress_tick "$start" "waiting for $what"
    if (($(now_ms) > deadline)); then
      progress_clear
      echo "${C_BAD}✗ not healthy after ${START_TIMEOUT}s: ${pending[*]}${C_OFF} (logs in $LOG_DIR)" >&2
      return 1
    fi
    sleep 0.2
  done
}

# component_pids: "NAME PID" of every running component, one a line.
component_pids() {
  local name pid
  while IFS= read -r name; do
    if pid=$(running_pid "$name"); then echo "$name $pid"; fi
  done < <(all_components)
}

# guarded WHAT CMD...: run CMD (install, build, start components) in a
# worker while this shell waits for it. When the worker fails, or on Ctrl-C,
# SIGTERM or hang-up, stop every component started meanwhile (a pid that was
# not running before), say so, and exit (130 on Ctrl-C). WHAT names the
# command in messages. Why a worker: bash drops a SIGINT that lands while it
# is reaping a command substitution, trap or not, but never one that lands
# in the wait builtin, so Ctrl-C is always seen here.
INTERRUPTED=''
guarded() {
  local what=$1 before rc=0 worker
  shift
  before=$(component_pids)
  INTERRUPTED=''
  trap 'INTERRUPTED=Ctrl-C' INT
  trap 'INTERRUPTED=SIGTERM' TERM
  trap 'INTERRUPTED=hang-up' HUP
  (
    # The worker takes Ctrl-C as a foreground command would (npm and the
    # health checks stop at once); this shell does the cleaning up.
    trap - INT TERM HUP
    "$@"
  ) &
  worker=$!
  wait "$worker" || rc=$?
  if [[ -n $INTERRUPTED ]] && kill -0 "$worker" 2>/dev/null; then
    kill -TERM "$worker" 2>/dev/null || true
    wait "$worker" 2>/dev/null || true
  fi
  if [[ -z $INTERRUPTED ]] && ((rc == 0)); then
    trap - INT TERM HUP
    return 0
  fi
  # Ignore further signals until everything started is stopped again.
  trap '' INT TERM HUP
  if [[ -t 1 ]]; then printf '\r\e[K'; fi
  local name pid started=() i names=()
  settle_spawns
  while read -r name pid; do
    if [[ $'\n'$before$'\n' != *$'\n'"$name $pid"$'\n'* ]]; then started+=("$name"); fi
  done < <(component_pids)
  # Stale pid files of components that died during start-up go as well.
  while IFS= read -r name; do
    if ! running_pid "$name" >/dev/null && [[ $'\n'$before$'\n' != *$'\n'"$name "* ]]; then rm -f "$(pid_file "$name")"; fi
  done < <(all_components)
  local why="$what failed"
  [[ -z $INTERRUPTED ]] || why="$what interrupted ($INTERRUPTED)"
  if ((${#started[@]})); then
    # Report in start order (discovery, nodes, gateway); stop in reverse.
    while IFS= read -r name; do
      if [[ " ${started[*]} " == *" $name "* ]]; then names+=("$name"); fi
    done < <(cluster_components "$(cluster_size)")
    for name in "${started[@]}"; do
      if [[ " ${names[*]} " != *" $name "* ]]; then names+=("$name"); fi
    done
    echo "${C_BAD}✗ $why${C_OFF}: stopping what it had started (${names[*]})" >&2
    started=()
    for ((i = ${#names[@]} - 1; i >= 0; i--)); do started+=("${names[i]}"); done
    stop_components "${started[@]}" >&2
  elif [[ -n $INTERRUPTED ]]; then
    echo "${C_BAD}✗ $why${C_OFF}: nothing had been started" >&2
  fi
  case $INTERRUPTED in
    Ctrl-C) exit 130 ;;
    SIGTERM) exit 143 ;;
    hang-up) exit 129 ;;
  esac
  exit "$rc"
}

# bring_up N NAME...: start the named components of an N-node cluster in
# dependency order (discovery, then those nodes together, then the gateway),
# each group waited for until healthy. Exits 1 when one does not come up;
# run it under `guarded`, which then stops what it started.
bring_up() {
  local n=$1 k nodes=()
  shift
  local want=" $* "
  if [[ $want == *" discovery "* ]]; then
    echo "==> starting discovery on :$(port_text "$(discovery_port)")"
    discovery_cmd
    launch discovery
    wait_healthy discovery || exit 1
  fi
  for ((k = 1; k <= n; k++)); do
    if [[ $want == *" node-$k "* ]]; then nodes+=("node-$k"); fi
  done
  if ((${#nodes[@]} == n && n > 1)); then
    local resp='RESP off'
    [[ $RESP_BASE_PORT == 0 ]] || resp="RESP $(port_range node_resp_port "$n")"
    echo "==> starting $n nodes (gossip $(port_range node_tcp_port "$n"), HTTP $(port_range node_http_port "$n"), $resp)"
  elif ((${#nodes[@]})); then
    echo "==> starting ${nodes[*]}"
  fi
  for k in "${nodes[@]}"; do
    node_cmd "${k#node-}" "$n"
    launch "$k"
  done
  if ((${#nodes[@]})); then wait_healthy "${nodes[@]}" || exit 1; fi
  if [[ $want == *" gateway "* ]]; then
    echo "==> starting gateway on :$(port_text "$(gateway_port)") (RESP $(resp_text "$(gateway_resp_port)"))"
    gateway_cmd
    launch gateway
    wait_healthy gateway || exit 1
  fi
}

# port_text PORT: PORT, or "any" for 0 (chosen at start).
port_text() { if [[ $1 == 0 || $1 == any ]]; then echo any; else echo "$1"; fi; }

# resp_text PORT: ":PORT", ":any" (chosen at start) or "off" (0).
resp_text() { if [[ $1 == 0 ]]; then echo off; else echo ":$(port_text "$1")"; fi; }

# port_range FN N: ":FIRST-LAST" of node ports FN 1 … FN N, or "on any free ports".
port_range() {
  local first last
  first=$("$1" 1)
  last=$("$1" "$2")
  if [[ $first == 0 || $first == any ]]; then echo 'on any free ports'; else echo ":$first-$last"; fi
}

# launch NAME: spawn component NAME with CMD.
launch() {
  spawn "$1" "${CMD[@]}"
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
