#!/bin/sh
# A real demo on a throwaway root: build .deb files with dpkg-deb, create
# a repo, add them, search and show it, snapshot it, change the repo,
# snapshot again, compare and verify the snapshots, look at the history.
# (Publishing for apt arrives with its issue.)
set -eu
cd "$(dirname "$0")/.."
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
BIN=$(pwd)/build/cmd/aptvault
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export APTVAULT_ROOT="$work/root"

mkdeb() {	# name version arch [depends]
	d="$work/src-$1-$2"
	mkdir -p "$d/DEBIAN" "$d/usr/share/doc/$1"
	printf 'Package: %s\nVersion: %s\nArchitecture: %s\nMaintainer: Demo <demo@example.org>\nSection: misc\nPriority: optional\n%sDescription: demo package %s\n Built by the aptvault demo.\n' "$1" "$2" "$3" "${4:+Depends: $4
}" "$1" > "$d/DEBIAN/control"
	echo "$1" > "$d/usr/share/doc/$1/README"
	dpkg-deb --root-owner-group --build "$d" "$work/debs/${1}_${2}_${3}.deb" >/dev/null
}
mkdir -p "$work/debs"
mkdeb hello 1.0-1 amd64 "hello-doc (>= 1.0)"
mkdeb hello-doc 1.0-1 all

set -x
"$BIN" repo create demo --comment "aptvault demo" --distribution bookworm
"$BIN" repo add demo "$work/debs"
"$BIN" repo search demo 'hello (>= 1.0)'
"$BIN" repo show demo --with-packages
"$BIN" package show 'hello_1.0-1_amd64' --with-references
"$BIN" snapshot create demo-1 from repo demo --description "first cut"
{ set +x; } 2>/dev/null
mkdeb hello 1.1-1 amd64 "hello-doc (>= 1.0)"
set -x
"$BIN" repo add demo "$work/debs/hello_1.1-1_amd64.deb"
"$BIN" repo remove demo 'hello (<< 1.1)'
"$BIN" snapshot create demo-2 from repo demo
"$BIN" snapshot diff demo-1 demo-2
"$BIN" snapshot merge demo-all demo-1 demo-2 --no-remove
"$BIN" snapshot show demo-all --with-packages
"$BIN" snapshot verify demo-2
"$BIN" repo log demo
