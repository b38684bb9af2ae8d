"""Rasa components: DIETClassifier and ResponseSelector, trained by Rasa, loaded for prediction
in a fraction of the time.

To give a loaded model its variables, Rasa trains it for one step on one example before
restoring the trained weights (RasaModel.load). That traces the whole training graph, gradients
and optimizer included, in every Rasa server start, every published model and every evaluation:
this project's model loaded in 17 s that way, in 6 s this way (docs/benchmarks.md), and the
server took a quarter less memory. Prediction needs none of it. One prediction creates the same
variables, the trained weights are restored into them (Rasa's own checkpoint, every variable
checked), and what that first prediction computed from the untrained weights is thrown away.
Fine-tuning still loads Rasa's way: it trains on.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.diet_classifier import DIET, DIETClassifier
from rasa.nlu.selectors.response_selector import DIET2BOW, DIET2DIET, ResponseSelector
from rasa.utils.tensorflow.constants import LEARNING_RATE, RUN_EAGERLY
from rasa.utils.tensorflow.model_data import RasaModelData


class _LoadedForPrediction:
    """RasaModel.load without the training step, for a model that only predicts."""

    @classmethod
    def load(
        cls,
        model_file_name: str,
        model_data_example: RasaModelData,
        predict_data_example: RasaModelData | None = None,
        finetune_mode: bool = False,
        *args: Any,
        **kwargs: Any,
    ):
        if finetune_mode or predict_data_example is None:
            return super().load(  # type: ignore[misc]
                model_file_name, model_data_example, predict_data_example, finetune_mode,
                *args, **kwargs,
            )  # fmt: skip
        config = kwargs.get("config", {})
        model = cls(*args, **kwargs)
        model.compile(
            optimizer=tf.keras.optimizers.Adam(config.get(LEARNING_RATE, 0.001)),
            run_eagerly=config.get(RUN_EAGERLY),
        )
        # One eager prediction creates the variables (untrained): no tracing, no autograph.
        model.run_eagerly = True
        model.run_inference(predict_data_example)
        model.run_eagerly = config.get(RUN_EAGERLY)
        # The checkpoint also holds the optimizer's state, which prediction never reads.
        model.load_weights(model_file_name).expect_partial().assert_existing_objects_matched()
        # Computed from the untrained weights: the labels' embeddings, and the traced
        # prediction that holds them as a constant.
        model.all_labels_embed = None
        model.prepared_for_prediction = False
        model._tf_predict_step = None
        model.run_inference(predict_data_example)  # traced again, as Rasa's load does
        return model


class _DIET(_LoadedForPrediction, DIET):
    pass


class _DIET2BOW(_LoadedForPrediction, DIET2BOW):
    pass


class _DIET2DIET(_LoadedForPrediction, DIET2DIET):
    pass


@DefaultV1Recipe.register(
    [
        DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER,
        DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR,
    ],
    is_trainable=True,
)
class QuickLoadingDIETClassifier(DIETClassifier):
    @staticmethod
    def model_class() -> type[DIET]:
        return _DIET


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class QuickLoadingResponseSelector(ResponseSelector):
    @staticmethod
    def model_class(use_text_as_label: bool) -> type[DIET2BOW]:  # type: ignore[override]
        return _DIET2DIET if use_text_as_label else _DIET2BOW
