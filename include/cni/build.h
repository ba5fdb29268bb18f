/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CNI_BUILD_H
#define CNI_BUILD_H

#include <stdbool.h>

/*
 * Every plugin binary carries an ELF note (".note.cnip") naming the sources
 * it was built from: a hash of pkg/, include/, plugins/ and the Makefile that
 * `make` computes. Two binaries with the same note run the same code.
 */

/* This build's identity, "unknown" when built without one. */
const char *cni_build_id(void);

/*
 * Whether the executable at path carries this build's note. Never true for an
 * "unknown" build, a file that is not an ELF of our class, or on any error.
 */
bool cni_build_is_ours(const char *path);

#endif
