# shellcheck shell=bash
# Counter commands of run-cluster.sh: inc/dec, counter, peers, consistency,
# check, simulation, client. Sourced after cluster-env.sh and
# cluster-lifecycle.sh. All work on the counter named "default".
#
#   TALLY_CONVERGE_TIMEOUT  seconds to wait for the nodes to agree (30)

CONVERGE_TIMEOUT="${TALLY_CONVERGE_TIMEOUT:-30}"
is_uint "$CONVERGE_TIMEOUT" || die 2 "TALLY_CONVERGE_TIMEOUT must be whole seconds, got '$CONVERGE_TIMEOUT'"
# Largest amount the nodes accept: 2^53-1 (Number.MAX_SAFE_INTEGER).
MAX_AMOUNT=9007199254740991

# parse_node K: validate a node number against the running cluster's size.
# Exit 2 for a malformed or out-of-range K, 1 when no cluster was started.
parse_node() {
  [[ $1 =~ ^[1-9][0-9]{0,3}$ ]] || die 2 "node must be a number k >= 1, got '$1'"
  local n
  n=$(cluster_size)
  ((n > 0)) || die 1 "no cluster has been started in $RUN_DIR (./run-cluster.sh start)"
  (($1 <= n)) || die 2 "node $1 does not exist: the cluster has nodes 1-$n"
  echo "$1"
}

# parse_amount A: a positive safe integer, else exit 2.
parse_amount() {
  if [[ ! $1 =~ ^[1-9][0-9]{0,15}$ ]] || (($1 > MAX_AMOUNT)); then
    die 2 "amount must be a whole number from 1 to $MAX_AMOUNT, got '$1'"
  fi
  echo "$1"
}

# live_nodes: the numbers of the nodes whose process is running, one a line.
live_nodes() {
  local n k
  n=$(cluster_size)
  for ((k = 1; k <= n; k++)); do
    if running_pid "node-$k" >/dev/null; then echo "$k"; fi
  done
}

# require_running: exit 3 ("nothing running", as status) unless a node of
# the recorded cluster runs, so that waiting commands fail at once.
require_running() {
  if (($(cluster_size) == 0)) || [[ -z $(live_nodes) ]]; then
    die 3 "nothing running in $RUN_DIR (./run-cluster.sh start)"
  fi
}

# require_gateway: the gateway's URL; exit 1 saying so when it is not running.
require_gateway() {
  (($(cluster_size) > 0)) || die 1 "no cluster has been started in $RUN_DIR (./run-cluster.sh start)"
  running_pid gateway >/dev/null ||
    die 1 "the gateway is down ($(gateway_url)): ./run-cluster.sh restart gateway (or start) brings it back; cnt k reads node k"
  gateway_url
}

