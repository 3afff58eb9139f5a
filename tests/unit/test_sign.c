/*
 * test_sign.c - OpenPGP verification against keyring files and signing,
 * with throwaway keys made by gpg in temporary homes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glob.h>
#include <sys/stat.h>
#include <criterion/criterion.h>
#include "aptvault/sign.h"
#include "aptvault/file.h"
#include "aptvault/error.h"
#include "fixtures.h"

static char *dir;
static char home[4096];		/* key A (and B in test_sign_two_keys) */
static char other[4096];	/* key B: unknown to the keyring */
static char fpr_a[64], fpr_b[64];

static const char msg[] =
	"Source: hello\n"
	"Version: 1.0-1\n"
	"- a line with a dash\n"
	"Files:\n"
	" 0123 45 hello_1.0.tar.xz\n";

static void read_into(av_buf *b, const char *path)
{
	av_buf_clear(b);
	cr_assert_eq(av_file_read(b, path, 0), 0, "read %s: %s", path, av_error_last());
}

static char *path_in(const char *name)
{
	static char paths[8][4096];
	static int next;
	char *p = paths[next++ % 8];

	snprintf(p, 4096, "%s/%s", dir, name);
	return p;
}

static void gen_key(const char *h, const char *uid, const char *pass, char *fpr)
{
	av_buf b = AV_BUF_INIT;

	cr_assert_eq(fx_sh("mkdir -m 700 -p '%s'", h), 0);
	cr_assert_eq(fx_sh("gpg --homedir '%s' --batch --pinentry-mode loopback "
			   "--passphrase '%s' --quick-gen-key '%s' ed25519 sign never "
			   "2>/dev/null", h, pass, uid), 0, "gpg key generation failed");
	cr_assert_eq(fx_sh("gpg --homedir '%s' --with-colons --list-keys '%s' | "
			   "awk -F: '/^fpr/ { printf \"%%s\", $10; exit }' > '%s/fpr'",
			   h, uid, dir), 0);
	read_into(&b, path_in("fpr"));
	cr_assert_eq(b.len, 40, "fingerprint '%s'", av_buf_cstr(&b));
	memcpy(fpr, b.ptr, 41);
	av_buf_dispose(&b);
}

static void setup(void)
{
	dir = fx_tmpdir();
	/* the private homes of av_sign_verify_* go here, so leaks show */
	setenv("TMPDIR", dir, 1);
	snprintf(home, sizeof(home), "%s/home-a", dir);
	snprintf(other, sizeof(other), "%s/home-b", dir);
	gen_key(home, "Test A <a@example.org>", "", fpr_a);
	gen_key(other, "Test B <b@example.org>", "", fpr_b);
	fx_write(path_in("msg"), msg);
	cr_assert_eq(fx_sh("gpg --homedir '%s' --export > '%s'", home,
			   path_in("keyring.gpg")), 0);
	cr_assert_eq(fx_sh("gpg --homedir '%s' --armor --export > '%s'", home,
			   path_in("keyring.asc")), 0);
}

static void teardown(void)
{
	fx_sh("gpgconf --homedir '%s' --kill all 2>/dev/null", home);
	fx_sh("gpgconf --homedir '%s' --kill all 2>/dev/null", other);
	fx_sh("rm -rf '%s'", dir);
	free(dir);
}

TestSuite(sign, .init = setup, .fini = teardown);

/* Clearsign the file msg with the key of home h into out. */
static void clearsign(const char *h, const char *out)
{
	cr_assert_eq(fx_sh("gpg --homedir '%s' --batch --yes --pinentry-mode loopback "
			   "--passphrase '' --clearsign -o '%s' '%s' 2>/dev/null",
			   h, out, path_in("msg")), 0, "gpg --clearsign failed");
}

static int verify_file(const char *file, const char *keyring, av_buf *plain,
		       av_buf *fpr)
{
	av_buf data = AV_BUF_INIT;
	int rc;

	read_into(&data, file);
	rc = av_sign_verify_clear(data.ptr, data.len, keyring, plain, fpr);
	av_buf_dispose(&data);
	return rc;
}

static void assert_no_private_home_left(void)
{
	glob_t g;
	char pat[4096];

	snprintf(pat, sizeof(pat), "%s/aptvault-gpg.*", dir);
	cr_assert_eq(glob(pat, 0, NULL, &g), GLOB_NOMATCH,
		     "a private GnuPG home was left behind");
}

static void assert_sig_error(int rc, const char *needle)
{
	cr_assert_eq(rc, AV_ESIGNATURE, "rc %d: %s", rc, av_error_last());
	cr_assert(strstr(av_error_last(), needle), "message '%s' lacks '%s'",
		  av_error_last(), needle);
}

