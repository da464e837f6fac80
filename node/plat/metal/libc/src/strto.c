/*
 * libc/src/strto.c — number parsing. As in ISO C: leading space, an optional
 * sign, "0x"/"0" prefixes when base is 16/8 or 0, saturation at the type's
 * limits on overflow. The image has no errno, so overflow is visible only as
 * the saturated value. strtod is simple decimal (digits, '.', exponent),
 * accurate to a few ulp, not correctly rounded; no hex floats, inf or nan.
 */
#include <ctype.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>

static int strto_digit(int c)
{
	if (isdigit(c))
		return c - '0';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	return 99;
}

/*
 * Parses the magnitude into *out (saturated at limit); returns where parsing
 * stopped, or s itself when no digit was consumed.
 */
static const char *strto_magnitude(const char *s, int base, unsigned long long limit,
				   unsigned long long *out, bool *neg)
{
	const char *start = s;
	const char *p = s;
	unsigned long long v = 0;
	bool any = false, overflow = false;

	while (isspace((unsigned char)*p))
		p++;
	*neg = false;
	if (*p == '+' || *p == '-')
		*neg = *p++ == '-';
	if ((base == 0 || base == 16) && p[0] == '0' && (p[1] == 'x' || p[1] == 'X') &&
	    strto_digit((unsigned char)p[2]) < 16) {
		p += 2;
		base = 16;
	} else if (base == 0) {
		base = p[0] == '0' ? 8 : 10;
	}
	for (;; p++, any = true) {
		int d = strto_digit((unsigned char)*p);

		if (d >= base)
			break;
		if (v > (limit - (unsigned)d) / (unsigned)base)
			overflow = true;
		else
			v = v * (unsigned)base + (unsigned)d;
	}
	*out = overflow ? limit : v;
	return any ? p : start;
}

unsigned long long strtoull(const char *s, char **end, int base)
{
	unsigned long long v;
	bool neg;
	const char *p = strto_magnitude(s, base, ULLONG_MAX, &v, &neg);

	if (end)
		*end = (char *)p;
	return neg ? -v : v;
}

unsigned long strtoul(const char *s, char **end, int base)
{
	unsigned long long v;
	bool neg;
	const char *p = strto_magnitude(s, base, ULONG_MAX, &v, &neg);

	if (end)
		*end = (char *)p;
	return neg ? -(unsigned long)v : (unsigned long)v;
}

long long strtoll(const char *s, char **end, int base)
{
	unsigned long long v;
	bool neg;
	const char *p = strto_magnitude(s, base, (unsigned long long)LLONG_MAX + 1, &v, &neg);

	if (end)
		*end = (char *)p;
	if (neg)
		return v > (unsigned long long)LLONG_MAX ? LLONG_MIN : -(long long)v;
	return v > (unsigned long long)LLONG_MAX ? LLONG_MAX : (long long)v;
}

long strtol(const char *s, char **end, int base)
{
	long long v = strtoll(s, end, base);

	if (v > LONG_MAX)
		return LONG_MAX;
	if (v < LONG_MIN)
		return LONG_MIN;
	return (long)v;
}

int atoi(const char *s)
{
	long v = strtol(s, NULL, 10);

	return v > INT_MAX ? INT_MAX : v < INT_MIN ? INT_MIN : (int)v;
}

static double strto_pow10(int exp)
{
	double r = 1.0, base = 10.0;
	unsigned e = exp < 0 ? (unsigned)-exp : (unsigned)exp;

	for (; e; e >>= 1, base *= base) {
		if (e & 1)
			r *= base;
	}
	return exp < 0 ? 1.0 / r : r;
}

double strtod(const char *s, char **end)
{
	const char *p = s;
	double v = 0.0;
	int exp = 0;
	bool neg = false, any = false;

	while (isspace((unsigned char)*p))
		p++;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	for (; isdigit((unsigned char)*p); p++, any = true)
		v = v * 10.0 + (*p - '0');
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p); p++, any = true) {
			v = v * 10.0 + (*p - '0');
			exp--;
		}
	}
	if (!any) {
		if (end)
			*end = (char *)s;
		return 0.0;
	}
	if (*p == 'e' || *p == 'E') {
		char *after;
		long e = strtol(p + 1, &after, 10);

		if (after != p + 1) {
			p = after;
			exp += e > 400 ? 400 : e < -400 ? -400 : (int)e;
		}
	}
	if (end)
		*end = (char *)p;
	v *= strto_pow10(exp);
	return neg ? -v : v;
}
