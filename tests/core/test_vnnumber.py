import pickle
import unicodedata
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from healthplans.vnnumber import (
    COMPARATOR_SYMBOLS,
    FRACTIONAL_MONEY_ERROR,
    NEGATIVE_MONEY_ERROR,
    Figure,
    NumberTextError,
    format_money,
    format_number,
    parse_figure,
    parse_money,
    parse_number,
)

D = Decimal


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("94,15", D("94.15")),
        ("1.248.643", D("1248643")),
        ("14.676.220.000", D("14676220000")),
        ("1.381", D("1381")),
        ("00", D("0")),
        ("06", D("6")),
        ("0,05", D("0.05")),
        ("-3,5", D("-3.5")),
        ("−3,5", D("-3.5")),
        ("  1.248.643\u00a0", D("1248643")),
        ("\u202f94,15 ", D("94.15")),
    ],
)
def test_parse_number_reads_vietnamese_notation(text: str, expected: Decimal) -> None:
    assert parse_number(text) == expected


def test_parse_number_keeps_written_decimal_places() -> None:
    assert str(parse_number("110,10")) == "110.10"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "abc",
        "1.5",
        "1,2,3",
        "1.2345",
        "1234.567",
        "0.500",
        "12.34.567",
        "94,",
        ",5",
        "1 000",
        "1e3",
        "NaN",
        "Infinity",
        "-Infinity",
        "+5",
        "--5",
        "٣",
        "５",
        "94,15%",
    ],
)
def test_parse_number_rejects_anything_else(text: str) -> None:
    with pytest.raises(NumberTextError) as caught:
        parse_number(text)
    assert f"«{text}»" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("94,15", Figure(None, D("94.15"), "")),
        ("1.248.643", Figure(None, D("1248643"), "")),
        ("14.676.220.000", Figure(None, D("14676220000"), "")),
        ("00", Figure(None, D("0"), "")),
        ("> 95", Figure(">", D("95"), "")),
        ("≥0,8", Figure(">=", D("0.8"), "")),
        ("≥80%", Figure(">=", D("80"), "%")),
        ("≥ 65", Figure(">=", D("65"), "")),
        ("≥80", Figure(">=", D("80"), "")),
        ("< 0,05", Figure("<", D("0.05"), "")),
        ("≤ 18,5‰", Figure("<=", D("18.5"), "‰")),
        ("≤ 18,5%", Figure("<=", D("18.5"), "%")),
        ("≧ 90%", Figure(">=", D("90"), "%")),
        ("≦ 5", Figure("<=", D("5"), "")),
        (">= 95", Figure(">=", D("95"), "")),
        ("<= 5", Figure("<=", D("5"), "")),
        ("=100%", Figure("=", D("100"), "%")),
        ("đạt trên 96,5%", Figure(">", D("96.5"), "%")),
        ("trên 98%", Figure(">", D("98"), "%")),
        ("còn dưới 9,98%", Figure("<", D("9.98"), "%")),
        ("dưới 05 ca", Figure("<", D("5"), "ca")),
        ("dưới 1,0%", Figure("<", D("1.0"), "%")),
        ("đạt dưới 1,0%", Figure("<", D("1.0"), "%")),
        ("còn 12", Figure("<=", D("12"), "")),
        ("còn 14,5‰", Figure("<=", D("14.5"), "‰")),
        ("tối thiểu 30%", Figure(">=", D("30"), "%")),
        ("ít nhất 30%", Figure(">=", D("30"), "%")),
        ("không dưới 90%", Figure(">=", D("90"), "%")),
        ("tối đa 5", Figure("<=", D("5"), "")),
        ("không quá 5", Figure("<=", D("5"), "")),
        ("không vượt quá 5", Figure("<=", D("5"), "")),
        ("từ 80% trở lên", Figure(">=", D("80"), "%")),
        ("80% trở lên", Figure(">=", D("80"), "%")),
        ("từ 5 ca trở xuống", Figure("<=", D("5"), "ca")),
        ("đạt 45 giường bệnh", Figure(None, D("45"), "giường bệnh")),
        ("đạt 94%", Figure(None, D("94"), "%")),
        ("45 giường bệnh", Figure(None, D("45"), "giường bệnh")),
        ("74 tuổi", Figure(None, D("74"), "tuổi")),
        ("70,1", Figure(None, D("70.1"), "")),
        ("100%", Figure(None, D("100"), "%")),
        ("74 %", Figure(None, D("74"), "%")),
        ("là 112,5 trẻ nam/100 trẻ nữ", Figure(None, D("112.5"), "trẻ nam/100 trẻ nữ")),
        ("đạt dưới 117 trẻ nam/100 trẻ nữ", Figure("<", D("117"), "trẻ nam/100 trẻ nữ")),
        ("10 bác sĩ/10.000 dân", Figure(None, D("10"), "bác sĩ/10.000 dân")),
        ("5/vạn dân", Figure(None, D("5"), "/vạn dân")),
        ("2 Lượt/ người", Figure(None, D("2"), "Lượt/ người")),
        ("0,1‰/năm", Figure(None, D("0.1"), "‰/năm")),
        ("17/17", Figure(None, D("17"), "", D("17"))),
        ("108/108", Figure(None, D("108"), "", D("108"))),
        ("17/17 xã", Figure(None, D("17"), "xã", D("17"))),
        ("5/100.000 dân", Figure(None, D("5"), "dân", D("100000"))),
        ("> -3,5", Figure(">", D("-3.5"), "")),
    ],
)
def test_parse_figure_reads_every_written_form(text: str, expected: Figure) -> None:
    assert parse_figure(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ĐẠT TRÊN 96,5%", Figure(">", D("96.5"), "%")),
        ("Còn  Dưới   9,98 %", Figure("<", D("9.98"), "%")),
        ("  tối\u00a0 thiểu  30%  ", Figure(">=", D("30"), "%")),
        ("45  giường\tbệnh", Figure(None, D("45"), "giường bệnh")),
        ("Không Vượt Quá 5", Figure("<=", D("5"), "")),
    ],
)
def test_parse_figure_ignores_case_and_spacing(text: str, expected: Figure) -> None:
    assert parse_figure(text) == expected


