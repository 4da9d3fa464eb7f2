"""Promotional material and consultations."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Promotion(models.Model):
    title = models.CharField(max_length=120)
    body = models.TextField()
    audience = models.JSONField(default=list)  # role names and/or "visitor"
    publish_from = models.DateTimeField(null=True, blank=True)
    publish_until = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]
        permissions = [("manage_promotions", "Can manage promotions and answer consultations")]

    def __str__(self) -> str:
        return self.title
