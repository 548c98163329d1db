"""The plans' own page; a plan's detail and progress pages read indicators and budgets, so they
are reporting's (reporting/urls.py)."""

from django.urls import path

from plans import views

urlpatterns = [
    path("", views.plan_list_view, name="home"),
]
