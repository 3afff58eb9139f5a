#!/bin/bash
# t0500: snapshot create (from repo, empty), O(1) reuse of the repo's
# list, lineage in show, list/search/rename/drop, diff, merge in its three
# modes, filter, repo create from snapshot, immutability, and the errors
# each can give with the state unchanged.
. "$(dirname "$0")/lib.sh"

db() { git --git-dir="$APTVAULT_ROOT/db" "$@"; }
snap_json() { "$AV" snapshot show "$1" --json 2>/dev/null; }
jfield() { sed -n "s/.*\"$1\":[[:space:]]*\"\{0,1\}\([^\",]*\)\"\{0,1\}.*/\1/p" | head -1; }

"$AV" repo create main >/dev/null
for spec in "a 1.0 amd64" "a 1.1 amd64" "b 2.0 all" "c 1.0 arm64"; do
	set -- $spec
	mkdeb "$1" "$2" "$3" >/dev/null
done
"$AV" repo add main "$T/debs" >/dev/null

expect_rc "create from repo" 0 "$AV" snapshot create s1 from repo main --description "first"
rstate=$(repo_state main)
snap_json s1 >"$T/s1.json"
check "the snapshot reuses the repo's package-list tree (O(1))" \
	test "$(jfield listTree <"$T/s1.json")" = "$(db rev-parse "$rstate:packages")"
check "show --json records the source repo and its state (lineage)" \
	grep -q "\"state\":[[:space:]]*\"$rstate\"" "$T/s1.json"
check "show --json has the description" grep -q '"description":[[:space:]]*"first"' "$T/s1.json"
check "show --json counts packages" grep -q '"packages":[[:space:]]*4' "$T/s1.json"
run "$AV" snapshot show s1
check "show prints the lineage" grep -q "repo main (state" "$T/out"

expect_err "create again says it exists" 1 "snapshot 's1' already exists" \
	"$AV" snapshot create s1 from repo main
expect_err "create from an unknown repo" 1 "repo 'nope' does not exist" \
	"$AV" snapshot create s2 from repo nope
expect_err "create from an unknown mirror" 1 "mirror 'nope' does not exist" \
	"$AV" snapshot create s2 from mirror nope
expect_err "a bad create grammar is a usage error" 2 "expected 'NAME from repo" \
	"$AV" snapshot create s2 of repo main
expect_rc "create empty" 0 "$AV" snapshot create nothing empty
check "  it has no packages" grep -q '"packages":[[:space:]]*0' <(snap_json nothing)

# immutability: the repo changes, the snapshot does not
mkdeb d 1.0 amd64 >/dev/null
"$AV" repo add main "$T/debs/d_1.0_amd64.deb" >/dev/null
"$AV" repo remove main 'a (= 1.0)' >/dev/null
run "$AV" snapshot search s1
check "the snapshot keeps what the repo had" test "$(wc -l <"$T/out")" -eq 4
expect_rc "a second snapshot" 0 "$AV" snapshot create s2 from repo main

run "$AV" snapshot search s1 'a (>= 1.1)' --format '{{.Package}} {{.Version}}'
check "search with a query and --format" test "$(cat "$T/out")" = "a 1.1"
expect_err "search with no match exits 1" 1 "no packages found" "$AV" snapshot search s1 zzz
run "$AV" snapshot search s1 --json
check "search --json" grep -q '"Package":[[:space:]]*"b"' "$T/out"

