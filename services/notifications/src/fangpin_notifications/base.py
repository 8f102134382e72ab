"""The notifications service's table base: its own metadata, with the shared infrastructure
tables."""

from sqlmodel import SQLModel

from fangpin_common.db import service_registry


class Base(SQLModel, registry=service_registry()):
    pass


metadata = Base.metadata
