// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * killat: runs a program under ptrace and SIGKILLs it at its Nth syscall
 * stop (entry and exit stops both count, so a kill can land before a
 * syscall happens or after it happened but before the program saw its
 * result). The chaos test (tests/integration/chaos.sh) picks N at random
 * over the stops a whole run makes, so kill points are uniform over the
 * program's kernel interactions, between netlink messages included.
 * Stops are counted from the first read of stdin (a CNI plugin's config):
 * a kill before it changes nothing, and the sanitizer's start-up alone
 * makes some 500 stops that would otherwise take most of the kills.
 *
 *   killat N LOG PROG [ARG...]
 *
 * N = 0 only counts; N = sNR kills at the entry of the first syscall
 * numbered NR (regression checks aim at one step, e.g. s82: rename). stdin, stdout and stderr pass through untouched. One
 * line is appended to LOG: "killed N SYSCALL" or "done STOPS". The exit
 * status is the program's (128 + 9 when killed). Children the program
 * starts (an IPAM plugin) are not traced: the test kills them through a
 * killat of their own.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

static void log_line(const char *path, const char *fmt, unsigned long a, long b)
{
	FILE *f = fopen(path, "a");

	if (!f)
		return;
	fprintf(f, fmt, a, b);
	fclose(f);
}

int main(int argc, char **argv)
{
	unsigned long n, stops = 0;
	int status, counting = 0;
	long at_nr = -1;
	pid_t pid;

	if (argc < 4) {
		fprintf(stderr, "usage: killat N LOG PROG [ARG...]\n");
		return 2;
	}
	if (argv[1][0] == 's') {
		at_nr = strtol(argv[1] + 1, NULL, 10);
		n = 0;
	} else {
		n = strtoul(argv[1], NULL, 10);
	}
	pid = fork();
	if (pid < 0)
		return perror("fork"), 2;
	if (pid == 0) {
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0)
			_exit(126);
		execv(argv[3], argv + 3);
		_exit(127);
	}
	/* The first stop is the SIGTRAP of execve. */
	if (waitpid(pid, &status, 0) < 0 || !WIFSTOPPED(status))
		return WIFEXITED(status) ? WEXITSTATUS(status) : 2;
	ptrace(PTRACE_SETOPTIONS, pid, NULL,
	       (void *)(long)(PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL));
	ptrace(PTRACE_SYSCALL, pid, NULL, NULL);
	for (;;) {
		int sig = 0;

		if (waitpid(pid, &status, 0) < 0) {
			if (errno == EINTR)
				continue;
			return 2;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			break;
		if (WSTOPSIG(status) == (SIGTRAP | 0x80)) {
			struct user_regs_struct regs;
			long nr = -1;

			if (ptrace(PTRACE_GETREGS, pid, NULL, &regs) == 0)
				nr = (long)regs.orig_rax;
			/* An entry stop: the exit stop of the same read follows. */
			if (!counting && nr == SYS_read && regs.rdi == 0)
				counting = 1;
			if (counting && (++stops == n || nr == at_nr)) {
				kill(pid, SIGKILL);
				while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
					;
				log_line(argv[2], "killed %lu %ld\n", stops, nr);
				return 128 + SIGKILL;
			}
		} else if (WSTOPSIG(status) != SIGTRAP) {
			sig = WSTOPSIG(status);	/* a real signal: deliver it */
		}
		ptrace(PTRACE_SYSCALL, pid, NULL, (void *)(long)sig);
	}
	log_line(argv[2], "done %lu %ld\n", stops, 0);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
