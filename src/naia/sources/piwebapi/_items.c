/* PI Web API ``Items`` arrays of TimedValues → column buffers, without a Python object a value.
 *
 * ``decode(buffer)`` reads one JSON array of TimedValue objects (the ``Items`` of
 * ``/streams/{id}/recorded`` or of one stream of ``/streamsets/recorded``) and returns
 * ``(n, ts_us, value, good, questionable, substituted, annotated, rare, states)``:
 *
 * - ``ts_us``: n little-endian int64, µs since the epoch (``...Z`` timestamps with 0-9
 *   fractional digits; digits past the µs are floored away, as the Arrow cast + floor does);
 * - ``value``: n float64 (numbers as JSON states them, correctly rounded; true/false → 1/0;
 *   states, strings and nulls → NaN);
 * - ``good`` .. ``annotated``: n bytes 0/1 (Good defaults to 1, the others to 0);
 * - ``rare``: whether any Questionable/Substituted/Annotated is true;
 * - ``states``: None when no value is a state or a string, else ``(validity, offsets, data)``,
 *   the three buffers of an Arrow string array (the state's ``Name`` or the string).
 *
 * It returns None — and the caller decodes the array the per-value way, which gives the exact
 * result or the exact error — for anything outside that common shape: another timestamp form
 * (an offset, a space), a string with escapes or invalid UTF-8, a value of another JSON type,
 * a flag that is not a bool, a number out of range, a missing Timestamp, malformed JSON.
 *
 * ``streamset(body)`` and ``batch(body)`` read a whole ``/streamsets/recorded`` or ``POST /batch``
 * body in the same pass: ``[(WebId or sub-request name or None, tuple as above), ...]`` in body
 * order, or None for anything but the plain success shape (a WebException, Errors or Message
 * that is not null, a sub-response status other than 200, a missing Content, a repeated key,
 * an Items array ``decode`` would refuse): the caller then decodes the body with msgspec.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *data;
    size_t len;
    size_t cap;
} Buf;

static inline int buf_reserve(Buf *b, size_t extra) {
    if (b->len + extra <= b->cap) {
        return 0;
    }
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra) {
        cap *= 2;
    }
    char *grown = realloc(b->data, cap);
    if (grown == NULL) {
        return -1;
    }
    b->data = grown;
    b->cap = cap;
    return 0;
}

static inline int buf_put(Buf *b, const void *src, size_t n) {
    if (buf_reserve(b, n) < 0) {
        return -1;
    }
    memcpy(b->data + b->len, src, n);
    b->len += n;
    return 0;
}

typedef struct {
    const unsigned char *p;
    const unsigned char *end;
} Cur;

static inline void ws(Cur *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t')) {
        c->p++;
    }
}

/* A string without escapes: [*s, *s + *n). 0 on success, -1 when it is not one. */
static inline int plain_string(Cur *c, const unsigned char **s, size_t *n) {
    const unsigned char *p = c->p, *e = c->end;
    if (p >= e || *p != '"') {
        return -1;
    }
    const unsigned char *start = ++p;
    for (; p < e; p++) {
        unsigned char ch = *p;
        if (ch == '"') {
            *s = start;
            *n = (size_t)(p - start);
            c->p = p + 1;
            return 0;
        }
        if (ch == '\\' || ch < 0x20) {
            return -1;
        }
    }
    return -1;
}

static int utf8_valid(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned char b = s[i];
        if (b < 0x80) {
            i++;
            continue;
        }
        size_t k;
        uint32_t cp;
        if ((b & 0xE0) == 0xC0) {
            k = 1;
            cp = b & 0x1F;
        } else if ((b & 0xF0) == 0xE0) {
            k = 2;
            cp = b & 0x0F;
        } else if ((b & 0xF8) == 0xF0) {
            k = 3;
            cp = b & 0x07;
        } else {
            return 0;
        }
        if (i + k >= n) {
            return 0;
        }
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80) {
                return 0;
            }
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return 0;
        }
        i += k + 1;
    }
    return 1;
}

