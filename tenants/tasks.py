"""Webhook deliveries leave from a worker after the change they report has committed; the task
loads the delivery by id, lets the service make one attempt, and owns the retries."""

from celery import shared_task

from . import webhooks


@shared_task(bind=True, name="tenants.webhook_deliver", max_retries=None, acks_late=True, reject_on_worker_lost=True)
def webhook_deliver(self, delivery_id: str) -> str:
    """One attempt; another after the service's backoff while it says so. Answers the status."""
    outcome = webhooks.webhook_delivery_attempt(delivery_id=delivery_id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status
