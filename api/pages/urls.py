from django.contrib.auth.views import LogoutView
from django.urls import path

from api.pages import views

urlpatterns = [
    path("", views.home, name="home"),
    path("d/lobby", views.lobby, name="lobby"),
    path("d/<str:token>", views.door, name="door"),
    path("book/", views.book, name="book"),
    path("me/bookings/", views.my_bookings, name="my-bookings"),
    path("me/payments/", views.my_payments, name="my-payments"),
    path("pay/<str:reference>", views.pay, name="pay"),
    path("register/", views.register, name="register"),
    path("login/", views.SignInView.as_view(), name="login"),
    path("staff/", views.staff_console, name="staff-console"),
    path("rooms/", views.room_console, name="room-console"),
    path("logout/", LogoutView.as_view(next_page="/"), name="logout"),
]
