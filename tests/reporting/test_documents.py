"""Plans read from their documents: the reader on small documents of each feature of the genre,
the refusals of bad files, the upload → draft → confirm flow, and seed 002 as a .docx."""

import io
from decimal import Decimal
from pathlib import Path

import docx
import pytest
import yaml

from healthplans.documents import DocumentRefused, read_plan
from healthplans.models import Tenant
from healthplans.vnnumber import parse_figure
from plans.models import Plan
from reporting.models import PlanDocument

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "plans"


def as_docx(lines: list[str | list[list[str]]]) -> bytes:
    """Paragraphs, and a list of rows (lists of cells) as a table."""
    document = docx.Document()
    rows: list[list[str]] = []
    for line in [*lines, ""]:
        if isinstance(line, list):
            rows.extend(line)
            continue
        if rows:
            table = document.add_table(rows=len(rows), cols=max(len(r) for r in rows))
            for r, cells in enumerate(rows):
                for c, text in enumerate(cells):
                    table.cell(r, c).text = text
            rows = []
        if line:
            document.add_paragraph(line)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


HEADER = [
    "UBND TỈNH LÀO CAI",
    "SỞ Y TẾ",
    "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    "Số: 123/KH-SYT",
    "Lào Cai, ngày 12 tháng 3 năm 2024",
    "KẾ HOẠCH",
    "Phòng chống suy dinh dưỡng năm 2024",
    "Căn cứ Quyết định số 89/QĐ-TTg ngày 23/01/2024 của Thủ tướng Chính phủ; "
    "Kế hoạch số 999/KH-UBND ngày 20/3/2024 của UBND tỉnh.",
]
SIGNATURE = ["Nơi nhận:", "- UBND tỉnh;", "- Lưu: VT.", "KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC", "Nguyễn Văn An"]


def test_header_and_signature_are_read_with_their_places() -> None:
    draft = read_plan("kh.docx", as_docx([*HEADER, "I. MỤC ĐÍCH", "- Giảm suy dinh dưỡng.", *SIGNATURE]))
    plan = draft["plan"]
    assert plan["issuer"] == "Sở y tế"
    assert plan["issuer_parent"] == "UBND tỉnh Lào Cai"
    assert plan["document_number"] == "123/KH-SYT"
    assert (plan["place"], plan["issued_on"], plan["kind"]) == ("Lào Cai", "2024-03-12", "plan")
    assert plan["title"] == "Phòng chống suy dinh dưỡng năm 2024"
    assert (plan["start_year"], plan["end_year"]) == (2024, 2024)
    assert [b["text"] for b in plan["legal_bases"]] == [
        "Quyết định số 89/QĐ-TTg ngày 23/01/2024 của Thủ tướng Chính phủ",
        "Kế hoạch số 999/KH-UBND ngày 20/3/2024 của UBND tỉnh",
    ]
    assert (plan["signer_authority"], plan["signer_title"], plan["signer_name"]) == (
        "KT. GIÁM ĐỐC",
        "PHÓ GIÁM ĐỐC",
        "Nguyễn Văn An",
    )
    assert [r["text"] for r in plan["recipients"]] == ["UBND tỉnh;", "Lưu: VT."]
    assert plan["sources"]["document_number"]["where"] == "đoạn 4"


def test_a_table_of_targets_gives_baselines_and_targets_per_year() -> None:
    table = [
        ["TT", "Chỉ tiêu", "Đơn vị tính", "Thực hiện 2024", "Kế hoạch 2025", "Kế hoạch 2030"],
        ["1", "Tỷ lệ trẻ em dưới 1 tuổi tiêm chủng đầy đủ", "%", "89,9", "> 95", "≥96"],
        ["2", "Số bác sĩ/vạn dân", "", "8,0", "8,25", "11"],
    ]
    draft = read_plan("kh.docx", as_docx([*HEADER, "II. CHỈ TIÊU", table, *SIGNATURE]))
    first, second = draft["indicators"]
    assert (first["number"], first["unit"]) == ("1", "%")
    assert first["baseline"]["year"] == 2024
    assert first["baseline"]["value"] == "89.9"
    assert [(t["year"], t["comparator"], t["value"]) for t in first["targets"]] == [
        (2025, ">", "95"),
        (2030, ">=", "96"),
    ]
    assert first["targets"][0]["source"]["where"] == "bảng 1, hàng 2, ô 5"
    assert second["targets"][1]["comparator"] == ">="  # a rising rate's default


