/*
** The AArch64 decoder and relocator (shim/insn_a64.c): hand-made cases for each PC-relative form,
** then every sqlite3_* prologue of Debian's arm64 libsqlite3 and our own aarch64 builds (gcc
** -O0/-O2/-Os, with and without -mbranch-protection), checked against aarch64 objdump. Pure byte
** logic: it runs on any host.
*/
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "insn_a64.h"
#include "prologues.h"

static uint32_t rd32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static struct lf_a64_insn dec(uint32_t w)
{
    struct lf_a64_insn in;
    char why[96] = "";
    cr_assert_eq(lf_a64_decode(w, &in, why, sizeof why), 0, "%08x refused: %s", w, why);
    return in;
}

Test(insn_a64, classes)
{
    cr_expect_eq(dec(0xa9be7bfd).kind, LF_A64_PLAIN);            /* stp x29, x30, [sp, #-32]! */
    cr_expect_eq(dec(0x910003fd).kind, LF_A64_PLAIN);            /* mov x29, sp */
    cr_expect_eq(dec(0xd503233f).kind, LF_A64_PLAIN);            /* paciasp */
    cr_expect_eq(dec(0xd503245f).kind, LF_A64_PLAIN);            /* bti c */
    cr_expect_eq(dec(0xd53bd040).kind, LF_A64_PLAIN);            /* mrs x0, tpidr_el0 */
    cr_expect_eq(dec(0xd65f03c0).kind, LF_A64_STOP);             /* ret */
    struct lf_a64_insn in = dec(0xb4000160);                     /* cbz x0, +0x2c */
    cr_expect_eq(in.kind, LF_A64_CBZ);
    cr_expect_eq(in.rel, 0x2c);
    in = dec(0x54ffffa1);                                        /* b.ne -12 */
    cr_expect_eq(in.kind, LF_A64_BCOND);
    cr_expect_eq(in.rel, -12);
    in = dec(0x90000002);                                        /* adrp x2, +0 */
    cr_expect_eq(in.kind, LF_A64_ADRP);
    cr_expect_eq(in.reg, 2);
    in = dec(0xb0000513);                                        /* adrp x19, +0xa1 pages */
    cr_expect_eq(in.rel, 0xa1 * 4096);
    in = dec(0x17fffffe);                                        /* b -8 */
    cr_expect_eq(in.kind, LF_A64_B);
    cr_expect_eq(in.rel, -8);
    in = dec(0x94000010);                                        /* bl +64 */
    cr_expect_eq(in.kind, LF_A64_BL);
    in = dec(0x36080040);                                        /* tbz w0, #1, +8 */
    cr_expect_eq(in.kind, LF_A64_TBZ);
    cr_expect_eq(in.rel, 8);
    in = dec(0x58000041);                                        /* ldr x1, +8 */
    cr_expect_eq(in.kind, LF_A64_LDRLIT);
    cr_expect_eq(in.rel, 8);
    in = dec(0x10000080);                                        /* adr x0, +16 */
    cr_expect_eq(in.kind, LF_A64_ADR);
    cr_expect_eq(in.rel, 16);

    char why[96];
    cr_expect_eq(lf_a64_decode(0xd4000001, &in, why, sizeof why), -1);  /* svc #0 */
    cr_expect_str_eq(why, "unknown instruction d4000001");
    cr_expect_eq(lf_a64_decode(0x1c000040, &in, why, sizeof why), -1);  /* ldr s0, literal */
    cr_expect_eq(lf_a64_decode(0x00000000, &in, why, sizeof why), -1);  /* udf */
}

