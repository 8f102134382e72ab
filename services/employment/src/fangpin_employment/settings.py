from fangpin_common.settings import ServiceSettings


class EmploymentSettings(ServiceSettings):
    service_name: str = "employment"
    port: int = 8002
