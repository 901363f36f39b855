#include <stdarg.h>
int jio_vsnprintf(char *b, size_t n, const char *f, va_list a) { return vsnprintf(b, n, f, a); }
int jio_snprintf(char *b, size_t n, const char *f, ...) { va_list a; va_start(a, f); int r = vsnprintf(b, n, f, a); va_end(a); return r; }
int jio_vfprintf(FILE *s, const char *f, va_list a) { return vfprintf(s, f, a); }
int jio_fprintf(FILE *s, const char *f, ...) { va_list a; va_start(a, f); int r = vfprintf(s, f, a); va_end(a); return r; }
