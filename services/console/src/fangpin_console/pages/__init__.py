"""The pages, one package per concept (the domain packages they work with)."""

from fangpin_console.pages.households.router import router as households
from fangpin_console.pages.reminders.router import router as reminders
from fangpin_console.pages.workbench.router import router as workbench

PAGE_ROUTERS = (workbench, reminders, households)
