"""Mirrors MLflow's PyTorch quickstart pattern (docs: deep-learning/pytorch): a small
nn.Module trained for a few epochs with per-epoch metrics logged at a step, the module
logged with mlflow.pytorch.log_model and an input example, loaded back with
mlflow.pytorch.load_model and as a pyfunc. Only ``mlflow`` was replaced by ``keel``."""

import numpy as np
import torch
from sklearn.datasets import make_classification
from torch import nn

import keel
import keel.pytorch

torch.manual_seed(0)
X, y = make_classification(n_samples=256, n_features=8, random_state=0)
X_t = torch.tensor(X, dtype=torch.float32)
y_t = torch.tensor(y, dtype=torch.float32).unsqueeze(1)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))

    def forward(self, x):
        return self.layers(x)


model = Net()
loss_fn = nn.BCEWithLogitsLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
epochs = 5

keel.set_experiment(experiment_name="pytorch-quickstart")
with keel.start_run() as run:
    params = {"epochs": epochs, "learning_rate": 0.05, "optimizer": "Adam"}
    keel.log_params(params)
    for epoch in range(epochs):
        optimizer.zero_grad()
        loss = loss_fn(model(X_t), y_t)
        loss.backward()
        optimizer.step()
        accuracy = ((model(X_t) > 0).float() == y_t).float().mean().item()
        keel.log_metric("loss", loss.item(), step=epoch)
        keel.log_metric("accuracy", accuracy, step=epoch)

    model_info = keel.pytorch.log_model(model, "model", input_example=X[:3].astype(np.float32))

loaded_model = keel.pytorch.load_model(model_info.model_uri)
with torch.no_grad():
    torch.testing.assert_close(loaded_model(X_t[:4]), model(X_t[:4]))

pyfunc_model = keel.pyfunc.load_model(model_info.model_uri)
print(pyfunc_model.predict(X[:4].astype(np.float32)))
