# aptlib.sh - the client side of the publish tests: a throwaway GnuPG
# home with signing keys, an isolated apt (its own APT_CONFIG, sources,
# lists and caches, all under $T; the machine's /etc/apt and /var/lib/apt
# are never read or written), a tiny HTTP server and gpgv checks.
# Source it after lib.sh, which sets $T and the EXIT trap this extends.
# shellcheck disable=SC2034 # KEY_FPR, HTTPD_PORT, ... are for the tests

AV_E2E_DIR=${AV_E2E_DIR:-$(cd "$(dirname "$0")" && pwd)}
HTTPD_PID=
HTTPD_PORT=

# _aptlib_cleanup: stops the HTTP server, stops any gpg-agent started for
# $T/gnupg, removes $T.  Safe to run more than once.  Replaces lib.sh's
# EXIT trap (which only removed $T); fatal signals run it too, so a killed
# test leaves no server or agent behind.
_aptlib_cleanup() {
	httpd_stop
	if [ -d "$T/gnupg" ]; then
		GNUPGHOME="$T/gnupg" gpgconf --kill all >/dev/null 2>&1
	fi
	rm -rf "$T"
}
trap '_aptlib_cleanup' EXIT
trap '_aptlib_cleanup; trap - EXIT; exit 129' HUP
trap '_aptlib_cleanup; trap - EXIT; exit 130' INT
trap '_aptlib_cleanup; trap - EXIT; exit 143' TERM

# _aptlib_fail LOG: prints LOG indented on stderr (for a failed step).
_aptlib_fail() {
	sed 's/^/    | /' "$1" >&2
}

# _aptlib_bad_lines LOG: true when LOG has an apt warning or error line:
# one matching $APT_BAD_LINES (an ERE, default "W:", "E:" or "Err:" at the
# start of a line; add "|^N:" to also refuse notices such as "Skipping
# acquire of configured file").
_aptlib_bad_lines() {
	grep -qE "${APT_BAD_LINES:-^(W|E|Err):}" "$1"
}

# _apt CMD...: runs an apt command with TMPDIR inside $T, so the temp
# files apt's gpgv method leaves when it is killed go away with $T.
_apt() {
	TMPDIR="$T/apt/tmp" "$@"
}

# gpg_key_init: makes a throwaway GNUPGHOME at $T/gnupg (mode 700) holding
# one ed25519 signing key without passphrase, exports GNUPGHOME, sets
# KEY_FPR to its fingerprint and exports the public key to $T/pubkey.gpg
# (binary: for Signed-By and gpgv) and $T/pubkey.asc (armored).  Also
# writes $T/pubkeys-all.gpg (every public key made so far, for
# gpgv_signers).  gpg's chatter goes to $T/gpg.log.
gpg_key_init() {
	mkdir -p "$T/gnupg" && chmod 700 "$T/gnupg" || return 1
	export GNUPGHOME="$T/gnupg"
	KEY_FPR=$(_gpg_new_key 'aptvault test <test@example.org>') || return 1
	gpg --batch --export "$KEY_FPR" >"$T/pubkey.gpg" 2>>"$T/gpg.log" &&
		gpg --batch --armor --export "$KEY_FPR" >"$T/pubkey.asc" 2>>"$T/gpg.log" &&
		_gpg_export_all
}

# gpg_key_add NAME: adds another signing key, uid "aptvault NAME
# <NAME@example.org>", to $GNUPGHOME (gpg_key_init must have run); exports
# it to $T/pubkey-NAME.gpg and $T/pubkey-NAME.asc, refreshes
# $T/pubkeys-all.gpg and prints its fingerprint.
gpg_key_add() {
	[ -n "${GNUPGHOME:-}" ] || { echo "gpg_key_add: run gpg_key_init first" >&2; return 1; }
	_fpr=$(_gpg_new_key "aptvault $1 <$1@example.org>") || return 1
	gpg --batch --export "$_fpr" >"$T/pubkey-$1.gpg" 2>>"$T/gpg.log" &&
		gpg --batch --armor --export "$_fpr" >"$T/pubkey-$1.asc" 2>>"$T/gpg.log" &&
		_gpg_export_all && echo "$_fpr"
}

