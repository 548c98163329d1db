"""Pages of reports (the API's paths are in healthplans/urls.py)."""

from django.urls import path

from reporting import views

urlpatterns = [
    path("plans/<slug:slug>/reports/", views.plan_reports_view, name="plan-reports"),
    path("reports/<int:pk>/", views.report_detail_view, name="report-detail"),
    path("reports/<int:pk>/narrative/", views.report_narrative_view, name="report-narrative"),
    path("reports/<int:pk>/sign/", views.report_sign_view, name="report-sign"),
    path("reports/<int:pk>/regenerate/", views.report_regenerate_view, name="report-regenerate"),
    path("reports/<int:pk>/pdf/", views.report_pdf_view, name="report-pdf"),
    path("verify/", views.verify_upload_view, name="verify"),
    path("verify/<str:code>/", views.verify_code_view, name="verify-code"),
]
