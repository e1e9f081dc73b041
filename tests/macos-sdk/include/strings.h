/* macOS <strings.h>: its strcasecmp is declared with <string.h>'s functions, in one place. */
#ifndef LF_SDK_STRINGS_H
#define LF_SDK_STRINGS_H
#include <string.h>
#endif
