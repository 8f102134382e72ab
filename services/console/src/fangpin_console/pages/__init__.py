"""The pages, one package per concept (the domain packages they work with)."""

from fangpin_console.pages.admin.router import router as admin
from fangpin_console.pages.cases.router import router as cases
from fangpin_console.pages.employment.router import router as employment
from fangpin_console.pages.households.router import router as households
from fangpin_console.pages.identifications.router import router as identifications
from fangpin_console.pages.reminders.router import router as reminders
from fangpin_console.pages.reports.router import router as reports
from fangpin_console.pages.warnings.router import router as warnings
from fangpin_console.pages.workbench.router import router as workbench

PAGE_ROUTERS = (workbench, reminders, households, warnings, identifications, cases, reports,
                employment, admin)
