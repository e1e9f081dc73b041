/*
** AArch64: which instructions depend on their own address, and the relocation of a function's
** first instructions to a trampoline.
**
** Fixed-width instructions make "fully decoded" a matter of encoding groups: the PC-relative
** instructions are exactly ADR/ADRP, B/BL, B.cond, CBZ/CBNZ, TBZ/TBNZ and the literal loads; the
** data-processing, load/store (non-literal) and SIMD groups never read the PC. Of the branch and
** system group only hints (nop, bti, pac*), barriers, mrs, blr, ret and br are accepted; SVE,
** reserved and unallocated encodings, and exception/system instructions are refused.
*/
#include <string.h>

#include "insn_a64.h"

#define A64_NOP     0xd503201fu
#define A64_BTI_C   0xd503245fu
#define A64_LDR_X16_8 0x58000050u   /* ldr x16, #8 */
#define A64_BR_X16  0xd61f0200u
#define A64_BLR_X16 0xd63f0200u

static int64_t sext(uint64_t v, unsigned bits)
{
    uint64_t m = 1ull << (bits - 1);
    v &= (1ull << bits) - 1;
    return (int64_t)((v ^ m) - m);
}

static int fits(int64_t v, unsigned bits) { return v >= -(1ll << (bits - 1)) && v < (1ll << (bits - 1)); }

static uint32_t get32(const unsigned char *p) { uint32_t w; memcpy(&w, p, 4); return w; }
static void put32(unsigned char *p, uint32_t w) { memcpy(p, &w, 4); }
static void put64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }

int lf_a64_decode(uint32_t w, struct lf_a64_insn *in, char *why, size_t cap)
{
    memset(in, 0, sizeof *in);
    in->reg = w & 31;
    unsigned op0 = (w >> 25) & 15;

    if ((w & 0x1f000000u) == 0x10000000u) {                  /* ADR / ADRP */
        int64_t imm = sext(((uint64_t)((w >> 5) & 0x7ffff) << 2) | ((w >> 29) & 3), 21);
        in->kind = (w >> 31) ? LF_A64_ADRP : LF_A64_ADR;
        in->rel = in->kind == LF_A64_ADRP ? imm * 4096 : imm;
    } else if ((w & 0x7c000000u) == 0x14000000u) {           /* B / BL */
        in->kind = (w >> 31) ? LF_A64_BL : LF_A64_B;
        in->rel = sext(w, 26) * 4;
    } else if ((w & 0xff000010u) == 0x54000000u) {           /* B.cond */
        in->kind = LF_A64_BCOND;
        in->rel = sext(w >> 5, 19) * 4;
    } else if ((w & 0x7e000000u) == 0x34000000u) {           /* CBZ / CBNZ */
        in->kind = LF_A64_CBZ;
        in->rel = sext(w >> 5, 19) * 4;
    } else if ((w & 0x7e000000u) == 0x36000000u) {           /* TBZ / TBNZ */
        in->kind = LF_A64_TBZ;
        in->rel = sext(w >> 5, 14) * 4;
    } else if ((w & 0x3b000000u) == 0x18000000u) {           /* LDR / LDRSW / PRFM literal */
        if (w & (1u << 26)) {
            lf_insn_why(why, cap, "unknown instruction %08x (SIMD literal load)", w);
            return -1;
        }
        in->kind = LF_A64_LDRLIT;
        in->rel = sext(w >> 5, 19) * 4;
    } else if ((w & 0xfffffc1fu) == 0xd65f0000u || (w & 0xfffffc1fu) == 0xd61f0000u ||
               w == 0xd65f0bffu || w == 0xd65f0fffu) {        /* RET, BR, RETAA, RETAB */
        in->kind = LF_A64_STOP;
    } else if ((w & 0xfffffc1fu) == 0xd63f0000u ||            /* BLR */
               (w & 0xfffff01fu) == 0xd503201fu ||            /* hints: nop, bti, pac*, aut* */
               (w & 0xfffff01fu) == 0xd503301fu ||            /* clrex, dsb, dmb, isb */
               (w & 0xfff00000u) == 0xd5300000u) {            /* MRS */
        in->kind = LF_A64_PLAIN;
    } else if (op0 == 8 || op0 == 9 ||                        /* data processing, immediate */
               (op0 & 5) == 4 ||                              /* loads and stores */
               (op0 & 7) == 5 ||                              /* data processing, register */
               (op0 & 7) == 7) {                              /* SIMD and floating point */
        in->kind = LF_A64_PLAIN;
    } else {
        lf_insn_why(why, cap, "unknown instruction %08x", w);
        return -1;
    }
    return 0;
}

