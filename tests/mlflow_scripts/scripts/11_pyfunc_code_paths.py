"""Mirrors MLflow's custom-model pattern with ``code_paths``: a PythonModel that imports
the user's own module (custom_code/spam_rules.py beside this script), logged with
code_paths so that it loads in another process in another folder, where that module is
not importable. Only ``mlflow`` was replaced by ``keel``.

The package holds a cloudpickled PythonModel; the test runs this script with
KEEL_TRUSTED_MODEL_SOURCES set, and loads the model again in its own process."""

import os
import subprocess
import sys
import tempfile

import pandas as pd

import keel

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "custom_code"))

import spam_rules  # noqa: E402  (the user's own code, found through the path above)


class SpamFilter(keel.pyfunc.PythonModel):
    def load_context(self, context):
        self.threshold = float(context.model_config.get("threshold", 0.2))

    def predict(self, context, model_input, params=None):
        scores = model_input["text"].map(spam_rules.score)
        return pd.DataFrame({"score": scores, "spam": scores > self.threshold})


keel.set_experiment("spam-filter")
with keel.start_run() as run:
    model_info = keel.pyfunc.log_model(
        name="spam_filter",
        python_model=SpamFilter(),
        code_paths=[os.path.join(HERE, "custom_code", "spam_rules.py")],
        model_config={"threshold": 0.2},
        input_example=pd.DataFrame({"text": ["hello there"]}),
        registered_model_name="spam-filter",
    )
    keel.set_tag("model_uri", model_info.model_uri)

messages = pd.DataFrame({"text": ["click here to claim your free prize", "lunch at noon?"]})
print(keel.pyfunc.load_model(model_info.model_uri).predict(messages))

# Load it again as a serving process would: a fresh interpreter, in another folder, where
# spam_rules is not on the path.
check = (
    "import keel, pandas as pd\n"
    "m = keel.pyfunc.load_model('models:/spam-filter/1')\n"
    "out = m.predict(pd.DataFrame({'text': ['free prize winner', 'see you soon']}))\n"
    "assert list(out['spam']) == [True, False], out\n"
    "print('fresh process:', list(out['spam']))\n"
)
env = {k: v for k, v in os.environ.items() if k != "PYTHONSAFEPATH"}
subprocess.run([sys.executable, "-c", check], check=True, cwd=tempfile.mkdtemp(), env=env)
