/*
** x86-64: the length of an instruction, its rip-relative operand or branch, and the relocation of
** a function's first instructions to a trampoline.
**
** The decoder knows the one- and two-byte opcodes compilers emit in prologues and short function
** heads (push/pop, mov, lea, ALU, test/cmp, shifts, imul, movzx/movsx, cmov/setcc, SSE moves and
** integer ops, nops, endbr64, relative branches) and refuses the rest: VEX/EVEX, three-byte maps,
** address-size and segment-register tricks, system instructions. Refusing costs a SQLite copy
** that stays unpatched (and says so); guessing a length wrong would cost the host program.
*/
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "insn_x86.h"

void lf_insn_why(char *why, size_t cap, const char *fmt, ...)
{
    if (!why || !cap) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
}

static int fits32(int64_t v) { return v == (int64_t)(int32_t)v; }

/* An 8-bit displacement byte, sign-extended (written out: no conversion through signed char). */
static int64_t rel8(unsigned char b) { return (int64_t)b - (b & 0x80 ? 256 : 0); }

static void put32(unsigned char *p, int32_t v) { memcpy(p, &v, 4); }
static void put64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }

/* Length of ModRM (+ SIB + displacement) at code[i]; notes a rip-relative operand in `in`. */
static int modrm(const unsigned char *c, size_t i, size_t avail, struct lf_x86_insn *in,
                 unsigned *reg, unsigned *mod)
{
    if (i >= avail) return -1;
    unsigned m = c[i], rm = m & 7, n = 1;
    *mod = m >> 6;
    *reg = (m >> 3) & 7;
    if (*mod != 3 && rm == 4) {
        if (i + 1 >= avail) return -1;
        if (*mod == 0 && (c[i + 1] & 7) == 5) n += 4;   /* [index*s + disp32], no base */
        n++;
    }
    if (*mod == 0 && rm == 5) {
        in->kind = LF_X86_RIPREL;
        in->disp_off = (unsigned)i + n;
        in->disp_size = 4;
        n += 4;
    } else if (*mod == 1) {
        n += 1;
    } else if (*mod == 2) {
        n += 4;
    }
    return (int)n;
}

