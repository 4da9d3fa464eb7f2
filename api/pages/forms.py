"""The registration form of the pages (the API has its own serializer)."""

from django import forms
from django.utils.translation import gettext_lazy as _


class RegisterForm(forms.Form):
    username = forms.RegexField(label=_("Username"), regex=r"^[\w.@+-]+\Z", max_length=150)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput, max_length=128, strip=False)
    phone = forms.CharField(label=_("Mobile phone"), max_length=32)
    role = forms.ChoiceField(
        label=_("I am"),
        choices=[("donor", _("a donor")), ("self_preservation", _("storing my own sperm"))],
        initial="donor",
    )
    email = forms.EmailField(label=_("Email (optional)"), required=False)
