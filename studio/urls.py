from django.contrib.auth import views as auth_views
from django.urls import path

from studio.views import dashboard
from studio.views import editor as editor_views

app_name = "studio"

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="studio/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(next_page="studio:login"), name="logout"),
    path("", dashboard.index, name="dashboard"),
    path("wizard/", dashboard.new_workflow, name="wizard"),
    path("workflows/<int:workflow_id>/", editor_views.editor, name="editor"),
    path("workflows/<int:workflow_id>/draft.json", editor_views.draft, name="draft"),
    path("palette.json", editor_views.palette, name="palette"),
]
