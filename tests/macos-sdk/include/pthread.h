/* macOS <pthread.h>: mutexes, once, self, atfork, as used by lockfix. The opaque sizes are
** <sys/_pthread/_pthread_types.h>'s for LP64; the initializers carry the same signatures. */
#ifndef LF_SDK_PTHREAD_H
#define LF_SDK_PTHREAD_H
#include <sys/types.h>
struct _opaque_pthread_t;
typedef struct _opaque_pthread_t *pthread_t;
typedef struct {
    long __sig;
    char __opaque[56];
} pthread_mutex_t;
typedef struct {
    long __sig;
    char __opaque[8];
} pthread_once_t;
typedef struct {
    long __sig;
    char __opaque[8];
} pthread_mutexattr_t;
#define _PTHREAD_MUTEX_SIG_init 0x32AAABA7
#define _PTHREAD_ONCE_SIG_init 0x30B1BCBA
#define PTHREAD_MUTEX_INITIALIZER {_PTHREAD_MUTEX_SIG_init, {0}}
#define PTHREAD_ONCE_INIT {_PTHREAD_ONCE_SIG_init, {0}}
int pthread_mutex_lock(pthread_mutex_t *m);
int pthread_mutex_unlock(pthread_mutex_t *m);
int pthread_mutex_trylock(pthread_mutex_t *m);
int pthread_once(pthread_once_t *once, void (*fn)(void));
pthread_t pthread_self(void);
int pthread_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void));
/* macOS 11: toggles whether this thread may write (0) or execute (1) MAP_JIT memory. */
void pthread_jit_write_protect_np(int enabled);
#endif
