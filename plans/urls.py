from django.urls import path

from plans import views

urlpatterns = [
    path("", views.plan_list_view, name="home"),
    path("plans/<slug:slug>/", views.plan_detail_view, name="plan-detail"),
    path("plans/<slug:slug>/dashboard/", views.plan_dashboard_view, name="plan-dashboard"),
    path("plans/<slug:slug>/compare/", views.plan_compare_view, name="plan-compare"),
    path("plans/<slug:slug>/completeness/", views.plan_completeness_view, name="plan-completeness"),
]
