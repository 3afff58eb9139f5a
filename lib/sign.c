/* sign.c - OpenPGP signing and verification through gpgme (see sign.h). */
#include <stdio.h>
#include <pthread.h>
#include <fcntl.h>
#include <unistd.h>
#include <gpgme.h>
#include "aptvault/sign.h"
#include "aptvault/file.h"
#include "internal.h"

#define KEYRING_MAX ((size_t)64 << 20)
#define PASSPHRASE_MAX ((size_t)4096)

/*
 * The private home never starts an agent or a dirmngr (verification needs
 * neither) and never fetches keys: only the keyring file decides.
 */
static const char trust_home_conf[] =
	"no-autostart\n"
	"no-auto-key-retrieve\n";

static pthread_once_t gpgme_once = PTHREAD_ONCE_INIT;
static int gpgme_usable;

static void gpgme_init_once(void)
{
	if (!gpgme_check_version(NULL))
		return;
	gpgme_usable = !gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP);
}

static int gpg_fail(int code, gpgme_error_t err, const char *what)
{
	char msg[256];

	gpgme_strerror_r(err, msg, sizeof(msg));
	return av_error_set(code, "%s: %s", what, msg);
}

static int ctx_open(gpgme_ctx_t *out, const char *home)
{
	gpgme_error_t err;

	pthread_once(&gpgme_once, gpgme_init_once);
	if (!gpgme_usable)
		return av_error_set(AV_ERROR, "cannot use OpenPGP: gpgme found "
				    "no usable gpg; install gnupg");
	if ((err = gpgme_new(out)))
		return gpg_fail(AV_ERROR, err, "cannot create a gpgme context");
	if (home && (err = gpgme_ctx_set_engine_info(*out, GPGME_PROTOCOL_OpenPGP,
						     NULL, home))) {
		char what[4200];

		gpgme_release(*out);
		*out = NULL;
		snprintf(what, sizeof(what), "cannot use GnuPG home '%s'", home);
		return gpg_fail(AV_ERROR, err, what);
	}
	return 0;
}

/* Append a gpgme data object's content to out and release it. */
static int data_take(av_buf *out, gpgme_data_t *dh)
{
	size_t len = 0;
	char *mem = gpgme_data_release_and_get_mem(*dh, &len);
	int rc = 0;

	*dh = NULL;
	if (out && mem)
		rc = av_buf_put(out, mem, len);
	gpgme_free(mem);
	return rc;
}

/* ---- verification ---------------------------------------------------- */

typedef struct trust_home {
	char dir[4096];		/* "" until created */
	gpgme_ctx_t ctx;
} trust_home;

static int write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	const char *p = data;

	if (fd < 0)
		return av_error_set_errno(AV_EIO, errno, "cannot create '%s'", path);
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			return av_error_set_errno(AV_EIO, e, "cannot write '%s'", path);
		}
		p += n;
		len -= (size_t)n;
	}
	if (close(fd) < 0)
		return av_error_set_errno(AV_EIO, errno, "cannot write '%s'", path);
	return 0;
}

static int home_create(trust_home *h)
{
	const char *base = getenv("TMPDIR");
	char path[4096 + 16];
	int n;

	if (!base || !*base)
		base = "/tmp";
	n = snprintf(h->dir, sizeof(h->dir), "%s/aptvault-gpg.XXXXXX", base);
	if (n < 0 || (size_t)n >= sizeof(h->dir) - 32) {
		h->dir[0] = '\0';
		return av_error_set(AV_EINVALID, "temporary directory path too long: '%s'",
				    base);
	}
	if (!mkdtemp(h->dir)) {
		int e = errno;
		h->dir[0] = '\0';
		return av_error_set_errno(AV_EIO, e,
					  "cannot create a temporary GnuPG home in '%s'", base);
	}
	snprintf(path, sizeof(path), "%s/gpg.conf", h->dir);
	return write_file(path, trust_home_conf, sizeof(trust_home_conf) - 1);
}

static int is_keybox(const av_buf *b)
{
	return b->len >= 12 && !memcmp(b->ptr + 8, "KBXf", 4);
}

