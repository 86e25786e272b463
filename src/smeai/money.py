"""Money and quantities: one set of types for forms, API, CLI and imports.

Money is stored and computed as integer fen (分). People type 元 or 万元 with decimals, and the
interchange format carries 万元 as a JSON number; those edges parse into `Decimal` (never float, so
0.1 万元 is exactly 1,000 元) and convert with `wan_to_fen` / `yuan_to_fen`. Every amount is finite
and bounded by `MAX_FEN`: a price of `Infinity` or `1e308` is a field error, never a stored value
that later overflows a ranking, a JSON export or a BIGINT column.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation, localcontext
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field

from smeai.i18n import N_

# The largest amount any smeai field accepts: 1,000 亿元 (10^13 fen). Far beyond any SME contract,
# voucher or programme budget, far inside a signed 64-bit integer and exactly representable as float.
MAX_YUAN = 100_000_000_000
MAX_WAN = MAX_YUAN // 10_000
MAX_FEN = MAX_YUAN * 100

# Field messages are msgids: forms and the API translate them where they are shown.
NOT_A_NUMBER = N_("Enter a number in ordinary digits, such as 30 or 12.5.")
TOO_LARGE = N_("Too large.")
BELOW_ONE_FEN = N_("Amounts are counted in whole fen (0.01 元).")
NEGATIVE = N_("Too small.")

# Quantities (tokens, hours, rows, counts) share one ceiling too: 10^12 fits BIGINT and float exactly.
MAX_QUANTITY = 10**12


# What a person may type: ASCII digits, one point, an exponent. Full-width digits (３０, typed with a
# Chinese IME) are folded to ASCII first (NFKC); other scripts' digits (٢٠٢٦), which Python's int()
# and Decimal() would silently accept, are refused.
_NUMBER_TEXT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", re.ASCII)


def plain_number_text(text: str) -> str:
    """`text` as an ASCII number, or ValueError. Thousands separators are not guessed at."""
    folded = unicodedata.normalize("NFKC", text).strip()
    if not _NUMBER_TEXT.fullmatch(folded):
        raise ValueError(NOT_A_NUMBER)
    return folded


def _finite_decimal(value: object) -> object:
    """Refuse what Decimal would accept but no amount can be: NaN, ±Infinity, 1e999, booleans."""
    if isinstance(value, bool):
        raise ValueError(NOT_A_NUMBER)
    if isinstance(value, str):
        value = plain_number_text(value)
    if isinstance(value, float | int | str | Decimal):
        try:
            number = Decimal(str(value)) if not isinstance(value, Decimal) else value
        except InvalidOperation:
            raise ValueError(NOT_A_NUMBER) from None
        if not number.is_finite():
            raise ValueError(NOT_A_NUMBER)
        # Bound the magnitude before any arithmetic: Decimal("1e999999999") * 100 is slow and huge.
        if number.adjusted() > 20:
            raise ValueError(TOO_LARGE)
        return number
    return value


def _cents(places: int):
    def check(value: Decimal) -> Decimal:
        if value != value.quantize(Decimal(1).scaleb(-places)):
            raise ValueError(BELOW_ONE_FEN)
        return value

    return check


# 元 with at most 2 decimals (fen), 0 < amount ≤ MAX_YUAN. The form boxes and the API use this.
Yuan = Annotated[
    Decimal,
    BeforeValidator(_finite_decimal),
    Field(gt=0, le=MAX_YUAN),
    AfterValidator(_cents(2)),
]
# 万元 with at most 6 decimals (fen again), 0 ≤ amount ≤ MAX_WAN: prices and budgets in 万元.
Wan = Annotated[
    Decimal,
    BeforeValidator(_finite_decimal),
    Field(ge=0, le=MAX_WAN),
    AfterValidator(_cents(6)),
]
# Integer fen, 0 ≤ amount ≤ MAX_FEN (strict: true and "8" are not amounts).
Fen = Annotated[int, Field(ge=0, le=MAX_FEN, strict=True)]
PositiveFen = Annotated[int, Field(gt=0, le=MAX_FEN, strict=True)]
Quantity = Annotated[int, Field(ge=0, le=MAX_QUANTITY, strict=True)]


def yuan_to_fen(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def wan_to_fen(amount: Decimal) -> int:
    return int((amount * 1_000_000).to_integral_value())


def fen_to_wan(fen: int) -> Decimal:
    """Exact: 1 fen is 0.000001 万元; `normalize` drops trailing zeros (30 万元 prints as 30)."""
    value = (Decimal(fen) / 1_000_000).normalize()
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value


def fen_to_yuan(fen: int) -> Decimal:
    return Decimal(fen) / 100


def typed_fen(raw: object, fen_per_unit: int) -> int | None:
    """An amount a person typed in a box (元: 100 fen per unit, 万元: 1,000,000) as whole fen, or None
    when the box is blank. ValueError (a msgid) for anything no amount can be: other scripts' digits,
    NaN, 1e999, a negative number, less than a fen, more than MAX_FEN."""
    typed = str(raw if raw is not None else "").strip()
    if not typed:
        return None
    if len(typed) > 50:
        raise ValueError(TOO_LARGE)
    number = _finite_decimal(typed)
    assert isinstance(number, Decimal)
    if number < 0:
        raise ValueError(NEGATIVE)
    with localcontext() as ctx:
        ctx.prec = 80  # exact: at most 50 typed digits times 10^6
        fen = number * fen_per_unit
    if fen != fen.to_integral_value():
        raise ValueError(BELOW_ONE_FEN)
    if fen > MAX_FEN:
        raise ValueError(TOO_LARGE)
    return int(fen)