size_t lf_a64_landing_pad(const unsigned char *code, size_t avail)
{
    if (avail < 4) return 0;
    uint32_t w = get32(code);
    return w == A64_BTI_C || w == 0xd50324dfu /* bti jc */ ? 4 : 0;
}

int lf_a64_pac_entry(const unsigned char *code, size_t avail)
{
    if (avail < 4) return 0;
    uint32_t w = get32(code);
    return w == 0xd503233fu || w == 0xd503237fu;   /* paciasp, pacibsp */
}

size_t lf_a64_landing(unsigned char *out)
{
    put32(out, A64_BTI_C);
    return 4;
}

/* ldr x16, #8; br x16 (or blr); .quad to: any distance, clobbers x16 (IP0). */
size_t lf_a64_jump_abs(unsigned char *out, uint64_t to)
{
    put32(out, A64_LDR_X16_8);
    put32(out + 4, A64_BR_X16);
    put64(out + 8, to);
    return 16;
}

size_t lf_a64_jump(unsigned char *out, uint64_t from, uint64_t to)
{
    int64_t d = (int64_t)(to - from);
    if (!fits(d / 4, 26) || (d & 3)) return lf_a64_jump_abs(out, to);
    put32(out, 0x14000000u | ((uint32_t)(d / 4) & 0x3ffffff));
    return 4;
}

/* Does the instruction name x16 in any register field? Then the far forms may not use it. */
static int names_x16(uint32_t w)
{
    return (w & 31) == 16 || ((w >> 5) & 31) == 16 || ((w >> 10) & 31) == 16 || ((w >> 16) & 31) == 16;
}

/* A conditional branch with its offset field replaced (or -1 if out of its range). */
static int64_t with_offset(uint32_t w, enum lf_a64_kind k, int64_t d)
{
    unsigned bits = k == LF_A64_TBZ ? 14 : 19;
    uint32_t mask = ((1u << bits) - 1) << 5;
    if ((d & 3) || !fits(d / 4, bits)) return -1;
    return (w & ~mask) | (((uint32_t)(d / 4) << 5) & mask);
}

/* The same conditional branch with the opposite condition. */
static uint32_t inverted(uint32_t w, enum lf_a64_kind k)
{
    return k == LF_A64_BCOND ? w ^ 1u : w ^ (1u << 24);
}

#define A64_MAX_COPIED 8
#define A64_MAX_EXPANDED 24

