from django.urls import path

from plans import views

urlpatterns = [
    path("", views.plan_list_view, name="home"),
    path("plans/<slug:slug>/", views.plan_detail_view, name="plan-detail"),
]
