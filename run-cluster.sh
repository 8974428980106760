#!/usr/bin/env bash
# run-cluster.sh: run a local Tally cluster (discovery, N nodes, gateway) and
# poke at it. `./run-cluster.sh help` lists the commands; the port map and the
# environment overrides are in scripts/cluster-env.sh and the README.
set -euo pipefail
cd -P "$(dirname "${BASH_SOURCE[0]}")"
TALLY_ROOT=$PWD
# shellcheck source=scripts/cluster-env.sh
. scripts/cluster-env.sh
# shellcheck source=scripts/cluster-lifecycle.sh
. scripts/cluster-lifecycle.sh
# shellcheck source=scripts/cluster-ops.sh
. scripts/cluster-ops.sh

usage() {
  cat <<EOF
Usage: ./run-cluster.sh COMMAND [ARGS]

Cluster
  start [N]               start discovery, N nodes (default 5, max $MAX_NODES) and the gateway;
                          installs and builds first when needed, waits until all are healthy
  stop                    stop everything (SIGTERM, SIGKILL after \$TALLY_STOP_TIMEOUT s)
  status                  every component: pid, health, URL (exit 0 all healthy, 1 some down, 3 none running)
  restart [k]             restart the whole cluster, or only node k (keeps its data)
  add                     start one more node (node N+1); it joins through discovery
  kill k                  SIGKILL node k (to demo a crash); \`restart k\` brings it back
  logs [k|discovery|gateway]
                          tail the logs (all when omitted; follows when on a terminal)
  clean                   stop, then delete data/ and logs/

Counter (the counter named "default")
  increment|inc [k] [amount]   add amount (default 1) on node k (a random live node when k is omitted or "any")
  decrement|dec [k] [amount]   subtract amount on node k (values may go negative: dec 2 5)
  counter|cnt [k]              node k's value (the gateway's when omitted)
  peers|p [k]                  node k's view of its peers
  consistency                  every node's value; exit 1 when live nodes disagree
  check                        increment, wait for convergence, verify; decrement, verify
  simulation|sim [duration=60] [interval=2] [ops=3]
                               random increments/decrements on random nodes for duration seconds
  client                       interactive prompt through the gateway (5, -3, get, q)
  help                         this text

Ports: discovery $DISCOVERY_PORT, node k gossip $GOSSIP_BASE_PORT+k-1 and HTTP $HTTP_BASE_PORT+k-1, gateway $GATEWAY_PORT.
Data in $DATA_DIR, logs and pid files in $LOG_DIR.
Environment: TALLY_RUN_DIR TALLY_DISCOVERY_PORT TALLY_GOSSIP_BASE_PORT TALLY_HTTP_BASE_PORT TALLY_GATEWAY_PORT
  TALLY_SKIP_BUILD=1 TALLY_DRY_RUN=1 TALLY_START_TIMEOUT TALLY_STOP_TIMEOUT TALLY_CONVERGE_TIMEOUT TALLY_HTTP_TIMEOUT
  TALLY_LOG_LEVEL TALLY_NODE_ARGS TALLY_DISCOVERY_ARGS TALLY_GATEWAY_ARGS (see README.md)
Exit codes: 0 ok, 1 failure (down, refused, inconsistent), 2 bad arguments.
EOF
}

# parse_count VALUE: validate the N of `start N`.
parse_count() {
  if ! is_uint "$1" || (($1 < 1 || $1 > MAX_NODES)); then
    die 2 "number of nodes must be an integer from 1 to $MAX_NODES, got '$1'"
  fi
  local top=$((HTTP_BASE_PORT > GOSSIP_BASE_PORT ? HTTP_BASE_PORT : GOSSIP_BASE_PORT))
  ((top + $1 - 1 <= 65535)) || die 2 "$1 nodes do not fit below port 65535 with the configured base ports"
  echo "$1"
}

cmd_start() {
  (($# <= 1)) || die 2 "usage: start [N]"
  local n
  n=$(parse_count "${1:-5}")
  local running=()
  while IFS= read -r name; do
    if running_pid "$name" >/dev/null; then running+=("$name"); fi
  done < <(all_components)
  ((${#running[@]} == 0)) || die 1 "already running (${running[*]}); use stop or restart first"
  if ! dry_run; then
    local port
    for port in "$DISCOVERY_PORT" "$GATEWAY_PORT"; do
      port_in_use "$port" && die 1 "port $port is already in use (another cluster? see TALLY_*_PORT in help)"
    done
    local k
    for ((k = 1; k <= n; k++)); do
      for port in "$(node_tcp_port "$k")" "$(node_http_port "$k")"; do
        port_in_use "$port" && die 1 "port $port is already in use (another cluster? see TALLY_*_PORT in help)"
      done
    done
  fi
  prepare
  if ! dry_run; then
    mkdir -p "$LOG_DIR" "$DATA_DIR"
    rm -f "$LOG_DIR"/*.pid
    echo "$n" >"$LOG_DIR/cluster.size"
  fi
  echo "==> starting discovery on :$DISCOVERY_PORT"
  discovery_cmd
  spawn discovery "${CMD[@]}"
  wait_healthy discovery || fail_start
  echo "==> starting $n nodes (gossip :$(node_tcp_port 1)-$(node_tcp_port "$n"), HTTP :$(node_http_port 1)-$(node_http_port "$n"))"
  local k names=()
  for ((k = 1; k <= n; k++)); do
    node_cmd "$k" "$n"
    spawn "node-$k" "${CMD[@]}"
    names+=("node-$k")
  done
  wait_healthy "${names[@]}" || fail_start
  echo "==> starting gateway on :$GATEWAY_PORT"
  gateway_cmd
  spawn gateway "${CMD[@]}"
  wait_healthy gateway || fail_start
  dry_run && return 0
  echo "${C_OK}✓ cluster up${C_OFF}"
  cmd_status || true
  cat <<EOF

Try:  ./run-cluster.sh inc 2        curl $(gateway_url)/counter
      ./monitor.sh                  ./run-cluster.sh stop
EOF
}

# fail_start: a component did not come up: stop what we started and exit 1.
fail_start() {
  echo "stopping what was started…" >&2
  local names=()
  while IFS= read -r name; do names+=("$name"); done < <(all_components)
  if ((${#names[@]})); then stop_components "${names[@]}" >&2; fi
  exit 1
}

cmd_stop() {
  (($# == 0)) || die 2 "usage: stop"
  local names=()
  while IFS= read -r name; do names+=("$name"); done < <(all_components)
  if ((${#names[@]} == 0)); then
    echo "nothing running in $RUN_DIR"
    return 0
  fi
  echo "==> stopping ${names[*]}"
  stop_components "${names[@]}"
  echo "${C_OK}✓ stopped${C_OFF}"
}

cmd_status() {
  (($# == 0)) || die 2 "usage: status"
  local n names=() name pid url state extra up=0 healthy=0 total=0
  n=$(cluster_size)
  names=(discovery)
  for ((k = 1; k <= n; k++)); do names+=("node-$k"); done
  names+=(gateway)
  printf '%s%-10s %-8s %-10s %-24s %s%s\n' "$C_BOLD" COMPONENT PID STATE URL DETAIL "$C_OFF"
  for name in "${names[@]}"; do
    total=$((total + 1))
    url=$(component_url "$name")
    extra=''
    if pid=$(running_pid "$name"); then
      up=$((up + 1))
      http_request GET "$url/health"
      if [[ $HTTP_STATUS == 200 ]]; then
        state=healthy
        healthy=$((healthy + 1))
        if [[ $name == gateway && $HTTP_BODY =~ \"usable\":([0-9]+),\"known\":([0-9]+) ]]; then
          local usable=${BASH_REMATCH[1]} known=${BASH_REMATCH[2]} all=0 down=0 rest
          # /nodes also lists the nodes the gateway remembers as down (out of its routing table).
          http_request GET "$url/nodes"
          rest=$HTTP_BODY
          while [[ $rest == *'"state":"'* ]]; do
            rest=${rest#*'"state":"'}
            all=$((all + 1))
            if [[ $rest == down\"* ]]; then down=$((down + 1)); fi
          done
          ((all > 0)) || all=$known
          extra="usable nodes $usable/$all"
          ((down == 0)) || extra+=", $down down"
        elif [[ $name == discovery && $HTTP_BODY =~ \"peers\":([0-9]+) ]]; then
          extra="registered nodes ${BASH_REMATCH[1]}"
        elif [[ $name == node-* ]]; then
          local v
          v=$(node_value "${name#node-}") || v='?'
          extra="value=$v"
          if [[ $HTTP_BODY =~ \"live\"[[:space:]]*:[[:space:]]*([0-9]+) ]]; then extra+=" live-peers=${BASH_REMATCH[1]}"; fi
        fi
      else
        state=unhealthy
        extra="/health answered $HTTP_STATUS"
      fi
    else
      pid='-'
      state=down
    fi
    local colour=$C_BAD
    [[ $state == healthy ]] && colour=$C_OK
    printf '%-10s %-8s %s%-10s%s %-24s %s\n' "$name" "$pid" "$colour" "$state" "$C_OFF" "$url" "$extra"
  done
  echo "${C_DIM}data: $DATA_DIR   logs: $LOG_DIR${C_OFF}"
  ((up == 0)) && return 3
  ((healthy == total)) || return 1
}

cmd_restart() {
  (($# <= 1)) || die 2 "usage: restart [k]"
  if (($# == 0)); then
    local n
    n=$(cluster_size)
    ((n > 0)) || n=5
    cmd_stop
    cmd_start "$n"
    return
  fi
  local k
  k=$(parse_node "$1")
  prepare
  echo "==> restarting node-$k"
  stop_components "node-$k"
  start_node "$k" "$(cluster_size)" || die 1 "node-$k did not come back (see $LOG_DIR/node-$k.log)"
  echo "${C_OK}✓ node-$k up${C_OFF} at $(node_url "$k") (pid $(running_pid "node-$k"))"
}

cmd_add() {
  (($# == 0)) || die 2 "usage: add"
  running_pid discovery >/dev/null || die 1 "the cluster is not running (start it first)"
  local n k
  n=$(cluster_size)
  k=$((n + 1))
  parse_count "$k" >/dev/null
  port_in_use "$(node_tcp_port "$k")" && die 1 "port $(node_tcp_port "$k") is already in use"
  port_in_use "$(node_http_port "$k")" && die 1 "port $(node_http_port "$k") is already in use"
  echo "$k" >"$LOG_DIR/cluster.size"
  echo "==> adding node-$k (gossip :$(node_tcp_port "$k"), HTTP :$(node_http_port "$k"))"
  start_node "$k" "$k" || die 1 "node-$k did not start (see $LOG_DIR/node-$k.log)"
  echo "${C_OK}✓ node-$k up${C_OFF} at $(node_url "$k") (pid $(running_pid "node-$k"))"
}

cmd_kill() {
  (($# == 1)) || die 2 "usage: kill k"
  local k pid
  k=$(parse_node "$1")
  pid=$(running_pid "node-$k") || die 1 "node-$k is not running"
  kill -KILL "$pid"
  rm -f "$(pid_file "node-$k")"
  local i
  for ((i = 0; i < 50; i++)); do
    is_our_process "$pid" "node-$k" || break
    sleep 0.1
  done
  echo "killed node-$k (pid $pid, SIGKILL); bring it back with: ./run-cluster.sh restart $k"
}

cmd_logs() {
  (($# <= 1)) || die 2 "usage: logs [k|discovery|gateway]"
  local files=() lines="${TALLY_LOG_LINES:-50}"
  is_uint "$lines" || die 2 "TALLY_LOG_LINES must be a whole number, got '$lines'"
  local k
  case ${1-} in
    '') for f in "$LOG_DIR"/*.log; do if [[ -f $f ]]; then files+=("$f"); fi; done ;;
    discovery | gateway) files=("$LOG_DIR/$1.log") ;;
    *)
      k=$(parse_node "${1#node-}")
      files=("$LOG_DIR/node-$k.log")
      ;;
  esac
  ((${#files[@]})) || die 1 "no logs in $LOG_DIR"
  [[ -f ${files[0]} ]] || die 1 "${files[0]} does not exist"
  if [[ -t 1 ]]; then
    if [[ -x node_modules/.bin/pino-pretty ]]; then
      tail -n "$lines" -F "${files[@]}" | node_modules/.bin/pino-pretty
    else
      tail -n "$lines" -F "${files[@]}"
    fi
  else
    tail -n "$lines" "${files[@]}"
  fi
}

cmd_clean() {
  (($# == 0)) || die 2 "usage: clean"
  cmd_stop
  rm -rf "$DATA_DIR" "$LOG_DIR"
  echo "removed $DATA_DIR and $LOG_DIR"
}

main() {
  local cmd=${1:-help}
  (($# == 0)) || shift
  case $cmd in
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    status) cmd_status "$@" ;;
    restart) cmd_restart "$@" ;;
    add | start-node) cmd_add "$@" ;;
    kill) cmd_kill "$@" ;;
    logs) cmd_logs "$@" ;;
    clean) cmd_clean "$@" ;;
    increment | inc) cmd_change increment "$@" ;;
    decrement | dec) cmd_change decrement "$@" ;;
    counter | cnt) cmd_counter "$@" ;;
    peers | p) cmd_peers "$@" ;;
    consistency) cmd_consistency "$@" ;;
    check) cmd_check "$@" ;;
    simulation | sim) cmd_simulation "$@" ;;
    client) cmd_client "$@" ;;
    help | -h | --help) usage ;;
    *)
      usage >&2
      die 2 "unknown command '$cmd'"
      ;;
  esac
}

main "$@"
