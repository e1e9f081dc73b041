/*
** The x86-64 decoder and relocator (shim/insn_x86.c): hand-made cases for each rule, then every
** sqlite3_* prologue of Debian's libsqlite3 and Node 26, and our own builds of SQLite-shaped
** functions (gcc/clang, -O0/-O2/-Os, with and without -fcf-protection), checked against objdump.
*/
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "insn_x86.h"
#include "prologues.h"

static struct lf_x86_insn decode_ok(const unsigned char *code, size_t n)
{
    struct lf_x86_insn in;
    char why[96] = "";
    cr_assert_eq(lf_x86_decode(code, n, &in, why, sizeof why), 0, "refused: %s", why);
    return in;
}

#define BYTES(...) ((const unsigned char[]){__VA_ARGS__}), sizeof((const unsigned char[]){__VA_ARGS__})

Test(insn_x86, prologue_lengths)
{
    cr_expect_eq(decode_ok(BYTES(0x55)).len, 1);                                  /* push rbp */
    cr_expect_eq(decode_ok(BYTES(0x48, 0x89, 0xe5)).len, 3);                      /* mov rbp,rsp */
    cr_expect_eq(decode_ok(BYTES(0x41, 0x57)).len, 2);                            /* push r15 */
    cr_expect_eq(decode_ok(BYTES(0x48, 0x83, 0xec, 0x28)).len, 4);                /* sub rsp,0x28 */
    cr_expect_eq(decode_ok(BYTES(0x48, 0x81, 0xec, 0x98, 0, 0, 0)).len, 7);       /* sub rsp,0x98 */
    cr_expect_eq(decode_ok(BYTES(0x48, 0x85, 0xff)).len, 3);                      /* test rdi,rdi */
    cr_expect_eq(decode_ok(BYTES(0x64, 0x48, 0x8b, 0x04, 0x25, 0x28, 0, 0, 0)).len, 9); /* fs:0x28 */
    cr_expect_eq(decode_ok(BYTES(0x48, 0xc7, 0x45, 0xb8, 0, 0, 0, 0)).len, 8);    /* mov [rbp-72],0 */
    cr_expect_eq(decode_ok(BYTES(0x66, 0xc7, 0x07, 0x34, 0x12)).len, 5);          /* mov word [rdi],imm16 */
    cr_expect_eq(decode_ok(BYTES(0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8)).len, 10);   /* movabs rax,imm64 */
    cr_expect_eq(decode_ok(BYTES(0x66, 0x2e, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0)).len, 10); /* nopw */
    cr_expect_eq(decode_ok(BYTES(0xf3, 0x0f, 0x1e, 0xfa)).endbr, 1);
    cr_expect_eq(decode_ok(BYTES(0xf7, 0x47, 0x10, 1, 0, 0, 0)).len, 7);          /* test dword [rdi+16],1 */
    cr_expect_eq(decode_ok(BYTES(0xf7, 0xd8)).len, 2);                            /* neg eax: no imm */
}

Test(insn_x86, rip_relative_and_branches)
{
    struct lf_x86_insn in = decode_ok(BYTES(0x48, 0x8b, 0x05, 0x10, 0, 0, 0));    /* mov rax,[rip+16] */
    cr_expect_eq(in.kind, LF_X86_RIPREL);
    cr_expect_eq(in.disp_off, 3);
    cr_expect_eq(in.rel, 16);
    in = decode_ok(BYTES(0x83, 0x3d, 0xf8, 0xff, 0xff, 0xff, 0x05));             /* cmp [rip-8],5 */
    cr_expect_eq(in.kind, LF_X86_RIPREL);
    cr_expect_eq(in.len, 7);
    cr_expect_eq(in.rel, -8);
    in = decode_ok(BYTES(0x0f, 0x84, 0x00, 0x01, 0, 0));                         /* je +256 */
    cr_expect_eq(in.kind, LF_X86_JCC);
    cr_expect_eq(in.cond, 4);
    cr_expect_eq(in.rel, 256);
    in = decode_ok(BYTES(0x75, 0xfe));                                          /* jne self */
    cr_expect_eq(in.kind, LF_X86_JCC);
    cr_expect_eq(in.rel, -2);
    cr_expect_eq(decode_ok(BYTES(0x74, 0x7f)).rel, 127);                         /* rel8 edges */
    cr_expect_eq(decode_ok(BYTES(0x74, 0x80)).rel, -128);
    cr_expect_eq(decode_ok(BYTES(0x74, 0x00)).rel, 0);
    cr_expect_eq(decode_ok(BYTES(0xe8, 0, 0, 0, 0)).kind, LF_X86_CALL);
    cr_expect_eq(decode_ok(BYTES(0xc3)).kind, LF_X86_STOP);
    cr_expect_eq(decode_ok(BYTES(0xff, 0xe0)).kind, LF_X86_STOP);                /* jmp rax */
}

