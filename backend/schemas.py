"""Request and response models of the ML backend protocol (what Label Studio 1.23.2 sends and expects).

Requests accept extra fields (Label Studio sends whole task and project objects) but validate what we read.
Per-task content (the text under the config's data key) is checked by the model, not here: a task whose text is
missing, not a string, empty or too long gets an empty result, so one bad task never drops its batch.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class Task(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: int | str | None = None
    data: dict[str, Any] = Field(default_factory=dict, description="Task data; the text is under the config's key.")


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    tasks: list[Task] = Field(description="Tasks to pre-annotate; one result comes back per task, in order.")
    project: str | int | None = Field(None, description='Project id, or "<id>.<created timestamp>".')
    label_config: str | None = Field(None, description="The project's labeling config (XML). Without it, the "
                                                       "config sent to /setup for this project is used.")
    params: dict[str, Any] | None = None


class RegionValue(BaseModel):
    start: int
    end: int
    text: str
    labels: list[str]


class Region(BaseModel):
    from_name: str
    to_name: str
    type: str = "labels"
    value: RegionValue
    score: float


class TaskPrediction(BaseModel):
    result: list[Region]
    score: float = Field(description="The round's confidence in the task under the loop's order (sort ascending: "
                                     "most useful to label first); 0.0 when the model did not see the task.")
    model_version: str


class PredictResponse(BaseModel):
    results: list[TaskPrediction]


class SetupRequest(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    project: str | int | None = None
    label_schema: str | None = Field(None, alias="schema", description="The project's labeling config (XML).")
    hostname: str | None = None
    access_token: SecretStr | None = None
    extra_params: Any = None


class SetupResponse(BaseModel):
    model_version: str


class ProjectHealth(BaseModel):
    model_version: str = Field(description="The round in memory for this project now ('no-model' when none).")
    current: str = Field(description="The round its registry's `current` names: what it serves once loaded.")
    last_round: dict[str, Any] | None = Field(None, description="Outcome of its newest round (project.json), e.g. "
                                                                "{'status': 'failed', 'error': ..., 'finished': ...}.")
    round_running: bool = False


class HealthResponse(BaseModel):
    status: str
    model_class: str
    projects: dict[str, ProjectHealth] = Field(default_factory=dict,
                                               description="Each project in the models directory or in memory.")


class WebhookRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    action: str
    project: dict[str, Any] | int | str | None = None
    annotation: dict[str, Any] | None = None
    task: dict[str, Any] | None = None


class WebhookResponse(BaseModel):
    status: str = Field(description="started | queued | counted | ignored")
    action: str
    project: str | None = None
    detail: str | None = None
