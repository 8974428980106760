#!/usr/bin/env bash
# run-cluster.sh: run a local Tally cluster (discovery, N nodes, gateway) and
# poke at it. `./run-cluster.sh help` lists the commands; the port map and the
# environment overrides are in scripts/cluster-env.sh and the README.
set -euo pipefail
# Run from the repository even when called through a symlink (in ~/bin, say):
# follow the links by hand, since readlink -f is not everywhere.
self=${BASH_SOURCE[0]}
while [[ -L $self ]]; do
  link=$(readlink "$self")
  [[ $link == /* ]] || link=$(dirname "$self")/$link
  self=$link
done
cd -P "$(dirname "$self")"
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
                          installs and builds first when needed, waits until all are healthy;
                          when part of the cluster runs, starts only what is missing
  stop                    stop everything (SIGTERM, SIGKILL after \$TALLY_STOP_TIMEOUT s)
  status                  every component: pid, health, URL (exit 0 all healthy, 1 some down, 3 none running)
  restart [k|gateway|discovery]
                          restart the whole cluster, or only node k (keeps its data), the gateway or discovery
  add                     start one more node (node N+1); it joins through discovery
  kill k                  SIGKILL node k (to demo a crash); \`restart k\` brings it back
  logs [k|discovery|gateway]
                          tail the logs (all when omitted; follows when on a terminal)
  clean                   stop, then delete data/ and logs/

Counter (the counter named "default")
  increment|inc [k] [amount]   add amount (default 1) on node k (a random live node when k is omitted or "any")
  decrement|dec [k] [amount]   subtract amount on node k (values may go negative: dec 2 5)
  counter|cnt [k]              node k's value (through the gateway when omitted; exit 1 if it is down)
  peers|p [k]                  node k's view of its peers (a random live node when k is omitted)
  consistency                  every node's value; exit 1 when live nodes disagree
  check                        increment, wait until every node shows it, decrement by the same
                               amount, verify again: the counter ends where it started
  simulation|sim [duration=60] [interval=2] [ops=3]
                               random increments/decrements on random nodes for duration seconds
                               (changes the counter by the acknowledged sum it prints)
  client                       interactive prompt through the gateway (5, -3, get, q)
  chaos [duration=60]          keyed writes through the gateway while nodes are killed, restarted, paused and
                               (as root) partitioned;
                               then checks every node against the bounds: prints "chaos: PASS|FAIL …", exit 0|1
  help                         this text

Ports: discovery $DISCOVERY_PORT, node k gossip $GOSSIP_BASE_PORT+k-1, HTTP $HTTP_BASE_PORT+k-1 and RESP $RESP_BASE_PORT+k-1,
  gateway HTTP $GATEWAY_PORT and RESP (Redis protocol) $GATEWAY_RESP_PORT. RESP port 0 = off. A port set to 0
  (RESP: any) is chosen at start (a free port) and recorded in \$LOG_DIR/NAME.ports ("HTTP GOSSIP RESP");
  a restart binds it again.
Data in $DATA_DIR, logs and pid files in $LOG_DIR.
Environment: TALLY_RUN_DIR TALLY_DISCOVERY_PORT TALLY_GOSSIP_BASE_PORT TALLY_HTTP_BASE_PORT TALLY_GATEWAY_PORT
  TALLY_RESP_BASE_PORT TALLY_GATEWAY_RESP_PORT
  TALLY_SKIP_BUILD=1 TALLY_DRY_RUN=1 TALLY_START_TIMEOUT TALLY_STOP_TIMEOUT TALLY_CONVERGE_TIMEOUT TALLY_HTTP_TIMEOUT
  TALLY_LOG_LEVEL TALLY_NODE_ARGS TALLY_DISCOVERY_ARGS TALLY_GATEWAY_ARGS (see README.md)
Dashboard: $(gateway_url)/ (the gateway's GET /).
Exit codes: 0 ok, 1 failure (down, refused, inconsistent), 2 bad arguments,
  3 nothing running (status, check, simulation). Ctrl-C during start stops what it started.
EOF
}

# parse_count VALUE: validate the N of `start N`.
parse_count() {
  if ! is_uint "$1" || (($1 < 1 || $1 > MAX_NODES)); then
    die 2 "number of nodes must be an integer from 1 to $MAX_NODES, got '$1'"
  fi
  local top=$((HTTP_BASE_PORT > GOSSIP_BASE_PORT ? HTTP_BASE_PORT : GOSSIP_BASE_PORT))
  if [[ $RESP_BASE_PORT != any ]]; then top=$((RESP_BASE_PORT > top ? RESP_BASE_PORT : top)); fi
  ((top + $1 - 1 <= 65535)) || die 2 "$1 nodes do not fit below port 65535 with the configured base ports"
  echo "$1"
}

cmd_start() {
  (($# <= 1)) || die 2 "usage: start [N]"
  local n='' size name running=() missing=()
  if (($# == 1)); then n=$(parse_count "$1"); fi
  while IFS= read -r name; do
    if running_pid "$name" >/dev/null; then running+=("$name"); fi
  done < <(all_components)
  if ((${#running[@]} == 0)); then
    start_fresh "${n:-5}"
    return
  fi
  # Part of the cluster runs (a component crashed or was killed, or a start
  # was cut short): start what is missing, with the recorded size.
  size=$(cluster_size)
  ((size > 0)) || die 1 "already running (${running[*]}) but no cluster size is recorded; use stop first"
  while IFS= read -r name; do
    running_pid "$name" >/dev/null || missing+=("$name")
  done < <(cluster_components "$size")
  ((${#missing[@]})) || die 1 "already running (${running[*]}); use stop or restart first"
  if [[ -n $n && $n != "$size" ]]; then
    die 1 "a $size-node cluster is partly running (${running[*]}): start without N resumes it; stop it first to start $n nodes"
  fi
  check_ports_free "${missing[@]}"
  echo "==> resuming the $size-node cluster: starting ${missing[*]} (already running: ${running[*]})"
  guarded start prepare_and_bring_up "$size" "${missing[@]}"
  dry_run && return 0
  started_banner
}

# start_fresh N: start a whole N-node cluster (no part of one runs).
start_fresh() {
  local n=$1 names=()
  mapfile -t names < <(cluster_components "$n")
  check_ports_free "${names[@]}"
  if ! dry_run; then
    mkdir -p "$LOG_DIR" "$DATA_DIR"
    rm -f "$LOG_DIR"/*.pid "$LOG_DIR"/*.ports
    echo "$n" >"$LOG_DIR/cluster.size"
  fi
  guarded start prepare_and_bring_up "$n" "${names[@]}"
  dry_run && return 0
  started_banner
}

# prepare_and_bring_up N NAME...: install and build when needed, then start
# the named components of an N-node cluster (run under `guarded`).
prepare_and_bring_up() {
  prepare
  bring_up "$@"
}

started_banner() {
  echo "${C_OK}✓ cluster up${C_OFF}"
  cmd_status || true
  local resp
  resp=$(gateway_resp_port)
  echo
  echo "Try:  ./run-cluster.sh inc 2        curl $(gateway_url)/counter"
  if [[ $resp != 0 ]]; then echo "      redis-cli -p $resp incr page-views"; fi
  echo "      ./monitor.sh                  dashboard: $(gateway_url)/ in a browser"
  echo "      ./run-cluster.sh stop"
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
  local n names=() pids=() name pid url state extra up=0 healthy=0 total=0 args=() i j=0 f=() v=()
  n=$(cluster_size)
  mapfile -t names < <(cluster_components "$n")
  # Ask every running component at once, so that one that hangs delays nobody.
  for name in "${names[@]}"; do
    pid=$(running_pid "$name") || pid='-'
    pids+=("$pid")
    [[ $pid != - ]] || continue
    url=$(component_url "$name")
    case $name in
      discovery) args+=("$url/health" 'peers,error.message') ;;
      gateway) args+=("$url/health" 'usable,known,error.message' "$url/nodes" nodes) ;;
      *) args+=("$url/health" 'status,peers.live,error.message' "$url/counter" value) ;;
    esac
  done
  PROBED=()
  if ((${#args[@]})); then probe_get $((HTTP_TIMEOUT * 1000)) "${args[@]}"; fi
  printf '%s%-10s %-8s %-10s %-24s %-6s %s%s\n' "$C_BOLD" COMPONENT PID STATE URL RESP DETAIL "$C_OFF"
  for i in "${!names[@]}"; do
    name=${names[i]} pid=${pids[i]}
    total=$((total + 1))
    url=$(component_url "$name")
    extra='' state=down
    if [[ $pid != - ]]; then
      up=$((up + 1))
      IFS=$'\t' read -r -a f <<<"${PROBED[j]:-000}"
      j=$((j + 1))
      v=()
      if [[ $name == node-* || $name == gateway ]]; then
        IFS=$'\t' read -r -a v <<<"${PROBED[j]:-000}"
        j=$((j + 1))
      fi
      if [[ ${f[0]} == 200 ]]; then
        state=healthy
        healthy=$((healthy + 1))
        case $name in
          discovery) extra="registered nodes ${f[1]-?}" ;;
          gateway)
            # /nodes also lists the nodes the gateway remembers as down (out of its routing table).
            local all=0 down=0 rest=${v[1]-}
            while [[ $rest == *'"state":"'* ]]; do
              rest=${rest#*'"state":"'}
              all=$((all + 1))
              if [[ $rest == down\"* ]]; then down=$((down + 1)); fi
            done
            ((all > 0)) || all=${f[2]-?}
            extra="usable nodes ${f[1]-?}/$all"
            ((down == 0)) || extra+=", $down down"
            ;;
          *)
            if [[ ${v[0]} == 200 ]] && is_int "${v[1]-}"; then extra="value=${v[1]}"; else extra='value=?'; fi
            extra+=" live-peers=${f[2]-?}"
            if [[ ${f[1]-} != ok ]]; then extra+=" status=${f[1]-?}"; fi
            ;;
        esac
      else
        state=unhealthy
        case ${f[0]} in
          000) extra='/health does not answer' ;;
          timeout) extra="/health did not answer within ${HTTP_TIMEOUT}s" ;;
          *) extra="/health answered ${f[0]}" ;;
        esac
        if [[ ${f[-1]} != - && ${#f[@]} -gt 1 ]]; then extra+=": ${f[-1]}"; fi
      fi
    fi
    local colour=$C_BAD
    [[ $state == healthy ]] && colour=$C_OK
    local resp=-
    case $name in
      gateway) resp=$(gateway_resp_port) ;;
      node-*) resp=$(node_resp_port "${name#node-}") ;;
    esac
    [[ $resp != 0 ]] || resp=off
    printf '%-10s %-8s %s%-10s%s %-24s %-6s %s\n' "$name" "$pid" "$colour" "$state" "$C_OFF" "$url" "$resp" "$extra"
  done
  echo "${C_DIM}data: $DATA_DIR   logs: $LOG_DIR${C_OFF}"
  ((up == 0)) && return 3
  if ((up < total)); then
    echo "some components are down: ./run-cluster.sh start starts what is missing"
  fi
  ((healthy == total)) || return 1
}

cmd_restart() {
  (($# <= 1)) || die 2 "usage: restart [k|gateway|discovery]"
  if (($# == 0)); then
    local n
    n=$(cluster_size)
    ((n > 0)) || n=5
    cmd_stop
    cmd_start "$n"
    return
  fi
  local name n
  case $1 in
    discovery | gateway) name=$1 ;;
    *)
      [[ $1 =~ ^(node-)?[1-9][0-9]{0,3}$ ]] ||
        die 2 "restart takes a node number k, gateway or discovery (or nothing: the whole cluster), got '$1'"
      name=node-$(parse_node "${1#node-}")
      ;;
  esac
  n=$(cluster_size)
  ((n > 0)) || die 1 "no cluster has been started in $RUN_DIR (./run-cluster.sh start)"
  guarded restart restart_one "$name" "$n"
  dry_run && return 0
  echo "${C_OK}✓ $name up${C_OFF} at $(component_url "$name") (pid $(running_pid "$name"))"
}

# restart_one NAME N: build when needed, stop component NAME of the N-node
# cluster and start it again (run under `guarded`).
restart_one() {
  prepare
  echo "==> restarting $1"
  stop_components "$1"
  check_ports_free "$1"
  bring_up "$2" "$1"
}

cmd_add() {
  (($# == 0)) || die 2 "usage: add"
  running_pid discovery >/dev/null || die 1 "the cluster is not running (start it first)"
  local n k
  n=$(cluster_size)
  k=$((n + 1))
  parse_count "$k" >/dev/null
  check_ports_free "node-$k"
  echo "$k" >"$LOG_DIR/cluster.size"
  echo "==> adding node-$k (gossip :$(port_text "$(node_tcp_port "$k")"), HTTP :$(port_text "$(node_http_port "$k")"), RESP $(resp_text "$(node_resp_port "$k")"))"
  guarded add bring_up "$k" "node-$k"
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
  local dir removed=()
  for dir in "$DATA_DIR" "$LOG_DIR"; do
    if [[ -e $dir ]]; then
      rm -rf "$dir"
      removed+=("$dir")
    fi
  done
  if ((${#removed[@]} == 0)); then
    echo "nothing to remove: no $DATA_DIR or $LOG_DIR"
  else
    echo "removed ${removed[*]}"
  fi
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
    chaos) LOG_DIR="$LOG_DIR" HTTP_BASE_PORT="$HTTP_BASE_PORT" GATEWAY_PORT="$(gateway_port)" exec node "$TALLY_ROOT/scripts/chaos.mjs" "$@" ;;
    help | -h | --help) usage ;;
    *)
      usage >&2
      die 2 "unknown command '$cmd'"
      ;;
  esac
}

main "$@"
