"""The review queue and its actions, a value's history, notifications: what reviewers and
reporters see, the refusals, two reviewers at once, tenant isolation and query counts."""

import re
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from healthplans.models import Notification, OrgUnit, RoleAssignment, User
from healthplans.workflow import Action, ReviewStatus
from indicators.models import Actual, Indicator
from indicators.plausibility import plausibility_warnings, plausibility_warnings_for
from indicators.services import (
    actual_approve,
    actual_create,
    actual_return,
    actual_submit,
    actual_update,
)
from tests.conftest import Login, QueriesFor
from tests.factories import IndicatorFactory, PlanFactory, figures_entered, reviewer_at, writer_at

pytestmark = pytest.mark.django_db

PLAN = "muongkhuong-de-an-07-2023"
STATION = "muongkhuong-tt-tyt"
LAOCAI_PLAN = "laocai-city-de-an-07-2024"


def user(username: str) -> User:
    return User.objects.get(username=username)


def text_of(response: Any) -> str:
    return str(response.content.decode())


def submitted(
    number: str,
    value: str,
    *,
    plan: str = PLAN,
    unit: str = STATION,
    period: str = "2023",
    by: str = "muongkhuong.station",
    note: str = "",
) -> Actual:
    reporter = user(by)
    actual = actual_create(
        indicator=Indicator.objects.get(plan__slug=plan, number=number),
        org_unit=OrgUnit.objects.get(code=unit),
        period=period,
        value=Decimal(value),
        note=note,
        by=reporter,
    )
    return actual_submit(actual=actual, version=actual.version, by=reporter)


def fresh(actual: Actual) -> Actual:
    return Actual.objects.get(pk=actual.pk)


def test_queue_groups_submitted_figures_by_unit_and_period(login: Login) -> None:
    submitted("I.2.3", "96.5", note="Theo sổ BHYT")
    submitted("I.2.4", "97")
    submitted("II.2.8", "97", plan=LAOCAI_PLAN, unit="laocai-city-ta-phoi-tyt", period="2024H1", by="laocai.station")
    body = text_of(login("laocai.reviewer").get("/review/"))
    assert body.count('class="review-group"') == 2
    assert 'data-unit="muongkhuong-tt-tyt" data-period="2023"' in body
    assert 'data-unit="laocai-city-ta-phoi-tyt" data-period="2024H1"' in body
    assert "96,5" in body
    assert "Theo sổ BHYT" in body
    assert "muongkhuong.station" in body
    assert "laocai.station" in body
    assert "Duyệt tất cả 2 số liệu" in body
    assert "&gt; 98" in body  # the target of the year


def with_history(history: list[tuple[int, int]], value: str, *, note: str) -> tuple[Actual, User]:
    """A percentage of a 2019–2025 plan of a province of its own, approved in the years of
    `history` (the seed's plans are too short for one) and submitted for 2023 with `value`;
    and the province's reviewer."""
    indicator = IndicatorFactory.create(plan=PlanFactory.create(start_year=2019, end_year=2025))
    unit = indicator.plan.issuer_org_unit
    writer, reviewer = writer_at(unit), reviewer_at(unit)
    for year, before in history:
        figures_entered(
            org_unit=unit,
            period=str(year),
            values=[(indicator, Decimal(before))],
            by=writer,
            status=ReviewStatus.APPROVED,
            reviewer=reviewer,
        )
    (actual,) = figures_entered(
        org_unit=unit,
        period="2023",
        values=[(indicator, Decimal(value))],
        by=writer,
        status=ReviewStatus.SUBMITTED,
        note=note,
    )
    return actual, reviewer


def test_queue_shows_plausibility_warnings(login: Login) -> None:
    _, reviewer = with_history([(2020, 90), (2021, 91), (2022, 92)], "60", note="Đợt cấp thẻ mới chưa xong")
    body = text_of(login(reviewer).get("/review/"))
    assert "Khác xa giá trị kỳ trước (92)." in body
    assert "Nằm ngoài khoảng giá trị đã báo cáo từ trước đến nay (90 – 92)." in body


