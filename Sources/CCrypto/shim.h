#ifndef CCRYPTO_SHIM_H
#define CCRYPTO_SHIM_H
/* The low-level AES, MD5 and SHA-256 calls are marked deprecated in OpenSSL 3.0 in favour of EVP, but EVP and
   RAND_bytes first build the provider tables, which costs about 1.5 ms per process: more than the whole rest of
   a request. They stay in libcrypto 3.x; see Sources/Provisioning/Crypto/OpenSSLEnc.swift. */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/aes.h>
#include <openssl/md5.h>
#include <openssl/sha.h>
#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/crypto.h>
#include <openssl/modes.h>
/* The salt comes from getrandom(2), the kernel CSPRNG OpenSSL itself seeds from. */
#include <sys/random.h>

/* AES-128-GCM over one RFC 8188 record with libcrypto's low-level AES block function and its GCM mode
   (CRYPTO_gcm128_*, GHASH with PCLMULQDQ where the CPU has it), not EVP: EVP would build the provider tables
   first (see OpenSSLEnc.swift). The context is allocated per record: a profile has a handful of records. */
static inline int ccrypto_aes128gcm_seal(const unsigned char *key16, const unsigned char *iv12,
                                         const unsigned char *in, size_t length, unsigned char *out,
                                         unsigned char *tag16) {
    AES_KEY schedule;
    if (AES_set_encrypt_key(key16, 128, &schedule) != 0) return -1;
    GCM128_CONTEXT *gcm = CRYPTO_gcm128_new(&schedule, (block128_f)AES_encrypt);
    if (gcm == NULL) return -1;
    CRYPTO_gcm128_setiv(gcm, iv12, 12);
    int rc = CRYPTO_gcm128_encrypt(gcm, in, out, length);
    if (rc == 0) CRYPTO_gcm128_tag(gcm, tag16, 16);
    CRYPTO_gcm128_release(gcm);
    OPENSSL_cleanse(&schedule, sizeof schedule);
    return rc;
}

/* The inverse: 0 when the tag matches, -1 otherwise (wrong key, altered record). */
static inline int ccrypto_aes128gcm_open(const unsigned char *key16, const unsigned char *iv12,
                                         const unsigned char *in, size_t length, unsigned char *out,
                                         const unsigned char *tag16) {
    AES_KEY schedule;
    if (AES_set_encrypt_key(key16, 128, &schedule) != 0) return -1;
    GCM128_CONTEXT *gcm = CRYPTO_gcm128_new(&schedule, (block128_f)AES_encrypt);
    if (gcm == NULL) return -1;
    CRYPTO_gcm128_setiv(gcm, iv12, 12);
    int rc = CRYPTO_gcm128_decrypt(gcm, in, out, length);
    if (rc == 0) rc = CRYPTO_gcm128_finish(gcm, tag16, 16);
    CRYPTO_gcm128_release(gcm);
    OPENSSL_cleanse(&schedule, sizeof schedule);
    return rc == 0 ? 0 : -1;
}
#endif
