#!/bin/bash
# t0610 - publishing under concurrency, with processes: distributions of
# one prefix published and dropped at once never lose a pool file another
# references; one name, many creators: one wins; switch racing snapshot
# drop; and a real apt-get update running while a distribution is
# republished over and over never sees a Hash Sum mismatch.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/aptlib.sh"

PUB="$APTVAULT_ROOT/public"
check "a throwaway signing key" gpg_key_init
check "an isolated apt" apt_init amd64

debs=
for i in $(seq 1 12); do debs="$debs $(mkdeb pkg$i 1.0 amd64)"; done
# shellcheck disable=SC2086
"$AV" repo create r >/dev/null && "$AV" repo add r $debs >/dev/null
"$AV" snapshot create A from repo r >/dev/null
"$AV" repo add r "$(mkdeb pkg1 1.1 amd64)" "$(mkdeb extra 1.0 amd64)" >/dev/null
"$AV" snapshot create B from repo r >/dev/null

# Every Filename of every published Packages exists in its prefix's pool.
pool_complete() {
	for p in $(find "$PUB" -path '*/binary-amd64/Packages' -not -path '*/by-hash/*'); do
		base=${p%%/dists/*}
		for f in $(sed -n 's/^Filename: //p' "$p"); do
			[ -f "$base/$f" ] || { echo "missing $base/$f (from $p)" >&2; return 1; }
		done
	done
}

# ---- four distributions of one prefix at once ----
for d in d1 d2 d3 d4; do
	s=A
	[ "$d" = d2 ] || [ "$d" = d4 ] && s=B
	"$AV" publish snapshot $s --distribution=$d --skip-signing >"$T/pub.$d" 2>&1 &
done
wait
ok_count=0
for d in d1 d2 d3 d4; do grep -q "^published" "$T/pub.$d" && ok_count=$((ok_count + 1)); done
check "4 concurrent publishes under one prefix all succeed" test "$ok_count" -eq 4
check "publish list shows the 4" test "$("$AV" publish list --raw | wc -l)" -eq 4
check "every referenced pool file exists" pool_complete

# ---- drops and switches at once ----
"$AV" publish drop d1 >"$T/x1" 2>&1 &
"$AV" publish switch d2 A --skip-signing >"$T/x2" 2>&1 &
"$AV" publish drop d3 >"$T/x3" 2>&1 &
"$AV" publish switch d4 A --skip-signing >"$T/x4" 2>&1 &
wait
check "concurrent drops and switches all succeed" \
	sh -c "grep -q dropped '$T/x1' && grep -q dropped '$T/x3' && grep -q switched '$T/x2' && grep -q switched '$T/x4'"
check "the pool still holds every file d2 and d4 reference" pool_complete
"$AV" publish drop d2 >/dev/null && "$AV" publish drop d4 >/dev/null
check "with everything dropped the pool is empty" test -z "$(find "$PUB/pool" -type f)"

# ---- 8 creators of one distribution ----
for i in 1 2 3 4 5 6 7 8; do
	"$AV" publish snapshot A --distribution=race --skip-signing >"$T/race.$i" 2>&1 &
done
wait
wins=$(grep -l "^published" "$T"/race.* | wc -l)
lost=$(grep -l "already published" "$T"/race.* | wc -l)
check "of 8 concurrent creates exactly one wins" test "$wins" -eq 1
check "and 7 say it is already published" test "$lost" -eq 7
"$AV" publish drop race >/dev/null

# ---- staged sources from several processes: none lost ----
"$AV" publish snapshot A --distribution=staged --skip-signing >/dev/null
for i in 1 2 3 4 5 6; do
	"$AV" publish source add staged B --component=c$i >"$T/src.$i" 2>&1 &
done
wait
run "$AV" publish source list staged --json
check "6 concurrent source adds: 7 components staged" \
	test "$(grep -o '"component"' "$T/out" | wc -l)" -eq 7
expect_rc "publish update applies them all" 0 "$AV" publish update staged --skip-signing
check "Release lists the 7 components" \
	test "$(sed -n 's/^Components: //p' "$PUB/dists/staged/Release" | wc -w)" -eq 7
"$AV" publish drop staged >/dev/null

# ---- switch racing snapshot drop ----
"$AV" publish snapshot A --distribution=sw --skip-signing >/dev/null
bad=0
for i in $(seq 1 10); do
	"$AV" snapshot create C$i from repo r >/dev/null
	"$AV" publish switch sw C$i --skip-signing >"$T/sw" 2>&1 &
	"$AV" snapshot drop C$i >"$T/dr" 2>&1 &
	wait
	if grep -q '^switched' "$T/sw"; then
		# The switch won: the drop must have been refused, the name kept.
		grep -q "is published at" "$T/dr" && "$AV" snapshot show C$i >/dev/null 2>&1 || bad=$((bad + 1))
	else
		# The drop won: the switch failed cleanly, sw still publishes the old one.
		grep -q "does not exist" "$T/sw" && ! "$AV" snapshot show C$i >/dev/null 2>&1 ||
			bad=$((bad + 1))
	fi
	pool_complete || bad=$((bad + 1))
	"$AV" publish switch sw A --skip-signing >/dev/null 2>&1
	"$AV" snapshot drop C$i >/dev/null 2>&1
done
check "switch racing drop: only serial outcomes in 10 rounds" test "$bad" -eq 0

# ---- apt-get update while the distribution is republished ----
"$AV" publish snapshot A --distribution=stable --gpg-key="$KEY_FPR" >/dev/null
check "an HTTP server on 127.0.0.1" httpd_start "$PUB"
APT_SOURCE_TYPES=deb apt_source "http://127.0.0.1:$HTTPD_PORT" stable main
check "a first apt-get update" apt_update
(
	i=0
	while [ ! -e "$T/stop" ] && [ $i -lt 200 ]; do
		s=A
		[ $((i % 2)) -eq 0 ] && s=B
		"$AV" publish switch stable $s --gpg-key="$KEY_FPR" >/dev/null 2>>"$T/writer.err" ||
			echo "switch $i failed" >>"$T/writer.err"
		i=$((i + 1))
	done
	echo $i >"$T/switches"
) &
writer=$!
mismatch=0
errors=0
for i in $(seq 1 25); do
	apt-get update >"$T/u.$i" 2>&1 || errors=$((errors + 1))
	grep -qi "hash sum mismatch" "$T/u.$i" && mismatch=$((mismatch + 1))
	grep -qE '^(W|E|Err):' "$T/u.$i" && errors=$((errors + 1))
done
touch "$T/stop"
wait $writer
echo "# $(cat "$T/switches") republishes during 25 apt-get updates"
check "zero Hash Sum mismatch" test "$mismatch" -eq 0
check "zero apt errors or warnings" test "$errors" -eq 0
check "every republish succeeded" test ! -s "$T/writer.err"
check "the writer really republished meanwhile" test "$(cat "$T/switches")" -ge 5
[ "$mismatch" -eq 0 ] && [ "$errors" -eq 0 ] || cat "$T"/u.* | grep -E '^(W|E|Err):' | head >&2

finish