@pytest.mark.parametrize("text", ["đạt trên 96,5%", "còn dưới 9,98%", "45 giường bệnh", "74 tuổi"])
def test_parse_figure_reads_decomposed_diacritics(text: str) -> None:
    decomposed = unicodedata.normalize("NFD", text)
    assert decomposed != text
    assert parse_figure(decomposed) == parse_figure(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        "trên",
        "còn",
        "≥",
        "≥ %",
        "1.5%",
        "12.5 %",
        "95%.",
        "95%;",
        "94%; 17/17 xã, phường",
        "30-40%",
        "5 abc1",
        "5/",
        "5/17/17",
        "17/0",
        "trên ≥ 95",
        "≥ > 95",
        "từ 80%",
        "trên 80% trở lên",
        "≥ 80% trở lên",
        "95 (%)",
        "NaN",
        "Infinity",
    ],
)
def test_parse_figure_rejects_text_that_is_not_a_figure(text: str) -> None:
    with pytest.raises(NumberTextError) as caught:
        parse_figure(text)
    assert f"«{text}»" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("14.676.220.000 đồng", 14_676_220_000),
        ("1.987.000.000 đồng", 1_987_000_000),
        ("54.000.000 đồng", 54_000_000),
        ("2,5 tỷ", 2_500_000_000),
        ("2,5 tỷ VNĐ", 2_500_000_000),
        ("2,5 tỷ đồng", 2_500_000_000),
        ("2,5 tỉ", 2_500_000_000),
        ("2,5 TỶ vnd", 2_500_000_000),
        ("300 triệu", 300_000_000),
        ("1,25 triệu đồng", 1_250_000),
        ("1.987.000.000", 1_987_000_000),
        ("500 nghìn", 500_000),
        ("500 ngàn", 500_000),
        ("54.000.000đ", 54_000_000),
        ("0 đồng", 0),
    ],
)
def test_parse_money_reads_amounts_in_dong(text: str, expected: int) -> None:
    assert parse_money(text) == expected