static inline int literal(Cur *c, const char *word, size_t n) {
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0) {
        return -1;
    }
    c->p += n;
    return 0;
}

/* true/false → 1/0; anything else → -1. */
static inline int boolean(Cur *c) {
    if (literal(c, "true", 4) == 0) {
        return 1;
    }
    if (literal(c, "false", 5) == 0) {
        return 0;
    }
    return -1;
}

static const double POW10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                               1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                               1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

#if LDBL_MANT_DIG == 64
static const long double POW10L[] = {
    1e0L,  1e1L,  1e2L,  1e3L,  1e4L,  1e5L,  1e6L,  1e7L,  1e8L,  1e9L,
    1e10L, 1e11L, 1e12L, 1e13L, 1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L,
    1e20L, 1e21L, 1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L};
#endif

/* A JSON number → double, correctly rounded (exact fast path, else strtod on a copy).
 * ``integer`` is set when it has neither fraction nor exponent. 0 on success, -1 otherwise. */
static int number(Cur *c, double *out, int *integer) {
    const unsigned char *s = c->p, *p = c->p, *e = c->end;
    int neg = 0;
    uint64_t mant = 0;
    int digits = 0, scale = 0;
    if (p < e && *p == '-') {
        neg = 1;
        p++;
    }
    if (p >= e || *p < '0' || *p > '9') {
        return -1;
    }
    if (*p == '0') {
        p++;
    } else {
        while (p < e && *p >= '0' && *p <= '9') {
            if (digits < 19) {
                mant = mant * 10 + (uint64_t)(*p - '0');
                if (mant) {
                    digits++;
                }
            } else {
                digits = 99;
            }
            p++;
        }
    }
    *integer = 1;
    if (p < e && *p == '.') {
        *integer = 0;
        p++;
        if (p >= e || *p < '0' || *p > '9') {
            return -1;
        }
        while (p < e && *p >= '0' && *p <= '9') {
            if (digits < 19) {
                mant = mant * 10 + (uint64_t)(*p - '0');
                if (mant) {
                    digits++;
                }
                scale--;
            } else {
                digits = 99;
            }
            p++;
        }
    }
    int exp10 = 0;
    if (p < e && (*p == 'e' || *p == 'E')) {
        *integer = 0;
        p++;
        int eneg = 0;
        if (p < e && (*p == '+' || *p == '-')) {
            eneg = *p == '-';
            p++;
        }
        if (p >= e || *p < '0' || *p > '9') {
            return -1;
        }
        while (p < e && *p >= '0' && *p <= '9') {
            if (exp10 < 100000) {
                exp10 = exp10 * 10 + (*p - '0');
            }
            p++;
        }
        if (eneg) {
            exp10 = -exp10;
        }
    }
    c->p = p;
    int total = scale + exp10;
    if (digits <= 19 && mant < ((uint64_t)1 << 53) && total >= -22 && total <= 22) {
        /* mantissa and power of ten both exact doubles: one correctly rounded operation */
        double v = (double)mant;
        v = total < 0 ? v / POW10[-total] : v * POW10[total];
        *out = neg ? -v : v;
        return 0;
    }
#if LDBL_MANT_DIG == 64
    if (digits <= 19 && total >= -27 && total <= 27) {
        /* up to 19 digits: exact in a 64-bit mantissa, as is 10^27; one correctly rounded
         * extended operation, then to double — exact unless the extended result lies at a
         * hair from a midpoint between two doubles (then strtod decides) */
        long double v = (long double)mant;
        v = total < 0 ? v / POW10L[-total] : v * POW10L[total];
        uint64_t bits;
        memcpy(&bits, &v, sizeof bits);
        unsigned low = (unsigned)(bits & 0x7FF);
        if (low < 0x3FF || low > 0x401) {
            double d = (double)v;
            *out = neg ? -d : d;
            return 0;
        }
    }
#endif
    size_t n = (size_t)(p - s);
    char tmp[128];
    if (n >= sizeof tmp) {
        return -1;
    }
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    double v = strtod(tmp, NULL);
    if (!isfinite(v)) {
        return -1; /* out of range: the per-value path says so */
    }
    *out = v;
    return 0;
}

