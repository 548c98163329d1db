from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from budgets.api import (
    BudgetExecutionApproveAPI,
    BudgetExecutionDetailAPI,
    BudgetExecutionHistoryAPI,
    BudgetExecutionListCreateAPI,
    BudgetExecutionReturnAPI,
    BudgetExecutionSubmitAPI,
    BudgetExecutionUnlockAPI,
    BudgetLineDetailAPI,
    BudgetLineListAPI,
    PlanBudgetSummaryAPI,
)
from budgets.api_lines import BudgetLineCreateAPI, BudgetLineDeleteAPI, BudgetLineUpdateAPI
from healthplans.api import (
    AgencyListAPI,
    OrgUnitLineageAPI,
    OrgUnitListAPI,
    ReorganisationDetailAPI,
    ReorganisationListAPI,
    TenantListAPI,
    TokenAPI,
)
from healthplans.health import health_view
from indicators.api import (
    ActualApproveAPI,
    ActualDetailAPI,
    ActualHistoryAPI,
    ActualListCreateAPI,
    ActualReturnAPI,
    ActualSubmitAPI,
    ActualUnlockAPI,
    IndicatorDetailAPI,
    IndicatorListAPI,
    PlanProgressAPI,
)
from indicators.api_children import PlanChildCreateAPI
from indicators.api_definitions import (
    BaselineSetAPI,
    IndicatorCreateAPI,
    IndicatorDeleteAPI,
    IndicatorUpdateAPI,
    TargetReviseAPI,
    TargetSetAPI,
    TargetSplitAPI,
)
from plans.api import (
    AgencyPickOrAddAPI,
    AssignmentCreateAPI,
    ObjectiveCreateAPI,
    PlanCloseAPI,
    PlanCreateAPI,
    PlanDeleteAPI,
    PlanDetailAPI,
    PlanIssueAPI,
    PlanListAPI,
    PlanUpdateAPI,
    SectionCreateAPI,
    TaskCreateAPI,
)
from reporting.api import (
    ReportDetailAPI,
    ReportListCreateAPI,
    ReportNarrativeAPI,
    ReportPdfAPI,
    ReportRegenerateAPI,
    ReportSignAPI,
    VerifyAPI,
)
from reporting.document_api import PlanDocumentConfirmAPI, PlanDocumentDetailAPI, PlanDocumentUploadAPI

