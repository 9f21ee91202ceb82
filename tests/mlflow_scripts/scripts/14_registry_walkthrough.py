"""Mirrors MLflow's Model Registry walk-through (docs: model-registry, "Adding an MLflow
Model to the Model Registry" and "Deploy and organize models with aliases and tags"):
log and register through log_model, register a second version with
mlflow.register_model, describe and tag the model and its versions with MlflowClient,
point the "champion" alias at a version, load models:/name@champion, list the versions
with search_model_versions, move and delete the alias. Only ``mlflow`` was replaced by
``keel`` (and ``MlflowClient`` by ``Client``)."""

from pprint import pprint

from sklearn.datasets import make_regression
from sklearn.ensemble import RandomForestRegressor

import keel
from keel import Client
from keel.models import infer_signature

model_name = "sk-learn-random-forest-reg-model"

with keel.start_run(run_name="rf-v1") as run:
    X, y = make_regression(n_features=4, n_informative=2, random_state=0, shuffle=False)
    params = {"max_depth": 2, "random_state": 42}
    model = RandomForestRegressor(**params)
    model.fit(X, y)

    # Infer the model signature
    y_pred = model.predict(X)
    signature = infer_signature(X, y_pred)

    # Log parameters and metrics using the MLflow APIs
    keel.log_params(params)
    keel.log_metrics({"mse": ((y - y_pred) ** 2).mean()})

    # Log the sklearn model and register as version 1
    keel.sklearn.log_model(
        sk_model=model,
        name="sklearn-model",
        signature=signature,
        registered_model_name=model_name,
    )

with keel.start_run(run_name="rf-v2") as run:
    better = RandomForestRegressor(max_depth=4, random_state=42).fit(X, y)
    keel.sklearn.log_model(better, "sklearn-model", signature=signature)
    result = keel.register_model(f"runs:/{run.info.run_id}/sklearn-model", model_name)
    print(f"Registered {result.name} version {result.version}")

client = Client()
client.update_registered_model(
    name=model_name,
    description="This model forecasts the power output of a wind farm (synthetic).",
)
client.set_registered_model_tag(model_name, "task", "regression")
client.update_model_version(
    name=model_name, version=1, description="A shallow forest: the baseline."
)
client.set_model_version_tag(model_name, "1", "validation_status", "approved")
client.set_model_version_tag(model_name, "2", "validation_status", "pending")

# create "champion" alias for version 1 of model "example-model"
client.set_registered_model_alias(model_name, "champion", 1)

# get a model version by alias
champion_version = client.get_model_version_by_alias(model_name, "champion")
print(f"champion is version {champion_version.version} from run {champion_version.run_id}")

model_uri = f"models:/{model_name}@champion"
champion = keel.pyfunc.load_model(model_uri)
print(champion.predict(X[:3]))

for mv in client.search_model_versions(f"name='{model_name}'"):
    pprint(
        {"version": mv.version, "run_id": mv.run_id, "tags": mv.tags, "aliases": mv.aliases},
        indent=4,
    )

latest = client.get_latest_versions(model_name)
assert [v.version for v in latest] == [2]

# promote version 2: move the alias, then drop the old one's tag
client.set_registered_model_alias(model_name, "champion", "2")
assert client.get_model_version_by_alias(model_name, "champion").version == 2
client.delete_model_version_tag(model_name, "1", "validation_status")

registered = client.get_registered_model(model_name)
print(registered.name, registered.description, registered.tags, registered.aliases)
assert registered.aliases == {"champion": 2}

client.delete_registered_model_alias(model_name, "champion")
assert client.get_registered_model(model_name).aliases == {}
