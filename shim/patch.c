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
** This file is the same on every system. What touches the operating system (mapping memory
** near an address, writing code, the instruction cache) is behind patch_os.h: patch_linux.c and
** patch_darwin.c.
*/
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "insn_a64.h"
#include "insn_x86.h"
#include "patch.h"
#include "patch_os.h"

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
** searched below the target first: above an executable lies the heap's room to grow. A new pool
** is tried first just below `lo` (the lowest address of the object holding target, 0 if
** unknown): stepping out of a 150 MB executable a megabyte at a time took ~70 failed mmaps. */
static unsigned char *slot_alloc(uint64_t target, uint64_t lo, int *near)
{
    unsigned char *s = NULL;
    pthread_mutex_lock(&pool_lock);
#ifdef LF_PATCH_TEST_FAR   /* tests/patch: exercise the absolute forms, as if no memory were near */
    if (npools < LF_MAX_POOLS) {
        void *m = lf_patch_os_map_any(LF_POOL);
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
        uint64_t below = (lo & ~(uint64_t)(LF_POOL - 1)) - LF_POOL;
        if (lo > 2 * (uint64_t)LF_POOL && lo <= target && dist(below, target) + LF_POOL < LF_NEAR)
            m = lf_patch_os_map_at(below, LF_POOL);
        for (uint64_t d = step; !m && d + LF_POOL < LF_NEAR; d += step) {
            if (home > d) m = lf_patch_os_map_at(home - d, LF_POOL);
            if (!m && home + d > home) m = lf_patch_os_map_at(home + d, LF_POOL);
        }
        *near = m != NULL;
        if (!m) m = lf_patch_os_map_any(LF_POOL);
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

/* session: from lf_patch_os_tramp_begin, or -1. */
static int prepare_one(struct lf_patch *p, int session, char *why, size_t cap)
{
#if !defined(ARCH_SHORT)
    (void)p;
    (void)session;
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
    unsigned char *slot = slot_alloc(fn, (uint64_t)p->object_lo, &near);
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
    if (lf_patch_os_write_tramp(session, slot, buf, LF_TRAMP_OFF + r.out_len, why, cap) < 0)
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
    int session = lf_patch_os_tramp_begin();   /* ended before returning */
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        if (prepare_one(&p[i], session, why, cap) < 0) {
            for (size_t k = 0; k < i; k++)
                lf_patch_discard(&p[k]);
            *failed = i;
            rc = -1;
        }
    lf_patch_os_tramp_end(session);
    return rc;
}

/* Restore the patches of p[0..k) this call wrote. */
static void unwind(struct lf_patch *p, const unsigned char *wrote, size_t k)
{
    while (k--)
        if (wrote[k] && lf_patch_os_write_code((unsigned char *)p[k].target + p[k].saved_off,
                                               p[k].saved, p[k].saved_len, NULL, 0) == 0)
            p[k].applied_ = 0;
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
    /* The entries not yet applied, written together (patch_os.h: one read of the memory map and
    ** one mprotect span on Linux) LF_PATCH_OS_CODES_MAX at a time; a refusal restores them all. */
    memset(wrote, 0, n);
    for (size_t i = 0; i < n;) {
        struct lf_patch_os_code w[LF_PATCH_OS_CODES_MAX];
        size_t at[LF_PATCH_OS_CODES_MAX] = {0}, m = 0, done = 0; /* {0}: done <= m, unseen */
        for (; i < n && m < LF_PATCH_OS_CODES_MAX; i++) {
            if (p[i].applied_) continue;
            w[m].dst = (unsigned char *)p[i].target + p[i].saved_off;
            w[m].src = p[i].jump_;
            w[m].len = p[i].jump_len_;
            at[m++] = i;
        }
        int rc = lf_patch_os_write_codes(w, m, &done, why, cap);
        for (size_t k = 0; k < done; k++) {
            wrote[at[k]] = 1;
            p[at[k]].applied_ = 1;
        }
        if (rc < 0) {
            unwind(p, wrote, n);
            return -1;
        }
    }
    return 0;
}

int lf_patch_revert(struct lf_patch *p, size_t n, char *why, size_t cap)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (!p[i].applied_) continue;
        if (lf_patch_os_write_code((unsigned char *)p[i].target + p[i].saved_off, p[i].saved,
                                   p[i].saved_len, why, cap) < 0)
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
