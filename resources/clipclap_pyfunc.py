"""MLflow "model from code" for a trained ClipClap network (no pickled model objects).

``mlflow.pyfunc.load_model(uri).unwrap_python_model().model`` is the project's
:class:`avgzsl.clipclap.model.ClipClap`, rebuilt from the logged safetensors file;
``predict`` maps input feature rows (video ⊕ audio, as trained) to joint-space
embeddings θ_o.
"""
import mlflow
import numpy as np


class ClipClapPyfunc(mlflow.pyfunc.PythonModel):
    def load_context(self, context):
        from avgzsl.clipclap.checkpoints import load_model

        self.model = load_model(context.artifacts["weights"])

    def predict(self, context, model_input, params=None):
        import torch

        x = np.asarray(model_input, dtype=np.float32)
        with torch.no_grad():
            return self.model.embed_inputs(torch.from_numpy(x)).numpy()


mlflow.models.set_model(ClipClapPyfunc())
