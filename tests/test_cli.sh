#!/usr/bin/env bash
# test_cli.sh - the command line as a user meets it: every bad input gets
# one error line naming the file or option, the documented exit code, and
# leaves no output directory; good runs write every output.
# usage: test_cli.sh PATH/TO/nmf-faces PATH/TO/data/orl_faces
set -u
tool=$1
faces=$2
# shellcheck source=check.sh
. "$(dirname "$0")/check.sh"

# pgm FILE W H BYTE [COUNT]: a grey PGM of W x H pixels all equal to BYTE,
# with COUNT pixel bytes (default W*H; fewer makes a truncated file).
pgm() {
    local count=${5:-$(($2 * $3))}
    { printf 'P5\n%d %d\n255\n' "$2" "$3"; head -c "$count" /dev/zero | tr '\0' "\\$(printf '%03o' "$4")"; } >"$1"
}

# gradient_pgm FILE W H SEED: a PGM with varied pixel values.
gradient_pgm() {
    { printf 'P5\n%d %d\n255\n' "$2" "$3"
      perl -e 'my ($w,$h,$s)=@ARGV; print pack("C*", map { ($_*7 + $s*31) % 251 } 0..$w*$h-1)' "$2" "$3" "$4"; } >"$1"
}

# npy FILE ROWS COLS VALUE...: a float32 .npy file (format 1.0).
npy() {
    perl -e '
        my ($f, $r, $c, @v) = @ARGV;
        my $d = "{\x27descr\x27: \x27<f4\x27, \x27fortran_order\x27: False, \x27shape\x27: ($r, $c), }";
        my $pad = 64 - ((10 + length($d) + 1) % 64); $pad = 0 if $pad == 64;
        $d .= " " x $pad . "\n";
        open(my $fh, ">:raw", $f) or die; print $fh "\x93NUMPY\x01\x00", pack("v", length $d), $d;
        print $fh pack("f<*", map { $_ eq "nan" ? 9**9**9 / 9**9**9 : $_ } @v); close $fh;' "$@"
}

# expect_error NAME CODE PATTERN ARGS...: the run exits CODE, its first
# stderr line is "nmf-faces: error: ..." matching PATTERN, at most a hint
# follows, and the output directory is not created.
expect_error() {
    local name=$1 code=$2 pattern=$3
    shift 3
    local out="$work/out-$name"
    "$tool" -q -o "$out" "$@" 2>"$work/err" >/dev/null
    local got=$?
    local first
    first=$(head -n 1 "$work/err")
    if [ "$got" -ne "$code" ]; then
        fail "$name: exit $got, want $code ($first)"
    elif ! grep -q "^nmf-faces: error: .*$pattern" <<<"$first"; then
        fail "$name: error line '$first' does not match '$pattern'"
    elif [ "$(grep -vc '^hint: ' "$work/err")" -ne 1 ]; then
        fail "$name: more than one error line: $(cat "$work/err")"
    elif [ -e "$out" ]; then
        fail "$name: left output behind in $out"
    else
        pass
    fi
}

# --- data sets the tests write themselves -----------------------------------
mkdir -p "$work/empty" "$work/text" "$work/mixed" "$work/black" "$work/one" \
         "$work/corrupt" "$work/huge" "$work/good" "$work/withblack"
echo "not an image" >"$work/text/notes.txt"
gradient_pgm "$work/mixed/a.pgm" 8 6 1
gradient_pgm "$work/mixed/b.pgm" 6 8 2
pgm "$work/black/1.pgm" 8 6 0
pgm "$work/black/2.pgm" 8 6 0
gradient_pgm "$work/one/only.pgm" 8 6 1
gradient_pgm "$work/corrupt/1.pgm" 8 6 1
pgm "$work/corrupt/2.pgm" 8 6 9 20
for i in $(seq 1 8192); do  # 8192 x 134 MB as bytes, at the pixel cap: 1.1 TB, more than any machine
    printf 'P5\n16384 8192\n255\n' >"$work/huge/$i.pgm"
done
for i in 1 2 3 4 5 6; do
    gradient_pgm "$work/good/$i.pgm" 8 6 "$i"
    gradient_pgm "$work/withblack/$i.pgm" 8 6 "$i"