def test_prose_targets_are_read_from_the_specific_objectives() -> None:
    lines = [
        *HEADER,
        "I. MỤC TIÊU",
        "2. Mục tiêu cụ thể năm 2024",
        "- Đạt 45 giường bệnh; 14,5 bác sỹ và 3,5 dược sỹ đại học/vạn dân;",
        "- Tỷ lệ trẻ em dưới 5 tuổi SDD thể thấp còi còn dưới 9,98%;",
        "- Tỷ lệ người dân có thẻ bảo hiểm y tế đạt trên 95%.",
        *SIGNATURE,
    ]
    draft = read_plan("kh.txt", "\n".join(lines).encode())
    read = [(t["year"], t["comparator"], t["value"]) for i in draft["indicators"] for t in i["targets"]]
    assert read == [
        (2024, ">=", "45"),
        (2024, ">=", "14.5"),
        (2024, ">=", "3.5"),
        (2024, "<", "9.98"),
        (2024, ">", "95"),
    ]
    assert draft["indicators"][3]["source"]["text"].startswith("Tỷ lệ trẻ em")


def test_targets_a_section_lists_after_announcing_them_are_read_for_the_plans_end() -> None:
    """A task that announces targets ("các chỉ tiêu cơ bản: …") states them, each measure written after
    its number; without a year they are the plan's end's, which its table of targets tells. A task's
    other numbers are no targets."""
    table = [
        ["TT", "Chỉ tiêu", "Thực hiện 2024", "Kế hoạch đến năm 2025", "Kế hoạch đến năm 2030"],
        ["1", "Số bác sĩ/vạn dân", "8,0", "8,25", "11"],
    ]
    lines: list[str | list[list[str]]] = [
        *HEADER[:5],
        "KẾ HOẠCH",
        "Về việc phát triển nguồn nhân lực y tế",
        "II. CÁC CHỈ TIÊU CỤ THỂ",
        table,
        "III. NHIỆM VỤ, GIẢI PHÁP",
        "3. Công tác phát triển nguồn nhân lực",
        "- Đào tạo 20 bác sĩ chuyên khoa cho tuyến huyện.",
        "- Bảo đảm đạt được các chỉ tiêu cơ bản: có 11 Bác sĩ/vạn dân; 04 Dược sĩ/vạn dân.",
        *SIGNATURE,
    ]
    draft = read_plan("kh.docx", as_docx(lines))
    listed = [i for i in draft["indicators"] if i["number"].startswith("III.")]
    assert [(i["number"], i["name"], i["unit"]) for i in listed] == [
        ("III.3.1", "Bác sĩ", "/vạn dân"),
        ("III.3.2", "Dược sĩ", "/vạn dân"),
    ]
    assert [(t["year"], t["value"]) for i in listed for t in i["targets"]] == [(2030, "11"), (2030, "4")]
    assert listed[0]["source"]["text"].startswith("có 11 Bác sĩ")


def test_the_budget_tree_and_its_funding_sources() -> None:
    lines = [
        *HEADER,
        "IV. KINH PHÍ",
        "1. Nguồn kinh phí",
        "- Ngân sách nhà nước cấp.",
        "- Các nguồn viện trợ và nguồn kinh phí hợp pháp khác.",
        "2. Dự kiến nhu cầu kinh phí năm 2024",
        "Tổng nhu cầu kinh phí: 3.500.000.000 đồng.",
        "2.1. Trung tâm Y tế: 3.500.000.000 đồng; trong đó:",
        "- Sửa chữa trạm y tế: 2,5 tỷ đồng.",
        "- Các chương trình mục tiêu 1.000.000.000 đồng.",
        *SIGNATURE,
    ]
    draft = read_plan("kh.txt", "\n".join(lines).encode())
    assert [f["kind"] for f in draft["funding_sources"]] == ["state_budget", "aid"]
    lines_read = [(b["code"], b["parent"], b["amount"], b["agency"]) for b in draft["budget_lines"]]
    assert lines_read == [
        ("2", None, 3_500_000_000, None),
        ("2.1", "2", 3_500_000_000, "Trung tâm Y tế"),
        ("2.1.1", "2.1", 2_500_000_000, "Trung tâm Y tế"),
        ("2.1.2", "2.1", 1_000_000_000, "Trung tâm Y tế"),
    ]
    assert draft["budget_lines"][3]["funding_source"] == "target_programme"


