from fangpin_common.settings import ServiceSettings


class MonitoringSettings(ServiceSettings):
    service_name: str = "monitoring"
    port: int = 8001
