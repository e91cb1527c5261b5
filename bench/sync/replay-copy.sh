#!/usr/bin/env bash
# Replays the direct grants of an L full sync into an empty `grants`, 5,000 rows a transaction in the
# sync's insertion order, the two ways a first write can go, and prints the CPU seconds of the one
# Postgres backend that did it, alternating:
#   staging — COPY into a temporary table, then INSERT … SELECT … ORDER BY key, principal from it
#             (the merge path, and the first write before 2026-12-01 22:40);
#   direct  — COPY straight into grants (FirstWrite.direct in apps/sync-worker/src/writers/bulk.ts).
#
#   npm run bench:sync -- --size L --no-baseline --no-floor --keep-db     (prints the kept database)
#   bench/sync/replay-copy.sh <kept database> [pairs, default 2]
#
# Works on copies of the kept database (CREATE DATABASE … TEMPLATE), dropped at the end. Needs a
# superuser (pg_read_file of /proc/self/stat).
set -euo pipefail
SRC_DB=${1:?usage: replay-copy.sh <kept database> [pairs]}
PAIRS=${2:-2}
PSQL=(psql -h "${PGHOST:-127.0.0.1}" -U "${PGUSER:-postgres}" -v ON_ERROR_STOP=1 -Aqt)
WORK=$(mktemp -d)
DBS=()
trap 'for d in "${DBS[@]}"; do "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $d" >/dev/null 2>&1; done; rm -rf "$WORK"' EXIT
# shellcheck source=backend-cpu.sh
source "$(dirname "$0")/backend-cpu.sh"
RUN=00000000-0000-0000-0000-000000000001
CONNECTOR=$("${PSQL[@]}" -d "$SRC_DB" -c "SELECT connector_id FROM grants LIMIT 1")
# New time-ordered ids, as the worker sends them, in the order the sync wrote the rows.
"${PSQL[@]}" -d "$SRC_DB" -c "\copy (SELECT warden_time_ordered_uuid(), entitlement_key, principal_external_id, principal_kind, graph_assignment_id, expires_at FROM grants WHERE direct ORDER BY id) TO '$WORK/staging.tsv'"
awk -F'\t' -v OFS='\t' -v c="$CONNECTOR" -v r="$RUN" '{ print $1, c, $2, $3, $4, "t", $5, $6, r }' "$WORK/staging.tsv" >"$WORK/direct.tsv"
split -l 5000 -d -a 4 "$WORK/staging.tsv" "$WORK/s_"
split -l 5000 -d -a 4 "$WORK/direct.tsv" "$WORK/d_"
ROWS=$(wc -l <"$WORK/staging.tsv")

run() { # $1: staging | direct
  local db="replay_copy_$$_${#DBS[@]}" cpu f
  DBS+=("$db")
  "${PSQL[@]}" -d postgres -c "CREATE DATABASE $db TEMPLATE $SRC_DB"
  "${PSQL[@]}" -d "$db" -c "TRUNCATE grants" -c "CHECKPOINT"
  {
    echo "$BACKEND_CPU"
    echo "CREATE TEMP TABLE st (id uuid, key text, principal text, kind text, aid text, exp timestamptz) ON COMMIT DELETE ROWS;"
    if [ "$1" = staging ]; then
      for f in "$WORK"/s_*; do
        echo "BEGIN; SET LOCAL synchronous_commit = off;"
        echo "\\copy st FROM '$f'"
        echo "INSERT INTO grants AS g (id, connector_id, entitlement_key, principal_external_id, principal_kind, direct, graph_assignment_id, expires_at, last_seen_run_id)
          SELECT t.id, '$CONNECTOR'::uuid, t.key, t.principal, t.kind, true, t.aid, t.exp, '$RUN'::uuid FROM st t ORDER BY t.key, t.principal;"
        echo "COMMIT;"
      done
    else
      for f in "$WORK"/d_*; do
        echo "BEGIN; SET LOCAL synchronous_commit = off;"
        echo "\\copy grants (id, connector_id, entitlement_key, principal_external_id, principal_kind, direct, graph_assignment_id, expires_at, last_seen_run_id) FROM '$f'"
        echo "COMMIT;"
      done
    fi
    echo "$BACKEND_CPU"
  } >"$WORK/$1.sql"
  cpu=$(backend_cpu_seconds "$db" "$WORK/$1.sql")
  printf '%-8s %6s CPU-s   (%s rows)   load %s\n' "$1" "$cpu" "$("${PSQL[@]}" -d "$db" -c "SELECT count(*) FROM grants")" "$(cut -d' ' -f1 /proc/loadavg)"
  "${PSQL[@]}" -d postgres -c "DROP DATABASE $db"
}
echo "replaying $ROWS direct grants of $SRC_DB, $PAIRS pair(s)"
for ((p = 0; p < PAIRS; p++)); do
  run staging
  run direct
done
