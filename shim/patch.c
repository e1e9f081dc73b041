/*
** Redirecting a function's entry to a hook, with a trampoline that still runs the original.
**
**   entry:      [landing pad kept] jmp/b relay         (5 / 4 bytes: as few as possible to relocate)
**               (aarch64 paciasp/pacibsp entry: bti c; b relay, the pac instruction relocated)
**   relay:      jmp [rip+0] / ldr x16, #8; br x16; .quad hook   (absolute: the hook is in
**               liblockfix.so, usually farther than a short jump reaches from the program)
**   trampoline: endbr64 / bti c; the relocated first instructions; jmp/b entry + covered
**
** Relay and trampoline share one 256-byte slot in a pool mapped within reach of the function
** (x86-64: +-1 GB, so the short jump and the relocated rip-relative operands, which point into the
** same object, stay within +-2 GB; aarch64: +-120 MB, the reach of b). If no memory is free near
** the function, the entry gets the absolute jump to the hook itself (14 / 16 bytes) and the
** trampoline goes anywhere: the relocators then use their absolute forms, and refuse operands
** they cannot reach. The short form is preferred because fewer bytes are overwritten: fewer
** instructions to understand, less chance that something branches into them.
**
** Everything that touches the operating system (page size, mapping near an address, making code
** writable, the instruction cache) is in the "OS" section below, for a port to another system.
*/
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "insn_a64.h"
#include "insn_x86.h"
#include "patch.h"

#pragma GCC visibility push(hidden)

#if defined(__x86_64__)
#define LF_ARCH "x86-64"
#define LF_NEAR (1ull << 30)
#define LF_RELAY_MAX 14
#elif defined(__aarch64__)
#define LF_ARCH "aarch64"
#define LF_NEAR (120ull << 20)
#define LF_RELAY_MAX 16
#else
#define LF_ARCH NULL
#define LF_NEAR 0
#define LF_RELAY_MAX 16
#endif

#define LF_SLOT 256                   /* relay (16 bytes) + trampoline */
#define LF_TRAMP_OFF 16
#define LF_POOL (64u << 10)           /* one mapping: 256 slots */
#define LF_POOL_SLOTS (LF_POOL / LF_SLOT)
#define LF_MAX_POOLS 64
#define LF_SIZE_UNKNOWN 32            /* bytes read at an entry whose function size is unknown */

/* ---- OS: the only part that knows about Linux ---------------------------------------------- */

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
    flags |= MAP_FIXED_NOREPLACE;     /* older kernels ignore it: then `want` is only a hint */
#endif
    void *m = mmap((void *)(uintptr_t)want, size, PROT_READ | PROT_EXEC, flags, -1, 0);
    if (m == MAP_FAILED) return NULL;
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

/* The protection of the mappings holding addr[0..n), from /proc/self/maps, in one read of it
** (PROT_READ|PROT_EXEC for an address the file does not show, or if it cannot be read: code is
** mapped so). Read with read(2): no stdio, no allocation. One read of a large program's maps
** costs ~10 us: a copy's 20 functions are looked up together, not one read each. */
static void os_prot_of_list(const uintptr_t *addr, int *prot, uintptr_t *vma, size_t n)
{
    for (size_t i = 0; i < n; i++) {   /* vma (may be NULL): where the mapping starts, or 0 */
        prot[i] = PROT_READ | PROT_EXEC;
        if (vma) vma[i] = 0;
    }
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    char buf[4096];
    size_t have = 0, left = n;
    for (;;) {
        ssize_t got = read(fd, buf + have, sizeof buf - 1 - have);
        if (got <= 0) break;
        have += (size_t)got;
        buf[have] = 0;
        char *line = buf, *nl;
        while ((nl = memchr(line, '\n', have - (size_t)(line - buf)))) {
            uintptr_t lo = 0, hi = 0;
            char *s = line;
            while (*s && *s != '-') { lo = lo * 16 + (uintptr_t)(*s <= '9' ? *s - '0' : (*s | 32) - 'a' + 10); s++; }
            if (*s == '-') s++;
            while (*s && *s != ' ') { hi = hi * 16 + (uintptr_t)(*s <= '9' ? *s - '0' : (*s | 32) - 'a' + 10); s++; }
            for (size_t i = 0; i < n && s + 4 < nl; i++)
                if (addr[i] >= lo && addr[i] < hi) {
                    prot[i] = (s[1] == 'r' ? PROT_READ : 0) | (s[2] == 'w' ? PROT_WRITE : 0) |
                              (s[3] == 'x' ? PROT_EXEC : 0);
                    if (vma) vma[i] = lo;
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
        if (have == sizeof buf - 1) have = 0;   /* a line longer than the buffer: skip it */
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
                             : "=q"(ok), "+m"(*(volatile uint64_t(*)[2])w), "+a"(old[0]), "+d"(old[1])
                             : "b"(neu[0]), "c"(neu[1])
                             : "memory", "cc");
            if (ok) return;
        }
    }
#endif
    size_t head = 8 - lead;
    memcpy(dst + head, src + head, len - head);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    os_store_code(dst, src, head);
}

