#!/bin/bash
# t0100: repo create/list/show/edit/rename/drop/log, --exist-ok, --json,
# and the errors each can give (unknown name, name taken, bad name), with
# the state unchanged after every failure.
. "$(dirname "$0")/lib.sh"

expect_rc "create" 0 "$AV" repo create main --comment "our repo" --distribution bookworm
expect_err "create again says it exists" 1 "repo 'main' already exists" "$AV" repo create main
s0=$(repo_state main)
expect_rc "create --exist-ok succeeds" 0 "$AV" repo create main --exist-ok
check "--exist-ok changes nothing" test "$(repo_state main)" = "$s0"
expect_err "a name with a slash is refused" 1 "contains '/'" "$AV" repo create a/b
expect_err "an empty name is refused" 1 "name is empty" "$AV" repo create ""
expect_rc "names with dots, spaces and unicode work" 0 "$AV" repo create "stable 1.0 ünï"
run "$AV" repo list --raw
check "list --raw shows the odd name decoded" grep -qx "stable 1.0 ünï" "$T/out"

run "$AV" repo show main --json
check "show --json has the comment" grep -q '"comment":[[:space:]]*"our repo"' "$T/out"
check "show --json has the distribution" grep -q '"distribution":[[:space:]]*"bookworm"' "$T/out"
check "show --json counts packages" grep -q '"packages":[[:space:]]*0' "$T/out"
expect_err "show of an unknown repo" 1 "repo 'nope' does not exist" "$AV" repo show nope

expect_rc "edit" 0 "$AV" repo edit main --component contrib
run "$AV" repo show main --json
check "edit changed the component" grep -q '"component":[[:space:]]*"contrib"' "$T/out"
check "edit kept the comment" grep -q '"comment":[[:space:]]*"our repo"' "$T/out"
expect_err "edit with nothing to change is a usage error" 2 "nothing to change" "$AV" repo edit main
expect_err "edit of an unknown repo" 1 "does not exist" "$AV" repo edit nope --comment x

deb=$(mkdeb hello 1.0-1 amd64)
expect_rc "add a package" 0 "$AV" repo add main "$deb"
s1=$(repo_state main)
expect_err "rename onto an existing name" 1 "already exists" "$AV" repo rename main "stable 1.0 ünï"
check "failed rename changed nothing" test "$(repo_state main)" = "$s1"
expect_err "rename of an unknown repo" 1 "repo 'nope' does not exist" "$AV" repo rename nope x
expect_rc "rename" 0 "$AV" repo rename main renamed
check "the old name is gone" test -z "$(repo_state main)"
check "the new name has the same state" test "$(repo_state renamed)" = "$s1"
run "$AV" repo search renamed
check "packages follow the rename" grep -qx "hello_1.0-1_amd64" "$T/out"

run "$AV" repo log renamed
check "log shows the rename" grep -q "repo rename main renamed" "$T/out"
run "$AV" repo log renamed --json
check "log --json is an array with commands" grep -q '"command"' "$T/out"
expect_err "log of an unknown repo" 1 "does not exist" "$AV" repo log nope

expect_rc "drop" 0 "$AV" repo drop renamed
check "dropped repo is gone" test -z "$(repo_state renamed)"
expect_err "drop of an unknown repo" 1 "does not exist" "$AV" repo drop renamed
run "$AV" repo list --json
check "list --json after drop has one repo" test "$(grep -c '"name"' "$T/out")" -eq 1

finish
