"""Tests of the text task's snippet, notebooks/_snippets/text.py: the Rotten Tomatoes loader, the
tokenizer, and all-MiniLM-L6-v2 rebuilt in Keras with its published weights.

The snippet is executed into a namespace, as `build` inlines it into a notebook. Its files come
through `hf_hub_download` from a Hub cache seeded for the test from the installed package, with
the Hub offline: what `tutorial-gen datasets` does for a run.
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # before anything imports TensorFlow

import pathlib  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tutorial_gen.datasets import seed_minilm  # noqa: E402

pytestmark = pytest.mark.tensorflow

SNIPPET = pathlib.Path(__file__).resolve().parents[1] / "notebooks" / "_snippets" / "text.py"
# The model card's embedding of "This is an example sentence" (sentence-transformers, normalized)
MODEL_CARD_START = [0.06766, 0.0635, 0.04871, 0.0793, 0.03745]
CHECKPOINT_PARAMETERS = 22_713_216  # the float tensors of model.safetensors: 22.7 M
POOLER_PARAMETERS = 384 * 384 + 384  # BERT's pooler, which mean pooling leaves out


@pytest.fixture(scope="module")
def text(tmp_path_factory):
    """The snippet's names, with the Hub offline and its cache seeded from the package."""
    pytest.importorskip("tensorflow")
    from huggingface_hub import constants

    cache = tmp_path_factory.mktemp("hub")
    seed_minilm(cache=cache)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(constants, "HF_HUB_CACHE", str(cache))
        patch.setattr(constants, "HF_HUB_OFFLINE", True)
        namespace = {"__name__": "tutorial_snippet_text"}
        exec(compile(SNIPPET.read_text(encoding="utf-8"), str(SNIPPET), "exec"), namespace)
        model, tokenizer = namespace["pretrained_minilm"](sequence_length=48)
        yield {**namespace, "model": model, "tokenizer": tokenizer}


def _embed(text, sentences, model=None, tokenizer=None):
    """L2-normalized sentence embeddings, as sentence-transformers' model card shows them."""
    batch = text["tokenize"](tokenizer or text["tokenizer"], sentences)
    vectors = (model or text["model"]).predict(batch, verbose=0)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_the_encoder_gives_the_model_cards_embedding(text):
    embedding = _embed(text, ["This is an example sentence"])[0]
    assert embedding.shape == (384,)
    np.testing.assert_allclose(embedding[:5], MODEL_CARD_START, atol=1e-4)


def test_padding_does_not_change_the_embedding(text):
    """The same sentences at 16 tokens and at 48 (32 more of padding) embed alike."""
    from huggingface_hub import hf_hub_download

    files = {
        name: hf_hub_download(text["MINILM_REPO"], name)
        for name in ("config.json", "tokenizer.json")
    }
    model = text["minilm_encoder"](text["minilm_config"](files["config.json"]), 16)
    model.set_weights(text["model"].get_weights())
    tokenizer = text["minilm_tokenizer"](files["tokenizer.json"], 16)
    sentences = ["This is an example sentence", "A three-hour cinema master class."]
    np.testing.assert_allclose(
        _embed(text, sentences, model, tokenizer), _embed(text, sentences), atol=1e-5
    )


def test_the_encoder_holds_every_weight_of_the_checkpoint_but_the_pooler(text):
    from safetensors.numpy import load_file

    tensors = load_file(text["hf_hub_download"](text["MINILM_REPO"], "model.safetensors"))
    floats = sum(t.size for t in tensors.values() if t.dtype == np.float32)
    assert floats == CHECKPOINT_PARAMETERS and round(floats / 1e6, 1) == 22.7
    assert text["model"].count_params() == CHECKPOINT_PARAMETERS - POOLER_PARAMETERS  # 22,565,376


def test_the_encoder_is_flat_and_every_weight_matmul_is_a_dense(text):
    import tf_keras as keras

    model = text["model"]
    with_weights = {type(layer).__name__ for layer in model.layers if layer.weights}
    assert with_weights == {"Embedding", "Dense", "LayerNormalization"}
    assert not any(isinstance(layer, keras.Model) for layer in model.layers)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert len(dense) == 6 * 6  # query, key, value, attention output, intermediate, output


