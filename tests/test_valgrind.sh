#!/usr/bin/env bash
# test_valgrind.sh - the tool under valgrind memcheck: a good run and a
# failing one (a corrupt image among good ones), each with no memory error
# and no definite or indirect leak. Thread stacks of the OpenMP pool stay
# "possibly lost" at exit by design and are not counted.
# usage: test_valgrind.sh PATH/TO/nmf-faces DATA_DIR SUPPRESSIONS
set -u
tool=$1
faces=$2
supp=$3
if ! command -v valgrind >/dev/null; then
    echo "SKIPPED: valgrind is not installed"
    exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
vg=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect
    --show-leak-kinds=definite,indirect --error-exitcode=99 --suppressions="$supp")
failures=0

"${vg[@]}" "$tool" -q --device cpu -k 3 --max-iter 10 -o "$work/good" "$faces/s1"
code=$?
[ $code -eq 0 ] || { echo "FAIL: good run exited $code under valgrind"; failures=$((failures + 1)); }

mkdir "$work/bad"
cp "$faces"/s1/1.pgm "$faces"/s1/2.pgm "$work/bad/"
head -c 2000 "$faces/s1/3.pgm" >"$work/bad/3.pgm"
"${vg[@]}" "$tool" -q --device cpu -k 2 -o "$work/bad-out" "$work/bad" 2>"$work/err"
code=$?
if [ $code -ne 1 ] || ! grep -q "corrupt image" "$work/err"; then
    echo "FAIL: corrupt-image run exited $code under valgrind: $(cat "$work/err")"
    failures=$((failures + 1))
fi
echo "test_valgrind: $((2 - failures)) passed, $failures failed"
[ $failures -eq 0 ]