/* The first and the last page a write of len bytes at dst touches. */
static void os_pages_of(const void *dst, size_t len, uintptr_t pg[2])
{
    size_t page = os_page();
    pg[0] = (uintptr_t)dst & ~(page - 1);
    pg[1] = ((uintptr_t)dst + len - 1) & ~(page - 1);
}

/* Write len bytes of code at dst: made writable page by page for the moment of the write (kept
** executable: other threads may be running code in the same pages), then the old protection
** back: known[2], the protections of os_pages_of(dst, len), or NULL to look them up. Where the
** system refuses writable+executable, /proc/self/mem writes through it. */
static int os_write_code(void *dst, const void *src, size_t len, const int *known, char *why,
                         size_t cap)
{
    size_t page = os_page();
    if (len == 0 || len > page) {   /* a trampoline or an entry jump: at most two pages */
        lf_insn_why(why, cap, "code write of %zu bytes", len);
        return -1;
    }
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
        if (mprotect((void *)pg[k], page, prot[k] | PROT_READ | PROT_WRITE | PROT_EXEC) != 0) opened = 0;
    if (opened) {
        for (size_t off = 0; off < len; off += 16)
            os_store_code((unsigned char *)dst + off, (const unsigned char *)src + off,
                          len - off < 16 ? len - off : 16);
    }
    for (size_t k = 0; k < npg; k++) mprotect((void *)pg[k], page, prot[k]);
    if (!opened) {
        int fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
        ssize_t put = fd < 0 ? -1 : pwrite(fd, src, len, (off_t)(uintptr_t)dst);
        int err = errno;
        if (fd >= 0) close(fd);
        if (put != (ssize_t)len) {
            lf_insn_why(why, cap, "code not writable: %s", strerror(err));
            return -1;
        }
    }
    __builtin___clear_cache((char *)dst, (char *)dst + len);
    return 0;
}

/* ---- trampoline slots ------------------------------------------------------------------------ */

struct lf_pool {
    unsigned char *base;
    uint64_t used[LF_POOL_SLOTS / 64];   /* a bit per slot */
};

static struct lf_pool pools[LF_MAX_POOLS];
static unsigned npools;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t dist(uint64_t a, uint64_t b) { return a > b ? a - b : b - a; }

static unsigned char *pool_take(struct lf_pool *pl)
{
    for (unsigned i = 0; i < LF_POOL_SLOTS; i++)
        if (!(pl->used[i / 64] >> (i % 64) & 1)) {
            pl->used[i / 64] |= 1ull << (i % 64);
            return pl->base + (size_t)i * LF_SLOT;
        }
    return NULL;
}

