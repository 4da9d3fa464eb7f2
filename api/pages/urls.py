from django.contrib.auth.views import LogoutView
from django.urls import path, register_converter

from api.pages import views


class TokenConverter:
    """A door token, an order reference or a question's link token: URL-safe letters only, so a
    stray byte (a NUL, say) is a plain 404 before it reaches a query."""

    regex = "[A-Za-z0-9_-]{1,64}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(TokenConverter, "token")

urlpatterns = [
    path("", views.home, name="home"),
    path("d/lobby", views.lobby, name="lobby"),
    path("d/<token:token>", views.door, name="door"),
    path("book/", views.book, name="book"),
    path("me/bookings/", views.my_bookings, name="my-bookings"),
    path("me/payments/", views.my_payments, name="my-payments"),
    path("me/messages/", views.my_messages, name="my-messages"),
    path("pay/<token:reference>", views.pay, name="pay"),
    path("ask/<token:token>/", views.question, name="question"),
    path("register/", views.register, name="register"),
    path("login/", views.SignInView.as_view(), name="login"),
    path("staff/", views.staff_console, name="staff-console"),
    path("staff/<slug:section>/", views.staff_console, name="staff-section"),
    path("rooms/", views.room_console, name="room-console"),
    path("logout/", LogoutView.as_view(next_page="/"), name="logout"),
]
