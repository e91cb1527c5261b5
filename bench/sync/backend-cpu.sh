# Sourced by the replay scripts: the CPU seconds one Postgres backend spends on a SQL script.
# The script brackets its work with "$BACKEND_CPU" lines (the backend's utime + stime from /proc,
# in clock ticks); `backend_cpu_seconds <database> <script>` runs it and prints the difference.
# Needs a superuser (pg_read_file of /proc/self/stat) and PSQL set to the psql command array.
BACKEND_CPU="SELECT split_part(pg_read_file('/proc/self/stat'), ' ', 14)::int + split_part(pg_read_file('/proc/self/stat'), ' ', 15)::int;"

backend_cpu_seconds() {
  local ticks a b
  ticks=$("${PSQL[@]}" -d "$1" -f "$2" | grep -E '^[0-9]+$' | tr '\n' ' ')
  read -r a b <<<"$ticks"
  printf '%.2f' "$(echo "($b - $a) / $(getconf CLK_TCK)" | bc -l)"
}
