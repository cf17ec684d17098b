# Sourced by the scripts in checks/ci/: one PASS/FAIL line per check and a closing count.
pass=0
fail=0
ok() {
  echo "  PASS  $1"
  pass=$((pass + 1))
}
bad() {
  echo "  FAIL  $1" >&2
  fail=$((fail + 1))
}
# Prints "<name>: N passed, N failed"; fails when any check did.
tally() {
  echo "$1: $pass passed, $fail failed"
  [ "$fail" -eq 0 ]
}