/* A free slot within LF_NEAR of target (*near = 1), or anywhere (*near = 0), or NULL. Pools are
** searched below the target first: above an executable lies the heap's room to grow. */
static unsigned char *slot_alloc(uint64_t target, int *near)
{
    unsigned char *s = NULL;
    pthread_mutex_lock(&pool_lock);
#ifdef LF_PATCH_TEST_FAR   /* tests/patch: exercise the absolute forms, as if no memory were near */
    if (npools < LF_MAX_POOLS) {
        void *m = os_map_any(LF_POOL);
        if (m) {
            memset(&pools[npools], 0, sizeof pools[npools]);
            pools[npools].base = m;
            s = pool_take(&pools[npools++]);
        }
    }
    *near = 0;
    pthread_mutex_unlock(&pool_lock);
    return s;
#endif
    for (unsigned i = 0; i < npools && !s; i++)
        if (dist((uint64_t)(uintptr_t)pools[i].base, target) + LF_POOL < LF_NEAR)
            s = pool_take(&pools[i]);
    *near = s != NULL;
    if (!s && npools < LF_MAX_POOLS) {
        void *m = NULL;
        uint64_t step = 1u << 20, home = target & ~(uint64_t)(LF_POOL - 1);
        for (uint64_t d = step; !m && d + LF_POOL < LF_NEAR; d += step) {
            if (home > d) m = os_map_at(home - d, LF_POOL);
            if (!m && home + d > home) m = os_map_at(home + d, LF_POOL);
        }
        *near = m != NULL;
        if (!m) m = os_map_any(LF_POOL);
        if (m) {
            memset(&pools[npools], 0, sizeof pools[npools]);
            pools[npools].base = m;
            s = pool_take(&pools[npools++]);
        }
    }
    for (unsigned i = 0; i < npools && !*near && s; i++)   /* a pool found anywhere may be near */
        if (s >= pools[i].base && s < pools[i].base + LF_POOL)
            *near = dist((uint64_t)(uintptr_t)pools[i].base, target) + LF_POOL < LF_NEAR;
    pthread_mutex_unlock(&pool_lock);
    return s;
}

static void slot_free(unsigned char *s)
{
    pthread_mutex_lock(&pool_lock);
    for (unsigned i = 0; i < npools; i++)
        if (s >= pools[i].base && s < pools[i].base + LF_POOL) {
            unsigned k = (unsigned)((size_t)(s - pools[i].base) / LF_SLOT);
            pools[i].used[k / 64] &= ~(1ull << (k % 64));
        }
    pthread_mutex_unlock(&pool_lock);
}

/* ---- the architecture, chosen at build time ------------------------------------------------- */

const char *lf_patch_arch(void) { return LF_ARCH; }

#if defined(__x86_64__)
#define arch_pad lf_x86_landing_pad
#define arch_jump lf_x86_jump
#define arch_check_body lf_x86_check_body
#define arch_jump_abs lf_x86_jump_abs
#define arch_relocate lf_x86_relocate
#define ARCH_SHORT 5
#elif defined(__aarch64__)
#define arch_pad lf_a64_landing_pad
#define arch_jump lf_a64_jump
#define arch_check_body lf_a64_check_body
#define arch_jump_abs lf_a64_jump_abs
#define arch_relocate lf_a64_relocate
#define ARCH_SHORT 4
#endif

/* ---- the interface -------------------------------------------------------------------------- */

