/*
** What the machine charges for the kernel work a process start is made of: a system call, and a
** page fault of each kind a loaded library causes (a zero page written, a page of a file read,
** a page of a file copied when written). Start-up costs of lockfix are mostly these (docs/
** benchmarks.md, "Start and exit"), and they differ tenfold between the virtual machines this
** project has run on: bench/startup.sh prints them first, so that its figures can be compared.
** Usage: pagefault [FILE]   (FILE: a file of 1.6 MB or more; default: libc)
*/
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
    const char *file = argc > 1 ? argv[1] : "/lib/x86_64-linux-gnu/libc.so.6";
    enum { CALLS = 100000, ANON = 2000, FILEPAGES = 400 };
    const long page = sysconf(_SC_PAGESIZE);

    double a = now_us();
    for (int i = 0; i < CALLS; i++)
        syscall(SYS_getppid);
    double sys_us = (now_us() - a) / CALLS;

    char *p = mmap(NULL, (size_t)ANON * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    if (p == MAP_FAILED)
        return 1;
    a = now_us();
    for (long i = 0; i < ANON; i++)
        p[i * page] = 1;
    double anon_us = (now_us() - a) / ANON;

    int fd = open(file, O_RDONLY);
    char *r = fd < 0 ? MAP_FAILED
                     : mmap(NULL, (size_t)FILEPAGES * page, PROT_READ, MAP_PRIVATE, fd, 0);
    char *w = fd < 0 ? MAP_FAILED
                     : mmap(NULL, (size_t)FILEPAGES * page, PROT_READ | PROT_WRITE, MAP_PRIVATE,
                            fd, 0);
    if (r == MAP_FAILED || w == MAP_FAILED) {
        fprintf(stderr, "pagefault: cannot map %s\n", file);
        return 1;
    }
    volatile char sink = 0;
    a = now_us();
    for (long i = 0; i < FILEPAGES; i += 16) /* the kernel maps up to 16 pages around a fault */
        sink += r[i * page];
    double read_us = (now_us() - a) / (FILEPAGES / 16);
    a = now_us();
    for (long i = 0; i < FILEPAGES; i++)
        w[i * page] = 1;
    double cow_us = (now_us() - a) / FILEPAGES;
    printf("machine: system call %.2f us, page fault: zero page written %.2f us, file page read "
           "%.2f us, file page copied on write %.2f us\n",
           sys_us, anon_us, read_us, cow_us);
    return 0;
}
