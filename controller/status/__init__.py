"""Status files and rollback markers: what the controller writes back under ``.ecs-gitops/``."""
