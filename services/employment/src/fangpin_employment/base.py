"""The employment service's table base: its own metadata, shared infrastructure tables included."""

from fangpin_common.db import service_registry
from sqlmodel import SQLModel


class Base(SQLModel, registry=service_registry()):
    pass


metadata = Base.metadata