Test(sign, good_clearsigned_message_gives_body_and_fingerprint)
{
	av_buf plain = AV_BUF_INIT, fpr = AV_BUF_INIT;

	clearsign(home, path_in("msg.asc"));
	cr_assert_eq(verify_file(path_in("msg.asc"), path_in("keyring.gpg"),
				 &plain, &fpr), 0, "%s", av_error_last());
	cr_assert_str_eq(av_buf_cstr(&plain), msg);
	cr_assert_str_eq(av_buf_cstr(&fpr), fpr_a);
	assert_no_private_home_left();
	/* verification needs no agent: none was started for the private home */
	cr_assert_neq(fx_sh("pgrep -u \"$(id -u)\" -f 'gpg-agent.*aptvault-gp[g]' >/dev/null"), 0,
		      "a gpg process still runs for the private home");
	av_buf_dispose(&plain);
	av_buf_dispose(&fpr);
}

Test(sign, armored_keyring_and_keybox_are_accepted)
{
	av_buf plain = AV_BUF_INIT;
	char kbx[4200];

	clearsign(home, path_in("msg.asc"));
	cr_assert_eq(verify_file(path_in("msg.asc"), path_in("keyring.asc"),
				 &plain, NULL), 0, "%s", av_error_last());
	cr_assert_str_eq(av_buf_cstr(&plain), msg);
	snprintf(kbx, sizeof(kbx), "%s/pubring.kbx", home);
	cr_assert_eq(verify_file(path_in("msg.asc"), kbx, NULL, NULL), 0,
		     "%s", av_error_last());
	av_buf_dispose(&plain);
}

Test(sign, tampered_message_is_a_bad_signature)
{
	av_buf plain = AV_BUF_INIT;

	clearsign(home, path_in("msg.asc"));
	cr_assert_eq(fx_sh("sed -i 's/Version: 1.0-1/Version: 6.6-6/' '%s'",
			   path_in("msg.asc")), 0);
	assert_sig_error(verify_file(path_in("msg.asc"), path_in("keyring.gpg"),
				     &plain, NULL), "bad signature");
	cr_assert_eq(plain.len, 0, "nothing may come out of a bad message");
	assert_no_private_home_left();
	av_buf_dispose(&plain);
}

Test(sign, key_outside_the_keyring_is_unknown)
{
	clearsign(other, path_in("msg.asc"));
	assert_sig_error(verify_file(path_in("msg.asc"), path_in("keyring.gpg"),
				     NULL, NULL), "unknown key");
	cr_assert(strstr(av_error_last(), fpr_b), "%s", av_error_last());
}

Test(sign, users_own_keyring_does_not_count)
{
	/* B is in GNUPGHOME, but only the keyring file (A) decides */
	setenv("GNUPGHOME", other, 1);
	clearsign(other, path_in("msg.asc"));
	assert_sig_error(verify_file(path_in("msg.asc"), path_in("keyring.gpg"),
				     NULL, NULL), "unknown key");
}

Test(sign, unsigned_text_has_no_signature)
{
	assert_sig_error(av_sign_verify_clear(msg, strlen(msg), path_in("keyring.gpg"),
					      NULL, NULL), "no signature");
	assert_sig_error(av_sign_verify_clear("", 0, path_in("keyring.gpg"),
					      NULL, NULL), "no signature");
}

Test(sign, text_around_the_signed_block_is_refused)
{
	clearsign(home, path_in("msg.asc"));
	cr_assert_eq(fx_sh("cd '%s' && { echo 'Package: evil'; cat msg.asc; } > before.asc"
			   " && { cat msg.asc; echo 'Package: evil'; } > after.asc"
			   " && cat msg.asc msg.asc > twice.asc", dir), 0);
	assert_sig_error(verify_file(path_in("before.asc"), path_in("keyring.gpg"),
				     NULL, NULL), "before");
	assert_sig_error(verify_file(path_in("after.asc"), path_in("keyring.gpg"),
				     NULL, NULL), "after");
	assert_sig_error(verify_file(path_in("twice.asc"), path_in("keyring.gpg"),
				     NULL, NULL), "after");
}

Test(sign, truncated_armor_is_refused)
{
	clearsign(home, path_in("msg.asc"));
	cr_assert_eq(fx_sh("head -n -1 '%s' > '%s'", path_in("msg.asc"),
			   path_in("cut.asc")), 0);
	assert_sig_error(verify_file(path_in("cut.asc"), path_in("keyring.gpg"),
				     NULL, NULL), "truncated");
}

