"""The baseline's URLconf: simplejwt's two views where the Django API mounts them.

A module of its own, as in a Django project, so Django imports it (and the views) lazily
on the first request: a cold start pays for it where a real one does.
"""

from django.urls import path
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

urlpatterns = [
    path("auth/token/", TokenObtainPairView.as_view()),
    path("auth/token/refresh/", TokenRefreshView.as_view()),
]
