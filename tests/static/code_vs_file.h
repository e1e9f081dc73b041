/*
 * For the test programs of tests/static: whether a function's first bytes in memory are still
 * its executable file's, i.e. whether lockfix wrote over its entry. One header, included by the
 * programs (refuse.c, lazy.c) that link SQLite in and must see their own code.
 */
#ifndef LOCKFIX_TEST_CODE_VS_FILE_H
#define LOCKFIX_TEST_CODE_VS_FILE_H

#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const unsigned char *exe_base;
static const ElfW(Phdr) * exe_phdr;
static int exe_phnum;

static int exe_first(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    (void)arg;
    exe_base = (const unsigned char *)info->dlpi_addr;
    exe_phdr = info->dlpi_phdr;
    exe_phnum = info->dlpi_phnum;
    return 1; /* the first object is the program */
}

/* "unchanged" when the 16 bytes at fn (a function of the program itself) are the file's bytes at
** the same address, else "changed", "unreadable" or "unmapped". */
static const char *code_state(const void *fn)
{
    if (exe_base == NULL && exe_phdr == NULL)
        dl_iterate_phdr(exe_first, NULL);
    uintptr_t vaddr = (uintptr_t)fn - (uintptr_t)exe_base;
    for (int i = 0; i < exe_phnum; i++) {
        const ElfW(Phdr) *ph = &exe_phdr[i];
        if (ph->p_type != PT_LOAD || vaddr < ph->p_vaddr || vaddr + 16 > ph->p_vaddr + ph->p_filesz)
            continue;
        unsigned char disk[16];
        FILE *f = fopen("/proc/self/exe", "rb");
        int ok = f && fseek(f, (long)(ph->p_offset + (vaddr - ph->p_vaddr)), SEEK_SET) == 0 &&
                 fread(disk, 1, sizeof disk, f) == sizeof disk;
        if (f)
            fclose(f);
        if (!ok)
            return "unreadable";
        return memcmp(disk, fn, sizeof disk) == 0 ? "unchanged" : "changed";
    }
    return "unmapped";
}

#endif
