/*
 * ctype.h — ASCII classification; the node image has no locales.
 */
#ifndef SD_METAL_LIBC_CTYPE_H
#define SD_METAL_LIBC_CTYPE_H

int isdigit(int c);
int isalpha(int c);
int isalnum(int c);
int isspace(int c);
int isupper(int c);
int islower(int c);
int isxdigit(int c);
int isprint(int c);
int toupper(int c);
int tolower(int c);

#endif /* SD_METAL_LIBC_CTYPE_H */
