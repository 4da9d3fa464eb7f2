"""The registration form of the pages (the API has its own serializer)."""

from django import forms
from django.utils.translation import gettext_lazy as _


class RegisterForm(forms.Form):
    username = forms.RegexField(label=_("Username"), regex=r"^[\w.@+-]+\Z", max_length=150)
    password = forms.CharField(
        label=_("Password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        max_length=128,
        strip=False,
        help_text=_("At least 8 characters, not only digits, not a common password."),
    )
    phone = forms.CharField(
        label=_("Mobile phone"), max_length=32, widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"})
    )
    role = forms.ChoiceField(
        label=_("I am"),
        choices=[("donor", _("a donor")), ("self_preservation", _("storing my own sperm"))],
        initial="donor",
    )
    email = forms.EmailField(label=_("Email (optional)"), required=False)
