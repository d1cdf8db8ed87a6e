#!/usr/bin/env bash
# test_output_dir.sh - one run's files in the output folder. A folder that
# holds another run's results (any one of the names the tool writes) is
# refused, exit 2, before any image is read, unless --overwrite, which
# leaves exactly the new run's files; a user's own files are kept, and a
# folder with only those is accepted; --resume replaces its own run. A run
# that fails while writing, at any byte (ENOSPC) or at any rename (faked by
# the LD_PRELOAD library fault_write, so no root or small file system is
# needed), exits 1 naming the final path and leaves the folder
# byte-identical, with no stage folder inside or beside it, and a folder
# it had to create is gone again.
# usage: test_output_dir.sh PATH/TO/nmf-faces PATH/TO/libfault_write.so
set -u
tool=$1
fault=$2
# shellcheck source=check.sh
. "$(dirname "$0")/check.sh"

# A sanitizer build wants its runtime first among the libraries, which a
# preloaded one is not; this library only wraps stdio and rename.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
# Fifty runs of a few milliseconds: idle OpenMP threads that spin cost more.
export OMP_WAIT_POLICY=passive

# Ten 8 x 6 PGMs with varied pixels: k up to 10, a run in milliseconds.
data=$work/data
mkdir -p "$data"
for i in $(seq 1 10); do
    { printf 'P5\n8 6\n255\n'
      perl -e 'print pack("C*", map { ($_ * 7 + $ARGV[0] * 31) % 251 } 0..47)' "$i"; } >"$data/$i.pgm"
done

