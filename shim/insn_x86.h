/*
** x86-64 instruction decoding, as far as patching a function entry needs it: the length of each
** instruction, and where it depends on its own address (rip-relative operands, relative branches).
** Only the instructions compilers put in prologues are known; anything else is refused.
*/
#ifndef LOCKFIX_INSN_X86_H
#define LOCKFIX_INSN_X86_H

#include "insn.h"

enum lf_x86_kind {
    LF_X86_PLAIN,   /* position-independent, copied as is */
    LF_X86_RIPREL,  /* ModRM operand [rip + disp32] at disp_off */
    LF_X86_JMP,     /* jmp rel8 / rel32 */
    LF_X86_CALL,    /* call rel32 */
    LF_X86_JCC,     /* jcc rel8 / rel32, condition in cond */
    LF_X86_STOP,    /* control does not fall through (ret, indirect jmp, ud2 excluded) */
};

struct lf_x86_insn {
    unsigned len;       /* total length in bytes */
    enum lf_x86_kind kind;
    unsigned disp_off;  /* offset of the rip displacement or branch offset */
    unsigned disp_size; /* 1 or 4 */
    unsigned cond;      /* jcc condition code 0..15 */
    int64_t rel;        /* the displacement: the operand is at (address + len + rel) */
    int endbr;          /* endbr64 */
};

/* Decode one instruction of at most avail bytes. Returns 0, or -1 with the reason in why. */
int lf_x86_decode(const unsigned char *code, size_t avail, struct lf_x86_insn *in,
                  char *why, size_t cap);

/* Copy whole instructions until r->need bytes are covered, rewritten for r->dst, and append the
** jump back. Returns 0, or -1 with the reason. */
int lf_x86_relocate(struct lf_reloc *r, char *why, size_t cap);

/* Write a jump from address `from` to `to` into out (>= 14 bytes): jmp rel32 (5 bytes) when in
** reach, else jmp [rip+0]; .quad to (14 bytes). Returns its length. */
size_t lf_x86_jump(unsigned char *out, uint64_t from, uint64_t to);

/* The absolute form of that jump alone (14 bytes). */
size_t lf_x86_jump_abs(unsigned char *out, uint64_t to);

/* 4 when code starts with endbr64 (a landing pad that stays at the entry), else 0. */
size_t lf_x86_landing_pad(const unsigned char *code, size_t avail);

/* Scan the whole function [code, code + size) for a branch into [fn, fn + start + len), the bytes
** the jump replaces (a call to fn itself is allowed). Returns 0, or -1 with the reason. */
int lf_x86_check_body(const unsigned char *code, size_t size, uint64_t fn, size_t start, size_t len,
                      char *why, size_t cap);

#endif
