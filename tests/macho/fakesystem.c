/*
** Stands in for /usr/lib/libSystem.B.dylib at link time: the two names the importer fixtures
** need from it (dyld_stub_binder is what lazy binding calls; its symbol has no leading '_').
*/
int puts(const char *s)
{
    return s != 0;
}
void stub_binder(void) __asm__("dyld_stub_binder");
void stub_binder(void)
{
}