static int skip_value(Cur *c, int depth);

static int skip_string(Cur *c) {
    if (c->p >= c->end || *c->p != '"') {
        return -1;
    }
    c->p++;
    while (c->p < c->end) {
        unsigned char ch = *c->p++;
        if (ch == '"') {
            return 0;
        }
        if (ch == '\\') {
            if (c->p >= c->end) {
                return -1;
            }
            c->p++;
        } else if (ch < 0x20) {
            return -1;
        }
    }
    return -1;
}

static int skip_value(Cur *c, int depth) {
    double d;
    int integer;
    if (depth > 64) {
        return -1;
    }
    ws(c);
    if (c->p >= c->end) {
        return -1;
    }
    switch (*c->p) {
    case '"':
        return skip_string(c);
    case 't':
        return literal(c, "true", 4);
    case 'f':
        return literal(c, "false", 5);
    case 'n':
        return literal(c, "null", 4);
    case '[':
    case '{': {
        unsigned char close = *c->p == '[' ? ']' : '}';
        int object = close == '}';
        c->p++;
        ws(c);
        if (c->p < c->end && *c->p == close) {
            c->p++;
            return 0;
        }
        for (;;) {
            if (object) {
                ws(c);
                if (skip_string(c) < 0) {
                    return -1;
                }
                ws(c);
                if (c->p >= c->end || *c->p != ':') {
                    return -1;
                }
                c->p++;
            }
            if (skip_value(c, depth + 1) < 0) {
                return -1;
            }
            ws(c);
            if (c->p >= c->end) {
                return -1;
            }
            if (*c->p == ',') {
                c->p++;
                continue;
            }
            if (*c->p == close) {
                c->p++;
                return 0;
            }
            return -1;
        }
    }
    default:
        return number(c, &d, &integer);
    }
}

/* ``k``/``n`` spell ``name`` (a literal: its length is known when compiling). */
#define key_is(k, n, name) ((n) == sizeof(name) - 1 && memcmp((k), (name), sizeof(name) - 1) == 0)

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int digits_at(const unsigned char *s, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* "YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z" → µs since the epoch; -1 for any other form. */
static int timestamp(const unsigned char *s, size_t n, int64_t *out) {
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, se;
    if (n < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
        s[n - 1] != 'Z') {
        return -1;
    }
    if (digits_at(s, 4, &y) || digits_at(s + 5, 2, &mo) || digits_at(s + 8, 2, &d) ||
        digits_at(s + 11, 2, &h) || digits_at(s + 14, 2, &mi) || digits_at(s + 17, 2, &se)) {
        return -1;
    }
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 59) {
        return -1;
    }
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[mo - 1] + (mo == 2 && leap)) {
        return -1;
    }
    int64_t micro = 0;
    if (n > 20) {
        size_t frac = n - 21; /* between '.' and 'Z' */
        if (s[19] != '.' || frac < 1 || frac > 9) {
            return -1;
        }
        for (size_t i = 0; i < frac; i++) {
            unsigned char ch = s[20 + i];
            if (ch < '0' || ch > '9') {
                return -1;
            }
            if (i < 6) {
                micro = micro * 10 + (ch - '0');
            }
        }
        for (size_t i = frac; i < 6; i++) {
            micro *= 10;
        }
    }
    int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
    *out = ((days * 86400 + h * 3600 + mi * 60 + se) * 1000000) + micro;
    return 0;
}

typedef struct {
    Buf ts, value, good, quest, subst, annot, validity, offsets, data;
    Py_ssize_t n;
    int rare;
    int states;
} Out;