int lf_x86_decode(const unsigned char *c, size_t avail, struct lf_x86_insn *in, char *why, size_t cap)
{
    memset(in, 0, sizeof *in);
    size_t i = 0;
    unsigned prefixes = 0, rep = 0, rexw = 0;
    int opsize16 = 0;

    for (;; i++) {
        if (i >= avail) goto truncated;
        unsigned b = c[i];
        if (b == 0x66) opsize16 = 1;
        else if (b == 0xf2 || b == 0xf3) rep = b;
        else if (b == 0x2e || b == 0x3e || b == 0x26 || b == 0x36 || b == 0x64 || b == 0x65 ||
                 b == 0xf0) ;
        else break;
        if (++prefixes > 4) { i++; goto unknown; }
    }
    if (c[i] == 0x67) { i++; goto unknown; }        /* address-size: rip becomes eip */
    if ((c[i] & 0xf0) == 0x40) {
        rexw = c[i] & 8;
        if (++i >= avail) goto truncated;
    }
    unsigned op = c[i++], reg = 0, mod = 0;
    unsigned immz = opsize16 ? 2 : 4, imm = 0;
    int m = 0, has_modrm = 0;

#define MODRM()                                            \
    do {                                                   \
        has_modrm = 1;                                     \
        m = modrm(c, i, avail, in, &reg, &mod);            \
        if (m < 0) goto truncated;                         \
        i += (size_t)m;                                    \
    } while (0)

    if (op == 0x0f) {
        if (i >= avail) goto truncated;
        op = c[i++];
        if (op == 0x1e && rep == 0xf3 && i < avail && c[i] == 0xfa) {
            in->endbr = 1;
            i++;
        } else if ((op >= 0x10 && op <= 0x17) || op == 0x18 || op == 0x0d || op == 0x1e ||
                   op == 0x1f || (op >= 0x28 && op <= 0x2f) || (op >= 0x40 && op <= 0x6f) ||
                   (op >= 0x74 && op <= 0x76) || (op >= 0x7e && op <= 0x7f) ||
                   (op >= 0x90 && op <= 0x9f) || op == 0xa3 || op == 0xa5 || op == 0xab ||
                   op == 0xad || op == 0xaf || op == 0xb0 || op == 0xb1 || op == 0xb3 ||
                   (op >= 0xb6 && op <= 0xb8) || (op >= 0xbb && op <= 0xbf) || op == 0xc0 ||
                   op == 0xc1 || (op >= 0xd1 && op <= 0xfe)) {
            MODRM();
        } else if ((op >= 0x70 && op <= 0x73) || op == 0xa4 || op == 0xac || op == 0xba ||
                   op == 0xc2 || (op >= 0xc4 && op <= 0xc6)) {
            MODRM();
            imm = 1;
        } else if (op >= 0xc8 && op <= 0xcf) {
            ;                                        /* bswap */
        } else if (op >= 0x80 && op <= 0x8f) {
            if (prefixes || opsize16) goto unknown;
            in->kind = LF_X86_JCC;
            in->cond = op & 15;
            in->disp_off = (unsigned)i;
            in->disp_size = 4;
            i += 4;
        } else {
            goto unknown;
        }
    } else if (op < 0x40 && (op & 7) < 6) {
        if ((op & 7) < 4) MODRM();
        else imm = (op & 7) == 4 ? 1 : immz;
    } else if (op >= 0x50 && op <= 0x5f) {
        ;
    } else if (op == 0x63 || (op >= 0x84 && op <= 0x8b) || (op >= 0xd0 && op <= 0xd3)) {
        MODRM();
    } else if (op == 0x8d) {
        MODRM();
        if (mod == 3) goto unknown;
    } else if (op == 0x8f || op == 0xfe) {
        MODRM();
        if (reg > (op == 0xfe ? 1u : 0u)) goto unknown;
    } else if (op == 0x68 || op == 0xa9) {
        imm = immz;
    } else if (op == 0x6a || op == 0xa8 || (op >= 0xb0 && op <= 0xb7)) {
        imm = 1;
    } else if (op >= 0xb8 && op <= 0xbf) {
        imm = rexw ? 8 : immz;
    } else if (op == 0x69 || op == 0x81) {
        MODRM();
        imm = immz;
    } else if (op == 0x6b || op == 0x80 || op == 0x83 || op == 0xc0 || op == 0xc1) {
        MODRM();
        imm = 1;
    } else if (op == 0xc6 || op == 0xc7) {
        MODRM();
        if (reg != 0) goto unknown;
        imm = op == 0xc6 ? 1 : immz;
    } else if (op == 0xf6 || op == 0xf7) {
        MODRM();
        if (reg < 2) imm = op == 0xf6 ? 1 : immz;
    } else if (op == 0xff) {
        MODRM();
        if (reg == 3 || reg == 5 || reg == 7) goto unknown;
        if (reg == 4) in->kind = in->kind == LF_X86_RIPREL ? LF_X86_RIPREL : LF_X86_STOP;
    } else if ((op >= 0x90 && op <= 0x99) || op == 0xc9) {
        ;                                            /* nop/xchg/pause, cdqe/cqo, leave */
    } else if (op == 0xc3) {
        in->kind = LF_X86_STOP;
    } else if (op == 0xc2) {
        in->kind = LF_X86_STOP;
        imm = 2;
    } else if ((op >= 0x70 && op <= 0x7f) || op == 0xeb || op == 0xe8 || op == 0xe9) {
        if (prefixes || opsize16) goto unknown;
        in->kind = op == 0xe8 ? LF_X86_CALL : op == 0xe9 || op == 0xeb ? LF_X86_JMP : LF_X86_JCC;
        in->cond = op & 15;
        in->disp_off = (unsigned)i;
        in->disp_size = op == 0xe8 || op == 0xe9 ? 4 : 1;
        i += in->disp_size;
    } else {
        goto unknown;
    }
#undef MODRM
    (void)has_modrm;
    i += imm;
    if (i > avail) goto truncated;
    in->len = (unsigned)i;
    if (in->kind == LF_X86_RIPREL) {
        int32_t d;
        memcpy(&d, c + in->disp_off, 4);
        in->rel = d;
        /* the displacement is relative to the end of the instruction, immediate included */
    } else if (in->disp_size == 1) {
        in->rel = rel8(c[in->disp_off]);
    } else if (in->disp_size == 4) {
        int32_t d;
        memcpy(&d, c + in->disp_off, 4);
        in->rel = d;
    }
    return 0;

truncated:
    lf_insn_why(why, cap, "instruction runs past the function's end");
    return -1;
unknown:
    {   /* name the bytes up to the one not understood (at most 4) */
        char hex[16] = "";
        size_t n = i < 4 ? i : 4, k, w = 0;
        for (k = 0; k < n && k < avail; k++)
            w += (size_t)snprintf(hex + w, sizeof hex - w, k ? " %02x" : "%02x", c[k]);
        lf_insn_why(why, cap, "unknown instruction %s", hex);
    }
    return -1;
}

