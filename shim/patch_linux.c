/*
** The entry patcher's memory primitives on Linux (patch_os.h): trampoline pools mapped
** read+execute with mmap (MAP_FIXED_NOREPLACE near the target), code written with mprotect for
** the moment of the write (kept executable), or through /proc/self/mem where the system refuses
** writable+executable pages. A copy's entries share one read of /proc/self/maps and, in one
** mapping, one mprotect span; its trampolines, run by no thread yet, go through one descriptor of
** /proc/self/mem (Node 26's 20 entries: 40 map reads and 80 mprotect calls became 1 and 2).
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

/* The protections of the mappings holding addr[0..n), from /proc/self/maps, in one read of it
** (PROT_READ|PROT_EXEC for an address the file does not show, or if it cannot be read: code is
** mapped so), and in vma[i] (vma may be NULL) where that mapping starts, or 0. Read with read(2):
** no stdio, no allocation. One read of a large program's map costs ~10 us: a copy's entries are
** looked up together, not one read each. */
static void os_prot_of_list(const uintptr_t *addr, int *prot, uintptr_t *vma, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        prot[i] = PROT_READ | PROT_EXEC;
        if (vma)
            vma[i] = 0;
    }
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    char buf[4096];
    size_t have = 0, left = n;
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
            for (size_t i = 0; i < n && s + 4 < nl; i++)
                if (addr[i] >= lo && addr[i] < hi) {
                    prot[i] = (s[1] == 'r' ? PROT_READ : 0) | (s[2] == 'w' ? PROT_WRITE : 0) |
                              (s[3] == 'x' ? PROT_EXEC : 0);
                    if (vma)
                        vma[i] = lo;
                    left--;
                }
            if (left == 0) {
                close(fd);
                return;
            }
            line = nl + 1;
        }
        have -= (size_t)(line - buf);
        memmove(buf, line, have);
        if (have == sizeof buf - 1)
            have = 0; /* a line longer than the buffer: skip it */
    }
    close(fd);
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

/* The first and the last page a write of len (1..page) bytes at dst touches: equal, or adjacent. */
static void os_pages_of(const void *dst, size_t len, uintptr_t pg[2])
{
    size_t page = os_page();
    pg[0] = (uintptr_t)dst & ~(page - 1);
    pg[1] = ((uintptr_t)dst + len - 1) & ~(page - 1);
}

/* A trampoline or an entry jump: never empty, at most a page (so one or two pages). */
static int os_len_ok(size_t len, char *why, size_t cap)
{
    if (len == 0 || len > os_page()) {
        lf_insn_why(why, cap, "code write of %zu bytes", len);
        return 0;
    }
    return 1;
}

/* Store len bytes at dst with os_store_code, 16 at a time, in memory already writable. */
static void os_store_all(unsigned char *dst, const unsigned char *src, size_t len)
{
    for (size_t off = 0; off < len; off += 16)
        os_store_code(dst + off, src + off, len - off < 16 ? len - off : 16);
}

