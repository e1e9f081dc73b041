/* Shapes of SQLite API entries: a null check first (sqlite3_reset), a static table (rip/pc
** relative), a global counter, a call, floating point, many arguments, a tiny leaf, a switch. */
#include <string.h>

#include "funcs.h"

#define NOINLINE __attribute__((noinline))

static const char *const names[] = {"zero", "one", "two", "three"};
static int counter;
static volatile int sink;

NOINLINE int f_add(int a, int b) { return a + b; }

NOINLINE long f_sum(const int *v, int n)
{
    long s = 0;
    for (int i = 0; i < n; i++) s += v[i];
    return s;
}

NOINLINE int f_reset(struct obj *o)
{
    if (!o) return 0;
    if (o->state == 2) return 5;
    o->state = 0;
    sink = o->refs;
    return o->refs ? 1 : 0;
}

NOINLINE const char *f_name(int i) { return (unsigned)i < 4 ? names[i] : "?"; }

NOINLINE int f_counter(int by)
{
    counter += by;
    return counter;
}

NOINLINE int f_nested(int x)
{
    char buf[64];
    memset(buf, x & 0x7f, sizeof buf);
    sink = buf[x & 63];
    return f_add(x, buf[3]) + (int)strlen(f_name(x & 3));
}

NOINLINE double f_scale(double x, int k)
{
    double r = x;
    while (k-- > 0) r *= 1.5;
    return r;
}

NOINLINE int f_many(int a, int b, int c, int d, int e, int f, int g, int h)
{
    return a - b + c * d - e + f * g - h;
}

NOINLINE int f_tiny(int a) { return a * 3 + 1; }

NOINLINE int f_switch(int a)
{
    switch (a) {
    case 0: return 11;
    case 1: return a + 13;
    case 2: return 17;
    case 3: return 19 * a;
    case 4: return 23;
    case 5: return 29;
    default: return -1;
    }
}
