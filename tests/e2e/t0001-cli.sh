#!/bin/bash
# t0001: the front-end and the command-line grammar: family dispatch,
# --help at every level, usage errors (exit 2), the three option forms
# (--name=value, --name value, -name=value), version.
. "$(dirname "$0")/lib.sh"

expect_rc "aptvault --help exits 0" 0 "$AV" --help
check "front-end help lists the repo family" out_has '^  repo'
expect_rc "aptvault version exits 0" 0 "$AV" version
check "version prints a version" out_has '^aptvault [0-9]'
expect_rc "no family is a usage error" 2 "$AV"
expect_err "unknown family is a usage error" 2 "not an aptvault command family" "$AV" frobnicate
expect_rc "repo --help exits 0" 0 "$AV" repo --help
expect_rc "repo add --help exits 0" 0 "$AV" repo add --help
check "repo add --help documents --force-replace" out_has '--force-replace'
expect_err "unknown verb is a usage error" 2 "not a verb" "$AV" repo frob
expect_err "unknown option is a usage error" 2 "unknown option '--bogus'" "$AV" repo list --bogus
expect_err "missing arguments is a usage error" 2 "needs NAME" "$AV" repo create
expect_err "too many arguments is a usage error" 2 "too many arguments" "$AV" repo show a b
expect_err "flag with a bad value is a usage error" 2 "takes true or false" "$AV" repo list --json=maybe

expect_rc "--name=value form" 0 "$AV" repo create one --comment=first
expect_rc "--name value form" 0 "$AV" repo create two --comment second
expect_rc "aptly's -name=value form" 0 "$AV" repo create three -comment=third
run "$AV" repo list --json
check "comments set by every option form" grep -q '"first"' "$T/out"
check "  ... second" grep -q '"second"' "$T/out"
check "  ... third" grep -q '"third"' "$T/out"
expect_rc "global options before the family" 0 "$AV" --root "$APTVAULT_ROOT" --json repo list
check "global --json before the family gives JSON" grep -q '^\[' "$T/out"
expect_rc "--root as a global option elsewhere" 0 "$AV" repo list --root="$T/other"
check "a different root is empty" out_has 'No repos found'
expect_err "--lock-timeout must be a number" 2 "lock-timeout" "$AV" repo create x --lock-timeout=soon

finish