static int import_keys(trust_home *h, const av_buf *keys, const char *keyring)
{
	gpgme_data_t dh = NULL;
	gpgme_import_result_t res;
	gpgme_error_t err;
	char what[4200];
	int rc = 0;

	if ((err = gpgme_data_new_from_mem(&dh, keys->ptr, keys->len, 0)))
		return gpg_fail(AV_ERROR, err, "cannot read keyring");
	snprintf(what, sizeof(what), "cannot import keyring '%s'", keyring);
	if ((err = gpgme_op_import(h->ctx, dh)))
		rc = gpg_fail(AV_EINVALID, err, what);
	else if (!(res = gpgme_op_import_result(h->ctx)) ||
		 res->imported + res->unchanged == 0)
		rc = av_error_set(AV_EINVALID, "keyring '%s' holds no usable "
				  "OpenPGP public key", keyring);
	gpgme_data_release(dh);
	return rc;
}

/*
 * A keybox (what gpg 2.1+ keeps as pubring.kbx) cannot be imported; it
 * becomes the private home's own pubring.  Exported keyrings, binary or
 * armored, are imported.
 */
static int home_load_keyring(trust_home *h, const char *keyring)
{
	av_buf keys = AV_BUF_INIT;
	char path[4096 + 16];
	int rc;

	if ((rc = av_file_read(&keys, keyring, KEYRING_MAX)))
		goto done;
	if (keys.len == 0) {
		rc = av_error_set(AV_EINVALID, "keyring '%s' is empty", keyring);
		goto done;
	}
	if (is_keybox(&keys)) {
		snprintf(path, sizeof(path), "%s/pubring.kbx", h->dir);
		rc = write_file(path, keys.ptr, keys.len);
	} else {
		rc = import_keys(h, &keys, keyring);
	}
done:
	av_buf_dispose(&keys);
	return rc;
}

/* Remove the private home; a failure to clean up must not replace the
 * error being reported (rc). */
static void home_close(trust_home *h, int rc)
{
	char msg[4096];

	if (rc)
		snprintf(msg, sizeof(msg), "%s", av_error_last());
	if (h->ctx)
		gpgme_release(h->ctx);
	h->ctx = NULL;
	if (h->dir[0])
		av_remove_tree(h->dir);
	h->dir[0] = '\0';
	if (rc)
		av_error_set(rc, "%s", msg);
}

static int home_open(trust_home *h, const char *keyring)
{
	int rc;

	h->dir[0] = '\0';
	h->ctx = NULL;
	if (!keyring || !*keyring)
		return av_error_set(AV_ESIGNATURE, "no keyring given to verify "
				    "the signature against");
	if ((rc = home_create(h)) || (rc = ctx_open(&h->ctx, h->dir)) ||
	    (rc = home_load_keyring(h, keyring)))
		return rc;
	return 0;
}

static int sig_is_good(const gpgme_signature_t s)
{
	const gpgme_sigsum_t refused = GPGME_SIGSUM_RED | GPGME_SIGSUM_KEY_REVOKED |
		GPGME_SIGSUM_KEY_EXPIRED | GPGME_SIGSUM_SIG_EXPIRED |
		GPGME_SIGSUM_KEY_MISSING;

	return gpg_err_code(s->status) == GPG_ERR_NO_ERROR &&
		!(s->summary & refused) && !s->wrong_key_usage &&
		s->validity != GPGME_VALIDITY_NEVER && s->fpr && *s->fpr;
}

static int sig_refuse(const gpgme_signature_t s, const char *keyring)
{
	const char *fpr = s->fpr && *s->fpr ? s->fpr : "(no key id)";
	gpgme_err_code_t code = gpg_err_code(s->status);

	if (code == GPG_ERR_NO_PUBKEY || (s->summary & GPGME_SIGSUM_KEY_MISSING))
		return av_error_set(AV_ESIGNATURE, "signed by unknown key '%s', "
				    "not in keyring '%s'", fpr, keyring);
	if (code == GPG_ERR_BAD_SIGNATURE)
		return av_error_set(AV_ESIGNATURE, "bad signature by key '%s'; "
				    "the signed text was changed", fpr);
	if (code == GPG_ERR_CERT_REVOKED || (s->summary & GPGME_SIGSUM_KEY_REVOKED))
		return av_error_set(AV_ESIGNATURE, "signed by revoked key '%s'", fpr);
	if (code == GPG_ERR_KEY_EXPIRED || (s->summary & GPGME_SIGSUM_KEY_EXPIRED))
		return av_error_set(AV_ESIGNATURE, "signed by expired key '%s'", fpr);
	if (code == GPG_ERR_SIG_EXPIRED || (s->summary & GPGME_SIGSUM_SIG_EXPIRED))
		return av_error_set(AV_ESIGNATURE, "signature by key '%s' has expired",
				    fpr);
	if (s->wrong_key_usage)
		return av_error_set(AV_ESIGNATURE, "key '%s' is not a signing key", fpr);
	if (code != GPG_ERR_NO_ERROR)
		return gpg_fail(AV_ESIGNATURE, s->status, "signature not valid");
	return av_error_set(AV_ESIGNATURE, "signature by key '%s' is not valid",
			    fpr);
}

