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
/* The salt comes from getrandom(2), the kernel CSPRNG OpenSSL itself seeds from. */
#include <sys/random.h>
#endif
