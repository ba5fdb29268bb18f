// SPDX-License-Identifier: GPL-2.0-or-later
/* The executable: the verbs live in bridge.c, which unit tests link from the plugin's archive. */
#include "bridge.h"

int main(void)
{
	return cni_skel_main(&bridge_plugin);
}
