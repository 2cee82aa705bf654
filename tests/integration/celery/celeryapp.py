"""The Celery app of the tests' "host project", set up as Celery's Django guide says.

Its broker comes from the environment the tests give each process
(``AUTOMATE_TEST_CELERY_BROKER``); the relay sends to the queue ``EXECUTION.celery_queue``
names. ``autodiscover_tasks``
finds ``automate.tasks`` in INSTALLED_APPS, as in a host project.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")

app = Celery("automate_test")
app.conf.update(
    broker_url=os.environ.get("AUTOMATE_TEST_CELERY_BROKER", "memory://"),
    broker_connection_retry_on_startup=True,
    worker_prefetch_multiplier=1,
)
app.autodiscover_tasks()
