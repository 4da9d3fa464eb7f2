"""The review decision form used by the task pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"), choices=[("approved", _("Approve")), ("rejected", _("Reject"))], widget=forms.RadioSelect
    )
    reason = forms.CharField(
        label=_("Reason told to the donor (when rejecting)"), required=False, max_length=500, widget=forms.Textarea
    )
    comment = forms.CharField(
        label=_("Note for staff only (never shown to the donor or room managers)"),
        required=False,
        max_length=500,
        widget=forms.Textarea,
    )
    room = forms.TypedChoiceField(label=_("Move to room"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, room_choices: list[tuple[int, str]] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if room_choices is None:
            del self.fields["room"]
        else:
            room = self.fields["room"]
            assert isinstance(room, forms.TypedChoiceField)
            room.choices = [("", _("Keep the booked room")), *room_choices]

    def clean(self):
        data = super().clean() or {}
        if data.get("decision") == "rejected" and not (data.get("reason") or "").strip():
            self.add_error("reason", _("Give the reason the donor will be told."))
        return data