# _gpg_new_key UID: generates a key with that uid, prints its fingerprint.
_gpg_new_key() {
	if ! gpg --batch --passphrase '' --quick-gen-key "$1" ed25519 sign never \
		>>"$T/gpg.log" 2>&1; then
		echo "gpg: could not make a key for '$1'" >&2
		_aptlib_fail "$T/gpg.log"
		return 1
	fi
	gpg --batch --with-colons --list-keys -- "=$1" 2>>"$T/gpg.log" |
		awk -F: '$1 == "fpr" { print $10; exit }'
}

# _gpg_export_all: every public key in GNUPGHOME -> $T/pubkeys-all.gpg.
_gpg_export_all() {
	gpg --batch --export >"$T/pubkeys-all.gpg" 2>>"$T/gpg.log"
}

# apt_init [ARCH]: an isolated apt under $T/apt for architecture ARCH
# (default amd64), and APT_CONFIG exported to point at its apt.conf.  No
# sources yet (see apt_source).  Every setting keeps apt away from the
# machine's own state:
#   Dir::Etc (+ sourcelist, sourceparts, preferences(parts), parts, main)
#       config, sources and pins come only from $T/apt/etc/apt.  APT_CONFIG
#       is read before Dir::Etc::parts, so the machine's apt.conf.d (there
#       may be GzipIndexes, proxies, DEP-11 targets, ...) is never read.
#   Dir::Etc::trusted / trustedparts
#       an empty keyring dir: a Release only verifies with the key given in
#       the source's Signed-By, never with a key the machine trusts.
#   Dir::State, Dir::State::status
#       lists go to $T; the status file is empty, so nothing counts as
#       installed and the candidate is purely what the repository offers.
#   Dir::Cache, Dir::Log
#       pkgcache.bin/srcpkgcache.bin and logs go to $T, not /var.
#   APT::Architecture, APT::Architectures
#       fixed, so apt neither asks dpkg for the machine's architecture nor
#       picks up its foreign architectures (which would fetch more indexes).
#   Debug::NoLocking
#       take no lock files; nothing else uses this apt.  (As root the
#       locks would only be under $T, so this is belt and braces.)
#   Acquire::Languages "none"
#       no Translation-* indexes are asked for, so the HTTP log only shows
#       what matters.  (apt skips ones the Release does not list anyway.)
#   APT::Sandbox::User "root"
#       needed: the methods otherwise run as _apt, which cannot enter $T
#       (mktemp -d makes it mode 700).  apt then falls back to root itself
#       but says "W: Download is performed unsandboxed as root", which
#       apt_update counts as a failure.  Making $T 755 fixes update but not
#       apt-get download/source, whose target directory must then belong
#       to _apt as well.
#   Acquire::http::Proxy::127.0.0.1 / ::localhost "DIRECT"
#       an http_proxy in the environment must not be used for the local
#       test server.
# Acquire::IndexTargets are left at apt's built-in defaults (Packages,
# Sources; Translations are off by Acquire::Languages).
apt_init() {
	_arch=${1:-amd64}
	_a="$T/apt"
	mkdir -p "$_a/etc/apt/sources.list.d" "$_a/etc/apt/preferences.d" \
		"$_a/etc/apt/apt.conf.d" "$_a/etc/apt/trusted.gpg.d" \
		"$_a/state/lists/partial" "$_a/cache/archives/partial" "$_a/log" \
		"$_a/tmp" ||
		return 1
	: >"$_a/state/status"
	cat >"$_a/apt.conf" <<EOF
Dir::Etc "$_a/etc/apt";
Dir::Etc::main "apt.conf";
Dir::Etc::parts "apt.conf.d";
Dir::Etc::sourcelist "sources.list";
Dir::Etc::sourceparts "sources.list.d";
Dir::Etc::preferences "preferences";
Dir::Etc::preferencesparts "preferences.d";
Dir::Etc::trusted "trusted.gpg";
Dir::Etc::trustedparts "trusted.gpg.d";
Dir::State "$_a/state";
Dir::State::lists "lists";
Dir::State::status "$_a/state/status";
Dir::Cache "$_a/cache";
Dir::Cache::archives "archives";
Dir::Log "$_a/log";
APT::Architecture "$_arch";
APT::Architectures { "$_arch"; };
Debug::NoLocking "true";
Acquire::Languages "none";
APT::Sandbox::User "root";
Acquire::http::Proxy::127.0.0.1 "DIRECT";
Acquire::http::Proxy::localhost "DIRECT";
EOF
	export APT_CONFIG="$_a/apt.conf"
}