Test(insn_x86, refusals_name_the_bytes)
{
    struct lf_x86_insn in;
    char why[96];
    cr_expect_eq(lf_x86_decode(BYTES(0x0f, 0x0b), &in, why, sizeof why), -1);
    cr_expect_str_eq(why, "unknown instruction 0f 0b");
    cr_expect_eq(lf_x86_decode(BYTES(0xc5, 0xf8, 0x77), &in, why, sizeof why), -1);  /* vzeroupper */
    cr_expect_eq(lf_x86_decode(BYTES(0x67, 0x8b, 0x05, 0, 0, 0, 0), &in, why, sizeof why), -1);
    cr_expect_eq(lf_x86_decode(BYTES(0x0f, 0x05), &in, why, sizeof why), -1);         /* syscall */
    cr_expect_eq(lf_x86_decode(BYTES(0x48, 0x8b), &in, why, sizeof why), -1);         /* truncated */
    cr_expect_str_eq(why, "instruction runs past the function's end");
}

static int relocate(const unsigned char *code, size_t n, uint64_t src, uint64_t dst, size_t need,
                    unsigned char *out, struct lf_reloc *r, char *why)
{
    memset(r, 0, sizeof *r);
    r->code = code;
    r->avail = n;
    r->src = r->fn_start = src;
    r->need = need;
    r->out = out;
    r->out_cap = 240;
    r->dst = dst;
    return lf_x86_relocate(r, why, 96);
}

static int64_t rd32(const unsigned char *p) { int32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return v; }

Test(insn_x86, relocate_nothing_is_refused)
{
    /* need 0: no instruction copied, so there is no last one to look at */
    const unsigned char code[] = {0x55, 0xc3};
    unsigned char out[240];
    struct lf_reloc r;
    char why[96];
    cr_assert_eq(relocate(code, sizeof code, 0x400000, 0x7fff0000, 0, out, &r, why), -1);
    cr_expect_str_eq(why, "nothing to relocate: the jump needs 0 bytes");
}

Test(insn_x86, relocate_null_check_near_and_far)
{
    /* Node's sqlite3_reset: test rdi,rdi; je +0x112 */
    const unsigned char code[] = {0x48, 0x85, 0xff, 0x0f, 0x84, 0x12, 0x01, 0, 0, 0x55};
    unsigned char out[240];
    struct lf_reloc r;
    char why[96];
    uint64_t src = 0x555500001000, target = src + 9 + 0x112;

    uint64_t dst = src - 0x100000;                       /* near: the jcc keeps rel32 */
    cr_assert_eq(relocate(code, sizeof code, src, dst, 5, out, &r, why), 0, "%s", why);
    cr_expect_eq(r.covered, 9);
    cr_expect_eq(memcmp(out, "\xf3\x0f\x1e\xfa\x48\x85\xff\x0f\x84", 9), 0);
    cr_expect_eq(dst + 4 + 3 + 6 + rd32(out + 9), target);
    cr_expect_eq(out[13], 0xe9);                         /* jmp back */
    cr_expect_eq(dst + 18 + rd32(out + 14), src + 9);
    cr_expect_eq(r.out_len, 18);

    dst = src + (5ull << 30);                            /* far: jne over an absolute jmp */
    cr_assert_eq(relocate(code, sizeof code, src, dst, 5, out, &r, why), 0, "%s", why);
    cr_expect_eq(out[7], 0x75);
    cr_expect_eq(out[8], 14);
    cr_expect_eq(memcmp(out + 9, "\xff\x25\0\0\0\0", 6), 0);
    cr_expect_eq(rd64(out + 15), target);
    cr_expect_eq(memcmp(out + 23, "\xff\x25\0\0\0\0", 6), 0);
    cr_expect_eq(rd64(out + 29), src + 9);
}

