/*
** The entry patcher on macOS: its memory primitives (patch_os.h) and lf_patch_copy, the one call
** darwin.c makes to redirect a compiled-in SQLite copy. What to write and where (the decoders,
** the relays, all or none) is patch.c's, the code Linux runs and tests/patch tests.
**
** NOT RUN ON A MAC. Written from Apple's documented interfaces; `make macos-check` compiles it
** for arm64 and x86_64 against tests/macos-sdk. See docs/how-it-works.md, "macOS".
**
** Trampolines live in MAP_JIT memory: the one kind of unsigned executable memory a process may
** have on Apple silicon (allowed without the hardened runtime; with it, only under
** com.apple.security.cs.allow-jit, and darwin.c refuses hardened processes before patching).
** MAP_JIT does not combine with MAP_FIXED, so a pool near the target is asked for by a hint and
** kept only if the kernel put it exactly there. On arm64 the calling thread writes it between
** pthread_jit_write_protect_np(0) and (1): per-thread W^X, so other threads keep running the
** trampolines already in the pool meanwhile. On x86_64 (macOS 10.15 and later; the toggle needs
** macOS 11) there is no per-thread write protection: pthread_jit_write_protect_np(3) documents
** that only where it is supported are MAP_JIT regions never writable and executable at once, so
** there the pool is written as it is mapped, read+write+execute.
**
** A program's code is written through mach_vm_protect(..., VM_PROT_READ | VM_PROT_WRITE |
** VM_PROT_COPY): the page becomes a private copy (the signed file page is never written), not
** executable while it is written (Apple silicon refuses writable+executable outside MAP_JIT),
** then gets its protection back (read+execute) and the instruction cache is invalidated. The
** page's signature no longer matches: a process whose code signature has CS_KILL, CS_HARD or the
** hardened runtime would be killed when it runs the page, which is why darwin.c reads those
** flags first. A thread running code in that page during the write would fault: darwin.c patches
** an image in dyld's add-image callback, before the image's initializers run, so none of its
** code has run yet (the main executable, patched when lockfix loads, excepted only if one of the
** libraries initialised before lockfix started a thread that already runs it).
*/
#ifdef __APPLE__
#include <libkern/OSCacheControl.h>
#include <mach/mach.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "darwin.h"
#include "insn.h"
#include "patch.h"
#include "patch_os.h"

#pragma GCC visibility push(hidden)

#define LF_COPY_MAX 64 /* hooked functions of one copy (hooks.h has fewer) */

/* ---- trampolines: MAP_JIT ------------------------------------------------------------------ */

static void *map_jit(void *hint, size_t size)
{
    void *m = mmap(hint, size, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANON | MAP_JIT,
                   -1, 0);
    return m == MAP_FAILED ? NULL : m;
}

void *lf_patch_os_map_at(uint64_t want, size_t size)
{
    void *m = map_jit((void *)(uintptr_t)want, size); /* a hint: never over another mapping */
    if (m != NULL && (uint64_t)(uintptr_t)m != want) {
        munmap(m, size);
        return NULL;
    }
    return m;
}

void *lf_patch_os_map_any(size_t size)
{
    return map_jit(NULL, size);
}

/* Nothing to share between trampoline writes: each is a toggle of this thread's W^X (arm64). */
int lf_patch_os_tramp_begin(void)
{
    return -1;
}

void lf_patch_os_tramp_end(int session)
{
    (void)session;
}

int lf_patch_os_write_tramp(int session, void *dst, const void *src, size_t len, char *why,
                            size_t cap)
{
    (void)session, (void)why, (void)cap;
#if defined(__aarch64__)
    pthread_jit_write_protect_np(0); /* this thread may now write MAP_JIT pages, not run them */
    memcpy(dst, src, len);
    pthread_jit_write_protect_np(1);
#else
    memcpy(dst, src, len);
#endif
    sys_icache_invalidate(dst, len);
    return 0;
}

/* ---- a program's code: a private copy of its pages ------------------------------------------ */

/* The protection of the region holding addr, or -1 if none holds it. */
static int region_prot(mach_vm_address_t addr)
{
    mach_vm_address_t at = addr;
    mach_vm_size_t size = 0;
    vm_region_basic_info_data_64_t info;
    mach_msg_type_number_t count = VM_REGION_BASIC_INFO_COUNT_64;
    mach_port_t object = MACH_PORT_NULL;
    if (mach_vm_region(mach_task_self(), &at, &size, VM_REGION_BASIC_INFO_64,
                       (vm_region_info_t)&info, &count, &object) != KERN_SUCCESS ||
        at > addr)
        return -1;
    return info.protection;
}

