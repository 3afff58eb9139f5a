#!/bin/bash
# t0120: repo remove/copy/move with queries (several queries OR'ed, @file),
# --dry-run changing nothing, conflicts refusing the whole operation, and
# search/--format/--json output.
. "$(dirname "$0")/lib.sh"

"$AV" repo create src >/dev/null
"$AV" repo create dst >/dev/null
for spec in "nginx 1.22-1 amd64" "nginx 1.24-1 amd64" "nginx-doc 1.24-1 all" \
	    "libfoo1 2.0-1 amd64" "libfoo1 2.0-1 arm64" "tool 0.1 amd64"; do
	set -- $spec
	mkdeb "$1" "$2" "$3" >/dev/null
done
mkdeb web 1.0 amd64 "Provides: httpd" >/dev/null
"$AV" repo add src "$T/debs" >/dev/null

run "$AV" repo search src 'nginx (>= 1.23)'
check "search with a version constraint" test "$(cat "$T/out")" = "nginx_1.24-1_amd64"
run "$AV" repo search src 'httpd'
check "search matches Provides" test "$(cat "$T/out")" = "web_1.0_amd64"
run "$AV" repo search src '$Architecture (arm64)'
check "search by architecture (Architecture: all matches too, as in aptly)" \
	test "$(sort "$T/out" | tr '\n' ' ')" = "libfoo1_2.0-1_arm64 nginx-doc_1.24-1_all "
run "$AV" repo search src 'Name (% nginx*)' --format '{{.Package}}={{.Version}}'
check "--format template" grep -qx "nginx-doc=1.24-1" "$T/out"
run "$AV" repo search src tool --json
check "search --json" grep -q '"Package":[[:space:]]*"tool"' "$T/out"
expect_err "a bad query points at the column" 1 "column" "$AV" repo search src 'nginx (>= '
expect_err "search with no match exits 1, as aptly" 1 "no packages found" "$AV" repo search src 'nothing-like-this'

s=$(repo_state src)
expect_rc "remove --dry-run" 0 "$AV" repo remove src 'libfoo1' --dry-run
check "dry run names what it would remove" grep -q "would remove libfoo1_2.0-1_amd64" "$T/out"
check "dry run changes nothing" test "$(repo_state src)" = "$s"

expect_rc "copy with two queries (OR)" 0 "$AV" repo copy src dst 'nginx (= 1.22-1)' tool
run "$AV" repo search dst
check "copy brought both" test "$(wc -l <"$T/out")" -eq 2
check "copy left the source alone" test "$(repo_count src)" -eq 7

echo 'libfoo1 {arm64}' >"$T/q"
expect_rc "move with a query from @file" 0 "$AV" repo move src dst "@$T/q"
check "move added to dst" test "$(repo_count dst)" -eq 3
check "move removed from src" test "$(repo_count src)" -eq 6

# Conflict: dst gets a different nginx 1.24-1.
mkdeb nginx 1.24-1 amd64 "Depends: tool" >"$T/other"
"$AV" repo create third >/dev/null
"$AV" repo add third "$(cat "$T/other")" >/dev/null
s1=$(repo_state src) s3=$(repo_state third)
expect_err "move onto a conflicting package is refused" 1 "different content" \
	"$AV" repo move src third 'nginx'
check "  src unchanged" test "$(repo_state src)" = "$s1"
check "  third unchanged" test "$(repo_state third)" = "$s3"
expect_err "copy to itself is refused" 1 "both repo" "$AV" repo copy src src nginx
expect_err "copy from an unknown repo" 1 "repo 'nope' does not exist" "$AV" repo copy nope dst nginx
expect_err "copy to an unknown repo" 1 "repo 'nope' does not exist" "$AV" repo copy src nope nginx

expect_rc "remove" 0 "$AV" repo remove src 'nginx-doc' '$Architecture (amd64), tool'
check "remove says what it removed" grep -q "removing nginx-doc_1.24-1_all" "$T/out"
check "two removed" test "$(repo_count src)" -eq 4
expect_rc "remove --json" 0 "$AV" repo remove src web --json
check "remove --json reports the count" grep -q '"removed":[[:space:]]*1' "$T/out"
expect_err "remove from an unknown repo" 1 "does not exist" "$AV" repo remove nope web

# --with-deps: the dependencies the destination lacks come along
"$AV" repo create deps >/dev/null
"$AV" repo create target >/dev/null
mkdir -p "$T/dd"
for spec in "app|Depends: libx (>= 1.0), liby | libz" "libx|Depends: base" "liby|" "libz|" "base|" "other|"; do
	n=${spec%%|*} extra=${spec#*|}
	cp "$(mkdeb "$n" 1.0 amd64 "$extra")" "$T/dd/"
done
"$AV" repo add deps "$T/dd" >/dev/null
"$AV" repo add target "$T/dd/base_1.0_amd64.deb" >/dev/null
expect_rc "copy --with-deps" 0 "$AV" repo copy deps target app --with-deps
run "$AV" repo search target
# as aptly does, every alternative of an unsatisfied 'a | b' comes along
check "  brings the app, its dependency chain and the alternatives (as aptly)" \
	test "$(sort "$T/out" | tr '\n' ' ')" = "app_1.0_amd64 base_1.0_amd64 libx_1.0_amd64 liby_1.0_amd64 libz_1.0_amd64 "
expect_rc "copy without --with-deps takes only the match" 0 "$AV" repo copy deps src app
run "$AV" repo search src 'Name (app)'
check "  only app" test "$(cat "$T/out")" = "app_1.0_amd64"

finish
