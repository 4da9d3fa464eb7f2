"""Promotions reaching their audience, questions to staff and their answers."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from clinic.accounts import policy, roles
from clinic.accounts.models import User
from clinic.accounts.validators import normalize_phone
from clinic.audit import services as audit
from clinic.errors import Conflict, Invalid, Locked, NotFound
from clinic.notifications.channels import sms_backend
from clinic.notifications.models import Notification
from clinic.notifications.services import notify
from clinic.outreach.models import VISITOR, Consultation, FaqEntry, Promotion

logger = logging.getLogger(__name__)

AUDIENCES = (*roles.ROLES, VISITOR)
QUESTIONS_PER_HOUR_PER_ADDRESS = 10


def _live(now: datetime) -> Q:
    return (Q(publish_from__isnull=True) | Q(publish_from__lte=now)) & (
        Q(publish_until__isnull=True) | Q(publish_until__gt=now)
    )


def audience_of(user: User | AnonymousUser) -> list[str]:
    return user.roles if user.is_authenticated else [VISITOR]


def visible_promotions(user: User | AnonymousUser, now: datetime | None = None) -> list[Promotion]:
    """Published items meant for the caller's role(s); visitors get the `visitor` ones."""
    now = now or timezone.now()
    wanted = set(audience_of(user))
    items = Promotion.objects.filter(_live(now)).order_by("-created")
    return [item for item in items if wanted & set(item.audience)]


def mark_shown(user: User, promotion_ids: list[int]) -> int:
    """The promotions a user's page has shown him count as read (his push notification of each)."""
    return Notification.objects.filter(
        recipient=user, kind="promotion", data__promotion__in=promotion_ids, read_at__isnull=True
    ).update(read_at=timezone.now())


def all_promotions_with_reads() -> QuerySet[Promotion]:
    return Promotion.objects.order_by("-created")


def read_counts(promotion_ids: list[int]) -> dict[int, dict[str, int]]:
    """How many recipients each promotion reached and how many have read it."""
    rows = (
        Notification.objects.filter(kind="promotion", data__promotion__in=promotion_ids)
        .values("data__promotion")
        .annotate(sent=Count("id"), read_count=Count("id", filter=Q(read_at__isnull=False)))
    )
    return {row["data__promotion"]: {"sent": row["sent"], "read": row["read_count"]} for row in rows}


@transaction.atomic
def create_promotion(
    *,
    actor: User,
    title: str,
    body: str,
    audience: list[str],
    publish_from: datetime | None = None,
    publish_until: datetime | None = None,
    image: Any = None,
) -> Promotion:
    audience = list(dict.fromkeys(audience))
    unknown = [a for a in audience if a not in AUDIENCES]
    if not audience or unknown:
        raise Invalid(
            _("Audience must name roles and/or visitor (%(choices)s).") % {"choices": ", ".join(AUDIENCES)},
            fields={
                "audience": [_("Unknown audience %(name)s.") % {"name": repr(a)} for a in unknown]
                or [_("Choose at least one audience.")]
            },
        )
    if publish_from and publish_until and publish_until <= publish_from:
        raise Invalid(
            _("The publication must end after it starts."), fields={"publish_until": [_("Must be after publish_from.")]}
        )
    promotion = Promotion.objects.create(
        title=title.strip(),
        body=body.strip(),
        audience=audience,
        publish_from=publish_from,
        publish_until=publish_until,
        created_by=actor,
        **({"image": image} if image else {}),
    )
    audit.record("promotion.created", actor=actor, obj=promotion, data={"audience": audience})
    push_if_due(promotion)
    return promotion


def push_if_due(promotion: Promotion, now: datetime | None = None) -> int:
    """Notify every user of the audience once, when the item is live. Visitors have no inbox:
    they see `visitor` items on the lobby page."""
    now = now or timezone.now()
    with transaction.atomic():
        # Live and not yet pushed, claimed in one compare-and-set.
        if (
            not Promotion.objects.filter(pk=promotion.pk, pushed_at__isnull=True)
            .filter(_live(now))
            .update(pushed_at=now)
        ):
            return 0
        groups = [a for a in promotion.audience if a != VISITOR]
        users = User.objects.filter(is_active=True, groups__name__in=groups).distinct()
        rows = notify(users, "promotion", context={"title": promotion.title, "promotion": promotion.pk})
    return len(rows)


def push_due_promotions(now: datetime | None = None) -> int:
    """Sweep: items whose publication window has opened since they were written."""
    now = now or timezone.now()
    return sum(push_if_due(p, now) for p in Promotion.objects.filter(pushed_at__isnull=True).filter(_live(now)))


# --- consultation -------------------------------------------------------------------------