Test(insn_a64, landing_pads)
{
    const uint32_t bti[] = {0xd503245f}, paciasp[] = {0xd503233f}, stp[] = {0xa9be7bfd};
    cr_expect_eq(lf_a64_landing_pad((const unsigned char *)bti, 4), 4);      /* stays at the entry */
    cr_expect_eq(lf_a64_landing_pad((const unsigned char *)paciasp, 4), 0);  /* is relocated... */
    cr_expect_eq(lf_a64_pac_entry((const unsigned char *)paciasp, 4), 1);    /* ...bti c replaces it */
    cr_expect_eq(lf_a64_pac_entry((const unsigned char *)stp, 4), 0);
    unsigned char out[16];
    cr_expect_eq(lf_a64_jump(out, 0x1000, 0x1000 + (100u << 20)), 4);       /* b, within 128 MB */
    cr_expect_eq(rd32(out), 0x14000000u | (100u << 18));
    cr_expect_eq(lf_a64_jump(out, 0x1000, 0x1000 + (200u << 20)), 16);      /* ldr x16; br x16 */
    cr_expect_eq(rd32(out), 0x58000050u);
    cr_expect_eq(rd32(out + 4), 0xd61f0200u);
    cr_expect_eq(rd64(out + 8), 0x1000 + (200u << 20));
}

static int relocate(const uint32_t *code, size_t n, uint64_t src, uint64_t dst, size_t need,
                    unsigned char *out, struct lf_reloc *r, char *why)
{
    memset(r, 0, sizeof *r);
    r->code = (const unsigned char *)code;
    r->avail = n * 4;
    r->src = r->fn_start = src;
    r->need = need;
    r->out = out;
    r->out_cap = 240;
    r->dst = dst;
    return lf_a64_relocate(r, why, 96);
}

Test(insn_a64, relocate_nothing_is_refused)
{
    /* need 0: no instruction copied, so there is no last one to look at */
    const uint32_t code[] = {0xd503201f, 0xd65f03c0}; /* nop; ret */
    unsigned char out[240];
    struct lf_reloc r;
    char why[96];
    cr_assert_eq(relocate(code, 2, 0x400000, 0x400000 + (8u << 20), 0, out, &r, why), -1);
    cr_expect_str_eq(why, "nothing to relocate: the jump needs 0 bytes");
}

Test(insn_a64, relocate_near)
{
    /* cbz x0, +0x2c (f_reset at -O2) */
    const uint32_t code[] = {0xb4000160, 0xb9400401};
    unsigned char out[240];
    struct lf_reloc r;
    char why[96];
    uint64_t src = 0x400000, dst = src + (8u << 20);
    cr_assert_eq(relocate(code, 2, src, dst, 4, out, &r, why), 0, "%s", why);
    cr_expect_eq(rd32(out), 0xd503245f);                          /* bti c */
    /* out of cbz's +-1 MB: cbnz x0, +8; b target */
    cr_expect_eq(rd32(out + 4), 0xb5000040);
    cr_expect_eq(rd32(out + 8) >> 26, 0x05);
    cr_expect_eq(dst + 8 + (int64_t)((int32_t)(rd32(out + 8) << 6) >> 4), src + 0x2c);
    /* and back: b src + 4 */
    cr_expect_eq(dst + 12 + (int64_t)((int32_t)(rd32(out + 12) << 6) >> 4), src + 4);
    cr_expect_eq(r.out_len, 16);

    /* within +-1 MB the cbz keeps its form with a new offset */
    cr_assert_eq(relocate(code, 2, src, src + 0x1000, 4, out, &r, why), 0, "%s", why);
    cr_expect_eq(rd32(out + 4) & 0xff00001f, 0xb4000000);
    cr_expect_eq(src + 0x1000 + 4 + (int64_t)((int32_t)(rd32(out + 4) << 8) >> 13) * 4, src + 0x2c);
}

