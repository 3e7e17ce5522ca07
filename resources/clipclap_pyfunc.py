"""MLflow "model from code" for a trained run's predictor (no pickled model objects; docs/predict.md).

``mlflow.pyfunc.load_model(uri).unwrap_python_model().model`` is the project's
network of the run's method (e.g. :class:`avgzsl.clipclap.model.ClipClap`), rebuilt from the logged safetensors file, and
``.predictor`` the :class:`avgzsl.clipclap.predictor.Predictor` around it.  ``predict`` takes a
table (the model's signature, :data:`resources.mlflow.SIGNATURE`): a ``features`` column of
vectors, one row per video, and optionally ``class_names`` (a list of names, on the first row or
on every row) and ``class_text`` (one text embedding per name); without ``class_names``, the
training classes.  It answers the ranking, one row per input row and rank (``row, rank,
class_name, distance, seen``), ``params={"top_k": k}`` (default 5).  Bad input is refused with
HTTP 400 and a one-line ``message``; the limits are settable (``avgzsl.clipclap.served``).
"""
import mlflow
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import BAD_REQUEST


class ServedInputError(MlflowException):
    """HTTP 400 whose ``message`` stays the one-line cause (the scoring server would prefix the whole input)."""

    def __init__(self, cause: str):
        self._cause = cause
        super().__init__(cause, error_code=BAD_REQUEST)

    @property
    def message(self) -> str:
        return self._cause

    @message.setter
    def message(self, _value) -> None:
        pass


def _guard_json_depth(limits) -> None:
    """Absurdly nested JSON is refused with 400 before Python's parser recurses into it (a 500 otherwise)."""
    from mlflow.pyfunc import scoring_server

    from avgzsl.clipclap.predictor import PredictError
    from avgzsl.clipclap.served import check_json_depth

    decode = scoring_server._decode_json_input
    if getattr(decode, "avgzsl_limits", None) == limits:
        return
    original = getattr(decode, "avgzsl_original", decode)

    def guarded(json_input):
        if isinstance(json_input, (bytes, str)):
            try:
                check_json_depth(json_input, limits)
            except PredictError as error:
                raise ServedInputError(str(error)) from None
        return original(json_input)

    guarded.avgzsl_limits, guarded.avgzsl_original = limits, original
    scoring_server._decode_json_input = guarded


class ClipClapPyfunc(mlflow.pyfunc.PythonModel):
    def load_context(self, context):
        from avgzsl.clipclap.predictor import Predictor
        from avgzsl.clipclap.served import ServeLimits

        self.predictor = Predictor.load(context.artifacts["predictor"])
        self.model = self.predictor.model
        self.limits = ServeLimits.from_env()
        self._encode = None
        _guard_json_depth(self.limits)

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
        from avgzsl.clipclap.predictor import PredictError

        try:
            return self._rank(model_input, params or {})
        except PredictError as error:
            raise ServedInputError(str(error).splitlines()[0]) from None

    def _rank(self, model_input, params: dict):
        import pandas as pd

        from avgzsl.clipclap.predictor import PredictError, ranking_table
        from avgzsl.clipclap.served import check_new_classes, parse_table

        if not isinstance(model_input, pd.DataFrame):
            raise PredictError(f"input of type {type(model_input).__name__}: expected a table with a features column "
                               "of vectors (a DataFrame, or JSON records)")
        cfg = self.model.config
        features, names, text = parse_table(model_input, cfg.input_dim, cfg.text_dim, self.predictor.settings,
                                            self.limits)
        names = names if names is not None else [c["class_name"] for c in self.predictor.seen_classes]
        if text is not None:
            is_seen = self.predictor.seen_flags(names)
        else:
            check_new_classes(names, self.predictor.seen_flags(names), self.limits)
            text, is_seen = self.predictor.class_text(names, lambda readable: self._text_encoder()(readable))
        top_k = int(params.get("top_k", 5))
        cols, dist = self.predictor.rank(features, text, is_seen, min(top_k, len(names)) if top_k > 0 else top_k)
        return ranking_table(names, is_seen, cols, dist).to_pandas()


mlflow.models.set_model(ClipClapPyfunc())
