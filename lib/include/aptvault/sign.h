/*
 * sign.h - OpenPGP signing and verification through gpgme.
 *
 * Keyrings are files (an exported public keyring or a keybox); they are
 * imported into a private temporary GNUPGHOME so the user's own keyring
 * never decides what is trusted.
 */
#ifndef AV_SIGN_H
#define AV_SIGN_H

#include <stddef.h>
#include "buf.h"

/*
 * Verify a clearsigned message against the keys in keyring (a file).
 * On success the signed body goes to plain (dash-unescaped) and the
 * signer's fingerprint to fpr (either may be NULL).  No signature, a bad
 * signature or an unknown key: AV_ESIGNATURE with the reason.
 */
int av_sign_verify_clear(const char *data, size_t len, const char *keyring,
			 av_buf *plain, av_buf *fpr);

/* Verify a detached signature over data. */
int av_sign_verify_detached(const char *data, size_t len, const char *sig,
			    size_t sig_len, const char *keyring, av_buf *fpr);

/*
 * Signing, for publishing (InRelease, Release.gpg).  The secret keys live
 * in a GnuPG home and are used through its gpg-agent; output is armored
 * and appended to out.
 */
typedef struct av_sign_opts {
	const char *const *keys;	/* NULL-terminated key ids or
					 * fingerprints, each one signs;
					 * NULL: gpg's default key */
	const char *gnupghome;		/* NULL: the user's default */
	const char *passphrase_file;	/* its first line is the passphrase */
	int batch;			/* never ask for a passphrase */
} av_sign_opts;

/* A clearsigned copy of data (InRelease). opts NULL: all defaults. */
int av_sign_clear(av_buf *out, const char *data, size_t len,
		  const av_sign_opts *opts);

/* A detached signature over data (Release.gpg). */
int av_sign_detached(av_buf *out, const char *data, size_t len,
		     const av_sign_opts *opts);

#endif
