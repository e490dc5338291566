#!/usr/bin/env bash
# Start every SignalFlow process in the foreground of one terminal; Ctrl-C stops them all.
#
#   ./scripts/run_stack.sh demo   offline: replays the bundled corpus (demo/corpus) through the real pipeline
#   ./scripts/run_stack.sh live   the live sources (Hacker News and Bluesky need no credentials; Reddit and
#                                 YouTube when .env has them)
#
# Idempotent set-up first (venv, services, migrations, a demo superuser), then: web (Daphne), ingest,
# bridge, gpu and cpu workers, beat, flower. Each process runs in its own process group with its log
# under var/log/; on SIGINT/SIGTERM every group gets SIGTERM, then SIGKILL after STACK_STOP_TIMEOUT_S.
# Knobs (environment): WEB_PORT (8000), FLOWER_PORT (5555), METRICS_PORT_BASE (9101), DEMO_REPLAY_SPEED (300),
# DEMO_REPLAY_LOOP (1), DEMO_LOOP_SPEED (30), CPU_CONCURRENCY (2; demo 1), DEMO_USER (demo), DEMO_PASSWORD (generated once, kept in var/demo-credentials), STACK_STOP_TIMEOUT_S (20),
# STACK_EXIT_AFTER_S (unset: run until stopped), STACK_LOG_DIR (var/log). docs/demo.md describes the whole thing.
set -euo pipefail

MODE="${1:-}"
case "$MODE" in
  demo|live) ;;
  *) echo "usage: $0 demo|live" >&2; exit 2 ;;
esac

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
PY="$ROOT/.venv/bin/python"
CELERY="$ROOT/.venv/bin/celery"
LOG_DIR="${STACK_LOG_DIR:-$ROOT/var/log}"
mkdir -p "$LOG_DIR"

log() { printf '[stack] %s\n' "$*"; }

# ---------------------------------------------------------------- environment
if [ "$MODE" = "live" ] && [ -f "$ROOT/.env" ]; then
  # Per-source credentials (REDDIT_*, YOUTUBE_*) and LLM keys for the live run.
  set -a; . "$ROOT/.env"; set +a
  log "loaded .env"
fi
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-signalflow.settings.local}"
export PYTHONUNBUFFERED=1
WEB_PORT="${WEB_PORT:-8000}"
RUN_DIR="$ROOT/var/run/stack-$WEB_PORT"  # PID files, one directory per stack (keyed by its web port)
mkdir -p "$RUN_DIR"
FLOWER_PORT="${FLOWER_PORT:-5555}"
METRICS_PORT_BASE="${METRICS_PORT_BASE:-9101}"
export INGEST_METRICS_PORT="${INGEST_METRICS_PORT:-$METRICS_PORT_BASE}"
BRIDGE_METRICS_PORT=$((METRICS_PORT_BASE + 1))
GPU_METRICS_PORT=$((METRICS_PORT_BASE + 2))
CPU_METRICS_PORT=$((METRICS_PORT_BASE + 3))
export DJANGO_ALLOWED_HOSTS="${DJANGO_ALLOWED_HOSTS:-localhost,127.0.0.1,[::1]}"