def test_agencies_and_assignments_from_to_chuc_thuc_hien() -> None:
    lines = [
        *HEADER,
        "V. TỔ CHỨC THỰC HIỆN",
        "1. Sở Y tế",
        "- Chủ trì triển khai kế hoạch.",
        "- Phối hợp với Sở Tài chính bố trí kinh phí.",
        "2. Sở Tài chính: Tham mưu bố trí kinh phí thực hiện.",
        "3. Phòng Văn hóa, Trung tâm Truyền thông: Chủ trì tuyên truyền.",
        *SIGNATURE,
    ]
    draft = read_plan("kh.txt", "\n".join(lines).encode())
    assert [a["name"] for a in draft["agencies"]] == [
        "Sở Y tế",
        "Sở Tài chính",
        "Phòng Văn hóa",
        "Trung tâm Truyền thông",
    ]
    assert [(a["number"], a["agency"], a["role"]) for a in draft["assignments"]] == [
        ("1.1", "Sở Y tế", "lead"),
        ("1.2", "Sở Y tế", "coordinate"),
        ("2", "Sở Tài chính", "coordinate"),
        ("3", "Phòng Văn hóa", "lead"),
        ("3", "Trung tâm Truyền thông", "lead"),
    ]


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("scan.png", b"\x89PNG\r\n\x1a\n" + b"0" * 100, "hình ảnh"),
        ("locked.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "EncryptionInfo".encode("utf-16-le"), "mật khẩu"),
        ("broken.docx", b"PK\x03\x04 not a zip at all", "bị hỏng"),
        ("broken.pdf", b"%PDF-1.4 nothing", "PDF"),
        ("empty.txt", b"", "trống"),
    ],
)
def test_bad_files_are_refused_in_vietnamese(name: str, content: bytes, words: str) -> None:
    with pytest.raises(DocumentRefused, match=words):
        read_plan(name, content)


def test_a_pdf_without_text_is_refused_as_a_scan() -> None:
    from weasyprint import HTML

    blank = HTML(string="<div style='width:5cm;height:5cm;background:#333'></div>").write_pdf()
    with pytest.raises(DocumentRefused, match="lớp chữ"):
        read_plan("scan.pdf", blank)


def test_seed_002_as_docx_gives_its_19_indicators() -> None:
    text = (SEEDS / "002_18b8a13d7a81bcaf.txt").read_text()
    # A tab-separated line is a table row; consecutive rows make one table.
    lines: list[str | list[list[str]]] = [
        [line.split("\t")] if "\t" in line else line for line in text.splitlines() if line.strip()
    ]
    draft = read_plan("002.docx", as_docx(lines))
    truth = yaml.safe_load((FIXTURES / "002_quangngai-chi-thi-37.yaml").read_text())
    table = [i for i in truth["indicators"] if i["number"].isdigit()]
    read = [i for i in draft["indicators"] if i["baseline"]]
    assert len(read) == 19
    for found, wanted in zip(read, table, strict=True):
        assert found["number"] == wanted["number"]
        assert Decimal(found["baseline"]["value"]) == parse_figure(wanted["baseline"]["text"]).value
        assert [(t["year"], Decimal(t["value"])) for t in found["targets"]] == [
            (t["year"], parse_figure(t["text"]).value) for t in wanted["targets"]
        ]


