"""What the jobs package emits."""

from __future__ import annotations

from fangpin_common.events.employment import JobsPublished, JobsPublishedData
from fangpin_employment.jobs.models import JobPosting


def jobs_published(posting: JobPosting, now) -> JobsPublished:
    return JobsPublished(subject=posting.id, time=now, data=JobsPublishedData(
        posting_id=posting.id, kind=posting.kind, title=posting.title, employer=posting.employer,
        positions=posting.positions, townships=list(posting.townships),
        villages=list(posting.villages), published_on=posting.published_on,
        closes_on=posting.closes_on))