@pytest.mark.parametrize(
    ("history", "value", "expected"),
    [
        ([], "60", 0),  # nothing to compare with
        ([(2021, 90)], "60", 0),  # one earlier value: no usual change, no range yet
        ([(2020, 90), (2021, 91), (2022, 92)], "60", 2),  # a jump of 32 against a usual 9,2; far below 89-93
        ([(2020, 90), (2021, 91), (2022, 92)], "93", 0),  # the usual step, inside the widened range
        ([(2019, 10), (2020, 40), (2021, 20), (2022, 30)], "100", 2),  # 70 against a usual 20; beyond -5-55
        ([(2019, 10), (2020, 40), (2024, 20), (2025, 30)], "25", 0),  # only 2019-2020 come before 2023
    ],
)
def test_queue_warnings_follow_the_rule_with_vietnamese_numbers(
    history: list[tuple[int, int]], value: str, expected: int
) -> None:
    """The queue computes warnings for many figures at once, with the services' rule."""
    actual, _ = with_history(history, value, note="x")
    warnings = plausibility_warnings_for([actual])[actual.pk]
    assert len(warnings) == expected
    assert warnings == plausibility_warnings(actual)
    assert not any("E+" in warning for warning in warnings)


def test_approving_locks_the_value(login: Login) -> None:
    actual = submitted("I.2.3", "96.5")
    client = login("laocai.reviewer")
    response = client.post(f"/review/actuals/{actual.pk}/approve/", {"version": actual.version}, follow=True)
    assert "Đã duyệt «Tỷ lệ người dân có thẻ bảo hiểm y tế»" in text_of(response)
    assert fresh(actual).status == ReviewStatus.APPROVED
    assert fresh(actual).reviewed_by == user("laocai.reviewer")
    assert f'data-actual="{actual.pk}"' not in text_of(client.get("/review/"))


def test_second_reviewer_approving_the_same_value_gets_a_clear_message(login: Login) -> None:
    actual = submitted("I.2.3", "96.5")
    colleague = User.objects.create_user("laocai.reviewer2", password="x")
    RoleAssignment.objects.create(user=colleague, org_unit=OrgUnit.objects.get(code="laocai"), role="reviewer")
    first = login("laocai.reviewer")
    page_version = actual.version  # both reviewers opened the queue
    assert first.post(f"/review/actuals/{actual.pk}/approve/", {"version": page_version}).status_code == 302
    second = login(colleague, client=Client())
    response = second.post(f"/review/actuals/{actual.pk}/approve/", {"version": page_version}, follow=True)
    assert response.status_code == 200
    body = text_of(response)
    assert "Chưa duyệt: Số liệu này đã được duyệt và khóa. laocai.reviewer đã xử lý số liệu này trước" in body
    assert fresh(actual).reviewed_by == user("laocai.reviewer")
    assert fresh(actual).events.filter(action=Action.APPROVE).count() == 1
    # Returning it after the approval is refused the same way.
    response = second.post(
        f"/review/actuals/{actual.pk}/return/", {"version": page_version, "message": "x"}, follow=True
    )
    assert "Chưa trả lại: Số liệu này đã được duyệt và khóa." in text_of(response)
    assert fresh(actual).status == ReviewStatus.APPROVED


def test_returning_needs_a_message_at_the_value(login: Login) -> None:
    actual = submitted("I.2.3", "96.5")
    client = login("laocai.reviewer")
    response = client.post(f"/review/actuals/{actual.pk}/return/", {"version": actual.version, "message": "  "})
    assert response.status_code == 400
    assert "Hãy ghi lý do trả lại số liệu." in text_of(response)
    assert fresh(actual).status == ReviewStatus.SUBMITTED
    assert not Notification.objects.exists()


def test_returning_sends_the_message_to_the_reporter(login: Login) -> None:
    actual = submitted("I.2.3", "96.5")
    client = login("laocai.reviewer")
    response = client.post(
        f"/review/actuals/{actual.pk}/return/", {"version": actual.version, "message": "Kiểm tra lại số thẻ"}
    )
    assert response.status_code == 302
    assert fresh(actual).status == ReviewStatus.RETURNED
    assert fresh(actual).message == "Kiểm tra lại số thẻ"
    notification = Notification.objects.get(user=user("muongkhuong.station"))
    assert "Kiểm tra lại số thẻ" in notification.text


def test_approve_group_approves_every_value_of_the_group(login: Login) -> None:
    first, second = submitted("I.2.3", "96.5"), submitted("I.2.4", "97")
    client = login("laocai.reviewer")
    data = {
        "actual": [first.pk, second.pk],
        f"version-{first.pk}": first.version,
        f"version-{second.pk}": second.version,
    }
    response = client.post("/review/approve-group/", data, follow=True)
    assert "Đã duyệt 2 số liệu." in text_of(response)
    assert {fresh(first).status, fresh(second).status} == {ReviewStatus.APPROVED}


