"""The REST API's routes."""

from django.urls import path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from api.converters import IdConverter
from api.views import accounts, bookings, doors, notifications, outreach, payments, roles, rooms, slots, tasks

register_converter(IdConverter, "id")

urlpatterns = [
    path("auth/register/", accounts.RegisterView.as_view(), name="register"),
    path("auth/token/", accounts.TokenView.as_view(), name="token"),
    path("auth/logout/", accounts.LogoutView.as_view(), name="logout"),
    path("ws-ticket/", accounts.SocketTicketView.as_view(), name="ws-ticket"),
    path("me/", accounts.MeView.as_view(), name="me"),
    path("users/", accounts.UsersView.as_view(), name="users"),
    path("roles/", roles.RolesView.as_view(), name="roles"),
    path("roles/<str:name>/permissions/", roles.RolePermissionsView.as_view(), name="role-permissions"),
    path("rooms/", rooms.RoomListView.as_view(), name="rooms"),
    path("rooms/status/", rooms.RoomStatusView.as_view(), name="room-status"),
    path("rooms/<id:pk>/", rooms.RoomDetailView.as_view(), name="room"),
    path("rooms/<id:pk>/door-token/rotate/", rooms.RotateDoorTokenView.as_view(), name="room-rotate-token"),
    path("rooms/<id:pk>/openings/", rooms.RoomOpeningsView.as_view(), name="room-openings"),
    path("rooms/<id:pk>/closures/", rooms.ClosuresView.as_view(), name="room-closures"),
    path("openings/<id:pk>/", rooms.OpeningDetailView.as_view(), name="opening"),
    path("closures/", rooms.ClosuresView.as_view(), name="closures"),
    path("slots/", slots.SlotsView.as_view(), name="slots"),
    path("bookings/", bookings.BookingListView.as_view(), name="bookings"),
    path("bookings/<id:pk>/", bookings.BookingDetailView.as_view(), name="booking"),
    path("bookings/<id:pk>/cancel/", bookings.CancelBookingView.as_view(), name="booking-cancel"),
    path("bookings/<id:pk>/reschedule/", bookings.RescheduleBookingView.as_view(), name="booking-reschedule"),
    path("bookings/<id:pk>/close/", bookings.CloseSessionView.as_view(), name="booking-close"),
    path("tasks/", tasks.TaskListView.as_view(), name="tasks"),
    path("tasks/<id:pk>/approve/", tasks.ApproveTaskView.as_view(), name="task-approve"),
    path("tasks/<id:pk>/reject/", tasks.RejectTaskView.as_view(), name="task-reject"),
    path("scan/", doors.ScanView.as_view(), name="scan"),
    path("rooms/<id:pk>/open/", doors.ManualOpenView.as_view(), name="room-open"),
    path("rooms/<id:pk>/door-qr/", doors.DoorQrView.as_view(), name="room-door-qr"),
    path("door-qr-sheet/", doors.DoorQrSheetView.as_view(), name="door-qr-sheet"),
    path("notifications/", notifications.NotificationListView.as_view(), name="notifications"),
    path("notifications/<id:pk>/read/", notifications.MarkReadView.as_view(), name="notification-read"),
    path("promotions/", outreach.PromotionsView.as_view(), name="promotions"),
    path("consultations/", outreach.ConsultationsView.as_view(), name="consultations"),
    path("consultations/<id:pk>/answer/", outreach.AnswerView.as_view(), name="consultation-answer"),
    path("faq/", outreach.FaqView.as_view(), name="faq"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("fee-items/", payments.FeeItemListView.as_view(), name="fee-items"),
    path("fee-items/<slug:code>/", payments.FeeItemDetailView.as_view(), name="fee-item"),
    path("payments/", payments.PaymentListView.as_view(), name="payments"),
    path("payments/<id:pk>/", payments.PaymentDetailView.as_view(), name="payment"),
    path("payments/<id:pk>/qr/", payments.PaymentQrView.as_view(), name="payment-qr"),
    path("payments/<id:pk>/confirm/", payments.ConfirmPaymentView.as_view(), name="payment-confirm"),
    path("payments/notify/wechat/", payments.WeChatNotifyView.as_view(), name="payment-notify-wechat"),
]
