/*
** The `unreachable` report (unreachable.c; darwin.c on macOS): SQLite lockfix could not reach.
*/
#ifndef LOCKFIX_UNREACHABLE_H
#define LOCKFIX_UNREACHABLE_H

#pragma GCC visibility push(hidden)

/* At exit, when no call came through: log each loaded SQLite copy lockfix could not reach. */
void lf_report_unreachable(void);

#pragma GCC visibility pop

#endif
