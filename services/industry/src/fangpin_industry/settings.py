from fangpin_common.settings import ServiceSettings


class IndustrySettings(ServiceSettings):
    service_name: str = "industry"
    port: int = 8003
    # How often the project scanner derives problem flags (建而不成, 成而不用, 用而不好).
    flag_scan_interval_seconds: float = 3600.0