static void out_free(Out *o) {
    free(o->ts.data);
    free(o->value.data);
    free(o->good.data);
    free(o->quest.data);
    free(o->subst.data);
    free(o->annot.data);
    free(o->validity.data);
    free(o->offsets.data);
    free(o->data.data);
}

/* Record a state name for value ``i`` (earlier values get null slots first). */
static int put_state(Out *o, Py_ssize_t i, const unsigned char *s, size_t len) {
    if (!utf8_valid(s, len)) {
        return -1;
    }
    if (!o->states) {
        /* first state: the values before it are nulls */
        o->states = 1;
        int32_t zero = 0;
        if (buf_put(&o->offsets, &zero, 4) < 0) {
            return -1;
        }
    }
    /* pad offsets for nulls up to i */
    while ((Py_ssize_t)(o->offsets.len / 4) < i + 1) {
        int32_t last = (int32_t)o->data.len;
        if (buf_put(&o->offsets, &last, 4) < 0) {
            return -1;
        }
    }
    if (o->data.len + len > INT32_MAX || buf_put(&o->data, s, len) < 0) {
        return -1;
    }
    int32_t end = (int32_t)o->data.len;
    if (buf_put(&o->offsets, &end, 4) < 0) {
        return -1;
    }
    size_t byte = (size_t)(i / 8);
    if (o->validity.len <= byte) {
        size_t grow = byte + 1 - o->validity.len;
        if (buf_reserve(&o->validity, grow) < 0) {
            return -1;
        }
        memset(o->validity.data + o->validity.len, 0, grow);
        o->validity.len = byte + 1;
    }
    o->validity.data[byte] |= (char)(1u << (i % 8));
    return 0;
}

/* Calls ``member(c, key, len, ctx)`` for each member of an object, the cursor on its value. */
typedef int (*Member)(Cur *c, const unsigned char *k, size_t kn, void *ctx);

static int object(Cur *c, Member member, void *ctx) {
    ws(c);
    if (c->p >= c->end || *c->p != '{') {
        return -1;
    }
    c->p++;
    ws(c);
    if (c->p < c->end && *c->p == '}') {
        c->p++;
        return 0;
    }
    for (;;) {
        const unsigned char *k;
        size_t kn;
        ws(c);
        if (plain_string(c, &k, &kn) < 0) {
            return -1;
        }
        ws(c);
        if (c->p >= c->end || *c->p != ':') {
            return -1;
        }
        c->p++;
        ws(c);
        if (member(c, k, kn, ctx) < 0) {
            return -1;
        }
        ws(c);
        if (c->p >= c->end) {
            return -1;
        }
        if (*c->p == ',') {
            c->p++;
            continue;
        }
        if (*c->p == '}') {
            c->p++;
            return 0;
        }
        return -1;
    }
}

typedef struct {
    const unsigned char *name;
    size_t len;
} StateName;

static int state_member(Cur *c, const unsigned char *k, size_t kn, void *ctx) {
    StateName *x = ctx;
    if (key_is(k, kn, "Name")) {
        return plain_string(c, &x->name, &x->len);
    }
    if (key_is(k, kn, "Value")) {
        if (literal(c, "null", 4) < 0) {
            double d;
            int integer;
            const unsigned char *s = c->p;
            if (number(c, &d, &integer) < 0 || !integer || c->p - s > 18) {
                return -1;
            }
        }
        return 0;
    }
    if (key_is(k, kn, "IsSystem")) {
        return boolean(c) < 0 ? -1 : 0;
    }
    return skip_value(c, 1);
}

/* The state object {"Name": str, "Value": int|null, "IsSystem": bool}: its name. */
static int state_object(Cur *c, const unsigned char **name, size_t *len) {
    static const unsigned char empty[] = "";
    StateName x = {empty, 0};
    if (object(c, state_member, &x) < 0) {
        return -1;
    }
    *name = x.name;
    *len = x.len;
    return 0;
}

