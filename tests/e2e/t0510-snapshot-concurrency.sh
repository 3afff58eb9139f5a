#!/bin/bash
# t0510: snapshots under concurrency, with real processes.
#  - a snapshot taken while 8 processes keep adding to its repo is exactly
#    one of the repo's committed states;
#  - 16 concurrent creates of one snapshot name: exactly one wins;
#  - snapshot drop racing snapshot merge of it: a serial outcome, and the
#    merge never loses the content it took.
. "$(dirname "$0")/lib.sh"

db() { git --git-dir="$APTVAULT_ROOT/db" "$@"; }

"$AV" repo create busy >/dev/null
for w in $(seq 1 8); do for k in 1 2 3; do mkdeb "w${w}k$k" 1.0 amd64 >"$T/p$w-$k"; done; done
for w in $(seq 1 8); do
	( for k in 1 2 3; do "$AV" repo add busy "$(cat "$T/p$w-$k")" >/dev/null 2>&1; done ) &
done
sleep 0.2
for s in 1 2 3 4; do "$AV" snapshot create "live$s" from repo busy >/dev/null; sleep 0.1; done
wait
"$AV" repo log busy --json >"$T/log.json"
grep -o '"new":[[:space:]]*"[0-9a-f]*"' "$T/log.json" | grep -o '[0-9a-f]\{40\}' |
	while read -r c; do db rev-parse "$c:packages" 2>/dev/null || echo empty; done >"$T/trees"
# the empty repo's list is the empty tree
db hash-object -t tree /dev/null >>"$T/trees"
bad=0
for s in 1 2 3 4; do
	t=$("$AV" snapshot show "live$s" --json | sed -n 's/.*"listTree":[[:space:]]*"\([0-9a-f]*\)".*/\1/p')
	[ -n "$t" ] || t=$(db hash-object -t tree /dev/null)
	grep -qx "$t" "$T/trees" || { bad=$((bad + 1)); echo "live$s: $t is no state of the repo"; }
done
check "4 snapshots taken during 8 writers are each a committed repo state ($bad bad)" test "$bad" -eq 0
check "the writers lost nothing" test "$(repo_count busy)" -eq 24

mkfifo "$T/go"
for i in $(seq 1 16); do
	( cat "$T/go" >/dev/null; "$AV" snapshot create same from repo busy >/dev/null 2>"$T/c$i.err"; echo $? >"$T/c$i.rc" ) &
done
sleep 0.3
exec 9>"$T/go"; exec 9>&-
wait
wins=0 exists=0
for i in $(seq 1 16); do
	r=$(cat "$T/c$i.rc")
	[ "$r" -eq 0 ] && wins=$((wins + 1))
	[ "$r" -eq 1 ] && grep -q "snapshot 'same' already exists" "$T/c$i.err" && exists=$((exists + 1))
done
check "16 concurrent creates of one name: one wins ($wins)" test "$wins" -eq 1
check "  the other 15 say it exists ($exists)" test "$exists" -eq 15

bad=0
for round in $(seq 1 10); do
	"$AV" snapshot create "x$round" from repo busy >/dev/null
	( "$AV" snapshot drop "x$round" >/dev/null 2>"$T/d.err"; echo $? >"$T/d.rc" ) &
	( "$AV" snapshot merge "y$round" "x$round" >/dev/null 2>"$T/m.err"; echo $? >"$T/m.rc" ) &
	wait
	d=$(cat "$T/d.rc") m=$(cat "$T/m.rc")
	if [ "$m" -eq 0 ]; then
		n=$("$AV" snapshot search "y$round" 2>/dev/null | wc -l)
		[ "$n" -eq 24 ] || { bad=$((bad + 1)); echo "round $round: merge has $n packages"; }
		# merge first: the drop must have refused (y was made from x)
		if [ "$d" -eq 0 ]; then
			grep -q "\"name\":[[:space:]]*\"x$round\"" <("$AV" snapshot show "y$round" --json) ||
				{ bad=$((bad + 1)); echo "round $round: lineage lost"; }
			# drop before merge is only possible if the merge failed
			bad=$((bad + 1)); echo "round $round: both the drop and the merge succeeded"
		fi
	else
		grep -q "snapshot 'x$round' does not exist" "$T/m.err" ||
			{ bad=$((bad + 1)); echo "round $round: merge failed oddly: $(cat "$T/m.err")"; }
		[ "$d" -eq 0 ] || { bad=$((bad + 1)); echo "round $round: both failed"; }
	fi
	if [ "$d" -ne 0 ] && ! grep -q "used as a source by" "$T/d.err"; then
		bad=$((bad + 1)); echo "round $round: drop failed oddly: $(cat "$T/d.err")"
	fi
done
check "drop racing merge: serial outcomes in 10 rounds ($bad anomalies)" test "$bad" -eq 0

finish
