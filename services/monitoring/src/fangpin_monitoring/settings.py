from fangpin_common.settings import ServiceSettings


class MonitoringSettings(ServiceSettings):
    service_name: str = "monitoring"
    port: int = 8001
    # The job that opens visit deadlines runs at start and then at this interval (daily).
    visit_deadlines_job: bool = True
    visit_deadlines_interval_seconds: float = 86400.0
    # Scheduled data-quality runs (county `quality.run_days`): first checked this long after
    # start (a run is heavy: not in the middle of starting up), then at the interval.
    quality_job: bool = True
    quality_first_check_seconds: float = 300.0
    quality_check_interval_seconds: float = 3600.0
