from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class RunLiveSeq(models.Model):
    """The number of the last live frame published for one run (``realtime.sequence``).

    A database counter, not a clock: publishers in different processes and on different
    machines number a run's frames in the order they read its state, so a frame with a
    higher number never shows an older state, whatever the clocks say.
    """

    run = models.OneToOneField(
        "automate.ExecutionRun", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    seq = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("live frame counter")
        verbose_name_plural = _("live frame counters")

    def __str__(self) -> str:
        return f"{self.run_id}: {self.seq}"
