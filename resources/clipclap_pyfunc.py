"""MLflow "model from code" for a trained run's predictor (no pickled model objects; docs/predict.md).

``mlflow.pyfunc.load_model(uri).unwrap_python_model().model`` is the project's
:class:`avgzsl.clipclap.model.ClipClap`, rebuilt from the logged safetensors file, and
``.predictor`` the :class:`avgzsl.clipclap.predictor.Predictor` around it.  ``predict`` takes

* a feature matrix (N, D): the method's video embeddings of its rows (ClipClap: θ_o, (N, 64));
* ``{"features": (N, D), "class_names": (C,), "class_text": (C, Dt)}`` (``class_text``
  optional; without it, names that are not training classes are encoded by the text
  encoders the run's features recorded, when this machine can build them; without
  ``class_names``, the training classes): the ranking, one row per input row and rank
  (``row, rank, class_name, distance, seen``), ``params={"top_k": k}`` (default 5).
"""
import mlflow
import numpy as np


class ClipClapPyfunc(mlflow.pyfunc.PythonModel):
    def load_context(self, context):
        from avgzsl.clipclap.predictor import Predictor

        self.predictor = Predictor.load(context.artifacts["predictor"])
        self.model = self.predictor.model
        self._encode = None

    def _text_encoder(self):
        """The run's text encoders, built on first use (cache: the state folder's models/)."""
        if self._encode is None:
            from avgzsl.layout import StateLayout
            from avgzsl.predict import build_encoders, encoder_specs, text_encoder

            specs = encoder_specs(self.predictor, weights=None)
            specs = {s: spec for s, spec in specs.items() if s in self.predictor.text_streams()}
            encoders = build_encoders(self.predictor, specs, StateLayout.resolve().prepare().models_dir)
            self._encode = text_encoder(self.predictor, encoders)
        return self._encode

    def predict(self, context, model_input, params=None):
        import torch

        if not isinstance(model_input, dict):
            x = np.asarray(model_input, dtype=np.float32)
            from avgzsl.methods.registry import get_method

            method = get_method(getattr(self.model, "method_name", "clipclap"))
            with torch.no_grad():
                return method.embed_videos(self.model.eval(), torch.from_numpy(x)).numpy()
        from avgzsl.clipclap.predictor import PredictError, ranking_table

        unknown = set(model_input) - {"features", "class_names", "class_text"}
        if "features" not in model_input or unknown:
            raise PredictError(f"inputs {sorted(model_input)}: expected features, and optionally class_names and "
                               "class_text (docs/predict.md)")
        features = np.asarray(model_input["features"], dtype=np.float32)
        features = features.reshape(1, -1) if features.ndim == 1 else features
        names = model_input.get("class_names")
        names = [str(n) for n in np.atleast_1d(names)] if names is not None else \
            [c["class_name"] for c in self.predictor.seen_classes]
        if model_input.get("class_text") is not None:
            text = np.asarray(model_input["class_text"], dtype=np.float32)
            text, is_seen = text.reshape(1, -1) if text.ndim == 1 else text, self.predictor.seen_flags(names)
        else:
            text, is_seen = self.predictor.class_text(names, lambda readable: self._text_encoder()(readable))
        top_k = int((params or {}).get("top_k", 5))
        cols, dist = self.predictor.rank(features, text, is_seen, top_k)
        return ranking_table(names, is_seen, cols, dist).to_pandas()


mlflow.models.set_model(ClipClapPyfunc())
