from django.contrib import admin

from clinic.outreach.models import Consultation, FaqEntry, Promotion


@admin.register(Promotion)
class PromotionAdmin(admin.ModelAdmin):
    list_display = ("title", "audience", "publish_from", "publish_until", "pushed_at")


@admin.register(Consultation)
class ConsultationAdmin(admin.ModelAdmin):
    list_display = ("created", "question", "answered_at")
    list_filter = ("answered_at",)
    exclude = ("token",)  # the asker's private link: his key to the answer, not staff's


@admin.register(FaqEntry)
class FaqAdmin(admin.ModelAdmin):
    list_display = ("question", "position", "published")
    list_editable = ("position", "published")