done
pgm "$work/withblack/0.pgm" 8 6 0
touch "$work/file"

# --- bad input: one line, an exit code, nothing written ---------------------
expect_error missing 1 "$work/nope: " "$work/nope"
expect_error empty_dir 1 "$work/empty: no images" "$work/empty"
expect_error no_images 1 "$work/text: no images" "$work/text"
expect_error corrupt 1 "corrupt/2.pgm: corrupt image" "$work/corrupt"
expect_error sizes 1 "mixed/b.pgm.*6x8.*8x6.*--resize" "$work/mixed"
expect_error k_zero 2 "-k/--components" -k 0 "$work/good"
expect_error k_negative 2 "-k/--components" -k -3 "$work/good"
expect_error k_text 2 "-k/--components" -k abc "$work/good"
expect_error k_too_big 2 "-k/--components: 7 is larger than min" -k 7 "$work/good"
expect_error max_iter_zero 2 "--max-iter" --max-iter 0 "$work/good"
expect_error tol_text 2 "--tol" --tol fast "$work/good"
expect_error storage_unknown 2 "--storage.*must be auto or float32" --storage uint8 "$work/good"
expect_error max_memory_unit 2 "--max-memory 4X: must be auto or a size" --max-memory 4X "$work/good"
expect_error max_memory_zero 2 "--max-memory 0: must be auto or a size" --max-memory 0 "$work/good"
expect_error max_memory_tiny 1 "too little to stream.*--max-memory" --max-memory 1K "$work/good"
expect_error cache_empty 2 "--cache '': must not be empty" --cache "" "$work/good"
expect_error tol_negative 2 "--tol" --tol -1 "$work/good"
expect_error bad_init 2 "--init" --init svd "$work/good"
expect_error bad_resize 2 "--resize" --resize 10by10 "$work/good"
expect_error unknown_option 2 "--frobnicate" --frobnicate "$work/good"
expect_error unknown_short 2 "-z: unknown option" -qz "$work/good"
expect_error missing_value 2 "--max-iter: needs a value" "$work/good" --max-iter
expect_error flag_with_value 2 "--quiet=1: takes no value" --quiet=1 "$work/good"
expect_error empty_resume 2 "--resume '': must not be empty" --resume ""
expect_error single_image 2 "-k/--components: 20 is larger than min" "$work/one"
expect_error all_black 1 "every pixel of every image is zero" "$work/black"
expect_error huge 1 "needs .*GB" "$work/huge"
# A file above stb's int-sized buffers (sparse: no disk used), refused unread.
mkdir -p "$work/bigfile" && pgm "$work/bigfile/big.pgm" 8 6 1 && truncate -s 2200000000 "$work/bigfile/big.pgm"
expect_error file_over_2gib 1 "big.pgm: larger than stb_image reads (2 GiB)" "$work/bigfile"
expect_error bad_device 2 "--device" --device tpu "$work/good"
expect_error bad_precision 2 "--precision" --precision fp16 "$work/good"
expect_error tf32_on_cpu 2 "--precision tf32: the cpu backend, which this run uses, does not have it" \
    --device cpu --precision tf32 -k 2 "$work/good"
# ... and before any image is read (the input does not exist).
expect_error tf32_first 2 "--precision tf32: the cpu backend, which this run uses, does not have it" \
    --device cpu --precision tf32 -k 2 "$work/no-such-folder"
if "$tool" --version | grep -q "CUDA backend: compiled in; [1-9]"; then
    "$tool" -q -o "$work/gpu" -k 2 --device gpu --max-iter 20 "$work/good" &&
        grep -q '"device": "cuda"' "$work/gpu/metrics.json" && pass || fail "--device gpu run"
else
    expect_error no_gpu 1 "--device gpu: no CUDA device (.*)" --device gpu "$work/good"
    "$tool" -o "$work/auto" -k 2 --device auto --max-iter 10 "$work/good" 2>"$work/err" &&
        [ "$(grep -c "no GPU found; running on the CPU" "$work/err")" -eq 1 ] &&
        ! grep -q "libcuda\|driver" "$work/err" &&
        grep -q '"device": "cpu"' "$work/auto/metrics.json" && pass ||
        fail "--device auto without a GPU: $(cat "$work/err")"