/* A TimedValue's keys in the order PI Web API writes them, each with its quotes and colon. */
enum { K_TIMESTAMP, K_VALUE, K_GOOD, K_QUESTIONABLE, K_SUBSTITUTED, K_ANNOTATED, N_KEYS };
#define KEY(name) {"\"" name "\":", sizeof(name) + 2}
static const struct {
    const char *text;
    size_t len;
} KEYS[N_KEYS] = {KEY("Timestamp"),    KEY("Value"),       KEY("Good"),
                  KEY("Questionable"), KEY("Substituted"), KEY("Annotated")};

/* One TimedValue object; appends one row to every column. */
static int timed_value(Cur *c, Out *o) {
    int64_t ts = 0;
    int have_ts = 0;
    double value = NAN;
    unsigned char good = 1, quest = 0, subst = 0, annot = 0;
    const unsigned char *state = NULL;
    size_t state_len = 0;
    ws(c);
    if (c->p >= c->end || *c->p != '{') {
        return -1;
    }
    c->p++;
    ws(c);
    if (c->p < c->end && *c->p == '}') {
        return -1; /* no Timestamp */
    }
    int expect = 0; /* the key PI Web API sends next, in its own order */
    for (;;) {
        const unsigned char *k = NULL;
        size_t kn = 0;
        int key = -1;
        ws(c);
        if (expect < N_KEYS && (size_t)(c->end - c->p) > KEYS[expect].len &&
            memcmp(c->p, KEYS[expect].text, KEYS[expect].len) == 0) {
            key = expect; /* the common case: the next key in order, quotes and colon at once */
            c->p += KEYS[expect].len;
        } else {
            if (plain_string(c, &k, &kn) < 0) {
                return -1;
            }
            ws(c);
            if (c->p >= c->end || *c->p != ':') {
                return -1;
            }
            c->p++;
        }
        ws(c);
        if (c->p >= c->end) {
            return -1;
        }
        if (key < 0) {
            key = key_is(k, kn, "Timestamp")      ? K_TIMESTAMP
                  : key_is(k, kn, "Value")        ? K_VALUE
                  : key_is(k, kn, "Good")         ? K_GOOD
                  : key_is(k, kn, "Questionable") ? K_QUESTIONABLE
                  : key_is(k, kn, "Substituted")  ? K_SUBSTITUTED
                  : key_is(k, kn, "Annotated")    ? K_ANNOTATED
                                                  : N_KEYS;
        }
        expect = key + 1;
        if (key == K_TIMESTAMP) {
            const unsigned char *s;
            size_t n;
            if (plain_string(c, &s, &n) < 0 || timestamp(s, n, &ts) < 0) {
                return -1;
            }
            have_ts = 1;
        } else if (key == K_VALUE) {
            unsigned char ch = *c->p;
            state = NULL;
            value = NAN;
            if (ch == '{') {
                if (state_object(c, &state, &state_len) < 0) {
                    return -1;
                }
            } else if (ch == '"') {
                if (plain_string(c, &state, &state_len) < 0) {
                    return -1;
                }
            } else if (ch == 'n') {
                if (literal(c, "null", 4) < 0) {
                    return -1;
                }
            } else if (ch == 't' || ch == 'f') {
                int b = boolean(c);
                if (b < 0) {
                    return -1;
                }
                value = b;
            } else {
                int integer;
                if (number(c, &value, &integer) < 0) {
                    return -1;
                }
            }
        } else if (key == K_GOOD) {
            int b = boolean(c);
            if (b < 0) {
                return -1;
            }
            good = (unsigned char)b;
        } else if (key == K_QUESTIONABLE) {
            int b = boolean(c);
            if (b < 0) {
                return -1;
            }
            quest = (unsigned char)b;
        } else if (key == K_SUBSTITUTED) {
            int b = boolean(c);
            if (b < 0) {
                return -1;
            }
            subst = (unsigned char)b;
        } else if (key == K_ANNOTATED) {
            int b = boolean(c);
            if (b < 0) {
                return -1;
            }
            annot = (unsigned char)b;
        } else if (skip_value(c, 1) < 0) {
            return -1;
        }
        ws(c);
        if (c->p >= c->end) {
            return -1;
        }
        if (*c->p == ',') {
            c->p++;
            continue;
        }
        if (*c->p == '}') {
            c->p++;
            break;
        }
        return -1;
    }
    if (!have_ts) {
        return -1;
    }
    if (state != NULL && put_state(o, o->n, state, state_len) < 0) {
        return -1;
    }
    if (buf_put(&o->ts, &ts, 8) < 0 || buf_put(&o->value, &value, 8) < 0 ||
        buf_put(&o->good, &good, 1) < 0 || buf_put(&o->quest, &quest, 1) < 0 ||
        buf_put(&o->subst, &subst, 1) < 0 || buf_put(&o->annot, &annot, 1) < 0) {
        return -1;
    }
    o->rare |= quest | subst | annot;
    o->n++;
    return 0;
}

