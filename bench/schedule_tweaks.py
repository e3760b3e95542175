"""Training tweaks nerloop does not ship, measured like bench/schedule.py's variants (same split, seeds, test set,
JSON lines log and report): an exponential moving average of the weights, and layer-wise learning-rate decay.

    .venv/bin/python bench/schedule_tweaks.py --variant ema995 --variant llrd85-lr15 --seeds 1,2,3 --served-int8 \
        --log bench/results/schedule-tweaks-cpu.rounds.jsonl

Variants (all in bf16 mixed precision, otherwise the training settings' defaults):
- ``ema995``: an exponential moving average of the trainable weights with decay 0.995 (warmed up as
  ``min(decay, (1 + step) / (10 + step))``); each epoch's validation, checkpoint and so the round's model use the
  average, training goes on from the live weights;
- ``llrd85-lr15``: learning rate 1.5e-4 for the classifier, times 0.85 for each layer further down (embeddings
  last), with the default fused AdamW, no weight decay on biases and LayerNorm weights (as the Trainer does).

The tweaks reach ``training.fine_tune`` by swapping the Trainer class it builds for a subclass, for this process
only; they are measurements, not settings.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import schedule  # noqa: E402

TWEAKS: dict[str, tuple[dict, dict]] = {  # variant: (TrainSettings overrides, tweak)
    "ema995": ({"precision": "bf16"}, {"ema": 0.995}),
    "llrd85-lr15": ({"precision": "bf16", "learning_rate": 1.5e-4}, {"layer_decay": 0.85}),
}
ACTIVE: dict[str, float] = {}


def weight_average(decay: float) -> Any:
    """A TrainerCallback that keeps an exponential moving average of the trainable weights and swaps it in from
    each epoch's end (validation, checkpoint) until the checkpoint is saved."""
    import torch
    from transformers import TrainerCallback

    class WeightAverage(TrainerCallback):
        def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
            self.params = [p for p in model.parameters() if p.requires_grad]
            self.average = [p.detach().clone().float() for p in self.params]

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            step = state.global_step
            with torch.no_grad():
                torch._foreach_lerp_(self.average, [p.detach().float() for p in self.params],
                                     1 - min(decay, (1 + step) / (10 + step)))

        def _swap(self) -> None:
            with torch.no_grad():
                for param, average in zip(self.params, self.average, strict=True):
                    live = param.detach().clone()
                    param.copy_(average)
                    average.copy_(live)

        def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self._swap()

        def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self._swap()

    return WeightAverage()


def layer_decayed_groups(model: Any, learning_rate: float, weight_decay: float, decay: float) -> list[dict]:
    """AdamW parameter groups: the full rate for the classifier, ``decay`` times less per layer below it."""
    layers = model.config.num_hidden_layers
    groups: dict[tuple[float, float], list] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if name.startswith("classifier"):
            depth = 0
        elif ".layer." in name:
            depth = layers - int(name.split(".layer.")[1].split(".")[0])
        else:
            depth = layers + 1
        no_decay = name.endswith("bias") or "LayerNorm" in name
        groups.setdefault((learning_rate * decay ** depth, 0.0 if no_decay else weight_decay), []).append(param)
    return [{"params": params, "lr": lr, "weight_decay": wd} for (lr, wd), params in groups.items()]


def install() -> None:
    """Swap ``transformers.trainer.Trainer`` (what ``from transformers import Trainer`` returns) for a subclass
    that adds the active tweak."""
    import torch
    import transformers.trainer

    base = transformers.trainer.Trainer

    class TweakedTrainer(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, callbacks: list | None = None, **kwargs: Any) -> None:
            extra = [weight_average(ACTIVE["ema"])] if "ema" in ACTIVE else []
            super().__init__(*args, callbacks=[*(callbacks or []), *extra], **kwargs)

        def create_optimizer(self, *args: Any, **kwargs: Any) -> Any:
            if "layer_decay" not in ACTIVE:
                return super().create_optimizer(*args, **kwargs)
            groups = layer_decayed_groups(self.model, self.args.learning_rate, self.args.weight_decay,
                                          ACTIVE["layer_decay"])
            self.optimizer = torch.optim.AdamW(groups, lr=self.args.learning_rate, fused=True)
            return self.optimizer

    transformers.trainer.Trainer = TweakedTrainer


def main(argv: list[str] | None = None) -> int:
    install()
    plain_train_once = schedule.train_once

    def train_once(variant: str, seed: int, args: Any) -> dict:
        ACTIVE.clear()
        ACTIVE.update(TWEAKS.get(variant, ({}, {}))[1])
        return plain_train_once(variant, seed, args)

    schedule.VARIANTS.update({name: overrides for name, (overrides, _) in TWEAKS.items()})
    schedule.train_once = train_once
    return schedule.main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
