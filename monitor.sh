#!/usr/bin/env bash
# monitor.sh [interval=1] [--once]: a refreshing table of every node of the
# local cluster (value, live peers, status), whether they have converged and
# how long ago the values last changed. q or Ctrl-C quits. Reads the same
# port map and TALLY_* overrides as run-cluster.sh (scripts/cluster-env.sh).
# The same picture with history and charts is the gateway's dashboard (its
# URL is printed below the table); every component serves Prometheus
# metrics at GET /metrics (a node's JSON counters are at GET /stats).
set -euo pipefail
cd -P "$(dirname "${BASH_SOURCE[0]}")"
TALLY_ROOT=$PWD
# shellcheck source=scripts/cluster-env.sh
. scripts/cluster-env.sh

interval=1 once=0
for arg in "$@"; do
  case $arg in
    --once) once=1 ;;
    -h | --help)
      echo "Usage: ./monitor.sh [interval-seconds=1] [--once]   (q or Ctrl-C quits)"
      exit 0
      ;;
    *)
      [[ $arg =~ ^([0-9]{1,4})(\.[0-9]{1,3})?$ && ! $arg =~ ^0+(\.0*)?$ ]] ||
        die 2 "interval must be seconds > 0 (e.g. 1 or 0.5), got '$arg'"
      interval=$arg
      ;;
  esac
done

now_ms() {
  if [[ -n ${EPOCHREALTIME:-} ]]; then
    local t=${EPOCHREALTIME/[.,]/}
    echo $((10#$t / 1000))
  else
    echo $(($(date +%s) * 1000))
  fi
}

interactive=0
if [[ -t 0 && -t 1 && $once == 0 ]]; then interactive=1; fi

restore() {
  if ((interactive)); then
    stty echo icanon 2>/dev/null || true
    printf '\e[?25h'
  fi
}
trap restore EXIT
trap 'exit 0' INT TERM
if ((interactive)); then
  stty -echo 2>/dev/null || true
  printf '\e[?25l'
fi

last_values='' last_change=$(now_ms)

# component_state NAME: "up" when its /health answers 200, else "DOWN".
component_state() {
  http_request GET "$(component_url "$1")/health"
  if [[ $HTTP_STATUS == 200 ]]; then echo "${C_OK}up${C_OFF}"; else echo "${C_BAD}DOWN${C_OFF}"; fi
}

frame() {
  local n k v live status out='' values='' up=0 min='' max='' agree=1 common=''
  n=$(cluster_size)
  out+="${C_BOLD}Tally cluster monitor${C_OFF}  $(date '+%Y-%m-%d %H:%M:%S')  refresh ${interval}s"
  ((interactive)) && out+=", q to quit"
  out+=$'\n\n'
  out+=$(printf '%s%-9s %-24s %18s  %-10s %s%s' "$C_BOLD" NODE HTTP VALUE 'LIVE PEERS' STATUS "$C_OFF")$'\n'
  for ((k = 1; k <= n; k++)); do
    http_request GET "$(node_url "$k")/health"
    if [[ $HTTP_STATUS == 200 ]]; then
      live='?' status=ok
      if [[ $HTTP_BODY =~ \"live\"[[:space:]]*:[[:space:]]*([0-9]+) ]]; then live=${BASH_REMATCH[1]}; fi
      if [[ $HTTP_BODY =~ \"status\"[[:space:]]*:[[:space:]]*\"([^\"]*)\" ]]; then status=${BASH_REMATCH[1]}; fi
      if v=$(node_value "$k"); then
        up=$((up + 1))
        if [[ -z $min ]] || ((v < min)); then min=$v; fi
        if [[ -z $max ]] || ((v > max)); then max=$v; fi
        if [[ -z $common ]]; then common=$v; elif [[ $v != "$common" ]]; then agree=0; fi
      else
        v='?'
      fi
      out+=$(printf '%-9s %-24s %18s  %-10s %s%s%s' "node-$k" "$(node_url "$k")" "$v" "$live" "$C_OK" "$status" "$C_OFF")$'\n'
    else
      v=down
      out+=$(printf '%-9s %-24s %18s  %-10s %s%s%s' "node-$k" "$(node_url "$k")" '—' '—' "$C_BAD" DOWN "$C_OFF")$'\n'
    fi
    values+="$v,"
  done
  local now
  now=$(now_ms)
  if [[ $values != "$last_values" ]]; then
    last_values=$values
    last_change=$now
  fi
  out+=$'\n'
  if ((n == 0)); then
    out+="no cluster started in $RUN_DIR (./run-cluster.sh start)"$'\n'
  elif ((up == 0)); then
    out+="${C_BAD}✗ NO NODE ANSWERS${C_OFF}"$'\n'
  elif ((agree)); then
    out+="${C_OK}✓ CONVERGED${C_OFF} on $common ($up/$n nodes up)"$'\n'
  else
    out+="${C_BAD}✗ NOT CONVERGED${C_OFF} (spread $((max - min)), values $min … $max; $up/$n nodes up)"$'\n'
  fi
  local since=$((now - last_change))
  out+="last change $((since / 1000)).$(((since % 1000) / 100))s ago"
  out+="   discovery $(component_state discovery)   gateway $(component_state gateway)"$'\n'
  out+="${C_DIM}dashboard $(gateway_url)/   metrics: GET /metrics on every component${C_OFF}"$'\n'
  if ((interactive)); then printf '\e[H\e[2J%s' "$out"; else printf '%s\n' "$out"; fi
}

while :; do
  frame
  ((once)) && break
  if ((interactive)); then
    key=''
    IFS= read -rsn1 -t "$interval" key || true
    [[ $key == q || $key == Q ]] && break
  else
    sleep "$interval"
  fi
done
