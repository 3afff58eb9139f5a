#!/bin/bash
# t0620 - a republish copies a changed index from the live generation up
# to its first changed chunk and resumes its digests from the state saved
# there.  The file and its Release must be exactly what a fresh publish
# makes, apt must accept them, and what cannot be trusted (a live file
# edited since, a state another build saved) must not be used.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/aptlib.sh"

PUB="$APTVAULT_ROOT/public"
D="$PUB/dists/big"
REF='refs/published/%2E%20big'
db() { git --git-dir="$APTVAULT_ROOT/db" "$@"; }
check "a throwaway signing key" gpg_key_init
check "an isolated apt" apt_init amd64

# Every file Release lists that is there has the size and the four
# digests Release gives it.
release_true() {
	python3 - "$1" <<'EOF'
import hashlib, os, sys
base = sys.argv[1]
algs = {"MD5Sum": "md5", "SHA1": "sha1", "SHA256": "sha256", "SHA512": "sha512"}
sec, seen, bad = None, 0, 0
for line in open(os.path.join(base, "Release")):
    if not line.startswith(" "):
        sec = line.split(":")[0]
        continue
    if sec not in algs:
        continue
    digest, size, name = line.split()
    path = os.path.join(base, name)
    if not os.path.isfile(path):
        continue
    data = open(path, "rb").read()
    seen += 1
    if len(data) != int(size) or hashlib.new(algs[sec], data).hexdigest() != digest:
        print("wrong %s of %s" % (sec, name), file=sys.stderr)
        bad += 1
sys.exit(1 if bad or seen < 8 else 0)
EOF
}

# resumed_bytes of the last --json run.
resumed() { sed -n 's/.*"resumed_bytes":[[:space:]]*\([0-9]*\).*/\1/p' "$T/out"; }

# 160 packages with 8 KB of incompressible text each: a 1.3 MB Packages
# and a 1 MB Packages.gz, both past the 512 KB checkpoint interval.
debs=()
for i in $(seq -w 0 159); do
	debs+=("$(mkdeb "pkg$i" 1.0 amd64 "X-Pad: $(head -c 6000 /dev/urandom | base64 -w0)")")
done
"$AV" repo create big >/dev/null
expect_rc "add 160 packages" 0 "$AV" repo add big "${debs[@]}"
expect_rc "first publish" 0 "$AV" publish repo big --distribution=big \
	--architectures=amd64 --compress=gz --gpg-key="$KEY_FPR" --json
check "a first publish resumes nothing" test "$(resumed)" = 0
check "its Release is true" release_true "$D"
check "the state saved checkpoints (Packages and Packages.gz)" \
	test "$(db show "$REF:meta.json" | grep -o '"avd1 [0-9]*' | wc -l)" -ge 3
check "Packages is over 1 MB" test "$(stat -c %s "$D/main/binary-amd64/Packages")" -gt 1000000

# ---- one package added (after the first checkpoints) ----
"$AV" repo add big "$(mkdeb pkg150a 1.0 amd64 "X-Pad: $(head -c 6000 /dev/urandom | base64 -w0)")" >/dev/null
expect_rc "republish after one change" 0 "$AV" publish update big --gpg-key="$KEY_FPR" --json
r=$(resumed)
check "it resumed from a checkpoint ($r bytes not hashed again)" test "${r:-0}" -gt 500000
check "its Release is true" release_true "$D"
check "gpgv verifies it" gpgv_check "$D/InRelease"
APT_SOURCE_TYPES=deb apt_source "file://$PUB" big main
check "apt-get update accepts it" apt_update
check "apt sees the new package" test "$(apt_candidate pkg150a)" = "1.0"
check "and the last one" test "$(apt_candidate pkg159)" = "1.0"
expect_rc "a fresh publish of the same repo" 0 "$AV" publish repo big --distribution=fresh \
	--architectures=amd64 --compress=gz --skip-signing --json
check "it resumes nothing (no live file of its own)" test "$(resumed)" = 0
F="$PUB/dists/fresh"
for f in main/binary-amd64/Packages main/binary-amd64/Packages.gz; do
	check "the resumed $f is the fresh one, byte for byte" cmp -s "$D/$f" "$F/$f"
	check "and Release gives it the same digests" test \
		"$(grep " $f\$" "$D/Release")" = "$(grep " $f\$" "$F/Release")"
done

# ---- the pool follows: a removed package's file goes, its chunk's others stay ----
# Every Filename of the published Packages is in the pool.
pool_complete() {
	for f in $(sed -n 's/^Filename: //p' "$D/main/binary-amd64/Packages"); do
		test -f "$PUB/$f" || return 1
	done
}
check "every file Packages names is in the pool" pool_complete
"$AV" repo add big "$(mkdeb pkg152a 1.0 amd64)" >/dev/null
expect_rc "republish after an addition" 0 "$AV" publish update big --skip-signing --json
check "it removed nothing" grep -q '"pool_removed":[[:space:]]*0$' "$T/out"
check "every file Packages names is in the pool" pool_complete
"$AV" repo remove big pkg151 >/dev/null
expect_rc "republish after a removal" 0 "$AV" publish update big --skip-signing --json
check "the file stays while 'fresh' still publishes it" \
	test -f "$PUB/pool/main/p/pkg151/pkg151_1.0_amd64.deb"
