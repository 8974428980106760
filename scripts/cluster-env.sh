# shellcheck shell=bash disable=SC2034 # the variables here are used by the scripts that source it
# Shared by run-cluster.sh and monitor.sh: the local port map, where data and
# logs live, process bookkeeping (pid files), a tiny HTTP client and JSON
# reading (through scripts/json-probe.mjs).
#
# The caller sets TALLY_ROOT (the repository root) before sourcing this file.
# Every setting below can be overridden from the environment, so that tests
# and side-by-side clusters never collide with the documented ports:
#
#   TALLY_RUN_DIR           where data/ and logs/ go          (default: repo root)
#   TALLY_DISCOVERY_PORT    discovery HTTP port               (8000)
#   TALLY_GOSSIP_BASE_PORT  node k gossips on base+k-1 (TCP)  (9000)
#   TALLY_HTTP_BASE_PORT    node k serves HTTP on base+k-1    (8010)
#   TALLY_GATEWAY_PORT      gateway HTTP port                 (8080)
#   TALLY_RESP_BASE_PORT    node k speaks RESP on base+k-1    (6380; 0 = off)
#   TALLY_GATEWAY_RESP_PORT gateway RESP (Redis) port         (6379; 0 = off)
#   TALLY_HTTP_TIMEOUT      seconds per HTTP request          (3)
#
# A port (or base port) of 0 — for the RESP ports, `any`, since 0 turns RESP
# off as it does for the bins — lets the system pick a free port when that
# component first starts: the script reads the ports each component bound
# from its log into logs/NAME.ports ("HTTP GOSSIP RESP", 0 for none) and
# uses them from then on; a restarted component binds its recorded ports
# again. Tests use 0, so that nothing ever has to guess a free port.

: "${TALLY_ROOT:?TALLY_ROOT must be set before sourcing cluster-env.sh}"

HOST=127.0.0.1
RUN_DIR="${TALLY_RUN_DIR:-$TALLY_ROOT}"
DATA_DIR="$RUN_DIR/data"
LOG_DIR="$RUN_DIR/logs"
DISCOVERY_PORT="${TALLY_DISCOVERY_PORT:-8000}"
GOSSIP_BASE_PORT="${TALLY_GOSSIP_BASE_PORT:-9000}"
HTTP_BASE_PORT="${TALLY_HTTP_BASE_PORT:-8010}"
GATEWAY_PORT="${TALLY_GATEWAY_PORT:-8080}"
RESP_BASE_PORT="${TALLY_RESP_BASE_PORT:-6380}"
GATEWAY_RESP_PORT="${TALLY_GATEWAY_RESP_PORT:-6379}"
HTTP_TIMEOUT="${TALLY_HTTP_TIMEOUT:-3}"
# Largest number of nodes `start` accepts: keeps base+k-1 inside the port range.
MAX_NODES=64

# Colours only when talking to a terminal.
if [[ -t 1 ]]; then
  C_OK=$'\e[32m' C_BAD=$'\e[31m' C_DIM=$'\e[2m' C_BOLD=$'\e[1m' C_OFF=$'\e[0m'
else
  C_OK='' C_BAD='' C_DIM='' C_BOLD='' C_OFF=''
fi

# die CODE MESSAGE: print to stderr and exit with CODE (2 = usage error).
die() {
  local code=$1
  shift
  printf '%s: %s\n' "${0##*/}" "$*" >&2
  exit "$code"
}

# is_uint STRING: true when STRING is a non-negative decimal integer without
# sign or leading zeros (and short enough for shell arithmetic).
is_uint() {
  [[ $1 =~ ^(0|[1-9][0-9]{0,14})$ ]]
}

# check_port NAME VALUE: exit 2 unless VALUE is a TCP port number (0: any free port).
check_port() {
  if ! is_uint "$2" || (($2 > 65535)); then
    die 2 "$1 must be a port number 1-65535 (or 0: any free port), got '$2'"
  fi
}

check_port TALLY_DISCOVERY_PORT "$DISCOVERY_PORT"
check_port TALLY_GOSSIP_BASE_PORT "$GOSSIP_BASE_PORT"
check_port TALLY_HTTP_BASE_PORT "$HTTP_BASE_PORT"
check_port TALLY_GATEWAY_PORT "$GATEWAY_PORT"
# check_resp_port NAME VALUE: exit 2 unless VALUE is a port, 0 (off) or any (chosen at start).
check_resp_port() {
  if [[ $2 != any ]] && { ! is_uint "$2" || (($2 > 65535)); }; then
    die 2 "$1 must be a port number 1-65535, 0 (off) or any (any free port), got '$2'"
  fi
}
check_resp_port TALLY_RESP_BASE_PORT "$RESP_BASE_PORT"
check_resp_port TALLY_GATEWAY_RESP_PORT "$GATEWAY_RESP_PORT"
if ! is_uint "$HTTP_TIMEOUT" || ((HTTP_TIMEOUT < 1)); then
  die 2 "TALLY_HTTP_TIMEOUT must be a whole number of seconds >= 1, got '$HTTP_TIMEOUT'"