Test(sign, keyring_problems_are_reported)
{
	int rc;

	clearsign(home, path_in("msg.asc"));
	rc = verify_file(path_in("msg.asc"), path_in("nope.gpg"), NULL, NULL);
	cr_assert_eq(rc, AV_ENOTFOUND, "%d %s", rc, av_error_last());
	cr_assert(strstr(av_error_last(), "nope.gpg"), "%s", av_error_last());
	assert_sig_error(verify_file(path_in("msg.asc"), NULL, NULL, NULL),
			 "no keyring");
	fx_write(path_in("garbage.gpg"), "this is not a keyring\n");
	rc = verify_file(path_in("msg.asc"), path_in("garbage.gpg"), NULL, NULL);
	cr_assert_eq(rc, AV_EINVALID, "%d %s", rc, av_error_last());
	cr_assert(strstr(av_error_last(), "garbage.gpg"), "%s", av_error_last());
	fx_write(path_in("empty.gpg"), "");
	rc = verify_file(path_in("msg.asc"), path_in("empty.gpg"), NULL, NULL);
	cr_assert_eq(rc, AV_EINVALID, "%d %s", rc, av_error_last());
	assert_no_private_home_left();
}

Test(sign, expired_key_is_refused)
{
	char old[4096];

	snprintf(old, sizeof(old), "%s/home-old", dir);
	cr_assert_eq(fx_sh("mkdir -m 700 '%s' && gpg --homedir '%s' --batch "
			   "--passphrase '' --faked-system-time '20200101T000000!' "
			   "--quick-gen-key 'Old <o@example.org>' ed25519 sign 2020-06-01 "
			   "2>/dev/null && gpg --homedir '%s' --batch --faked-system-time "
			   "'20200201T000000!' --clearsign -o '%s' '%s' 2>/dev/null && "
			   "gpg --homedir '%s' --export > '%s'", old, old, old,
			   path_in("old.asc"), path_in("msg"), old, path_in("old.gpg")), 0);
	fx_sh("gpgconf --homedir '%s' --kill all", old);
	assert_sig_error(verify_file(path_in("old.asc"), path_in("old.gpg"), NULL, NULL),
			 "expired");
}

Test(sign, revoked_key_is_refused)
{
	clearsign(home, path_in("msg.asc"));
	cr_assert_eq(fx_sh("sed 's/^:-----BEGIN/-----BEGIN/' '%s/openpgp-revocs.d/%s.rev'"
			   " > '%s' && gpg --homedir '%s' --batch --import '%s' 2>/dev/null"
			   " && gpg --homedir '%s' --export > '%s'", home, fpr_a,
			   path_in("rev.asc"), home, path_in("rev.asc"), home,
			   path_in("revoked.gpg")), 0);
	assert_sig_error(verify_file(path_in("msg.asc"), path_in("revoked.gpg"),
				     NULL, NULL), "revoked");
}

Test(sign, detached_signature_good_bad_and_unknown)
{
	av_buf sig = AV_BUF_INIT, fpr = AV_BUF_INIT;
	char *changed = strdup(msg);

	cr_assert_eq(fx_sh("gpg --homedir '%s' --batch --yes --armor --detach-sign "
			   "-o '%s' '%s' 2>/dev/null && gpg --homedir '%s' --batch "
			   "--yes --detach-sign -o '%s' '%s' 2>/dev/null", home,
			   path_in("msg.sig"), path_in("msg"), other,
			   path_in("msg-b.sig"), path_in("msg")), 0);
	read_into(&sig, path_in("msg.sig"));
	cr_assert_eq(av_sign_verify_detached(msg, strlen(msg), sig.ptr, sig.len,
					     path_in("keyring.gpg"), &fpr), 0,
		     "%s", av_error_last());
	cr_assert_str_eq(av_buf_cstr(&fpr), fpr_a);
	changed[0] = 's';
	assert_sig_error(av_sign_verify_detached(changed, strlen(changed), sig.ptr,
						 sig.len, path_in("keyring.gpg"), NULL),
			 "bad signature");
	read_into(&sig, path_in("msg-b.sig"));
	assert_sig_error(av_sign_verify_detached(msg, strlen(msg), sig.ptr, sig.len,
						 path_in("keyring.gpg"), NULL),
			 "unknown key");
	assert_sig_error(av_sign_verify_detached(msg, strlen(msg), "", 0,
						 path_in("keyring.gpg"), NULL),
			 "no signature");
	assert_sig_error(av_sign_verify_detached(msg, strlen(msg), "junk", 4,
						 path_in("keyring.gpg"), NULL), "");
	assert_no_private_home_left();
	free(changed);
	av_buf_dispose(&sig);
	av_buf_dispose(&fpr);
}

