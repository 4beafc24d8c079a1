"""The customer website's pages. /api/v1 and /api/v2 never reach Django (smmpanel/wsgi.py)."""

from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import path, reverse_lazy
from django.views.generic import RedirectView

from smmpanel.web.views import account, apikeys, dashboard, deposits, funds, orders, public, webhooks

FAVICON = "web/img/favicon.svg"

urlpatterns = [
    path("", public.home, name="home"),
    path("services/", public.services, name="services"),
    path("updates/", public.updates, name="updates"),
    path("api/docs/", apikeys.docs, name="api_docs"),
    path("payments/<str:gateway>/webhook", webhooks.webhook, name="payment_webhook"),
    # Browsers ask for /favicon.ico whatever the page links to.
    path("favicon.ico", RedirectView.as_view(url=static(FAVICON), permanent=True)),
    # Accounts
    path("signup/", account.signup, name="signup"),
    path("signup/sent/", account.signup_sent, name="signup_sent"),
    path("signup/confirm/<str:token>/", account.confirm, name="signup_confirm"),
    path("signup/resend/", account.resend, name="signup_resend"),
    path("login/", account.login, name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("settings/", account.preferences, name="settings"),
    path("language/", account.set_language, name="set_language"),
    path(
        "password/change/",
        auth_views.PasswordChangeView.as_view(
            template_name="web/account/password_change.html",
            success_url=reverse_lazy("settings"),
        ),
        name="password_change",
    ),
    path(
        "password/reset/",
        account.password_reset,
        name="password_reset",
    ),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="web/account/password_reset_sent.html"),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(template_name="web/account/password_reset_confirm.html"),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="web/account/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
    # The customer's area
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("order/", orders.new, name="order_new"),
    path("order/price/", orders.price, name="order_price"),
    path("order/mass/", orders.mass_order, name="order_mass"),
    path("orders/", orders.orders, name="orders"),
    path("orders/<int:order_id>/", orders.detail, name="order_detail"),
    path("orders/<int:order_id>/refill/", orders.refill, name="order_refill"),
    path("orders/<int:order_id>/cancel/", orders.cancel, name="order_cancel"),
    path("funds/", funds.funds, name="funds"),
    path("funds/<int:payment_id>/", funds.payment, name="payment"),
    path("funds/preview/", deposits.preview, name="deposit_preview"),
    path("funds/demo-gateway/<str:ref>/", deposits.demo_page, name="demo_gateway"),
    path("transactions/", funds.transactions, name="transactions"),
    path("api/", apikeys.api_page, name="api_page"),
    path("api/key/", apikeys.new_key, name="api_new_key"),
]
