"""Source: the config repository as git gives it (clone, fetch, history, status write-back).

``git_repo`` does the I/O; ``git_errors`` turns git failures into ``GitError`` values.
"""
