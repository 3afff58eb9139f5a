#!/bin/sh
# A real demo on a throwaway root: build two .deb files with dpkg-deb,
# create a repo, add them, search and show it, look at its history.
# (Snapshots and publishing for apt arrive with their issues.)
set -eu
cd "$(dirname "$0")/.."
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
BIN=$(pwd)/build/cmd/aptvault
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export APTVAULT_ROOT="$work/root"

mkdeb() {	# name version arch
	d="$work/src-$1-$2"
	mkdir -p "$d/DEBIAN" "$d/usr/share/doc/$1"
	printf 'Package: %s\nVersion: %s\nArchitecture: %s\nMaintainer: Demo <demo@example.org>\nSection: misc\nPriority: optional\nDescription: demo package %s\n Built by the aptvault demo.\n' "$1" "$2" "$3" "$1" > "$d/DEBIAN/control"
	echo "$1" > "$d/usr/share/doc/$1/README"
	dpkg-deb --root-owner-group --build "$d" "$work/debs/${1}_${2}_${3}.deb" >/dev/null
}
mkdir -p "$work/debs"
mkdeb hello 1.0-1 amd64
mkdeb hello 1.1-1 amd64
mkdeb hello-doc 1.0-1 all

set -x
"$BIN" repo create demo --comment "aptvault demo" --distribution bookworm
"$BIN" repo add demo "$work/debs"
"$BIN" repo search demo 'hello (>= 1.1)'
"$BIN" repo show demo --with-packages
"$BIN" package show 'hello_1.1-1_amd64' --with-references
"$BIN" repo log demo
