"""Promotional material, questions to staff (consultation) and the lobby's FAQ."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

VISITOR = "visitor"


class Promotion(models.Model):
    title = models.CharField(_("title"), max_length=120)
    body = models.TextField(_("text"))
    image = models.ImageField(_("image"), upload_to="promotions/", blank=True)
    audience = models.JSONField(default=list, verbose_name=_("audience"))  # role names and/or "visitor"
    publish_from = models.DateTimeField(null=True, blank=True, verbose_name=_("publish from"))
    publish_until = models.DateTimeField(null=True, blank=True, verbose_name=_("publish until"))
    # Set once, by compare-and-set, when the audience has been notified.
    pushed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("pushed at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("created by")
    )
    created = models.DateTimeField(auto_now_add=True, verbose_name=_("created"))

    class Meta:
        verbose_name = _("promotion")
        verbose_name_plural = _("promotions")
        ordering = ["-created"]
        permissions = [("manage_promotions", "Can manage promotions and answer consultations")]

    def __str__(self) -> str:
        return self.title


class Consultation(models.Model):
    """A question from a visitor (who leaves a phone number) or a logged-in user."""

    asker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="consultations",
        verbose_name=_("asker"),
    )
    contact = models.CharField(max_length=32, blank=True, verbose_name=_("contact"))
    question = models.TextField(max_length=2000, verbose_name=_("question"))
    answer = models.TextField(blank=True, verbose_name=_("answer"))
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("answered by"),
    )
    answered_at = models.DateTimeField(null=True, blank=True, verbose_name=_("answered at"))
    client_ip = models.GenericIPAddressField(null=True, blank=True, verbose_name=_("client address"))
    created = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=_("created"))
    # The private link (/ask/<token>/) where the asker reads the answer; a visitor gets it by SMS.
    token = models.CharField(max_length=43, blank=True, db_index=True, verbose_name=_("token"))
    sms_sent_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("sms sent at")
    )  # the answer's SMS to a visitor

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        ordering = ["-created", "-id"]


class FaqEntry(models.Model):
    question = models.CharField(max_length=200, verbose_name=_("question"))
    answer = models.TextField(verbose_name=_("answer"))
    position = models.PositiveSmallIntegerField(default=0, verbose_name=_("position"))
    published = models.BooleanField(default=True, verbose_name=_("published"))

    class Meta:
        ordering = ["position", "id"]
        verbose_name = "FAQ entry"
        verbose_name_plural = "FAQ"

    def __str__(self) -> str:
        return self.question
