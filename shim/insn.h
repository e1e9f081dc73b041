/*
** What the two instruction relocators (insn_x86.c, insn_a64.c) share: one request to copy the
** first instructions of a function to a trampoline. Pure: bytes in, bytes out, no memory mapped.
*/
#ifndef LOCKFIX_INSN_H
#define LOCKFIX_INSN_H

#include <stddef.h>
#include <stdint.h>

struct lf_reloc {
    /* In. */
    const unsigned char *code; /* the original instructions, readable */
    size_t avail;              /* bytes of them that belong to the function (its size, or a cap) */
    uint64_t src;              /* the address they run at */
    uint64_t fn_start;         /* the function's entry (<= src): a branch back into
                               ** [fn_start, src + covered) is refused */
    size_t need;               /* bytes the entry jump will overwrite */
    unsigned char *out;        /* where the trampoline code is written */
    size_t out_cap;
    uint64_t dst;              /* the address out will run at */
    /* Out. */
    size_t covered;            /* bytes of whole instructions copied (>= need) */
    size_t out_len;            /* trampoline bytes written, jump back included */
};

/* The reason for a refusal, written like snprintf into why (cap may be 0). */
void lf_insn_why(char *why, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
