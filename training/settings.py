"""The typed, frozen hyperparameters and switches of one training round (``TrainSettings``).

Defaults are chosen for the MIT Restaurant scale (a few thousand short queries) and the offline MiniLM-L6
encoder as well as DistilBERT: see ``learning_rate`` for why one value serves both.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_BASE_MODEL = "distilbert-base-uncased"
MINILM_ALIAS = "minilm"


class TrainSettings(BaseModel):
    """Everything that decides what a round learns; stored in the round's manifest."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_model: str = Field(DEFAULT_BASE_MODEL,
                            description="Hub id, local folder, or 'minilm' (the offline all-MiniLM-L6-v2 encoder).")
    epochs: float = Field(3, gt=0)
    # 5e-5 is the usual DistilBERT/BERT fine-tuning value; MiniLM-L6 (6 small layers, 384 wide) learns slowly at
    # that rate and reaches its best MIT F1 around 1e-4, so `resolved_learning_rate` picks 1e-4 for it when unset.
    learning_rate: float | None = Field(None, gt=0, description="None: 1e-4 for MiniLM, 5e-5 otherwise.")
    batch_size: int = Field(16, ge=1)
    weight_decay: float = Field(0.01, ge=0)
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    # The window is a property of the round: training cuts long texts with it, and it is saved with the model
    # (model/window.json) so evaluation and serving cut texts the same way (inference.windows).
    max_length: int = Field(128, ge=8, le=4096, description="Sub-tokens per model window, special tokens included; "
                                                            "longer texts are cut into overlapping windows.")
    stride: int = Field(32, ge=0, description="Sub-tokens of overlap between the windows of a long text "
                                              "(capped at half a window).")
    seed: int = 42
    device: Literal["auto", "cpu", "cuda"] = "auto"
    label_all_subtokens: bool = False
    promote_tolerance: float = Field(0.005, ge=0, description="Max drop in test micro F1 that still promotes.")
    init_from: Literal["base", "current"] = "base"
    eval_every: Literal["epoch"] | int = Field("epoch", description="'epoch' or a number of optimizer steps.")
    logging_steps: int = Field(50, ge=1)
    num_threads: int | None = Field(None, ge=1, description="CPU threads; None: all cores the process may use.")

    @property
    def is_minilm(self) -> bool:
        return self.base_model == MINILM_ALIAS

    @property
    def resolved_learning_rate(self) -> float:
        if self.learning_rate is not None:
            return self.learning_rate
        return 1e-4 if self.is_minilm else 5e-5
