from django.contrib.admin.apps import AdminConfig


class OperatorAdminConfig(AdminConfig):
    """Django's admin (the operator console at /admin/) on smmpanel's own admin site."""

    default_site = "smmpanel.adminsite.OperatorAdminSite"
