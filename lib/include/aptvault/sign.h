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

#endif
