// SPDX-License-Identifier: GPL-2.0-or-later
/* The executable: the verbs live in ptp.c, which unit tests link from the plugin's archive. */
#include "ptp.h"

int main(void)
{
	return cni_skel_main(&ptp_plugin);
}