def ask(*, asker: User | AnonymousUser, question: str, contact: str = "", client_ip: str | None = None) -> Consultation:
    """A visitor (leaving a phone number) or a logged-in user asks staff a question."""
    question = (question or "").strip()
    if not question:
        raise Invalid(_("Write your question."), fields={"question": [_("This field is required.")]})
    user = asker if asker.is_authenticated else None
    phone = normalize_phone(contact) if contact else ""
    if contact and phone is None:
        raise Invalid(_("The phone number is not valid."), fields={"contact": [_("Enter a valid phone number.")]})
    if user is None and not phone:
        raise Invalid(
            _("Leave a phone number so that staff can answer you, or log in."),
            fields={"contact": [_("A phone number is required when you are not logged in.")]},
        )
    if client_ip and user is None:
        since = timezone.now() - timedelta(hours=1)
        if (
            Consultation.objects.filter(client_ip=client_ip, created__gte=since).count()
            >= QUESTIONS_PER_HOUR_PER_ADDRESS
        ):
            raise Locked(
                _("Too many questions from this connection; please try again in an hour."), code="too_many_questions"
            )
    consultation = Consultation.objects.create(
        asker=user, contact=phone or "", question=question, client_ip=client_ip, token=secrets.token_urlsafe(24)
    )
    audit.record("consultation.asked", actor=asker, obj=consultation)
    return consultation


def visible_consultations(user: User) -> QuerySet[Consultation]:
    if policy.can_answer_consultations(user):
        return Consultation.objects.select_related("asker")
    return Consultation.objects.filter(asker=user)


@transaction.atomic
def answer(*, actor: User, consultation_id: int, text: str) -> Consultation:
    text = (text or "").strip()
    if not text:
        raise Invalid(_("Write an answer."), fields={"answer": [_("This field is required.")]})
    now = timezone.now()
    if not Consultation.objects.filter(pk=consultation_id, answered_at__isnull=True).update(
        answer=text, answered_by=actor, answered_at=now
    ):
        if Consultation.objects.filter(pk=consultation_id).exists():
            raise Conflict(_("This question has already been answered."), code="already_answered")
        raise NotFound(_("No such question."))
    consultation = Consultation.objects.select_related("asker").get(pk=consultation_id)
    audit.record("consultation.answered", actor=actor, obj=consultation)
    if consultation.asker is not None:
        notify([consultation.asker], "consultation.answered", context={"consultation": consultation.pk})
    elif consultation.contact:
        transaction.on_commit(partial(_enqueue_answer_sms, consultation.pk))
    return consultation


def private_link(consultation: Consultation) -> str:
    return f"{settings.SITE_URL}/ask/{consultation.token}/" if consultation.token else ""


def by_token(token: str) -> Consultation | None:
    if not (token and len(token) <= 43 and all(c.isascii() and (c.isalnum() or c in "-_") for c in token)):
        return None
    return Consultation.objects.filter(token=token).first()


def _enqueue_answer_sms(consultation_id: int) -> None:
    from clinic.outreach.tasks import send_answer_sms

    try:
        send_answer_sms.delay(consultation_id)
    except Exception as exc:  # the broker is down: the sweep sends it
        logger.warning("answer SMS of question %s left for the sweep: %s", consultation_id, exc)


def _answers_to_text() -> QuerySet[Consultation]:
    waiting = Consultation.objects.filter(asker__isnull=True, answered_at__isnull=False, sms_sent_at__isnull=True)
    return waiting.exclude(contact="").exclude(token="")


def send_answer_sms(consultation_id: int) -> bool:
    """Tell a visitor by SMS, to the phone he left, that his question is answered, with the private
    link (the answer itself is not put in an SMS). Claimed first, so it is sent once; a backend
    failure gives the claim back for the sweep."""
    claimed_at = timezone.now()
    if not _answers_to_text().filter(pk=consultation_id).update(sms_sent_at=claimed_at):
        return False
    consultation = Consultation.objects.get(pk=consultation_id)
    with translation.override(settings.LANGUAGE_CODE):
        text = _("Your question has been answered: {link}").format(link=private_link(consultation))
    try:
        sms_backend().send(consultation.contact, text)
    except Exception:
        Consultation.objects.filter(pk=consultation_id, sms_sent_at=claimed_at).update(sms_sent_at=None)
        raise
    audit.record("consultation.sms_sent", obj=consultation)
    return True


def send_pending_answer_sms(limit: int = 100) -> int:
    """The sweep's part: answers whose SMS has not gone (broker down, SMS backend failing). A number
    the gateway refuses does not hold up the others; three failures in a row mean the gateway
    itself is down, and the rest wait for the next sweep."""
    sent = failures = 0
    for pk in list(_answers_to_text().order_by("answered_at").values_list("pk", flat=True)[:limit]):
        try:
            sent += send_answer_sms(pk)
            failures = 0
        except Exception as exc:
            logger.warning("answer SMS of question %s not sent: %s", pk, exc)
            failures += 1
            if failures >= 3:
                break
    return sent


def faq() -> QuerySet[FaqEntry]:
    return FaqEntry.objects.filter(published=True)
