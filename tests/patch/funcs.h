/* SQLite-like functions compiled as their own unit (at the optimisation level under test), to be
** patched in-process by test_patch.c. One list drives the declarations, hooks and checks. */
#ifndef FUNCS_H
#define FUNCS_H

struct obj { int refs; int state; const char *name; };

#define FUNCS(X)                                                             \
    X(int, f_add, (int a, int b), (a, b))                                    \
    X(long, f_sum, (const int *v, int n), (v, n))                            \
    X(int, f_reset, (struct obj *o), (o))                                    \
    X(const char *, f_name, (int i), (i))                                    \
    X(int, f_counter, (int by), (by))                                        \
    X(int, f_nested, (int x), (x))                                           \
    X(double, f_scale, (double x, int k), (x, k))                            \
    X(int, f_many, (int a, int b, int c, int d, int e, int f, int g, int h), \
      (a, b, c, d, e, f, g, h))                                              \
    X(int, f_tiny, (int a), (a))                                             \
    X(int, f_switch, (int a), (a))

#define DECLARE(ret, name, params, args) ret name params;
FUNCS(DECLARE)
#undef DECLARE

#endif