/* Calls ``element(c, ctx)`` for each element of an array; leaves the cursor after its ']'. */
typedef int (*Element)(Cur *c, void *ctx);

static inline int array(Cur *c, Element element, void *ctx) {
    ws(c);
    if (c->p >= c->end || *c->p != '[') {
        return -1;
    }
    c->p++;
    ws(c);
    if (c->p < c->end && *c->p == ']') {
        c->p++;
        return 0;
    }
    for (;;) {
        if (element(c, ctx) < 0) {
            return -1;
        }
        ws(c);
        if (c->p >= c->end) {
            return -1;
        }
        if (*c->p == ',') {
            c->p++;
            continue;
        }
        if (*c->p == ']') {
            c->p++;
            return 0;
        }
        return -1;
    }
}

static int timed_value_element(Cur *c, void *ctx) { return timed_value(c, (Out *)ctx); }

/* One array of TimedValues; leaves the cursor after its ']'. */
static int items_array(Cur *c, Out *o) { return array(c, timed_value_element, o); }

static int out_reserve(Out *o, size_t bytes) {
    /* room for the rows a body of this size usually holds (~50+ bytes a value): few regrowths */
    size_t rows = bytes / 48 + 16;
    return buf_reserve(&o->ts, rows * 8) || buf_reserve(&o->value, rows * 8) ||
           buf_reserve(&o->good, rows) || buf_reserve(&o->quest, rows) ||
           buf_reserve(&o->subst, rows) || buf_reserve(&o->annot, rows);
}

/* The whole buffer is one array of TimedValues. */
static int items(Cur *c, Out *o) {
    if (out_reserve(o, (size_t)(c->end - c->p)) || items_array(c, o)) {
        return -1;
    }
    ws(c);
    return c->p == c->end ? 0 : -1;
}

/* --- envelopes: a streamset body, a batch body ---------------------------------------------
 * Only the plain success shape is read here; any WebException, Errors or Message that is not
 * null, a status other than 200, a missing Content, a repeated key: -1, and the caller decodes
 * the body with msgspec, which reports it exactly. */

typedef struct {
    Out out;
    const unsigned char *key; /* WebId (streamset) or the sub-request's name (batch) */
    size_t key_len;
    int has_key;
} Stream;

typedef struct {
    Stream *items;
    size_t n, cap;
} Streams;

static void streams_free(Streams *s) {
    for (size_t i = 0; i < s->n; i++) {
        out_free(&s->items[i].out);
    }
    free(s->items);
}

static Stream *streams_add(Streams *s) {
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        Stream *grown = realloc(s->items, cap * sizeof *grown);
        if (grown == NULL) {
            return NULL;
        }
        s->items = grown;
        s->cap = cap;
    }
    Stream *st = &s->items[s->n++];
    memset(st, 0, sizeof *st);
    return st;
}

static int null_or_bail(Cur *c) { return literal(c, "null", 4); }

typedef struct {
    Stream *st;
    int seen_items, seen_webid;
    size_t hint;
} StreamCtx;

