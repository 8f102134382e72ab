from fangpin_common.settings import ServiceSettings


class ConsoleSettings(ServiceSettings):
    service_name: str = "console"
    port: int = 8005
