from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    # Ahead of allauth's own route for the same path (config/urls.py includes us first).
    path("sessions/", views.SessionListView.as_view(), name="sessions"),
    path("sessions/<int:pk>/end/", views.SessionEndView.as_view(), name="session_end"),
    path("sessions/end-others/", views.SessionsEndOthersView.as_view(), name="sessions_end_others"),
]
