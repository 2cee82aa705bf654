from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(url="/studio/", permanent=False)),
    path("studio/", include("studio.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("automate.api.urls")),
    path("hooks/", include("automate.triggers.urls")),
]
