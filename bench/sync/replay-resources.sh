#!/usr/bin/env bash
# Replays the users of an L full sync into `resources`, BATCH rows a statement (default 5,000, the
# worker's batch in a full pass) in external-id order,
# and prints the CPU seconds of the one Postgres backend that did it, for three ways of keeping
# `resource_gram_counts` (migrations 0018/0019), alternating:
#   trigger  — the INSERT trigger aggregates each statement's grams (what other writers get);
#   writer   — the trigger skips the statement (warden.grams_counted) and the batch's counts, computed
#              beforehand outside the measurement, are upserted in the same transaction (what the sync
#              worker's first write does);
#   none     — the trigger skips and nothing is counted (the floor).
#
#   npm run bench:sync -- --size L --no-baseline --no-floor --keep-db     (prints the kept database)
#   bench/sync/replay-resources.sh <kept database> [pairs, default 2]
#
# Works on copies of the kept database (CREATE DATABASE … TEMPLATE), dropped at the end. Needs a
# superuser (pg_read_file of /proc/self/stat).
set -euo pipefail
SRC_DB=${1:?usage: replay-resources.sh <kept database> [pairs]}
PAIRS=${2:-2}
BATCH=${BATCH:-5000}
PSQL=(psql -h "${PGHOST:-127.0.0.1}" -U "${PGUSER:-postgres}" -v ON_ERROR_STOP=1 -Aqt)
WORK=$(mktemp -d)
DBS=()
trap 'for d in "${DBS[@]}"; do "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $d" >/dev/null 2>&1; done; rm -rf "$WORK"' EXIT
# shellcheck source=backend-cpu.sh
source "$(dirname "$0")/backend-cpu.sh"

run() { # $1: mode
  local db="replay_resources_$$_${#DBS[@]}" rows cpu
  DBS+=("$db")
  "${PSQL[@]}" -d postgres -c "CREATE DATABASE $db TEMPLATE $SRC_DB"
  "${PSQL[@]}" -d "$db" -c "CREATE UNLOGGED TABLE src AS SELECT row_number() OVER (ORDER BY external_id) rn, * FROM resources WHERE type = 'USER'" \
    -c "CREATE INDEX ON src (rn)" -c "VACUUM ANALYZE src" \
    -c "CREATE UNLOGGED TABLE cnt AS SELECT (rn - 1) / $BATCH AS b, connector_id, type, g AS gram, count(*) AS n FROM src, unnest(search_grams) g GROUP BY 1, 2, 3, 4" \
    -c "CREATE INDEX ON cnt (b)" -c "VACUUM ANALYZE cnt" \
    -c "DELETE FROM resources WHERE type = 'USER'" -c "DELETE FROM resource_gram_counts" -c "VACUUM resources" -c "CHECKPOINT"
  rows=$("${PSQL[@]}" -d "$db" -c "SELECT count(*) FROM src")
  {
    echo "$BACKEND_CPU"
    for ((i = 0; i < rows; i += BATCH)); do
      echo "BEGIN; SET LOCAL synchronous_commit = off;"
      [ "$1" != trigger ] && echo "SELECT set_config('warden.grams_counted', 'on', true);"
      echo "INSERT INTO resources (id, connector_id, type, external_id, display_name, profile, search_text, search_grams, last_seen_run_id)
        SELECT id, connector_id, type, external_id, display_name, profile, search_text, search_grams, last_seen_run_id
        FROM src WHERE rn > $i AND rn <= $((i + BATCH)) ORDER BY external_id;"
      [ "$1" = writer ] && echo "INSERT INTO resource_gram_counts AS c (connector_id, type, gram, n)
        SELECT connector_id, type, gram, n FROM cnt WHERE b = $((i / BATCH)) ORDER BY 1, 2, 3
        ON CONFLICT (connector_id, type, gram) DO UPDATE SET n = c.n + excluded.n;"
      echo "COMMIT;"
    done
    echo "$BACKEND_CPU"
  } >"$WORK/$1.sql"
  cpu=$(backend_cpu_seconds "$db" "$WORK/$1.sql")
  printf '%-8s %6s CPU-s   (%s users)   load %s\n' "$1" "$cpu" "$rows" "$(cut -d' ' -f1 /proc/loadavg)"
  "${PSQL[@]}" -d postgres -c "DROP DATABASE $db"
}
echo "replaying the users of $SRC_DB, $BATCH a statement, $PAIRS round(s)"
for ((p = 0; p < PAIRS; p++)); do
  run trigger
  run writer
  run none
done
