from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "smmpanel operator console"
admin.site.site_title = "smmpanel"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("smmpanel.web.urls")),
]
