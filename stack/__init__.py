"""The local stack that ``nerloop up`` runs: a Label Studio server and the ML backend as background processes.

``stack.services`` starts a command, waits for its health URL and stops its process group; ``stack.studio_launcher``
starts Label Studio with its login; ``stack.record`` keeps what runs in ``work_dir/stack.json``;
``stack.lifecycle`` starts or reuses, waits for and stops the two services. What the project in Label Studio holds
(tasks, rounds, predictions) is the orchestration's business, not this package's.
"""
