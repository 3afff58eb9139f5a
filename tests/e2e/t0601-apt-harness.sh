#!/bin/bash
# t0601: the apt client harness (aptlib.sh, httpd.py) on its own, without
# aptvault: a small repository signed by hand is read by an isolated apt
# over file:// and over HTTP (update, candidate, download, source), its
# signatures pass gpgv, and apt notices a tampered index, a wrong key and
# a tampered Release.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/aptlib.sh"

R="$T/repo"
D="$R/dists/test"

# mkrelease DISTDIR: writes DISTDIR/Release listing every index below it
# with MD5Sum and SHA256 (what apt-ftparchive would do, which we lack).
mkrelease() {
	(
		cd "$1" || exit 1
		files=$(find . -type f ! -name Release ! -name InRelease \
			! -name Release.gpg | sed 's|^\./||' | LC_ALL=C sort)
		{
			echo "Origin: aptvault-test"
			echo "Label: aptvault-test"
			echo "Suite: test"
			echo "Codename: test"
			echo "Date: $(LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S UTC')"
			echo "Architectures: amd64"
			echo "Components: main"
			echo "Description: built by hand by t0601"
			echo "MD5Sum:"
			for f in $files; do
				printf ' %s %16d %s\n' "$(md5sum <"$f" | cut -d' ' -f1)" \
					"$(stat -c %s "$f")" "$f"
			done
			echo "SHA256:"
			for f in $files; do
				printf ' %s %16d %s\n' "$(sha256sum <"$f" | cut -d' ' -f1)" \
					"$(stat -c %s "$f")" "$f"
			done
		} >Release
	)
}

# sign DISTDIR KEY...: InRelease and Release.gpg for DISTDIR/Release.
sign() {
	dir=$1
	shift
	users=
	for k in "$@"; do users="$users -u $k"; done
	rm -f "$dir/InRelease" "$dir/Release.gpg"
	# shellcheck disable=SC2086
	gpg --batch --yes $users --clearsign -o "$dir/InRelease" "$dir/Release" 2>>"$T/gpg.log" &&
		gpg --batch --yes $users -abs -o "$dir/Release.gpg" "$dir/Release" 2>>"$T/gpg.log"
}

sha() { sha256sum <"$1" | cut -d' ' -f1; }

check "gpg_key_init makes a key" gpg_key_init
check "KEY_FPR is a fingerprint" eval '[[ $KEY_FPR =~ ^[0-9A-F]{40}$ ]]'
check "the public key is exported" test -s "$T/pubkey.gpg" -a -s "$T/pubkey.asc"
check "GNUPGHOME is private" test "$(stat -c %a "$T/gnupg")" = 700
check "apt_init" apt_init amd64

# --- the repository -----------------------------------------------------
deb_hello=$(mkdeb hello 1.0 amd64)
deb_world=$(mkdeb world 2:2.5-1 amd64 "Depends: hello (>= 1.0)")
mkdir -p "$R/pool/main/h/hello" "$R/pool/main/w/world" \
	"$D/main/binary-amd64" "$D/main/source" "$T/srcpkg/hello-1.0/debian/source"
cp "$deb_hello" "$R/pool/main/h/hello/"
cp "$deb_world" "$R/pool/main/w/world/"

s="$T/srcpkg/hello-1.0/debian"
cat >"$s/control" <<'EOF'
Source: hello
Section: misc
Priority: optional
Maintainer: Test <test@example.org>
Standards-Version: 4.6.2

Package: hello
Architecture: amd64
Description: test package hello
 built by the end-to-end tests
EOF
cat >"$s/changelog" <<'EOF'
hello (1.0) test; urgency=medium

  * Initial release.

 -- Test <test@example.org>  Mon, 01 Jan 2024 00:00:00 +0000
EOF
printf '#!/usr/bin/make -f\n%%:\n\tdh $@\n' >"$s/rules"
chmod 755 "$s/rules"
echo "3.0 (native)" >"$s/source/format"
check "dpkg-source -b builds the source package" \
	eval '(cd "$T/srcpkg" && dpkg-source -b hello-1.0 >"$T/dpkg-source.log" 2>&1)'
