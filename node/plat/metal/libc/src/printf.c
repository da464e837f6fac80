/*
 * libc/src/printf.c — snprintf and vsnprintf (no floating point).
 *
 * Output is written through a bounded cursor that counts every byte it would
 * have written, so the return value is the full length as ISO C asks, and
 * buf always ends with a NUL when cap > 0.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define FMT_DIGITS_MAX 24 /* chars: 2^64 in octal is 22 digits */

struct fmt_out {
	char *buf;
	size_t cap;
	size_t len; /* bytes produced so far, including those cut off */
};

struct fmt_spec {
	bool left, zero, plus, space, alt;
	int width;     /* minimum field width, 0 when none */
	int precision; /* -1 when none */
	char length;   /* 'H' hh, 'h', 'l', 'L' ll, 'z', 'j', 't', 0 */
};

static void fmt_put(struct fmt_out *o, char c)
{
	if (o->len + 1 < o->cap)
		o->buf[o->len] = c;
	o->len++;
}

static void fmt_repeat(struct fmt_out *o, char c, int n)
{
	while (n-- > 0)
		fmt_put(o, c);
}

/* Writes prefix, zeros, body into a field of spec->width. */
static void fmt_field(struct fmt_out *o, const struct fmt_spec *spec, const char *prefix, int zeros,
		      const char *body, int body_len)
{
	int prefix_len = (int)strlen(prefix);
	int pad = spec->width - prefix_len - zeros - body_len;

	if (!spec->left && !spec->zero)
		fmt_repeat(o, ' ', pad);
	for (const char *p = prefix; *p; p++)
		fmt_put(o, *p);
	if (!spec->left && spec->zero)
		fmt_repeat(o, '0', pad);
	fmt_repeat(o, '0', zeros);
	for (int i = 0; i < body_len; i++)
		fmt_put(o, body[i]);
	if (spec->left)
		fmt_repeat(o, ' ', pad);
}

static void fmt_integer(struct fmt_out *o, struct fmt_spec *spec, uintmax_t v, bool negative,
			unsigned base, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[FMT_DIGITS_MAX];
	const char *prefix = "";
	bool nonzero = v != 0;
	int n = 0, zeros;

	while (v) {
		tmp[sizeof(tmp) - 1 - n++] = digits[v % base];
		v /= base;
	}
	if (n == 0 && spec->precision != 0)
		tmp[sizeof(tmp) - 1 - n++] = '0';
	zeros = spec->precision > n ? spec->precision - n : 0;
	if (spec->precision >= 0)
		spec->zero = false; /* ISO C: a precision turns off the 0 flag */
	if (negative)
		prefix = "-";
	else if (spec->plus && base == 10)
		prefix = "+";
	else if (spec->space && base == 10)
		prefix = " ";
	else if (spec->alt && base == 16 && nonzero)
		prefix = upper ? "0X" : "0x";
	else if (spec->alt && base == 8 && zeros == 0 && tmp[sizeof(tmp) - n] != '0')
		prefix = "0";
	fmt_field(o, spec, prefix, zeros, tmp + sizeof(tmp) - n, n);
}

static intmax_t fmt_signed_arg(const struct fmt_spec *spec, va_list *ap)
{
	switch (spec->length) {
	case 'H':
		return (signed char)va_arg(*ap, int);
	case 'h':
		return (short)va_arg(*ap, int);
	case 'l':
		return va_arg(*ap, long);
	case 'L':
		return va_arg(*ap, long long);
	case 'z':
	case 't':
		return va_arg(*ap, ptrdiff_t);
	case 'j':
		return va_arg(*ap, intmax_t);
	default:
		return va_arg(*ap, int);
	}
}

static uintmax_t fmt_unsigned_arg(const struct fmt_spec *spec, va_list *ap)
{
	switch (spec->length) {
	case 'H':
		return (unsigned char)va_arg(*ap, unsigned);
	case 'h':
		return (unsigned short)va_arg(*ap, unsigned);
	case 'l':
		return va_arg(*ap, unsigned long);
	case 'L':
		return va_arg(*ap, unsigned long long);
	case 'z':
	case 't':
		return va_arg(*ap, size_t);
	case 'j':
		return va_arg(*ap, uintmax_t);
	default:
		return va_arg(*ap, unsigned);
	}
}

