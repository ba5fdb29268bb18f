/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CNI_HASH_H
#define CNI_HASH_H

#include <stddef.h>
#include <stdint.h>

#define CNI_SHA512_LEN 64

/* SHA-512 (FIPS 180-4) of len bytes at data into out. Cannot fail. */
void cni_sha512(const void *data, size_t len, uint8_t out[CNI_SHA512_LEN]);

/*
 * The first nhex (at most 128) lowercase hex digits of the SHA-512 of data,
 * NUL-terminated: out must hold nhex + 1 bytes. Names derived this way match
 * the reference plugins' (chain names, host veth names).
 */
void cni_sha512_hex(const void *data, size_t len, char *out, size_t nhex);

#endif