cp "$T/srcpkg/hello_1.0.dsc" "$T/srcpkg/hello_1.0.tar.xz" "$R/pool/main/h/hello/"

(cd "$R" && dpkg-scanpackages -a amd64 pool /dev/null 2>/dev/null) >"$D/main/binary-amd64/Packages"
(cd "$R" && dpkg-scansources pool /dev/null 2>/dev/null) >"$D/main/source/Sources"
xz -k "$D/main/binary-amd64/Packages" "$D/main/source/Sources"
check "Packages has both packages" test "$(grep -c '^Package:' "$D/main/binary-amd64/Packages")" = 2
check "Sources has hello" grep -qx 'Package: hello' "$D/main/source/Sources"
mkrelease "$D"
check "the Release is signed" sign "$D" "$KEY_FPR"

# --- gpgv -------------------------------------------------------------------
check "gpgv_check InRelease" gpgv_check "$D/InRelease"
check "gpgv_check Release + Release.gpg" gpgv_check "$D/Release" "$D/Release.gpg"
sed 's/^Suite: test/Suite: tset/' "$D/Release" >"$T/Release.bad"
check "gpgv_check refuses a tampered Release" eval '! gpgv_check "$T/Release.bad" "$D/Release.gpg"'
fpr2=$(gpg_key_add second)
check "gpg_key_add prints a second fingerprint" \
	eval '[[ $fpr2 =~ ^[0-9A-F]{40}$ ]] && [ "$fpr2" != "$KEY_FPR" ]'
check "gpg_key_add exports it" test -s "$T/pubkey-second.gpg" -a -s "$T/pubkey-second.asc"
check "gpgv_check refuses a key not in the keyring" \
	eval '! GPGV_KEYRING="$T/pubkey-second.gpg" gpgv_check "$D/InRelease"'
check "gpgv_signers names the one signer" test "$(gpgv_signers "$D/InRelease")" = "$KEY_FPR"
cp "$D/Release" "$T/Release.two"
gpg --batch --yes -u "$KEY_FPR" -u "$fpr2" --clearsign -o "$T/InRelease.two" "$T/Release.two" 2>>"$T/gpg.log"
gpg --batch --yes -u "$KEY_FPR" -u "$fpr2" -abs -o "$T/Release.two.gpg" "$T/Release.two" 2>>"$T/gpg.log"
both=$(printf '%s\n' "$KEY_FPR" "$fpr2" | sort)
check "gpgv_signers names both signers (InRelease)" test "$(gpgv_signers "$T/InRelease.two")" = "$both"
check "gpgv_signers names both signers (Release.gpg)" \
	test "$(gpgv_signers "$T/Release.two" "$T/Release.two.gpg")" = "$both"

