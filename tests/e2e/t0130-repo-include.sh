#!/bin/bash
# t0130: repo include of .changes uploads: the repo from the template,
# signature policy (signed with a throwaway key and --keyring, unsigned
# needs --accept-unsigned, --ignore-signatures, a bad signature fails),
# files removed after success unless --no-remove-files, a bad checksum in
# the .changes fails with the state unchanged.
. "$(dirname "$0")/lib.sh"

export GNUPGHOME="$T/gnupg"
mkdir -p "$GNUPGHOME" && chmod 700 "$GNUPGHOME"
gpg --batch --passphrase '' --quick-gen-key 'Uploader <up@example.org>' ed25519 sign never 2>/dev/null
gpg --batch --export >"$T/uploader.gpg"

# mkchanges DIR DIST DEB... : write DIR/upload.changes listing the debs
mkchanges() {
	dir=$1 dist=$2
	shift 2
	{
		printf 'Format: 1.8\nDate: Mon, 01 Jan 2024 00:00:00 +0000\nSource: up\n'
		printf 'Architecture: amd64\nVersion: 1.0\nDistribution: %s\n' "$dist"
		printf 'Maintainer: Uploader <up@example.org>\nDescription:\n up - test\n'
		printf 'Changes:\n up (1.0) %s; urgency=low\n .\n   * Test.\n' "$dist"
		printf 'Checksums-Sha1:\n'
		for f in "$@"; do printf ' %s %s %s\n' "$(sha1sum <"$f" | cut -d' ' -f1)" "$(stat -c %s "$f")" "$(basename "$f")"; done
		printf 'Checksums-Sha256:\n'
		for f in "$@"; do printf ' %s %s %s\n' "$(sha256sum <"$f" | cut -d' ' -f1)" "$(stat -c %s "$f")" "$(basename "$f")"; done
		printf 'Files:\n'
		for f in "$@"; do printf ' %s %s misc optional %s\n' "$(md5sum <"$f" | cut -d' ' -f1)" "$(stat -c %s "$f")" "$(basename "$f")"; done
	} >"$dir/upload.changes"
}

"$AV" repo create unstable >/dev/null
"$AV" repo create target >/dev/null

mkdir -p "$T/up1"
cp "$(mkdeb upa 1.0 amd64)" "$T/up1/"
mkchanges "$T/up1" unstable "$T/up1/upa_1.0_amd64.deb"
expect_err "an unsigned .changes needs --accept-unsigned" 1 "unsigned|not signed" \
	"$AV" repo include "$T/up1/upload.changes"
check "  and the files stay" test -e "$T/up1/upa_1.0_amd64.deb"
expect_rc "--accept-unsigned includes it into the Distribution's repo" 0 \
	"$AV" repo include "$T/up1/upload.changes" --accept-unsigned
check "  the package is in 'unstable'" test "$(repo_count unstable)" -eq 1
check "  the files were removed" test ! -e "$T/up1/upa_1.0_amd64.deb"
check "  the .changes was removed" test ! -e "$T/up1/upload.changes"

mkdir -p "$T/up2"
cp "$(mkdeb upb 1.0 amd64)" "$T/up2/"
mkchanges "$T/up2" unstable "$T/up2/upb_1.0_amd64.deb"
gpg --batch --yes --clearsign -o "$T/up2/signed.changes" "$T/up2/upload.changes" 2>/dev/null
rm "$T/up2/upload.changes"
expect_rc "a signed .changes verified with --keyring, --repo template, --no-remove-files" 0 \
	"$AV" repo include "$T/up2/signed.changes" --keyring "$T/uploader.gpg" \
	--repo target --no-remove-files
check "  the package is in 'target'" test "$(repo_count target)" -eq 1
check "  the files are kept" test -e "$T/up2/upb_1.0_amd64.deb"

# A signature by a key that is not in the keyring.
mkdir -p "$T/other"
GNUPGHOME="$T/other" gpg --batch --passphrase '' --quick-gen-key 'Other <o@example.org>' ed25519 sign never 2>/dev/null
GNUPGHOME="$T/other" gpg --batch --export >"$T/other.gpg"
s=$(repo_state target)
expect_err "a keyring without the signer's key refuses it" 1 "signature|key" \
	"$AV" repo include "$T/up2/signed.changes" --keyring "$T/other.gpg" --repo target
check "  the state is unchanged" test "$(repo_state target)" = "$s"
expect_rc "--ignore-signatures takes it anyway" 0 \
	"$AV" repo include "$T/up2/signed.changes" --ignore-signatures --repo target --no-remove-files

# A listed file whose checksum does not match.
mkdir -p "$T/up3"
cp "$(mkdeb upc 1.0 amd64)" "$T/up3/"
mkchanges "$T/up3" unstable "$T/up3/upc_1.0_amd64.deb"
cp "$(mkdeb upc 1.0 amd64 'Depends: upa')" "$T/up3/"
s=$(repo_state unstable)
expect_err "a file that does not match the .changes fails" 1 "upc_1.0_amd64.deb" \
	"$AV" repo include "$T/up3/upload.changes" --accept-unsigned
check "  the state is unchanged" test "$(repo_state unstable)" = "$s"
check "  the files stay" test -e "$T/up3/upc_1.0_amd64.deb"

expect_err "a directory without .changes files" 1 "no .changes files" "$AV" repo include "$T/debs"
expect_err "a .changes for an unknown repo" 1 "does not exist" \
	"$AV" repo include "$T/up2/signed.changes" --ignore-signatures --repo nope --no-remove-files

finish
