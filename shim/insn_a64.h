/*
** AArch64 instruction decoding for patching a function entry. Every instruction is 4 bytes; what
** matters is which ones depend on their own address (ADR/ADRP, B/BL, B.cond, CBZ/CBNZ, TBZ/TBNZ,
** LDR/PRFM literal) and which encoding groups are known to be position-independent.
*/
#ifndef LOCKFIX_INSN_A64_H
#define LOCKFIX_INSN_A64_H

#include "insn.h"

enum lf_a64_kind {
    LF_A64_PLAIN,   /* position-independent, copied as is */
    LF_A64_ADR, LF_A64_ADRP,
    LF_A64_B, LF_A64_BL, LF_A64_BCOND, LF_A64_CBZ, LF_A64_TBZ,
    LF_A64_LDRLIT,  /* ldr wt/xt, ldrsw xt, prfm (literal) */
    LF_A64_STOP,    /* ret, br: control does not fall through */
};

struct lf_a64_insn {
    enum lf_a64_kind kind;
    int64_t rel;    /* the operand is at (address + rel); for ADRP at page(address) + rel */
    unsigned reg;   /* Rd / Rt */
};

/* Classify one instruction word. Returns 0, or -1 with the reason in why. */
int lf_a64_decode(uint32_t insn, struct lf_a64_insn *in, char *why, size_t cap);

/* As lf_x86_relocate, for AArch64 (the trampoline starts with bti c). */
int lf_a64_relocate(struct lf_reloc *r, char *why, size_t cap);

/* A jump from `from` to `to` (>= 16 bytes of out): b (4 bytes) within +-128 MB, else
** ldr x16, #8; br x16; .quad to (16 bytes). Returns its length. */
size_t lf_a64_jump(unsigned char *out, uint64_t from, uint64_t to);

/* The absolute form of that jump alone (16 bytes). */
size_t lf_a64_jump_abs(unsigned char *out, uint64_t to);

/* 4 when code starts with bti c / bti jc (a landing pad that stays at the entry), else 0. */
size_t lf_a64_landing_pad(const unsigned char *code, size_t avail);

/* 1 when code starts with paciasp or pacibsp: also a landing pad, but one that cannot stay at
** the entry (it would sign the return address into the hook); patch.c replaces it by bti c. */
int lf_a64_pac_entry(const unsigned char *code, size_t avail);

/* Write bti c at out; returns 4. */
size_t lf_a64_landing(unsigned char *out);

/* Scan the whole function [code, code + size) for a branch into (start, start + len): a
** branch there would land in the middle of the entry jump. Returns 0, or -1 with the reason. */
int lf_a64_check_body(const unsigned char *code, size_t size, uint64_t fn, size_t start, size_t len,
                      char *why, size_t cap);

#endif
