"""What nerloop keeps and talks to: the settings every edge shares (``store.settings``), the project registry
(``store.projects``: projects and their settings; ``store.registry``: a project's rounds and its ``current``
pointer) and the one Label Studio gateway (``store.studio``)."""
