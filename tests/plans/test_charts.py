"""Server-side SVG charts: valid XML, one point per period with a figure, the target drawn, nothing fetched."""

import re
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from healthplans.templatetags.charts import Bar, progress_svg, ranking_svg, trend_svg

NS = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # noqa: S314  # our own SVG
    assert root.tag == f"{NS}svg"
    return root


def assert_self_contained(svg: str) -> None:
    """Nothing that would make the browser fetch or run something."""
    lowered = svg.lower()
    for reference in ("href", "url(", "<image", "<use", "<script", "<foreignobject", "@import", "src="):
        assert reference not in lowered
    # The only URI is the SVG namespace itself.
    assert re.findall(r"https?://[^\"']+", svg) == ["http://www.w3.org/2000/svg"]


def polyline_points(root: ET.Element) -> list[tuple[float, float]]:
    polyline = root.find(f"{NS}polyline")
    assert polyline is not None
    return [(float(x), float(y)) for x, y in (pair.split(",") for pair in polyline.attrib["points"].split())]


def test_trend_has_one_point_per_period_with_data_and_a_dashed_target() -> None:
    trend = [("2024H1", Decimal("80.5")), ("2024H2", None), ("2025H1", Decimal("92")), ("2025H2", Decimal("95.25"))]
    svg = trend_svg(trend, Decimal("94"))
    root = parse(svg)
    points = polyline_points(root)
    assert len(points) == 3
    # Time runs left to right, the periods evenly spaced, the gap kept.
    xs = [x for x, _y in points]
    assert xs == sorted(xs)
    assert xs[1] - xs[0] == pytest.approx(2 * (xs[2] - xs[1]))
    # Higher values sit higher (smaller y).
    assert points[0][1] > points[1][1] > points[2][1]
    target = root.find(f"{NS}line[@class='target']")
    assert target is not None
    assert target.attrib["stroke-dasharray"]
    assert target.attrib["y1"] == target.attrib["y2"]
    # The target lies between the points of 92 and 95,25.
    assert points[2][1] < float(target.attrib["y1"]) < points[1][1]
    assert len(root.findall(f"{NS}circle")) == 3
    assert_self_contained(svg)


def test_trend_titles_write_figures_the_vietnamese_way() -> None:
    svg = trend_svg([("2024", Decimal("82.727273"))], Decimal("1248643"), places=1)
    root = parse(svg)
    titles = [t.text for t in root.iter(f"{NS}title")]
    assert "2024: 82,7" in titles
    assert any(t and t.endswith("1.248.643") for t in titles)
    assert len(polyline_points(root)) == 1


def test_trend_without_figures_is_an_empty_valid_svg() -> None:
    for trend in ([("2024", None), ("2025", None)], []):
        for target in (None, Decimal(5)):
            root = parse(trend_svg(trend, target))
            assert root.find(f"{NS}polyline") is None
            assert root.find(f"{NS}line") is None


def test_trend_of_equal_values_does_not_divide_by_zero() -> None:
    root = parse(trend_svg([("2024", Decimal(0)), ("2025", Decimal(0))], Decimal(0)))
    assert len(polyline_points(root)) == 2


def test_progress_bar_is_clamped_to_its_track() -> None:
    def done_width(progress: Decimal | None) -> float | None:
        done = parse(progress_svg(progress, width=100)).find(f"{NS}rect[@class='done']")
        return None if done is None else float(done.attrib["width"])

    assert done_width(Decimal("42.5")) == 42.5
    assert done_width(Decimal("130")) == 100
    assert done_width(Decimal("-20")) == 0
    assert done_width(None) is None
    assert_self_contained(progress_svg(Decimal("42.5")))


def test_ranking_has_a_bar_per_unit_in_order_and_the_target_line() -> None:
    bars = [
        Bar("Trạm Y tế phường Kim Tân", Decimal("97.5"), "met"),
        Bar("Trạm Y tế <b>phường</b> Cốc Lếu", Decimal("94"), "met"),
        Bar("Trạm Y tế phường Bắc Cường", Decimal("80"), "not_met"),
    ]
    svg = ranking_svg(bars, Decimal("94"), places=1)
    root = parse(svg)
    rects = root.findall(f".//{NS}rect")
    assert len(rects) == 3
    widths = [float(rect.attrib["width"]) for rect in rects]
    assert widths == sorted(widths, reverse=True)
    assert rects[0].attrib["fill"] != rects[2].attrib["fill"]  # met and not met differ
    target = root.find(f"{NS}line[@class='target']")
    assert target is not None
    assert target.attrib["x1"] == target.attrib["x2"]
    # The target of 94 is exactly where the second bar ends.
    second = rects[1]
    assert float(second.attrib["x"]) + float(second.attrib["width"]) == pytest.approx(float(target.attrib["x1"]))
    texts = [t.text for t in root.iter(f"{NS}text")]
    assert "Trạm Y tế <b>phường</b> Cốc Lếu" in texts  # escaped, not markup
    assert "97,5" in texts
    assert_self_contained(svg)


def test_ranking_of_nothing_is_an_empty_valid_svg() -> None:
    root = parse(ranking_svg([], Decimal(5)))
    assert root.find(f".//{NS}rect") is None


def test_chart_tags_render_in_templates_with_vietnamese_labels() -> None:
    template = Template("{% load charts %}{% trend_chart trend target 1 %}{% progress_bar progress %}")
    with translation.override("vi"):
        html = template.render(
            Context({"trend": [("2024", Decimal("1.5"))], "target": Decimal(2), "progress": Decimal(50)})
        )
    svgs = re.findall(r"<svg.*?</svg>", html, re.S)
    assert len(svgs) == 2
    for svg in svgs:
        parse(svg)
    assert "Diễn biến qua các kỳ của kế hoạch" in html
    assert "Tiến độ so với chỉ tiêu kế hoạch: 50 %" in html
