"""The operator console, at /console/ (staff only; every view is guarded by console/guard.py)."""

from django.urls import path

from smmpanel.console.views import auditlog, auth, home

app_name = "console"

urlpatterns = [
    path("", home.dashboard, name="dashboard"),
    path("login/", auth.login, name="login"),
    path("verify/", auth.verify, name="verify"),
    path("setup/", auth.setup, name="setup"),
    path("logout/", auth.logout, name="logout"),
    path("welcome/<uidb64>/<token>/", auth.welcome, name="welcome"),
    path("audit/", auditlog.audit_log, name="audit"),
]