expect_rc "republish 'fresh' too" 0 "$AV" publish update fresh --skip-signing --json
check "now one pool file was removed" grep -q '"pool_removed":[[:space:]]*1$' "$T/out"
check "it was pkg151's" test ! -e "$PUB/pool/main/p/pkg151/pkg151_1.0_amd64.deb"
check "every file Packages names is still in the pool" pool_complete
check "its Release is true" release_true "$D"

# ---- a failure on the resumed path leaves everything as it was ----
"$AV" repo add big "$(mkdeb pkg155a 1.0 amd64)" >/dev/null
before=$(tree_sums "$PUB")
APTVAULT_FAILPOINTS=publish-write expect_err "a write failure fails the republish" 1 \
	"publish-write" "$AV" publish update big --skip-signing
check "and leaves the published tree byte for byte" test "$(tree_sums "$PUB")" = "$before"
expect_rc "the next republish works" 0 "$AV" publish update big --skip-signing --json
check "and resumes" test "$(resumed)" -gt 0
check "its Release is true" release_true "$D"

# ---- a live file edited in place is not trusted ----
printf 'X' | dd of="$D/main/binary-amd64/Packages" bs=1 seek=200 conv=notrunc 2>/dev/null
touch -d '2001-01-01' "$D/main/binary-amd64/Packages.gz"
"$AV" repo add big "$(mkdeb pkg140a 1.0 amd64)" >/dev/null
expect_rc "republish after an edit of the live files" 0 "$AV" publish update big \
	--skip-signing --json
check "nothing was taken from the edited files" test "$(resumed)" = 0
check "its Release is true" release_true "$D"
expect_rc "the fresh one, updated" 0 "$AV" publish update fresh --skip-signing
check "the rebuilt Packages is the fresh one (the edit is gone)" \
	cmp -s "$D/main/binary-amd64/Packages" "$F/main/binary-amd64/Packages"

# ---- a saved state another build made is not used ----
# The state's meta.json rewritten through git, and the generation's
# marker pointed at the new commit, as if this build had written it.
rewrite_meta() {
	old=$(db rev-parse "$REF") &&
		db show "$REF:meta.json" | sed "$1" >"$T/meta.json" &&
		blob=$(db hash-object -w "$T/meta.json") &&
		tree=$(db ls-tree "$REF" | sed "s/[0-9a-f]\{40\}\tmeta.json\$/$blob\tmeta.json/" | db mktree) &&
		new=$(db commit-tree "$tree" -p "$old" -m rewritten) &&
		db update-ref "$REF" "$new" "$old" &&
		echo "$new" >"$D/.aptvault-state"
}
check "the state rewritten unchanged" rewrite_meta 's/^//'
"$AV" repo add big "$(mkdeb pkg145a 1.0 amd64)" >/dev/null
expect_rc "republish" 0 "$AV" publish update big --skip-signing --json
check "resumes (the rewrite itself breaks nothing)" test "$(resumed)" -gt 0
# a republish after the rewrite $2 (named $1), adding package $3, takes
# nothing from the live files
not_trusted() {
	check "$1" rewrite_meta "$2"
	"$AV" repo add big "$(mkdeb "$3" 1.0 amd64)" >/dev/null
	expect_rc "republish" 0 "$AV" publish update big --skip-signing --json
	check "nothing resumed from them" test "$(resumed)" = 0
	check "its Release is true" release_true "$D"
	expect_rc "the fresh one, updated" 0 "$AV" publish update fresh --skip-signing
	check "the Packages is the fresh one" \
		cmp -s "$D/main/binary-amd64/Packages" "$F/main/binary-amd64/Packages"
}
not_trusted "the states now say another layout" 's/"avd1 \([0-9]*\) 92 /"avd1 \1 93 /g' pkg157a

# ---- a layout that is not this build's text is not used ----
# (older builds wrote it as arrays; a damaged one the same)
"$AV" repo add big "$(mkdeb pkg158a 1.0 amd64)" >/dev/null
expect_rc "republish" 0 "$AV" publish update big --skip-signing --json
check "resumes again" test "$(resumed)" -gt 0
not_trusted "the layouts say arrays" 's/"layout":"[^"]*"/"layout":[["x",0,1]]/g' pkg159a
"$AV" repo add big "$(mkdeb pkg161a 1.0 amd64)" >/dev/null
expect_rc "republish" 0 "$AV" publish update big --skip-signing --json
check "resumes again" test "$(resumed)" -gt 0
not_trusted "the layouts are damaged" \
	's/"layout":"\([0-9a-f]\{64\}\) [0-9]*/"layout":"\1 x/g' pkg160a

finish