Test(insn_a64, relocate_adrp_and_literal)
{
    /* adrp x1, +2 pages; ldr x2, +0x100 */
    const uint32_t code[] = {0xd0000001, 0x58000802};
    unsigned char out[240];
    struct lf_reloc r;
    char why[96];
    uint64_t src = 0x400010, dst = 0x10000000000;                /* 1 TB away: absolute forms */
    cr_assert_eq(relocate(code, 2, src, dst, 8, out, &r, why), 0, "%s", why);
    cr_expect_eq(rd32(out + 4), 0x58000041);                      /* ldr x1, #8 */
    cr_expect_eq(rd32(out + 8), 0x14000003);                      /* b #12 */
    cr_expect_eq(rd64(out + 12), 0x402000);                       /* the page */
    cr_expect_eq(rd32(out + 20), 0x58000042);                     /* ldr x2, #8 */
    cr_expect_eq(rd64(out + 28), src + 4 + 0x100);                /* the literal's address */
    cr_expect_eq(rd32(out + 36), 0xf9400042);                     /* ldr x2, [x2] */
    cr_expect_eq(rd32(out + 40), 0x58000050);                     /* ldr x16, #8: far jump back */
    cr_expect_eq(rd64(out + 48), src + 8);
}

Test(insn_a64, relocate_refusals)
{
    unsigned char out[240];
    struct lf_reloc r;
    char why[96];
    const uint32_t ret_early[] = {0x0b010000, 0xd65f03c0};        /* add; ret: 8 bytes, need 16 */
    cr_expect_eq(relocate(ret_early, 2, 0x1000, 0x10000000000, 16, out, &r, why), -1);
    cr_expect(strncmp(why, "too short", 9) == 0, "%s", why);
    const uint32_t loop[] = {0xd2800000, 0x91000400, 0xb5ffffe0}; /* mov; add; cbnz x0, -4 */
    cr_expect_eq(relocate(loop, 3, 0x1000, 0x2000, 12, out, &r, why), -1);
    cr_expect_str_eq(why, "branch into patched bytes at +8 (to +4)");
    const uint32_t svc[] = {0xd503201f, 0xd4000001};
    cr_expect_eq(relocate(svc, 2, 0x1000, 0x2000, 8, out, &r, why), -1);
    cr_expect_str_eq(why, "unknown instruction d4000001 at +4");
    /* far forms need x16: refused when the copied code uses it */
    const uint32_t x16[] = {0xd2800010, 0xb4000160};              /* mov x16, #0; cbz x0, +0x2c */
    cr_expect_eq(relocate(x16, 2, 0x1000, 0x10000000000, 8, out, &r, why), -1);
    cr_expect(strstr(why, "x16 in use"), "%s", why);
    /* the body scan sees a loop back to the entry from outside the copied bytes */
    const uint32_t body[] = {0xd2800000, 0x91000400, 0xf100281f, 0x54ffffcb, 0xd65f03c0};
    cr_expect_eq(lf_a64_check_body((const unsigned char *)body, sizeof body, 0x1000, 0, 8, why, sizeof why), -1);
    cr_expect_str_eq(why, "branch into patched bytes at +12 (to +4)");
    cr_expect_eq(lf_a64_check_body((const unsigned char *)body, sizeof body, 0x1000, 0, 4, why, sizeof why), 0);
}

/* ---- real prologues ------------------------------------------------------------------------ */

struct tally {
    char file[128];
    int total, prepared;
    char first_refusal[300];
};
static struct tally tallies[32];
static int ntallies;

static struct tally *tally_for(const char *file)
{
    for (int i = 0; i < ntallies; i++)
        if (strcmp(tallies[i].file, file) == 0) return &tallies[i];
    cr_assert_lt(ntallies, 32);
    snprintf(tallies[ntallies].file, sizeof tallies[ntallies].file, "%s", file);
    return &tallies[ntallies++];
}

/* Every address the trampoline refers to: decoded branches/adr(p)/literals, and literal quads. */
static int reaches(const unsigned char *out, size_t len, uint64_t dst, uint64_t want)
{
    for (size_t off = 0; off + 4 <= len; off += 4) {
        struct lf_a64_insn in;
        if (off + 8 <= len && rd64(out + off) == want) return 1;
        if (lf_a64_decode(rd32(out + off), &in, NULL, 0) < 0) continue;
        uint64_t pc = dst + off;
        if (in.kind == LF_A64_ADRP && (pc & ~0xfffull) + (uint64_t)in.rel == (want & ~0xfffull)) return 1;
        if (in.kind != LF_A64_PLAIN && in.kind != LF_A64_STOP && pc + (uint64_t)in.rel == want) return 1;
    }
    return 0;
}

