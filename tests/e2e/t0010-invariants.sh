#!/bin/bash
# t0010: I1 one writer path, checked on the sources: no file but the
# store module calls libgit2's ref writers, and nothing creates a ref with
# git_reference_create(..., force=0) (not atomic across processes).
. "$(dirname "$0")/lib.sh"

cd "$AV_SOURCE_DIR"
writers=$(grep -rlE 'git_reference_(create|create_matching|set_target|delete|symbolic_create|rename)|git_transaction_commit|git_reflog_(write|drop|delete|rename)' \
	--include='*.c' lib cmd | grep -v '^lib/store\.c$' || true)
check "only lib/store.c writes refs (found: ${writers:-none})" test -z "$writers"
force0=$(grep -rnE 'git_reference_create\(' --include='*.c' lib cmd || true)
check "git_reference_create is never used (create_matching instead)" test -z "$force0"
stage=$(grep -rlE 'av_store_ref_update|av_store_refs_update' --include='*.c' lib cmd | grep -vE '^lib/(store|txn)\.c$' || true)
check "only the txn module calls the store's ref writers (found: ${stage:-none})" test -z "$stage"
banned=$(grep -rnE '\b(strcpy|strcat|sprintf|vsprintf|strtok|gets|mktemp|tmpnam|gmtime|localtime|ctime|asctime)\(' --include='*.c' lib cmd | grep -v '^lib/banned.h' || true)
check "no banned function is called (found: ${banned:-none})" test -z "$banned"

finish