# The last has more digits than a default Decimal context holds: it must not round to whole đồng.
@pytest.mark.parametrize("text", ["2,5 đồng", "0,0005 nghìn", "1,5", "1,0000000000000000000000000000001 tỷ"])
def test_parse_money_rejects_fractions_of_a_dong(text: str) -> None:
    with pytest.raises(NumberTextError) as caught:
        parse_money(text)
    assert str(caught.value) == FRACTIONAL_MONEY_ERROR.format(text=text)


@pytest.mark.parametrize("text", ["-5 đồng", "-2,5 tỷ"])
def test_parse_money_rejects_negative_amounts(text: str) -> None:
    with pytest.raises(NumberTextError) as caught:
        parse_money(text)
    assert str(caught.value) == NEGATIVE_MONEY_ERROR.format(text=text)


@pytest.mark.parametrize("text", ["", "abc", "đồng", "5 đô", "5 tỷ tỷ", "1.5 tỷ", "2,5 tỷ VNĐ.", "NaN", "5 đồng tỷ"])
def test_parse_money_rejects_unreadable_text(text: str) -> None:
    with pytest.raises(NumberTextError) as caught:
        parse_money(text)
    assert f"«{text}»" in str(caught.value)


def test_figure_error_keeps_text_and_template_through_pickling() -> None:
    with pytest.raises(NumberTextError) as caught:
        parse_figure("abc")
    restored = pickle.loads(pickle.dumps(caught.value))  # noqa: S301  # our own error, pickled just above
    assert (restored.text, restored.template, str(restored)) == (
        "abc",
        caught.value.template,
        str(caught.value),
    )


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [
        (D("94.15"), None, "94,15"),
        (D("1248643"), None, "1.248.643"),
        (D("-1234.5"), None, "-1.234,5"),
        (D("0.05"), None, "0,05"),
        (D("1E+3"), None, "1.000"),
        (D("1E-7"), None, "0,0000001"),
        (D("110.10"), None, "110,10"),
        (D("0"), None, "0"),
        (D("-0"), None, "0"),
        (D("94.155"), 2, "94,16"),
        (D("2.5"), 0, "3"),
        (D("999.995"), 2, "1.000,00"),
        (D("-0.001"), 2, "0,00"),
        (D("80"), 1, "80,0"),
        (D("1" * 30), 2, "111.111.111.111.111.111.111.111.111.111,00"),
    ],
)
def test_format_number_writes_vietnamese_notation(value: Decimal, places: int | None, expected: str) -> None:
    assert format_number(value, places) == expected


@pytest.mark.parametrize("value", [D("NaN"), D("Infinity"), D("-Infinity")])
def test_format_number_rejects_non_finite_values(value: Decimal) -> None:
    with pytest.raises(ValueError, match="Cannot format"):
        format_number(value)


@pytest.mark.parametrize(
    ("amount", "expected"), [(14_676_220_000, "14.676.220.000"), (0, "0"), (999, "999"), (1000, "1.000")]
)
def test_format_money_groups_thousands(amount: int, expected: str) -> None:
    assert format_money(amount) == expected


@st.composite
def figures(draw: st.DrawFn) -> Decimal:
    """Finite decimals under 10^15 in magnitude with at most 6 decimal places."""
    exponent = draw(st.integers(min_value=-6, max_value=3))
    bound = 10 ** (15 - exponent) - 1
    return Decimal(draw(st.integers(min_value=-bound, max_value=bound))).scaleb(exponent)


@given(figures())
def test_formatted_numbers_parse_back(value: Decimal) -> None:
    assert parse_number(format_number(value)) == value


@given(st.integers(min_value=0, max_value=10**15 - 1))
def test_formatted_money_parses_back(amount: int) -> None:
    assert parse_money(format_money(amount)) == amount


@given(
    st.sampled_from(sorted(COMPARATOR_SYMBOLS)),
    figures(),
    st.sampled_from(["", " "]),
    st.sampled_from(["", "%", " ‰", " ca"]),
)
def test_formatted_figures_parse_back(comparator: str, value: Decimal, gap: str, unit: str) -> None:
    text = f"{COMPARATOR_SYMBOLS[comparator]}{gap}{format_number(value)}{unit}"
    assert parse_figure(text) == Figure(comparator, value, unit.strip())
