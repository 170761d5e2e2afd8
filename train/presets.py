"""One preset per shipped checkpoint: `python -m train --preset NAME` reproduces it
(same seed, same result). A preset is the model, the dataset and any flag's value;
flags given on the command line override it."""

PRESETS: dict[str, dict] = {
    "faces-vae": {
        "description": "VAE, latent 32, on 64x64 faces (the explorer's default model)",
        "model": "vae",
        "data": "faces",
        "latent_dim": 32,
        "likelihood": "gaussian",
        "likelihood_std": 0.1,
        "base_width": 32,
        "epochs": 10,
        "batch_size": 64,
        "lr": 1e-3,
        "out": "checkpoints/faces-vae",
    },
    "digits-vae": {
        "description": "VAE, latent 8, on scikit-learn's digits (32x32)",
        "model": "vae",
        "data": "digits",
        "latent_dim": 8,
        "epochs": 60,
        "batch_size": 64,
        "out": "checkpoints/digits-vae",
    },
}