Test(sign, clearsign_round_trips_and_gpgv_agrees)
{
	const char *keys[] = { fpr_a, NULL };
	av_sign_opts opts = { .keys = keys, .gnupghome = home, .batch = 1 };
	av_buf out = AV_BUF_INIT, plain = AV_BUF_INIT, fpr = AV_BUF_INIT;

	cr_assert_eq(av_sign_clear(&out, msg, strlen(msg), &opts), 0,
		     "%s", av_error_last());
	cr_assert(!strncmp(out.ptr, "-----BEGIN PGP SIGNED MESSAGE-----\n", 35));
	cr_assert_eq(av_sign_verify_clear(out.ptr, out.len, path_in("keyring.gpg"),
					  &plain, &fpr), 0, "%s", av_error_last());
	cr_assert_str_eq(av_buf_cstr(&plain), msg);
	cr_assert_str_eq(av_buf_cstr(&fpr), fpr_a);
	cr_assert_eq(av_file_write_atomic(path_in("InRelease"), out.ptr, out.len), 0);
	cr_assert_eq(fx_sh("gpgv --keyring '%s' '%s' 2>/dev/null",
			   path_in("keyring.gpg"), path_in("InRelease")), 0);
	av_buf_dispose(&out);
	av_buf_dispose(&plain);
	av_buf_dispose(&fpr);
}

Test(sign, default_key_signs_when_none_is_named)
{
	av_sign_opts opts = { .gnupghome = home, .batch = 1 };
	av_buf out = AV_BUF_INIT, fpr = AV_BUF_INIT;

	cr_assert_eq(av_sign_detached(&out, msg, strlen(msg), &opts), 0,
		     "%s", av_error_last());
	cr_assert(!strncmp(out.ptr, "-----BEGIN PGP SIGNATURE-----\n", 30));
	cr_assert_eq(av_sign_verify_detached(msg, strlen(msg), out.ptr, out.len,
					     path_in("keyring.gpg"), &fpr), 0,
		     "%s", av_error_last());
	cr_assert_str_eq(av_buf_cstr(&fpr), fpr_a);
	cr_assert_eq(av_file_write_atomic(path_in("Release.gpg"), out.ptr, out.len), 0);
	cr_assert_eq(av_file_write_atomic(path_in("Release"), msg, strlen(msg)), 0);
	cr_assert_eq(fx_sh("gpgv --keyring '%s' '%s' '%s' 2>/dev/null",
			   path_in("keyring.gpg"), path_in("Release.gpg"),
			   path_in("Release")), 0);
	av_buf_dispose(&out);
	av_buf_dispose(&fpr);
}

Test(sign, every_named_key_signs)
{
	const char *keys[] = { fpr_a, fpr_b, NULL };
	av_sign_opts opts = { .keys = keys, .gnupghome = home, .batch = 1 };
	av_buf out = AV_BUF_INIT, fpr = AV_BUF_INIT;

	/* put B's secret key into A's home too */
	cr_assert_eq(fx_sh("gpg --homedir '%s' --batch --pinentry-mode loopback "
			   "--passphrase '' --export-secret-keys '%s' | gpg --homedir "
			   "'%s' --batch --import 2>/dev/null && gpg --homedir '%s' "
			   "--export '%s' > '%s'", other, fpr_b, home, other, fpr_b,
			   path_in("keyring-b.gpg")), 0);
	cr_assert_eq(av_sign_clear(&out, msg, strlen(msg), &opts), 0,
		     "%s", av_error_last());
	cr_assert_eq(av_sign_verify_clear(out.ptr, out.len, path_in("keyring.gpg"),
					  NULL, &fpr), 0, "%s", av_error_last());
	cr_assert_str_eq(av_buf_cstr(&fpr), fpr_a);
	av_buf_clear(&fpr);
	cr_assert_eq(av_sign_verify_clear(out.ptr, out.len, path_in("keyring-b.gpg"),
					  NULL, &fpr), 0, "%s", av_error_last());
	cr_assert_str_eq(av_buf_cstr(&fpr), fpr_b);
	cr_assert_eq(av_file_write_atomic(path_in("InRelease"), out.ptr, out.len), 0);
	cr_assert_eq(fx_sh("test \"$(gpg --homedir '%s' --status-fd 1 --verify '%s' "
			   "2>/dev/null | grep -c GOODSIG)\" = 2", home,
			   path_in("InRelease")), 0, "expected two good signatures");
	av_buf_dispose(&out);
	av_buf_dispose(&fpr);
}

