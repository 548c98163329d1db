"""Pages of reports and of a plan's progress (the API's paths are in healthplans/urls.py)."""

from django.urls import path

from reporting.views import builder, children, documents, overview, progress, reports, verification

urlpatterns = [
    path("builder/new/", builder.builder_new_view, name="builder-new"),
    path("builder/<slug:slug>/", builder.builder_view, name="builder"),
    path("builder/<slug:slug>/add/<str:part>/", builder.builder_part_view, name="builder-part"),
    path("builder/<slug:slug>/issue/", builder.builder_issue_view, name="builder-issue"),
    path("plans/<slug:slug>/", overview.plan_detail_view, name="plan-detail"),
    path("plans/<slug:slug>/children/new/", children.child_plan_new_view, name="child-plan-new"),
    path("plans/<slug:slug>/dashboard/", progress.plan_dashboard_view, name="plan-dashboard"),
    path("plans/<slug:slug>/compare/", progress.plan_compare_view, name="plan-compare"),
    path("plans/<slug:slug>/completeness/", progress.plan_completeness_view, name="plan-completeness"),
    path("plans/<slug:slug>/reports/", reports.plan_reports_view, name="plan-reports"),
    path("reports/<int:pk>/", reports.report_detail_view, name="report-detail"),
    path("reports/<int:pk>/narrative/", reports.report_narrative_view, name="report-narrative"),
    path("reports/<int:pk>/sign/", reports.report_sign_view, name="report-sign"),
    path("reports/<int:pk>/regenerate/", reports.report_regenerate_view, name="report-regenerate"),
    path("reports/<int:pk>/pdf/", reports.report_pdf_view, name="report-pdf"),
    path("reports/<int:pk>/pages/<int:page>.png", reports.report_page_view, name="report-page"),
    path("plan-documents/", documents.plan_document_upload_view, name="plan-document-upload"),
    path("plan-documents/<int:pk>/", documents.plan_document_review_view, name="plan-document-review"),
    path("verify/", verification.verify_upload_view, name="verify"),
    path("verify/<str:code>/", verification.verify_code_view, name="verify-code"),
]