fi

# now_ms: wall clock in milliseconds (second resolution on shells without EPOCHREALTIME).
now_ms() {
  if [[ -n ${EPOCHREALTIME:-} ]]; then
    local t=${EPOCHREALTIME/[.,]/}
    echo $((10#$t / 1000))
  else
    echo $(($(date +%s) * 1000))
  fi
}

ports_file() { echo "$LOG_DIR/$1.ports"; }

# recorded_port NAME FIELD: the port component NAME bound, from its ports
# file (FIELD 1 HTTP, 2 gossip, 3 RESP); 0 while none is recorded.
recorded_port() {
  local file ports=()
  file=$(ports_file "$1")
  if [[ -r $file ]]; then read -r -a ports <"$file" || true; fi
  local p=${ports[$(($2 - 1))]:-0}
  if is_uint "$p"; then echo "$p"; else echo 0; fi
}

# port_or_recorded CONFIGURED NAME FIELD: CONFIGURED, or when it is 0 (any
# free port) the port NAME recorded.
port_or_recorded() {
  if (($1 != 0)); then echo "$1"; else recorded_port "$2" "$3"; fi
}

# based PORT K: node K's port from base PORT (0 stays 0: chosen at start).
based() { if (($1 == 0)); then echo 0; else echo $(($1 + $2 - 1)); fi; }

node_tcp_port() { port_or_recorded "$(based "$GOSSIP_BASE_PORT" "$1")" "node-$1" 2; }
node_http_port() { port_or_recorded "$(based "$HTTP_BASE_PORT" "$1")" "node-$1" 1; }
node_resp_port() { resp_port "$(based_resp "$RESP_BASE_PORT" "$1")" "node-$1"; }
discovery_port() { port_or_recorded "$DISCOVERY_PORT" discovery 1; }
gateway_port() { port_or_recorded "$GATEWAY_PORT" gateway 1; }
gateway_resp_port() { resp_port "$GATEWAY_RESP_PORT" gateway; }

# based_resp BASE K: node K's RESP port from BASE (0 off and any stay as they are).
based_resp() { if [[ $1 == any ]]; then echo any; else based "$1" "$2"; fi; }

# resp_port CONFIGURED NAME: the RESP port of NAME: CONFIGURED (0 = off), or
# for `any` the port NAME recorded ("any" while none is recorded).
resp_port() {
  if [[ $1 != any ]]; then
    echo "$1"
    return
  fi
  local p
  p=$(recorded_port "$2" 3)
  if ((p == 0)); then echo any; else echo "$p"; fi
}
node_url() { echo "http://$HOST:$(node_http_port "$1")"; }
discovery_url() { echo "http://$HOST:$(discovery_port)"; }
gateway_url() { echo "http://$HOST:$(gateway_port)"; }

# chooses_ports NAME: true when some port of component NAME is chosen at start (configured 0).
chooses_ports() {
  case $1 in
    discovery) ((DISCOVERY_PORT == 0)) ;;
    gateway) ((GATEWAY_PORT == 0)) || [[ $GATEWAY_RESP_PORT == any ]] ;;
    *) ((GOSSIP_BASE_PORT == 0 || HTTP_BASE_PORT == 0)) || [[ $RESP_BASE_PORT == any ]] ;;
  esac
}

# learn_ports NAME: when component NAME chooses its ports and none are
# recorded yet, record those its log says it bound. Fails while unknown.
learn_ports() {
  chooses_ports "$1" || return 0
  [[ ! -s $(ports_file "$1") ]] || return 0
  local ports
  ports=$(node "$PROBE" listening "$LOG_DIR/$1.log" "$1" 2>/dev/null) || return 1
  echo "$ports" >"$(ports_file "$1")"
}

# cluster_size: the number of nodes of the cluster last started in RUN_DIR
# (0 when none was started).
cluster_size() {
  local n=0
  if [[ -r "$LOG_DIR/cluster.size" ]]; then
    n=$(<"$LOG_DIR/cluster.size")
  fi
  if is_uint "$n"; then echo "$n"; else echo 0; fi
}

# cluster_components N: the components of an N-node cluster in start order
# (discovery, node-1 … node-N, gateway), one a line.
cluster_components() {
  local k
  echo discovery
  for ((k = 1; k <= $1; k++)); do echo "node-$k"; done
  echo gateway
}

# package_of NAME: the workspace package whose bin runs component NAME.
package_of() {
  case $1 in
    discovery) echo discovery ;;
    gateway) echo gateway ;;
    *) echo node ;;
  esac
}

# bin_script NAME: the bundled bin (npm run build) that runs component NAME.
bin_script() {
  local pkg
  pkg=$(package_of "$1")
  echo "$TALLY_ROOT/packages/$pkg/dist/tally-$pkg.js"
}

# component_url NAME: base HTTP URL of a component (discovery, gateway, node-k).
component_url() {
  case $1 in
    discovery) discovery_url ;;
    gateway) gateway_url ;;
    node-*) node_url "${1#node-}" ;;
  esac
}