Test(sign, unknown_signing_key_is_not_found)
{
	const char *keys[] = { "0000000000000000000000000000000000000000", NULL };
	av_sign_opts opts = { .keys = keys, .gnupghome = home, .batch = 1 };
	av_buf out = AV_BUF_INIT;
	int rc;

	rc = av_sign_clear(&out, msg, strlen(msg), &opts);
	cr_assert_eq(rc, AV_ENOTFOUND, "%d %s", rc, av_error_last());
	cr_assert(strstr(av_error_last(), keys[0]), "%s", av_error_last());
	cr_assert_eq(out.len, 0);
	av_buf_dispose(&out);
}

static void make_protected_key(char *h, size_t size, char *fpr)
{
	snprintf(h, size, "%s/home-c", dir);
	gen_key(h, "Test C <c@example.org>", "sesame", fpr);
	/* forget any passphrase cached while generating */
	fx_sh("gpgconf --homedir '%s' --kill gpg-agent", h);
}

Test(sign, passphrase_file_unlocks_the_key)
{
	char h[4096], fpr[64];
	const char *keys[] = { fpr, NULL };
	av_sign_opts opts = { .keys = keys, .batch = 1 };
	av_buf out = AV_BUF_INIT;

	make_protected_key(h, sizeof(h), fpr);
	opts.gnupghome = h;
	fx_write(path_in("pass"), "sesame\n");
	opts.passphrase_file = path_in("pass");
	cr_assert_eq(av_sign_clear(&out, msg, strlen(msg), &opts), 0,
		     "%s", av_error_last());
	cr_assert_eq(av_file_write_atomic(path_in("InRelease"), out.ptr, out.len), 0);
	cr_assert_eq(fx_sh("gpg --homedir '%s' --batch --verify '%s' 2>/dev/null",
			   h, path_in("InRelease")), 0);
	fx_sh("gpgconf --homedir '%s' --kill all", h);
	av_buf_dispose(&out);
}

Test(sign, wrong_or_missing_passphrase_fails_cleanly)
{
	char h[4096], fpr[64];
	const char *keys[] = { fpr, NULL };
	av_sign_opts opts = { .keys = keys, .batch = 1 };
	av_buf out = AV_BUF_INIT;
	int rc;

	make_protected_key(h, sizeof(h), fpr);
	opts.gnupghome = h;
	rc = av_sign_clear(&out, msg, strlen(msg), &opts);
	cr_assert_eq(rc, AV_ESIGNATURE, "%d %s", rc, av_error_last());
	cr_assert(strstr(av_error_last(), "passphrase"), "%s", av_error_last());
	fx_write(path_in("pass"), "open barley\n");
	opts.passphrase_file = path_in("pass");
	rc = av_sign_clear(&out, msg, strlen(msg), &opts);
	cr_assert_eq(rc, AV_ESIGNATURE, "%d %s", rc, av_error_last());
	cr_assert(strstr(av_error_last(), "passphrase"), "%s", av_error_last());
	opts.passphrase_file = path_in("no-such-file");
	rc = av_sign_clear(&out, msg, strlen(msg), &opts);
	cr_assert_eq(rc, AV_ENOTFOUND, "%d %s", rc, av_error_last());
	cr_assert_eq(out.len, 0);
	fx_sh("gpgconf --homedir '%s' --kill all", h);
	av_buf_dispose(&out);
}

Test(sign, key_named_by_user_id_signs_and_ambiguous_name_is_refused)
{
	const char *keys[] = { "a@example.org", NULL };
	av_sign_opts opts = { .keys = keys, .gnupghome = home, .batch = 1 };
	av_buf out = AV_BUF_INIT, fpr = AV_BUF_INIT;
	int rc;

	cr_assert_eq(av_sign_clear(&out, msg, strlen(msg), &opts), 0,
		     "%s", av_error_last());
	cr_assert_eq(av_sign_verify_clear(out.ptr, out.len, path_in("keyring.gpg"),
					  NULL, &fpr), 0, "%s", av_error_last());
	cr_assert_str_eq(av_buf_cstr(&fpr), fpr_a);
	cr_assert_eq(fx_sh("gpg --homedir '%s' --batch --passphrase '' --quick-gen-key "
			   "'Again <a@example.org>' ed25519 sign never 2>/dev/null", home), 0);
	av_buf_clear(&out);
	rc = av_sign_clear(&out, msg, strlen(msg), &opts);
	cr_assert_eq(rc, AV_EINVALID, "%d %s", rc, av_error_last());
	cr_assert(strstr(av_error_last(), "ambiguous"), "%s", av_error_last());
	cr_assert_eq(out.len, 0);
	av_buf_dispose(&out);
	av_buf_dispose(&fpr);
}
