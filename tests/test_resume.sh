#!/usr/bin/env bash
# test_resume.sh - runs that survive interruption, with real signals sent
# to a real process: SIGINT/SIGTERM save a checkpoint and the outputs and
# exit 130/143; --resume ends at bitwise the W, H of an uninterrupted run
# (CPU, same threads); options that differ from the checkpoint's are
# refused; a second Ctrl-C exits at once without writing; two identical
# runs give identical bits.
# usage: test_resume.sh PATH/TO/nmf-faces DATA_DIR
set -u
tool=$1
faces=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passes=0
failures=0
check() { if eval "$2"; then passes=$((passes + 1)); else echo "FAIL: $1"; failures=$((failures + 1)); fi; }
run=(-q --device cpu --threads 2 --tol 0 --max-iter 200 "$faces")

# Starts a run, waits for its first checkpoint, sends the signal; the exit code.
interrupt() {
    local out=$1 signal=$2
    "$tool" "${run[@]}" --checkpoint-every 20 -o "$out" 2>"$work/err" &
    local pid=$! waited=0
    while [ ! -e "$out/checkpoint.nmf" ] && [ $waited -lt 600 ]; do sleep 0.05; waited=$((waited + 1)); done
    kill -"$signal" $pid
    wait $pid
}

"$tool" "${run[@]}" -o "$work/full"
"$tool" "${run[@]}" -o "$work/again"
check "two identical runs give identical bits" \
    'cmp -s "$work/full/W.npy" "$work/again/W.npy" && cmp -s "$work/full/H.npy" "$work/again/H.npy"'

interrupt "$work/int" INT
check "SIGINT exits 130" '[ $? -eq 130 ]'
check "interrupted run says how to resume" 'grep -q -- "--resume $work/int" "$work/err"'
check "interrupted outputs are marked" 'grep -q "\"stop_rule\": \"interrupted\"" "$work/int/metrics.json" && grep -q "\"converged\": false" "$work/int/metrics.json"'
"$tool" -q --resume "$work/int"
check "--resume completes" '[ $? -eq 0 ] && grep -q "\"iterations\": 200" "$work/int/metrics.json"'
check "resumed W, H are bitwise the uninterrupted ones" \
    'cmp -s "$work/full/W.npy" "$work/int/W.npy" && cmp -s "$work/full/H.npy" "$work/int/H.npy"'

interrupt "$work/term" TERM
check "SIGTERM exits 143" '[ $? -eq 143 ]'
"$tool" -q --resume "$work/term" -k 7 2>"$work/err"
check "a different -k beside --resume is refused" '[ $? -eq 2 ] && grep -q "k/--components differs" "$work/err"'
"$tool" -q --resume "$work/term" --max-iter 250
check "--max-iter may be raised" '[ $? -eq 0 ] && grep -q "\"iterations\": 250" "$work/term/metrics.json"'
"$tool" -q --resume "$work/nowhere" 2>"$work/err"
check "--resume without a checkpoint fails cleanly" '[ $? -eq 1 ] && grep -q "no checkpoint" "$work/err"'

# Twice Ctrl-C: out at once, nothing written (k 64 makes each 10 iterations
# long enough for the second signal to land first; the pause between them
# lets the first be delivered, since pending signals of one kind merge).
"$tool" -q --device cpu --threads 2 --tol 0 --max-iter 2000 -k 64 -o "$work/twice" "$faces" &
pid=$!
sleep 1
kill -INT $pid
sleep 0.05
kill -INT $pid
wait $pid
check "a second Ctrl-C exits 130 at once" '[ $? -eq 130 ] && [ ! -e "$work/twice/metrics.json" ]'

echo "test_resume: $passes passed, $failures failed"
[ $failures -eq 0 ]
