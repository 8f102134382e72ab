from pydantic import Field

from fangpin_common.settings import ServiceSettings


class ConsoleSettings(ServiceSettings):
    service_name: str = "console"
    port: int = 8005
    # The console owns no domain data: every page reads and writes through these services.
    monitoring_url: str = "http://127.0.0.1:8001"
    employment_url: str = "http://127.0.0.1:8002"
    industry_url: str = "http://127.0.0.1:8003"
    notifications_url: str = "http://127.0.0.1:8004"
    # A page waits this long for a service before showing "服务暂时不可用".
    api_timeout_seconds: float = Field(default=15.0, gt=0, le=120)
