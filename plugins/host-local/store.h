/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HL_STORE_H
#define HL_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "cni/err.h"
#include "cni/ip.h"

/*
 * The lease store of one network, in the reference's format and kept
 * authoritative: <dataDir>/<network>/<ip> holds "<containerID>\r\n<ifname>"
 * (older leases hold only the container id), last_reserved_ip.<set> holds the
 * last address handed out from range set <set>, and every change happens under
 * flock(<dir>/lock), which the reference takes too.
 *
 * Our index lives in <dir>/.cnip/ and is only a cache of the lease files; see
 * store.c for how it is kept honest.
 */
struct hl_store;

/* Maximum leases one (containerID, ifname) can hold that we report. */
#define HL_STORE_MAX_LEASES 16

/*
 * Opens and locks <data_dir>/<network> (data_dir NULL = /var/lib/cni/networks).
 * create: make the directories (ADD, STATUS); else -ENOENT when the network
 * directory is missing (DEL, CHECK, GC have nothing to do then). A lock not
 * obtained within timeout_ms is -ETIMEDOUT with CNI_ERR_TRY_AGAIN. The
 * network name must be a single path component. Before anything else, every
 * lease of an earlier boot (the kernel's boot id recorded in .cnip/boot
 * differs) is released. Free with hl_store_close().
 */
int hl_store_open(const char *data_dir, const char *network, bool create, int timeout_ms,
		  struct hl_store **out, struct cni_err *err) __attribute__((warn_unused_result));
/* Leases hl_store_open() released because an earlier boot made them. */
size_t hl_store_boot_released(const struct hl_store *s);
/* Records the index stamp if anything changed, unlocks and frees. NULL is a no-op. */
void hl_store_close(struct hl_store *s);

/*
 * Addresses leased to (cid, ifname), plus leases of the old format holding
 * cid only, checked against the lease files. At most max are written to ips;
 * *n is the number found.
 */
int hl_store_find(struct hl_store *s, const char *cid, const char *ifname, struct cni_ip *ips,
		  size_t max, size_t *n, struct cni_err *err) __attribute__((warn_unused_result));

/*
 * Claims ip for (cid, ifname) in one step (a complete lease file appears, or
 * nothing), then records it as last_reserved_ip.<set>. -EEXIST when the
 * address is taken (err untouched); another -errno with err set on failure.
 */
int hl_store_reserve(struct hl_store *s, const struct cni_ip *ip, const char *cid,
		     const char *ifname, unsigned int set, struct cni_err *err)
	__attribute__((warn_unused_result));

/* Is ip free to claim? (no lease, or an empty one: its writer died holding the lock.) */
bool hl_store_is_free(struct hl_store *s, const struct cni_ip *ip);

/* last_reserved_ip.<set>: -ENOENT when absent or unreadable as an address. */
int hl_store_last_reserved(struct hl_store *s, unsigned int set, struct cni_ip *out)
	__attribute__((warn_unused_result));

/*
 * Releases the lease of ip if (cid, ifname) holds it (used to undo a failed ADD).
 */
int hl_store_release_ip(struct hl_store *s, const struct cni_ip *ip, const char *cid,
			const char *ifname, struct cni_err *err) __attribute__((warn_unused_result));

/*
 * DEL, like the reference: releases every lease of (cid, ifname); when there
 * is none, every old-format lease of cid. *released (may be NULL) counts them.
 */
int hl_store_release(struct hl_store *s, const char *cid, const char *ifname, size_t *released,
		     struct cni_err *err) __attribute__((warn_unused_result));

/*
 * GC: reads every lease and releases each whose owner keep() refuses; an
 * old-format lease passes "" as ifname. Empty leases (dead writers) go too.
 * Rebuilds the index from what remains.
 */
int hl_store_gc(struct hl_store *s, bool (*keep)(void *ctx, const char *cid, const char *ifname),
		void *ctx, size_t *released, struct cni_err *err) __attribute__((warn_unused_result));

/* STATUS: can we write to the network directory? -errno with err set if not. */
int hl_store_probe_write(struct hl_store *s, struct cni_err *err)
	__attribute__((warn_unused_result));

/* The network directory's path, for messages. */
const char *hl_store_path(const struct hl_store *s);

#endif