/* Write len bytes of code at dst: its one or two pages made writable for the moment of the write
** (kept executable: other threads may be running code in the same pages), then the old
** protection back: known[2], the protections of os_pages_of(dst, len), or NULL to look them up.
** Where the system refuses writable+executable, /proc/self/mem writes through it. */
static int os_write_code(void *dst, const void *src, size_t len, const int *known, char *why,
                         size_t cap)
{
    if (!os_len_ok(len, why, cap))
        return -1;
    size_t page = os_page();
    uintptr_t pg[2];
    os_pages_of(dst, len, pg);
    size_t npg = pg[1] != pg[0] ? 2 : 1;
    int prot[2] = {0, 0};
    if (known) {
        prot[0] = known[0];
        prot[1] = npg == 2 ? known[1] : 0;
    } else {
        os_prot_of_list(pg, prot, NULL, npg);
    }
    int opened = 1;

    for (size_t k = 0; k < npg; k++)
        if (mprotect((void *)pg[k], page, prot[k] | PROT_READ | PROT_WRITE | PROT_EXEC) != 0)
            opened = 0;
    if (opened)
        os_store_all(dst, src, len);
    for (size_t k = 0; k < npg; k++)
        mprotect((void *)pg[k], page, prot[k]);
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

/* All of w[0..n) in one mapping of one protection (a copy's functions are in its object's code):
** the span from the first page to the last made writable once for the moment of the writes,
** instead of two mprotect calls per entry (each splits and merges a mapping of a 150 MB
** executable). 0 when not so, or if the system refuses: nothing written, then write by write. */
static int os_write_span(const struct lf_patch_os_code *w, size_t n, const uintptr_t *pages,
                         const int *prots, const uintptr_t *vmas)
{
    uintptr_t lo = pages[0], hi = pages[0];
    for (size_t k = 0; k < 2 * n; k++) {
        if (vmas[k] == 0 || vmas[k] != vmas[0] || prots[k] != prots[0])
            return 0;
        if (pages[k] < lo)
            lo = pages[k];
        if (pages[k] > hi)
            hi = pages[k];
    }
    hi += os_page(); /* one mapping: every page from lo to hi has prots[0] */
    if (mprotect((void *)lo, hi - lo, prots[0] | PROT_READ | PROT_WRITE | PROT_EXEC) != 0) {
        mprotect((void *)lo, hi - lo, prots[0]);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        os_store_all(w[i].dst, w[i].src, w[i].len);
    mprotect((void *)lo, hi - lo, prots[0]);
    for (size_t i = 0; i < n; i++)
        __builtin___clear_cache((char *)w[i].dst, (char *)w[i].dst + w[i].len);
    return 1;
}

void *lf_patch_os_map_at(uint64_t want, size_t size)
{
    return os_map_at(want, size);
}

void *lf_patch_os_map_any(size_t size)
{
    return os_map_any(size);
}

/* No thread can be running in a slot just taken: its bytes need no atomic stores and no moment
** of PROT_WRITE. A session is /proc/self/mem open for writing: one pwrite (0.4 us here) instead
** of two mprotect calls (3.4 us). */
int lf_patch_os_tramp_begin(void)
{
    return open("/proc/self/mem", O_RDWR | O_CLOEXEC);
}

void lf_patch_os_tramp_end(int session)
{
    if (session >= 0)
        close(session);
}

/* Through the session, or else like any code, the pool's protection known (mapped read+execute,
** given back after every write): its page stays executable for the other slots. */
int lf_patch_os_write_tramp(int session, void *dst, const void *src, size_t len, char *why,
                            size_t cap)
{
    static const int pool_prot[2] = {PROT_READ | PROT_EXEC, PROT_READ | PROT_EXEC};
    if (!os_len_ok(len, why, cap))
        return -1;
    if (session >= 0 && pwrite(session, src, len, (off_t)(uintptr_t)dst) == (ssize_t)len) {
        __builtin___clear_cache((char *)dst, (char *)dst + len);
        return 0;
    }
    return os_write_code(dst, src, len, pool_prot, why, cap);
}

int lf_patch_os_write_code(void *dst, const void *src, size_t len, char *why, size_t cap)
{
    return os_write_code(dst, src, len, NULL, why, cap);
}

/* One read of /proc/self/maps for the protections of every page written (two per write), then
** one span if they allow it, else write by write with the protections read. */
int lf_patch_os_write_codes(const struct lf_patch_os_code *w, size_t n, size_t *done, char *why,
                            size_t cap)
{
    uintptr_t pages[2 * LF_PATCH_OS_CODES_MAX], vmas[2 * LF_PATCH_OS_CODES_MAX];
    int prots[2 * LF_PATCH_OS_CODES_MAX];
    *done = 0;
    if (n > LF_PATCH_OS_CODES_MAX) {
        lf_insn_why(why, cap, "too many code writes at once (%zu)", n);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (!os_len_ok(w[i].len, why, cap))
            return -1;
        os_pages_of(w[i].dst, w[i].len, &pages[2 * i]);
    }
    if (n == 0)
        return 0;
    os_prot_of_list(pages, prots, vmas, 2 * n);
    if (os_write_span(w, n, pages, prots, vmas)) {
        *done = n;
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (os_write_code(w[i].dst, w[i].src, w[i].len, &prots[2 * i], why, cap) < 0)
            return -1;
        *done = i + 1;
    }
    return 0;
}

#pragma GCC visibility pop
#endif /* !__APPLE__ */
