/* macOS <dlfcn.h> (dlopen(3), dladdr(3)): mode bits and special handles as dyld defines them. */
#ifndef LF_SDK_DLFCN_H
#define LF_SDK_DLFCN_H
#define RTLD_LAZY 0x1
#define RTLD_NOW 0x2
#define RTLD_LOCAL 0x4
#define RTLD_GLOBAL 0x8
#define RTLD_NOLOAD 0x10
#define RTLD_NODELETE 0x80
#define RTLD_FIRST 0x100
#define RTLD_NEXT ((void *)-1)
#define RTLD_DEFAULT ((void *)-2)
#define RTLD_SELF ((void *)-3)
#define RTLD_MAIN_ONLY ((void *)-5)
typedef struct dl_info {
    const char *dli_fname; /* pathname of the image containing the address */
    void *dli_fbase;       /* its load address: its mach_header */
    const char *dli_sname; /* nearest symbol */
    void *dli_saddr;       /* its address */
} Dl_info;
void *dlopen(const char *path, int mode);
void *dlsym(void *handle, const char *symbol);
int dladdr(const void *addr, Dl_info *info);
int dlclose(void *handle);
char *dlerror(void);
#endif
