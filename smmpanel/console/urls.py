"""The operator console, at /console/ (staff only; every view is guarded by console/guard.py)."""

from django.urls import path

from smmpanel.console.views import actions, auditlog, auth, home, orders, queues

app_name = "console"

urlpatterns = [
    path("", home.dashboard, name="dashboard"),
    path("login/", auth.login, name="login"),
    path("verify/", auth.verify, name="verify"),
    path("setup/", auth.setup, name="setup"),
    path("logout/", auth.logout, name="logout"),
    path("audit/", auditlog.audit_log, name="audit"),
    path("orders/", orders.order_list, name="orders"),
    path("orders/bulk/", actions.bulk, name="orders_bulk"),
    path("orders/<int:order_id>/", orders.order_detail, name="order"),
    path("orders/<int:order_id>/partial/", actions.partial_preview, name="order_partial"),
    path("orders/<int:order_id>/<slug:action>/", actions.order_action, name="order_action"),
    path("queues/", queues.queue_index, name="queues"),
    path("queues/<slug:name>/", queues.queue, name="queue"),
]
