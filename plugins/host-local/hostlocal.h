/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HOSTLOCAL_H
#define HOSTLOCAL_H

#include "cni/skel.h"

/* The verbs; bridge and ptp carry them too, to run host-local in-process (pkg/ipam). */
extern const struct cni_plugin host_local_plugin;

#endif
