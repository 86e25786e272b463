"""The compiled loop of compiled.py (numba, cached on disk): one block of whole lines at a time.

Imported only when a large CSV is read (numba's import and the cached machine code cost ~0.3 s)."""

from __future__ import annotations

import numpy as np
from numba import njit

# kinds and stores: as compiled.py numbers them
TEXT, PROVINCE, SECTION, INT_SET, INT_RANGE, FLAG, NUMBER, DATETIME = 1, 2, 3, 4, 5, 6, 7, 8
I8, I16, F64, CODE = 1, 2, 3, 4
R_RID, R_SUBMITTED, R_SECTION, R_DIVISION, R_FOUNDED, R_STATUS, R_INVEST, R_STAGE = range(8)
LONG_LINE = 100_000
ABORTED = -1
POW10 = np.array([10.0**k for k in range(16)])
FNV_OFFSET, FNV_PRIME = np.uint64(0xCBF29CE484222325), np.uint64(0x100000001B3)


@njit(cache=True, nogil=True, inline="always")
def _maybe_white(buf, i):
    """Whether the code point at i may be white space as str.strip() strips it (rules.WHITE): exact for
    ASCII; every code point of the blocks that hold the others (U+0080..U+00BF, U+1680.., U+2000..U+207F,
    U+3000..) counts, so a row with one of them at a cell's end goes to the full rules."""
    b = buf[i]
    if b < 0x80:
        return (9 <= b <= 13) or (28 <= b <= 32)
    if b == 0xC2:
        return True
    if b == 0xE1:
        return buf[i + 1] == 0x9A
    if b == 0xE2:
        return buf[i + 1] == 0x80 or buf[i + 1] == 0x81
    if b == 0xE3:
        return buf[i + 1] == 0x80
    return False


@njit(cache=True, nogil=True, inline="always")
def _isdigit(x):
    return 48 <= x <= 57


@njit(cache=True, nogil=True, inline="always")
def _canonical_int(buf, a, b):
    """(ok, value) of a whole number written as DuckDB writes a BIGINT back: -?(0|[1-9][0-9]*), ≤ 18 digits."""
    neg = False
    if a < b and buf[a] == 45:  # '-'
        neg = True
        a += 1
    n = b - a
    if n < 1 or n > 18:
        return False, 0
    if buf[a] == 48 and (n > 1 or neg):  # a leading zero, or -0
        return False, 0
    v = 0
    for i in range(a, b):
        d = int(buf[i]) - 48
        if d < 0 or d > 9:
            return False, 0
        v = v * 10 + d
    return True, -v if neg else v


@njit(cache=True, nogil=True, inline="always")
def _digits(buf, a, b):
    for i in range(a, b):  # noqa: SIM110 (a loop numba compiles)
        if not _isdigit(buf[i]):
            return False
    return True


@njit(cache=True, nogil=True)
def _datetime_year(buf, a, b):
    """The year of YYYY-MM-DD HH:MM:SS (a valid calendar time, year 1000..9999), else -1."""
    if b - a != 19:
        return -1
    if buf[a + 4] != 45 or buf[a + 7] != 45 or buf[a + 10] != 32 or buf[a + 13] != 58 or buf[a + 16] != 58:
        return -1
    for off in (0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18):
        if not _isdigit(buf[a + off]):
            return -1
    y = (np.int64(buf[a]) - 48) * 1000 + (buf[a + 1] - 48) * 100 + (buf[a + 2] - 48) * 10 + (buf[a + 3] - 48)
    mo = (buf[a + 5] - 48) * 10 + (buf[a + 6] - 48)
    d = (buf[a + 8] - 48) * 10 + (buf[a + 9] - 48)
    h = (buf[a + 11] - 48) * 10 + (buf[a + 12] - 48)
    mi = (buf[a + 14] - 48) * 10 + (buf[a + 15] - 48)
    s = (buf[a + 17] - 48) * 10 + (buf[a + 18] - 48)
    if y < 1000 or mo < 1 or mo > 12 or d < 1 or h > 23 or mi > 59 or s > 59:
        return -1
    if mo == 2:
        leap = (y % 4 == 0 and y % 100 != 0) or y % 400 == 0
        dim = 29 if leap else 28
    elif mo == 4 or mo == 6 or mo == 9 or mo == 11:
        dim = 30
    else:
        dim = 31
    if d > dim:
        return -1
    return y


@njit(cache=True, nogil=True)
def fnv(buf, a, b):
    """A 32-bit hash of bytes a..b (FNV-1a, 64 bits folded), never 0 (0 = no response_id). 32 bits: at 10M
    ids about 12,000 pairs share one by chance, and are told apart as text (compiled.duplicates); 64 would
    cost 80 MB more at the peak."""
    h = FNV_OFFSET
    for i in range(a, b):
        h = (h ^ np.uint64(buf[i])) * FNV_PRIME
    folded = np.uint32((h ^ (h >> np.uint64(32))) & np.uint64(0xFFFFFFFF))
    if folded == 0:
        folded = np.uint32(1)
    return folded


