import spacy

from bot.nlu.spacy_pipeline import build_spacy_pipeline, pipeline_is_built


def test_offline_pipeline_builds_and_lemmatizes(tmp_path):
    out = build_spacy_pipeline(tmp_path / "en_test")
    assert pipeline_is_built(out)
    assert not (tmp_path / "en_test.tmp").exists()
    nlp = spacy.load(out)
    lemmas = [token.lemma_ for token in nlp("will I get addicted to sessions")]
    assert lemmas == ["will", "I", "get", "addict", "to", "session"]


def test_a_half_written_pipeline_is_not_taken_for_a_built_one(tmp_path):
    (tmp_path / "partial").mkdir()
    (tmp_path / "partial" / "meta.json").write_text("{}")
    assert not pipeline_is_built(tmp_path / "partial")