fi
"$tool" -q -o "$work/file/out" "$work/good" 2>"$work/err"
if [ $? -eq 1 ] && grep -q "^nmf-faces: error: $work/file" "$work/err"; then pass; else fail "unwritable output: $(cat "$work/err")"; fi

npy "$work/W.npy" 6 2 1 1 1 1 1 1 1 1 1 1 1 1
npy "$work/H.npy" 2 48 $(seq 1 96)
npy "$work/H_shape.npy" 2 47 $(seq 1 94)
npy "$work/H_neg.npy" 2 48 -1 $(seq 2 96)
npy "$work/H_nan.npy" 2 48 nan $(seq 2 96)
expect_error init_shape 1 "H_shape.npy: H must have shape (2, 48), got (2, 47)" \
    -k 2 --init custom --init-w "$work/W.npy" --init-h "$work/H_shape.npy" "$work/good"
expect_error init_negative 1 "H_neg.npy: H\[0, 0\] = -1" \
    -k 2 --init custom --init-w "$work/W.npy" --init-h "$work/H_neg.npy" "$work/good"
expect_error init_nan 1 "H_nan.npy: H\[0, 0\] = NaN" \
    -k 2 --init custom --init-w "$work/W.npy" --init-h "$work/H_nan.npy" "$work/good"
expect_error init_missing_h 2 "--init custom" -k 2 --init custom --init-w "$work/W.npy" "$work/good"

# --- good runs ---------------------------------------------------------------
if "$tool" --help | grep -q -- "--max-iter N .*default 1000" && "$tool" --version | grep -q "nmf-faces"; then
    pass
else
    fail "--help/--version"
fi

# A custom start is used as given.
if "$tool" -q -o "$work/custom" -k 2 --init-w "$work/W.npy" --init-h "$work/H.npy" "$work/good" &&
    grep -q '"init": "custom"' "$work/custom/metrics.json"; then pass; else fail "custom init run"; fi

# An all-black image among normal ones is valid data: no NaN anywhere (null
# in metrics.json; "resize": null only says there was no resizing).
if "$tool" -q -o "$work/wb" -k 3 --max-iter 50 "$work/withblack" &&
    ! grep -v '"resize": null' "$work/wb/metrics.json" | grep -qi 'nan\|null' &&
    perl -e 'open(F,"<:raw",shift); local $/; my $d=<F>; my $h=unpack("v",substr($d,8,2));
             for (unpack("f<*", substr($d,10+$h))) { exit 1 if $_ != $_ } exit 0' "$work/wb/W.npy"
then pass; else fail "all-black image among normal ones"; fi

# The solver, the rules and what the summary says about them.
expect_error hals_kl 2 "--solver hals: minimises the Frobenius loss only; use --solver mu" \
    --solver hals --loss kl "$work/good"
expect_error bad_stopping 2 "--stopping fast: must be relative or sklearn" --stopping fast "$work/good"
expect_error bad_sweeps 2 "--sweeps 0,1: must be W,H with each in 1..64" --sweeps 0,1 "$work/good"
"$tool" -o "$work/kl" -k 2 --loss kl --max-iter 20 "$work/good" 2>"$work/err" &&
    grep -q '"solver": "mu"' "$work/kl/metrics.json" &&
    grep -q "kullback-leibler divergence" "$work/err" && pass ||
    fail "--loss kl alone runs mu and names its objective: $(tail -1 "$work/err")"
"$tool" -o "$work/tol0" -k 2 --max-iter 20 --tol 0 "$work/good" 2>"$work/err" &&
    grep -q "20 iterations (all of them: --tol 0)" "$work/err" && ! grep -q "not converged" "$work/err" &&
    pass || fail "--tol 0 is not 'not converged': $(tail -1 "$work/err")"
"$tool" -o "$work/sk" -k 2 --sklearn --max-iter 20 "$work/good" 2>"$work/err" &&
    grep -q '"stopping": "sklearn"' "$work/sk/metrics.json" &&
    grep -q '"solver": "hals"' "$work/sk/metrics.json" && grep -q '"max_iter": 20' "$work/sk/metrics.json" &&
    grep -q '"sweeps_w": 1,' "$work/sk/metrics.json" && grep -q '"sweeps_h": 1,' "$work/sk/metrics.json" &&
    pass || fail "--sklearn with --max-iter: $(tail -1 "$work/err")"
