"""The operator console, at /console/ (staff only; every view is guarded by console/guard.py)."""

from django.urls import path

from smmpanel.console.views import (
    actions,
    auditlog,
    auth,
    customers,
    dashboard,
    deposit_actions,
    deposits,
    gateways,
    orders,
    provider_import,
    provider_sync,
    queues,
    reconcile,
    reports,
)

app_name = "console"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("login/", auth.login, name="login"),
    path("verify/", auth.verify, name="verify"),
    path("setup/", auth.setup, name="setup"),
    path("logout/", auth.logout, name="logout"),
    path("welcome/<uidb64>/<token>/", auth.welcome, name="welcome"),
    path("audit/", auditlog.audit_log, name="audit"),
    path("orders/", orders.order_list, name="orders"),
    path("orders/bulk/", actions.bulk, name="orders_bulk"),
    path("orders/<int:order_id>/", orders.order_detail, name="order"),
    path("orders/<int:order_id>/partial/", actions.partial_preview, name="order_partial"),
    path("orders/<int:order_id>/<slug:action>/", actions.order_action, name="order_action"),
    path("queues/", queues.queue_index, name="queues"),
    path("queues/<slug:name>/", queues.queue, name="queue"),
    path("customers/", customers.customer_list, name="customers"),
    path("customers/<int:customer_id>/", customers.customer_detail, name="customer"),
    path("customers/<int:customer_id>/adjust/", customers.adjust_balance, name="customer_adjust"),
    path("customers/<int:customer_id>/rate/", customers.set_rate, name="customer_rate"),
    path("customers/<int:customer_id>/rate/remove/", customers.remove_rate, name="customer_rate_remove"),
    path("customers/<int:customer_id>/discount/", customers.set_discount, name="customer_discount"),
    path(
        "customers/<int:customer_id>/discount/remove/",
        customers.remove_discount,
        name="customer_discount_remove",
    ),
    path("customers/<int:customer_id>/api-access/", customers.api_access, name="customer_api_access"),
    path("customers/<int:customer_id>/keys/revoke/", customers.revoke_keys, name="customer_revoke_keys"),
    path("customers/<int:customer_id>/suspend/", customers.suspend, name="customer_suspend"),
    path("customers/<int:customer_id>/sign-in-as/", customers.impersonate, name="customer_impersonate"),
    path("sign-in-as/end/", customers.end_impersonation, name="impersonation_end"),
    path("deposits/", deposits.deposit_list, name="deposits"),
    path("deposits/<int:payment_id>/", deposits.deposit_detail, name="deposit"),
    path("deposits/<int:payment_id>/confirm/", deposits.confirm, name="deposit_confirm"),
    path("deposits/<int:payment_id>/reject/", deposits.reject, name="deposit_reject"),
    path("deposits/<int:payment_id>/check/", deposit_actions.check_now, name="deposit_check"),
    path("deposits/<int:payment_id>/refund/", deposit_actions.refund, name="deposit_refund"),
    path("deposits/<int:payment_id>/settle/", deposit_actions.settle, name="deposit_settle"),
    path("reconciliation/", reconcile.reconciliation, name="reconcile"),
    path("reports/", reports.report, name="reports"),
    path("reports/<slug:name>/", reports.report, name="report"),
    path("gateways/", gateways.gateway_list, name="gateways"),
    path("gateways/<slug:name>/", gateways.gateway_update, name="gateway_update"),
    path("providers/<int:provider_id>/import/", provider_import.provider_import, name="provider_import"),
    path("providers/<int:provider_id>/read/", provider_import.provider_read, name="provider_read"),
    path("providers/<int:provider_id>/sync/", provider_sync.provider_sync, name="provider_sync"),
    path(
        "providers/<int:provider_id>/sync/rule/", provider_sync.provider_sync_rule, name="provider_sync_rule"
    ),
]
