// SPDX-License-Identifier: GPL-2.0-or-later
/* The executable: the verbs live in ptp.c, which unit tests link from the plugin's archive. */
#include "ptp.h"
#include "cni/ipam.h"
#include "../host-local/hostlocal.h"

int main(void)
{
	ipam_set_builtin(&host_local_plugin);
	return cni_skel_main(&ptp_plugin);
}