# --- apt, once per transport ---------------------------------------------------
# client URI WHERE: the whole client round against the repository at URI.
client() {
	uri=$1 where=$2
	apt_forget
	apt_source "$uri" test main
	check "$where: apt_update is clean" apt_update
	check "$where: a second apt_update is clean too" apt_update
	check "$where: apt_candidate hello is 1.0" test "$(apt_candidate hello)" = 1.0
	check "$where: apt_candidate world keeps its epoch" test "$(apt_candidate world)" = 2:2.5-1
	check "$where: apt_candidate of an unknown package fails" eval '! apt_candidate nosuch >/dev/null'
	check "$where: apt_policy names the source" eval 'apt_policy hello | grep -qF "${uri##*//}"'
	got=$(apt_download world "$T/dl-$where")
	check "$where: apt_download names the file as apt does" \
		test "$got" = "$T/dl-$where/world_2%3a2.5-1_amd64.deb"
	check "$where: the download is the .deb" test "$(sha "$got")" = "$(sha "$deb_world")"
	got=$(apt_download hello=1.0 "$T/dl-$where")
	check "$where: apt_download PKG=VER" test "$(sha "$got")" = "$(sha "$deb_hello")"
	dsc=$(apt_source_get hello "$T/src-$where")
	check "$where: apt_source_get fetches the .dsc" \
		test "$(sha "$dsc")" = "$(sha "$R/pool/main/h/hello/hello_1.0.dsc")"
	check "$where: apt_source_get unpacks it" test -f "${dsc%.dsc}/debian/changelog"

	# A key that did not sign the Release: apt must refuse the repository.
	apt_forget
	apt_source "$uri" test main "$T/pubkey-second.gpg"
	check "$where: apt_update fails with the wrong Signed-By" eval '! apt_update 2>/dev/null'
	check "$where: ... because of the signature" \
		grep -qE 'NO_PUBKEY|not signed|signature' "$T/apt-update.log"
	apt_source "$uri" test main "$T/pubkey.asc"
	check "$where: an armored Signed-By works" apt_update

	# An index changed after the Release was signed: apt must refuse it,
	# whether its size changed (over HTTP apt sees that from the
	# Content-Length before any hash) or only its bytes (a hash mismatch).
	px="$D/main/binary-amd64/Packages.xz"
	cp "$px" "$T/Packages.xz.good"
	printf 'Package: evil\nVersion: 6.6.6\nArchitecture: amd64\n\n' | xz >"$px"
	apt_forget
	check "$where: apt_update fails on a Packages.xz of another size" eval '! apt_update 2>/dev/null'
	check "$where: ... and the tampered index is not used" eval '! apt_candidate evil >/dev/null'
	cp "$T/Packages.xz.good" "$px"
	python3 -c 'import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(100); b = f.read(1); f.seek(100); f.write(bytes([b[0] ^ 0xff]))' "$px"
	check "$where: same size, other bytes" eval \
		'[ "$(stat -c %s "$px")" = "$(stat -c %s "$T/Packages.xz.good")" ] && ! cmp -s "$px" "$T/Packages.xz.good"'
	apt_forget
	check "$where: apt_update fails on a tampered Packages.xz" eval '! apt_update 2>/dev/null'
	check "$where: ... with a Hash Sum mismatch" grep -q '^E: .*Hash Sum mismatch' "$T/apt-update.log"
	cp "$T/Packages.xz.good" "$D/main/binary-amd64/Packages.xz"
	apt_forget
	check "$where: repaired, apt_update is clean again" apt_update
}

client "file://$R" file
check "httpd_start" httpd_start "$R"
check "HTTPD_PORT is a port" eval '[[ $HTTPD_PORT =~ ^[0-9]+$ ]]'
client "http://127.0.0.1:$HTTPD_PORT" http
check "the httpd log has the GET of InRelease" grep -qx 'GET /dists/test/InRelease 200' "$T/httpd.log"
check "the httpd log has the .deb" grep -q '^GET /pool/main/w/world/world_2.5-1_amd64.deb 200$' "$T/httpd.log"
check "the second update got a 304 for InRelease" grep -qx 'GET /dists/test/InRelease 304' "$T/httpd.log"

# Signed by two keys: apt takes it with either key alone as Signed-By.
check "the Release is signed by both keys" sign "$D" "$KEY_FPR" "$fpr2"
check "gpgv_signers names both" test "$(gpgv_signers "$D/InRelease")" = "$both"
for k in pubkey pubkey-second; do
	apt_forget
	apt_source "http://127.0.0.1:$HTTPD_PORT" test main "$T/$k.gpg"
	check "two signatures, Signed-By $k alone: apt_update is clean" apt_update
done
# http_req METHOD PATH: prints "STATUS CONTENT-LENGTH" from the server.
http_req() {
	python3 - "$HTTPD_PORT" "$1" "$2" <<'EOF'
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
c.request(sys.argv[2], sys.argv[3])
r = c.getresponse()
r.read()
print(r.status, r.getheader("Content-Length"))
EOF
}
size_release=$(stat -c %s "$D/Release")
check "HEAD gives the status and Content-Length" test "$(http_req HEAD /dists/test/Release)" = "200 $size_release"
check "... and is logged" grep -qx 'HEAD /dists/test/Release 200' "$T/httpd.log"
ln -s test "$R/dists/stable"
check "symlinks are followed" test "$(http_req GET /dists/stable/Release)" = "200 $size_release"
check "a missing file is a 404" eval 'http_req GET /nope | grep -q "^404 "'
check "... and is logged" grep -qx 'GET /nope 404' "$T/httpd.log"
pid=$HTTPD_PID
httpd_stop
check "httpd_stop ends the server" eval '! kill -0 $pid 2>/dev/null'
finish
