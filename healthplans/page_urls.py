from django.urls import path

from healthplans import views

urlpatterns = [
    path("notifications/", views.notification_list_view, name="notifications"),
]
