#!/bin/bash
# t0140: I7 nothing half done.  A batch holding a truncated .deb, a .dsc
# whose listed file has a wrong checksum and an unreadable file fails as a
# whole, naming every bad file, with the repo's state unchanged; injected
# disk errors (failpoints) at the pool, pack and ref steps leave the state
# unchanged, and the next attempt reuses the pool.
. "$(dirname "$0")/lib.sh"

"$AV" repo create r >/dev/null
good=$(mkdeb good 1.0 amd64)
"$AV" repo add r "$good" >/dev/null
s0=$(repo_state r)

mkdir -p "$T/batch"
g2=$(mkdeb good2 1.0 amd64)
cp "$g2" "$T/batch/"
t=$(mkdeb trunc 1.0 amd64)
head -c 700 "$t" >"$T/batch/trunc_1.0_amd64.deb"
# a native source package, then corrupt the tarball after the .dsc was made
mkdir -p "$T/s/bad-src-1.0/debian/source"
(
	cd "$T/s/bad-src-1.0"
	printf '3.0 (native)\n' >debian/source/format
	printf 'Source: bad-src\nMaintainer: T <t@example.org>\n\nPackage: bad-src\nArchitecture: any\nDescription: x\n x\n' >debian/control
	printf 'bad-src (1.0) unstable; urgency=low\n\n  * x\n\n -- T <t@example.org>  Mon, 01 Jan 2024 00:00:00 +0000\n' >debian/changelog
	cd .. && dpkg-source -b bad-src-1.0 >/dev/null 2>&1
)
cp "$T/s/bad-src_1.0.dsc" "$T/batch/"
cp "$T/s/bad-src_1.0.tar.xz" "$T/batch/"
printf 'X' | dd of="$T/batch/bad-src_1.0.tar.xz" bs=1 seek=100 conv=notrunc 2>/dev/null
ln -s /nonexistent/file.deb "$T/batch/unreadable_1.0_amd64.deb"

expect_rc "a batch with bad files fails" 1 "$AV" repo add r "$T/batch"
check "the truncated .deb is named" grep -q "trunc_1.0_amd64.deb" "$T/err"
check "the .dsc with a bad checksum is named" grep -q "bad-src_1.0.dsc" "$T/err"
check "the unreadable file is named" grep -q "unreadable_1.0_amd64.deb" "$T/err"
check "it says nothing was added" grep -q "nothing was added" "$T/err"
check "the repo state is unchanged" test "$(repo_state r)" = "$s0"
check "the good file of the batch was not added" test "$(repo_count r)" -eq 1

# Failpoints: each step of the commit fails in turn.
new=$(mkdeb fresh 1.0 amd64)
for fp in pool-write store-ref; do
	APTVAULT_FAILPOINTS=$fp run "$AV" repo add r "$new"
	check "failpoint $fp: exit 1" test "$rc" -eq 1
	check "failpoint $fp: the failure is named" grep -q "failpoint $fp" "$T/err"
	check "failpoint $fp: the state is unchanged" test "$(repo_state r)" = "$s0"
done
# The pack step only runs for batches of more than 16 objects.
mkdir -p "$T/many"
for i in $(seq 1 12); do cp "$(mkdeb many$i 1.0 amd64)" "$T/many/"; done
APTVAULT_FAILPOINTS=store-pack run "$AV" repo add r "$T/many"
check "failpoint store-pack: exit 1" test "$rc" -eq 1
check "failpoint store-pack: the failure is named" grep -q "failpoint store-pack" "$T/err"
check "failpoint store-pack: the state is unchanged" test "$(repo_state r)" = "$s0"
# A store failure half way through a batch stops the import (it must not
# wait for files nobody reads any more) and changes nothing.
APTVAULT_FAILPOINTS=import-store=3 run timeout 60 "$AV" repo add r "$T/many"
check "failpoint import-store: exit 1, no hang" test "$rc" -eq 1
check "failpoint import-store: the failure is named" grep -q "failpoint import-store" "$T/err"
check "failpoint import-store: the state is unchanged" test "$(repo_state r)" = "$s0"
expect_rc "the next attempt succeeds" 0 "$AV" repo add r "$T/many" "$new"
check "with every package" test "$(repo_count r)" -eq 14

# Busy: another process holds the repo's lock.
mkdir -p "$APTVAULT_ROOT/locks/repo"
flock -o "$APTVAULT_ROOT/locks/repo/r" sleep 5 &
holder=$!
sleep 0.5
s1=$(repo_state r)
b=$(mkdeb busy 1.0 amd64)
expect_err "--no-wait on a held lock exits 75" 75 "repo 'r' is busy: another command holds its lock" \
	"$AV" repo add r "$b" --no-wait
start=$(date +%s%N)
expect_rc "--lock-timeout=1 on a held lock exits 75" 75 "$AV" repo add r "$b" --lock-timeout=1
waited=$(( ($(date +%s%N) - start) / 1000000 ))
check "--lock-timeout waited about a second ($waited ms)" test "$waited" -ge 900
check "the busy attempts changed nothing" test "$(repo_state r)" = "$s1"
expect_rc "readers are not blocked by the lock" 0 "$AV" repo show r --no-wait
kill $holder 2>/dev/null
wait $holder 2>/dev/null
expect_rc "without the holder it goes through" 0 "$AV" repo add r "$b" --no-wait

# A stale ref lock left by a crashed process is cleaned up.
refdir="$APTVAULT_ROOT/db/refs/repos"
touch "$refdir/r.lock"
c=$(mkdeb crashed 1.0 amd64)
expect_rc "a stale libgit2 ref lock does not block updates" 0 "$AV" repo add r "$c"
check "the stale lock is gone" test ! -e "$refdir/r.lock"

finish