size_t lf_x86_landing_pad(const unsigned char *code, size_t avail)
{
    static const unsigned char endbr64[4] = {0xf3, 0x0f, 0x1e, 0xfa};
    return avail >= 4 && memcmp(code, endbr64, 4) == 0 ? 4 : 0;
}

/* jmp [rip+0]; .quad to: 14 bytes, any distance, no register touched. */
size_t lf_x86_jump_abs(unsigned char *out, uint64_t to)
{
    static const unsigned char jmp_rip[6] = {0xff, 0x25, 0, 0, 0, 0};
    memcpy(out, jmp_rip, 6);
    put64(out + 6, to);
    return 14;
}

size_t lf_x86_jump(unsigned char *out, uint64_t from, uint64_t to)
{
    int64_t d = (int64_t)(to - (from + 5));
    if (!fits32(d)) return lf_x86_jump_abs(out, to);
    out[0] = 0xe9;
    put32(out + 1, (int32_t)d);
    return 5;
}

#define X86_MAX_COPIED 16      /* instructions: 14 bytes of one-byte pushes is the worst case */
#define X86_MAX_EXPANDED 16    /* the longest rewrite of one instruction (far call / jcc) */

/*
** Relocation rules (each emitted form reaches the same target from the trampoline):
**   rip-relative ModRM   displacement recomputed; refused if out of +-2 GB (the trampoline is
**                        allocated near the function, so this only fails when that failed)
**   jmp rel8/rel32       jmp rel32, or jmp [rip+0]; .quad target
**   call rel32           call rel32, or call [rip+2]; jmp +8; .quad target
**   jcc rel8/rel32       jcc rel32, or j!cc +14; jmp [rip+0]; .quad target
** The trampoline starts with endbr64 (the hook calls it indirectly) and ends with the jump back.
*/
int lf_x86_relocate(struct lf_reloc *r, char *why, size_t cap)
{
    struct lf_x86_insn ins[X86_MAX_COPIED];
    size_t at[X86_MAX_COPIED], off = 0, n = 0, o = 0, k;
    uint64_t fn_off = r->src - r->fn_start;
    char sub[96];

    while (off < r->need) {
        if (n == X86_MAX_COPIED) {
            lf_insn_why(why, cap, "too many instructions in the first %zu bytes", r->need);
            return -1;
        }
        if (off >= r->avail) {
            lf_insn_why(why, cap, "too short: %zu bytes, the jump needs %zu",
                        (size_t)fn_off + r->avail, (size_t)fn_off + r->need);
            return -1;
        }
        if (lf_x86_decode(r->code + off, r->avail - off, &ins[n], sub, sizeof sub) < 0) {
            lf_insn_why(why, cap, "%s at +%zu", sub, (size_t)fn_off + off);
            return -1;
        }
        if ((ins[n].kind == LF_X86_STOP || ins[n].kind == LF_X86_JMP) &&
            off + ins[n].len < r->need) {
            lf_insn_why(why, cap, "too short: control leaves at +%zu, the jump needs %zu bytes",
                        (size_t)fn_off + off, (size_t)fn_off + r->need);
            return -1;
        }
        at[n] = off;
        off += ins[n].len;
        n++;
    }
    if (n == 0) { /* the last instruction is read below */
        lf_insn_why(why, cap, "nothing to relocate: the jump needs 0 bytes");
        return -1;
    }
    r->covered = off;

    /* A branch or data reference into the bytes the jump replaces would reach the jump. */
    for (k = 0; k < n; k++) {
        if (ins[k].kind == LF_X86_PLAIN || ins[k].kind == LF_X86_STOP) continue;
        uint64_t target = r->src + at[k] + ins[k].len + (uint64_t)ins[k].rel;
        if (target >= r->fn_start && target < r->src + r->covered) {
            lf_insn_why(why, cap, "branch into patched bytes at +%zu (to +%zu)",
                        (size_t)fn_off + at[k], (size_t)(target - r->fn_start));
            return -1;
        }
    }

    if (r->out_cap < 4 + n * X86_MAX_EXPANDED + 14) {
        lf_insn_why(why, cap, "trampoline buffer too small");
        return -1;
    }
    static const unsigned char endbr64[4] = {0xf3, 0x0f, 0x1e, 0xfa};
    memcpy(r->out, endbr64, 4);
    o = 4;
    for (k = 0; k < n; k++) {
        const struct lf_x86_insn *in = &ins[k];
        const unsigned char *src = r->code + at[k];
        uint64_t here = r->dst + o;
        uint64_t target = r->src + at[k] + in->len + (uint64_t)in->rel;
        unsigned char *out = r->out + o;
        int64_t d;

        switch (in->kind) {
        case LF_X86_PLAIN:
        case LF_X86_STOP:
            memcpy(out, src, in->len);
            o += in->len;
            break;
        case LF_X86_RIPREL:
            d = (int64_t)(target - (here + in->len));
            if (!fits32(d)) {
                lf_insn_why(why, cap, "rip-relative operand at +%zu out of reach of the trampoline",
                            (size_t)fn_off + at[k]);
                return -1;
            }
            memcpy(out, src, in->len);
            put32(out + in->disp_off, (int32_t)d);
            o += in->len;
            break;
        case LF_X86_JMP:
            o += lf_x86_jump(out, here, target);
            break;
        case LF_X86_CALL:
            d = (int64_t)(target - (here + 5));
            if (fits32(d)) {
                out[0] = 0xe8;
                put32(out + 1, (int32_t)d);
                o += 5;
            } else {
                static const unsigned char call_abs[8] = {0xff, 0x15, 2, 0, 0, 0, 0xeb, 8};
                memcpy(out, call_abs, 8);
                put64(out + 8, target);
                o += 16;
            }
            break;
        case LF_X86_JCC:
            d = (int64_t)(target - (here + 6));
            if (fits32(d)) {
                out[0] = 0x0f;
                out[1] = (unsigned char)(0x80 | in->cond);
                put32(out + 2, (int32_t)d);
                o += 6;
            } else {
                out[0] = (unsigned char)(0x70 | (in->cond ^ 1));   /* skip the absolute jump */
                out[1] = 14;
                o += 2 + lf_x86_jump_abs(out + 2, target);
            }
            break;
        }
    }
    if (!(ins[n - 1].kind == LF_X86_STOP || ins[n - 1].kind == LF_X86_JMP))
        o += lf_x86_jump(r->out + o, r->dst + o, r->src + r->covered);
    r->out_len = o;
    return 0;
}

