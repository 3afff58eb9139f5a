#!/bin/sh
# Install everything aptvault needs to build, test and benchmark on Debian 12.
# Idempotent: installs only what is missing.  Needs root (or sudo).
set -eu

PKGS="build-essential meson ninja-build pkg-config
libgit2-dev libcjson-dev libcriterion-dev libcurl4-openssl-dev libgpgme-dev
libarchive-dev zlib1g-dev libdeflate-dev liblzma-dev libzstd-dev libbz2-dev libssl-dev
dpkg-dev gnupg gpgv apt xz-utils zstd python3 time git ca-certificates
aptly reprepro
man-db groff-base mandoc zsh bash-completion util-linux strace"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "install-deps: everything is installed"
	exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
