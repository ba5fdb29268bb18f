// SPDX-License-Identifier: GPL-2.0-or-later
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cni/json.h"

/* struct cni_json is cJSON; the public header only keeps it opaque. */
#define J(j) ((const cJSON *)(j))
#define JW(j) ((cJSON *)(j))

const struct cni_json *cni_json_get(const struct cni_json *obj, const char *key)
{
	const cJSON *it, *found = NULL;

	if (!obj || !cJSON_IsObject(J(obj)))
		return NULL;
	/*
	 * Go's decoder assigns every key that matches a field, exactly or in
	 * another case, in document order: the last one wins. A null leaves
	 * the earlier value in place.
	 */
	cJSON_ArrayForEach(it, J(obj))
		if (it->string && !strcasecmp(it->string, key) && !cJSON_IsNull(it))
			found = it;
	return (const struct cni_json *)found;
}

bool cni_json_is_object(const struct cni_json *j)
{
	return j && cJSON_IsObject(J(j));
}

bool cni_json_is_array(const struct cni_json *j)
{
	return j && cJSON_IsArray(J(j));
}

bool cni_json_is_string(const struct cni_json *j)
{
	return j && cJSON_IsString(J(j));
}

size_t cni_json_len(const struct cni_json *j)
{
	if (!j || !(cJSON_IsArray(J(j)) || cJSON_IsObject(J(j))))
		return 0;
	return (size_t)cJSON_GetArraySize(J(j));
}

const struct cni_json *cni_json_at(const struct cni_json *j, size_t i)
{
	if (!j || i >= cni_json_len(j))
		return NULL;
	return (const struct cni_json *)cJSON_GetArrayItem(J(j), (int)i);
}

const char *cni_json_key(const struct cni_json *j)
{
	return j ? J(j)->string : NULL;
}

const char *cni_json_string(const struct cni_json *j)
{
	return j && cJSON_IsString(J(j)) ? J(j)->valuestring : NULL;
}

static int type_error(const char *key, const char *want, struct cni_err *err)
{
	return cni_err_set(err, CNI_ERR_DECODE, 0, "cannot decode \"%s\": expected %s", key, want);
}

int cni_json_get_str(const struct cni_json *obj, const char *key, const char **out,
		     struct cni_err *err)
{
	const struct cni_json *v = cni_json_get(obj, key);

	if (!v)
		return 0;
	if (!cJSON_IsString(J(v)))
		return type_error(key, "a string", err);
	*out = J(v)->valuestring;
	return 0;
}

int cni_json_get_bool(const struct cni_json *obj, const char *key, bool *out, struct cni_err *err)
{
	const struct cni_json *v = cni_json_get(obj, key);

	if (!v)
		return 0;
	if (!cJSON_IsBool(J(v)))
		return type_error(key, "true or false", err);
	*out = cJSON_IsTrue(J(v));
	return 0;
}

int cni_json_get_int(const struct cni_json *obj, const char *key, long long min, long long max,
		     long long *out, struct cni_err *err)
{
	const struct cni_json *v = cni_json_get(obj, key);
	double d;

	if (!v)
		return 0;
	if (!cJSON_IsNumber(J(v)))
		return type_error(key, "a number", err);
	d = J(v)->valuedouble;
	/* Range first: casting an out-of-range double is undefined. */
	if (!(d >= (double)min && d <= (double)max) || (double)(long long)d != d)
		return cni_err_set(err, CNI_ERR_CONFIG, -ERANGE,
				   "invalid \"%s\": %g is not an integer in [%lld, %lld]", key, d, min, max);
	*out = (long long)d;
	return 0;
}

int cni_json_get_object(const struct cni_json *obj, const char *key, const struct cni_json **out,
			struct cni_err *err)
{
	const struct cni_json *v = cni_json_get(obj, key);

	if (!v)
		return 0;
	if (!cJSON_IsObject(J(v)))
		return type_error(key, "an object", err);
	*out = v;
	return 0;
}

int cni_json_get_array(const struct cni_json *obj, const char *key, const struct cni_json **out,
		       struct cni_err *err)
{
	const struct cni_json *v = cni_json_get(obj, key);

	if (!v)
		return 0;
	if (!cJSON_IsArray(J(v)))
		return type_error(key, "an array", err);
	*out = v;
	return 0;
}

struct cni_json *cni_json_new_object(void)
{
	return (struct cni_json *)cJSON_CreateObject();
}

int cni_json_add_str(struct cni_json *obj, const char *key, const char *val)
{
	return cJSON_AddStringToObject(JW(obj), key, val) ? 0 : -ENOMEM;
}

int cni_json_add_int(struct cni_json *obj, const char *key, long long val)
{
	return cJSON_AddNumberToObject(JW(obj), key, (double)val) ? 0 : -ENOMEM;
}

int cni_json_add_bool(struct cni_json *obj, const char *key, bool val)
{
	return cJSON_AddBoolToObject(JW(obj), key, val) ? 0 : -ENOMEM;
}

struct cni_json *cni_json_add_object(struct cni_json *obj, const char *key)
{
	return (struct cni_json *)cJSON_AddObjectToObject(JW(obj), key);
}

char *cni_json_print(const struct cni_json *j)
{
	return j ? cJSON_PrintUnformatted(J(j)) : NULL;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static size_t skip_ws(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && is_ws(s[i]))
		i++;
	return i;
}

int cni_json_parse(const char *text, size_t len, struct cni_json **out, struct cni_err *err)
{
	const char *end = NULL;
	cJSON *root;

	root = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (!root) {
		if (skip_ws(text, len) == len)
			return cni_err_set(err, CNI_ERR_DECODE, 0, "empty input: expected JSON");
		return cni_err_set(err, CNI_ERR_DECODE, 0, "invalid JSON near offset %zu",
				   end && end >= text ? (size_t)(end - text) : 0);
	}
	/* Trailing garbage after the document is an error in Go, too. */
	if (end && end >= text && (size_t)(end - text) + skip_ws(end, len - (size_t)(end - text)) < len) {
		cJSON_Delete(root);
		return cni_err_set(err, CNI_ERR_DECODE, 0,
				   "invalid JSON: trailing data at offset %zu", (size_t)(end - text));
	}
	*out = (struct cni_json *)root;
	return 0;
}

void cni_json_free(struct cni_json *j)
{
	cJSON_Delete((cJSON *)j);
}