/* mem_fd: /proc/self/mem open for writing, or -1. */
static int prepare_one(struct lf_patch *p, int mem_fd, char *why, size_t cap)
{
#if !defined(ARCH_SHORT)
    (void)p;
    (void)mem_fd;
    lf_insn_why(why, cap, "unsupported architecture");
    return -1;
#else
    if (!p->target || !p->hook) {
        lf_insn_why(why, cap, "no target or no hook");
        return -1;
    }
    const unsigned char *code = p->target;
    uint64_t fn = (uint64_t)(uintptr_t)p->target, hook = (uint64_t)(uintptr_t)p->hook;
    size_t avail = p->size ? p->size : LF_SIZE_UNKNOWN;
    size_t pad = arch_pad(code, avail);
    uint64_t entry = fn + pad;
    int near;
    unsigned char *slot = slot_alloc(fn, &near);
    if (!slot) {
        lf_insn_why(why, cap, "no memory for a trampoline");
        return -1;
    }
    uint64_t relay = (uint64_t)(uintptr_t)slot;
    unsigned char buf[LF_SLOT];
    memset(buf, 0, sizeof buf);

    /* An aarch64 entry that starts with paciasp/pacibsp: that instruction goes to the trampoline
    ** (it signs the return address the function will authenticate), and a bti c takes its place
    ** as the landing pad of indirect calls. */
    size_t lead = 0;
#if defined(__aarch64__)
    if (pad == 0 && lf_a64_pac_entry(code, avail)) lead = lf_a64_landing(p->jump_);
#endif
    /* The entry jump: short to the hook, short to a relay, or absolute to the hook. */
    size_t jlen = arch_jump(p->jump_ + lead, entry + lead, hook);
    if (jlen > ARCH_SHORT && near) {
        arch_jump_abs(buf, hook);                           /* the relay */
        jlen = arch_jump(p->jump_ + lead, entry + lead, relay);
    }
#ifdef LF_PATCH_TEST_FAR
    jlen = arch_jump_abs(p->jump_ + lead, hook);
#endif
    jlen += lead;
    struct lf_reloc r = {
        .code = code + pad, .avail = avail - pad, .src = entry, .fn_start = fn, .need = jlen,
        .out = buf + LF_TRAMP_OFF, .out_cap = sizeof buf - LF_TRAMP_OFF,
        .dst = relay + LF_TRAMP_OFF,
    };
    if (pad >= avail) {
        lf_insn_why(why, cap, "too short: %zu bytes", avail);
        goto fail;
    }
    if (arch_relocate(&r, why, cap) < 0) goto fail;
    if (p->size && arch_check_body(code, p->size, fn, pad, r.covered, why, cap) < 0) goto fail;
    /* No thread can be running in a slot just taken: written through /proc/self/mem when it is
    ** open (one pwrite, 0.4 us here, instead of two mprotect calls, 3.4 us), else as any code. */
    static const int pool_prot[2] = {PROT_READ | PROT_EXEC, PROT_READ | PROT_EXEC}; /* as mapped */
    size_t slot_len = LF_TRAMP_OFF + r.out_len;
    if (mem_fd >= 0 && pwrite(mem_fd, buf, slot_len, (off_t)(uintptr_t)slot) == (ssize_t)slot_len)
        __builtin___clear_cache((char *)slot, (char *)slot + slot_len);
    else if (os_write_code(slot, buf, slot_len, pool_prot, why, cap) < 0)
        goto fail;
    p->trampoline = slot + LF_TRAMP_OFF;
    p->saved_off = pad;
    p->saved_len = jlen;
    memcpy(p->saved, code + pad, jlen);
    p->jump_len_ = jlen;
    p->covered_ = r.covered;
    p->slot_ = slot;
    p->applied_ = 0;
    return 0;
fail:
    slot_free(slot);
    return -1;
#endif
}

int lf_patch_prepare(struct lf_patch *p, char *why, size_t cap)
{
    return prepare_one(p, -1, why, cap);
}

int lf_patch_prepare_all(struct lf_patch *p, size_t n, size_t *failed, char *why, size_t cap)
{
    int fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);   /* closed before returning */
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        if (prepare_one(&p[i], fd, why, cap) < 0) {
            for (size_t k = 0; k < i; k++) lf_patch_discard(&p[k]);
            *failed = i;
            rc = -1;
        }
    if (fd >= 0) close(fd);
    return rc;
}

/* Restore the first k patches this call wrote. */
static void unwind(struct lf_patch *p, const unsigned char *wrote, size_t k)
{
    while (k--)
        if (wrote[k] && os_write_code((unsigned char *)p[k].target + p[k].saved_off, p[k].saved,
                                      p[k].saved_len, NULL, NULL, 0) == 0)
            p[k].applied_ = 0;
}

