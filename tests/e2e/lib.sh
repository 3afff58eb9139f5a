# lib.sh - shared by the end-to-end tests: a throwaway root, real .deb
# files built with dpkg-deb, and TAP-like checks ending in
# "N passed, M failed".
set -u
AV_BUILD_DIR=${AV_BUILD_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/build}
AV_SOURCE_DIR=${AV_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
AV="$AV_BUILD_DIR/cmd/aptvault"
T=$(mktemp -d "${TMPDIR:-/tmp}/av-e2e.XXXXXX")
export APTVAULT_ROOT="$T/root"
export CI=true
unset APTVAULT_FAILPOINTS
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/debs"
_passed=0
_failed=0

ok() { _passed=$((_passed + 1)); echo "ok - $*"; }
not_ok() { _failed=$((_failed + 1)); echo "not ok - $*"; }

# check DESC CMD...: passes when CMD succeeds.
check() {
	desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# run CMD...: runs it, keeps stdout in $T/out, stderr in $T/err, status in $rc.
run() {
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
}

# expect_rc DESC CODE CMD...: CMD exits with CODE.
expect_rc() {
	desc=$1 code=$2
	shift 2
	run "$@"
	if [ "$rc" -eq "$code" ]; then
		ok "$desc"
	else
		not_ok "$desc (exit $rc, wanted $code)"
		sed 's/^/    | /' "$T/err" | head -20
	fi
}

# expect_err DESC CODE PATTERN CMD...: CMD exits CODE and stderr matches.
expect_err() {
	desc=$1 code=$2 pat=$3
	shift 3
	run "$@"
	if [ "$rc" -eq "$code" ] && grep -qE -- "$pat" "$T/err"; then
		ok "$desc"
	else
		not_ok "$desc (exit $rc, wanted $code and /$pat/)"
		sed 's/^/    | /' "$T/err" | head -20
	fi
}

out_has() { grep -qE -- "$1" "$T/out"; }

# mkdeb NAME VERSION ARCH [EXTRA-CONTROL-LINES] -> prints the path
mkdeb() {
	name=$1 ver=$2 arch=$3 extra=${4:-}
	bare=${ver#*:}
	d="$T/src/$name-$bare-$arch"
	rm -rf "$d"
	mkdir -p "$d/DEBIAN" "$d/usr/share/doc/$name" "$d/usr/bin"
	{
		printf 'Package: %s\nVersion: %s\nArchitecture: %s\n' "$name" "$ver" "$arch"
		printf 'Maintainer: Test <test@example.org>\nSection: misc\nPriority: optional\n'
		[ -n "$extra" ] && printf '%s\n' "$extra"
		printf 'Description: test package %s\n built by the end-to-end tests\n' "$name"
	} >"$d/DEBIAN/control"
	echo "$name $ver $extra" >"$d/usr/share/doc/$name/README"
	printf '#!/bin/sh\necho %s\n' "$name" >"$d/usr/bin/$name"
	chmod 755 "$d/usr/bin/$name"
	out="$T/debs/${name}_${bare}_${arch}.deb"
	dpkg-deb --root-owner-group --build "$d" "$out" >/dev/null || return 1
	echo "$out"
}

# The current state oid of a repo ("" when it does not exist).
repo_state() {
	"$AV" repo show "$1" --json 2>/dev/null | sed -n 's/.*"state":[[:space:]]*"\([0-9a-f]*\)".*/\1/p'
}

repo_count() {
	"$AV" repo show "$1" --json 2>/dev/null | sed -n 's/.*"packages":[[:space:]]*\([0-9]*\).*/\1/p'
}

finish() {
	echo "$_passed passed, $_failed failed"
	[ "$_failed" -eq 0 ]
}

# mkdsc NAME VERSION -> builds a native source package with dpkg-source
# in $T/srcpkg and prints the path of its .dsc
mkdsc() {
	name=$1 ver=$2
	d="$T/srcpkg/$name-$ver"
	rm -rf "$d"
	mkdir -p "$d/debian/source" || return 1
	printf '3.0 (native)\n' >"$d/debian/source/format"
	printf 'Source: %s\nSection: misc\nPriority: optional\nMaintainer: Test <test@example.org>\nStandards-Version: 4.6.2\n\nPackage: %s\nArchitecture: any\nDescription: test\n test\n' \
		"$name" "$name" >"$d/debian/control"
	printf '%s (%s) unstable; urgency=low\n\n  * Test.\n\n -- Test <test@example.org>  Mon, 01 Jan 2024 00:00:00 +0000\n' \
		"$name" "$ver" >"$d/debian/changelog"
	printf '#!/usr/bin/make -f\n%%:\n\tdh $@\n' >"$d/debian/rules"
	(cd "$T/srcpkg" && dpkg-source -b "$name-$ver" >/dev/null 2>&1) || return 1
	echo "$T/srcpkg/${name}_$ver.dsc"
}

# tree_sums DIR -> one "sha256  path" line per file under DIR, sorted
# (to prove a failed command left a tree byte for byte as it was)
tree_sums() {
	(cd "$1" 2>/dev/null && find . -type f -print0 | sort -z | xargs -0r sha256sum)
}