/*
** Relocation rules (each form reaches the same target from the trampoline):
**   ADR xd          adr; else adrp + add; else ldr xd, #8; b #12; .quad target
**   ADRP xd         adrp; else ldr xd, #8; b #12; .quad page
**   B / BL          b / bl; else ldr x16, #8; br x16 / ldr x16, #12; blr x16; b #12; .quad
**   B.cond/CB/TB    same with a new offset; else the inverse condition over b (or the far jump)
**   LDR literal     ldr with a new offset; else ldr xt, #8; b #12; .quad addr; ldr xt, [xt]
**   PRFM literal    nop
** The far forms that use x16 are refused when a copied instruction names x16: the trampoline must
** not clobber a value the function keeps there. x16 is free at the entry (AAPCS64: IP0).
*/
int lf_a64_relocate(struct lf_reloc *r, char *why, size_t cap)
{
    struct lf_a64_insn ins[A64_MAX_COPIED];
    uint32_t word[A64_MAX_COPIED];
    size_t off = 0, n = 0, o, k;
    uint64_t fn_off = r->src - r->fn_start;
    int x16 = 0;
    char sub[96];

    while (off < r->need) {
        if (n == A64_MAX_COPIED || off + 4 > r->avail) {
            lf_insn_why(why, cap, "too short: %zu bytes, the jump needs %zu",
                        (size_t)fn_off + r->avail, (size_t)fn_off + r->need);
            return -1;
        }
        word[n] = get32(r->code + off);
        if (lf_a64_decode(word[n], &ins[n], sub, sizeof sub) < 0) {
            lf_insn_why(why, cap, "%s at +%zu", sub, (size_t)fn_off + off);
            return -1;
        }
        if ((ins[n].kind == LF_A64_STOP || ins[n].kind == LF_A64_B) && off + 4 < r->need) {
            lf_insn_why(why, cap, "too short: control leaves at +%zu, the jump needs %zu bytes",
                        (size_t)fn_off + off, (size_t)fn_off + r->need);
            return -1;
        }
        x16 |= names_x16(word[n]);
        off += 4;
        n++;
    }
    if (n == 0) { /* the last instruction is read below */
        lf_insn_why(why, cap, "nothing to relocate: the jump needs 0 bytes");
        return -1;
    }
    r->covered = off;

    for (k = 0; k < n; k++) {
        enum lf_a64_kind kd = ins[k].kind;
        if (kd == LF_A64_PLAIN || kd == LF_A64_STOP || kd == LF_A64_ADRP) continue;
        uint64_t target = r->src + 4 * k + (uint64_t)ins[k].rel;
        if (target >= r->fn_start && target < r->src + r->covered) {
            lf_insn_why(why, cap, "branch into patched bytes at +%zu (to +%zu)",
                        (size_t)fn_off + 4 * k, (size_t)(target - r->fn_start));
            return -1;
        }
    }

    if (r->out_cap < 4 + n * A64_MAX_EXPANDED + 16) {
        lf_insn_why(why, cap, "trampoline buffer too small");
        return -1;
    }
    put32(r->out, A64_BTI_C);   /* the hook calls the trampoline with blr */
    o = 4;
    for (k = 0; k < n; k++) {
        uint32_t w = word[k];
        enum lf_a64_kind kd = ins[k].kind;
        uint64_t pc = r->src + 4 * k, here = r->dst + o;
        uint64_t target = kd == LF_A64_ADRP ? (pc & ~0xfffull) + (uint64_t)ins[k].rel
                                            : pc + (uint64_t)ins[k].rel;
        int64_t d = (int64_t)(target - here);
        int64_t pages = (int64_t)((target >> 12) - (here >> 12));
        unsigned rd = ins[k].reg;
        unsigned char *out = r->out + o;
        int far = 0;

        switch (kd) {
        case LF_A64_PLAIN:
        case LF_A64_STOP:
            put32(out, w);
            o += 4;
            break;
        case LF_A64_ADR:
            if (fits(d, 21)) {
                put32(out, (w & 0x9f00001fu) | ((uint32_t)(d & 3) << 29) |
                               ((uint32_t)((d >> 2) & 0x7ffff) << 5));
                o += 4;
                break;
            }
            /* else as ADRP of the page, plus the low bits */
            __attribute__((fallthrough));
        case LF_A64_ADRP:
            if (fits(pages, 21)) {
                put32(out, 0x90000000u | rd | ((uint32_t)(pages & 3) << 29) |
                               ((uint32_t)((pages >> 2) & 0x7ffff) << 5));
                o += 4;
                if (kd == LF_A64_ADR) {               /* add xd, xd, #lo12 */
                    put32(out + 4, 0x91000000u | ((uint32_t)(target & 0xfff) << 10) | rd << 5 | rd);
                    o += 4;
                }
                break;
            }
            put32(out, 0x58000040u | rd);             /* ldr xd, #8 */
            put32(out + 4, 0x14000003u);              /* b #12 */
            put64(out + 8, target);
            o += 16;
            break;
        case LF_A64_B:
        case LF_A64_BL:
            if (!(d & 3) && fits(d / 4, 26)) {
                put32(out, (w & 0xfc000000u) | ((uint32_t)(d / 4) & 0x3ffffff));
                o += 4;
            } else if (kd == LF_A64_B) {
                far = 1;
                o += lf_a64_jump_abs(out, target);
            } else {
                far = 1;
                put32(out, 0x58000070u);              /* ldr x16, #12 */
                put32(out + 4, A64_BLR_X16);
                put32(out + 8, 0x14000003u);          /* b #12 */
                put64(out + 12, target);
                o += 20;
            }
            break;
        case LF_A64_BCOND:
        case LF_A64_CBZ:
        case LF_A64_TBZ: {
            int64_t near = with_offset(w, kd, d);
            if (kd == LF_A64_BCOND && (w & 15) >= 14) {   /* b.al / b.nv: always taken */
                o += lf_a64_jump(out, here, target);
                far = o - (size_t)(out - r->out) == 16;
            } else if (near >= 0) {
                put32(out, (uint32_t)near);
                o += 4;
            } else {
                int64_t d2 = (int64_t)(target - (here + 4));
                if (!(d2 & 3) && fits(d2 / 4, 26)) {     /* !cond over b target */
                    put32(out, (uint32_t)with_offset(inverted(w, kd), kd, 8));
                    put32(out + 4, 0x14000000u | ((uint32_t)(d2 / 4) & 0x3ffffff));
                    o += 8;
                } else {                                 /* !cond over the far jump */
                    far = 1;
                    put32(out, (uint32_t)with_offset(inverted(w, kd), kd, 20));
                    o += 4 + lf_a64_jump_abs(out + 4, target);
                }
            }
            break;
        }
        case LF_A64_LDRLIT: {
            unsigned opc = w >> 30;
            if (opc == 3) {                               /* prfm: a hint, dropped */
                put32(out, A64_NOP);
                o += 4;
                break;
            }
            int64_t near = with_offset(w, LF_A64_BCOND, d);
            if (near >= 0) {
                put32(out, (uint32_t)near);
                o += 4;
                break;
            }
            put32(out, 0x58000040u | rd);             /* ldr xt, #8 */
            put32(out + 4, 0x14000003u);              /* b #12 */
            put64(out + 8, target);
            /* ldr wt, [xt] / ldr xt, [xt] / ldrsw xt, [xt] */
            static const uint32_t load[3] = {0xb9400000u, 0xf9400000u, 0xb9800000u};
            put32(out + 16, load[opc] | rd << 5 | rd);
            o += 20;
            break;
        }
        }
        if (far && x16) {
            lf_insn_why(why, cap, "trampoline out of reach and x16 in use in the first %zu bytes",
                        r->covered);
            return -1;
        }
    }
    if (!(ins[n - 1].kind == LF_A64_STOP || ins[n - 1].kind == LF_A64_B)) {
        size_t j = lf_a64_jump(r->out + o, r->dst + o, r->src + r->covered);
        if (j == 16 && x16) {
            lf_insn_why(why, cap, "trampoline out of reach and x16 in use in the first %zu bytes",
                        r->covered);
            return -1;
        }
        o += j;
    }
    r->out_len = o;
    return 0;
}

int lf_a64_check_body(const unsigned char *code, size_t size, uint64_t fn, size_t start, size_t len,
                      char *why, size_t cap)
{
    size_t off;
    for (off = 0; off + 4 <= size; off += 4) {
        struct lf_a64_insn in;
        if (off >= start && off < start + len) continue;          /* relocated, checked there */
        if (lf_a64_decode(get32(code + off), &in, NULL, 0) < 0) continue;  /* data, or not a branch */
        if (in.kind == LF_A64_PLAIN || in.kind == LF_A64_STOP || in.kind == LF_A64_ADRP ||
            in.kind == LF_A64_LDRLIT || in.kind == LF_A64_BL)
            continue;
        uint64_t target = fn + off + (uint64_t)in.rel;
        if (target >= fn && target < fn + start + len) {
            lf_insn_why(why, cap, "branch into patched bytes at +%zu (to +%zu)", off,
                        (size_t)(target - fn));
            return -1;
        }
    }
    return 0;
}
