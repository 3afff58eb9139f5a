#!/bin/sh
# A real demo on a throwaway root: build .deb files with dpkg-deb, create
# a repo, add them, search and show it, snapshot it, change the repo,
# snapshot again, compare and verify the snapshots, look at the history;
# then publish a snapshot signed with a throwaway key, let a real apt
# (isolated: its own config, lists and cache under the temp dir, never the
# machine's) read it, promote the next snapshot, and let apt see that.
set -eu
cd "$(dirname "$0")/.."
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
BIN=$(pwd)/build/cmd/aptvault
work=$(mktemp -d)
trap 'GNUPGHOME="$work/gnupg" gpgconf --kill all 2>/dev/null; rm -rf "$work"' EXIT
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

{ set +x; } 2>/dev/null
# A throwaway signing key and an apt that only looks inside $work.
export GNUPGHOME="$work/gnupg"
mkdir -p "$GNUPGHOME" && chmod 700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-gen-key 'aptvault demo <demo@example.org>' \
	ed25519 sign never 2>/dev/null
fpr=$(gpg --batch --with-colons --list-secret-keys | awk -F: '$1 == "fpr" { print $10; exit }')
gpg --batch --export "$fpr" >"$work/demo.gpg"
a="$work/apt"
mkdir -p "$a/etc/sources.list.d" "$a/etc/apt.conf.d" "$a/etc/preferences.d" \
	"$a/etc/trusted.gpg.d" "$a/lists/partial" "$a/cache/archives/partial" "$a/tmp"
: >"$a/status"
cat >"$a/apt.conf" <<APTCONF
Dir::Etc "$a/etc"; Dir::Etc::main "apt.conf"; Dir::Etc::parts "apt.conf.d";
Dir::Etc::sourcelist "sources.list"; Dir::Etc::sourceparts "sources.list.d";
Dir::Etc::preferences "preferences"; Dir::Etc::preferencesparts "preferences.d";
Dir::Etc::trusted "trusted.gpg"; Dir::Etc::trustedparts "trusted.gpg.d";
Dir::State "$a"; Dir::State::lists "lists"; Dir::State::status "$a/status";
Dir::Cache "$a/cache"; Dir::Cache::archives "archives"; Dir::Log "$a";
APT::Architecture "amd64"; APT::Architectures { "amd64"; };
Debug::NoLocking "true"; Acquire::Languages "none"; APT::Sandbox::User "root";
APTCONF
export APT_CONFIG="$a/apt.conf" TMPDIR="$a/tmp"
printf 'Types: deb\nURIs: file://%s/root/public\nSuites: bookworm\nComponents: main\nSigned-By: %s/demo.gpg\n' \
	"$work" "$work" >"$a/etc/sources.list.d/demo.sources"
set -x
"$BIN" publish snapshot demo-1 --distribution=bookworm --gpg-key="$fpr" --origin=Demo
"$BIN" publish show bookworm
gpgv --keyring "$work/demo.gpg" "$APTVAULT_ROOT/public/dists/bookworm/InRelease"
apt-get update
apt-cache policy hello
"$BIN" publish switch bookworm demo-2 --gpg-key="$fpr"
apt-get update
apt-cache policy hello
(cd "$work" && apt-get download hello && sha256sum hello_*.deb)