static void check_prologue(const char *file, const struct prologue *p, void *arg)
{
    (void)arg;
    struct tally *t = tally_for(file);
    const uint64_t fn = 0xaaaa00400000;
    size_t pad = lf_a64_landing_pad(p->code, p->len);
    t->total++;

    for (unsigned i = 0; i < p->n && 4 * i + 4 <= p->len; i++) {
        struct lf_a64_insn in;
        cr_expect_eq(p->ilen[i], 4u);
        if (lf_a64_decode(rd32(p->code + 4 * i), &in, NULL, 0) < 0) {
            cr_expect(!p->has_target[i], "%s %s +%u: pc-relative but refused", file, p->name, 4 * i);
            continue;
        }
        int pcrel = in.kind != LF_A64_PLAIN && in.kind != LF_A64_STOP;
        cr_expect_eq(pcrel, p->has_target[i], "%s %s +%u: pc-relative %d, objdump %d", file, p->name,
                     4 * i, pcrel, p->has_target[i]);
        if (pcrel && p->has_target[i]) {
            long long got = in.kind == LF_A64_ADRP
                ? (long long)(((fn + 4 * i) & ~0xfffull) + (uint64_t)in.rel - fn)
                : (long long)(4 * i + (uint64_t)in.rel);
            /* objdump's addresses are the file's: adrp pages agree only modulo the load offset */
            if (in.kind != LF_A64_ADRP)
                cr_expect_eq(got, p->target[i], "%s %s +%u: target", file, p->name, 4 * i);
        }
    }

    unsigned char out[240];
    struct lf_reloc r = {
        .code = p->code + pad, .avail = (p->size && p->size < p->len ? p->size : p->len) - pad,
        .src = fn + pad, .fn_start = fn, .need = 4, .out = out, .out_cap = sizeof out,
        .dst = fn - (64u << 20),
    };
    char why[128];
    if (lf_a64_relocate(&r, why, sizeof why) < 0) {
        if (!t->first_refusal[0]) snprintf(t->first_refusal, sizeof t->first_refusal, "%s: %s", p->name, why);
        return;
    }
    t->prepared++;
    unsigned i = (unsigned)pad / 4;
    struct lf_a64_insn in;
    lf_a64_decode(rd32(p->code + 4 * i), &in, NULL, 0);
    if (p->has_target[i] && in.kind != LF_A64_ADRP && in.kind != LF_A64_LDRLIT)
        cr_expect(reaches(out, r.out_len, r.dst, fn + (uint64_t)p->target[i]),
                  "%s %s: the trampoline does not reach +%lld", file, p->name, p->target[i]);
    if (in.kind != LF_A64_STOP && in.kind != LF_A64_B)
        cr_expect(reaches(out, r.out_len, r.dst, fn + pad + 4), "%s %s: no jump back", file, p->name);
}

Test(insn_a64, real_prologues_match_objdump)
{
    int files = prologue_each("prologues-*.aarch64.txt", check_prologue, NULL);
    cr_assert_geq(files, 2, "prologue files missing: run `make patch-prologues`");
    for (int i = 0; i < ntallies; i++) {
        struct tally *t = &tallies[i];
        cr_log_info("%s: %d functions, %d entries relocated (%d%%); first refusal: %s", t->file,
                    t->total, t->prepared, 100 * t->prepared / (t->total ? t->total : 1),
                    t->first_refusal[0] ? t->first_refusal : "none");
        cr_expect_geq(t->total, 8, "%s: too few prologues", t->file);
        cr_expect_geq(100 * t->prepared, 97 * t->total, "%s: only %d of %d entries relocated (%s)",
                      t->file, t->prepared, t->total, t->first_refusal);
    }
}
