#!/bin/bash
# t0300: package search/show across repos: each package once however many
# repos hold it, --with-references naming exactly the repos that hold that
# content, --with-files pointing at real pool files, --json, and errors.
. "$(dirname "$0")/lib.sh"

"$AV" repo create a >/dev/null
"$AV" repo create b >/dev/null
p=$(mkdeb shared 1.0 amd64)
q=$(mkdeb only-a 2.0 all)
"$AV" repo add a "$p" "$q" >/dev/null
"$AV" repo add b "$p" >/dev/null

run "$AV" package search
check "search lists each package once" test "$(sort "$T/out" | tr '\n' ' ')" = "only-a_2.0_all shared_1.0_amd64 "
run "$AV" package search 'Name (% only*)' --format '{{.Package}} {{.Version}}'
check "search with a query and --format" test "$(cat "$T/out")" = "only-a 2.0"
expect_rc "show --with-references --with-files" 0 "$AV" package show shared --with-references --with-files
check "  prints the stanza" grep -q '^SHA256: ' "$T/out"
check "  does not print internal fields" sh -c "! grep -q '^Aptvault-' '$T/out'"
check "  names repo a" grep -q '^  repo a$' "$T/out"
check "  names repo b" grep -q '^  repo b$' "$T/out"
f=$(sed -n 's|^  \(/.*/pool/.*\)$|\1|p' "$T/out")
check "  the pool file exists and matches" sh -c "test -f '$f' && cmp -s '$f' '$p'"
run "$AV" package show 'only-a_2.0_all' --json --with-references
check "show --json" grep -q '"Package":[[:space:]]*"only-a"' "$T/out"
check "  references in JSON" grep -q '"name":[[:space:]]*"a"' "$T/out"
expect_err "show of nothing exits 1" 1 "no packages found" "$AV" package show 'no-such-package'
expect_err "a bad query" 1 "column" "$AV" package search '(unbalanced'
expect_err "show needs a query" 2 "needs QUERY" "$AV" package show

finish
