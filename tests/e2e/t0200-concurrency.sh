#!/bin/bash
# t0200: many processes at once against one root.
#   I4  16 concurrent `repo create same`: exactly one wins, 15 say it exists.
#   I5  16 concurrent `repo add` of different packages: all 16 present.
#   rename racing add, drop racing add: the outcome is a serial order, no
#   package lands on a vanished name, no error is swallowed.
. "$(dirname "$0")/lib.sh"

N=16
# A start barrier: every child waits for the fifo to open.
barrier() { mkfifo "$T/go"; }
go() { exec 9>"$T/go"; exec 9>&-; rm -f "$T/go"; }
wait_go() { cat "$T/go" >/dev/null; }

barrier
for i in $(seq 1 $N); do
	( wait_go; "$AV" repo create same >"$T/c$i.out" 2>"$T/c$i.err"; echo $? >"$T/c$i.rc" ) &
done
sleep 0.3
go
wait
wins=0 exists=0 other=0
for i in $(seq 1 $N); do
	r=$(cat "$T/c$i.rc")
	if [ "$r" -eq 0 ]; then wins=$((wins + 1));
	elif grep -q "repo 'same' already exists" "$T/c$i.err"; then exists=$((exists + 1));
	else other=$((other + 1)); cat "$T/c$i.err"; fi
done
check "I4: exactly one create wins ($wins)" test "$wins" -eq 1
check "I4: the other 15 say it exists ($exists)" test "$exists" -eq 15
check "I4: no other outcome ($other)" test "$other" -eq 0
check "I4: the repo is intact" test "$(repo_count same)" -eq 0

for i in $(seq 1 $N); do mkdeb "pkg$i" 1.0 amd64 >"$T/p$i"; done
barrier
for i in $(seq 1 $N); do
	( wait_go; "$AV" repo add same "$(cat "$T/p$i")" >/dev/null 2>"$T/a$i.err"; echo $? >"$T/a$i.rc" ) &
done
sleep 0.3
go
wait
fails=0
for i in $(seq 1 $N); do [ "$(cat "$T/a$i.rc")" -eq 0 ] || { fails=$((fails + 1)); cat "$T/a$i.err"; }; done
check "I5: all 16 adds succeed ($fails failed)" test "$fails" -eq 0
check "I5: all 16 packages are present" test "$(repo_count same)" -eq 16
run "$AV" repo log same
check "I5: history has 16 adds and the create" test "$(wc -l <"$T/out")" -eq 17

# rename racing add, 10 rounds
bad=0
for round in $(seq 1 10); do
	"$AV" repo create "ra$round" >/dev/null
	d=$(mkdeb "race$round" 1.0 amd64)
	"$AV" repo add "ra$round" "$d" --remove-files >/dev/null 2>&1 || true
	d=$(mkdeb "late$round" 1.0 amd64)
	( "$AV" repo add "ra$round" "$d" >/dev/null 2>"$T/ra.err"; echo $? >"$T/ra.rc" ) &
	( "$AV" repo rename "ra$round" "rb$round" >/dev/null 2>"$T/rn.err"; echo $? >"$T/rn.rc" ) &
	wait
	addrc=$(cat "$T/ra.rc") rnrc=$(cat "$T/rn.rc")
	inb=$("$AV" repo search "rb$round" "late$round" 2>/dev/null | wc -l)
	ina=$("$AV" repo search "ra$round" 2>/dev/null | wc -l)
	if [ "$rnrc" -ne 0 ]; then bad=$((bad + 1)); echo "rename failed: $(cat "$T/rn.err")"; fi
	if [ "$addrc" -eq 0 ] && [ "$inb" -ne 1 ]; then bad=$((bad + 1)); echo "add said ok but the package is not under the new name"; fi
	if [ "$addrc" -ne 0 ] && ! grep -q "repo 'ra$round' does not exist" "$T/ra.err"; then bad=$((bad + 1)); echo "add failed oddly: $(cat "$T/ra.err")"; fi
	if [ "$addrc" -ne 0 ] && [ "$inb" -ne 0 ]; then bad=$((bad + 1)); echo "add failed but the package is there"; fi
	if [ "$ina" -ne 0 ]; then bad=$((bad + 1)); echo "the old name still answers"; fi
done
check "rename racing add ends in a serial order, 10 rounds ($bad anomalies)" test "$bad" -eq 0

# drop racing add, 10 rounds
bad=0
for round in $(seq 1 10); do
	"$AV" repo create "dr$round" >/dev/null
	d=$(mkdeb "drop$round" 1.0 amd64)
	( "$AV" repo add "dr$round" "$d" >/dev/null 2>"$T/da.err"; echo $? >"$T/da.rc" ) &
	( "$AV" repo drop "dr$round" >/dev/null 2>"$T/dd.err"; echo $? >"$T/dd.rc" ) &
	wait
	addrc=$(cat "$T/da.rc") droprc=$(cat "$T/dd.rc")
	[ "$droprc" -eq 0 ] || { bad=$((bad + 1)); echo "drop failed: $(cat "$T/dd.err")"; }
	if [ "$addrc" -ne 0 ] && ! grep -q "repo 'dr$round' does not exist" "$T/da.err"; then bad=$((bad + 1)); echo "add failed oddly: $(cat "$T/da.err")"; fi
	[ -z "$(repo_state "dr$round")" ] || { bad=$((bad + 1)); echo "the dropped repo came back"; }
done
check "drop racing add ends in a serial order, 10 rounds ($bad anomalies)" test "$bad" -eq 0

# mixed writers on two repos while readers read
"$AV" repo create m1 >/dev/null
"$AV" repo create m2 >/dev/null
for i in $(seq 1 8); do mkdeb "mix$i" 1.0 amd64 >"$T/m$i"; done
for i in $(seq 1 8); do
	r=m$(( i % 2 + 1 ))
	( "$AV" repo add "$r" "$(cat "$T/m$i")" >/dev/null 2>&1; echo $? >"$T/m$i.rc" ) &
	( "$AV" repo list >/dev/null 2>&1 ) &
done
wait
fails=0
for i in $(seq 1 8); do [ "$(cat "$T/m$i.rc")" -eq 0 ] || fails=$((fails + 1)); done
check "writers on two repos with readers: no failure ($fails)" test "$fails" -eq 0
check "  every package landed" test $(( $(repo_count m1) + $(repo_count m2) )) -eq 8

finish
