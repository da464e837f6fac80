/*
 * tests/qemu/node/libc_rename.h — force-included (-include) when the node
 * image's mini libc is compiled for the host test: every libc name gets the
 * prefix mlibc_, so the code under test and glibc (the reference) link into
 * one program without clashing.
 */
#define memcpy    mlibc_memcpy
#define memmove   mlibc_memmove
#define memset    mlibc_memset
#define memcmp    mlibc_memcmp
#define memchr    mlibc_memchr
#define strlen    mlibc_strlen
#define strnlen   mlibc_strnlen
#define strcmp    mlibc_strcmp
#define strncmp   mlibc_strncmp
#define strchr    mlibc_strchr
#define strrchr   mlibc_strrchr
#define strstr    mlibc_strstr
#define strdup    mlibc_strdup
#define strndup   mlibc_strndup
#define malloc    mlibc_malloc
#define calloc    mlibc_calloc
#define realloc   mlibc_realloc
#define free      mlibc_free
#define qsort     mlibc_qsort
#define bsearch   mlibc_bsearch
#define strtol    mlibc_strtol
#define strtoul   mlibc_strtoul
#define strtoll   mlibc_strtoll
#define strtoull  mlibc_strtoull
#define strtod    mlibc_strtod
#define atoi      mlibc_atoi
#define abs       mlibc_abs
#define labs      mlibc_labs
#define llabs     mlibc_llabs
#define snprintf  mlibc_snprintf
#define vsnprintf mlibc_vsnprintf
#define isdigit   mlibc_isdigit
#define isalpha   mlibc_isalpha
#define isalnum   mlibc_isalnum
#define isspace   mlibc_isspace
#define isupper   mlibc_isupper
#define islower   mlibc_islower
#define isxdigit  mlibc_isxdigit
#define isprint   mlibc_isprint
#define toupper   mlibc_toupper
#define tolower   mlibc_tolower
