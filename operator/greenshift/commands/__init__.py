"""One module per ``greenshift`` sub-command, each with ``add_arguments(parser)`` and ``run(args)``."""