api_patterns = [
    path("auth/token/", TokenAPI.as_view(), name="token"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("tenants/", TenantListAPI.as_view(), name="tenant-list"),
    path("org-units/", OrgUnitListAPI.as_view(), name="org-unit-list"),
    path("org-units/<int:pk>/lineage/", OrgUnitLineageAPI.as_view(), name="org-unit-lineage"),
    path("reorganisations/", ReorganisationListAPI.as_view(), name="reorganisation-list"),
    path("reorganisations/<int:pk>/", ReorganisationDetailAPI.as_view(), name="reorganisation-detail"),
    path("agencies/", AgencyListAPI.as_view(), name="agency-list"),
    path("plans/", PlanListAPI.as_view(), name="plan-list"),
    path("plans/<int:pk>/", PlanDetailAPI.as_view(), name="plan-detail"),
    path("plans/<int:pk>/progress/", PlanProgressAPI.as_view(), name="plan-progress"),
    path("indicators/", IndicatorListAPI.as_view(), name="indicator-list"),
    path("indicators/<int:pk>/", IndicatorDetailAPI.as_view(), name="indicator-detail"),
    path("actuals/", ActualListCreateAPI.as_view(), name="actual-list"),
    path("actuals/<int:pk>/", ActualDetailAPI.as_view(), name="actual-detail"),
    path("actuals/<int:pk>/submit/", ActualSubmitAPI.as_view(), name="actual-submit"),
    path("actuals/<int:pk>/approve/", ActualApproveAPI.as_view(), name="actual-approve"),
    path("actuals/<int:pk>/return/", ActualReturnAPI.as_view(), name="actual-return"),
    path("actuals/<int:pk>/unlock/", ActualUnlockAPI.as_view(), name="actual-unlock"),
    path("actuals/<int:pk>/history/", ActualHistoryAPI.as_view(), name="actual-history"),
    path("budget-lines/", BudgetLineListAPI.as_view(), name="budget-line-list"),
    path("budget-lines/<int:pk>/", BudgetLineDetailAPI.as_view(), name="budget-line-detail"),
    path("budget-executions/", BudgetExecutionListCreateAPI.as_view(), name="budget-execution-list"),
    path("budget-executions/<int:pk>/", BudgetExecutionDetailAPI.as_view(), name="budget-execution-detail"),
    path("budget-executions/<int:pk>/submit/", BudgetExecutionSubmitAPI.as_view(), name="budget-execution-submit"),
    path("budget-executions/<int:pk>/approve/", BudgetExecutionApproveAPI.as_view(), name="budget-execution-approve"),
    path("budget-executions/<int:pk>/return/", BudgetExecutionReturnAPI.as_view(), name="budget-execution-return"),
    path("budget-executions/<int:pk>/unlock/", BudgetExecutionUnlockAPI.as_view(), name="budget-execution-unlock"),
    path("budget-executions/<int:pk>/history/", BudgetExecutionHistoryAPI.as_view(), name="budget-execution-history"),
    path("plans/<int:pk>/budget-summary/", PlanBudgetSummaryAPI.as_view(), name="plan-budget-summary"),
    path("reports/", ReportListCreateAPI.as_view(), name="report-list"),
    path("reports/<int:pk>/", ReportDetailAPI.as_view(), name="report-detail"),
    path("reports/<int:pk>/narrative/", ReportNarrativeAPI.as_view(), name="report-narrative"),
    path("reports/<int:pk>/regenerate/", ReportRegenerateAPI.as_view(), name="report-regenerate"),
    path("reports/<int:pk>/sign/", ReportSignAPI.as_view(), name="report-sign"),
    path("reports/<int:pk>/pdf/", ReportPdfAPI.as_view(), name="report-pdf"),
    path("verify/", VerifyAPI.as_view(), name="verify"),
    # The plan builder's writes (issue 14): one route per operation, the services do the work.
    path("plans/create/", PlanCreateAPI.as_view(), name="plan-create"),
    path("plans/<int:pk>/update/", PlanUpdateAPI.as_view(), name="plan-update"),
    path("plans/<int:pk>/issue/", PlanIssueAPI.as_view(), name="plan-issue"),
    path("plans/<int:pk>/close/", PlanCloseAPI.as_view(), name="plan-close"),
    path("plans/<int:pk>/delete/", PlanDeleteAPI.as_view(), name="plan-delete"),
    path("plans/<int:pk>/objectives/", ObjectiveCreateAPI.as_view(), name="plan-objective-create"),
    path("plans/<int:pk>/sections/", SectionCreateAPI.as_view(), name="plan-section-create"),
    path("plans/<int:pk>/tasks/", TaskCreateAPI.as_view(), name="plan-task-create"),
    path("plans/<int:pk>/agencies/", AgencyPickOrAddAPI.as_view(), name="plan-agency-pick"),
    path("plans/<int:pk>/assignments/", AssignmentCreateAPI.as_view(), name="plan-assignment-create"),
    path("plans/<int:pk>/indicators/", IndicatorCreateAPI.as_view(), name="plan-indicator-create"),
    path("plans/<int:pk>/budget-lines/", BudgetLineCreateAPI.as_view(), name="plan-budget-line-create"),
    path("plans/<int:pk>/children/", PlanChildCreateAPI.as_view(), name="plan-child-create"),
    path("indicators/<int:pk>/update/", IndicatorUpdateAPI.as_view(), name="indicator-update"),
    path("indicators/<int:pk>/delete/", IndicatorDeleteAPI.as_view(), name="indicator-delete"),
    path("indicators/<int:pk>/baseline/", BaselineSetAPI.as_view(), name="indicator-baseline"),
    path("indicators/<int:pk>/targets/", TargetSetAPI.as_view(), name="indicator-target-set"),
    path("indicators/<int:pk>/targets/revise/", TargetReviseAPI.as_view(), name="indicator-target-revise"),
    path("indicators/<int:pk>/targets/split/", TargetSplitAPI.as_view(), name="indicator-target-split"),
    path("budget-lines/<int:pk>/update/", BudgetLineUpdateAPI.as_view(), name="budget-line-update"),
    path("budget-lines/<int:pk>/delete/", BudgetLineDeleteAPI.as_view(), name="budget-line-delete"),
    path("plan-documents/", PlanDocumentUploadAPI.as_view(), name="plan-document-list"),
    path("plan-documents/<int:pk>/", PlanDocumentDetailAPI.as_view(), name="plan-document-detail"),
    path("plan-documents/<int:pk>/confirm/", PlanDocumentConfirmAPI.as_view(), name="plan-document-confirm"),
]

urlpatterns = [
    path("healthz/", health_view, name="health"),
    path("api/", include((api_patterns, "api"))),
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("indicators.urls")),
    path("", include("healthplans.page_urls")),
    path("", include("plans.urls")),
    path("", include("budgets.urls")),
    path("", include("reporting.urls")),
]

# An address under /api/ that matches no route answers JSON, as the API views do.
handler404 = "healthplans.views.not_found"
