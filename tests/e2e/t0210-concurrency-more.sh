#!/bin/bash
# t0210: the other mutating verbs from many processes at once, counting
# that nothing is lost or doubled: remove, copy, move, edit, include, and
# adds of the same package (a no-op for all but one).
. "$(dirname "$0")/lib.sh"

N=8
"$AV" repo create big >/dev/null
for i in $(seq 1 $N); do mkdeb "rm$i" 1.0 amd64 >/dev/null; mkdeb "keep$i" 1.0 amd64 >/dev/null; done
"$AV" repo add big "$T/debs" >/dev/null
total=$(repo_count big)

# remove: each process removes a different package
for i in $(seq 1 $N); do
	( "$AV" repo remove big "rm$i" >/dev/null 2>"$T/r$i.err"; echo $? >"$T/r$i.rc" ) &
done
wait
fails=0
for i in $(seq 1 $N); do [ "$(cat "$T/r$i.rc")" -eq 0 ] || { fails=$((fails + 1)); cat "$T/r$i.err"; }; done
check "8 concurrent removes all succeed ($fails failed)" test "$fails" -eq 0
check "  exactly the 8 are gone" test "$(repo_count big)" -eq $((total - N))
run "$AV" repo search big 'Name (% rm*)'
check "  none of them is left" test "$rc" -eq 1

# copy: each process copies a different package into one destination
"$AV" repo create dst >/dev/null
for i in $(seq 1 $N); do
	( "$AV" repo copy big dst "keep$i" >/dev/null 2>"$T/c$i.err"; echo $? >"$T/c$i.rc" ) &
done
wait
fails=0
for i in $(seq 1 $N); do [ "$(cat "$T/c$i.rc")" -eq 0 ] || { fails=$((fails + 1)); cat "$T/c$i.err"; }; done
check "8 concurrent copies all succeed ($fails failed)" test "$fails" -eq 0
check "  the destination has all 8" test "$(repo_count dst)" -eq $N
check "  the source still has them" test "$(repo_count big)" -eq $((total - N))

# move: two directions at once between two repos (locks taken in one
# order, so no deadlock), each moving its own packages
"$AV" repo create left >/dev/null
"$AV" repo create right >/dev/null
for i in $(seq 1 $N); do mkdeb "l$i" 1.0 amd64 >"$T/l$i"; mkdeb "r$i" 1.0 amd64 >"$T/rr$i"; done
for i in $(seq 1 $N); do "$AV" repo add left "$(cat "$T/l$i")" >/dev/null; "$AV" repo add right "$(cat "$T/rr$i")" >/dev/null; done
for i in $(seq 1 $N); do
	( timeout 60 "$AV" repo move left right "l$i" >/dev/null 2>"$T/ml$i.err"; echo $? >"$T/ml$i.rc" ) &
	( timeout 60 "$AV" repo move right left "r$i" >/dev/null 2>"$T/mr$i.err"; echo $? >"$T/mr$i.rc" ) &
done
wait
fails=0
for i in $(seq 1 $N); do
	[ "$(cat "$T/ml$i.rc")" -eq 0 ] || { fails=$((fails + 1)); cat "$T/ml$i.err"; }
	[ "$(cat "$T/mr$i.rc")" -eq 0 ] || { fails=$((fails + 1)); cat "$T/mr$i.err"; }
done
check "16 crossing moves finish without deadlock or failure ($fails failed)" test "$fails" -eq 0
run "$AV" repo search left
check "  left now holds exactly the r packages" test "$(grep -c '^r' "$T/out")" -eq $N -a "$(wc -l <"$T/out")" -eq $N
run "$AV" repo search right
check "  right now holds exactly the l packages" test "$(grep -c '^l' "$T/out")" -eq $N -a "$(wc -l <"$T/out")" -eq $N

# edit: every edit is applied in some order and recorded
for i in $(seq 1 $N); do
	( "$AV" repo edit dst --comment "edit $i" >/dev/null 2>&1; echo $? >"$T/e$i.rc" ) &
done
wait
fails=0
for i in $(seq 1 $N); do [ "$(cat "$T/e$i.rc")" -eq 0 ] || fails=$((fails + 1)); done
check "8 concurrent edits succeed ($fails failed)" test "$fails" -eq 0
run "$AV" repo log dst
check "  each edit is in the history" test "$(grep -c 'repo edit dst' "$T/out")" -eq $N
last=$(sed -n 1p "$T/out" | sed 's/.*--comment edit \([0-9]*\).*/\1/')
run "$AV" repo show dst --json
check "  the comment is the last edit's" grep -q "\"comment\":[[:space:]]*\"edit $last\"" "$T/out"

# the same package added by 8 processes: one add, 7 no-ops, one history entry
"$AV" repo create same >/dev/null
p=$(mkdeb samepkg 1.0 amd64)
for i in $(seq 1 $N); do
	( "$AV" repo add same "$p" >"$T/s$i.out" 2>&1; echo $? >"$T/s$i.rc" ) &
done
wait
fails=0 added=0
for i in $(seq 1 $N); do
	[ "$(cat "$T/s$i.rc")" -eq 0 ] || fails=$((fails + 1))
	grep -q "1 added" "$T/s$i.out" && added=$((added + 1))
done
check "8 concurrent adds of one package succeed ($fails failed)" test "$fails" -eq 0
check "  exactly one of them added it ($added)" test "$added" -eq 1
run "$AV" repo log same
check "  the history has one add" test "$(grep -c 'repo add' "$T/out")" -eq 1

# include: 4 uploads into one repo at once
"$AV" repo create incoming >/dev/null
for i in 1 2 3 4; do
	mkdir -p "$T/up$i"
	d=$(mkdeb "up$i" 1.0 amd64)
	mv "$d" "$T/up$i/"
	f="$T/up$i/up${i}_1.0_amd64.deb"
	{
		printf 'Format: 1.8\nSource: up%s\nArchitecture: amd64\nVersion: 1.0\nDistribution: incoming\n' "$i"
		printf 'Maintainer: T <t@example.org>\nChecksums-Sha256:\n %s %s %s\nFiles:\n %s %s misc optional %s\n' \
			"$(sha256sum <"$f" | cut -d' ' -f1)" "$(stat -c %s "$f")" "$(basename "$f")" \
			"$(md5sum <"$f" | cut -d' ' -f1)" "$(stat -c %s "$f")" "$(basename "$f")"
	} >"$T/up$i/up.changes"
done
for i in 1 2 3 4; do
	( "$AV" repo include "$T/up$i/up.changes" --accept-unsigned >/dev/null 2>"$T/i$i.err"; echo $? >"$T/i$i.rc" ) &
done
wait
fails=0
for i in 1 2 3 4; do [ "$(cat "$T/i$i.rc")" -eq 0 ] || { fails=$((fails + 1)); cat "$T/i$i.err"; }; done
check "4 concurrent includes succeed ($fails failed)" test "$fails" -eq 0
check "  all 4 packages are in the repo" test "$(repo_count incoming)" -eq 4

finish
