"""smeai.money: the bounds, the exact conversions and what a typed amount may be, edge by edge.

Written against the mutants of scripts/mutation.py (docs/testing.md): each boundary is tested on both
sides, so a `<` that became `<=` or a bound moved by one fails here.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import TypeAdapter, ValidationError

from smeai import money
from smeai.money import (
    BELOW_ONE_FEN,
    MAX_FEN,
    MAX_QUANTITY,
    MAX_WAN,
    MAX_YUAN,
    NEGATIVE,
    NOT_A_NUMBER,
    TOO_LARGE,
    Fen,
    PositiveFen,
    Quantity,
    Wan,
    Yuan,
    fen_to_wan,
    fen_to_yuan,
    plain_number_text,
    typed_fen,
    wan_to_fen,
    yuan_to_fen,
)

YUAN, WAN = TypeAdapter(Yuan), TypeAdapter(Wan)
FEN, POSITIVE_FEN, QUANTITY = TypeAdapter(Fen), TypeAdapter(PositiveFen), TypeAdapter(Quantity)


def _refused(adapter: TypeAdapter, value: object) -> str:
    with pytest.raises(ValidationError) as info:
        adapter.validate_python(value)
    return str(info.value)


def test_the_ceilings():
    assert MAX_YUAN == 10**11
    assert MAX_WAN == 10**7 and isinstance(MAX_WAN, int)
    assert MAX_FEN == 10**13
    assert MAX_QUANTITY == 10**12


# --- plain_number_text -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "plain"), [("30", "30"), (" 12.5 ", "12.5"), ("３０", "30"), (".5", ".5"), ("1e3", "1e3"), ("-2", "-2")]
)
def test_plain_number_text_folds_and_keeps(typed, plain):
    assert plain_number_text(typed) == plain


@pytest.mark.parametrize("typed", ["٢٠٢٦", "1,000", "abc", "", "1.2.3", "NaN", "Infinity"])
def test_plain_number_text_refuses(typed):
    with pytest.raises(ValueError, match="ordinary digits"):
        plain_number_text(typed)


# --- Yuan: 0 < amount <= MAX_YUAN, whole fen ---------------------------------------------------------------


def test_yuan_accepts_the_edges_exactly():
    assert YUAN.validate_python("0.01") == Decimal("0.01")
    assert YUAN.validate_python(MAX_YUAN) == Decimal(MAX_YUAN)
    assert YUAN.validate_python("12.5") == Decimal("12.5")
    assert YUAN.validate_python(12.5) == Decimal("12.5")
    assert YUAN.validate_python(30) == Decimal(30)
    assert YUAN.validate_python(Decimal("7.10")) == Decimal("7.10")
    assert YUAN.validate_python("1e2") == Decimal(100)


@pytest.mark.parametrize("value", [0, "0", -1, MAX_YUAN + 1, "100000000000.01"])
def test_yuan_refuses_outside_the_bounds(value):
    _refused(YUAN, value)


def test_yuan_counts_whole_fen():
    assert "whole fen" in _refused(YUAN, "0.001")
    assert "whole fen" in _refused(YUAN, "12.345")


@pytest.mark.parametrize(
    "value",
    [
        float("nan"),
        float("inf"),
        "NaN",
        "Infinity",
        "-Infinity",
        "1e999999999",
        True,
        False,
        "٢٠٢٦",
        Decimal("NaN"),
        Decimal("Infinity"),
    ],
)
def test_yuan_refuses_what_no_amount_can_be(value):
    _refused(YUAN, value)


@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), float("-inf"), Decimal("NaN"), Decimal("sNaN"), Decimal("-Infinity")]
)
def test_what_is_not_finite_gets_smeais_own_message(value):
    # the field error people see is the translated msgid, not pydantic's English "finite number"
    for adapter in (YUAN, WAN):
        assert "ordinary digits" in _refused(adapter, value)


def test_the_magnitude_is_bounded_before_any_arithmetic():
    # 21 digits before the point is refused as too large before the Field bound is even looked at
    assert "Too large" in _refused(YUAN, "1" + "0" * 21)
    assert "Too large" in _refused(YUAN, Decimal("1e21"))
    # 20 digits passes the magnitude check and fails only the Field bound
    message = _refused(YUAN, "1" + "0" * 20)
    assert "Too large" not in message and "less than or equal" in message


def test_non_numbers_are_left_to_the_type_check():
    message = _refused(YUAN, [1])
    assert "ordinary digits" not in message


# --- Wan: 0 <= amount <= MAX_WAN, whole fen (6 decimals) ---------------------------------------------------


def test_wan_accepts_the_edges_exactly():
    assert WAN.validate_python(0) == 0
    assert WAN.validate_python("0.000001") == Decimal("0.000001")
    assert WAN.validate_python(MAX_WAN) == Decimal(MAX_WAN)
    assert WAN.validate_python(0.1) == Decimal("0.1")


@pytest.mark.parametrize("value", [-0.000001, MAX_WAN + 1, "10000000.000001", "0.0000001", float("inf")])
def test_wan_refuses(value):
    _refused(WAN, value)


# --- integer fen and quantities ----------------------------------------------------------------------------


def test_fen_bounds_and_strictness():
    assert FEN.validate_python(0) == 0
    assert FEN.validate_python(MAX_FEN) == MAX_FEN
    for bad in (-1, MAX_FEN + 1, "8", True, 1.0):
        _refused(FEN, bad)
    assert POSITIVE_FEN.validate_python(1) == 1
    assert POSITIVE_FEN.validate_python(MAX_FEN) == MAX_FEN
    for bad in (0, MAX_FEN + 1, "8", True):
        _refused(POSITIVE_FEN, bad)
    assert QUANTITY.validate_python(0) == 0
    assert QUANTITY.validate_python(MAX_QUANTITY) == MAX_QUANTITY
    for bad in (-1, MAX_QUANTITY + 1, "8", True):
        _refused(QUANTITY, bad)


# --- conversions --------------------------------------------------------------------------------------------


def test_conversions_are_exact():
    assert yuan_to_fen(Decimal("12.34")) == 1234
    assert yuan_to_fen(Decimal(1)) == 100
    assert wan_to_fen(Decimal("0.1")) == 100_000
    assert wan_to_fen(Decimal(30)) == 30_000_000
    assert wan_to_fen(Decimal("0.000001")) == 1
    assert fen_to_yuan(1234) == Decimal("12.34")
    assert fen_to_yuan(100) == 1
    assert fen_to_wan(30_000_000) == Decimal(30)
    assert str(fen_to_wan(30_000_000)) == "30"
    assert str(fen_to_wan(300_000_000)) == "300"  # normalize alone would print 3E+2
    assert fen_to_wan(1) == Decimal("0.000001")
    assert str(fen_to_wan(12_345_000)) == "12.345"
    assert fen_to_wan(0) == 0
    for fen in (1, 99, 100, 12_345_678, MAX_FEN):
        assert wan_to_fen(fen_to_wan(fen)) == fen
        assert yuan_to_fen(fen_to_yuan(fen)) == fen


# --- typed_fen ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "per", "fen"),
    [
        ("30", 100, 3000),
        ("12.5", 100, 1250),
        ("0.01", 100, 1),
        ("0", 100, 0),
        ("0.1", 1_000_000, 100_000),
        ("３０", 1_000_000, 30_000_000),
        (" 7 ", 100, 700),
        (7, 100, 700),
        ("1e1", 100, 1000),
        (str(MAX_YUAN), 100, MAX_FEN),
        (str(MAX_WAN), 1_000_000, MAX_FEN),
    ],
)
def test_typed_fen_reads(raw, per, fen):
    assert typed_fen(raw, per) == fen
    assert isinstance(typed_fen(raw, per), int)


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_typed_fen_blank_is_none(raw):
    assert typed_fen(raw, 100) is None


@pytest.mark.parametrize(
    ("raw", "per", "message"),
    [
        ("-1", 100, NEGATIVE),
        ("-0.01", 100, NEGATIVE),
        ("0.001", 100, BELOW_ONE_FEN),
        ("0.0000001", 1_000_000, BELOW_ONE_FEN),
        ("100000000000.01", 100, TOO_LARGE),
        (str(MAX_FEN + 1), 1, TOO_LARGE),
        ("1" * 51, 100, TOO_LARGE),
        ("abc", 100, NOT_A_NUMBER),
        ("NaN", 100, NOT_A_NUMBER),
        ("1e999999999", 100, TOO_LARGE),
        ("٢٠٢٦", 100, NOT_A_NUMBER),
    ],
)
def test_typed_fen_refuses(raw, per, message):
    with pytest.raises(ValueError) as info:
        typed_fen(raw, per)
    assert str(info.value) == message


def test_typed_fen_length_limit_is_fifty_characters():
    fifty = "0" * 48 + "10"  # 50 characters, the value 10
    assert typed_fen(fifty, 100) == 1000
    with pytest.raises(ValueError) as info:
        typed_fen("0" + fifty, 100)
    assert str(info.value) == TOO_LARGE


def test_typed_fen_is_exact_beyond_the_default_decimal_precision():
    # 31 significant digits: under Decimal's default 28-digit context x100 would round to exactly 100 fen
    with pytest.raises(ValueError) as info:
        typed_fen("1." + "0" * 28 + "1", 100)
    assert str(info.value) == BELOW_ONE_FEN
    assert typed_fen("1." + "0" * 46, 1_000_000) == 1_000_000  # 49 characters, exact


def test_finite_decimal_passes_other_types_through():
    marker = object()
    assert money._finite_decimal(marker) is marker
    assert money._finite_decimal(Decimal("1.5")) == Decimal("1.5")
