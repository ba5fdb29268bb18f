// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cni/args.h"

struct cni_args {
	size_t n;
	char *buf;		/* the copied string, split in place */
	char **keys;
	char **vals;
};

void cni_args_free(struct cni_args *a)
{
	if (!a)
		return;
	free(a->keys);
	free(a->vals);
	free(a->buf);
	free(a);
}

int cni_args_parse(const char *s, struct cni_args **out, struct cni_err *err)
{
	struct cni_args *a = calloc(1, sizeof(*a));
	size_t cap = 1;
	char *p, *pair, *next;
	int ret = -ENOMEM;

	if (!a)
		goto fail;
	a->buf = strdup(s ? s : "");
	if (!a->buf)
		goto fail;
	for (p = a->buf; *p; p++)
		cap += *p == ';';
	a->keys = calloc(cap, sizeof(char *));
	a->vals = calloc(cap, sizeof(char *));
	if (!a->keys || !a->vals)
		goto fail;
	/*
	 * The reference rejects a pair that is not exactly K=V, empty ones
	 * included ("A=1;" and "A=1;;B=2"), and a value holding '='.
	 */
	for (pair = a->buf; *a->buf; pair = next + 1) {
		bool last;
		char *eq;

		next = strchrnul(pair, ';');
		last = !*next;
		*next = '\0';
		eq = strchr(pair, '=');
		if (!eq || eq == pair || strchr(eq + 1, '=')) {
			ret = cni_err_set(err, CNI_ERR_ENV, 0,
					  "CNI_ARGS: invalid pair \"%s\": expected KEY=VALUE", pair);
			goto fail;
		}
		*eq = '\0';
		a->keys[a->n] = pair;
		a->vals[a->n++] = eq + 1;
		if (last)
			break;
	}
	*out = a;
	return 0;
fail:
	cni_args_free(a);
	if (ret == -ENOMEM)
		cni_err_set(err, CNI_ERR_IO, ret, "CNI_ARGS");
	return ret;
}

const char *cni_args_get(const struct cni_args *a, const char *key)
{
	size_t i;

	/* The last one wins, as Go's LoadArgs assigns in order. */
	for (i = a ? a->n : 0; i-- > 0;)
		if (!strcmp(a->keys[i], key))
			return a->vals[i];
	return NULL;
}

int cni_args_check(const struct cni_args *a, const char *const *known, struct cni_err *err)
{
	const char *ign = cni_args_get(a, "IgnoreUnknown");
	bool ignore = false;
	size_t i;

	if (ign) {
		if (!strcmp(ign, "1") || !strcasecmp(ign, "true"))
			ignore = true;
		else if (strcmp(ign, "0") && strcasecmp(ign, "false"))
			return cni_err_set(err, CNI_ERR_ENV, 0,
					   "CNI_ARGS: IgnoreUnknown=\"%s\" is not a boolean", ign);
	}
	if (ignore || !a)
		return 0;
	for (i = 0; i < a->n; i++) {
		const char *const *k;

		if (!strcmp(a->keys[i], "IgnoreUnknown"))
			continue;
		for (k = known; k && *k; k++)
			if (!strcmp(*k, a->keys[i]))
				break;
		if (!k || !*k)
			return cni_err_set(err, CNI_ERR_ENV, 0,
					   "CNI_ARGS: unknown key \"%s\" (set IgnoreUnknown=1 to ignore it)",
					   a->keys[i]);
	}
	return 0;
}
