#!/usr/bin/env bash
# monitor.sh [interval=1] [--once]: a refreshing table of every node of the
# local cluster (value, live peers, status), whether they have converged and
# how long ago the values last changed. q or Ctrl-C quits. Reads the same
# port map and TALLY_* overrides as run-cluster.sh (scripts/cluster-env.sh).
# The same picture with history and charts is the gateway's dashboard (its
# URL is printed below the table); every component serves Prometheus
# metrics at GET /metrics (a node's JSON counters are at GET /stats).
set -euo pipefail
# Run from the repository even when called through a symlink: follow the
# links by hand, since readlink -f is not everywhere.
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

# to_ms SECONDS: "1", "0.5" or "2.25" as whole milliseconds.
to_ms() {
  local whole=${1%%.*} frac=000
  if [[ $1 == *.* ]]; then frac=${1#*.}000; fi
  echo $((10#$whole * 1000 + 10#${frac:0:3}))
}

interval_ms=$(to_ms "$interval")
# Each frame asks every component at once and waits at most this long for an
# answer, so that a dead or hanging node cannot stretch the refresh interval.
# One frame (--once) can afford the full HTTP timeout.
if ((once)); then
  probe_ms=$((HTTP_TIMEOUT * 1000))
else
  probe_ms=$((interval_ms * 6 / 10))
  ((probe_ms >= 200)) || probe_ms=200
  ((probe_ms <= HTTP_TIMEOUT * 1000)) || probe_ms=$((HTTP_TIMEOUT * 1000))
fi

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

started=$(now_ms) last_values='' last_change=''

# state_of STATUS: how a component's /health answer reads ("up" on 200).
state_of() {
  case $1 in
    200) echo "${C_OK}up${C_OFF}" ;;
    timeout) echo "${C_BAD}NO ANSWER${C_OFF}" ;;
    *) echo "${C_BAD}DOWN${C_OFF}" ;;
  esac
}

# A dash cell: printf pads by bytes, and "—" is 3 bytes for 1 column.
DASH='—'
dash_right() { printf '%*s%s' $(($1 - 1)) '' "$DASH"; }
dash_left() { printf '%s%*s' "$DASH" $(($1 - 1)) ''; }

frame() {
  local n k v live status out='' values='' up=0 min='' max='' agree=1 common='' args=() h=() c=() i
  n=$(cluster_size)
  for ((k = 1; k <= n; k++)); do
    args+=("$(node_url "$k")/health" 'status,peers.live' "$(node_url "$k")/counter" value)
  done
  args+=("$(discovery_url)/health" '' "$(gateway_url)/health" '')
  probe_get "$probe_ms" "${args[@]}"
  out+="${C_BOLD}Tally cluster monitor${C_OFF}  $(date '+%Y-%m-%d %H:%M:%S')"
  ((once)) || out+="  refresh ${interval}s"
  ((interactive)) && out+=", q to quit"
  out+=$'\n\n'
  out+=$(printf '%s%-9s %-24s %18s  %-10s %s%s' "$C_BOLD" NODE HTTP VALUE 'LIVE PEERS' STATUS "$C_OFF")$'\n'
  for ((k = 1; k <= n; k++)); do
    i=$((2 * (k - 1)))
    IFS=$'\t' read -r -a h <<<"${PROBED[i]:-000}"
    IFS=$'\t' read -r -a c <<<"${PROBED[i + 1]:-000}"
    if [[ ${h[0]} == 200 ]]; then
      live=${h[2]:--} status=${h[1]:-ok}
      [[ $live != - ]] || live='?'
      if [[ ${c[0]} == 200 ]] && is_int "${c[1]-}"; then
        v=${c[1]}
        up=$((up + 1))
        if [[ -z $min ]] || ((v < min)); then min=$v; fi
        if [[ -z $max ]] || ((v > max)); then max=$v; fi
        if [[ -z $common ]]; then common=$v; elif [[ $v != "$common" ]]; then agree=0; fi
      else
        v='?'
      fi
      out+=$(printf '%-9s %-24s %18s  %-10s %s%s%s' "node-$k" "$(node_url "$k")" "$v" "$live" "$C_OK" "$status" "$C_OFF")$'\n'
    else
      v=down status=DOWN
      [[ ${h[0]} != timeout ]] || status='NO ANSWER'
      out+=$(printf '%-9s %-24s %s  %s %s%s%s' "node-$k" "$(node_url "$k")" "$(dash_right 18)" "$(dash_left 10)" \
        "$C_BAD" "$status" "$C_OFF")$'\n'
    fi
    values+="$v,"
  done
  local now
  now=$(now_ms)
  if [[ $values != "$last_values" ]]; then
    # The first frame is no change: it only shows where things stand.
    [[ -z $last_values ]] || last_change=$now
    last_values=$values
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
  # One frame cannot tell when the values last changed: say nothing then.
  if ((!once)); then
    local since
    if [[ -n $last_change ]]; then
      since=$((now - last_change))
      out+="last change $((since / 1000)).$(((since % 1000) / 100))s ago   "
    else
      since=$((now - started))
      out+="no change since the monitor started $((since / 1000)).$(((since % 1000) / 100))s ago   "
    fi
  fi
  local d=${PROBED[2 * n]:-000} g=${PROBED[2 * n + 1]:-000}
  out+="discovery $(state_of "${d%%$'\t'*}")   gateway $(state_of "${g%%$'\t'*}")"$'\n'
  out+="${C_DIM}dashboard $(gateway_url)/   metrics: GET /metrics on every component${C_OFF}"$'\n'
  if ((interactive)); then printf '\e[H\e[2J%s' "$out"; else printf '%s\n' "$out"; fi
}

# Frames start every interval_ms, however long drawing one took.
next=$(now_ms)
while :; do
  frame
  ((once)) && break
  next=$((next + interval_ms))
  wait_ms=$((next - $(now_ms)))
  if ((wait_ms < 0)); then
    # Running late (a slow machine): start the next frame now, on a new beat.
    next=$(now_ms)
    wait_ms=0
  fi
  wait_s=$((wait_ms / 1000)).$(printf '%03d' $((wait_ms % 1000)))
  if ((interactive)); then
    key=''
    IFS= read -rsn1 -t "$wait_s" key || true
    [[ $key == q || $key == Q ]] && break
  else
    sleep "$wait_s"
  fi
done