def test_upload_gives_a_draft_and_only_the_confirmation_creates_the_plan(
    api_as, settings, tmp_path, django_capture_on_commit_callbacks
) -> None:
    settings.MEDIA_ROOT = tmp_path
    planner = api_as("laocai.planner")
    tenant = Tenant.objects.get(slug="lao-cai")
    table = [
        ["TT", "Chỉ tiêu", "Đơn vị tính", "Kế hoạch 2024"],
        ["1", "Tỷ lệ trạm y tế có bác sĩ", "%", "100"],
        ["2", "Tỷ lệ xã đạt tiêu chí", "%", "95"],
    ]
    content = as_docx([*HEADER, "II. CHỈ TIÊU", table, *SIGNATURE])
    plans_before = Plan.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        response = planner.post(
            "/api/plan-documents/", {"file": io.BytesIO(content), "tenant": tenant.pk}, format="multipart"
        )
    assert response.status_code == 202, response.content
    pk = response.json()["id"]
    shown = planner.get(f"/api/plan-documents/{pk}/").json()
    assert shown["status"] == "ready"
    assert shown["progress"] == 100
    assert [i["name"] for i in shown["draft"]["indicators"]] == ["Tỷ lệ trạm y tế có bác sĩ", "Tỷ lệ xã đạt tiêu chí"]
    assert shown["draft"]["indicators"][0]["targets"][0]["source"]["where"]
    assert Plan.objects.count() == plans_before
    assert api_as("backan.planner").get(f"/api/plan-documents/{pk}/").status_code == 404
    assert api_as("laocai.reviewer").post(f"/api/plan-documents/{pk}/confirm/", {}, format="json").status_code == 404
    draft = shown["draft"]
    draft["indicators"] = draft["indicators"][:1]  # the planner removes one
    confirmed = planner.post(f"/api/plan-documents/{pk}/confirm/", {"draft": draft}, format="json")
    assert confirmed.status_code == 201, confirmed.content
    plan = Plan.objects.get(pk=confirmed.json()["plan"])
    assert plan.title == "Phòng chống suy dinh dưỡng năm 2024"
    assert [i.name for i in plan.indicators.all()] == ["Tỷ lệ trạm y tế có bác sĩ"]
    assert PlanDocument.objects.get(pk=pk).status == "confirmed"


def test_a_refused_file_creates_nothing(api_as, settings, tmp_path, django_capture_on_commit_callbacks) -> None:
    settings.MEDIA_ROOT = tmp_path
    tenant = Tenant.objects.get(slug="lao-cai")
    planner = api_as("laocai.planner")
    with django_capture_on_commit_callbacks(execute=True):
        response = planner.post(
            "/api/plan-documents/",
            {"file": io.BytesIO(b"\x89PNG\r\n\x1a\n0000"), "tenant": tenant.pk},
            format="multipart",
        )
    shown = planner.get(f"/api/plan-documents/{response.json()['id']}/").json()
    assert shown["status"] == "refused"
    assert "hình ảnh" in shown["error"]
    assert planner.post(f"/api/plan-documents/{response.json()['id']}/confirm/", {}, format="json").status_code == 409


def test_a_stated_comparator_gives_the_direction_and_a_bare_target_follows_it() -> None:
    table = [
        ["TT", "Chỉ tiêu", "Đơn vị tính", "Kế hoạch 2025", "Kế hoạch 2026"],
        ["1", "Tỷ lệ người dân phải chi trả trực tiếp", "%", "< 40", "35"],
        ["2", "Tỷ lệ trẻ em được tiêm chủng", "%", "≥ 95", "96"],
    ]
    falling, rising = read_plan("kh.docx", as_docx([*HEADER, "II. CHỈ TIÊU", table, *SIGNATURE]))["indicators"]
    assert falling["direction"] == "lower"
    assert [t["comparator"] for t in falling["targets"]] == ["<", "<="]
    assert rising["direction"] == "higher"


def test_the_draft_is_checked_with_the_kinds_its_units_name(
    api_as, login, settings, tmp_path, django_capture_on_commit_callbacks
) -> None:
    settings.MEDIA_ROOT = tmp_path
    planner = api_as("laocai.planner")
    table = [
        ["TT", "Chỉ tiêu", "Đơn vị tính", "Kế hoạch 2024"],
        ["1", "Tỷ lệ trạm y tế có bác sĩ", "%", "120"],
    ]
    content = as_docx([*HEADER, "II. CHỈ TIÊU", table, *SIGNATURE])
    tenant = Tenant.objects.get(slug="lao-cai")
    with django_capture_on_commit_callbacks(execute=True):
        response = planner.post(
            "/api/plan-documents/", {"file": io.BytesIO(content), "tenant": tenant.pk}, format="multipart"
        )
    shown = planner.get(f"/api/plan-documents/{response.json()['id']}/").json()
    assert shown["draft"]["indicators"][0]["unit_kind"] == "percent"
    over = [check for check in shown["checks"] if check["code"] == "percent_over_100"]
    assert len(over) == 1
    assert over[0]["source"] == "120"
    assert "2024" in over[0]["where"]
    page = login("laocai.planner").get(f"/plan-documents/{response.json()['id']}/")
    assert "Tỷ lệ phần trăm lớn hơn 100." in page.content.decode()
    assert "Số hiệu văn bản" in page.content.decode()  # the header's fields under the plan's labels
