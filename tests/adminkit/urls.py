"""The site's URLs plus the test admin site at ``/kit/``."""

from django.urls import path

from config.urls import urlpatterns as site_urlpatterns
from tests.adminkit.admin import site

urlpatterns = [path("kit/", site.urls), *site_urlpatterns]
