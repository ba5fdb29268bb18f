// SPDX-License-Identifier: GPL-2.0-or-later
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
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

/*
 * cJSON hands back C strings, so a string holding U+0000 (escaped or a raw
 * byte) would silently mean its prefix ("br\u0000x" creating "br"). Go's
 * decoder keeps the NUL and the reference refuses such names; we refuse the
 * whole document, naming the member, by scanning the text cJSON accepted.
 * The same scan holds strings to what JSON allows and Go checks: no raw
 * control characters, valid UTF-8 (Go would quietly replace bad bytes).
 */
#define SCAN_DEPTH 1024	/* above cJSON's nesting limit (1000) */

struct scan_frame {
	bool object;
	const char *key;	/* raw text of the current member's key */
	size_t key_len;
	size_t index;		/* current element of an array */
};

/* Length of the valid UTF-8 sequence at s (lead byte >= 0x80), 0 when invalid. */
static size_t utf8_seq(const unsigned char *s, size_t len)
{
	size_t n, i;
	unsigned int cp;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* No overlong forms, no surrogates, nothing above U+10FFFF. */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* "ipam.ranges[0][0].subnet" for the innermost member; keys shown raw. */
static void scan_path(const struct scan_frame *st, size_t depth, char *buf, size_t size)
{
	size_t i, n = 0;
	int w;

	buf[0] = '\0';
	for (i = 0; i < depth && n < size; i++) {
		if (st[i].object && st[i].key)
			w = snprintf(buf + n, size - n, "%s%.*s", n ? "." : "",
				     (int)(st[i].key_len > 64 ? 64 : st[i].key_len), st[i].key);
		else if (st[i].object)
			break;
		else
			w = snprintf(buf + n, size - n, "[%zu]", st[i].index);
		if (w < 0)
			break;
		n += (size_t)w;
	}
	if (!buf[0])
		snprintf(buf, size, "(top level)");
}

static int scan_error(const struct scan_frame *st, size_t depth, bool in_key, const char *what,
		      size_t off, struct cni_err *err)
{
	char path[256];

	scan_path(st, depth, path, sizeof(path));
	if (in_key)
		return cni_err_set(err, CNI_ERR_DECODE, 0,
				   "invalid JSON: a key in \"%s\" holds %s (offset %zu)",
				   path, what, off);
	return cni_err_set(err, CNI_ERR_DECODE, 0, "invalid JSON: \"%s\" holds %s (offset %zu)",
			   path, what, off);
}

/* Checks the string starting after its opening quote at *pos; leaves *pos after the closing one. */
static int scan_string(const char *text, size_t len, size_t *pos, const struct scan_frame *st,
		       size_t depth, bool in_key, struct cni_err *err)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = *pos, n;

	while (i < len && s[i] != '"') {
		if (s[i] == '\\') {
			/* cJSON validated the escapes; only \u0000 matters here. */
			if (i + 5 < len && s[i + 1] == 'u' && !memcmp(text + i + 2, "0000", 4))
				return scan_error(st, depth, in_key, "U+0000 (\\u0000)", i, err);
			i += 2;
			continue;
		}
		if (s[i] < 0x20)
			return scan_error(st, depth, in_key,
					  s[i] ? "a raw control character" : "a NUL byte", i, err);
		if (s[i] >= 0x80) {
			n = utf8_seq(s + i, len - i);
			if (!n)
				return scan_error(st, depth, in_key, "invalid UTF-8", i, err);
			i += n;
			continue;
		}
		i++;
	}
	*pos = i + 1;
	return 0;
}

static int scan_strings(const char *text, size_t len, struct cni_err *err)
{
	/* Not zeroed: a frame is set when pushed, and pages never touched cost no fault. */
	struct scan_frame *st = malloc(SCAN_DEPTH * sizeof(*st));
	size_t depth = 0, i = 0, start;
	int ret = 0;

	if (!st)
		return cni_err_set(err, CNI_ERR_IO, -ENOMEM, "reading JSON");
	while (i < len && ret == 0) {
		switch (text[i]) {
		case '{':
		case '[':
			if (depth == SCAN_DEPTH) {
				ret = cni_err_set(err, CNI_ERR_DECODE, 0, "invalid JSON: nested too deep");
				break;
			}
			st[depth++] = (struct scan_frame){ .object = text[i] == '{' };
			i++;
			break;
		case '}':
		case ']':
			if (depth)
				depth--;
			i++;
			break;
		case ',':
			if (depth && !st[depth - 1].object)
				st[depth - 1].index++;
			else if (depth)
				st[depth - 1].key = NULL;
			i++;
			break;
		case '"':
			start = ++i;
			/* A string directly inside an object with no current key is a key. */
			if (depth && st[depth - 1].object && !st[depth - 1].key) {
				ret = scan_string(text, len, &i, st, depth, true, err);
				st[depth - 1].key = text + start;
				st[depth - 1].key_len = i - start - 1;
			} else {
				ret = scan_string(text, len, &i, st, depth, false, err);
			}
			break;
		default:
			i++;
		}
	}
	free(st);
	return ret;
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
	if (scan_strings(text, len, err) < 0) {
		cJSON_Delete(root);
		return -EINVAL;
	}
	*out = (struct cni_json *)root;
	return 0;
}

void cni_json_free(struct cni_json *j)
{
	cJSON_Delete((cJSON *)j);
}
