from alembic import context

import fangpin_console.main  # noqa: F401  (imports every table of the service)
from fangpin_common.migrations import run_env
from fangpin_console.base import metadata

run_env(context, metadata)
