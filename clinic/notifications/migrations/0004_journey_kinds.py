"""The donor journey's notification kinds: donor.status, slot.offered, booking.changed."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0003_relay_kinds"),
    ]

    operations = [
        migrations.AlterField(
            model_name="notification",
            name="kind",
            field=models.CharField(
                choices=[
                    ("booking.requested", "Booking Requested"),
                    ("room.requested", "Room Requested"),
                    ("booking.reviewed", "Booking Reviewed"),
                    ("booking.approved", "Booking Approved"),
                    ("booking.rejected", "Booking Rejected"),
                    ("booking.expired", "Booking Expired"),
                    ("booking.no_show", "Booking No Show"),
                    ("booking.reminder", "Booking Reminder"),
                    ("booking.completed", "Booking Completed"),
                    ("booking.changed", "Booking Changed"),
                    ("room.overstay", "Room Overstay"),
                    ("door.held_open", "Door Held Open"),
                    ("relay.offline", "Relay Offline"),
                    ("relay.back", "Relay Back"),
                    ("donor.status", "Donor Status"),
                    ("slot.offered", "Slot Offered"),
                    ("consultation.answered", "Consultation Answered"),
                    ("promotion", "Promotion"),
                ],
                max_length=32,
            ),
        ),
    ]