Test(insn_x86, relocate_rip_relative_and_call)
{
    /* lea rax,[rip+0x100]; call +0x40 */
    const unsigned char code[] = {0x48, 0x8d, 0x05, 0, 1, 0, 0, 0xe8, 0x40, 0, 0, 0};
    unsigned char out[240];
    struct lf_reloc r;
    char why[96];
    uint64_t src = 0x400000, dst = 0x7fff0000;
    cr_assert_eq(relocate(code, sizeof code, src, dst, 5, out, &r, why), 0, "%s", why);
    cr_expect_eq(r.covered, 7);
    cr_expect_eq(dst + 4 + 7 + rd32(out + 7), src + 7 + 0x100);

    cr_assert_eq(relocate(code, sizeof code, src, dst, 12, out, &r, why), 0, "%s", why);
    cr_expect_eq(out[11], 0xe8);
    cr_expect_eq(dst + 16 + rd32(out + 12), src + 12 + 0x40);

    /* the operand out of reach of a trampoline 4 GB away: refused, not truncated */
    cr_expect_eq(relocate(code, sizeof code, src, src + (4ull << 30), 5, out, &r, why), -1);
    cr_expect(strstr(why, "rip-relative operand at +0 out of reach"), "%s", why);
    /* the call from far away: call [rip+2]; jmp +8; .quad */
    const unsigned char call[] = {0xe8, 0x40, 0, 0, 0};
    cr_assert_eq(relocate(call, sizeof call, src, src + (4ull << 30), 5, out, &r, why), 0, "%s", why);
    cr_expect_eq(memcmp(out + 4, "\xff\x15\x02\0\0\0\xeb\x08", 8), 0);
    cr_expect_eq(rd64(out + 12), src + 5 + 0x40);
}

Test(insn_x86, relocate_refusals)
{
    unsigned char out[240];
    struct lf_reloc r;
    char why[96];
    /* xor eax,eax; ret: control leaves before 5 bytes */
    cr_expect_eq(relocate(BYTES(0x31, 0xc0, 0xc3), 0x1000, 0x2000, 5, out, &r, why), -1);
    cr_expect(strncmp(why, "too short", 9) == 0, "%s", why);
    /* 4 bytes of function */
    cr_expect_eq(relocate(BYTES(0x8d, 0x04, 0x37, 0x90), 0x1000, 0x2000, 5, out, &r, why), -1);
    cr_expect(strncmp(why, "too short", 9) == 0, "%s", why);
    /* xor eax,eax; inc eax; jne back to +2: a loop head inside the patched bytes */
    cr_expect_eq(relocate(BYTES(0x31, 0xc0, 0xff, 0xc0, 0x75, 0xfc, 0x90), 0x1000, 0x2000, 5, out, &r, why), -1);
    cr_expect(strncmp(why, "branch into patched bytes at +4", 31) == 0, "%s", why);
    /* ud2 at +3 */
    cr_expect_eq(relocate(BYTES(0x48, 0x85, 0xff, 0x0f, 0x0b, 0x90), 0x1000, 0x2000, 5, out, &r, why), -1);
    cr_expect_str_eq(why, "unknown instruction 0f 0b at +3");
}

