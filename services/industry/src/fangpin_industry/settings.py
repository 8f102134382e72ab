from fangpin_common.settings import ServiceSettings


class IndustrySettings(ServiceSettings):
    service_name: str = "industry"
    port: int = 8003