run "$AV" snapshot list --raw
check "list --raw" test "$(tr '\n' ' ' <"$T/out")" = "nothing s1 s2 "
run "$AV" snapshot list --sort=time --json
check "list --sort=time --json is oldest first" \
	test "$(grep -o '"name":[[:space:]]*"[^"]*"' "$T/out" | head -1 | grep -c s1)" -eq 1
expect_err "list --sort takes name or time" 2 "--sort takes" "$AV" snapshot list --sort=size

# diff
run "$AV" snapshot diff s1 s2
check "diff shows the removed version" grep -qE '^- amd64 +\| a +\| 1.0 ' "$T/out"
check "diff shows the added package" grep -qE '^\+ amd64 +\| d +\| - +\| 1.0' "$T/out"
run "$AV" snapshot diff s1 s2 --only-matching
check "diff --only-matching hides one-sided packages" test "$(grep -c '^[-+!] ' "$T/out")" -eq 0
run "$AV" snapshot diff s1 s2 --json
check "diff --json" grep -q '"right":[[:space:]]*"1.0"' "$T/out"
run "$AV" snapshot diff s1 s1
check "diff of a snapshot with itself" grep -q "identical" "$T/out"
expect_err "diff with an unknown snapshot" 1 "snapshot 'zz' does not exist" "$AV" snapshot diff s1 zz

# merge
expect_rc "merge (default)" 0 "$AV" snapshot merge m1 s1 s2
run "$AV" snapshot search m1
check "  default: s2's versions replace s1's per name+arch" \
	test "$(sort "$T/out" | tr '\n' ' ')" = "a_1.1_amd64 b_2.0_all c_1.0_arm64 d_1.0_amd64 "
expect_rc "merge --no-remove" 0 "$AV" snapshot merge m2 s2 s1 --no-remove
check "  --no-remove keeps every version" test "$(repo_count main)" -le 4 -a \
	"$("$AV" snapshot search m2 | wc -l)" -eq 5
expect_rc "merge --latest" 0 "$AV" snapshot merge m3 s2 s1 --latest
run "$AV" snapshot search m3 a
check "  --latest keeps only a 1.1" test "$(cat "$T/out")" = "a_1.1_amd64"
expect_err "--latest and --no-remove together" 2 "exclude each other" \
	"$AV" snapshot merge m4 s1 s2 --latest --no-remove
expect_err "merge into an existing name" 1 "already exists" "$AV" snapshot merge m1 s1
expect_err "merge from an unknown snapshot" 1 "snapshot 'zz' does not exist" \
	"$AV" snapshot merge m4 s1 zz
check "  and creates nothing" test -z "$(snap_json m4)"
run "$AV" snapshot show m1 --json
check "merge records both sources" test "$(grep -c '"kind":[[:space:]]*"snapshot"' "$T/out")" -eq 2

# filter (no dependencies)
expect_rc "filter" 0 "$AV" snapshot filter s1 f1 '$Architecture (amd64)'
run "$AV" snapshot search f1
check "  keeps the matches (and Architecture: all, as aptly)" \
	test "$(sort "$T/out" | tr '\n' ' ')" = "a_1.0_amd64 a_1.1_amd64 b_2.0_all "

# dependency policy: aptly 1.5 ignores versioned Provides; dpkg honours them
"$AV" repo create virt >/dev/null
mkdir -p "$T/vp"
cp "$(mkdeb app 1.0 amd64 'Depends: mail-agent (>= 2)')" "$T/vp/"
cp "$(mkdeb mta 1.0 amd64 'Provides: mail-agent (= 2.5)')" "$T/vp/"
"$AV" repo add virt "$T/vp" >/dev/null
"$AV" snapshot create vs from repo virt >/dev/null
expect_rc "verify (aptly policy): a versioned Provides satisfies nothing" 1 \
	"$AV" snapshot verify vs
check "  it names the dependency as aptly does" grep -q "mail-agent (>= 2) \[amd64\]" "$T/out"
expect_rc "verify --dep-policy=debian: the versioned Provides satisfies it" 0 \
	"$AV" snapshot verify vs --dep-policy=debian
echo '{"dependencyPolicy": "debian"}' >"$APTVAULT_ROOT/aptvault.json"
expect_rc "  and so does the dependencyPolicy key" 0 "$AV" snapshot verify vs
rm "$APTVAULT_ROOT/aptvault.json"
expect_err "a bad policy is a usage error" 2 "must be 'aptly' or 'debian'" \
	"$AV" snapshot verify vs --dep-policy=strict

# rename and drop
expect_rc "rename" 0 "$AV" snapshot rename s2 second
expect_err "rename onto an existing name" 1 "already exists" "$AV" snapshot rename second s1
expect_err "drop refuses a snapshot others were made from" 1 "used as a source by" \
	"$AV" snapshot drop s1
check "  and keeps it" test -n "$(snap_json s1)"
expect_rc "drop --force" 0 "$AV" snapshot drop s1 --force
run "$AV" snapshot search m1
check "  the merge made from it keeps its packages" test "$(wc -l <"$T/out")" -eq 4
expect_err "drop of an unknown snapshot" 1 "does not exist" "$AV" snapshot drop s1

# repo from snapshot
expect_rc "repo create from snapshot" 0 "$AV" repo create fromsnap from snapshot m1
check "  shares the snapshot's list" \
	test "$(db rev-parse "$(repo_state fromsnap):packages")" = "$(jfield listTree < <(snap_json m1))"
expect_err "repo create from an unknown snapshot" 1 "snapshot 'zz' does not exist" \
	"$AV" repo create other from snapshot zz
check "  and creates nothing" test -z "$(repo_state other)"

finish