Test(insn_x86, body_scan_finds_loops_into_the_entry)
{
    char why[128];
    /* gcc -Os f_sum: xor eax,eax; xor edx,edx; L: cmp esi,eax; jle out; ...; jmp L */
    const unsigned char fsum[] = {0x31, 0xc0, 0x31, 0xd2, 0x39, 0xc6, 0x7e, 0x0c, 0x48, 0x63, 0x0c,
                                  0x87, 0x48, 0xff, 0xc0, 0x48, 0x01, 0xca, 0xeb, 0xf0, 0x48, 0x89,
                                  0xd0, 0xc3};
    cr_expect_eq(lf_x86_check_body(fsum, sizeof fsum, 0x1000, 0, 6, why, sizeof why), -1);
    cr_expect_str_eq(why, "branch into patched bytes at +18 (to +4)");
    cr_expect_eq(lf_x86_check_body(fsum, sizeof fsum, 0x1000, 0, 4, why, sizeof why), 0);
    /* after an unknown instruction, byte patterns are taken for branches */
    const unsigned char odd[] = {0x55, 0x48, 0x89, 0xe5, 0x0f, 0x0b, 0xeb, 0xf8};
    cr_expect_eq(lf_x86_check_body(odd, sizeof odd, 0x1000, 0, 5, why, sizeof why), -1);
    cr_expect(strstr(why, "possible branch into patched bytes at +6"), "%s", why);
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

/* The targets the trampoline reaches: rel branches, rip operands and absolute jmp/call quads. */
static int reaches(const unsigned char *out, size_t len, uint64_t dst, uint64_t want)
{
    size_t off = 0;
    struct lf_x86_insn in;
    while (off < len) {
        if (out[off] == 0xff && (out[off + 1] == 0x25 || out[off + 1] == 0x15)) {
            size_t q = off + 6 + (out[off + 1] == 0x15 ? 2 : 0);
            if (rd64(out + q) == want) return 1;
            off = q + 8;
            continue;
        }
        if (lf_x86_decode(out + off, len - off, &in, NULL, 0) < 0) return 0;
        if (in.kind != LF_X86_PLAIN && in.kind != LF_X86_STOP &&
            dst + off + in.len + (uint64_t)in.rel == want)
            return 1;
        off += in.len;
    }
    return 0;
}

static void check_prologue(const char *file, const struct prologue *p, void *arg)
{
    (void)arg;
    struct tally *t = tally_for(file);
    const uint64_t fn = 0x7f0000400000;
    size_t off = 0, pad = lf_x86_landing_pad(p->code, p->len);
    t->total++;

    /* Every instruction the decoder accepts is read as objdump reads it. */
    for (unsigned i = 0; i < p->n && off < p->len; i++) {
        struct lf_x86_insn in;
        if (lf_x86_decode(p->code + off, p->len - off, &in, NULL, 0) < 0) break;
        cr_expect_eq(in.len, p->ilen[i], "%s %s +%zu: length %u, objdump %u", file, p->name, off,
                     in.len, p->ilen[i]);
        int pcrel = in.kind != LF_X86_PLAIN && in.kind != LF_X86_STOP;
        cr_expect_eq(pcrel, p->has_target[i], "%s %s +%zu: pc-relative %d, objdump %d", file,
                     p->name, off, pcrel, p->has_target[i]);
        if (pcrel && p->has_target[i])
            cr_expect_eq((long long)(off + in.len + (uint64_t)in.rel), p->target[i],
                         "%s %s +%zu: target", file, p->name, off);
        off += in.len;
        if (off >= pad + 5) break;
    }

    /* The entry can be relocated to a trampoline 64 MB away, reaching what the original did. */
    unsigned char out[240];
    struct lf_reloc r = {
        .code = p->code + pad, .avail = (p->size && p->size < p->len ? p->size : p->len) - pad,
        .src = fn + pad, .fn_start = fn, .need = 5, .out = out, .out_cap = sizeof out,
        .dst = fn + (64u << 20),
    };
    char why[128];
    if (lf_x86_relocate(&r, why, sizeof why) < 0) {
        if (!t->first_refusal[0]) snprintf(t->first_refusal, sizeof t->first_refusal, "%s: %s", p->name, why);
        return;
    }
    t->prepared++;
    int falls_through = 1;
    for (unsigned i = 0, o = (unsigned)pad; i < p->n && o < pad + r.covered; o += p->ilen[i++]) {
        struct lf_x86_insn in;
        lf_x86_decode(p->code + o, p->len - o, &in, NULL, 0);
        falls_through = in.kind != LF_X86_STOP && in.kind != LF_X86_JMP;
        if (p->has_target[i])
            cr_expect(reaches(out, r.out_len, r.dst, fn + (uint64_t)p->target[i]),
                      "%s %s +%u: the trampoline does not reach +%lld", file, p->name, o, p->target[i]);
    }
    if (falls_through)
        cr_expect(reaches(out, r.out_len, r.dst, fn + pad + r.covered), "%s %s: no jump back", file, p->name);
}

/* Share of functions whose entry must be patchable, per source of prologues (measured: see
** docs/static-patching.md; a regression in the decoder shows up here). */
static int required_percent(const char *file)
{
    if (strstr(file, "-own-")) return 80;   /* includes 4-byte functions, refused by design */
    return 97;
}

Test(insn_x86, real_prologues_match_objdump)
{
    int files = prologue_each("prologues-*.x86-64.txt", check_prologue, NULL);
    cr_assert_geq(files, 3, "prologue files missing: run `make patch-prologues`");
    for (int i = 0; i < ntallies; i++) {
        struct tally *t = &tallies[i];
        cr_log_info("%s: %d functions, %d entries relocated (%d%%); first refusal: %s", t->file,
                    t->total, t->prepared, 100 * t->prepared / (t->total ? t->total : 1),
                    t->first_refusal[0] ? t->first_refusal : "none");
        cr_expect_geq(t->total, 8, "%s: too few prologues", t->file);
        cr_expect_geq(100 * t->prepared, required_percent(t->file) * t->total,
                      "%s: only %d of %d entries relocated (first refusal %s)", t->file, t->prepared,
                      t->total, t->first_refusal);
    }
}
