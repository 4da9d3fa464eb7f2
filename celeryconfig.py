"""Celery configuration: Redis broker, late acks, the periodic sweep and the relay probe driven by beat."""

from clinic import env

broker_url = env.string("CELERY_BROKER_URL") or env.string("REDIS_URL", "redis://127.0.0.1:6379/0")
result_backend = None
task_ignore_result = True
task_serializer = "json"
accept_content = ["json"]
timezone = "Asia/Shanghai"
enable_utc = True

# A task whose worker dies mid-run goes back to the queue; tasks are written to be harmless
# when run twice (compare-and-set), so a redelivery never doubles an effect.
task_acks_late = True
task_reject_on_worker_lost = True
worker_prefetch_multiplier = 1

# Never let a web request wait on a dead broker for long: publishing gives up fast and the
# periodic sweep delivers whatever was left undelivered.
broker_connection_timeout = 1
broker_connection_retry_on_startup = True
broker_transport_options = {
    "socket_connect_timeout": 1,
    "socket_timeout": 1,
    "max_retries": 0,
    "visibility_timeout": 3600,
}
task_publish_retry = False

beat_schedule = {
    "sweep": {
        "task": "workflows.tasks.sweep",
        "schedule": float(env.integer("SWEEP_INTERVAL_SECONDS", 30, minimum=1)),
    },
    # The relay boards' health watch (workflows.boards), apart from the sweep: an offline board
    # takes seconds to probe, which the sweep's other work should not wait for.
    "relay-probe": {
        "task": "workflows.tasks.probe_relays",
        "schedule": float(env.integer("RELAY_PROBE_SECONDS", 60, minimum=5, maximum=3600)),
        "options": {"expires": float(env.integer("RELAY_PROBE_SECONDS", 60, minimum=5, maximum=3600))},
    },
    # Donors whose retest falls due (clinic.bookings.journey): a date rule, checked hourly.
    "donor-journey": {
        "task": "clinic.bookings.tasks.mark_retests_due",
        "schedule": float(env.integer("DONOR_JOURNEY_SECONDS", 3600, minimum=1, maximum=86400)),
    },
}

# Celery's Django fix-up closes the database connection around every task, and in a prefork
# child also its connection pool: a new PostgreSQL session per task. Here it closes them only
# every 1,000 tasks; between tasks the connection goes back to the child's pool (clinic.celery),
# checked as it is handed out again, as for web requests.
CELERY_DB_REUSE_MAX = 1000
