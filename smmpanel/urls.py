from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("console/", include("smmpanel.console.urls")),
    path("", include("smmpanel.web.urls")),
]