def test_tokenize_pads_and_truncates_to_the_sequence_length(text):
    batch = text["tokenize"](text["tokenizer"], ["This is an example sentence", "word " * 100])
    ids, mask = batch["input_ids"], batch["attention_mask"]
    assert ids.shape == mask.shape == (2, 48) and ids.dtype == mask.dtype == np.int32
    assert ids[0, :7].tolist() == [101, 2023, 2003, 2019, 2742, 6251, 102]  # [CLS] ... [SEP]
    assert ids[0, 7:].tolist() == [0] * 41 and mask[0].tolist() == [1] * 7 + [0] * 41
    assert ids[1, -1] == 102 and mask[1].all()  # truncated, still closed by [SEP]


def test_the_rotten_tomatoes_loader_keeps_the_reviews_and_leaves_out_the_plots(text):
    texts, labels = text["load_rotten_tomatoes"]()
    assert len(texts) == len(labels) == 12_808
    assert int(np.sum(labels == 1)) == 7_403 and int(np.sum(labels == 0)) == 5_405
    assert text["REVIEW_CLASSES"] == ["rotten", "fresh"]
    assert isinstance(texts, np.ndarray) and texts.dtype.kind == "U"
    assert max(len(t.split()) for t in texts) == 53  # snippets; the plot texts run to hundreds


def test_a_shorter_encoder_gets_the_first_layers_of_the_checkpoint(text):
    short, _ = text["pretrained_minilm"](sequence_length=16, layers=1)
    assert sum(layer.name.endswith("_query") for layer in short.layers) == 1
    for name in ("word_embeddings", "layer_0_query", "layer_0_output_norm"):
        for mine, theirs in zip(
            short.get_layer(name).get_weights(),
            text["model"].get_layer(name).get_weights(),
            strict=True,
        ):
            np.testing.assert_array_equal(mine, theirs)


def test_the_review_splits_hold_out_the_same_test_reviews_for_every_seed(text):
    (x1, y1), (t1, ty1) = text["review_splits"](text["tokenizer"], 100, 50, seed=1)
    (x2, _), (t2, ty2) = text["review_splits"](text["tokenizer"], 100, 50, seed=2)
    np.testing.assert_array_equal(t1["input_ids"], t2["input_ids"])
    np.testing.assert_array_equal(ty1, ty2)
    assert not np.array_equal(x1["input_ids"], x2["input_ids"])
    train = {tuple(row) for row in x1["input_ids"]}
    assert not train & {tuple(row) for row in t1["input_ids"]}
    assert len(y1) == 100 and set(np.unique(y1)) <= {0, 1}


def test_the_encoder_layers_rebuild_from_their_config(text):
    """The encoder's weightless steps are layer classes, which Keras (and TFMOT, which clones a
    model that way) rebuilds from their config; a `Lambda` refuses to be rebuilt in safe mode."""
    import tf_keras as keras

    config = keras.layers.serialize(text["model"].get_layer("layer_0_scores"))
    rebuilt = keras.layers.deserialize(config)
    assert type(rebuilt).__name__ == "AttentionScores" and rebuilt.scale == pytest.approx(
        32**-0.5
    )  # 1 / sqrt(head size)


def test_wrap_layers_wraps_the_named_layers_of_a_copy_with_its_own_weights(text):
    model = text["model"]
    seen = []

    def wrap(layer):
        seen.append(layer.name)
        return layer

    copy = text["wrap_layers"](model, ["layer_0_query"], wrap)
    assert seen == ["layer_0_query"]
    kernel = copy.get_layer("layer_0_query").kernel
    np.testing.assert_array_equal(kernel.numpy(), model.get_layer("layer_0_query").kernel.numpy())
    kernel.assign(np.zeros(kernel.shape))
    assert model.get_layer("layer_0_query").kernel.numpy().any()  # the model's own is untouched
