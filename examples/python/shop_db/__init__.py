"""The shop's database: its seed for the harness, registered as the `shop` plug-in."""
