/*
** Redirecting a function that is not reached through the dynamic linker (a SQLite compiled into
** the program, found by its LOCAL symbols): its entry is overwritten with a jump to a hook, and
** the real function stays callable through a trampoline that runs the overwritten instructions,
** relocated, and jumps back to the rest of the function.
**
** Two steps, so that a whole SQLite copy is patched or none of it:
**   1. lf_patch_prepare() on every function of the copy: decodes the entry, refuses what it does
**      not fully understand, and builds the trampoline. Nothing in the program is changed yet.
**   2. lf_patch_apply() on all of them: writes the entry jumps, all or none.
** Call both before the copy's code first runs (at load time); see patch.c for what a thread that
** executes the entry while it is written can observe.
**
** The instruction decoders and relocators are pure functions over bytes (insn_x86.h, insn_a64.h);
** this interface adds the memory: trampolines near the target, writing to code, the icache.
**
** The hook has the function's signature and is reached for every call, the copy's own internal
** calls included (sqlite3_exec calling its sqlite3_prepare_v2). Being a C function, it may clobber
** every call-clobbered register: patch only functions that the compiler must also assume clobber
** them all (ones that call through a pointer or out of their unit, as all of SQLite's hooked entry
** points do), never leaves: a caller built with gcc -fipa-ra may keep values in registers a leaf
** is known not to touch. Trampolines are never freed once applied. See docs/static-patching.md.
*/
#ifndef LOCKFIX_PATCH_H
#define LOCKFIX_PATCH_H

#include <stddef.h>
#include <stdint.h>

#define LF_PATCH_SAVED_MAX 32

/* One function to redirect. Fill target, hook and size; zero everything else before prepare. */
struct lf_patch {
    void *target;      /* the function's entry */
    void *hook;        /* where calls to it should go */
    size_t size;       /* the function's size in bytes from its symbol (st_size), 0 if unknown.
                       ** Give it: a function shorter than the jump is then refused, and the
                       ** whole function is scanned for branches into the replaced bytes
                       ** (unknown: 32 bytes are read at the entry, and no scan is possible) */
    uintptr_t object_lo; /* optional: the lowest address of the object holding target, where
                         ** a trampoline pool is looked for first (just below it) */

    /* Set by lf_patch_prepare. */
    void *trampoline;  /* callable as the original function (same signature, same ABI) */
    unsigned char saved[LF_PATCH_SAVED_MAX]; /* the bytes the jump overwrites, for the record / undo */
    size_t saved_len;
    size_t saved_off;  /* where in the function they start: 0, or 4 past a leading landing pad
                       ** (endbr64, bti c) that is left in place so indirect calls still land */

    /* Private to patch.c. */
    unsigned char jump_[LF_PATCH_SAVED_MAX]; /* the entry jump that lf_patch_apply writes */
    size_t jump_len_;
    size_t covered_;   /* bytes of whole instructions relocated from saved_off (>= saved_len) */
    void *slot_;       /* the trampoline's memory (relay stub + trampoline), to release */
    int applied_;
};

/*
** Decode the entry of p->target and build (but do not install) the trampoline, plus a relay stub
** next to it when the hook is out of reach of a short jump. Returns 0, or -1 with a short reason
** in why ("too short", "unknown instruction 0f 0b at +3", "branch into patched bytes", ...).
** On failure nothing stays allocated.
*/
int lf_patch_prepare(struct lf_patch *p, char *why, size_t cap);

/*
** lf_patch_prepare on p[0..n): all or none (on failure the ones prepared are discarded, *failed
** is the index of the one refused, and -1 is returned with its reason). Cheaper than one call
** each: the trampolines are written through one descriptor of /proc/self/mem, open for the
** duration of the call, where the system allows it.
*/
int lf_patch_prepare_all(struct lf_patch *p, size_t n, size_t *failed, char *why, size_t cap);

/*
** Write the entry jumps of n prepared patches: all or none (on failure every entry already written
** is restored and -1 is returned with the reason). Patches already applied are left as they are.
*/
int lf_patch_apply(struct lf_patch *p, size_t n, char *why, size_t cap);

/*
** Restore the saved bytes of n applied patches (tests, and a copy being unloaded). Trampolines stay
** allocated: a thread may still be running in one. Returns 0, or -1 with the reason.
*/
int lf_patch_revert(struct lf_patch *p, size_t n, char *why, size_t cap);

/* Release the trampoline of a prepared patch that was never applied (e.g. its copy was refused). */
void lf_patch_discard(struct lf_patch *p);

/* The architecture this build patches for ("x86-64", "aarch64"), or NULL: then every prepare fails. */
const char *lf_patch_arch(void);

#endif
