#!/usr/bin/env bash
# Replays the direct grants of an L full sync into `grants`, 5,000 rows a statement in the sync's
# insertion order, and prints the CPU seconds of the one Postgres backend that did it: the ids made by
# the column default against ids sent with the rows (as the worker now does), alternating.
#
#   npm run bench:sync -- --size L --no-baseline --no-floor --keep-db     (prints the kept database)
#   bench/sync/replay-grants.sh <kept database> [pairs, default 2] [SQL run on the copy first]
#   e.g. … <db> 1 "DROP INDEX grants_entitlement_page_idx" (what the replay costs without that index)
#
# Works on a copy of the kept database (CREATE DATABASE … TEMPLATE), dropped at the end; the kept one
# is left as it is (drop it yourself). Needs a superuser (pg_read_file of /proc/self/stat).
set -euo pipefail
SRC_DB=${1:?usage: replay-grants.sh <kept database> [pairs]}
PAIRS=${2:-2}
SETUP=${3:-}
PSQL=(psql -h "${PGHOST:-127.0.0.1}" -U "${PGUSER:-postgres}" -v ON_ERROR_STOP=1 -Aqt)
DB="replay_grants_$$"
WORK=$(mktemp -d)
trap '"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null; rm -rf "$WORK"' EXIT

"${PSQL[@]}" -d postgres -c "CREATE DATABASE $DB TEMPLATE $SRC_DB"
# Time-ordered ids made once, outside the measurement, in insertion order: what the worker sends.
# (The table is written in rn order, so the sequential scan of the UPDATE stamps the ids in that order.)
"${PSQL[@]}" -d "$DB" -c "CREATE UNLOGGED TABLE src AS SELECT row_number() OVER (ORDER BY id) rn, connector_id, entitlement_key,
  principal_external_id, principal_kind, graph_assignment_id, expires_at FROM grants WHERE direct ORDER BY id"
"${PSQL[@]}" -d "$DB" -c "ALTER TABLE src ADD COLUMN nid uuid"
"${PSQL[@]}" -d "$DB" -c "UPDATE src SET nid = warden_time_ordered_uuid()"
"${PSQL[@]}" -d "$DB" -c "CREATE INDEX ON src (rn)"
"${PSQL[@]}" -d "$DB" -c "VACUUM ANALYZE src"
[ -n "$SETUP" ] && "${PSQL[@]}" -d "$DB" -c "$SETUP"
ROWS=$("${PSQL[@]}" -d "$DB" -c "SELECT count(*) FROM src")

CPU="SELECT split_part(pg_read_file('/proc/self/stat'), ' ', 14)::int + split_part(pg_read_file('/proc/self/stat'), ' ', 15)::int;"
script() { # $1: id column list prefix ('' or 'id, '), $2: its value ('' or 't.nid, ')
  echo "TRUNCATE grants;"
  echo "$CPU"
  for ((i = 0; i < ROWS; i += 5000)); do
    cat <<SQL
BEGIN; SET LOCAL synchronous_commit = off;
INSERT INTO grants AS g (${1}connector_id, entitlement_key, principal_external_id, principal_kind, direct, graph_assignment_id, expires_at, last_seen_run_id)
SELECT ${2}t.connector_id, t.entitlement_key, t.principal_external_id, t.principal_kind, true, t.graph_assignment_id, t.expires_at, '00000000-0000-0000-0000-000000000001'::uuid
FROM src t WHERE rn > $i AND rn <= $((i + 5000)) AND NOT EXISTS (
  SELECT 1 FROM provisioning_tasks p WHERE p.connector_id = t.connector_id AND p.action = 'REVOKE' AND p.status = 'SUCCEEDED'
    AND p.completed_at > now() - interval '1 hour' AND p.entitlement_key = t.entitlement_key AND p.principal_external_id = t.principal_external_id)
ORDER BY t.entitlement_key, t.principal_external_id;
COMMIT;
SQL
  done
  echo "$CPU"
}
script '' '' >"$WORK/default.sql"
script 'id, ' 't.nid, ' >"$WORK/worker.sql"

run() {
  local ticks
  ticks=$("${PSQL[@]}" -d "$DB" -f "$WORK/$1.sql" | grep -E '^[0-9]+$' | tr '\n' ' ')
  read -r a b <<<"$ticks"
  printf '%-22s %6.2f CPU-s   load %s\n' "$1 ids" "$(echo "($b - $a) / 100" | bc -l)" "$(cut -d' ' -f1 /proc/loadavg)"
}
echo "replaying $ROWS direct grants from $SRC_DB, $PAIRS pair(s)"
for ((p = 0; p < PAIRS; p++)); do
  run default
  run worker
done
