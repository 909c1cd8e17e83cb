"""What the queue tells other apps (e.g. an event outbox): a tenant's job has finished.

``job_finished`` is sent inside the transaction that records the outcome, inside the job's
tenant context, with ``job_id``, ``tenant_id``, ``kind``, ``status`` (succeeded, failed or
cancelled), ``result_type``, ``result_id``, ``result`` and ``error`` (the problem). For a success
that is the job's own transaction (the work, its outcome and whatever a receiver writes commit
together); for a failure or a cancellation it is the short transaction after the work rolled
back (or the stall check's, when a job's worker was lost too often). A receiver that raises
fails the job's outcome write with it, so receivers only write.
"""

from __future__ import annotations

from django.dispatch import Signal

job_finished = Signal()