static int stream_member(Cur *c, const unsigned char *k, size_t kn, void *ctx) {
    StreamCtx *x = ctx;
    if (key_is(k, kn, "Items")) {
        if (x->seen_items++ || out_reserve(&x->st->out, x->hint)) {
            return -1;
        }
        return items_array(c, &x->st->out);
    }
    if (key_is(k, kn, "WebId")) {
        if (x->seen_webid++) {
            return -1;
        }
        if (literal(c, "null", 4) == 0) {
            return 0;
        }
        x->st->has_key = 1;
        return plain_string(c, &x->st->key, &x->st->key_len);
    }
    if (key_is(k, kn, "WebException") || key_is(k, kn, "Errors") || key_is(k, kn, "Message")) {
        return null_or_bail(c);
    }
    return skip_value(c, 1);
}

static int stream_object(Cur *c, Stream *st, size_t hint) {
    StreamCtx x = {st, 0, 0, hint};
    return object(c, stream_member, &x);
}

typedef struct {
    Streams *streams;
    int seen_items;
    size_t hint;
} SetCtx;

/* One stream of a streamset's ``Items``. */
static int stream_element(Cur *c, void *ctx) {
    SetCtx *x = ctx;
    Stream *st = streams_add(x->streams);
    return st == NULL ? -1 : stream_object(c, st, x->hint);
}

static int streamset_member(Cur *c, const unsigned char *k, size_t kn, void *ctx) {
    SetCtx *x = ctx;
    if (key_is(k, kn, "WebException")) {
        return null_or_bail(c);
    }
    if (!key_is(k, kn, "Items")) {
        return skip_value(c, 1);
    }
    if (x->seen_items++) {
        return -1;
    }
    return array(c, stream_element, x);
}

typedef struct {
    Stream *st;
    int status_ok, seen_status, seen_content;
    size_t hint;
} SubCtx;

static int sub_member(Cur *c, const unsigned char *k, size_t kn, void *ctx) {
    SubCtx *x = ctx;
    if (key_is(k, kn, "Status")) {
        if (x->seen_status++ || literal(c, "200", 3) < 0) {
            return -1;
        }
        x->status_ok = c->p < c->end && (*c->p < '0' || *c->p > '9') && *c->p != '.' &&
                       *c->p != 'e' && *c->p != 'E';
        return x->status_ok ? 0 : -1;
    }
    if (key_is(k, kn, "Content")) {
        if (x->seen_content++) {
            return -1;
        }
        return stream_object(c, x->st, x->hint);
    }
    return skip_value(c, 1);
}

static int batch_member(Cur *c, const unsigned char *k, size_t kn, void *ctx) {
    SetCtx *x = ctx;
    Stream *st = streams_add(x->streams);
    if (st == NULL) {
        return -1;
    }
    st->key = k;
    st->key_len = kn;
    st->has_key = 1;
    SubCtx sub = {st, 0, 0, 0, x->hint};
    if (object(c, sub_member, &sub) < 0 || !sub.status_ok || !sub.seen_content) {
        return -1;
    }
    return 0;
}

static int whole(Cur *c, Member member, SetCtx *x) {
    if (object(c, member, x) < 0) {
        return -1;
    }
    ws(c);
    return c->p == c->end ? 0 : -1;
}

static PyObject *as_bytes(Buf *b) {
    return PyBytes_FromStringAndSize(b->data ? b->data : "", (Py_ssize_t)b->len);
}

static PyObject *states_tuple(Out *o) {
    if (!o->states) {
        Py_RETURN_NONE;
    }
    /* trailing nulls: offsets up to n, validity bytes up to ceil(n / 8) */
    while ((Py_ssize_t)(o->offsets.len / 4) < o->n + 1) {
        int32_t last = (int32_t)o->data.len;
        if (buf_put(&o->offsets, &last, 4) < 0) {
            return PyErr_NoMemory();
        }
    }
    size_t bytes = (size_t)((o->n + 7) / 8);
    if (o->validity.len < bytes) {
        size_t grow = bytes - o->validity.len;
        if (buf_reserve(&o->validity, grow) < 0) {
            return PyErr_NoMemory();
        }
        memset(o->validity.data + o->validity.len, 0, grow);
        o->validity.len = bytes;
    }
    return Py_BuildValue("(NNN)", as_bytes(&o->validity), as_bytes(&o->offsets),
                         as_bytes(&o->data));
}

