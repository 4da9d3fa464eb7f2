"""The REST API's routes."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from api.views import accounts, bookings, doors, roles, rooms, slots, tasks

urlpatterns = [
    path("auth/register/", accounts.RegisterView.as_view(), name="register"),
    path("auth/token/", accounts.TokenView.as_view(), name="token"),
    path("auth/logout/", accounts.LogoutView.as_view(), name="logout"),
    path("me/", accounts.MeView.as_view(), name="me"),
    path("users/", accounts.UsersView.as_view(), name="users"),
    path("roles/", roles.RolesView.as_view(), name="roles"),
    path("roles/<str:name>/permissions/", roles.RolePermissionsView.as_view(), name="role-permissions"),
    path("rooms/", rooms.RoomListView.as_view(), name="rooms"),
    path("rooms/status/", rooms.RoomStatusView.as_view(), name="room-status"),
    path("rooms/<int:pk>/", rooms.RoomDetailView.as_view(), name="room"),
    path("rooms/<int:pk>/door-token/rotate/", rooms.RotateDoorTokenView.as_view(), name="room-rotate-token"),
    path("rooms/<int:pk>/openings/", rooms.RoomOpeningsView.as_view(), name="room-openings"),
    path("rooms/<int:pk>/closures/", rooms.ClosuresView.as_view(), name="room-closures"),
    path("openings/<int:pk>/", rooms.OpeningDetailView.as_view(), name="opening"),
    path("closures/", rooms.ClosuresView.as_view(), name="closures"),
    path("slots/", slots.SlotsView.as_view(), name="slots"),
    path("bookings/", bookings.BookingListView.as_view(), name="bookings"),
    path("bookings/<int:pk>/", bookings.BookingDetailView.as_view(), name="booking"),
    path("bookings/<int:pk>/cancel/", bookings.CancelBookingView.as_view(), name="booking-cancel"),
    path("bookings/<int:pk>/reschedule/", bookings.RescheduleBookingView.as_view(), name="booking-reschedule"),
    path("bookings/<int:pk>/close/", bookings.CloseSessionView.as_view(), name="booking-close"),
    path("tasks/", tasks.TaskListView.as_view(), name="tasks"),
    path("tasks/<int:pk>/approve/", tasks.ApproveTaskView.as_view(), name="task-approve"),
    path("tasks/<int:pk>/reject/", tasks.RejectTaskView.as_view(), name="task-reject"),
    path("scan/", doors.ScanView.as_view(), name="scan"),
    path("rooms/<int:pk>/open/", doors.ManualOpenView.as_view(), name="room-open"),
    path("rooms/<int:pk>/door-qr/", doors.DoorQrView.as_view(), name="room-door-qr"),
    path("door-qr-sheet/", doors.DoorQrSheetView.as_view(), name="door-qr-sheet"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
]
