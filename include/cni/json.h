/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CNI_JSON_H
#define CNI_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "cni/err.h"

/*
 * A read-only view of a node of parsed JSON (the config on stdin, a result).
 * Keys match case-insensitively, as Go's encoding/json does for the
 * reference plugins, and a JSON null counts as absent. Nodes belong to the
 * document they came from. Type mismatches fail with CNI_ERR_DECODE naming
 * the key, as Go's decoder would; range errors with CNI_ERR_CONFIG.
 */
struct cni_json;

/* Member of an object, or NULL when obj is not an object, key is missing or null. */
const struct cni_json *cni_json_get(const struct cni_json *obj, const char *key);

bool cni_json_is_object(const struct cni_json *j);
bool cni_json_is_array(const struct cni_json *j);
bool cni_json_is_string(const struct cni_json *j);
/* Array length (0 when not an array) and element i (NULL when out of range). */
size_t cni_json_len(const struct cni_json *j);
const struct cni_json *cni_json_at(const struct cni_json *j, size_t i);
/* Key of an object member reached with cni_json_at() on an object. */
const char *cni_json_key(const struct cni_json *j);
/* String value, or NULL when j is not a string. */
const char *cni_json_string(const struct cni_json *j);

/*
 * Typed getters for obj.key. Absent (or null): return 0 and leave *out as is,
 * so callers preset defaults. Wrong type: -EINVAL with err set.
 */
int cni_json_get_str(const struct cni_json *obj, const char *key, const char **out,
		     struct cni_err *err) __attribute__((warn_unused_result));
int cni_json_get_bool(const struct cni_json *obj, const char *key, bool *out,
		      struct cni_err *err) __attribute__((warn_unused_result));
/* Integers within [min, max]; a fraction or out of range is CNI_ERR_CONFIG. */
int cni_json_get_int(const struct cni_json *obj, const char *key, long long min, long long max,
		     long long *out, struct cni_err *err) __attribute__((warn_unused_result));
/* An object or array member must have that type if present. */
int cni_json_get_object(const struct cni_json *obj, const char *key, const struct cni_json **out,
			struct cni_err *err) __attribute__((warn_unused_result));
int cni_json_get_array(const struct cni_json *obj, const char *key, const struct cni_json **out,
		       struct cni_err *err) __attribute__((warn_unused_result));

/*
 * Building a document (state files a plugin keeps): a new empty object, and
 * members added to it. Each returns 0 or -ENOMEM; an object member is
 * returned (NULL on ENOMEM) to be filled in turn. Free with cni_json_free().
 */
struct cni_json *cni_json_new_object(void);
int cni_json_add_str(struct cni_json *obj, const char *key, const char *val)
	__attribute__((warn_unused_result));
int cni_json_add_int(struct cni_json *obj, const char *key, long long val)
	__attribute__((warn_unused_result));
int cni_json_add_bool(struct cni_json *obj, const char *key, bool val)
	__attribute__((warn_unused_result));
struct cni_json *cni_json_add_object(struct cni_json *obj, const char *key);

/* Compact JSON text of j; caller frees. NULL on ENOMEM. */
char *cni_json_print(const struct cni_json *j);

/* A parsed document: parse text (CNI_ERR_DECODE on bad JSON), free the tree. */
int cni_json_parse(const char *text, size_t len, struct cni_json **out,
		   struct cni_err *err) __attribute__((warn_unused_result));
void cni_json_free(struct cni_json *j);

#endif