static PyObject *out_tuple(Out *o) {
    PyObject *states = states_tuple(o);
    if (states == NULL) {
        return NULL;
    }
    return Py_BuildValue("(nNNNNNNON)", o->n, as_bytes(&o->ts), as_bytes(&o->value),
                         as_bytes(&o->good), as_bytes(&o->quest), as_bytes(&o->subst),
                         as_bytes(&o->annot), o->rare ? Py_True : Py_False, states);
}

static PyObject *decode(PyObject *self, PyObject *arg) {
    (void)self;
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    Out o;
    memset(&o, 0, sizeof o);
    Cur c = {(const unsigned char *)view.buf, (const unsigned char *)view.buf + view.len};
    int failed;
    Py_BEGIN_ALLOW_THREADS;
    failed = items(&c, &o);
    Py_END_ALLOW_THREADS;
    PyBuffer_Release(&view);
    if (failed) {
        out_free(&o);
        Py_RETURN_NONE;
    }
    PyObject *result = out_tuple(&o);
    out_free(&o);
    return result;
}

/* ``streamset(body)`` / ``batch(body)``: [(WebId or name or None, columns tuple), ...]. */
static PyObject *envelope(PyObject *arg, Member member) {
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    Streams streams = {NULL, 0, 0};
    Cur c = {(const unsigned char *)view.buf, (const unsigned char *)view.buf + view.len};
    SetCtx x = {&streams, 0, 0};
    int failed;
    Py_BEGIN_ALLOW_THREADS;
    x.hint = 4096; /* per stream: grown as it fills */
    failed = whole(&c, member, &x);
    Py_END_ALLOW_THREADS;
    PyObject *result = NULL;
    if (failed) {
        result = Py_None;
        Py_INCREF(result);
    } else {
        result = PyList_New((Py_ssize_t)streams.n);
        for (size_t i = 0; result != NULL && i < streams.n; i++) {
            Stream *st = &streams.items[i];
            PyObject *key = st->has_key ? PyUnicode_DecodeUTF8((const char *)st->key,
                                                               (Py_ssize_t)st->key_len, NULL)
                                        : (Py_INCREF(Py_None), Py_None);
            PyObject *cols = key != NULL ? out_tuple(&st->out) : NULL;
            PyObject *pair = cols != NULL ? Py_BuildValue("(NN)", key, cols) : NULL;
            if (pair == NULL) {
                Py_XDECREF(key);
                Py_CLEAR(result);
                break;
            }
            PyList_SET_ITEM(result, (Py_ssize_t)i, pair);
        }
    }
    streams_free(&streams);
    PyBuffer_Release(&view);
    return result;
}

static PyObject *streamset(PyObject *self, PyObject *arg) {
    (void)self;
    return envelope(arg, streamset_member);
}

static PyObject *batch(PyObject *self, PyObject *arg) {
    (void)self;
    return envelope(arg, batch_member);
}

static PyMethodDef METHODS[] = {
    {"decode", decode, METH_O,
     "decode(items) -> tuple | None: one JSON array of TimedValues as column buffers."},
    {"streamset", streamset, METH_O,
     "streamset(body) -> [(WebId | None, tuple)] | None: a /streamsets/recorded body."},
    {"batch", batch, METH_O,
     "batch(body) -> [(name, tuple)] | None: a /batch body of recorded sub-requests, all 200."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef MODULE = {
    PyModuleDef_HEAD_INIT, "_items", "PI Web API Items arrays → column buffers.", -1, METHODS,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__items(void) { return PyModule_Create(&MODULE); }
