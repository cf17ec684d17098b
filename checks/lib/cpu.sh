# Sourced by the benchmark scripts: CPU time used by processes, read from /proc.

# CPU seconds (user + system, including reaped children) of the given processes.
cpu_seconds() {
  local ticks=0 pid stat fields
  for pid in "$@"; do
    # A process may end between being listed and being read: its time is then in its parent's.
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    # Fields after "(comm) ": utime, stime, cutime, cstime are the 12th to 15th.
    read -r -a fields <<<"${stat##*) }"
    ticks=$((ticks + fields[11] + fields[12] + fields[13] + fields[14]))
  done
  awk -v ticks="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", ticks / hz }'
}

# CPU seconds of a PostgreSQL server: the postmaster, its live children (checkpointer, WAL
# writer, open connections) and every connection that has ended.
postgres_cpu_seconds() { # postmaster pid
  # shellcheck disable=SC2046 # one argument per child pid
  cpu_seconds "$1" $(pgrep -P "$1")
}
