-- The peer's user search on one database: PostGraphile's `search_resources` (postgraphile-peer.sql),
-- a count and a page of 21 rows for every typed prefix (2–4 letters) of the connector's users' first
-- names, three passes; prints ms per term. Used to tell whether a column added to `resources` slows
-- the peer (bench/gateway/README.md, "Quiet box, sizes L and M, after the search counters"): run it
-- on two copies of a database kept with `--keep` (`CREATE DATABASE a TEMPLATE <kept>`), one with the
-- column dropped, both `VACUUM FULL`, alternately:
--   psql -h 127.0.0.1 -U postgres -d <copy> -v connector=<connector id> -f bench/gateway/peer-search-width.sql
\set QUIET on
CREATE TEMP TABLE bench_connector AS SELECT :'connector'::uuid AS id;
CREATE TEMP TABLE terms AS
  SELECT DISTINCT lower(left(split_part(r.display_name, ' ', 1), n)) AS t
  FROM resources r, generate_series(2, 4) n, bench_connector c
  WHERE r.connector_id = c.id AND r.type = 'USER' AND length(split_part(r.display_name, ' ', 1)) >= n;
DO $$
DECLARE
  conn uuid := (SELECT id FROM bench_connector);
  t0 timestamptz;
  r record;
  c bigint;
  k int;
  ms float;
BEGIN
  FOR pass IN 1..3 LOOP
    t0 := clock_timestamp();
    k := 0;
    FOR r IN SELECT t FROM terms ORDER BY t LOOP
      SELECT count(*) INTO c FROM search_resources(conn, 'USER', r.t);
      PERFORM * FROM (SELECT id, display_name, profile FROM search_resources(conn, 'USER', r.t) LIMIT 21) x;
      k := k + 1;
    END LOOP;
    ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
    RAISE NOTICE 'pass %: % terms, % ms per term (count + page)', pass, k, round((ms / k)::numeric, 2);
  END LOOP;
END $$;
