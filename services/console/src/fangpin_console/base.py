"""The console service's table base: its own metadata, shared infrastructure tables included."""

from sqlmodel import SQLModel

from fangpin_common.db import service_registry


class Base(SQLModel, registry=service_registry()):
    pass


metadata = Base.metadata