@njit(cache=True, nogil=True)
def hashes(buf, bounds):
    """fnv of each (start, end) of bounds over buf; 0 for an empty one."""
    out = np.zeros(bounds.shape[0], np.uint32)
    for r in range(bounds.shape[0]):
        if bounds[r, 1] > bounds[r, 0]:
            out[r] = fnv(buf, bounds[r, 0], bounds[r, 1])
    return out


@njit(cache=True, nogil=True, inline="always")
def _scan(buf, i, size):
    """The cell from i: (its end, where the next cell starts, whether the line ended, whether a byte is
    not plain: a quote, NUL, a carriage return that ends no line, not UTF-8)."""
    while i < size:
        c = buf[i]
        if c == 44:
            return i, i + 1, False, False
        if c == 10:
            return i, i + 1, True, False
        if c < 0x80:
            if c == 34 or c == 0:
                return i, i, True, True
            if c == 13:
                if i + 1 < size and buf[i + 1] == 10:
                    return i, i + 2, True, False
                return i, i, True, True
            i += 1
            continue
        if c < 0xC2 or c > 0xF4:  # UTF-8, strictly (as Python decodes it)
            return i, i, True, True
        n = 1 if c < 0xE0 else (2 if c < 0xF0 else 3)
        if i + n >= size:
            return i, i, True, True
        c1 = buf[i + 1]
        if (
            (c == 0xE0 and c1 < 0xA0)
            or (c == 0xED and c1 > 0x9F)
            or (c == 0xF0 and c1 < 0x90)
            or (c == 0xF4 and c1 > 0x8F)
        ):
            return i, i, True, True
        for k in range(1, n + 1):
            if buf[i + k] & 0xC0 != 0x80:
                return i, i, True, True
        i += n + 1
    return size, size, True, False


