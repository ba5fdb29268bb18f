// SPDX-License-Identifier: GPL-2.0-or-later
#include "hostlocal.h"

int main(void)
{
	return cni_skel_main(&host_local_plugin);
}