def test_approve_group_approves_nothing_if_one_value_changed_meanwhile(login: Login) -> None:
    first, second = submitted("I.2.3", "96.5"), submitted("I.2.4", "97")
    client = login("laocai.reviewer")
    data = {
        "actual": [first.pk, second.pk],
        f"version-{first.pk}": first.version,
        f"version-{second.pk}": second.version,
    }
    actual_return(actual=second, by=user("laocai.reviewer"), message="Sai")  # another tab, meanwhile
    response = client.post("/review/approve-group/", data, follow=True)
    assert "Chưa duyệt số liệu nào" in text_of(response)
    assert fresh(first).status == ReviewStatus.SUBMITTED
    assert fresh(second).status == ReviewStatus.RETURNED


def test_unlocking_needs_a_reason_and_reopens_the_value(login: Login) -> None:
    actual = actual_approve(actual=submitted("I.2.3", "96.5"), by=user("laocai.reviewer"))
    client = login("laocai.reviewer")
    history = text_of(client.get(f"/figures/actuals/{actual.pk}/history/"))
    assert "Lý do mở khóa" in history
    response = client.post(f"/review/actuals/{actual.pk}/unlock/", {"version": actual.version, "reason": ""})
    assert response.status_code == 400
    assert "Hãy ghi lý do mở khóa số liệu." in text_of(response)
    assert fresh(actual).status == ReviewStatus.APPROVED
    response = client.post(
        f"/review/actuals/{actual.pk}/unlock/", {"version": actual.version, "reason": "Số liệu điều tra mới"}
    )
    assert response.status_code == 302
    assert fresh(actual).status == ReviewStatus.DRAFT
    assert fresh(actual).events.get(action=Action.UNLOCK).message == "Số liệu điều tra mới"


def test_reporter_may_not_review(login: Login) -> None:
    actual = submitted("I.2.3", "96.5")
    client = login("muongkhuong.station")
    assert client.post(f"/review/actuals/{actual.pk}/approve/").status_code == 403
    assert client.post(f"/review/actuals/{actual.pk}/return/", {"message": "x"}).status_code == 403
    approved = actual_approve(actual=actual, by=user("laocai.reviewer"))
    assert client.post(f"/review/actuals/{approved.pk}/unlock/", {"reason": "x"}).status_code == 403
    assert "Lý do mở khóa" not in text_of(client.get(f"/figures/actuals/{actual.pk}/history/"))
    assert fresh(actual).status == ReviewStatus.APPROVED


def test_review_actions_need_post(login: Login) -> None:
    actual = submitted("I.2.3", "96.5")
    client = login("laocai.reviewer")
    assert client.get(f"/review/actuals/{actual.pk}/approve/").status_code == 405


def test_other_tenant_reviewer_sees_and_touches_nothing(login: Login) -> None:
    actual = submitted("I.2.3", "96.5")
    laocai_city = submitted(
        "II.2.8", "97", plan=LAOCAI_PLAN, unit="laocai-city-ta-phoi-tyt", period="2024H1", by="laocai.station"
    )
    client = login("quangngai.reviewer")
    body = text_of(client.get("/review/"))
    assert "Mường Khương" not in body
    assert "Tả Phời" not in body
    assert "data-actual" not in body
    for target in (actual, laocai_city):
        assert client.post(f"/review/actuals/{target.pk}/approve/").status_code == 404
        assert client.post(f"/review/actuals/{target.pk}/return/", {"message": "x"}).status_code == 404
        assert client.post(f"/review/actuals/{target.pk}/unlock/", {"reason": "x"}).status_code == 404
        assert client.get(f"/figures/actuals/{target.pk}/history/").status_code == 404
    assert client.post("/review/approve-group/", {"actual": [actual.pk]}).status_code == 404
    assert {fresh(actual).status, fresh(laocai_city).status} == {ReviewStatus.SUBMITTED}