# apt_source URI SUITE COMPONENTS [KEYFILE]: makes the one source of the
# isolated apt $T/apt/etc/apt/sources.list.d/test.sources (deb822),
# replacing any earlier one: Types "deb deb-src" (or $APT_SOURCE_TYPES),
# URIs URI, Suites SUITE, Components COMPONENTS (space separated), Signed-By
# KEYFILE (default $T/pubkey.gpg; .gpg binary or .asc armored).  Extra
# deb822 lines can be given in $APT_SOURCE_EXTRA (e.g. "Architectures: all").
apt_source() {
	{
		printf 'Types: %s\n' "${APT_SOURCE_TYPES:-deb deb-src}"
		printf 'URIs: %s\nSuites: %s\nComponents: %s\n' "$1" "$2" "$3"
		printf 'Signed-By: %s\n' "${4:-$T/pubkey.gpg}"
		[ -n "${APT_SOURCE_EXTRA:-}" ] && printf '%s\n' "$APT_SOURCE_EXTRA"
		:
	} >"$T/apt/etc/apt/sources.list.d/test.sources"
}

# apt_update: apt-get update, output (stdout and stderr) in
# $T/apt-update.log.  True only if apt-get exits 0 and no line starts with
# "W:", "E:" or "Err:" (see _aptlib_bad_lines; apt exits 0 on some
# problems, e.g. a failed Packages fetch).  On failure the log goes,
# indented, to stderr.
apt_update() {
	_apt apt-get update >"$T/apt-update.log" 2>&1
	_rc=$?
	if [ "$_rc" -ne 0 ] || _aptlib_bad_lines "$T/apt-update.log"; then
		echo "apt-get update failed (exit $_rc):" >&2
		_aptlib_fail "$T/apt-update.log"
		return 1
	fi
}

# apt_forget: forgets everything apt_update fetched (lists and package
# caches), so the next apt_update downloads every index again instead of
# keeping ones whose hash in the (unchanged) Release it already has.
apt_forget() {
	rm -rf "$T/apt/state/lists" "$T/apt/cache"
	mkdir -p "$T/apt/state/lists/partial" "$T/apt/cache/archives/partial"
}

# apt_policy PKG: prints `apt-cache policy PKG`.
apt_policy() {
	_apt apt-cache policy "$1"
}

# apt_candidate PKG: prints the candidate version of PKG; false (and
# prints nothing) when there is none.
apt_candidate() {
	_c=$(_apt apt-cache policy "$1" 2>/dev/null | sed -n 's/^  Candidate: //p')
	[ -n "$_c" ] && [ "$_c" != "(none)" ] || return 1
	echo "$_c"
}

# apt_download PKG[=VER] DIR: `apt-get download` into DIR (made if
# missing), prints the path of the downloaded .deb (as apt names it: an
# epoch's ":" is "%3a").  apt has checked its hash against Packages.
# Output in $T/apt-download.log; false on any failure or W:/E: line.
apt_download() {
	mkdir -p "$2" || return 1
	_f=$(cd "$2" && _apt apt-get download --print-uris "$1" 2>"$T/apt-download.log" |
		awk 'NR == 1 { print $2 }')
	if [ -z "$_f" ] ||
		! (cd "$2" && _apt apt-get download "$1") >>"$T/apt-download.log" 2>&1 ||
		_aptlib_bad_lines "$T/apt-download.log" || [ ! -f "$2/$_f" ]; then
		echo "apt-get download $1 failed:" >&2
		_aptlib_fail "$T/apt-download.log"
		return 1
	fi
	echo "$2/$_f"
}