"$tool" -o "$work/zero" -k 3 --init nndsvda --alpha-w 100 --l1-ratio 1 "$work/good" 2>"$work/err" &&
    grep -q "^nmf-faces: warning: component 0[0-2] ended all zero" "$work/err" && pass ||
    fail "no warning for a component that ended all zero: $(cat "$work/err")"

# End to end on the bundled faces, a few iterations.
out="$work/faces"
"$tool" -o "$out" --max-iter 20 "$faces" 2>"$work/err"
code=$?
if [ $code -ne 0 ]; then
    fail "faces run exit $code: $(cat "$work/err")"
else
    for f in components.png reconstructions.png W.npy H.npy metrics.json inputs.txt \
             components/00.png components/19.png; do
        [ -s "$out/$f" ] && pass || fail "faces run: $f missing"
    done
    [ "$(wc -l <"$out/inputs.txt")" -eq 400 ] && pass || fail "inputs.txt has not 400 lines"
    [ "$(sed -n 11p "$out/inputs.txt")" = "$faces/s2/1.pgm" ] && pass || fail "inputs.txt order"
    for key in version device solver loss init seed k images height width threads iterations \
               converged stopping reconstruction_err relative_err frobenius_err beta_divergence \
               loss_history timings load_s init_s fit_s write_s; do
        grep -q "\"$key\":" "$out/metrics.json" && pass || fail "metrics.json lacks $key"
    done
    grep -q '"loss_history": \[\[0, .*\[20, ' "$out/metrics.json" && pass || fail "loss_history"
    [ -z "$(find "$out" -name '.*tmp*')" ] && pass || fail "temporary files left in $out"
    grep -q "components.png" "$work/err" && pass || fail "summary does not say where the montage is"
    grep -q "README: not an image" "$work/err" && pass || fail "no note for the skipped README"
fi

# --- image inputs: cut short, too large, reached through links --------------
# The fuzz corpus's cut* files, each cut where stb would read on silently
# (or, for the run-length HDR, forever).
corpus="$(dirname "$0")/fuzz/corpus/image"
for f in "$corpus"/cut*; do
    name=$(basename "$f")
    case ${name##*.} in
        gif) fmt=GIF ;; bmp) fmt=BMP ;; tga) fmt=TGA ;; psd) fmt=PSD ;; ppm) fmt=PNM ;; hdr) fmt=HDR ;;
    esac
    expect_error "$name" 1 "$name: corrupt image ($fmt file truncated)" "$f"
done
# A PNG header of 60000 x 60000 is too large, not corrupt.
printf '\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\xea\x60\0\0\xea\x60\x08\0\0\0\0\0\0\0\0' >"$work/big.png"
expect_error too_large 1 "big.png: image too large (60000x60000; at most 65536 pixels a side and 134217728 pixels)" \
    "$work/big.png"
# A split made of links to the person folders reads as the folders
# themselves, listed through the links; a link back up is skipped, noted.
mkdir -p "$work/split/x"
ln -s "$faces/s1" "$work/split/a"
ln -s "$faces/s2" "$work/split/b"
ln -s .. "$work/split/x/up"
if timeout 120 "$tool" -o "$work/linked" -k 2 --max-iter 2 "$work/split" 2>"$work/err" &&
    "$tool" -q -o "$work/direct" -k 2 --max-iter 2 "$faces/s1" "$faces/s2" &&
    [ "$(grep -c "split/x/up: leads back to $work/split (a loop), skipped" "$work/err")" -eq 1 ] &&
    [ "$(sed -e "s|^$work/split/a/|s1/|" -e "s|^$work/split/b/|s2/|" "$work/linked/inputs.txt")" = \
      "$(sed "s|^$faces/||" "$work/direct/inputs.txt")" ] &&
    cmp -s "$work/linked/W.npy" "$work/direct/W.npy"
then pass; else fail "folder of links: $(cat "$work/err")"; fi

finish test_cli
