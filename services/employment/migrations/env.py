from alembic import context

import fangpin_employment.main  # noqa: F401  (imports every table of the service)
from fangpin_common.migrations import run_env
from fangpin_employment.base import metadata

run_env(context, metadata)