/* All the entries in one mapping of one protection (a copy's functions are in its object's code):
** that whole span made writable once for the moment of the writes, instead of two mprotect calls
** per entry (each splits and merges a mapping of a 150 MB executable). 0 when not so, or if the
** system refuses: then entry by entry. */
static int apply_in_one_span(struct lf_patch *p, size_t n, const uintptr_t *pages,
                             const int *prots, const uintptr_t *vmas)
{
    uintptr_t lo = pages[0], hi = pages[0];
    for (size_t k = 0; k < 2 * n; k++) {
        if (vmas[k] == 0 || vmas[k] != vmas[0] || prots[k] != prots[0]) return 0;
        if (pages[k] < lo) lo = pages[k];
        if (pages[k] > hi) hi = pages[k];
    }
    hi += os_page();
    if (mprotect((void *)lo, hi - lo, prots[0] | PROT_READ | PROT_WRITE | PROT_EXEC) != 0) {
        mprotect((void *)lo, hi - lo, prots[0]);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (p[i].applied_) continue;
        unsigned char *dst = (unsigned char *)p[i].target + p[i].saved_off;
        for (size_t off = 0; off < p[i].jump_len_; off += 16)
            os_store_code(dst + off, p[i].jump_ + off,
                          p[i].jump_len_ - off < 16 ? p[i].jump_len_ - off : 16);
        __builtin___clear_cache((char *)dst, (char *)dst + p[i].jump_len_);
    }
    mprotect((void *)lo, hi - lo, prots[0]);
    return 1;
}

int lf_patch_apply(struct lf_patch *p, size_t n, char *why, size_t cap)
{
    unsigned char wrote[1024];
    if (n > sizeof wrote) {
        lf_insn_why(why, cap, "too many patches at once (%zu)", n);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {       /* check all before changing any */
        if (!p[i].slot_) {
            lf_insn_why(why, cap, "patch %zu not prepared", i);
            return -1;
        }
        if (!p[i].applied_ &&
            memcmp((unsigned char *)p[i].target + p[i].saved_off, p[i].saved, p[i].saved_len) != 0) {
            lf_insn_why(why, cap, "entry of patch %zu changed since it was prepared", i);
            return -1;
        }
    }
    /* Two entries patched at once must not share bytes: one function under two names (identical
    ** code folded by the linker), or a function shorter than its neighbour's relocated bytes. */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++) {
            uintptr_t a = (uintptr_t)p[i].target + p[i].saved_off, b = (uintptr_t)p[j].target + p[j].saved_off;
            if (a < b + p[j].covered_ && b < a + p[i].covered_) {
                lf_insn_why(why, cap, "patches %zu and %zu overlap (%s)", j, i,
                            a == b ? "one entry under two names" : "an entry inside another's");
                return -1;
            }
        }
    /* The protections of every page written, from one read of the memory map (2 per patch). */
    uintptr_t pages[2 * sizeof wrote] = {0}, vmas[2 * sizeof wrote];
    int prots[2 * sizeof wrote];
    for (size_t i = 0; i < n; i++)
        os_pages_of((unsigned char *)p[i].target + p[i].saved_off, p[i].jump_len_, &pages[2 * i]);
    os_prot_of_list(pages, prots, vmas, 2 * n);
    if (n > 0 && apply_in_one_span(p, n, pages, prots, vmas)) {
        for (size_t i = 0; i < n; i++) p[i].applied_ = 1;
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        wrote[i] = 0;
        if (p[i].applied_) continue;
        if (os_write_code((unsigned char *)p[i].target + p[i].saved_off, p[i].jump_, p[i].jump_len_,
                          &prots[2 * i], why, cap) < 0) {
            unwind(p, wrote, i);
            return -1;
        }
        wrote[i] = 1;
        p[i].applied_ = 1;
    }
    return 0;
}

int lf_patch_revert(struct lf_patch *p, size_t n, char *why, size_t cap)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (!p[i].applied_) continue;
        if (os_write_code((unsigned char *)p[i].target + p[i].saved_off, p[i].saved, p[i].saved_len,
                          NULL, why, cap) < 0)
            rc = -1;
        else
            p[i].applied_ = 0;
    }
    return rc;
}

void lf_patch_discard(struct lf_patch *p)
{
    if (!p->slot_ || p->applied_) return;
    slot_free(p->slot_);
    p->slot_ = NULL;
    p->trampoline = NULL;
}
