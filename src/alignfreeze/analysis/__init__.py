"""Alignment analysis: how close translations are in an encoder's representation space."""

from alignfreeze.analysis.translation import TranslationCheck, mean_pooled_embeddings, translation_check

__all__ = ["TranslationCheck", "mean_pooled_embeddings", "translation_check"]
