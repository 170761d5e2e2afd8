"""Training: `python -m train MODEL --data DATASET --out DIR` (see train/cli.py), the loop
(train/loop.py) and the presets that reproduce every shipped checkpoint (train/presets.py)."""
