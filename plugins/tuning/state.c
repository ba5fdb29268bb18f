// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The original values tuning keeps so that DEL can restore them. The file
 * is the reference's (<dataDir>/<containerID>_<ifname>.json with mac,
 * promisc, mtu, allmulti, txQLen), so either plugin restores what the other
 * changed; the members only we write (sysctl, network, containerID, ifname)
 * are ignored by the reference's decoder.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cni/file.h"
#include "cni/json.h"
#include "tuning.h"

/* A state file is a few hundred bytes; anything far larger is not ours. */
#define TN_STATE_MAX (256 * 1024)

int tn_datadir_check(const char *dir)
{
	struct stat sb;

	if (lstat(dir, &sb) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (S_ISLNK(sb.st_mode))
		return -ELOOP;
	return S_ISDIR(sb.st_mode) ? 0 : -ENOTDIR;
}

void tn_state_init(struct tn_state *s)
{
	*s = (struct tn_state){ .promisc = TN_UNSET, .allmulti = TN_UNSET, .txqlen = -1 };
}

void tn_state_release(struct tn_state *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n_sysctl; i++) {
		free(s->sysctl[i].path);
		free(s->sysctl[i].value);
	}
	free(s->sysctl);
	free(s->network);
	free(s->container_id);
	free(s->ifname);
	free(s->mac);
	tn_state_init(s);
}

