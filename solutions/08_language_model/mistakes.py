"""Likely mistakes in 08_language_model, each an edit of the reference solution (see
autograder/mistakes.py). Reference generation records what each one produces; the grader and
the student's visible checks name a mistake when a wrong value matches it."""

from autograder.mistakes import Mistake

MISTAKES = [
    Mistake(
        id="vocab_ties_first_seen",
        function="Vocab",
        what="tokens with equal counts kept in the order they were first seen",
        advice="Sort by descending count and break ties alphabetically, e.g. with the key "
        "(-count, token).",
        replace=(
            (
                "key=lambda item: (-item[1], item[0])",
                "key=lambda item: -item[1]",
            ),
        ),
    ),
    Mistake(
        id="vocab_unk_not_first",
        function="Vocab",
        what='"<unk>" not at index 0 (placed after the reserved tokens)',
        advice='Index 0 is always "<unk>"; the reserved tokens follow it, then the counted tokens.',
        replace=(
            (
                'self.idx_to_token = ["<unk>"] + list(reserved_tokens or [])',
                'self.idx_to_token = list(reserved_tokens or []) + ["<unk>"]',
            ),
        ),
    ),
    Mistake(
        id="vocab_reserved_after_counted",
        function="Vocab",
        what="reserved tokens placed after the counted tokens",
        advice='The order is "<unk>", then the reserved tokens, then the counted tokens by '
        "descending count.",
        code="""from collections import Counter


class Vocab:
    def __init__(self, tokens, min_freq=0, reserved_tokens=None):
        counts = Counter(tokens)
        self.token_freqs = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        self.idx_to_token = ["<unk>"]
        for token, freq in self.token_freqs:
            if freq >= min_freq and token not in self.idx_to_token:
                self.idx_to_token.append(token)
        for token in reserved_tokens or []:
            if token not in self.idx_to_token:
                self.idx_to_token.append(token)
        self.token_to_idx = {token: idx for idx, token in enumerate(self.idx_to_token)}

    def __len__(self):
        return len(self.idx_to_token)

    def __getitem__(self, tokens):
        if isinstance(tokens, (list, tuple)):
            return [self[token] for token in tokens]
        return self.token_to_idx.get(tokens, 0)

    def to_tokens(self, indices):
        if hasattr(indices, "tolist"):
            indices = indices.tolist()
        if isinstance(indices, (list, tuple)):
            return [self.idx_to_token[int(index)] for index in indices]
        return self.idx_to_token[int(indices)]
""",
    ),
    Mistake(
        id="vocab_min_freq_strict",
        function="Vocab",
        what="count > min_freq instead of count >= min_freq",
        advice="A token is kept when it occurs at least min_freq times: compare with >=.",
        replace=(("if freq >= min_freq and", "if freq > min_freq and"),),
    ),
    Mistake(
        id="one_hot_int64",
        function="one_hot",
        what="the encoding left as int64 instead of float32",
        advice="torch.nn.functional.one_hot returns integers: convert the result to float32 "
        "before it meets float weights.",
        replace=(("return encoded.to(torch.float32)", "return encoded"),),
    ),
    Mistake(
        id="one_hot_width_from_data",
        function="one_hot",
        what="the last axis sized by the largest index instead of vocab_size",
        advice="Pass num_classes=vocab_size: by default one_hot makes the last axis only as "
        "long as the largest index present plus one.",
        replace=(("num_classes=vocab_size)", "num_classes=-1)"),),
    ),
    Mistake(
        id="seq_targets_not_shifted",
        function="seq_data_iter_sequential",
        what="targets equal to the inputs (not shifted by one token)",
        advice="The target of each token is the token after it: Ys starts one position later "
        "than Xs.",
        replace=(
            (
                "Ys = corpus[offset + 1 : offset + 1 + n]",
                "Ys = corpus[offset : offset + n]",
            ),
        ),
    ),
    Mistake(
        id="seq_ignores_offset",
        function="seq_data_iter_sequential",
        what="the offset ignored when slicing the corpus",
        advice="Skip the first offset tokens: Xs starts at corpus[offset] and Ys one token later.",
        replace=(
            ("Xs = corpus[offset : offset + n]", "Xs = corpus[:n]"),
            ("Ys = corpus[offset + 1 : offset + 1 + n]", "Ys = corpus[1 : 1 + n]"),
        ),
    ),
    Mistake(
        id="seq_partial_window_kept",
        function="seq_data_iter_sequential",
        what="a last, shorter window kept",
        advice="Stop when fewer than num_steps columns are left: only full windows of "
        "num_steps columns are minibatches.",
        replace=(
            (
                "for i in range(0, num_batches * num_steps, num_steps)",
                "for i in range(0, Xs.shape[1], num_steps)",
            ),
        ),
    ),
    Mistake(
        id="perplexity_summed_loss",
        function="perplexity",
        what="exp of the summed instead of the mean cross-entropy",
        advice="Perplexity is the exponential of the average cross-entropy per prediction; "
        "divide the sum by the number of predictions.",
        replace=(('reduction="mean"', 'reduction="sum"'),),
    ),
    Mistake(
        id="perplexity_no_exp",
        function="perplexity",
        what="the cross-entropy returned without the exponential",
        advice="Perplexity is exp(mean cross-entropy), not the cross-entropy itself.",
        replace=(("return math.exp(float(loss))", "return float(loss)"),),
    ),
    Mistake(
        id="clip_per_parameter",
        function="grad_clipping",
        what="each gradient clipped by its own norm instead of the global norm",
        advice="Compute one norm over all the gradients together and scale every gradient by "
        "the same factor min(1, theta / g).",
        code="""def grad_clipping(parameters, theta):
    if not theta > 0:
        raise ValueError(f"theta must be positive, got {theta}")
    grads = [p.grad for p in parameters if p.grad is not None]
    total = math.sqrt(sum(float((g.double() ** 2).sum()) for g in grads))
    for g in grads:
        norm = math.sqrt(float((g.double() ** 2).sum()))
        if norm > theta:
            g.mul_(theta / norm)
    return total
""",
    ),
    Mistake(
        id="clip_returns_norm_after",
        function="grad_clipping",
        what="the norm after clipping returned instead of the norm before",
        advice="Return the global norm measured before the gradients are scaled (the value a "
        "training loop logs to see how large the gradients were).",
        replace=(
            (
                "    return norm",
                "    return math.sqrt(sum(float((g.double() ** 2).sum()) for g in grads))",
            ),
        ),
    ),
    Mistake(
        id="predict_no_warmup",
        function="predict",
        what="no warm-up: the state never sees the prefix except its last character",
        advice="Feed every character of the prefix through the model, updating the state, "
        "before the first prediction.",
        replace=(
            (
                "_, state = model(torch.tensor([[outputs[-1]]]), state)",
                "pass",
            ),
        ),
    ),
    Mistake(
        id="predict_without_prefix",
        function="predict",
        what="only the predicted characters returned, without the prefix",
        advice="Return the prefix followed by the predictions, as one string.",
        replace=(
            (
                'return "".join(vocab.to_tokens(outputs))',
                'return "".join(vocab.to_tokens(outputs[len(prefix):]))',
            ),
        ),
    ),
    Mistake(
        id="predict_feeds_own_predictions",
        function="predict",
        what="the warm-up feeds the model's own predictions instead of the prefix characters",
        advice="During the warm-up the next input is the next character of the prefix; the "
        "model's predictions are ignored until the prefix is used up.",
        code="""def predict(prefix, num_preds, model, vocab):
    if len(prefix) == 0:
        raise ValueError("prefix must hold at least one character")
    if num_preds < 0:
        raise ValueError(f"num_preds must be non-negative, got {num_preds}")
    with torch.no_grad():
        state = model.begin_state(batch_size=1)
        current = vocab[prefix[0]]
        for _ in prefix[1:]:
            logits, state = model(torch.tensor([[current]]), state)
            current = int(logits.reshape(-1).argmax())
        outputs = list(vocab[list(prefix)])
        for _ in range(num_preds):
            logits, state = model(torch.tensor([[current]]), state)
            current = int(logits.reshape(-1).argmax())
            outputs.append(current)
    return "".join(vocab.to_tokens(outputs))
""",
    ),
]
