/*
** Time, the same on every platform (clock.c): monotonic milliseconds, and a sleep that finishes
** its time even when a signal interrupts it.
*/
#ifndef LOCKFIX_CLOCK_H
#define LOCKFIX_CLOCK_H

#pragma GCC visibility push(hidden)

long long lf_now_ms(void);
void lf_sleep_ms(long ms);

#pragma GCC visibility pop

#endif