/* Is `target` in the bytes the entry jump replaces? A call to the entry itself is a call, and
** reaching the hook then is right; any other branch there would land in the jump. */
static int into_patch(uint64_t target, int is_call, uint64_t fn, size_t start, size_t len)
{
    if (is_call && target == fn) return 0;
    return target >= fn && target < fn + start + len;
}

int lf_x86_check_body(const unsigned char *code, size_t size, uint64_t fn, size_t start, size_t len,
                      char *why, size_t cap)
{
    struct lf_x86_insn in;
    size_t off = 0;

    /* Exact: decode the function from its entry to its end. */
    while (off < size && lf_x86_decode(code + off, size - off, &in, NULL, 0) == 0) {
        if (in.kind == LF_X86_JMP || in.kind == LF_X86_CALL || in.kind == LF_X86_JCC) {
            uint64_t target = fn + off + in.len + (uint64_t)in.rel;
            if (into_patch(target, in.kind == LF_X86_CALL, fn, start, len)) {
                lf_insn_why(why, cap, "branch into patched bytes at +%zu (to +%zu)", off,
                            (size_t)(target - fn));
                return -1;
            }
        }
        off += in.len;
    }
    if (off >= size) return 0;
    size_t stop = off;

    /* The decoder stopped at an instruction it does not know: then every byte that could start
    ** a relative branch (jcc/jmp rel8, e8/e9 rel32, 0f 8x rel32) is taken for one. Sound, since
    ** every real branch starts at some byte; rarely a false refusal (a refusal is safe). */
    for (off = start + len; off + 2 <= size; off++) {
        unsigned b = code[off];
        int64_t rel;
        size_t end;
        int call = 0;
        if ((b >= 0x70 && b <= 0x7f) || b == 0xeb) {
            rel = rel8(code[off + 1]);
            end = off + 2;
        } else if ((b == 0xe8 || b == 0xe9) && off + 5 <= size) {
            int32_t d;
            memcpy(&d, code + off + 1, 4);
            rel = d;
            end = off + 5;
            call = b == 0xe8;
        } else if (b == 0x0f && (code[off + 1] & 0xf0) == 0x80 && off + 6 <= size) {
            int32_t d;
            memcpy(&d, code + off + 2, 4);
            rel = d;
            end = off + 6;
        } else {
            continue;
        }
        uint64_t target = fn + end + (uint64_t)rel;
        if (into_patch(target, call, fn, start, len)) {
            lf_insn_why(why, cap, "possible branch into patched bytes at +%zu (to +%zu; "
                        "unknown instruction at +%zu)", off, (size_t)(target - fn), stop);
            return -1;
        }
    }
    return 0;
}