if [ "$MODE" = "demo" ]; then
  # Offline and fast: jobs every few seconds instead of minutes, short API caches, the extractive
  # summariser, and no model hub. Comments fall back to VADER unless SIGNALFLOW_SENTIMENT_MODEL
  # names a local transformer directory (the default id would need a download).
  export SIGNALFLOW_AGGREGATE_EVERY_S="${SIGNALFLOW_AGGREGATE_EVERY_S:-5}"
  export SIGNALFLOW_DIVERGENCE_EVERY_S="${SIGNALFLOW_DIVERGENCE_EVERY_S:-10}"
  export SIGNALFLOW_SUMMARY_EVERY_S="${SIGNALFLOW_SUMMARY_EVERY_S:-15}"
  export SIGNALFLOW_SUMMARY_MIN_SIGNALS="${SIGNALFLOW_SUMMARY_MIN_SIGNALS:-5}"
  export SIGNALFLOW_LLM_PROVIDER=extractive
  export SIGNALFLOW_API_CACHE_TRENDING_S="${SIGNALFLOW_API_CACHE_TRENDING_S:-10}"
  export SIGNALFLOW_API_CACHE_PULSE_S="${SIGNALFLOW_API_CACHE_PULSE_S:-10}"
  export SIGNALFLOW_API_CACHE_DIVERGENCE_S="${SIGNALFLOW_API_CACHE_DIVERGENCE_S:-10}"
  export SIGNALFLOW_API_CACHE_TOTALS_S="${SIGNALFLOW_API_CACHE_TOTALS_S:-10}"
  export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
  # lingua's high-accuracy models take ~0.5 GB and tens of seconds to load on a busy 2-core
  # machine, which would hold back the first stored batch; the corpus is English (Bluesky tags it).
  export SIGNALFLOW_LANGUAGE_ACCURACY="${SIGNALFLOW_LANGUAGE_ACCURACY:-low}"
  if [ -z "${SIGNALFLOW_SENTIMENT_MODEL:-}" ] || [ ! -d "${SIGNALFLOW_SENTIMENT_MODEL}" ]; then
    export SIGNALFLOW_SENTIMENT_MODEL="$ROOT/var/models/sentiment"
  fi
  [ -d "$SIGNALFLOW_SENTIMENT_MODEL" ] \
    && log "sentiment: comments use the transformer in $SIGNALFLOW_SENTIMENT_MODEL" \
    || log "sentiment: no local transformer at $SIGNALFLOW_SENTIMENT_MODEL: comments fall back to VADER (documented)"
  DEMO_REPLAY_SPEED="${DEMO_REPLAY_SPEED:-300}"
  # One cpu worker process: the corpus is small, and on a 2-core machine a second process loading
  # its own spaCy and language models only delays the first results.
  CPU_CONCURRENCY="${CPU_CONCURRENCY:-1}"
  if ! ls "$ROOT"/demo/corpus/*/ >/dev/null 2>&1; then
    echo "[stack] demo/corpus is missing: run .venv/bin/python scripts/build_demo_corpus.py" >&2
    exit 2
  fi
fi

# ---------------------------------------------------------------- set-up (idempotent)
[ -x "$PY" ] || make -C "$ROOT" install
"$ROOT/scripts/services.sh" up
DEMO_USER="${DEMO_USER:-demo}"
CREDENTIALS="$ROOT/var/demo-credentials"
if [ -z "${DEMO_PASSWORD:-}" ]; then
  if [ -s "$CREDENTIALS" ]; then
    DEMO_PASSWORD="$(cat "$CREDENTIALS")"
  else
    DEMO_PASSWORD="$("$PY" -c 'import secrets; print(secrets.token_urlsafe(12))')"
    (umask 077; printf '%s\n' "$DEMO_PASSWORD" >"$CREDENTIALS")
  fi
fi
# One Django start-up for both: migrations (a no-op after `make migrate`) and the demo superuser.
DEMO_USER="$DEMO_USER" DEMO_PASSWORD="$DEMO_PASSWORD" "$PY" manage.py shell -v 0 -c '
import os
from django.contrib.auth import get_user_model
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
User = get_user_model()
user, created = User.objects.get_or_create(username=os.environ["DEMO_USER"], defaults={"email": "demo@localhost"})
user.is_staff = user.is_superuser = user.is_active = True
user.set_password(os.environ["DEMO_PASSWORD"])
user.save()
print(("created" if created else "updated") + " superuser " + user.username)
' | sed 's/^/[stack] /'

# ---------------------------------------------------------------- processes
declare -a NAMES=() PIDS=()
STOPPING=0

start() {  # start NAME COMMAND...: own session (process group), output to var/log/NAME.log
  local name="$1"; shift
  setsid "$@" >>"$LOG_DIR/$name.log" 2>&1 </dev/null &
  local pid=$!
  NAMES+=("$name"); PIDS+=("$pid")
  echo "$pid" >"$RUN_DIR/$name.pid"
  log "started $name (pid $pid, log $LOG_DIR/$name.log)"
}

alive() { kill -0 "$1" 2>/dev/null; }

stop_all() {
  [ "$STOPPING" = 1 ] && return
  STOPPING=1
  trap '' INT TERM
  log "stopping ${#PIDS[@]} processes…"
  local i
  for i in "${!PIDS[@]}"; do
    alive "${PIDS[$i]}" && kill -TERM -- "-${PIDS[$i]}" 2>/dev/null || true
  done
  local deadline=$((SECONDS + ${STACK_STOP_TIMEOUT_S:-20}))
  for i in "${!PIDS[@]}"; do
    while alive "${PIDS[$i]}" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
    if alive "${PIDS[$i]}"; then
      log "${NAMES[$i]} did not stop in time: SIGKILL"
      kill -KILL -- "-${PIDS[$i]}" 2>/dev/null || true
    fi
    wait "${PIDS[$i]}" 2>/dev/null || true
    # Children that left the group (none expected) are caught by the group kill above.
    rm -f "$RUN_DIR/${NAMES[$i]}.pid"
  done
  log "all stopped"
}
trap 'stop_all; exit 0' INT TERM
trap 'stop_all' EXIT

# Daphne serves HTTP and WebSockets; through manage.py runserver (Daphne's own command) it also
# serves the admin's static files in development, which a bare `daphne` does not.
start web env DATABASE_POOL=true "$PY" manage.py runserver --noreload "127.0.0.1:$WEB_PORT"
if [ "$MODE" = "demo" ]; then
  # First pass fast, so the dashboard fills within two minutes; the supervisor below then keeps
  # the live feed moving with a slow looping replay (DEMO_REPLAY_LOOP=0: replay once).
  start ingest "$PY" manage.py run_ingest --replay "$ROOT/demo/corpus" --rebase-time --speed "$DEMO_REPLAY_SPEED"
else
  start ingest "$PY" manage.py run_ingest
fi
start bridge "$PY" manage.py run_bridge --metrics-port "$BRIDGE_METRICS_PORT"
# Queue names as signalflow/queues.py spells them (SIGNALFLOW_QUEUE_PREFIX is empty outside tests).
Q="${SIGNALFLOW_QUEUE_PREFIX:-}"
start worker-gpu env "SIGNALFLOW_WORKER_METRICS_PORT=$GPU_METRICS_PORT" \
  "$CELERY" -A celery_app worker -Q "${Q}gpu" --pool solo -n "gpu@%h" --loglevel INFO
# The cpu worker also takes the default queue: the intelligence and alert jobs beat schedules.
start worker-cpu env "SIGNALFLOW_WORKER_METRICS_PORT=$CPU_METRICS_PORT" \
  "$CELERY" -A celery_app worker -Q "${Q}cpu,${Q}default" -n "cpu@%h" --concurrency "${CPU_CONCURRENCY:-2}" --loglevel INFO
start beat "$CELERY" -A celery_app beat --loglevel INFO
start flower "$CELERY" -A celery_app flower --address=127.0.0.1 --port="$FLOWER_PORT"

# ---------------------------------------------------------------- banner
for _ in $(seq 1 120); do
  (exec 3<>"/dev/tcp/127.0.0.1/$WEB_PORT") 2>/dev/null && break
  sleep 0.5
done
cat <<EOF

  SignalFlow is running ($MODE). Ctrl-C stops everything.

  Dashboard   http://127.0.0.1:$WEB_PORT/dashboard/
  API docs    http://127.0.0.1:$WEB_PORT/api/docs/
  Admin       http://127.0.0.1:$WEB_PORT/admin/
  Flower      http://127.0.0.1:$FLOWER_PORT/
  Metrics     http://127.0.0.1:$WEB_PORT/metrics  ingest :$INGEST_METRICS_PORT  bridge :$BRIDGE_METRICS_PORT  workers :$GPU_METRICS_PORT :$CPU_METRICS_PORT
  Login       $DEMO_USER / $DEMO_PASSWORD
  Logs        $LOG_DIR/{web,ingest,bridge,worker-gpu,worker-cpu,beat,flower}.log

EOF
[ "$MODE" = "demo" ] && log "replaying demo/corpus at ${DEMO_REPLAY_SPEED}x: trending topics, divergence and summaries appear within 2 minutes"

# ---------------------------------------------------------------- supervise
# Report a process that exits (the demo's replay exits 0 when the corpus is done); keep the rest running.
declare -A REPORTED=()
started_at=$SECONDS
while true; do
  for i in "${!PIDS[@]}"; do
    if [ -z "${REPORTED[$i]:-}" ] && ! alive "${PIDS[$i]}"; then
      rc=0; wait "${PIDS[$i]}" 2>/dev/null || rc=$?
      REPORTED[$i]=1
      if [ "${NAMES[$i]}" = "ingest" ] && [ "$MODE" = "demo" ] && [ "$rc" = 0 ]; then
        log "ingest: replay finished ($(grep -ho 'replay done:.*' "$LOG_DIR/ingest.log" | tail -1))"
        if [ "${DEMO_REPLAY_LOOP:-1}" = 1 ]; then
          # The same ids come back with a newer observation time: rows are refreshed (never
          # re-scored) and published again, at a pace a person can read.
          start ingest-loop "$PY" manage.py run_ingest --replay "$ROOT/demo/corpus" --rebase-time --loop \
            --speed "${DEMO_LOOP_SPEED:-30}"
        fi
      else
        log "WARNING: ${NAMES[$i]} exited with status $rc; see $LOG_DIR/${NAMES[$i]}.log"
      fi
    fi
  done
  if [ -n "${STACK_EXIT_AFTER_S:-}" ] && [ $((SECONDS - started_at)) -ge "$STACK_EXIT_AFTER_S" ]; then
    stop_all; exit 0
  fi
  sleep 1 &
  wait $! || true
done
