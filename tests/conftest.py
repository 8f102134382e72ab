pytest_plugins = ["fangpin_common.testing"]