int lf_patch_os_write_code(void *dst, const void *src, size_t len, char *why, size_t cap)
{
    mach_port_t task = mach_task_self();
    uintptr_t page = (uintptr_t)getpagesize();
    uintptr_t first = (uintptr_t)dst & ~(page - 1);
    uintptr_t last = ((uintptr_t)dst + len - 1) & ~(page - 1);
    if (len == 0 || len > page) { /* an entry jump: at most two pages */
        lf_insn_why(why, cap, "code write of %zu bytes", len);
        return -1;
    }
    int prot = region_prot(first);
    if (prot < 0 || (last != first && region_prot(last) != prot) || !(prot & VM_PROT_EXECUTE)) {
        lf_insn_why(why, cap, "the entry is not in executable code");
        return -1;
    }
    mach_vm_size_t span = (mach_vm_size_t)(last - first + page);
    kern_return_t kr =
        mach_vm_protect(task, first, span, FALSE, VM_PROT_READ | VM_PROT_WRITE | VM_PROT_COPY);
    if (kr != KERN_SUCCESS) {
        lf_insn_why(why, cap, "code page cannot be made writable (mach_vm_protect: %d)", kr);
        return -1;
    }
    memcpy(dst, src, len);
    kr = mach_vm_protect(task, first, span, FALSE, (vm_prot_t)prot);
    sys_icache_invalidate(dst, len);
    if (kr != KERN_SUCCESS) {
        lf_insn_why(why, cap, "code page cannot be made executable again (mach_vm_protect: %d)",
                    kr);
        return -1;
    }
    return 0;
}

/* Write by write: one span would make a private copy of every page between the first entry and
** the last (VM_PROT_COPY), the ones no entry is in too. */
int lf_patch_os_write_codes(const struct lf_patch_os_code *w, size_t n, size_t *done, char *why,
                            size_t cap)
{
    *done = 0;
    for (size_t i = 0; i < n; i++) {
        if (lf_patch_os_write_code(w[i].dst, w[i].src, w[i].len, why, cap) < 0)
            return -1;
        *done = i + 1;
    }
    return 0;
}

/* ---- one compiled-in copy, all or none ------------------------------------------------------ */

/*
** Mach-O symbols carry no size: darwin.c passes each function's from LC_FUNCTION_STARTS (to the
** next function's start, alignment padding included), so that, as on Linux with st_size, a
** function shorter than the jump is refused and its body is scanned for a branch back into the
** bytes the jump replaces. A size of 0 (no such list) reads 32 bytes at the entry, unscanned.
** The reason of a refusal is kept per thread until the next call.
*/
int lf_patch_copy(const char *image, void *const fns[], const size_t sizes[],
                  void *const hooks_for[], int n, void *trampolines[], const char **why)
{
    static _Thread_local char reason[200];
    struct lf_patch p[LF_COPY_MAX];
    char detail[160];
    (void)image;
    if (n <= 0 || n > LF_COPY_MAX) {
        *why = "its number of entries is out of range";
        return -1;
    }
    memset(p, 0, sizeof p);
    for (int i = 0; i < n; i++) {
        p[i].target = fns[i];
        p[i].hook = hooks_for[i];
        p[i].size = sizes[i];
    }
    size_t failed = 0;
    if (lf_patch_prepare_all(p, (size_t)n, &failed, detail, sizeof detail) != 0) {
        snprintf(reason, sizeof reason, "its entry %zu of %d cannot be patched (%s)", failed + 1, n,
                 detail);
        *why = reason;
        return -1;
    }
    if (lf_patch_apply(p, (size_t)n, detail, sizeof detail) != 0) {
        for (int k = 0; k < n; k++)
            lf_patch_discard(&p[k]);
        snprintf(reason, sizeof reason, "its entries cannot be written (%s)", detail);
        *why = reason;
        return -1;
    }
    for (int i = 0; i < n; i++)
        trampolines[i] = p[i].trampoline;
    return 0;
}

#pragma GCC visibility pop
#endif /* __APPLE__ */
