#!/usr/bin/env bash
# test_resume.sh - runs that survive interruption, with real signals sent
# to a real process: SIGINT/SIGTERM save a checkpoint and the outputs and
# exit 130/143; --resume ends where an uninterrupted run ends (bitwise W, H
# on the CPU with the same threads, the loss to 1e-6 relative on the GPU);
# options that differ from the checkpoint's are refused; a second Ctrl-C
# exits at once without writing; two identical runs give identical bits.
# usage: test_resume.sh PATH/TO/nmf-faces DATA_DIR [cpu|gpu]  (gpu: exits
# 77, SKIPPED, without a CUDA device)
set -u
tool=$1
faces=$2
device=${3:-cpu}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passes=0
failures=0
check() { if eval "$2"; then passes=$((passes + 1)); else echo "FAIL: $1"; failures=$((failures + 1)); fi; }
# Enough iterations that a signal lands before the run ends: a GPU does the
# faces' 200 in well under a second.
iters=200
if [ "$device" = gpu ]; then
    if ! "$tool" -q --device gpu -k 2 --max-iter 1 -o "$work/probe" "$faces" 2>"$work/err"; then
        # Only a missing device skips; a GPU run that fails is a failure.
        if grep -q "no CUDA device" "$work/err"; then
            echo "SKIPPED: $(head -n 1 "$work/err")"
            exit 77
        fi
        echo "FAIL: a one-iteration GPU run failed: $(cat "$work/err")"
        exit 1
    fi
    iters=20000
fi
run=(-q --device "$device" --threads 2 --tol 0 --max-iter $iters "$faces")

# The final reconstruction error in DIR/metrics.json.
final_err() { sed -n 's/.*"reconstruction_err": \([^,]*\),.*/\1/p' "$1/metrics.json"; }

# Whether DIR ends where the uninterrupted run ended: bitwise on the CPU; on
# the GPU the loss to 1e-6 relative, what the tool promises there (the same
# bits are expected on one GPU and CUDA version, which the two identical
# runs above check).
same_end() {
    if [ "$device" = cpu ]; then
        cmp -s "$work/full/W.npy" "$1/W.npy" && cmp -s "$work/full/H.npy" "$1/H.npy"
    else
        awk -v a="$(final_err "$work/full")" -v b="$(final_err "$1")" \
            'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a > 0 && d <= 1e-6 * a) }'
    fi
}

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
check "--resume completes" '[ $? -eq 0 ] && grep -q "\"iterations\": $iters," "$work/int/metrics.json"'
check "the resumed run ends where the uninterrupted one did ($device)" 'same_end "$work/int"'

interrupt "$work/term" TERM
check "SIGTERM exits 143" '[ $? -eq 143 ]'
"$tool" -q --resume "$work/term" -k 7 2>"$work/err"
check "a different -k beside --resume is refused" '[ $? -eq 2 ] && grep -q "k/--components differs" "$work/err"'
"$tool" -q --resume "$work/term" --max-iter $((iters + 50))
check "--max-iter may be raised" '[ $? -eq 0 ] && grep -q "\"iterations\": $((iters + 50))," "$work/term/metrics.json"'
# A checkpoint whose W is one image short (its header and size agree, the
# images found do not) must be refused, not read past its end.
cp -r "$work/term" "$work/short"
perl -0777 -i -pe 's/\nm 400\n/\nm 399\n/; substr($_, -80) = ""' "$work/short/checkpoint.nmf"
"$tool" -q --resume "$work/short" 2>"$work/err"
check "a checkpoint of another shape is refused" '[ $? -eq 1 ] && grep -q "images found differ" "$work/err"'
"$tool" -q --resume "$work/nowhere" 2>"$work/err"
check "--resume without a checkpoint fails cleanly" '[ $? -eq 1 ] && grep -q "no checkpoint" "$work/err"'

# Twice Ctrl-C: out at once, nothing written (k 64 makes each 10 iterations
# long enough for the second signal to land first; the pause between them
# lets the first be delivered, since pending signals of one kind merge).
"$tool" -q --device "$device" --threads 2 --tol 0 --max-iter $((iters * 10)) -k 64 -o "$work/twice" "$faces" &
pid=$!
sleep 1
kill -INT $pid
sleep 0.05
kill -INT $pid
wait $pid
check "a second Ctrl-C exits 130 at once" '[ $? -eq 130 ] && [ ! -e "$work/twice/metrics.json" ]'

echo "test_resume ($device): $passes passed, $failures failed"
[ $failures -eq 0 ]
