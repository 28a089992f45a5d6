"""Where the API token comes from and where `llamactl auth` keeps it."""