/* At least one good signature by a key of the keyring; its fpr to fpr. */
static int check_sigs(gpgme_ctx_t ctx, const char *keyring, av_buf *fpr)
{
	gpgme_verify_result_t res = gpgme_op_verify_result(ctx);
	gpgme_signature_t s;

	if (!res || !res->signatures)
		return av_error_set(AV_ESIGNATURE, "no signature");
	for (s = res->signatures; s; s = s->next)
		if (sig_is_good(s))
			return fpr ? av_buf_puts(fpr, s->fpr) : 0;
	return sig_refuse(res->signatures, keyring);
}

static int verify_fail(gpgme_error_t err)
{
	if (gpg_err_code(err) == GPG_ERR_NO_DATA)
		return av_error_set(AV_ESIGNATURE, "no signature");
	return gpg_fail(AV_ESIGNATURE, err, "cannot check the signature");
}

/* ---- clearsigned layout ---------------------------------------------- */

static int line_is(const char *line, size_t len, const char *armor)
{
	size_t n = strlen(armor);

	if (len < n || memcmp(line, armor, n))
		return 0;
	for (; n < len; n++)
		if (line[n] != ' ' && line[n] != '\t' && line[n] != '\r')
			return 0;
	return 1;
}

static int line_blank(const char *line, size_t len)
{
	return line_is(line, len, "");
}

/*
 * gpg ignores whatever surrounds a clearsigned block, and would verify a
 * second block glued after the first.  Only one block, with nothing but
 * blank lines around it, is accepted, so the text we return is all the
 * text there is.
 */
static int check_clear_layout(const char *data, size_t len)
{
	enum { BEFORE, BODY, SIG, AFTER } state = BEFORE;
	const char *p = data, *end = data + len;

	if (!memmem(data, len, "-----BEGIN PGP SIGNED MESSAGE-----", 34))
		return av_error_set(AV_ESIGNATURE, "no signature");
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (state == BEFORE && line_is(p, n, "-----BEGIN PGP SIGNED MESSAGE-----"))
			state = BODY;
		else if (state == BEFORE && !line_blank(p, n))
			return av_error_set(AV_ESIGNATURE, "unsigned text before "
					    "the signed message");
		else if (state == BODY && line_is(p, n, "-----BEGIN PGP SIGNATURE-----"))
			state = SIG;
		else if (state == SIG && line_is(p, n, "-----END PGP SIGNATURE-----"))
			state = AFTER;
		else if (state == AFTER && !line_blank(p, n))
			return av_error_set(AV_ESIGNATURE, "unsigned text after "
					    "the signature");
		p += n + (nl ? 1 : 0);
	}
	if (state != AFTER)
		return av_error_set(AV_ESIGNATURE, "signed message is truncated "
				    "(no complete signature block)");
	return 0;
}

int av_sign_verify_clear(const char *data, size_t len, const char *keyring,
			 av_buf *plain, av_buf *fpr)
{
	trust_home h;
	gpgme_data_t sig = NULL, text = NULL;
	gpgme_error_t err;
	int rc;

	if ((rc = check_clear_layout(data, len)))
		return rc;
	if ((rc = home_open(&h, keyring)))
		goto done;
	if ((err = gpgme_data_new_from_mem(&sig, data, len, 0)) ||
	    (err = gpgme_data_new(&text))) {
		rc = gpg_fail(AV_ERROR, err, "cannot set up verification");
		goto done;
	}
	if ((err = gpgme_op_verify(h.ctx, sig, NULL, text))) {
		rc = verify_fail(err);
		goto done;
	}
	if ((rc = check_sigs(h.ctx, keyring, fpr)))
		goto done;
	rc = data_take(plain, &text);
done:
	gpgme_data_release(text);
	gpgme_data_release(sig);
	home_close(&h, rc);
	return rc;
}

