from django.conf import settings
from django.db import models

from smmpanel.catalog.models import Provider, ProviderService


class UpstreamCall(models.Model):
    """One request to a provider and what came of it: the operator's record of every call."""

    class Outcome(models.TextChoices):
        OK = "ok", "Answered"
        ERROR = "error", "Answered with an error"  # a definite refusal, e.g. {"error": ...}
        TIMEOUT = "timeout", "Timed out"
        CONNECTION = "connection", "Connection failed or dropped"
        HTTP_ERROR = "http_error", "HTTP error status"
        BAD_ANSWER = "bad_answer", "Unreadable answer (HTML, invalid JSON, wrong shape)"

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="calls")
    action = models.CharField(max_length=40)
    # The parameters sent, without the provider's API key.
    request = models.JSONField(default=dict)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response = models.TextField(blank=True, help_text="The answer's body, cut at 10,000 characters.")
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    error = models.TextField(blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    order = models.ForeignKey(
        "orders.Order", on_delete=models.SET_NULL, null=True, blank=True, related_name="upstream_calls"
    )
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["provider", "-created_at"], name="upstream_call_recent")]

    def __str__(self) -> str:
        return f"{self.action} to {self.provider_id}: {self.outcome}"


class CallPace(models.Model):
    """When a provider may next be called: one row per provider, shared by every worker.

    Workers take turns by a conditional UPDATE on `next_at`, so N workers together keep to
    the provider's `requests_per_second`, not N times it.
    """

    provider = models.OneToOneField(Provider, on_delete=models.CASCADE, primary_key=True, related_name="+")
    next_at = models.FloatField(default=0.0, help_text="Unix time (seconds) the next call may start.")

    def __str__(self) -> str:
        return f"{self.provider_id} next at {self.next_at}"


class WorkerBeat(models.Model):
    """A worker's heartbeat: one row per worker process, moved forward each round (providers/beats.py).

    The console shows each worker's last beat and flags one that has gone quiet.
    """

    name = models.CharField(max_length=200, unique=True, help_text="host:pid, or the name it was given.")
    host = models.CharField(max_length=200)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    beat_at = models.DateTimeField()
    stopped_at = models.DateTimeField(null=True, blank=True, help_text="When it stopped cleanly.")

    def __str__(self) -> str:
        return f"worker {self.name} at {self.beat_at}"


class ListingChange(models.Model):
    """One difference between a provider's service list as last read and as the panel last knew
    it: a new service, a gone one, a cost, min/max or options change. The list is kept as the
    provider says (catalog.ProviderService); what the panel sells changes only when the operator
    accepts the line (providers/listing.py). A later read that changes the same thing again
    updates the pending line's `after`; one that puts it back removes the line."""

    class Kind(models.TextChoices):
        NEW = "new", "New service"
        GONE = "gone", "Gone"
        COST = "cost", "Cost changed"
        LIMITS = "limits", "Min/max changed"
        OPTIONS = "options", "Options changed"

    class State(models.TextChoices):
        PENDING = "pending", "Waiting for a decision"
        ACCEPTED = "accepted", "Accepted"
        SKIPPED = "skipped", "Skipped"

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="listing_changes")
    provider_service = models.ForeignKey(ProviderService, on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    before = models.JSONField(default=dict, blank=True)  # e.g. {"rate": "1.20"}; {} for a new one
    after = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    found_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["provider", "state"], name="listing_change_open")]
        constraints = [
            # One pending line per provider service and kind: a later read updates it.
            models.UniqueConstraint(
                fields=["provider_service", "kind"],
                condition=models.Q(state="pending"),
                name="listing_change_one_pending",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} of {self.provider_service_id} ({self.state})"
