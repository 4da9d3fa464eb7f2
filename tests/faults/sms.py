"""A test-only SMS backend for processes of our own (Celery workers), chosen with
SMS_BACKEND=tests.faults.sms.RecordingSms.

Every message sent is appended as one line "<notification id> <phone> <text>" to the file named
by FAULT_SMS_LOG; a question's answer is "q<consultation id> <phone> <text>". One unbuffered
write per line, so lines from several processes never mix.
With FAULT_SMS_HANG set to a path, the first send of all (whichever process makes it: the path
is claimed with O_EXCL) writes its process id there and hangs for a minute before sending, for
the test to kill that process mid-task."""

from __future__ import annotations

import inspect
import os
import time


def _sent_for() -> str:
    """What is being sent: SmsChannel.send(notification) calls us with the phone and the text
    only, so the notification (or the answered question) is read from the caller's frame."""
    frame = inspect.currentframe()
    while frame is not None:
        candidate = frame.f_locals.get("notification")
        if candidate is not None and hasattr(candidate, "pk"):
            return str(candidate.pk)
        candidate = frame.f_locals.get("consultation")
        if candidate is not None and hasattr(candidate, "pk"):
            return f"q{candidate.pk}"
        frame = frame.f_back
    return "None"


class RecordingSms:
    def send(self, phone: str, text: str) -> None:
        hang = os.environ.get("FAULT_SMS_HANG")
        if hang:
            try:
                fd = os.open(hang, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                pass
            else:
                os.write(fd, f"{os.getpid()}\n".encode())
                os.close(fd)
                time.sleep(60)
        line = f"{_sent_for()} {phone} {' '.join(text.split())}\n".encode()
        fd = os.open(os.environ["FAULT_SMS_LOG"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)


def texts(path) -> list[str]:
    """Every line of a FAULT_SMS_LOG file: "<what> <phone> <text>"."""
    try:
        with open(path) as log:
            return [line.strip() for line in log if line.strip()]
    except FileNotFoundError:
        return []


def sent(path) -> list[int]:
    """The notification ids in a FAULT_SMS_LOG file, one per message sent, in order."""
    try:
        with open(path) as log:
            return [int(line.split()[0]) for line in log if line.split() and line.split()[0].isdigit()]
    except FileNotFoundError:
        return []
