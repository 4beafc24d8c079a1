from django.contrib import admin
from django.urls import path

from smmpanel.web import views

admin.site.site_header = "smmpanel operator console"
admin.site.site_title = "smmpanel"

urlpatterns = [
    path("", views.home, name="home"),
    path("admin/", admin.site.urls),
]