# apt_source_get PKG DIR: `apt-get source --download-only PKG` into DIR
# (made if missing; apt checks every file against Sources), then unpacks
# it with `dpkg-source --no-check -x` (unsigned .dsc; no keyring looked at)
# into the .dsc's path without ".dsc", e.g. DIR/hello_1.0/.  Prints the
# path of the .dsc.  Output in $T/apt-source.log; false on any failure.
apt_source_get() {
	mkdir -p "$2" || return 1
	_d=$(cd "$2" && _apt apt-get source --print-uris "$1" 2>"$T/apt-source.log" |
		awk '$2 ~ /\.dsc$/ { print $2; exit }')
	if [ -z "$_d" ] ||
		! (cd "$2" && _apt apt-get source --download-only "$1") >>"$T/apt-source.log" 2>&1 ||
		_aptlib_bad_lines "$T/apt-source.log" || [ ! -f "$2/$_d" ] ||
		! dpkg-source --no-check -x "$2/$_d" "$2/${_d%.dsc}" >>"$T/apt-source.log" 2>&1; then
		echo "apt-get source $1 failed:" >&2
		_aptlib_fail "$T/apt-source.log"
		return 1
	fi
	echo "$2/$_d"
}

# httpd_start DIR: serves DIR over HTTP on 127.0.0.1 at a free port with
# httpd.py (which watches this shell and exits with it).  Sets HTTPD_PORT
# and HTTPD_PID; requests are logged as "METHOD PATH STATUS" lines in
# $T/httpd.log.  Waits at most ~5 s for the server to listen; false if it
# did not.  The EXIT trap (above) stops it.  One server at a time.
httpd_start() {
	httpd_stop
	rm -f "$T/httpd.port"
	: >>"$T/httpd.log"
	python3 "$AV_E2E_DIR/httpd.py" "$1" "$T/httpd.port" "$T/httpd.log" $$ \
		</dev/null >>"$T/httpd.err" 2>&1 &
	HTTPD_PID=$!
	_i=0
	while [ ! -s "$T/httpd.port" ]; do
		if [ "$_i" -ge 100 ] || ! kill -0 "$HTTPD_PID" 2>/dev/null; then
			echo "httpd did not start:" >&2
			_aptlib_fail "$T/httpd.err"
			httpd_stop
			return 1
		fi
		sleep 0.05
		_i=$((_i + 1))
	done
	HTTPD_PORT=$(cat "$T/httpd.port")
}

# httpd_stop: stops the server httpd_start started (if any) and waits for
# it to be gone.
httpd_stop() {
	if [ -n "${HTTPD_PID:-}" ]; then
		kill "$HTTPD_PID" 2>/dev/null
		wait "$HTTPD_PID" 2>/dev/null
	fi
	HTTPD_PID=
	HTTPD_PORT=
}

# gpgv_check FILE [SIGFILE]: true when gpgv finds a good signature by a key
# in the keyring $GPGV_KEYRING (default $T/pubkey.gpg): FILE alone is a
# clearsigned InRelease; with SIGFILE, FILE is a Release and SIGFILE its
# detached Release.gpg.  gpgv's output is in $T/gpgv.log.
gpgv_check() {
	gpgv --keyring "${GPGV_KEYRING:-$T/pubkey.gpg}" ${2:+"$2"} "$1" \
		>"$T/gpgv.log" 2>&1
}

# gpgv_signers FILE [SIGFILE]: prints, sorted, the primary-key fingerprint
# of every good signature on FILE (as gpgv_check) made by any key in
# $T/pubkeys-all.gpg, one a line; for "every key signs" checks.
gpgv_signers() {
	gpgv --status-fd 1 --keyring "$T/pubkeys-all.gpg" ${2:+"$2"} "$1" \
		2>"$T/gpgv.log" | awk '$2 == "VALIDSIG" { print $NF }' | sort
}
