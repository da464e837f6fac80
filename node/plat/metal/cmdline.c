/*
 * node/plat/metal/cmdline.c — the kernel command line, copied out of loader
 * memory at boot so later allocators may reuse that memory.
 */
#include <string.h>

#include "node/plat/metal/cmdline.h"

static char cmdline_text[METAL_CMDLINE_MAX];

void metal_cmdline_init(const char *line)
{
	size_t n = strnlen(line, sizeof(cmdline_text) - 1);

	memcpy(cmdline_text, line, n);
	cmdline_text[n] = '\0';
}

const char *metal_cmdline(void)
{
	return cmdline_text;
}

static size_t cmdline_word_len(const char *p)
{
	size_t n = 0;

	while (p[n] && p[n] != ' ' && p[n] != '\t' && p[n] != '\n')
		n++;
	return n;
}

bool metal_cmdline_get(const char *key, char *out, size_t cap)
{
	size_t key_len = strlen(key);
	bool found = false;

	for (const char *p = cmdline_text; *p;) {
		size_t word = cmdline_word_len(p);

		if (word >= key_len && strncmp(p, key, key_len) == 0 &&
		    (word == key_len || p[key_len] == '=')) {
			const char *value = word == key_len ? p + word : p + key_len + 1;
			size_t n = (size_t)(p + word - value);

			if (cap > 0) {
				n = n < cap - 1 ? n : cap - 1;
				memcpy(out, value, n);
				out[n] = '\0';
			}
			found = true;
		}
		p += word;
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
	}
	return found;
}
