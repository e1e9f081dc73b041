/* A test program's own symbols (names, addresses, sizes) from its ELF .symtab: the test patches
** functions found the way the static resolver finds them, with their real sizes. */
#ifndef ELFSYM_H
#define ELFSYM_H
#include <stddef.h>

/* Load the running executable's symbol table; 0 or -1. */
int elfsym_load(void);
/* The same for a program we are preloaded into (its bias from dl_iterate_phdr). */
int elfsym_load_main(void);
/* Address and size of a defined function named name in the running executable, or NULL. */
void *elfsym_find(const char *name, size_t *size);
#endif
