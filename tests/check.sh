# check.sh - the harness the shell tests share (sourced): a scratch folder
# removed on exit, pass/fail counting, and the closing line CTest reads.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
passes=0

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { passes=$((passes + 1)); }

# finish NAME: "NAME: N passed, N failed", and the verdict as the exit code.
finish() {
    echo "$1: $passes passed, $failures failed"
    [ "$failures" -eq 0 ]
}
