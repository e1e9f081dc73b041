#define _GNU_SOURCE
#include <elf.h>
#include <link.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elfsym.h"

static const Elf64_Sym *syms;
static size_t nsyms;
static const char *strs;
static uintptr_t bias;

__attribute__((noinline)) void elfsym_anchor(void) {}

/* The main program's load bias: the first object dl_iterate_phdr reports. */
static int first_bias(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    *(uintptr_t *)arg = info->dlpi_addr;
    return 1;
}

static int load_symtab(void);

int elfsym_load_main(void)
{
    if (load_symtab() < 0) return -1;
    dl_iterate_phdr(first_bias, &bias);
    return 0;
}

int elfsym_load(void)
{
    if (load_symtab() < 0) return -1;
    size_t size;
    bias = 0;
    void *anchor = elfsym_find("elfsym_anchor", &size);
    if (!anchor) return -1;
    bias = (uintptr_t)(void *)elfsym_anchor - (uintptr_t)anchor;
    return 0;
}

static int load_symtab(void)
{
    int fd = open("/proc/self/exe", O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) return -1;
    const unsigned char *f = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (f == MAP_FAILED) return -1;
    const Elf64_Ehdr *eh = (const void *)f;
    const Elf64_Shdr *sh = (const void *)(f + eh->e_shoff);
    for (unsigned i = 0; i < eh->e_shnum; i++)
        if (sh[i].sh_type == SHT_SYMTAB) {
            syms = (const void *)(f + sh[i].sh_offset);
            nsyms = sh[i].sh_size / sizeof *syms;
            strs = (const char *)(f + sh[sh[i].sh_link].sh_offset);
        }
    return syms ? 0 : -1;
}

void *elfsym_find(const char *name, size_t *size)
{
    for (size_t i = 0; i < nsyms; i++)
        if (ELF64_ST_TYPE(syms[i].st_info) == STT_FUNC && syms[i].st_shndx != SHN_UNDEF &&
            strcmp(strs + syms[i].st_name, name) == 0) {
            *size = syms[i].st_size;
            return (void *)(syms[i].st_value + bias);
        }
    return NULL;
}