@njit(cache=True, nogil=True)
def parse(
    buf,
    width,
    kind,
    need,
    store,
    slot,
    lo,
    hi,
    has_lo,
    has_hi,
    allowed,
    maxlen,
    roles,
    links,
    province,
    n8,
    n16,
    nf,
    nc,
):
    """Check every non-empty line of buf (whole lines). (rows, ok, i8, i16, f64, code, rid_hash, start),
    or rows = ABORTED when a line is not plain (a quote, NUL, a lone carriage return, not UTF-8, too long)."""
    size = buf.shape[0]
    cap = 1
    for i in range(size):
        if buf[i] == 10:
            cap += 1
    ok = np.zeros(cap, np.uint8)
    i8 = np.empty((n8, cap), np.int8)
    i16 = np.empty((n16, cap), np.int16)
    f64 = np.empty((nf, cap), np.float64)
    code = np.empty((nc, cap), np.int8)
    rid_hash = np.zeros(cap, np.uint32)
    start = np.empty(cap, np.int32)
    cs = np.zeros(width, np.int64)
    ce = np.zeros(width, np.int64)
    rid_at, sub_at, sec_at, div_at = roles[R_RID], roles[R_SUBMITTED], roles[R_SECTION], roles[R_DIVISION]
    fy_at, st_at, inv_at, stg_at = roles[R_FOUNDED], roles[R_STATUS], roles[R_INVEST], roles[R_STAGE]
    row = 0
    i = 0
    while i < size:
        line = i
        if buf[i] == 10:  # an empty line is no row (as DuckDB reads it)
            i += 1
            continue
        if buf[i] == 13 and i + 1 < size and buf[i + 1] == 10:
            i += 2
            continue
        # the cells 0..width-1, each byte checked; a one-character flag or an empty cell before a comma
        # (most cells) without the byte loop
        p = 0
        eol = False
        while p < width and not eol:
            a = i
            if i < size and buf[i] == 44:
                cs[p] = a
                ce[p] = a
                i += 1
                p += 1
                continue
            if kind[p] == FLAG and i + 1 < size and buf[i + 1] == 44 and (buf[i] == 48 or buf[i] == 49):
                cs[p] = a
                ce[p] = a + 1
                i += 2
                p += 1
                continue
            b, i, eol, bad = _scan(buf, i, size)
            if bad:
                return ABORTED, ok, i8, i16, f64, code, rid_hash, start
            cs[p] = a
            ce[p] = b
            p += 1
        stop = ce[p - 1]
        if eol:
            for m in range(p, width):  # missing cells: empty
                cs[m] = stop
                ce[m] = stop
        while not eol:  # cells past the header's width: cut, but read
            b, i, eol, bad = _scan(buf, i, size)
            if bad:
                return ABORTED, ok, i8, i16, f64, code, rid_hash, start
        if i - line > LONG_LINE:
            return ABORTED, ok, i8, i16, f64, code, rid_hash, start
        start[row] = line
        good = True
        year = -1
        for p in range(width):
            kd = kind[p]
            if kd == 0:
                continue
            a, b = cs[p], ce[p]
            if a == b:
                if need[p]:
                    good = False
                    break
                st = store[p]
                if st == I8:
                    i8[slot[p], row] = -128
                elif st == I16:
                    i16[slot[p] + 1, row] = -32768
                elif st == F64:
                    f64[slot[p], row] = np.nan
                elif st == CODE:
                    code[slot[p], row] = -1
                continue
            st = store[p]
            if kd == FLAG:
                if b - a != 1 or (buf[a] != 48 and buf[a] != 49):
                    good = False
                    break
                if st == I8:
                    i8[slot[p], row] = buf[a] - 48
            elif kd in (INT_SET, INT_RANGE):
                fine, v = _canonical_int(buf, a, b)
                if not fine:
                    good = False
                    break
                if kd == INT_SET:
                    if v < 0 or v > 62 or (allowed[p] >> v) & 1 == 0:
                        good = False
                        break
                else:
                    if (has_lo[p] and v < lo[p]) or (has_hi[p] and v > hi[p]):
                        good = False
                        break
                if st == I8:
                    if v < -127 or v > 127:
                        good = False
                        break
                    i8[slot[p], row] = v
                elif st == I16:
                    if v < -32767 or v > 32767:
                        good = False
                        break
                    i16[slot[p] + 1, row] = v
            elif kd == NUMBER:
                dot = -1
                for q in range(a, b):
                    if buf[q] == 46:
                        dot = q
                        break
                ia, ib = a, (b if dot < 0 else dot)
                if ib - ia < 1 or ib - ia > 15 or not _digits(buf, ia, ib):
                    good = False
                    break
                k = 0
                if dot >= 0:
                    k = b - dot - 1
                    if k < 1 or k > 15 or not _digits(buf, dot + 1, b):
                        good = False
                        break
                # at most 15 significant digits: m / 10**k is then the correctly rounded double
                m = 0
                sig = 0
                for q in range(a, b):
                    if q == dot:
                        continue
                    d = buf[q] - 48
                    if sig > 0 or d != 0:
                        sig += 1
                    m = m * 10 + d if sig <= 15 else m
                if sig > 15:
                    good = False
                    break
                v = m / POW10[k]
                if has_lo[p] and v < lo[p]:
                    good = False
                    break
                if st == F64:
                    f64[slot[p], row] = v
            elif kd == DATETIME:
                y = _datetime_year(buf, a, b)
                if y < 0:
                    good = False
                    break
                if p == sub_at:
                    year = y
            elif kd == PROVINCE:
                if b - a != 2 or not _isdigit(buf[a]) or not _isdigit(buf[a + 1]):
                    good = False
                    break
                pc = province[(buf[a] - 48) * 10 + buf[a + 1] - 48]
                if pc < 0:
                    good = False
                    break
                if st == CODE:
                    code[slot[p], row] = pc
            elif kd == SECTION:
                if b - a != 1 or buf[a] < 65 or buf[a] >= 65 + hi[p]:
                    good = False
                    break
                if st == CODE:
                    code[slot[p], row] = buf[a] - 65
            else:  # TEXT: no white space at either end, at most maxlen code points
                if _maybe_white(buf, a):
                    good = False
                    break
                q = b - 1
                while buf[q] & 0xC0 == 0x80:
                    q -= 1
                if _maybe_white(buf, q):
                    good = False
                    break
                if maxlen[p] >= 0 and b - a > maxlen[p]:
                    n_cp = 0
                    for q in range(a, b):
                        if buf[q] & 0xC0 != 0x80:
                            n_cp += 1
                    if n_cp > maxlen[p]:
                        good = False
                        break
        if good and sec_at >= 0 and div_at >= 0:  # rule 3
            is_c = buf[cs[sec_at]] == 67
            if is_c != (ce[div_at] > cs[div_at]):
                good = False
        if good and st_at >= 0:  # rule 4
            adopter = ce[st_at] - cs[st_at] == 1 and buf[cs[st_at]] == 49
            if inv_at >= 0 and adopter != (ce[inv_at] > cs[inv_at]):
                good = False
            if stg_at >= 0 and adopter != (ce[stg_at] > cs[stg_at]):
                good = False
            for li in range(links.shape[0]):
                p = links[li]
                present = ce[p] > cs[p]
                if adopter:
                    if not present:
                        good = False
                elif present and not (ce[p] - cs[p] == 1 and buf[cs[p]] == 48):
                    good = False
        if good and sub_at >= 0 and fy_at >= 0:  # rule 5
            fine, fy = _canonical_int(buf, cs[fy_at], ce[fy_at])
            if not fine or fy > year:
                good = False
        if good:
            ok[row] = 1
            if n16 > 0:
                i16[0, row] = year
            if rid_at >= 0:
                rid_hash[row] = fnv(buf, cs[rid_at], ce[rid_at])
        row += 1
    return row, ok, i8, i16, f64, code, rid_hash, start


@njit(cache=True, nogil=True)
def members(values, ordered):
    """The indices of values found in `ordered` (increasing), without a temporary the size of values."""
    n = 0
    for i in range(values.shape[0]):
        j = np.searchsorted(ordered, values[i])
        if j < ordered.shape[0] and ordered[j] == values[i]:
            n += 1
    out = np.empty(n, np.int64)
    n = 0
    for i in range(values.shape[0]):
        j = np.searchsorted(ordered, values[i])
        if j < ordered.shape[0] and ordered[j] == values[i]:
            out[n] = i
            n += 1
    return out
