/*
** The entry patcher's memory primitives on Linux (patch_os.h): trampoline pools mapped
** read+execute with mmap (MAP_FIXED_NOREPLACE near the target), code written with mprotect for
** the moment of the write (kept executable), or through /proc/self/mem where the system refuses
** writable+executable pages.
*/
#ifndef __APPLE__
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "insn.h"
#include "patch_os.h"

#pragma GCC visibility push(hidden)

static size_t os_page(void)
{
    long n = sysconf(_SC_PAGESIZE);
    return n > 0 ? (size_t)n : 4096;
}

/* Map `size` bytes of executable memory exactly at `want`, or return NULL. */
static void *os_map_at(uint64_t want, size_t size)
{
    int flags = MAP_PRIVATE | MAP_ANONYMOUS;
#ifdef MAP_FIXED_NOREPLACE
    flags |= MAP_FIXED_NOREPLACE; /* older kernels ignore it: then `want` is only a hint */
#endif
    void *m = mmap((void *)(uintptr_t)want, size, PROT_READ | PROT_EXEC, flags, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    if ((uint64_t)(uintptr_t)m != want) {
        munmap(m, size);
        return NULL;
    }
    return m;
}

/* Executable memory anywhere. */
static void *os_map_any(size_t size)
{
    void *m = mmap(NULL, size, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return m == MAP_FAILED ? NULL : m;
}

/* The protection of the mapping holding addr, from /proc/self/maps (PROT_READ|PROT_EXEC if the
** file cannot be read: code is mapped so). Read with read(2): no stdio, no allocation. */
static int os_prot_of(uintptr_t addr)
{
    int prot = PROT_READ | PROT_EXEC;
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return prot;
    char buf[4096];
    size_t have = 0;
    for (;;) {
        ssize_t got = read(fd, buf + have, sizeof buf - 1 - have);
        if (got <= 0)
            break;
        have += (size_t)got;
        buf[have] = 0;
        char *line = buf, *nl;
        while ((nl = memchr(line, '\n', have - (size_t)(line - buf)))) {
            uintptr_t lo = 0, hi = 0;
            char *s = line;
            while (*s && *s != '-') {
                lo = lo * 16 + (uintptr_t)(*s <= '9' ? *s - '0' : (*s | 32) - 'a' + 10);
                s++;
            }
            if (*s == '-')
                s++;
            while (*s && *s != ' ') {
                hi = hi * 16 + (uintptr_t)(*s <= '9' ? *s - '0' : (*s | 32) - 'a' + 10);
                s++;
            }
            if (addr >= lo && addr < hi && s + 4 < nl) {
                prot = (s[1] == 'r' ? PROT_READ : 0) | (s[2] == 'w' ? PROT_WRITE : 0) |
                       (s[3] == 'x' ? PROT_EXEC : 0);
                close(fd);
                return prot;
            }
            line = nl + 1;
        }
        have -= (size_t)(line - buf);
        memmove(buf, line, have);
        if (have == sizeof buf - 1)
            have = 0; /* a line longer than the buffer: skip it */
    }
    close(fd);
    return prot;
}

/* Store len (<= 16) bytes at dst so that a thread executing there sees the old or the new bytes
** where the hardware makes that cheap: one aligned 8-byte store (or cmpxchg16b on x86-64) when
** the bytes fit in one aligned word; else the tail first and the first word last. */
static void os_store_code(unsigned char *dst, const unsigned char *src, size_t len)
{
    uintptr_t a = (uintptr_t)dst, lead = a & 7;
    if (lead + len <= 8) {
        uint64_t *w = (uint64_t *)(a - lead), v = __atomic_load_n(w, __ATOMIC_RELAXED);
        memcpy((unsigned char *)&v + lead, src, len);
        __atomic_store_n(w, v, __ATOMIC_SEQ_CST);
        return;
    }
#if defined(__x86_64__)
    if ((a & 15) + len <= 16) {
        uint64_t *w = (uint64_t *)(a & ~(uintptr_t)15);
        for (;;) {
            uint64_t old[2] = {w[0], w[1]}, neu[2] = {w[0], w[1]};
            unsigned char ok;
            memcpy((unsigned char *)neu + (a & 15), src, len);
            __asm__ volatile("lock cmpxchg16b %1; sete %0"
                             : "=q"(ok), "+m"(*(volatile uint64_t(*)[2])w), "+a"(old[0]),
                               "+d"(old[1])
                             : "b"(neu[0]), "c"(neu[1])
                             : "memory", "cc");
            if (ok)
                return;
        }
    }
#endif
    size_t head = 8 - lead;
    memcpy(dst + head, src + head, len - head);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    os_store_code(dst, src, head);
}

/* Write len bytes of code at dst: made writable page by page for the moment of the write (kept
** executable: other threads may be running code in the same pages), then the old protection
** back. Where the system refuses writable+executable, /proc/self/mem writes through it. */
static int os_write_code(void *dst, const void *src, size_t len, char *why, size_t cap)
{
    size_t page = os_page();
    uintptr_t first = (uintptr_t)dst & ~(page - 1), last = ((uintptr_t)dst + len - 1) & ~(page - 1);
    if (len == 0 || last - first > page) { /* a slot or an entry spans at most two pages */
        lf_insn_why(why, cap, "code write of %zu bytes spans more than two pages", len);
        return -1;
    }
    size_t npages = last != first ? 2 : 1;
    uintptr_t pages[2] = {first, last};
    int prot[2] = {os_prot_of(first), last != first ? os_prot_of(last) : 0};
    int opened = 1;

    for (size_t k = 0; k < npages; k++)
        if (mprotect((void *)pages[k], page, prot[k] | PROT_READ | PROT_WRITE | PROT_EXEC) != 0)
            opened = 0;
    if (opened) {
        for (size_t off = 0; off < len; off += 16)
            os_store_code((unsigned char *)dst + off, (const unsigned char *)src + off,
                          len - off < 16 ? len - off : 16);
    }
    for (size_t k = 0; k < npages; k++)
        mprotect((void *)pages[k], page, prot[k]);
    if (!opened) {
        int fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
        ssize_t put = fd < 0 ? -1 : pwrite(fd, src, len, (off_t)(uintptr_t)dst);
        int err = errno;
        if (fd >= 0)
            close(fd);
        if (put != (ssize_t)len) {
            lf_insn_why(why, cap, "code not writable: %s", strerror(err));
            return -1;
        }
    }
    __builtin___clear_cache((char *)dst, (char *)dst + len);
    return 0;
}

void *lf_patch_os_map_at(uint64_t want, size_t size)
{
    return os_map_at(want, size);
}

void *lf_patch_os_map_any(size_t size)
{
    return os_map_any(size);
}

/* A trampoline is written like any code: its page stays executable for the other slots. */
int lf_patch_os_write_tramp(void *dst, const void *src, size_t len, char *why, size_t cap)
{
    return os_write_code(dst, src, len, why, cap);
}

int lf_patch_os_write_code(void *dst, const void *src, size_t len, char *why, size_t cap)
{
    return os_write_code(dst, src, len, why, cap);
}

#pragma GCC visibility pop
#endif /* !__APPLE__ */
