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

/* What strto_parse() read. */
struct strto_result {
	unsigned long long magnitude; /* saturated at ULLONG_MAX */
	bool negative;
	bool overflow;   /* the digits exceeded ULLONG_MAX */
	const char *end; /* where parsing stopped; the input itself when no digit */
};

static struct strto_result strto_parse(const char *s, int base)
{
	struct strto_result r = {.end = s};
	const char *p = s;
	bool any = false;

	while (isspace((unsigned char)*p))
		p++;
	if (*p == '+' || *p == '-')
		r.negative = *p++ == '-';
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
		if (r.magnitude > (ULLONG_MAX - (unsigned)d) / (unsigned)base)
			r.overflow = true;
		else if (!r.overflow)
			r.magnitude = r.magnitude * (unsigned)base + (unsigned)d;
	}
	if (r.overflow)
		r.magnitude = ULLONG_MAX;
	if (any)
		r.end = p;
	return r;
}

/* Unsigned results: ISO C negates in the unsigned type, saturates on overflow. */
static unsigned long long strto_unsigned(const char *s, char **end, int base,
					 unsigned long long max)
{
	struct strto_result r = strto_parse(s, base);

	if (end)
		*end = (char *)r.end;
	if (r.overflow || r.magnitude > max)
		return max;
	return r.negative ? (0 - r.magnitude) & max : r.magnitude;
}

/* Signed results saturate at min/max. */
static long long strto_signed(const char *s, char **end, int base, long long min, long long max)
{
	struct strto_result r = strto_parse(s, base);

	if (end)
		*end = (char *)r.end;
	if (r.negative)
		return r.magnitude > (unsigned long long)max + 1 ? min
								 : (long long)(0 - r.magnitude);
	return r.magnitude > (unsigned long long)max ? max : (long long)r.magnitude;
}

unsigned long long strtoull(const char *s, char **end, int base)
{
	return strto_unsigned(s, end, base, ULLONG_MAX);
}

unsigned long strtoul(const char *s, char **end, int base)
{
	return (unsigned long)strto_unsigned(s, end, base, ULONG_MAX);
}

long long strtoll(const char *s, char **end, int base)
{
	return strto_signed(s, end, base, LLONG_MIN, LLONG_MAX);
}

long strtol(const char *s, char **end, int base)
{
	return (long)strto_signed(s, end, base, LONG_MIN, LONG_MAX);
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
	/* In two halves, so 10^|exp| itself never overflows for in-range results. */
	v *= strto_pow10(exp / 2);
	v *= strto_pow10(exp - exp / 2);
	return neg ? -v : v;
}