def test_station_sees_only_its_own_figures_history(login: Login) -> None:
    other = submitted(
        "II.2.8", "97", plan=LAOCAI_PLAN, unit="laocai-city-ta-phoi-tyt", period="2024H1", by="laocai.station"
    )
    client = login("muongkhuong.station")
    assert client.get(f"/figures/actuals/{other.pk}/history/").status_code == 404
    assert client.get("/figures/actuals/999999/history/").status_code == 404


def test_history_shows_every_step_in_vietnamese(login: Login) -> None:
    station, reviewer = user("muongkhuong.station"), user("laocai.reviewer")
    actual = actual_create(
        indicator=Indicator.objects.get(plan__slug=PLAN, number="I.2.17"),  # cases per 100,000
        org_unit=OrgUnit.objects.get(code=STATION),
        period="2023",
        value=Decimal("95.25"),
        by=station,
    )
    actual = actual_update(actual=actual, version=actual.version, value=Decimal("96.5"), by=station)
    actual = actual_submit(actual=actual, version=actual.version, by=station)
    actual = actual_return(actual=actual, by=reviewer, message="Xem lại số thẻ")
    actual = actual_update(actual=actual, version=actual.version, value=Decimal("1381"), by=station)
    body = text_of(login("muongkhuong.station").get(f"/figures/actuals/{actual.pk}/history/"))
    actions = re.findall(r'data-action="(\w+)"', body)
    assert actions == ["create", "change", "submit", "return", "change"]
    for shown in (
        "đã tạo",
        "đã sửa",
        "đã gửi",
        "trả lại",
        "95,25",
        "96,5",
        "1.381",
        "Xem lại số thẻ",
        "laocai.reviewer",
    ):
        assert shown in body
    event = actual.events.get(action=Action.CREATE)
    from zoneinfo import ZoneInfo

    assert event.at.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%d/%m/%Y %H:%M") in body
    assert "Quay lại biểu mẫu" in body


def test_notifications_list_newest_first_and_are_marked_read(login: Login) -> None:
    station = user("muongkhuong.station")
    first = submitted("I.2.3", "96.5")
    second = submitted("I.2.4", "97")
    reviewer = user("laocai.reviewer")
    actual_return(actual=first, by=reviewer, message="Thứ nhất")
    actual_return(actual=second, by=reviewer, message="Thứ hai")
    Notification.objects.create(user=user("laocai.station"), text="Của người khác")
    client = login("muongkhuong.station")
    home = text_of(client.get("/figures/"))
    assert 'data-unread="2"' in home
    body = text_of(client.get("/notifications/"))
    assert body.index("Thứ hai") < body.index("Thứ nhất")
    assert "Của người khác" not in body
    assert body.count('class="new"') == 2
    assert f'href="/figures/{STATION}/2023/"' in body
    assert not Notification.objects.filter(user=station, read_at__isnull=True).exists()
    assert "data-unread" not in text_of(client.get("/notifications/"))


def test_queue_queries_do_not_grow_with_values_units_or_indicators(login: Login, queries_for: QueriesFor) -> None:
    submitted("I.2.3", "96.5")
    client = login("laocai.reviewer")
    before = queries_for(client, "/review/")
    for number in ("I.2.4", "I.2.9", "I.2.10"):
        submitted(number, "97")
    for code in ("laocai-city-ta-phoi-tyt", "laocai-city-bac-cuong-tyt", "laocai-city-bac-lenh-tyt"):
        for number in ("II.2.8", "II.2.9"):
            submitted(number, "97", plan=LAOCAI_PLAN, unit=code, period="2024H1", by="laocai.planner")
    after = queries_for(client, "/review/")
    assert after == before
    assert text_of(client.get("/review/")).count('class="review-group"') == 4


def test_history_and_notification_queries_do_not_grow(login: Login, queries_for: QueriesFor) -> None:
    station = user("muongkhuong.station")
    actual = submitted("I.2.3", "96.5")
    actual = actual_return(actual=actual, by=user("laocai.reviewer"), message="Một")
    client = login("muongkhuong.station")
    history_before = queries_for(client, f"/figures/actuals/{actual.pk}/history/")
    notifications_before = queries_for(client, "/notifications/")
    for n in range(4):
        actual = actual_update(actual=actual, version=actual.version, value=Decimal(90 + n), by=station)
        Notification.objects.create(user=station, text=f"Thêm {n}")
    assert queries_for(client, f"/figures/actuals/{actual.pk}/history/") == history_before
    assert queries_for(client, "/notifications/") == notifications_before
