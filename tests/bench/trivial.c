// SPDX-License-Identifier: GPL-2.0-or-later
/* The start-up reference of the benchmark: writes a line and exits. Built
 * dynamically linked (what every C program pays) and static. */
#include <unistd.h>

int main(void)
{
	return write(1, "{}\n", 3) == 3 ? 0 : 1;
}
