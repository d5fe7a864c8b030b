from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("sessions/<int:pk>/end/", views.SessionEndView.as_view(), name="session_end"),
    path("sessions/end-others/", views.SessionsEndOthersView.as_view(), name="sessions_end_others"),
]
