// SPDX-License-Identifier: GPL-2.0-or-later
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "cni/build.h"

#ifndef CNIP_SRC_ID
#define CNIP_SRC_ID "unknown"
#endif

#define NOTE_NAME "cnip"
#define NOTE_TYPE 1
#define ID_LEN 32	/* the note's desc: the id, NUL-padded */

struct cnip_note {
	ElfW(Nhdr) h;
	char name[8];		/* "cnip\0", padded to 4 */
	char desc[ID_LEN];
};

/*
 * In a SHT_NOTE section (gas types ".note*" so), which the linker maps into a
 * PT_NOTE segment: found from the program headers alone, as build ids are.
 */
__attribute__((used, section(".note.cnip"), aligned(4)))
static const struct cnip_note note = {
	.h = { .n_namesz = sizeof(NOTE_NAME), .n_descsz = ID_LEN, .n_type = NOTE_TYPE },
	.name = NOTE_NAME,
	.desc = CNIP_SRC_ID,
};

_Static_assert(sizeof(CNIP_SRC_ID) <= ID_LEN, "CNIP_SRC_ID too long");

const char *cni_build_id(void)
{
	return note.desc;
}

static bool pread_all(int fd, void *buf, size_t len, off_t off)
{
	return pread(fd, buf, len, off) == (ssize_t)len;
}

/* Whether the notes in buf (len bytes) hold ours. */
static bool notes_have_ours(const unsigned char *buf, size_t len)
{
	size_t off = 0, name, desc;
	ElfW(Nhdr) h;

	while (len - off >= sizeof(h)) {
		memcpy(&h, buf + off, sizeof(h));
		name = ((size_t)h.n_namesz + 3) & ~(size_t)3;
		desc = ((size_t)h.n_descsz + 3) & ~(size_t)3;
		off += sizeof(h);
		if (name > len - off || desc > len - off - name)
			return false;
		if (h.n_type == NOTE_TYPE && h.n_namesz == sizeof(NOTE_NAME) &&
		    !memcmp(buf + off, NOTE_NAME, sizeof(NOTE_NAME)) && h.n_descsz == ID_LEN &&
		    !memcmp(buf + off + name, note.desc, ID_LEN))
			return true;
		off += name + desc;
	}
	return false;
}

bool cni_build_is_ours(const char *path)
{
	unsigned char notes[512];
	ElfW(Phdr) ph[32];
	ElfW(Ehdr) eh;
	bool ours = false;
	int fd, i;

	if (!strcmp(note.desc, "unknown"))
		return false;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return false;
	if (!pread_all(fd, &eh, sizeof(eh), 0) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32) ||
	    eh.e_phentsize != sizeof(ph[0]) || eh.e_phnum > 32 ||
	    !pread_all(fd, ph, eh.e_phnum * sizeof(ph[0]), (off_t)eh.e_phoff))
		goto out;
	for (i = 0; !ours && i < eh.e_phnum; i++) {
		if (ph[i].p_type != PT_NOTE || ph[i].p_filesz > sizeof(notes))
			continue;
		if (!pread_all(fd, notes, ph[i].p_filesz, (off_t)ph[i].p_offset))
			goto out;
		ours = notes_have_ours(notes, ph[i].p_filesz);
	}
out:
	close(fd);
	return ours;
}
