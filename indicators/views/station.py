"""Pages: station (see urlpatterns)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