int av_sign_verify_detached(const char *data, size_t len, const char *sig,
			    size_t sig_len, const char *keyring, av_buf *fpr)
{
	trust_home h;
	gpgme_data_t sig_dh = NULL, text = NULL;
	gpgme_error_t err;
	int rc;

	if (!sig_len)
		return av_error_set(AV_ESIGNATURE, "no signature");
	if ((rc = home_open(&h, keyring)))
		goto done;
	if ((err = gpgme_data_new_from_mem(&sig_dh, sig, sig_len, 0)) ||
	    (err = gpgme_data_new_from_mem(&text, data, len, 0))) {
		rc = gpg_fail(AV_ERROR, err, "cannot set up verification");
		goto done;
	}
	if ((err = gpgme_op_verify(h.ctx, sig_dh, text, NULL))) {
		rc = verify_fail(err);
		goto done;
	}
	rc = check_sigs(h.ctx, keyring, fpr);
done:
	gpgme_data_release(text);
	gpgme_data_release(sig_dh);
	home_close(&h, rc);
	return rc;
}

/* ---- signing --------------------------------------------------------- */

static gpgme_error_t passphrase_cb(void *hook, const char *uid_hint,
				   const char *info, int prev_was_bad, int fd)
{
	const char *pass = hook;

	(void)uid_hint;
	(void)info;
	/* the file holds one passphrase: asking again cannot help */
	if (prev_was_bad)
		return gpg_error(GPG_ERR_BAD_PASSPHRASE);
	if (gpgme_io_writen(fd, pass, strlen(pass)) || gpgme_io_writen(fd, "\n", 1))
		return gpgme_error_from_syserror();
	return 0;
}

static int read_passphrase(av_buf *out, const char *path)
{
	char *nl;
	int rc;

	if ((rc = av_file_read(out, path, PASSPHRASE_MAX)))
		return av_error_wrap(rc, "cannot read passphrase file");
	if (out->len && (nl = memchr(out->ptr, '\n', out->len))) {
		if (nl > out->ptr && nl[-1] == '\r')
			nl--;
		explicit_bzero(nl, out->len - (size_t)(nl - out->ptr));
		out->len = (size_t)(nl - out->ptr);
	}
	if (memchr(av_buf_cstr(out), '\0', out->len))
		return av_error_set(AV_EINVALID, "passphrase file '%s' holds a NUL byte",
				    path);
	return 0;
}

static int set_pinentry(gpgme_ctx_t ctx, const av_sign_opts *opts, av_buf *pass)
{
	gpgme_pinentry_mode_t mode = GPGME_PINENTRY_MODE_DEFAULT;
	gpgme_error_t err;
	int rc;

	if (opts->passphrase_file) {
		if ((rc = read_passphrase(pass, opts->passphrase_file)))
			return rc;
		mode = GPGME_PINENTRY_MODE_LOOPBACK;
		gpgme_set_passphrase_cb(ctx, passphrase_cb, (void *)av_buf_cstr(pass));
	} else if (opts->batch) {
		/* a cached passphrase or none at all still works */
		mode = GPGME_PINENTRY_MODE_CANCEL;
	}
	if ((err = gpgme_set_pinentry_mode(ctx, mode)))
		return gpg_fail(AV_ERROR, err, "cannot set the pinentry mode");
	return 0;
}

static const char *home_name(const av_sign_opts *opts)
{
	return opts->gnupghome ? opts->gnupghome : "(default)";
}

/* The one secret key id (fingerprint, key id or user id) names. */
static gpgme_error_t find_secret_key(gpgme_ctx_t ctx, const char *id,
				     gpgme_key_t *out)
{
	gpgme_key_t extra = NULL;
	gpgme_error_t err;

	*out = NULL;
	if ((err = gpgme_op_keylist_start(ctx, id, 1)))
		return err;
	if (!(err = gpgme_op_keylist_next(ctx, out)) &&
	    !gpgme_op_keylist_next(ctx, &extra)) {
		err = gpg_error(GPG_ERR_AMBIGUOUS_NAME);
		gpgme_key_unref(extra);
	}
	gpgme_op_keylist_end(ctx);
	if (err) {
		gpgme_key_unref(*out);
		*out = NULL;
	}
	return err;
}