/* Parses flags, width, precision and length; returns the conversion char. */
static const char *fmt_parse_spec(const char *f, struct fmt_spec *spec, va_list *ap)
{
	*spec = (struct fmt_spec){.precision = -1};
	for (;; f++) {
		if (*f == '-')
			spec->left = true;
		else if (*f == '0')
			spec->zero = true;
		else if (*f == '+')
			spec->plus = true;
		else if (*f == ' ')
			spec->space = true;
		else if (*f == '#')
			spec->alt = true;
		else
			break;
	}
	if (*f == '*') {
		spec->width = va_arg(*ap, int);
		if (spec->width < 0) {
			spec->left = true;
			spec->width = -spec->width;
		}
		f++;
	}
	for (; *f >= '0' && *f <= '9'; f++)
		spec->width = spec->width * 10 + (*f - '0');
	if (*f == '.') {
		f++;
		spec->precision = 0;
		if (*f == '*') {
			spec->precision = va_arg(*ap, int);
			if (spec->precision < 0)
				spec->precision = -1;
			f++;
		}
		for (; *f >= '0' && *f <= '9'; f++)
			spec->precision = spec->precision * 10 + (*f - '0');
	}
	if (f[0] == 'h' && f[1] == 'h') {
		spec->length = 'H';
		f += 2;
	} else if (f[0] == 'l' && f[1] == 'l') {
		spec->length = 'L';
		f += 2;
	} else if (*f == 'h' || *f == 'l' || *f == 'z' || *f == 'j' || *f == 't') {
		spec->length = *f++;
	}
	return f;
}

static void fmt_string(struct fmt_out *o, struct fmt_spec *spec, const char *s)
{
	int n;

	if (!s)
		s = "(null)";
	n = (int)(spec->precision >= 0 ? strnlen(s, (size_t)spec->precision) : strlen(s));
	spec->zero = false;
	fmt_field(o, spec, "", 0, s, n);
}

static void fmt_convert(struct fmt_out *o, char conv, struct fmt_spec *spec, va_list *ap)
{
	intmax_t sv;
	char c;

	switch (conv) {
	case 'd':
	case 'i':
		sv = fmt_signed_arg(spec, ap);
		fmt_integer(o, spec, sv < 0 ? -(uintmax_t)sv : (uintmax_t)sv, sv < 0, 10, false);
		break;
	case 'u':
		fmt_integer(o, spec, fmt_unsigned_arg(spec, ap), false, 10, false);
		break;
	case 'x':
	case 'X':
		fmt_integer(o, spec, fmt_unsigned_arg(spec, ap), false, 16, conv == 'X');
		break;
	case 'o':
		fmt_integer(o, spec, fmt_unsigned_arg(spec, ap), false, 8, false);
		break;
	case 'p':
		spec->alt = true;
		fmt_integer(o, spec, (uintptr_t)va_arg(*ap, void *), false, 16, false);
		break;
	case 's':
		fmt_string(o, spec, va_arg(*ap, const char *));
		break;
	case 'c':
		c = (char)va_arg(*ap, int);
		spec->zero = false;
		fmt_field(o, spec, "", 0, &c, 1);
		break;
	case '%':
		fmt_put(o, '%');
		break;
	default: /* unknown conversion: show it rather than guess at arguments */
		fmt_put(o, '%');
		if (conv)
			fmt_put(o, conv);
		break;
	}
}

int vsnprintf(char *restrict buf, size_t cap, const char *restrict fmt, va_list ap)
{
	struct fmt_out o = {.buf = buf, .cap = cap};
	struct fmt_spec spec;
	va_list args;

	va_copy(args, ap);
	while (*fmt) {
		if (*fmt != '%') {
			fmt_put(&o, *fmt++);
			continue;
		}
		fmt = fmt_parse_spec(fmt + 1, &spec, &args);
		fmt_convert(&o, *fmt, &spec, &args);
		if (*fmt)
			fmt++;
	}
	va_end(args);
	if (cap > 0)
		buf[o.len < cap ? o.len : cap - 1] = '\0';
	return o.len > INT32_MAX ? -1 : (int)o.len;
}

int snprintf(char *restrict buf, size_t cap, const char *restrict fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	return n;
}
