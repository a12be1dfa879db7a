"""The controller as a long-running service: pass scheduling, repository watch, HTTP endpoints,
metrics and log formatting. ``controller.commands.run`` puts them together."""