run() { "$tool" -q --max-iter 2 "$@"; }
# faulty DIR VAR=VALUE... ARGS...: run with fault_write watching DIR.
faulty() {
    local dir=$1
    shift
    local vars=()
    while [[ $# -gt 0 && $1 == NMF_FAULT_*=* ]]; do vars+=("$1"); shift; done
    env LD_PRELOAD="$fault" NMF_FAULT_DIR="$dir" "${vars[@]}" "$tool" -q --max-iter 2 "$@"
}

# snapshot DIR: every entry under it, hidden ones too, with its type and
# for a file the checksum of its bytes.
snapshot() {
    (cd "$1" && find . -mindepth 1 -printf '%y %p\n' | LC_ALL=C sort | while read -r type path; do
        if [ "$type" = f ]; then
            echo "$type $path $(sha256sum <"$path" | cut -c1-64)"
        else
            echo "$type $path"
        fi
    done)
}
# No stage folder anywhere under the scratch folder.
no_stage() { [ -z "$(find "$work" -name '.nmf-partial-*')" ]; }
# left_as_before WHAT: $out is as the snapshot $before took it, and no stage
# folder is left anywhere.
left_as_before() {
    if [ "$(snapshot "$out")" != "$before" ]; then
        fail "$1 changed $out: $(diff <(echo "$before") <(snapshot "$out"))"
    elif ! no_stage; then
        fail "$1 left a stage folder"
    else
        pass
    fi
}

# --- a folder holding a k = 8 run (with a checkpoint) and a user's notes ------
out=$work/out
run -k 8 --checkpoint-every 1 -o "$out" "$data" && [ -e "$out/checkpoint.nmf" ] &&
    [ -e "$out/components/07.png" ] && pass || fail "the k = 8 run"
echo "my notes" >"$out/notes.txt"
before=$(snapshot "$out")

# --- refused without --overwrite, before any image is read -------------------
# (a missing input would fail the run later: the folder is refused first)
run -k 4 -o "$out" "$work/nope" 2>"$work/err"
code=$?
want="nmf-faces: error: $out: holds another run's results (metrics.json);"
want+=" pass --overwrite to replace them, or -o a new folder"
if [ $code -eq 2 ] && [ "$(cat "$work/err")" = "$want" ]; then pass; else
    fail "another run's folder: exit $code, want 2; stderr: $(cat "$work/err")"; fi
[ "$(snapshot "$out")" = "$before" ] && pass || fail "a refused run changed $out"

# Each name the tool writes marks a folder as another run's.
for name in metrics.json model.json W.npy H.npy inputs.txt components.png components \
            reconstructions.png checkpoint.nmf; do
    mark=$work/mark-$name
    mkdir -p "$mark"
    if [ "$name" = components ]; then mkdir "$mark/$name"; else touch "$mark/$name"; fi
    run -k 2 -o "$mark" "$data" 2>"$work/err"
    code=$?
    if [ $code -eq 2 ] && grep -q "holds another run's results ($name)" "$work/err"; then pass; else
        fail "a folder with only $name: exit $code, want 2; $(cat "$work/err")"; fi
done

# --- a failed write leaves the folder as it was --------------------------------
# How many bytes and renames a replacing run makes, on a copy.
cp -a "$out" "$work/probe"
faulty "$work/probe" NMF_FAULT_COUNT="$work/count" --overwrite -k 4 -o "$work/probe" "$data" &&
    pass || fail "the counting run"
read -r _ bytes _ renames <"$work/count"
metrics_len=$(stat -c %s "$work/probe/metrics.json")
rm -rf "$work/probe"
[ "${bytes:-0}" -gt "$metrics_len" ] && [ "${renames:-0}" -ge 20 ] && pass ||
    fail "counting run: $bytes bytes, $renames renames"

# Out of space at every eighth of the bytes, and inside metrics.json, the
# last file written.
for budget in 0 $((bytes / 8)) $((bytes / 4)) $((bytes * 3 / 8)) $((bytes / 2)) \
              $((bytes * 5 / 8)) $((bytes * 3 / 4)) $((bytes * 7 / 8)) $((bytes - metrics_len / 2)); do
    faulty "$out" NMF_FAULT_BYTES="$budget" --overwrite -k 4 -o "$out" "$data" 2>"$work/err"
    code=$?
    first=$(head -n 1 "$work/err")
    if [ $code -ne 1 ] ||
        ! grep -q "^nmf-faces: error: $out/[^ ]*: write failed (No space left on device)$" <<<"$first"; then
        fail "full disk after $budget of $bytes bytes: exit $code, want 1; $first"
    else
        left_as_before "full disk after $budget of $bytes bytes"
    fi
done

# Every rename failing in turn: those of the files into the stage, those
# moving the old run's files aside, those moving the new ones in.
for n in $(seq 1 "$renames"); do
    faulty "$out" NMF_FAULT_RENAME="$n" --overwrite -k 4 -o "$out" "$data" 2>"$work/err"
    code=$?
    if [ $code -ne 1 ] || ! grep -q "No space left on device" "$work/err"; then
        fail "rename $n of $renames failing: exit $code, want 1; $(cat "$work/err")"
    else
        left_as_before "rename $n of $renames failing"
    fi
done

# A folder the failed run had to create is removed again.
faulty "$work/new" NMF_FAULT_BYTES=0 -k 2 -o "$work/new/deeper" "$data" 2>/dev/null
code=$?
[ $code -eq 1 ] && [ ! -e "$work/new" ] && pass ||
    fail "a failed run into a new folder: exit $code, $(ls -A "$work/new" 2>&1)"

# --- --overwrite: exactly the new run's files, the user's kept ---------------
notes=$(sha256sum <"$out/notes.txt")
run --overwrite -k 4 -o "$out" "$data" && pass || fail "--overwrite run"
want=$(printf '%s\n' ./H.npy ./W.npy ./components ./components.png ./components/00.png \
       ./components/01.png ./components/02.png ./components/03.png ./inputs.txt ./metrics.json \
       ./model.json ./notes.txt ./reconstructions.png)
got=$(cd "$out" && find . -mindepth 1 | LC_ALL=C sort)
[ "$got" = "$want" ] && pass || fail "after --overwrite -k 4 over k = 8: $(diff <(echo "$want") <(echo "$got"))"
[ "$(sha256sum <"$out/notes.txt")" = "$notes" ] && pass || fail "the user's notes changed"
grep -q '"k": 4,' "$out/metrics.json" && grep -q "'shape': (10, 4)" "$out/W.npy" && pass ||
    fail "metrics.json or W.npy is not the k = 4 run's"
run --overwrite -k 4 -o "$out" "$data" &&
    [ "$(cd "$out" && find . -mindepth 1 | LC_ALL=C sort)" = "$want" ] && pass ||
    fail "a second --overwrite run"

# --- a folder with only a user's file is accepted, the file kept ----------------
mkdir -p "$work/mine"
echo "keep me" >"$work/mine/README"
run -k 2 -o "$work/mine" "$data" && [ "$(cat "$work/mine/README")" = "keep me" ] &&
    [ -s "$work/mine/metrics.json" ] && pass || fail "a folder with a user's file only"

# --- --resume replaces its own run's files and keeps its checkpoint -------------
run -k 2 --checkpoint-every 1 -o "$work/res" "$data" && [ -e "$work/res/checkpoint.nmf" ] &&
    pass || fail "a run's own checkpoint is kept"
"$tool" -q --resume "$work/res" --max-iter 4 2>"$work/err" &&
    grep -q '"iterations": 4,' "$work/res/metrics.json" && [ -e "$work/res/checkpoint.nmf" ] &&
    pass || fail "--resume into its own folder: $(cat "$work/err")"
no_stage && pass || fail "a stage folder was left behind"

finish test_output_dir
