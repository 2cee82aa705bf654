from django.conf import settings
from django.contrib import admin
from django.http import HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from automate.guard.http import guarded

# Unmatched paths under /api/ answer in the API's error shape; others, Django's 404 page.
handler404 = "automate.api.errors.not_found"

urlpatterns = [
    path("", guarded("html")(RedirectView.as_view(url="/studio/", permanent=False))),
    # Browsers ask the site root for an icon; the studio's own is a static file (so a host
    # project serving the studio under any prefix has it too, through its base template).
    path(
        "favicon.ico",
        guarded("html")(
            lambda request: HttpResponsePermanentRedirect(static("studio/favicon.svg"))
        ),
    ),
    path("studio/", include("studio.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("automate.api.urls")),
    path("hooks/", include("automate.triggers.urls")),
    path("", include("automate.observability.urls")),
]

if settings.DEBUG:
    from demo_crm.views import chat_post_message

    # Development only: the Slack sandbox the demo workflow posts to.
    urlpatterns.append(path("dev/slack/api/chat.postMessage", chat_post_message))
