"""Run by torchrun in test_ddp.py: one process of a two-process round."""

import sys
from pathlib import Path

from labeling_config import restaurant_config
from store.settings import TrainSettings
from training.round_builder import train_round

splits, models, base = (Path(a) for a in sys.argv[1:4])
settings = TrainSettings(base_model=str(base), epochs=2, learning_rate=3e-3, batch_size=4, device="cpu",
                         num_threads=1)
result = train_round(splits, config=restaurant_config(), models_dir=models, settings=settings)
print(f"RESULT {result.name or '-'} {result.promoted} {result.reason}", flush=True)