pid_file() { echo "$LOG_DIR/$1.pid"; }

# is_our_process PID NAME: true when PID is alive and is the tally bin we
# started for component NAME (its command line names our bundled bin, and for a
# node its --id), so a recycled pid is never signalled by mistake.
is_our_process() {
  local pid=$1 name=$2 cmd
  if [[ -r /proc/$pid/cmdline ]]; then
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    # A zombie has an empty command line: it is gone for our purposes.
    [[ -n $cmd ]] || return 1
  else
    cmd=$(ps -ww -p "$pid" -o args= 2>/dev/null) || return 1
  fi
  [[ $cmd == *"$(bin_script "$name")"* ]] || return 1
  case $name in
    node-*) [[ $cmd == *"--id $name "* || $cmd == *"--id $name" ]] ;;
    *) return 0 ;;
  esac
}

# pid_alive PID: true while PID exists and is not a zombie.
pid_alive() {
  if [[ -r /proc/$1/stat ]]; then
    local stat
    stat=$(<"/proc/$1/stat") 2>/dev/null || return 1
    stat=${stat##*) }
    [[ ${stat:0:1} != Z ]]
  else
    kill -0 "$1" 2>/dev/null
  fi
}

# running_pid NAME: print the pid of component NAME when it is running (ours).
running_pid() {
  local file pid
  file=$(pid_file "$1")
  [[ -r $file ]] || return 1
  pid=$(<"$file")
  is_uint "$pid" || return 1
  is_our_process "$pid" "$1" || return 1
  echo "$pid"
}

# http_request METHOD URL [JSON]: sets HTTP_STATUS ("000" when unreachable)
# and HTTP_BODY. Uses curl when present, else Node's fetch. Never fails.
http_request() {
  local method=$1 url=$2 body=${3-} out
  if command -v curl >/dev/null 2>&1; then
    local args=(-sS -X "$method" --max-time "$HTTP_TIMEOUT" --connect-timeout 1 -w '\n%{http_code}')
    if [[ -n $body ]]; then args+=(-H 'content-type: application/json' --data-binary "$body"); fi
    out=$(curl "${args[@]}" "$url" 2>/dev/null) || true
  else
    out=$(node -e '
      const [method, url, body, secs] = process.argv.slice(1)
      const init = { method, signal: AbortSignal.timeout(Number(secs) * 1000) }
      if (body) { init.body = body; init.headers = { "content-type": "application/json" } }
      fetch(url, init).then(async (r) => process.stdout.write((await r.text()) + "\n" + r.status),
        () => process.stdout.write("\n000"))' "$method" "$url" "$body" "$HTTP_TIMEOUT" 2>/dev/null) || true
  fi
  if [[ $out == *$'\n'* ]]; then
    HTTP_STATUS=${out##*$'\n'}
    HTTP_BODY=${out%$'\n'*}
  else
    HTTP_STATUS=${out:-000}
    HTTP_BODY=''
  fi
  [[ $HTTP_STATUS =~ ^[0-9]{3}$ ]] || HTTP_STATUS=000
  return 0
}

# JSON is read by scripts/json-probe.mjs (Node.js is needed anyway), never by
# shell patterns, which break on an escaped quote inside a message.
PROBE="$TALLY_ROOT/scripts/json-probe.mjs"

# json_fields JSON FIELD...: set FIELDS to the value of each dotted FIELD of
# JSON ("-" when missing). Fails when JSON is not JSON.
json_fields() {
  local body=$1 line
  shift
  line=$(printf '%s' "$body" | node "$PROBE" fields "$@" 2>/dev/null) || return 1
  IFS=$'\t' read -r -a FIELDS <<<"$line"
}

# is_int STRING: an integer, possibly negative (a bigint may come as a string).
is_int() {
  [[ $1 =~ ^-?[0-9]+$ ]]
}

# json_value JSON: print the "value" field of a {name, value} reply (an
# integer, possibly negative; a bigint sent as a string is printed as is).
json_value() {
  json_fields "$1" value && is_int "${FIELDS[0]}" || return 1
  echo "${FIELDS[0]}"
}

# json_error JSON: print "CODE: message" from a Tally error body, else the
# start of the body.
json_error() {
  if json_fields "$1" error.code error.message && [[ ${FIELDS[0]} != - || ${FIELDS[1]} != - ]]; then
    echo "${FIELDS[0]}: ${FIELDS[1]}"
  else
    echo "${1:0:200}"
  fi
}

# probe_get TIMEOUT_MS URL FIELDS [URL FIELDS]...: GET every URL at once (see
# scripts/json-probe.mjs); sets PROBED to one line per URL, in order:
# "STATUS<tab>field<tab>…" with STATUS 000 (unreachable) or timeout when no
# answer came.
probe_get() {
  PROBED=()
  local out
  out=$(node "$PROBE" get "$@" 2>/dev/null) || true
  if [[ -n $out ]]; then mapfile -t PROBED <<<"$out"; fi
}