int tn_state_file(const char *dir, const char *cid, const char *ifname, char *out, size_t len)
{
	int n = snprintf(out, len, "%s/%s_%s.json", dir, cid, ifname);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* The temporary file a save writes before renaming it to file. */
static int tmp_name(const char *file, char *out, size_t len)
{
	int n = snprintf(out, len, "%s.tmp", file);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int tn_state_tmp_unlink(const char *file)
{
	char tmp[PATH_MAX + 8];
	int ret = tmp_name(file, tmp, sizeof(tmp));

	if (ret < 0)
		return ret;
	return unlink(tmp) < 0 && errno != ENOENT ? -errno : 0;
}

int tn_state_add_sysctl(struct tn_state *s, const char *path, const char *value)
{
	struct tn_saved_sysctl *v;
	size_t i;

	for (i = 0; i < s->n_sysctl; i++)
		if (!strcmp(s->sysctl[i].path, path))
			return 0;
	v = realloc(s->sysctl, (s->n_sysctl + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	s->sysctl = v;
	v[s->n_sysctl].path = strdup(path);
	v[s->n_sysctl].value = strdup(value);
	if (!v[s->n_sysctl].path || !v[s->n_sysctl].value) {
		free(v[s->n_sysctl].path);
		free(v[s->n_sysctl].value);
		return -ENOMEM;
	}
	s->n_sysctl++;
	return 0;
}

static int dup_str(const struct cni_json *obj, const char *key, char **out)
{
	const char *v = cni_json_string(cni_json_get(obj, key));

	if (!v || !*v)
		return 0;
	*out = strdup(v);
	return *out ? 0 : -ENOMEM;
}

static void get_tri(const struct cni_json *obj, const char *key, enum tn_tri *out)
{
	bool v;

	if (cni_json_get(obj, key) && cni_json_get_bool(obj, key, &v, NULL) == 0)
		*out = v ? TN_ON : TN_OFF;
}

static int state_parse(const struct cni_json *j, struct tn_state *s)
{
	const struct cni_json *sc = cni_json_get(j, "sysctl"), *m;
	long long mtu = 0;
	size_t i;
	int ret;

	if (!cni_json_is_object(j))
		return -EBADMSG;
	ret = dup_str(j, "mac", &s->mac);
	if (!ret)
		ret = dup_str(j, "network", &s->network);
	if (!ret)
		ret = dup_str(j, "containerID", &s->container_id);
	if (!ret)
		ret = dup_str(j, "ifname", &s->ifname);
	if (ret < 0)
		return ret;
	get_tri(j, "promisc", &s->promisc);
	get_tri(j, "allmulti", &s->allmulti);
	if (cni_json_get_int(j, "mtu", 0, UINT32_MAX, &mtu, NULL) == 0)
		s->mtu = (unsigned int)mtu;
	if (cni_json_get_int(j, "txQLen", 0, UINT32_MAX, &s->txqlen, NULL) < 0)
		s->txqlen = -1;
	for (i = 0; cni_json_is_object(sc) && i < cni_json_len(sc); i++) {
		m = cni_json_at(sc, i);
		if (!cni_json_is_string(m))
			continue;
		ret = tn_state_add_sysctl(s, cni_json_key(m), cni_json_string(m));
		if (ret < 0)
			return ret;
	}
	return 0;
}

int tn_state_load(const char *file, struct tn_state *s)
{
	struct cni_json *j = NULL;
	char *buf = NULL;
	size_t len = 0;
	int ret;

	ret = cni_file_read(AT_FDCWD, file, NULL, TN_STATE_MAX, &buf, &len);
	if (ret < 0)
		return ret;
	if (cni_json_parse(buf, len, &j, NULL) < 0) {
		ret = -EBADMSG;
		goto out;
	}
	tn_state_init(s);
	ret = state_parse(j, s);
	if (ret < 0)
		tn_state_release(s);
out:
	cni_json_free(j);
	free(buf);
	return ret;
}

static struct cni_json *state_json(const struct tn_state *s)
{
	struct cni_json *j = cni_json_new_object(), *sc;
	int ret = j ? 0 : -ENOMEM;
	size_t i;

	if (!ret && s->mac)
		ret = cni_json_add_str(j, "mac", s->mac);
	if (!ret && s->promisc != TN_UNSET)
		ret = cni_json_add_bool(j, "promisc", s->promisc == TN_ON);
	if (!ret && s->mtu)
		ret = cni_json_add_int(j, "mtu", s->mtu);
	if (!ret && s->allmulti != TN_UNSET)
		ret = cni_json_add_bool(j, "allmulti", s->allmulti == TN_ON);
	if (!ret && s->txqlen >= 0)
		ret = cni_json_add_int(j, "txQLen", s->txqlen);
	if (!ret && s->n_sysctl) {
		sc = cni_json_add_object(j, "sysctl");
		for (i = 0, ret = sc ? 0 : -ENOMEM; !ret && i < s->n_sysctl; i++)
			ret = cni_json_add_str(sc, s->sysctl[i].path, s->sysctl[i].value);
	}
	if (!ret && s->network)
		ret = cni_json_add_str(j, "network", s->network);
	if (!ret && s->container_id)
		ret = cni_json_add_str(j, "containerID", s->container_id);
	if (!ret && s->ifname)
		ret = cni_json_add_str(j, "ifname", s->ifname);
	if (ret < 0) {
		cni_json_free(j);
		return NULL;
	}
	return j;
}

/* mkdir -p, each new level 0700: the values may tell about the pods. */
static int mkdirs(const char *dir)
{
	char p[4096], *s;

	if (strlen(dir) >= sizeof(p))
		return -ENAMETOOLONG;
	strcpy(p, dir);
	for (s = p + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;

		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			return -errno;
		*s = c;
		if (!c)
			return 0;
	}
}

int tn_state_save(const char *dir, const char *file, const struct tn_state *s)
{
	struct cni_json *j = state_json(s);
	char tmp[PATH_MAX + 8], *text = j ? cni_json_print(j) : NULL;
	int fd = -1, ret;

	if (!text) {
		ret = -ENOMEM;
		goto out;
	}
	ret = mkdirs(dir);
	if (ret < 0)
		goto out;
	ret = tmp_name(file, tmp, sizeof(tmp));
	if (ret < 0)
		goto out;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	ret = cni_file_write_all(fd, text, strlen(text));
	/* Renamed only once complete: a reader sees the old file or the new one. */
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	if (close(fd) < 0 && !ret)
		ret = -errno;
	if (!ret && rename(tmp, file) < 0)
		ret = -errno;
	if (ret < 0)
		unlink(tmp);
out:
	free(text);
	cni_json_free(j);
	return ret;
}
