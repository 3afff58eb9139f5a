/*
 * banned.h - functions lib/ and cmd/ must not call (after git's banned.h).
 * Included last by every source file, through "internal.h" or directly.
 */
#ifndef AV_BANNED_H
#define AV_BANNED_H

#define AV_BANNED(func) sorry_##func##_is_banned_in_aptvault

#undef strcpy
#define strcpy(x, y) AV_BANNED(strcpy)
#undef strcat
#define strcat(x, y) AV_BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) AV_BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) AV_BANNED(strncat)
#undef sprintf
#define sprintf(...) AV_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) AV_BANNED(vsprintf)
#undef strtok
#define strtok(x, y) AV_BANNED(strtok)
#undef gets
#define gets(x) AV_BANNED(gets)
#undef mktemp
#define mktemp(x) AV_BANNED(mktemp)
#undef tmpnam
#define tmpnam(x) AV_BANNED(tmpnam)
#undef gmtime
#define gmtime(t) AV_BANNED(gmtime)
#undef localtime
#define localtime(t) AV_BANNED(localtime)
#undef ctime
#define ctime(t) AV_BANNED(ctime)
#undef asctime
#define asctime(t) AV_BANNED(asctime)

#endif