# pick_live_node: a random running node, or exit 1 when none is.
pick_live_node() {
  local nodes=()
  while IFS= read -r k; do nodes+=("$k"); done < <(live_nodes)
  ((${#nodes[@]})) || die 1 "no node is running (./run-cluster.sh start)"
  echo "${nodes[RANDOM % ${#nodes[@]}]}"
}

# node_of_arg ARG: node k from ARG ("", "any" and "random" pick a live node).
node_of_arg() {
  case ${1-} in
    '' | any | random) pick_live_node ;;
    *) parse_node "$1" ;;
  esac
}

# change_on NODE OP AMOUNT: POST /OP on node NODE; sets CHANGED_VALUE on
# success, prints the reason and returns 1 otherwise.
change_on() {
  http_request POST "$(node_url "$1")/$2" "{\"amount\":$3}"
  if [[ $HTTP_STATUS == 200 ]] && CHANGED_VALUE=$(json_value "$HTTP_BODY"); then return 0; fi
  if [[ $HTTP_STATUS == 000 ]]; then
    echo "node-$1 ($(node_url "$1")) did not answer" >&2
  else
    echo "node-$1 refused ($HTTP_STATUS) $(json_error "$HTTP_BODY")" >&2
  fi
  return 1
}

cmd_change() {
  local op=$1
  shift
  (($# <= 2)) || die 2 "usage: $op [k|any] [amount]"
  local amount=1 k sign=+
  if (($# == 2)); then amount=$(parse_amount "$2"); fi
  # Validate the node argument's shape before looking at the cluster.
  case ${1-} in '' | any | random) ;; *) [[ $1 =~ ^[1-9][0-9]{0,3}$ ]] || die 2 "node must be a number k >= 1, got '$1'" ;; esac
  k=$(node_of_arg "${1-}")
  [[ $op == decrement ]] && sign=-
  change_on "$k" "$op" "$amount" || exit 1
  echo "node-$k: $sign$amount → value $CHANGED_VALUE"
}

cmd_counter() {
  (($# <= 1)) || die 2 "usage: counter [k]"
  local url who k
  if (($# == 1)); then
    k=$(parse_node "$1")
    url=$(node_url "$k") who="node-$k"
  else
    url=$(require_gateway) who=gateway
  fi
  http_request GET "$url/counter"
  local v
  if [[ $HTTP_STATUS == 200 ]] && v=$(json_value "$HTTP_BODY"); then
    echo "$who: value $v"
  elif [[ $HTTP_STATUS == 000 ]]; then
    die 1 "$who ($url) did not answer"
  else
    die 1 "$who answered $HTTP_STATUS: $(json_error "$HTTP_BODY")"
  fi
}

cmd_peers() {
  (($# <= 1)) || die 2 "usage: peers [k]"
  local k
  if (($# == 1)); then k=$(parse_node "$1"); else k=$(pick_live_node); fi
  http_request GET "$(node_url "$k")/peers"
  [[ $HTTP_STATUS == 200 ]] || die 1 "node-$k answered $HTTP_STATUS $(json_error "$HTTP_BODY")"
  echo "peers of node-$k:"
  # shellcheck disable=SC2016 # JavaScript, not shell
  node -e '
    const body = JSON.parse(process.argv[1])
    const peers = Array.isArray(body) ? body : body.peers ?? []
    const now = Date.now()
    console.log("  %s %s %s %s", "ID".padEnd(16), "GOSSIP".padEnd(22), "STATE".padEnd(8), "LAST CONTACT")
    for (const p of peers) {
      const last = typeof p.lastContact === "number" ? `${Math.max(0, now - p.lastContact)} ms ago` : String(p.lastContact ?? "-")
      console.log("  %s %s %s %s", String(p.id).padEnd(16), String(p.addr ?? "-").padEnd(22), String(p.state ?? "-").padEnd(8), last)
    }
    if (peers.length === 0) console.log("  (none)")' "$HTTP_BODY" 2>/dev/null || echo "$HTTP_BODY"
}

# collect_values: query every node at once; sets VALUES[k] (a number or
# "down"), LIVE (how many answered), AGREE (1 when every answering node has
# the same value and at least one answered), COMMON (that value) and SPREAD
# (max-min).
collect_values() {
  local n k v min='' max='' args=() f=()
  n=$(cluster_size)
  VALUES=() LIVE=0 AGREE=1 COMMON='' SPREAD=0
  for ((k = 1; k <= n; k++)); do args+=("$(node_url "$k")/counter" value); done
  PROBED=()
  if ((n > 0)); then probe_get $((HTTP_TIMEOUT * 1000)) "${args[@]}"; fi
  for ((k = 1; k <= n; k++)); do
    IFS=$'\t' read -r -a f <<<"${PROBED[k - 1]:-000}"
    v=${f[1]-}
    if [[ ${f[0]} == 200 ]] && is_int "$v"; then
      VALUES[k]=$v
      LIVE=$((LIVE + 1))
      if [[ -z $min ]] || ((v < min)); then min=$v; fi
      if [[ -z $max ]] || ((v > max)); then max=$v; fi
      if [[ -z $COMMON ]]; then COMMON=$v; elif [[ $v != "$COMMON" ]]; then AGREE=0; fi
    else
      VALUES[k]=down
    fi
  done
  ((LIVE > 0)) || AGREE=0
  if ((LIVE > 0)); then SPREAD=$((max - min)); fi
  return 0
}

# wait_converged [EXPECTED]: poll until every answering node agrees (on
# EXPECTED when given), at most CONVERGE_TIMEOUT seconds. Sets WAITED_MS.
wait_converged() {
  local start deadline
  start=$(now_ms)
  deadline=$((start + CONVERGE_TIMEOUT * 1000))
  while :; do
    collect_values
    if ((AGREE)) && [[ -z ${1-} || $COMMON == "$1" ]]; then
      WAITED_MS=$(($(now_ms) - start))
      return 0
    fi
    (($(now_ms) < deadline)) || return 1
    sleep 0.1
  done
}

print_values() {
  local n k
  n=$(cluster_size)
  for ((k = 1; k <= n; k++)); do
    if [[ ${VALUES[k]} == down ]]; then
      printf '  node-%-4s %s%s%s\n' "$k" "$C_DIM" down "$C_OFF"
    else
      printf '  node-%-4s %s\n' "$k" "${VALUES[k]}"
    fi
  done
}

cmd_consistency() {
  (($# == 0)) || die 2 "usage: consistency"
  (($(cluster_size) > 0)) || die 1 "no cluster has been started in $RUN_DIR"
  collect_values
  print_values
  if ((AGREE)); then
    echo "${C_OK}✓ consistent${C_OFF}: value $COMMON on all $LIVE live node(s)"
  elif ((LIVE == 0)); then
    echo "${C_BAD}✗ inconsistent${C_OFF}: no node answered"
    return 1
  else
    echo "${C_BAD}✗ inconsistent${C_OFF}: $LIVE live node(s) disagree (spread $SPREAD)"
    return 1
  fi
}

cmd_check() {
  (($# == 0)) || die 2 "usage: check"
  require_running
  echo "==> waiting for the nodes to agree"
  wait_converged || {
    print_values
    die 1 "✗ the nodes do not agree after ${CONVERGE_TIMEOUT}s"
  }
  local v0=$COMMON a k expected
  echo "  value $v0 on $LIVE live node(s)"
  a=$((RANDOM % 10 + 1))
  k=$(pick_live_node)
  change_on "$k" increment "$a" || die 1 "✗ increment refused"
  expected=$((v0 + a))
  echo "==> incremented node-$k by $a; waiting for every node to show $expected"
  wait_converged "$expected" || {
    print_values
    die 1 "✗ not converged on $expected after ${CONVERGE_TIMEOUT}s (another client writing?); check left the counter changed by +$a"
  }
  echo "  ${C_OK}✓${C_OFF} all $LIVE live node(s) show $expected after ${WAITED_MS} ms"
  k=$(pick_live_node)
  change_on "$k" decrement "$a" || die 1 "✗ decrement refused; check left the counter changed by +$a"
  expected=$v0
  echo "==> decremented node-$k by $a; waiting for every node to show $expected again"
  wait_converged "$expected" || {
    print_values
    die 1 "✗ not converged on $expected after ${CONVERGE_TIMEOUT}s (another client writing?)"
  }
  echo "  ${C_OK}✓${C_OFF} all $LIVE live node(s) show $expected after ${WAITED_MS} ms"
  echo "${C_OK}✓ check passed${C_OFF}; the counter is back to $v0"
}

cmd_simulation() {
  (($# <= 3)) || die 2 "usage: simulation [duration=60] [interval=2] [ops=3]"
  local duration=${1:-60} interval=${2:-2} ops=${3:-3}
  [[ $duration =~ ^[1-9][0-9]{0,5}$ ]] || die 2 "duration must be whole seconds >= 1, got '$duration'"
  [[ $interval =~ ^([0-9]{1,4})(\.[0-9]{1,3})?$ && ! $interval =~ ^0+(\.0*)?$ ]] ||
    die 2 "interval must be seconds > 0 (e.g. 2 or 0.5), got '$interval'"
  [[ $ops =~ ^[1-9][0-9]{0,3}$ ]] || die 2 "ops must be a whole number >= 1, got '$ops'"
  require_running
  wait_converged || die 1 "the nodes do not agree before the simulation starts"
  local v0=$COMMON acked=0 ok=0 failed=0 samples=0 agreed=0 stop=0 k amount op i
  local start end
  start=$(now_ms)
  end=$((start + duration * 1000))
  trap 'stop=1' INT
  echo "==> simulation: ${duration}s, $ops op(s) every ${interval}s, starting from value $v0 (Ctrl-C ends early)"
  while ((!stop && $(now_ms) < end)); do
    collect_values
    samples=$((samples + 1))
    agreed=$((agreed + AGREE))
    for ((i = 0; i < ops; i++)); do
      k=$(pick_live_node 2>/dev/null) || {
        failed=$((failed + 1))
        continue
      }
      amount=$((RANDOM % 10 + 1))
      op=increment
      ((RANDOM % 2)) && op=decrement
      if change_on "$k" "$op" "$amount" 2>/dev/null; then
        ok=$((ok + 1))
        if [[ $op == increment ]]; then acked=$((acked + amount)); else acked=$((acked - amount)); fi
      else
        failed=$((failed + 1))
      fi
    done
    local line
    printf -v line '[%3ds/%ds] ops ok %d failed %d | acknowledged sum %+d | agreeing samples %d/%d' \
      $((($(now_ms) - start) / 1000)) "$duration" "$ok" "$failed" "$acked" "$agreed" "$samples"
    if [[ -t 1 ]]; then printf '\r\e[K%s' "$line"; else echo "$line"; fi
    sleep "$interval" || true
  done
  trap - INT
  [[ -t 1 ]] && echo
  local expected=$((v0 + acked)) converged=0
  echo "==> waiting for convergence on $expected (acknowledged sum $acked from $v0)"
  wait_converged "$expected" && converged=1
  echo "acknowledged operations: $ok (failed or refused: $failed), acknowledged sum: $acked"
  print_values
  local rate=0
  ((samples > 0)) && rate=$((agreed * 1000 / samples))
  echo "consistency rate during the run: $((rate / 10)).$((rate % 10))% of $samples samples had all live nodes agreeing"
  if ((converged)); then
    echo "${C_OK}✓ converged${C_OFF} on $expected, $WAITED_MS ms after the last operation"
  else
    echo "${C_BAD}✗ not converged${C_OFF} on $expected within ${CONVERGE_TIMEOUT}s (another client writing, or a node down?)"
    return 1
  fi
}

cmd_client() {
  (($# == 0)) || die 2 "usage: client"
  local url who=gateway line amount v
  url=$(require_gateway)
  echo "Tally client on $who ($url). Type a number to add it, -n to subtract, get, help, q to quit."
  while :; do
    if ! IFS= read -r -p 'tally> ' line; then
      echo
      break
    fi
    line=${line//[[:space:]]/}
    case $line in
      q | quit | exit) break ;;
      '') continue ;;
      help | '?') echo "  5      add 5          -3     subtract 3" && echo "  get    current value  q      quit" ;;
      get | g)
        http_request GET "$url/counter"
        if [[ $HTTP_STATUS == 200 ]] && v=$(json_value "$HTTP_BODY"); then echo "value $v"; else echo "error ($HTTP_STATUS) $(json_error "$HTTP_BODY")"; fi
        ;;
      *)
        local op=increment digits=${line#+}
        if [[ $line == -* ]]; then op=decrement digits=${line#-}; fi
        if ! amount=$( (parse_amount "$digits") 2>&1); then
          echo "not understood: '$line' (a number like 5 or -3, get, help, q)"
          continue
        fi
        http_request POST "$url/$op" "{\"amount\":$amount}"
        if [[ $HTTP_STATUS == 200 ]] && v=$(json_value "$HTTP_BODY"); then echo "value $v"; else echo "error ($HTTP_STATUS) $(json_error "$HTTP_BODY")"; fi
        ;;
    esac
  done
}