static int add_signer(gpgme_ctx_t ctx, const char *id, const av_sign_opts *opts)
{
	gpgme_key_t key = NULL;
	gpgme_error_t err;
	int rc = 0;

	err = find_secret_key(ctx, id, &key);
	if (gpg_err_code(err) == GPG_ERR_EOF)
		return av_error_set(AV_ENOTFOUND, "no secret key '%s' in GnuPG home "
				    "'%s'", id, home_name(opts));
	if (gpg_err_code(err) == GPG_ERR_AMBIGUOUS_NAME)
		return av_error_set(AV_EINVALID, "key '%s' is ambiguous in GnuPG "
				    "home '%s'; give its fingerprint", id, home_name(opts));
	if (err)
		return gpg_fail(AV_ERROR, err, "cannot look up the signing key");
	if (!key->can_sign || key->revoked || key->expired || key->disabled)
		rc = av_error_set(AV_EINVALID, "key '%s' cannot sign (revoked, "
				  "expired, disabled or not a signing key)", id);
	else if ((err = gpgme_signers_add(ctx, key)))
		rc = gpg_fail(AV_ERROR, err, "cannot add the signing key");
	gpgme_key_unref(key);
	return rc;
}

static int check_sign_result(gpgme_ctx_t ctx)
{
	gpgme_sign_result_t res = gpgme_op_sign_result(ctx);
	gpgme_new_signature_t s;
	unsigned made = 0;

	if (res && res->invalid_signers) {
		char what[512];
		gpgme_invalid_key_t bad = res->invalid_signers;

		snprintf(what, sizeof(what), "cannot sign with key '%s'",
			 bad->fpr ? bad->fpr : "?");
		return gpg_fail(AV_ESIGNATURE, bad->reason, what);
	}
	for (s = res ? res->signatures : NULL; s; s = s->next)
		made++;
	if (!made || made < gpgme_signers_count(ctx))
		return av_error_set(AV_ESIGNATURE, "gpg made %u of %u signatures",
				    made, gpgme_signers_count(ctx));
	return 0;
}

static int sign_fail(gpgme_error_t err, const av_sign_opts *opts)
{
	gpgme_err_code_t code = gpg_err_code(err);
	char what[4200];

	if (code == GPG_ERR_BAD_PASSPHRASE && opts->passphrase_file)
		return av_error_set(AV_ESIGNATURE, "cannot sign: bad passphrase "
				    "in '%s'", opts->passphrase_file);
	if ((code == GPG_ERR_CANCELED || code == GPG_ERR_NO_PIN_ENTRY ||
	     code == GPG_ERR_NO_PASSPHRASE) && opts->batch)
		return av_error_set(AV_ESIGNATURE, "cannot sign: the key needs a "
				    "passphrase; give a passphrase file or let "
				    "gpg-agent cache it");
	snprintf(what, sizeof(what), "cannot sign with GnuPG home '%s'",
		 home_name(opts));
	return gpg_fail(AV_ESIGNATURE, err, what);
}

static int sign_data(av_buf *out, const char *data, size_t len,
		     const av_sign_opts *opts, gpgme_sig_mode_t mode)
{
	static const av_sign_opts defaults;
	gpgme_ctx_t ctx = NULL;
	gpgme_data_t in = NULL, sig = NULL;
	av_buf pass = AV_BUF_INIT;
	gpgme_error_t err;
	int rc;

	if (!opts)
		opts = &defaults;
	if ((rc = ctx_open(&ctx, opts->gnupghome)))
		goto done;
	gpgme_set_armor(ctx, 1);
	if ((rc = set_pinentry(ctx, opts, &pass)))
		goto done;
	for (const char *const *k = opts->keys; k && *k; k++)
		if ((rc = add_signer(ctx, *k, opts)))
			goto done;
	if ((err = gpgme_data_new_from_mem(&in, data, len, 0)) ||
	    (err = gpgme_data_new(&sig))) {
		rc = gpg_fail(AV_ERROR, err, "cannot set up signing");
		goto done;
	}
	if ((err = gpgme_op_sign(ctx, in, sig, mode))) {
		rc = sign_fail(err, opts);
		goto done;
	}
	if ((rc = check_sign_result(ctx)))
		goto done;
	rc = data_take(out, &sig);
done:
	gpgme_data_release(sig);
	gpgme_data_release(in);
	if (ctx)
		gpgme_release(ctx);
	if (pass.ptr)
		explicit_bzero(pass.ptr, pass.cap);
	av_buf_dispose(&pass);
	return rc;
}

int av_sign_clear(av_buf *out, const char *data, size_t len,
		  const av_sign_opts *opts)
{
	return sign_data(out, data, len, opts, GPGME_SIG_MODE_CLEAR);
}

int av_sign_detached(av_buf *out, const char *data, size_t len,
		     const av_sign_opts *opts)
{
	return sign_data(out, data, len, opts, GPGME_SIG_MODE_DETACH);
}
