from django.urls import path

from budgets import views

urlpatterns = [
    path("plans/<slug:slug>/budget/", views.budget_page_view, name="budget-page"),
    path("budgets/executions/<int:pk>/history/", views.budget_history_view, name="budget-history"),
    path(
        "budgets/executions/<int:pk>/approve/", views.budget_review_view, {"action": "approve"}, name="budget-approve"
    ),
    path("budgets/executions/<int:pk>/return/", views.budget_review_view, {"action": "return"}, name="budget-return"),
    path("budgets/executions/<int:pk>/unlock/", views.budget_review_view, {"action": "unlock"}, name="budget-unlock"),
]
